package kotakcms

import "encoding/xml"

// The wire formats of Kotak CMS, in one place. XML element names and
// namespaces are public (the CMS_Generic schemas); the JSON of the two
// approval calls is our decision (decisions.go).
//
// Marshalled XML puts each message in its schema's default namespace
// (<Payment xmlns="…Payment_Request.xsd">), which is the same document as the
// prefixed form the public samples use (<pay:Payment xmlns:pay="…">).
// Unmarshalling matches children by local name, so either spelling is read;
// the sandbox checks the namespace of the envelope and of the message
// element itself.

// Namespaces.
const (
	NSSOAP         = "http://www.w3.org/2003/05/soap-envelope"
	NSPayRequest   = "http://www.kotak.com/schemas/CMS_Generic/Payment_Request.xsd"
	NSPayResponse  = "http://www.kotak.com/schemas/CMS_Generic/Payment_Response.xsd"
	NSRevRequest   = "http://www.kotak.com/schemas/CMS_Generic/Reversal_Request.xsd"
	NSRevResponse  = "http://www.kotak.com/schemas/CMS_Generic/Reversal_Response.xsd"
	elemPayment    = "Payment"
	elemReversal   = "Reversal"
	elemEnvelope   = "Envelope"
	xmlDeclaration = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"
)

// envelope is a SOAP 1.2 envelope around one message element. The XMLName
// fields carry the element names and namespaces at run time.
type envelope[T any] struct {
	XMLName xml.Name
	Header  *struct{} `xml:"Header"`
	Body    struct {
		Content T `xml:",any"`
	} `xml:"Body"`
}

func wrap[T any](content T) envelope[T] {
	var e envelope[T]
	e.XMLName = xml.Name{Space: NSSOAP, Local: elemEnvelope}
	e.Header = &struct{}{}
	e.Body.Content = content
	return e
}

func marshalEnvelope[T any](content T) ([]byte, error) {
	b, err := xml.Marshal(wrap(content))
	if err != nil {
		return nil, err
	}
	return append([]byte(xmlDeclaration), b...), nil
}

// --- Payment (POST /v1/cms/pay) ---

type payRequest struct {
	XMLName        xml.Name
	RequestHeader  requestHeader  `xml:"RequestHeader"`
	InstrumentList instrumentList `xml:"InstrumentList"`
}

type requestHeader struct {
	MessageID    string `xml:"MessageId"`
	MsgSource    string `xml:"MsgSource"`
	ClientCode   string `xml:"ClientCode"`
	BatchRefNmbr string `xml:"BatchRefNmbr,omitempty"`
}

type instrumentList struct {
	Instruments []wireInstrument `xml:"instrument"`
}

// wireInstrument is one payment instruction, fields in schema order.
type wireInstrument struct {
	InstRefNo  string `xml:"InstRefNo"`
	MyProdCode string `xml:"MyProdCode"`
	PayMode    string `xml:"PayMode"`
	TxnAmnt    string `xml:"TxnAmnt"`
	AccountNo  string `xml:"AccountNo"`
	DrDesc     string `xml:"DrDesc,omitempty"`
	PaymentDt  string `xml:"PaymentDt"`
	RecBrCd    string `xml:"RecBrCd,omitempty"`
	BeneAcctNo string `xml:"BeneAcctNo"`
	BeneName   string `xml:"BeneName"`
	BeneCode   string `xml:"BeneCode,omitempty"`
	BeneEmail  string `xml:"BeneEmail,omitempty"`
	BeneMb     string `xml:"BeneMb,omitempty"`
	PaymentRef string `xml:"PaymentRef,omitempty"`
}

type payResponse struct {
	XMLName        xml.Name
	AckHeader      ackHeader          `xml:"AckHeader"`
	InstrumentList *ackInstrumentList `xml:"InstrumentList,omitempty"`
}

type ackHeader struct {
	MessageID string `xml:"MessageId"`
	StatusCd  string `xml:"StatusCd"`
	StatusRem string `xml:"StatusRem"`
}

