package kotakcms

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"paydesk/providers"
	"paydesk/providers/internal/kotak"
	"paydesk/providers/sandboxkit"
)

// The sandbox's control surface, beyond the shared faults and ledger:
//
//	GET  /instruments               every instrument, with its status now
//	GET  /instruments/{ref}         one instrument
//	POST /pending                   key an instrument in "on the bank's portal": it lands in PA
//	POST /instruments/{ref}/status  force an end the API cannot reach: CN from PA;
//	                                CF from PS/C; AR, CR or DL from U (money returns)
//	GET  /balance                   the debit account's balance
//	PUT  /balance                   set it ({"AvailablePaise": n})
//	POST /tokens/expire             invalidate every issued token

// InstrumentView is the control surface's picture of an instrument.
type InstrumentView struct {
	InstRefNo   string `json:"InstRefNo"`
	MessageID   string `json:"MessageId,omitempty"`
	Source      string `json:"Source"`
	Status      string `json:"Status"`
	StatusDesc  string `json:"StatusDesc"`
	PayMode     string `json:"PayMode"`
	AmountPaise int64  `json:"AmountPaise"`
	Amount      string `json:"Amount"`
	BeneName    string `json:"BeneName"`
	BeneAcctNo  string `json:"BeneAcctNo"`
	RecBrCd     string `json:"RecBrCd"`
	UTR         string `json:"UTR,omitempty"`
	CreatedAt   string `json:"CreatedAt"`
	ApprovedAt  string `json:"ApprovedAt,omitempty"`
}

// PortalInstrument is the body of POST /pending: an instrument keyed in on
// the bank's portal, outside Paydesk. InstRefNo defaults to PORTAL<n>,
// PaymentDt to today, PayMode to NEFT.
type PortalInstrument struct {
	InstRefNo   string `json:"InstRefNo"`
	PayMode     string `json:"PayMode"`
	AmountPaise int64  `json:"AmountPaise"`
	Amount      string `json:"Amount"` // alternative to AmountPaise, rupees "1234.56"
	BeneName    string `json:"BeneName"`
	BeneAcctNo  string `json:"BeneAcctNo"`
	RecBrCd     string `json:"RecBrCd"`
	DrDesc      string `json:"DrDesc"`
	PaymentDt   string `json:"PaymentDt"`
}

func (s *Sandbox) view(in *instrument) InstrumentView {
	v := InstrumentView{
		InstRefNo: in.w.InstRefNo, MessageID: in.messageID, Source: in.source, Status: in.status,
		StatusDesc: statusDesc(in), PayMode: in.w.PayMode, AmountPaise: in.amount, Amount: in.w.TxnAmnt,
		BeneName: in.w.BeneName, BeneAcctNo: in.w.BeneAcctNo, RecBrCd: in.w.RecBrCd,
		CreatedAt: in.createdAt.In(kotak.IST).Format(time.RFC3339),
	}
	if in.status == "U" {
		v.UTR = in.utr
	}
	if !in.approvedAt.IsZero() {
		v.ApprovedAt = in.approvedAt.In(kotak.IST).Format(time.RFC3339)
	}
	return v
}

// Instruments returns every instrument as the control surface shows it.
func (s *Sandbox) Instruments() []InstrumentView {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	list := make([]*instrument, 0, len(s.insts))
	for _, in := range s.insts {
		s.advance(in, now)
		list = append(list, in)
	}
	sortInstruments(list)
	out := make([]InstrumentView, 0, len(list))
	for _, in := range list {
		out = append(out, s.view(in))
	}
	return out
}

