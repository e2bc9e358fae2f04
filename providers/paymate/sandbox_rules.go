package paymate

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"paydesk/providers"
)

// fields is a decrypted request body: member name (lower-cased, since PayMate's
// own samples disagree on case: OrderId/OrderID) → raw JSON value.
type fields map[string]json.RawMessage

// errNotObject: the decrypted body is not a JSON object.
var errNotObject = errors.New("request body is not a JSON object")

// parseFields reads a decrypted body. Only a JSON object is a request.
func parseFields(b []byte) (fields, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return nil, errNotObject
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	f := make(fields, len(m))
	for k, v := range m {
		f[strings.ToLower(k)] = v
	}
	return f, nil
}

// get returns the first of names present with a non-empty value, as text.
// ok is false when a member holds something that is not a string or number
// (an object, array or bool), which PayMate answers with 178.
func (f fields) get(names ...string) (val string, ok bool) {
	for _, n := range names {
		raw, present := f[strings.ToLower(n)]
		if !present {
			continue
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		switch {
		case raw[0] == '"':
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return "", false
			}
			if s = strings.TrimSpace(s); s != "" {
				return s, true
			}
		case bytes.Equal(raw, []byte("null")):
		case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
			var n json.Number
			if json.Unmarshal(raw, &n) != nil {
				return "", false
			}
			return n.String(), true
		default:
			return "", false
		}
	}
	return "", true
}

// rule is one row of a seed field table.
type rule struct {
	names    []string // wire spellings; the first is the canonical one
	required bool
	max      int               // characters
	check    func(string) bool // character set / format; nil: any
	empty    string            // code when required and missing
	invalid  string            // code when the value breaks max or check
	tooLong  string            // code when the value breaks max, if not invalid
}

// apply validates f against rules in table order and returns the values by
// canonical name, or the first failing rule's code.
func (f fields) apply(rules []rule) (map[string]string, string) {
	out := make(map[string]string, len(rules))
	for _, r := range rules {
		v, ok := f.get(r.names...)
		if !ok {
			return nil, "178"
		}
		if v == "" {
			if r.required {
				return nil, r.empty
			}
			continue
		}
		if utf8.RuneCountInString(v) > r.max {
			if r.tooLong != "" {
				return nil, r.tooLong
			}
			return nil, r.invalid
		}
		if r.check != nil && !r.check(v) {
			return nil, r.invalid
		}
		out[r.names[0]] = v
	}
	return out, ""
}

// Character sets and formats of the seed's tables.

func allOf(s string, ok func(r rune) bool) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !ok(r) {
			return false
		}
	}
	return true
}

func isLetter(r rune) bool { return (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') }
func isDigit(r rune) bool  { return r >= '0' && r <= '9' }

// isAlnum: "Alphanumeric" identifiers (OrderID, ReferenceCode, AccountNo …).
func isAlnum(s string) bool { return allOf(s, func(r rune) bool { return isLetter(r) || isDigit(r) }) }

func isDigits(s string) bool { return allOf(s, isDigit) }

// isAlphaName: "Alphabet" person names; spaces between words allowed.
func isAlphaName(s string) bool {
	return strings.IndexFunc(s, isLetter) >= 0 && allOf(s, func(r rune) bool { return isLetter(r) || r == ' ' })
}

// isPersonName: SenderName, "Alphanumeric" person name.
func isPersonName(s string) bool {
	return strings.IndexFunc(s, isLetter) >= 0 &&
		allOf(s, func(r rune) bool { return isLetter(r) || isDigit(r) || strings.ContainsRune(" .'-", r) })
}

// companySpecials are the specials the seed allows in company names.
const companySpecials = " ,.@!'-"

// isCompany: "Alphanumeric" company name with ,.@!'- (AddContact, RequestPayment).
func isCompany(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return isLetter(r) || isDigit(r) }) >= 0 &&
		allOf(s, func(r rune) bool { return isLetter(r) || isDigit(r) || strings.ContainsRune(companySpecials, r) })
}

// isCompanyAlpha: BookPayment's company name is "Alphabet" with ,.@!'-.
func isCompanyAlpha(s string) bool {
	return strings.IndexFunc(s, isLetter) >= 0 &&
		allOf(s, func(r rune) bool { return isLetter(r) || strings.ContainsRune(companySpecials, r) })
}

// isText: free text (address, remarks, reason): printable ASCII without the
// characters that break markup or JSON.
func isText(s string) bool {
	return allOf(s, func(r rune) bool { return r >= 0x20 && r <= 0x7e && !strings.ContainsRune("<>\"\\`{}|^~", r) })
}

func isEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return false
	}
	if !allOf(local, func(r rune) bool { return isLetter(r) || isDigit(r) || strings.ContainsRune("._%+-", r) }) {
		return false
	}
	if !allOf(domain, func(r rune) bool { return isLetter(r) || isDigit(r) || r == '.' || r == '-' }) {
		return false
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
	}
	return len(labels[len(labels)-1]) >= 2
}

// isMobile: an Indian mobile number, ten digits starting 6–9.
func isMobile(s string) bool { return len(s) == 10 && isDigits(s) && s[0] >= '6' }

func isDate(s string) bool {
	_, err := time.ParseInLocation(layoutFilterDate, s, ist)
	return err == nil && len(s) == 10
}

// parseWireAmount reads a request amount, decimal(9,2): plain digits, at most
// two decimals, positive, at most seven integer digits. No commas or signs.
func parseWireAmount(s string) (int64, bool) {
	if strings.ContainsAny(s, ",+- ") {
		return 0, false
	}
	p, err := providers.ParseAmount(s)
	if err != nil || p <= 0 || p > maxAmountPaise {
		return 0, false
	}
	return p, true
}

func isAmount(s string) bool { _, ok := parseWireAmount(s); return ok }

func isReturnURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" &&
		allOf(s, func(r rune) bool {
			return isLetter(r) || isDigit(r) || strings.ContainsRune(":/.?=&_%-#~+,", r)
		})
}

func oneOf(vals ...string) func(string) bool {
	return func(s string) bool {
		for _, v := range vals {
			if strings.EqualFold(s, v) {
				return true
			}
		}
		return false
	}
}

func exactLen(n int, check func(string) bool) func(string) bool {
	return func(s string) bool { return len(s) == n && check(s) }
}

// The seed's request tables, one per method.

