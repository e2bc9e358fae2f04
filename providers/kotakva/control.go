package kotakva

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"

	"paydesk/providers"
	"paydesk/providers/sandboxkit"
)

// The sandbox's control surface, beyond the shared faults and ledger:
//
//	POST /credits                money arrives: one credit (VirtualAccountNo, Amount or
//	                             AmountPaise, RemitterName, RemitterAccount, RemitterIFSC, Mode)
//	                             or Count random ones (to VirtualAccountNo, or to random
//	                             active accounts)
//	GET  /credits                every credit with its batch and acknowledgement
//	GET  /accounts               every virtual account
//	POST /accounts               an account made on the bank's portal (Suffix, Name, Purpose…),
//	                             unknown to the client until it asks; an array of them restores
//	                             many (those that exist are left alone)
//	POST /accounts/refuse        the next create, modify or delete naming the account (Suffix or
//	                             VirtualAccountNo) fails for it alone, with Code (default 101) and Reason
//	GET  /refunds                every refund
//	POST /refunds/{ref}/status   force {"Status":"FAILED"} (from INITIATED/IN_PROCESS)
//	                             or {"Status":"RETURNED"} (from PROCESSED)
//	POST /tokens/expire          invalidate every issued token

// CreditRequest is the body of POST /credits.
type CreditRequest struct {
	VirtualAccountNo string `json:"VirtualAccountNo"`
	Amount           string `json:"Amount"`
	AmountPaise      int64  `json:"AmountPaise"`
	RemitterName     string `json:"RemitterName"`
	RemitterAccount  string `json:"RemitterAccount"`
	RemitterIFSC     string `json:"RemitterIFSC"`
	Mode             string `json:"Mode"`
	Count            int    `json:"Count"`
}

// CreditsAdded answers POST /credits.
type CreditsAdded struct {
	Created    int      `json:"Created"`
	TotalPaise int64    `json:"TotalPaise"`
	TxnRefs    []string `json:"TxnRefs"`
}

// CreditView is the control surface's picture of a credit.
type CreditView struct {
	TxnRef           string `json:"TxnRef"`
	UTR              string `json:"UTR"`
	VirtualAccountNo string `json:"VirtualAccountNo"`
	AmountPaise      int64  `json:"AmountPaise"`
	Mode             string `json:"Mode"`
	RemitterName     string `json:"RemitterName"`
	CreditedAt       string `json:"CreditedAt"`
	BatchID          string `json:"BatchId,omitempty"`
	AckedBatchID     string `json:"AckedBatchId,omitempty"`
	Deliveries       int    `json:"Deliveries"`
	RefundRef        string `json:"RefundRef,omitempty"`
}

// AccountView is the control surface's picture of a virtual account.
type AccountView struct {
	VirtualAccountNo string `json:"VirtualAccountNo"`
	Suffix           string `json:"Suffix"`
	Name             string `json:"Name"`
	Purpose          string `json:"Purpose,omitempty"`
	Email            string `json:"Email,omitempty"`
	Mobile           string `json:"Mobile,omitempty"`
	ExpiresOn        string `json:"ExpiresOn,omitempty"`
	Deleted          bool   `json:"Deleted"`
	Active           bool   `json:"Active"`
}

// RefuseRequest is the body of POST /accounts/refuse.
type RefuseRequest struct {
	Suffix           string `json:"Suffix"`
	VirtualAccountNo string `json:"VirtualAccountNo"`
	Code             string `json:"Code"`
	Reason           string `json:"Reason"`
}

// PortalAccount is the body of POST /accounts.
type PortalAccount struct {
	Suffix  string `json:"Suffix"`
	Name    string `json:"Name"`
	Purpose string `json:"Purpose"`
}