// AddPortalInstrument puts an instrument in PA as if keyed in on the bank's
// portal; it is validated like an API instrument.
func (s *Sandbox) AddPortalInstrument(p PortalInstrument) (InstrumentView, error) {
	now := s.cfg.Now()
	amount := p.Amount
	if amount == "" {
		amount = providers.FormatAmount(p.AmountPaise)
	}
	if p.PayMode == "" {
		p.PayMode = "NEFT"
	}
	if p.PaymentDt == "" {
		p.PaymentDt = now.In(kotak.IST).Format(time.DateOnly)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.InstRefNo == "" {
		s.seq++
		p.InstRefNo = fmt.Sprintf("PORTAL%06d", s.seq)
	}
	w := wireInstrument{
		InstRefNo: p.InstRefNo, MyProdCode: "PORTAL", PayMode: p.PayMode, TxnAmnt: amount,
		AccountNo: s.cfg.DebitAccount, DrDesc: p.DrDesc, PaymentDt: p.PaymentDt, RecBrCd: p.RecBrCd,
		BeneAcctNo: p.BeneAcctNo, BeneName: p.BeneName,
	}
	if f := schemaInstrument(w); f != "" {
		return InstrumentView{}, fmt.Errorf("%s", f)
	}
	if _, dup := s.insts[w.InstRefNo]; dup {
		return InstrumentView{}, fmt.Errorf("duplicate InstRefNo %s", w.InstRefNo)
	}
	paise, f := businessInstrument(w, s.cfg.DebitAccount, now)
	if f != "" {
		return InstrumentView{}, fmt.Errorf("%s", f)
	}
	in := &instrument{w: w, amount: paise, source: "PORTAL", status: "PA", createdAt: now}
	s.insts[w.InstRefNo] = in
	return s.view(in), nil
}

// ForceStatus moves an instrument to an end the API cannot reach (see the
// control routes above); money that had left comes back for CF/AR/CR/DL.
func (s *Sandbox) ForceStatus(ref, status string) (InstrumentView, error) {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.insts[ref]
	if !ok {
		return InstrumentView{}, fmt.Errorf("%s", descNotFound)
	}
	s.advance(in, now)
	from := in.status
	switch {
	case status == "CN" && from == "PA":
		in.remark = "Cancelled at the bank"
	case status == "CF" && (from == "PS" || from == "C"):
		in.remark = "Credit Failed: returned by beneficiary bank"
		s.balance += in.amount
	case (status == "AR" || status == "CR" || status == "DL") && from == "U":
		in.remark = "Returned by beneficiary bank after credit"
		s.balance += in.amount
	default:
		return InstrumentView{}, fmt.Errorf("cannot move %s from %s to %s", ref, from, status)
	}
	in.status = status
	return s.view(in), nil
}

// controlRoutes adds the sandbox's own routes to the shared control mux.
func (s *Sandbox) controlRoutes(mux *http.ServeMux) {
	fail := func(w http.ResponseWriter, status int, err error) {
		sandboxkit.WriteJSON(w, status, map[string]string{"error": err.Error()})
	}
	mux.HandleFunc("GET /instruments", func(w http.ResponseWriter, r *http.Request) {
		sandboxkit.WriteJSON(w, http.StatusOK, s.Instruments())
	})
	mux.HandleFunc("GET /instruments/{ref}", func(w http.ResponseWriter, r *http.Request) {
		for _, v := range s.Instruments() {
			if v.InstRefNo == r.PathValue("ref") {
				sandboxkit.WriteJSON(w, http.StatusOK, v)
				return
			}
		}
		fail(w, http.StatusNotFound, fmt.Errorf("%s", descNotFound))
	})
	mux.HandleFunc("POST /pending", func(w http.ResponseWriter, r *http.Request) {
		var p PortalInstrument
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&p); err != nil {
			fail(w, http.StatusBadRequest, err)
			return
		}
		v, err := s.AddPortalInstrument(p)
		if err != nil {
			fail(w, http.StatusUnprocessableEntity, err)
			return
		}
		sandboxkit.WriteJSON(w, http.StatusCreated, v)
	})
	mux.HandleFunc("POST /instruments/{ref}/status", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Status string `json:"Status"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<12)).Decode(&body); err != nil {
			fail(w, http.StatusBadRequest, err)
			return
		}
		v, err := s.ForceStatus(r.PathValue("ref"), body.Status)
		if err != nil {
			fail(w, http.StatusConflict, err)
			return
		}
		sandboxkit.WriteJSON(w, http.StatusOK, v)
	})
	mux.HandleFunc("GET /balance", func(w http.ResponseWriter, r *http.Request) {
		b := s.Balance()
		sandboxkit.WriteJSON(w, http.StatusOK, map[string]any{
			"Account": s.cfg.DebitAccount, "AvailablePaise": b, "Available": providers.FormatAmount(b),
		})
	})
	mux.HandleFunc("PUT /balance", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			AvailablePaise *int64 `json:"AvailablePaise"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<12)).Decode(&body); err != nil || body.AvailablePaise == nil || *body.AvailablePaise < 0 {
			fail(w, http.StatusBadRequest, fmt.Errorf("need a non-negative AvailablePaise"))
			return
		}
		s.mu.Lock()
		s.balance = *body.AvailablePaise
		s.mu.Unlock()
		sandboxkit.WriteJSON(w, http.StatusOK, map[string]any{"Account": s.cfg.DebitAccount, "AvailablePaise": *body.AvailablePaise})
	})
}