type ackInstrumentList struct {
	Instruments []ackInstrument `xml:"instrument"`
}

type ackInstrument struct {
	InstRefNo     string `xml:"InstRefNo"`
	InstStatusCd  string `xml:"InstStatusCd"`
	InstStatusRem string `xml:"InstStatusRem"`
}

// --- Status inquiry (POST /v1/cms/rev, "Reversal") ---

type revRequest struct {
	XMLName xml.Name
	Header  revHeader  `xml:"Header"`
	Details revDetails `xml:"Details"`
}

type revHeader struct {
	ReqID      string `xml:"Req_Id"`
	MsgSrc     string `xml:"Msg_Src"`
	ClientCode string `xml:"Client_Code"`
	DatePost   string `xml:"Date_Post"`
}

type revDetails struct {
	MsgIDs []string `xml:"Msg_Id"`
}

type revResponse struct {
	XMLName xml.Name
	Header  revHeader `xml:"Header"`
	Details struct {
		RevDetails []RevDetail `xml:"Rev_Detail"`
	} `xml:"Details"`
}

// RevDetail is the bank's answer about one instrument: its Status_Code (PA,
// PS, C, U, R …; see codes.go), the bank's words and, once processed, the
// UTR.
type RevDetail struct {
	MsgID      string `xml:"Msg_Id" json:"Msg_Id"`
	StatusCode string `xml:"Status_Code" json:"Status_Code"`
	StatusDesc string `xml:"Status_Desc" json:"Status_Desc"`
	UTR        string `xml:"UTR,omitempty" json:"UTR,omitempty"`
}

// --- Pending approvals (POST /v1/cms/pending, JSON, decision) ---

type pendingRequest struct {
	ClientCode string `json:"ClientCode"`
	MsgSource  string `json:"MsgSource,omitempty"`
}

type pendingResponse struct {
	StatusCd    string        `json:"StatusCd"`
	StatusRem   string        `json:"StatusRem"`
	Instruments []wirePending `json:"Instruments"`
}

type wirePending struct {
	InstRefNo    string `json:"InstRefNo"`
	MessageID    string `json:"MessageId,omitempty"`
	BatchRefNmbr string `json:"BatchRefNmbr,omitempty"`
	PayMode      string `json:"PayMode"`
	TxnAmnt      string `json:"TxnAmnt"`
	AccountNo    string `json:"AccountNo"`
	DrDesc       string `json:"DrDesc,omitempty"`
	PaymentDt    string `json:"PaymentDt"`
	RecBrCd      string `json:"RecBrCd"`
	BeneAcctNo   string `json:"BeneAcctNo"`
	BeneName     string `json:"BeneName"`
	BeneCode     string `json:"BeneCode,omitempty"`
	Source       string `json:"Source"` // API or PORTAL
	CreatedAt    string `json:"CreatedAt"`
}

// --- Authorisation (POST /v1/cms/authorize, JSON, decision) ---

// Actions of an authorisation.
const (
	ActionApprove = "APPROVE"
	ActionReject  = "REJECT"
)

type authorizeRequest struct {
	MessageID  string   `json:"MessageId"`
	ClientCode string   `json:"ClientCode"`
	InstRefNo  []string `json:"InstRefNo"`
	Action     string   `json:"Action"`
	Remarks    string   `json:"Remarks,omitempty"`
}

type authorizeResponse struct {
	MessageID string       `json:"MessageId"`
	StatusCd  string       `json:"StatusCd"`
	StatusRem string       `json:"StatusRem"`
	Results   []AuthResult `json:"Results"`
}

// AuthResult is the bank's answer for one instrument of an authorisation:
// StatusCd "000" applied (or already applied), "006" refused; Status is the
// instrument's status code afterwards.
type AuthResult struct {
	InstRefNo string `json:"InstRefNo"`
	StatusCd  string `json:"StatusCd"`
	StatusRem string `json:"StatusRem"`
	Status    string `json:"Status,omitempty"`
}