var (
	remarksRule = rule{names: []string{"Remarks"}, max: 200, check: isText, invalid: "178", tooLong: "181"}

	rulesAddContact = []rule{
		{names: []string{"CompanyName"}, required: true, max: 60, check: isCompany, empty: "124", invalid: "106"},
		{names: []string{"FirstName"}, required: true, max: 30, check: isAlphaName, empty: "125", invalid: "107"},
		{names: []string{"LastName"}, required: true, max: 30, check: isAlphaName, empty: "125", invalid: "107"},
		{names: []string{"NickName"}, max: 10, check: isAlphaName, invalid: "107"},
		{names: []string{"EmailId", "EmailID"}, required: true, max: 200, check: isEmail, empty: "127", invalid: "109"},
		{names: []string{"MobileNo"}, max: 10, check: isMobile, invalid: "108"},
		{names: []string{"CompanyAddress"}, max: 300, check: isText, invalid: "128"},
		{names: []string{"ReferenceCode"}, max: 20, check: isAlnum, invalid: "122"},
		{names: []string{"AccountNo"}, max: 30, check: isAlnum, invalid: "233"},
		{names: []string{"IFSCode"}, max: 11, check: providers.IsIFSC, invalid: "167"},
		{names: []string{"GSTIN"}, max: 15, check: providers.IsGSTIN, invalid: "178"},
	}

	rulesContactList = []rule{
		{names: []string{"FromDate"}, max: 10, check: isDate, invalid: "234"},
		{names: []string{"ToDate"}, max: 10, check: isDate, invalid: "234"},
		{names: []string{"CompanyName"}, max: 30, check: isCompany, invalid: "106"},
		{names: []string{"ReferenceCode", "CompanyCode"}, max: 20, check: isAlnum, invalid: "122"},
	}

	rulesBookPayment = []rule{
		{names: []string{"CompanyName"}, required: true, max: 60, check: isCompanyAlpha, empty: "232", invalid: "232"},
		{names: []string{"CompanyEmailId", "ReceiverEmailId"}, max: 200, check: isEmail, invalid: "109"},
		{names: []string{"CompanyMobileNo"}, max: 10, check: isMobile, invalid: "108"},
		{names: []string{"AccountNo"}, required: true, max: 30, check: isAlnum, empty: "162", invalid: "163"},
		{names: []string{"IFSCode"}, required: true, max: 11, check: providers.IsIFSC, empty: "166", invalid: "167"},
		{names: []string{"OrderId"}, required: true, max: 20, check: isAlnum, empty: "176", invalid: "176"},
		{names: []string{"Amount"}, required: true, max: 13, check: isAmount, empty: "159", invalid: "159"},
		{names: []string{"PaymentType"}, required: true, max: 10, check: oneOf(string(Instant), string(Normal)), empty: "178", invalid: "178"},
		{names: []string{"PaymentFrom"}, required: true, max: 20, check: oneOf(string(FromXpressAccount)), empty: "178", invalid: "178"},
		remarksRule,
		{names: []string{"ReturnURL"}, max: 200, check: isReturnURL, invalid: "178"},
	}

	rulesBookByXpressID = []rule{
		{names: []string{"ClientXpressId"}, required: true, max: 10, check: isAlnum, empty: "226", invalid: "226"},
		{names: []string{"OrderID"}, required: true, max: bookByXpressIDOrderLen, check: isAlnum, empty: "176", invalid: "176"},
		{names: []string{"Amount"}, required: true, max: 13, check: isAmount, empty: "159", invalid: "159"},
		remarksRule,
		{names: []string{"PaymentType"}, required: true, max: 30, check: oneOf(string(Instant), string(Normal)), empty: "178", invalid: "178"},
		{names: []string{"PaymentFrom"}, required: true, max: 30, check: oneOf(string(FromXpressAccount)), empty: "178", invalid: "178"},
		{names: []string{"ReturnURL"}, max: 200, check: isReturnURL, invalid: "178"},
	}

	rulesApprove = []rule{
		{names: []string{"OrderId"}, required: true, max: 20, check: isAlnum, empty: "176", invalid: "176"},
		{names: []string{"TransactionRefNo"}, max: 12, check: exactLen(12, isDigits), invalid: "177"},
		{names: []string{"ApprovalAction", "AprovalAction"}, required: true, max: 30, check: oneOf(string(ActionApprove), string(ActionReject)), empty: "178", invalid: "178"},
		{names: []string{"Reason"}, max: 60, check: isText, invalid: "178"},
	}

	rulesPaymentReport = []rule{
		{names: []string{"OrderId"}, max: 20, check: isAlnum, invalid: "176"},
		{names: []string{"TransactionRefNo"}, max: 12, check: exactLen(12, isDigits), invalid: "177"},
		{names: []string{"FromDate"}, max: 10, check: isDate, invalid: "234"},
		{names: []string{"ToDate"}, max: 10, check: isDate, invalid: "234"},
	}

	rulesVendorRequest = []rule{
		{names: []string{"ClientXpressID"}, required: true, max: 10, check: isAlnum, empty: "226", invalid: "226"},
		{names: []string{"OrderID"}, required: true, max: 20, check: isAlnum, empty: "176", invalid: "176"},
		{names: []string{"Amount"}, required: true, max: 13, check: isAmount, empty: "159", invalid: "159"},
		remarksRule,
	}

	rulesRequestPayment = []rule{
		{names: []string{"OrderID"}, required: true, max: 20, check: isAlnum, empty: "176", invalid: "176"},
		{names: []string{"CompanyName"}, required: true, max: 60, check: isCompany, empty: "124", invalid: "124"},
		{names: []string{"CompanyCode"}, max: 10, check: isAlnum, invalid: "122"},
		{names: []string{"SenderName", "ContactName"}, required: true, max: 30, check: isPersonName, empty: "229", invalid: "107"},
		{names: []string{"EmailID"}, required: true, max: 200, check: isEmail, empty: "127", invalid: "109"},
		{names: []string{"MobileNo"}, required: true, max: 10, check: isMobile, empty: "126", invalid: "108"},
		{names: []string{"Amount"}, required: true, max: 13, check: isAmount, empty: "159", invalid: "159"},
		remarksRule,
	}

	// The seed marks ClientXpressId optional here, but a request to nobody
	// cannot be sent: the sandbox requires it (226).
	rulesRequestByXpressID = []rule{
		{names: []string{"ClientXpressId"}, required: true, max: 10, check: isAlnum, empty: "226", invalid: "226"},
		{names: []string{"OrderID"}, required: true, max: 20, check: isAlnum, empty: "176", invalid: "176"},
		{names: []string{"Amount"}, required: true, max: 30, check: isAmount, empty: "159", invalid: "159"},
		remarksRule,
	}

	rulesRequestReport = []rule{
		{names: []string{"TransactionRefNo"}, max: 12, check: exactLen(12, isDigits), invalid: "177"},
		{names: []string{"OrderID"}, max: 20, check: isAlnum, invalid: "176"},
		{names: []string{"FromDate"}, max: 10, check: isDate, invalid: "234"},
		{names: []string{"ToDate"}, max: 10, check: isDate, invalid: "234"},
	}
)

// dateRange reads validated FromDate/ToDate into [from, to) in IST; either
// may be open. From after To is 235.
func dateRange(v map[string]string) (from, to time.Time, code string) {
	if s := v["FromDate"]; s != "" {
		from, _ = time.ParseInLocation(layoutFilterDate, s, ist)
	}
	if s := v["ToDate"]; s != "" {
		t, _ := time.ParseInLocation(layoutFilterDate, s, ist)
		to = t.AddDate(0, 0, 1) // the whole ToDate day
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return time.Time{}, time.Time{}, "235"
	}
	return from, to, ""
}

func inRange(t, from, to time.Time) bool {
	return (from.IsZero() || !t.Before(from)) && (to.IsZero() || t.Before(to))
}