// Refuse arranges for the next request naming one account to fail for it
// alone, as the bank refuses one row of a batch.
func (s *Sandbox) Refuse(req RefuseRequest) error {
	key := req.VirtualAccountNo
	if key == "" {
		key = req.Suffix
	}
	if key == "" {
		return fmt.Errorf("Suffix or VirtualAccountNo is required")
	}
	if req.Code == "" {
		req.Code = "101"
	}
	c, ok := codes[req.Code]
	if !ok || c.Kind == nil || len(req.Code) != 3 || req.Code[0] != '1' {
		return fmt.Errorf("Code must be a per-account code (101–104)")
	}
	if req.Reason == "" {
		req.Reason = c.Desc
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refusals[key] = refusal{code: req.Code, reason: req.Reason}
	return nil
}

// AddPortalAccount creates an account as the bank's own portal would.
func (s *Sandbox) AddPortalAccount(a PortalAccount) (AccountView, error) {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	w := wireAccount{Suffix: a.Suffix, Name: a.Name, Purpose: a.Purpose}
	if !suffixRE.MatchString(w.Suffix) {
		return AccountView{}, fmt.Errorf("Suffix must be 1–%d upper-case letters or digits", maxSuffix)
	}
	if _, f := s.accountFields(w, true, now); f != "" {
		return AccountView{}, fmt.Errorf("%s", f)
	}
	number := s.cfg.Prefix + w.Suffix
	if _, ok := s.accounts[number]; ok {
		return AccountView{}, fmt.Errorf("%s", codes["102"].Desc)
	}
	w.VirtualAccountNo, w.Prefix = number, s.cfg.Prefix
	s.accounts[number] = &vaccount{w: w, createdAt: now}
	return AccountView{VirtualAccountNo: number, Suffix: w.Suffix, Name: w.Name, Purpose: w.Purpose, Active: true}, nil
}

// RefundView is the control surface's picture of a refund.
type RefundView struct {
	RefundRef   string `json:"RefundRef"`
	RefundID    string `json:"RefundId,omitempty"`
	TxnRef      string `json:"TxnRef"`
	AmountPaise int64  `json:"AmountPaise"`
	Rail        string `json:"Rail"`
	Status      string `json:"Status"`
	UTR         string `json:"UTR"`
	Reason      string `json:"Reason"`
}

// AddCredits books credits as POST /credits does.
func (s *Sandbox) AddCredits(req CreditRequest) (CreditsAdded, error) {
	now := s.cfg.Now()
	paise := req.AmountPaise
	if req.Amount != "" {
		p, err := providers.ParseAmount(req.Amount)
		if err != nil {
			return CreditsAdded{}, fmt.Errorf("Amount: %w", err)
		}
		paise = p
	}
	if paise < 0 {
		return CreditsAdded{}, fmt.Errorf("negative amount")
	}
	if req.Count < 0 || req.Count > 100_000 {
		return CreditsAdded{}, fmt.Errorf("Count must be 0–100000")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.generateDue(now)
	n := max(req.Count, 1)
	var targets []string
	if req.VirtualAccountNo == "" {
		targets = s.activeAccounts(now)
		if len(targets) == 0 {
			return CreditsAdded{}, fmt.Errorf("no active virtual account to credit")
		}
	}
	out := CreditsAdded{TxnRefs: []string{}}
	for range n {
		in := CreditInput{
			VirtualAccountNo: req.VirtualAccountNo, AmountPaise: paise, RemitterName: req.RemitterName,
			RemitterAccount: req.RemitterAccount, RemitterIFSC: req.RemitterIFSC, Mode: req.Mode,
		}
		if in.VirtualAccountNo == "" {
			in.VirtualAccountNo = targets[s.rng.IntN(len(targets))]
		}
		c, err := s.addCredit(in, now)
		if err != nil {
			if out.Created == 0 {
				return out, err
			}
			break
		}
		out.Created++
		out.TotalPaise += c.paise
		out.TxnRefs = append(out.TxnRefs, c.txnRef())
	}
	return out, nil
}

// Credits lists every credit in arrival order.
func (s *Sandbox) Credits() []CreditView {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.generateDue(now)
	out := make([]CreditView, 0, len(s.credits))
	for _, c := range s.credits {
		rec := c.record()
		v := CreditView{
			TxnRef: rec.TxnRef, UTR: rec.UTR, VirtualAccountNo: rec.VirtualAccountNo, AmountPaise: c.paise,
			Mode: rec.Mode, RemitterName: rec.RemitterName, CreditedAt: rec.CreditedAt,
			BatchID: c.batchID, AckedBatchID: c.ackedBatch, Deliveries: c.deliveries,
		}
		if r, ok := s.refundByTxn[rec.TxnRef]; ok {
			v.RefundRef = r.ref
		}
		out = append(out, v)
	}
	return out
}

// Accounts lists every virtual account by number.
func (s *Sandbox) Accounts() []AccountView {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]AccountView, 0, len(s.accounts))
	for _, va := range s.accounts {
		out = append(out, AccountView{
			VirtualAccountNo: va.w.VirtualAccountNo, Suffix: va.w.Suffix, Name: va.w.Name, Purpose: va.w.Purpose,
			Email: va.w.Email, Mobile: va.w.Mobile, ExpiresOn: va.w.ExpiresOn, Deleted: va.deleted, Active: va.active(now),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].VirtualAccountNo < out[j].VirtualAccountNo })
	return out
}

// Refunds lists every refund.
func (s *Sandbox) Refunds() []RefundView {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RefundView, 0, len(s.refunds))
	for _, r := range s.refunds {
		s.advanceRefund(r, now)
		out = append(out, RefundView{RefundRef: r.ref, RefundID: r.id, TxnRef: r.txnRef, AmountPaise: r.paise, Rail: r.rail, Status: r.status, UTR: r.utr, Reason: r.reason})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RefundRef < out[j].RefundRef })
	return out
}

