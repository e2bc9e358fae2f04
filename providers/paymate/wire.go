package paymate

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"paydesk/providers"
	"paydesk/providers/internal/aescbc"
)

// cipherBox encrypts and decrypts PayMate bodies: AES-256-CBC under the
// business's key and IV, PKCS#7, base64 text.
type cipherBox struct {
	key, iv []byte
}

func newCipherBox(key, iv []byte) (cipherBox, error) {
	if len(key) != 32 {
		return cipherBox{}, fmt.Errorf("paymate: AES key must be 32 bytes (AES-256), got %d", len(key))
	}
	if len(iv) != 16 {
		return cipherBox{}, fmt.Errorf("paymate: AES IV must be 16 bytes, got %d", len(iv))
	}
	return cipherBox{key: bytes.Clone(key), iv: bytes.Clone(iv)}, nil
}

// seal returns base64(AES-256-CBC(plain)).
func (b cipherBox) seal(plain []byte) (string, error) {
	ct, err := aescbc.Encrypt(b.key, b.iv, plain)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}

// errTampered: the ciphertext is not base64 or not whole AES blocks, so it was
// cut or altered on the way rather than sealed under another key.
var errTampered = errors.New("ciphertext is not base64 of whole AES blocks")

// open reverses seal. A wrong key or IV shows up as aescbc.ErrCiphertext.
func (b cipherBox) open(text string) ([]byte, error) {
	ct, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil || len(ct) == 0 || len(ct)%16 != 0 {
		return nil, errTampered
	}
	return aescbc.Decrypt(b.key, b.iv, ct)
}

// wireText is a JSON scalar read as text: PayMate writes the same member as a
// string in one sample and a number in another. null reads as "".
type wireText string

func (t *wireText) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return errors.New("empty JSON value")
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = wireText(s)
	case bytes.Equal(b, []byte("null")):
		*t = ""
	case bytes.Equal(b, []byte("true")), bytes.Equal(b, []byte("false")):
		*t = wireText(b)
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*t = wireText(n.String())
	default:
		return fmt.Errorf("paymate: want a JSON scalar, got %.20q", b)
	}
	return nil
}

// wireCode is a PayMate code: "000", or a number some builds write bare (0,
// 202), which is read back into the three-digit form.
type wireCode string

func (c *wireCode) UnmarshalJSON(b []byte) error {
	var t wireText
	if err := t.UnmarshalJSON(b); err != nil {
		return err
	}
	s := strings.TrimSpace(string(t))
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n < 1000 && len(s) < 3 {
		s = fmt.Sprintf("%03d", n)
	}
	*c = wireCode(s)
	return nil
}

// wireAmount is money read from a JSON string or number, exactly, into paise
// (1000000.00 → 100000000). null or "" read as 0.
type wireAmount int64

func (a *wireAmount) UnmarshalJSON(b []byte) error {
	var t wireText
	if err := t.UnmarshalJSON(b); err != nil {
		return err
	}
	s := strings.TrimSpace(string(t))
	if s == "" {
		*a = 0
		return nil
	}
	p, err := providers.ParseAmount(s)
	if err != nil {
		return fmt.Errorf("paymate: amount %.30q: %w", s, err)
	}
	*a = wireAmount(p)
	return nil
}

// wireBool reads true/false written as a JSON bool or as text.
type wireBool bool

func (v *wireBool) UnmarshalJSON(b []byte) error {
	var t wireText
	if err := t.UnmarshalJSON(b); err != nil {
		return err
	}
	*v = wireBool(strings.EqualFold(strings.TrimSpace(string(t)), "true") || string(t) == "1")
	return nil
}

// first returns the first non-empty of the spellings a member may come in.
func first[T ~string](vals ...T) string {
	for _, v := range vals {
		if v != "" {
			return string(v)
		}
	}
	return ""
}

// wireEnvelope is PayMate's answer frame in every spelling the samples show:
// XpressID/strXpressID, ErrorCode/strErrorCode,
// ErrorDescription/strErrorDescription, Response/ResponseText.
type wireEnvelope struct {
	XpressID            wireText        `json:"XpressID"`
	StrXpressID         wireText        `json:"strXpressID"`
	ErrorCode           wireCode        `json:"ErrorCode"`
	StrErrorCode        wireCode        `json:"strErrorCode"`
	ErrorDescription    wireText        `json:"ErrorDescription"`
	StrErrorDescription wireText        `json:"strErrorDescription"`
	Response            json.RawMessage `json:"Response"`
	ResponseText        json.RawMessage `json:"ResponseText"`
}

