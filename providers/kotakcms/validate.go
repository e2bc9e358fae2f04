package kotakcms

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"paydesk/providers"
	"paydesk/providers/internal/kotak"
)

// The sandbox's validation of what clients send, split the way the bank
// splits it (decisions.go): schema faults refuse the whole request with 001,
// business faults reject one instrument with 006.

var (
	ifscRE   = regexp.MustCompile(`^[A-Z]{4}0[A-Z0-9]{6}$`)
	amountRE = regexp.MustCompile(`^[0-9]{1,13}(\.[0-9]{1,2})?$`)
	acctRE   = regexp.MustCompile(`^[A-Za-z0-9]+$`)
	mobileRE = regexp.MustCompile(`^\+?[0-9]{10,14}$`)
	emailRE  = regexp.MustCompile(`^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$`)
)

var payModes = map[string]bool{"NEFT": true, "RTGS": true, "IMPS": true, "IFT": true}

// fieldLen checks a string's length in characters; min 0 means optional.
func fieldLen(name, v string, min, max int) string {
	n := utf8.RuneCountInString(v)
	switch {
	case !utf8.ValidString(v):
		return name + " is not valid UTF-8"
	case n < min && n == 0:
		return name + " is required"
	case n < min:
		return fmt.Sprintf("%s shorter than %d", name, min)
	case n > max:
		return fmt.Sprintf("%s longer than %d", name, max)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return name + " has control characters"
		}
	}
	return ""
}

func firstFault(checks ...string) string {
	for _, c := range checks {
		if c != "" {
			return c
		}
	}
	return ""
}

func schemaHeader(h requestHeader) string {
	return firstFault(
		fieldLen("MessageId", h.MessageID, 1, maxMessageID),
		fieldLen("MsgSource", h.MsgSource, 1, maxMsgSource),
		fieldLen("ClientCode", h.ClientCode, 1, maxClientCode),
		fieldLen("BatchRefNmbr", h.BatchRefNmbr, 0, maxBatchRef),
	)
}

// schemaInstrument is what the XSD would catch.
func schemaInstrument(in wireInstrument) string {
	if f := firstFault(
		fieldLen("InstRefNo", in.InstRefNo, 1, maxInstRefNo),
		fieldLen("MyProdCode", in.MyProdCode, 1, maxProdCode),
		fieldLen("PayMode", in.PayMode, 1, 4),
		fieldLen("TxnAmnt", in.TxnAmnt, 1, 16),
		fieldLen("AccountNo", in.AccountNo, 1, maxAccountNo),
		fieldLen("DrDesc", in.DrDesc, 0, maxDrDesc),
		fieldLen("PaymentDt", in.PaymentDt, 10, 10),
		fieldLen("RecBrCd", in.RecBrCd, 0, 11),
		fieldLen("BeneAcctNo", in.BeneAcctNo, 1, maxBeneAcctNo),
		fieldLen("BeneName", in.BeneName, 1, maxBeneName),
		fieldLen("BeneCode", in.BeneCode, 0, maxBeneCode),
		fieldLen("BeneEmail", in.BeneEmail, 0, maxBeneEmail),
		fieldLen("BeneMb", in.BeneMb, 0, maxBeneMb),
		fieldLen("PaymentRef", in.PaymentRef, 0, maxPaymentRef),
	); f != "" {
		return f
	}
	if !payModes[in.PayMode] {
		return fmt.Sprintf("PayMode %q is not one of NEFT, RTGS, IMPS, IFT", in.PayMode)
	}
	if !amountRE.MatchString(in.TxnAmnt) {
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
	if !ifscRE.MatchString(in.RecBrCd) {
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
	if in.BeneEmail != "" && !emailRE.MatchString(in.BeneEmail) {
		return 0, "BeneEmail is not an e-mail address"
	}
	if in.BeneMb != "" && !mobileRE.MatchString(in.BeneMb) {
		return 0, "BeneMb is not a mobile number"
	}
	date, _ := time.ParseInLocation(time.DateOnly, in.PaymentDt, kotak.IST)
	today := now.In(kotak.IST)
	today = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, kotak.IST)
	if date.Before(today) {
		return 0, "PaymentDt is in the past"
	}
	if date.After(today.AddDate(0, 0, maxForwardDays)) {
		return 0, fmt.Sprintf("PaymentDt more than %d days ahead", maxForwardDays)
	}
	return paise, ""
}