// ForceRefundStatus moves a refund to FAILED or RETURNED.
func (s *Sandbox) ForceRefundStatus(ref, status string) error {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.refunds[ref]
	if !ok {
		return fmt.Errorf("%s", codes["304"].Desc)
	}
	s.advanceRefund(r, now)
	switch {
	case status == "FAILED" && (r.status == "INITIATED" || r.status == "IN_PROCESS"):
	case status == "RETURNED" && r.status == "PROCESSED":
	default:
		return fmt.Errorf("cannot move %s from %s to %s", ref, r.status, status)
	}
	r.status, r.updatedAt = status, now
	return nil
}

// controlRoutes adds the sandbox's own routes to the shared control mux.
func (s *Sandbox) controlRoutes(mux *http.ServeMux) {
	failWith := func(w http.ResponseWriter, status int, err error) {
		sandboxkit.WriteJSON(w, status, map[string]string{"error": err.Error()})
	}
	mux.HandleFunc("POST /credits", func(w http.ResponseWriter, r *http.Request) {
		var req CreditRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
			failWith(w, http.StatusBadRequest, err)
			return
		}
		out, err := s.AddCredits(req)
		if err != nil {
			failWith(w, http.StatusUnprocessableEntity, err)
			return
		}
		sandboxkit.WriteJSON(w, http.StatusCreated, out)
	})
	mux.HandleFunc("GET /credits", func(w http.ResponseWriter, r *http.Request) {
		sandboxkit.WriteJSON(w, http.StatusOK, s.Credits())
	})
	mux.HandleFunc("GET /accounts", func(w http.ResponseWriter, r *http.Request) {
		sandboxkit.WriteJSON(w, http.StatusOK, s.Accounts())
	})
	mux.HandleFunc("POST /accounts", func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 8<<20))
		if err != nil {
			failWith(w, http.StatusBadRequest, err)
			return
		}
		// An array restores many accounts at once (RestoreAccounts);
		// those the bank holds already are left as they are.
		if trimmed := bytes.TrimSpace(raw); len(trimmed) > 0 && trimmed[0] == '[' {
			var many []PortalAccount
			if err := json.Unmarshal(raw, &many); err != nil {
				failWith(w, http.StatusBadRequest, err)
				return
			}
			out := map[string]int{"Created": 0, "Existing": 0, "Refused": 0}
			for _, a := range many {
				switch _, err := s.AddPortalAccount(a); {
				case err == nil:
					out["Created"]++
				case err.Error() == codes["102"].Desc:
					out["Existing"]++
				default:
					out["Refused"]++
				}
			}
			sandboxkit.WriteJSON(w, http.StatusCreated, out)
			return
		}
		var req PortalAccount
		if err := json.Unmarshal(raw, &req); err != nil {
			failWith(w, http.StatusBadRequest, err)
			return
		}
		v, err := s.AddPortalAccount(req)
		if err != nil {
			failWith(w, http.StatusUnprocessableEntity, err)
			return
		}
		sandboxkit.WriteJSON(w, http.StatusCreated, v)
	})
	mux.HandleFunc("POST /accounts/refuse", func(w http.ResponseWriter, r *http.Request) {
		var req RefuseRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<12)).Decode(&req); err != nil {
			failWith(w, http.StatusBadRequest, err)
			return
		}
		if err := s.Refuse(req); err != nil {
			failWith(w, http.StatusUnprocessableEntity, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /refunds", func(w http.ResponseWriter, r *http.Request) {
		sandboxkit.WriteJSON(w, http.StatusOK, s.Refunds())
	})
	mux.HandleFunc("POST /refunds/{ref}/status", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Status string `json:"Status"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<12)).Decode(&body); err != nil {
			failWith(w, http.StatusBadRequest, err)
			return
		}
		if err := s.ForceRefundStatus(r.PathValue("ref"), body.Status); err != nil {
			failWith(w, http.StatusConflict, err)
			return
		}
		for _, v := range s.Refunds() {
			if v.RefundRef == r.PathValue("ref") {
				sandboxkit.WriteJSON(w, http.StatusOK, v)
				return
			}
		}
	})
}

// RestoreAccounts tells a sandbox at controlURL (its control surface, as
// "…/_sandbox/kotakva") about accounts the client holds open. A sandbox
// keeps its accounts in memory: after a restart of `make run` it has none,
// and without this its scheduled credits would land nowhere and changes of
// older accounts would be refused as unknown. For sandboxes only.
func RestoreAccounts(ctx context.Context, controlURL string, accts []PortalAccount) error {
	if len(accts) == 0 {
		return nil
	}
	body, err := json.Marshal(accts)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, controlURL+"/accounts", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s sandbox: restore accounts: %w", Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("%s sandbox: restore accounts: %s", Name, resp.Status)
	}
	return nil
}
