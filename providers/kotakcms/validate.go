package kotakcms

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"paydesk/providers"
	"paydesk/providers/internal/kotak"
)

// The sandbox's validation of what clients send, split the way the bank
// splits it (decisions.go): schema faults refuse the whole request with 001,
// business faults reject one instrument with 006.

var (
	acctRE   = regexp.MustCompile(`^[A-Za-z0-9]+$`)
	mobileRE = regexp.MustCompile(`^\+?[0-9]{10,14}$`)
)

var payModes = map[string]bool{"NEFT": true, "RTGS": true, "IMPS": true, "IFT": true}

func schemaHeader(h requestHeader) string {
	return kotak.FirstFault(
		kotak.FieldLen("MessageId", h.MessageID, 1, maxMessageID),
		kotak.FieldLen("MsgSource", h.MsgSource, 1, maxMsgSource),
		kotak.FieldLen("ClientCode", h.ClientCode, 1, maxClientCode),
		kotak.FieldLen("BatchRefNmbr", h.BatchRefNmbr, 0, maxBatchRef),
	)
}

// schemaInstrument is what the XSD would catch.
func schemaInstrument(in wireInstrument) string {
	if f := kotak.FirstFault(
		kotak.FieldLen("InstRefNo", in.InstRefNo, 1, maxInstRefNo),
		kotak.FieldLen("MyProdCode", in.MyProdCode, 1, maxProdCode),
		kotak.FieldLen("PayMode", in.PayMode, 1, 4),
		kotak.FieldLen("TxnAmnt", in.TxnAmnt, 1, 16),
		kotak.FieldLen("AccountNo", in.AccountNo, 1, maxAccountNo),
		kotak.FieldLen("DrDesc", in.DrDesc, 0, maxDrDesc),
		kotak.FieldLen("PaymentDt", in.PaymentDt, 10, 10),
		kotak.FieldLen("RecBrCd", in.RecBrCd, 0, 11),
		kotak.FieldLen("BeneAcctNo", in.BeneAcctNo, 1, maxBeneAcctNo),
		kotak.FieldLen("BeneName", in.BeneName, 1, maxBeneName),
		kotak.FieldLen("BeneCode", in.BeneCode, 0, maxBeneCode),
		kotak.FieldLen("BeneEmail", in.BeneEmail, 0, maxBeneEmail),
		kotak.FieldLen("BeneMb", in.BeneMb, 0, maxBeneMb),
		kotak.FieldLen("PaymentRef", in.PaymentRef, 0, maxPaymentRef),
	); f != "" {
		return f
	}
	if !payModes[in.PayMode] {
		return fmt.Sprintf("PayMode %q is not one of NEFT, RTGS, IMPS, IFT", in.PayMode)
	}
	if !kotak.AmountPattern.MatchString(in.TxnAmnt) {
		return fmt.Sprintf("TxnAmnt %q is not a decimal with at most 2 places", in.TxnAmnt)
	}
	if _, err := time.Parse(time.DateOnly, in.PaymentDt); err != nil {
		return fmt.Sprintf("PaymentDt %q is not YYYY-MM-DD", in.PaymentDt)
	}
	return ""
}

// businessInstrument is what the bank's own rules reject. It returns the
// amount in paise when the instrument passes.
func businessInstrument(in wireInstrument, debitAccount string, now time.Time) (int64, string) {
	paise, err := providers.ParseAmount(in.TxnAmnt)
	if err != nil {
		return 0, "TxnAmnt: " + err.Error()
	}
	if paise <= 0 {
		return 0, "TxnAmnt must be greater than zero"
	}
	if in.AccountNo != debitAccount {
		return 0, fmt.Sprintf("Debit account %s is not mapped to the client code", in.AccountNo)
	}
	if !providers.IsIFSC(in.RecBrCd) {
		return 0, fmt.Sprintf("RecBrCd %q is not a valid IFSC", in.RecBrCd)
	}
	if in.PayMode == "IFT" && !strings.HasPrefix(in.RecBrCd, kotak.BankCode) {
		return 0, "IFT needs a Kotak IFSC (" + kotak.BankCode + "…)"
	}
	switch in.PayMode {
	case "RTGS":
		if paise < rtgsMinPaise {
			return 0, "RTGS amount below the minimum of 200000.00"
		}
	case "IMPS":
		if paise > impsMaxPaise {
			return 0, "IMPS amount above the maximum of 500000.00"
		}
	}
	if !acctRE.MatchString(in.BeneAcctNo) {
		return 0, "BeneAcctNo must be letters and digits"
	}
	if in.BeneEmail != "" && !kotak.EmailPattern.MatchString(in.BeneEmail) {
		return 0, "BeneEmail is not an e-mail address"
	}
	if in.BeneMb != "" && !mobileRE.MatchString(in.BeneMb) {
		return 0, "BeneMb is not a mobile number"
	}
	date, _ := time.ParseInLocation(time.DateOnly, in.PaymentDt, kotak.IST)
	today := kotak.Today(now)
	if date.Before(today) {
		return 0, "PaymentDt is in the past"
	}
	if date.After(today.AddDate(0, 0, maxForwardDays)) {
		return 0, fmt.Sprintf("PaymentDt more than %d days ahead", maxForwardDays)
	}
	return paise, ""
}