// envelope is wireEnvelope with the spellings folded together.
type envelope struct {
	XpressID    string
	Code        string
	Description string
	Response    json.RawMessage // nil when absent, null or ""
	hasCode     bool
}

// decodeEnvelope reads a decrypted (or plain) envelope.
func decodeEnvelope(b []byte) (envelope, error) {
	var w wireEnvelope
	if err := json.Unmarshal(b, &w); err != nil {
		return envelope{}, fmt.Errorf("paymate: envelope: %w", err)
	}
	env := envelope{
		XpressID:    first(w.XpressID, w.StrXpressID),
		Code:        first(w.ErrorCode, w.StrErrorCode),
		Description: first(w.ErrorDescription, w.StrErrorDescription),
	}
	env.hasCode = env.Code != ""
	if !env.hasCode {
		return envelope{}, errors.New("paymate: envelope has no ErrorCode")
	}
	for _, raw := range []json.RawMessage{w.Response, w.ResponseText} {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || bytes.Equal(raw, []byte("null")) || bytes.Equal(raw, []byte(`""`)) {
			continue
		}
		env.Response = raw
		break
	}
	return env, nil
}

// decodeBody reads an HTTP answer body: {"<encField>":"<base64>"} whose
// plaintext is the envelope, or (errors only, see decisions.go) a plain
// envelope. trusted reports whether the envelope came encrypted.
func decodeBody(body []byte, encField string, box cipherBox) (env envelope, trusted bool, err error) {
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(body, &outer); err != nil {
		return envelope{}, false, fmt.Errorf("paymate: answer is not a JSON object: %w", err)
	}
	if raw, ok := outer[encField]; ok {
		var text string
		if err := json.Unmarshal(raw, &text); err != nil {
			return envelope{}, false, fmt.Errorf("paymate: %s is not a string", encField)
		}
		plain, err := box.open(text)
		if err != nil {
			return envelope{}, false, fmt.Errorf("paymate: cannot decrypt answer: %w", err)
		}
		env, err := decodeEnvelope(plain)
		return env, true, err
	}
	env, err = decodeEnvelope(body)
	return env, false, err
}

// decodeResponse reads env.Response into out. An object where an array was
// expected (or the reverse) is accepted: PayMate's samples describe Response as
// an "array of response data" yet show objects for single results.
func decodeResponse(raw json.RawMessage, out any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return errors.New("paymate: answer has no Response")
	}
	if raw[0] == '"' {
		// Some WCF builds serialise Response as a JSON string holding JSON.
		var inner string
		if err := json.Unmarshal(raw, &inner); err != nil {
			return fmt.Errorf("paymate: Response: %w", err)
		}
		raw = json.RawMessage(strings.TrimSpace(inner))
		if len(raw) == 0 {
			return errors.New("paymate: answer has no Response")
		}
	}
	err := json.Unmarshal(raw, out)
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		switch {
		case raw[0] == '[':
			// Array where one object was expected: take a single element.
			var items []json.RawMessage
			if json.Unmarshal(raw, &items) == nil && len(items) == 1 {
				return json.Unmarshal(items[0], out)
			}
		case raw[0] == '{':
			// One object where a list was expected.
			return json.Unmarshal([]byte("["+string(raw)+"]"), out)
		}
	}
	if err != nil {
		return fmt.Errorf("paymate: Response: %w", err)
	}
	return nil
}

// Response members, read tolerantly: every spelling the seed's samples use.

type wireContactResult struct {
	VirtualAccountNo wireText `json:"VirtualAccountNo"`
	VANIFSC          wireText `json:"VANIFSC"`
	ContactXpressID  wireText `json:"ContactXpressID"`
}

type wireContact struct {
	CompanyName      wireText `json:"CompanyName"`
	FirstName        wireText `json:"FirstName"`
	LastName         wireText `json:"LastName"`
	NickName         wireText `json:"NickName"`
	EmailID          wireText `json:"EmailId"`
	MobileNo         wireText `json:"MobileNo"`
	CompanyAddress   wireText `json:"CompanyAddress"`
	ReferenceCode    wireText `json:"ReferenceCode"`
	CompanyCode      wireText `json:"CompanyCode"`
	AccountNo        wireText `json:"AccountNo"`
	IFSCode          wireText `json:"IFSCode"`
	GSTIN            wireText `json:"GSTIN"`
	VirtualAccountNo wireText `json:"VirtualAccountNo"`
	VANIFSC          wireText `json:"VANIFSC"`
	ContactXpressID  wireText `json:"ContactXpressID"`
}

type wireRef struct {
	TransactionRefNo wireText `json:"TransactionRefNo"`
	OrderID          wireText `json:"OrderID"`
}

type wireApproval struct {
	TransactionStatus  wireCode   `json:"TransactionStatus"`
	TransactionMessage wireText   `json:"TransactionMessage"`
	StrBankRefNo       wireText   `json:"strBankRefNo"`
	BankRefNo          wireText   `json:"BankRefNo"`
	IsBankResponse     wireBool   `json:"IsBankResponse"`
	TransactionRefNo   wireText   `json:"TransactionRefNo"`
	OrderID            wireText   `json:"OrderID"`
	Amount             wireAmount `json:"Amount"`
	CompanyName        wireText   `json:"CompanyName"`
	AccountNo          wireText   `json:"AccountNo"`
	PaymentURL         wireText   `json:"PaymentURL"`
}

type wirePaymentRow struct {
	OrderID          wireText   `json:"OrderId"`
	TransactionRefNo wireText   `json:"TransactionRefNo"`
	CompanyName      wireText   `json:"CompanyName"`
	AccountNo        wireText   `json:"AccountNo"`
	ReceiverIFSC     wireText   `json:"ReceiverIFSC"`
	TransactionType  wireText   `json:"TransactionType"`
	PaidAmount       wireAmount `json:"PaidAmount"`
	Commission       wireAmount `json:"Commission"`
	ServiceTax       wireAmount `json:"ServiceTax"`
	NetAmount        wireAmount `json:"NetAmount"`
	TransactionDate  wireText   `json:"transactionDate"`
	// The sample spells the status right and the message "Trasnsaction".
	TransactionStatus   wireCode `json:"TransactionStatus"`
	TrasnsactionStatus  wireCode `json:"TrasnsactionStatus"`
	TrasnsactioStatus   wireCode `json:"TrasnsactioStatus"`
	TransactionMessage  wireText `json:"TransactionMessage"`
	TrasnsactionMessage wireText `json:"TrasnsactionMessage"`
	BankRefNo           wireText `json:"BankRefNo"`
	BankSummary         wireText `json:"BankSummary"`
	// Not in the seed's sample; the sandbox adds them and the client reads
	// them when present.
	PaymentType wireText `json:"PaymentType"`
	Remarks     wireText `json:"Remarks"`
}

type wireRequestRow struct {
	TransactionRefNo wireText   `json:"TransactionRefNo"`
	CompanyName      wireText   `json:"CompanyName"`
	CompanyCode      wireText   `json:"CompanyCode"`
	Amount           wireAmount `json:"Amount"`
	// The sample spells both members wrongly ("TrasnsactioStatus",
	// "TrasnsactionMessage"); read every spelling.
	TrasnsactioStatus   wireCode `json:"TrasnsactioStatus"`
	TrasnsactionStatus  wireCode `json:"TrasnsactionStatus"`
	TransactionStatus   wireCode `json:"TransactionStatus"`
	TrasnsactionMessage wireText `json:"TrasnsactionMessage"`
	TrasnsactioMessage  wireText `json:"TrasnsactioMessage"`
	TransactionMessage  wireText `json:"TransactionMessage"`
	BankRefNo           wireText `json:"BankRefNo"`
	RequestDate         wireText `json:"RequestDate"`
	PaymentDate         wireText `json:"PaymentDate"`
	OrderID             wireText `json:"OrderId"`
	Remarks             wireText `json:"Remarks"`
}

type wireBalance struct {
	XpressBalance wireAmount `json:"XpressBalance"`
}

// parseWireTime reads any PayMate date or timestamp, in IST. An unreadable
// date is the zero time rather than a failed status read.
func parseWireTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{layoutPaymentDate, layoutRequestDate, layoutFilterDate, "02-01-2006", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, s, ist); err == nil {
			return t
		}
	}
	return time.Time{}
}

// filterDate writes a request filter date; the zero time is "".
func filterDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(ist).Format(layoutFilterDate)
}
