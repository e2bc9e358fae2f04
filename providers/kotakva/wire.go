package kotakva

// The wire format of Kotak virtual accounts, in one place: every JSON field
// name the client sends or reads, and the sandbox the same. All of it is our
// decision (providers.md §2). Amounts are decimal rupee strings with two
// places ("1234.50"), dates YYYY-MM-DD, times RFC 3339 in IST.
//
//	call             request                                          answer
//	create|modify|   ClientCode, PhysicalAccountNo, Accounts[]        StatusCd, StatusRem, Results[]
//	  delete         (VirtualAccountNo, Prefix, Suffix, Name,          (VirtualAccountNo, Suffix, Status
//	                 Purpose, Email, Mobile, ExpiresOn)                SUCCESS|FAILURE, Code, Reason)
//	transactions     ClientCode, PhysicalAccountNo                    StatusCd, StatusRem, BatchId, Records[]
//	                                                                   (TxnRef, UTR, VirtualAccountNo, Amount,
//	                                                                   RemitterName, RemitterAccount,
//	                                                                   RemitterIFSC, Mode, CreditedAt)
//	transactions/ack ClientCode, BatchId, TxnRefs[]                   StatusCd, StatusRem
//	refund           ClientCode, ClientName, RefundId?, TxnRef,       StatusCd, StatusRem, RefundRef, RefundId?,
//	                 Amount?, Reason                                  TxnRef, Amount, Status (INITIATED)
//	refund/status    ClientCode, RefundRef | RefundId | TxnRef        StatusCd, StatusRem, RefundRef, RefundId?,
//	                                                                   TxnRef, Amount, Status, StatusDesc, UTR,
//	                                                                   UpdatedAt

type wireAccount struct {
	VirtualAccountNo string `json:"VirtualAccountNo,omitempty"`
	Prefix           string `json:"Prefix,omitempty"`
	Suffix           string `json:"Suffix,omitempty"`
	Name             string `json:"Name,omitempty"`
	Purpose          string `json:"Purpose,omitempty"`
	Email            string `json:"Email,omitempty"`
	Mobile           string `json:"Mobile,omitempty"`
	ExpiresOn        string `json:"ExpiresOn,omitempty"`
}

type accountsRequest struct {
	ClientCode        string        `json:"ClientCode"`
	PhysicalAccountNo string        `json:"PhysicalAccountNo"`
	Accounts          []wireAccount `json:"Accounts"`
}

// Per-account outcomes.
const (
	resultSuccess = "SUCCESS"
	resultFailure = "FAILURE"
)

type wireResult struct {
	VirtualAccountNo string `json:"VirtualAccountNo"`
	Suffix           string `json:"Suffix,omitempty"`
	Status           string `json:"Status"`
	Code             string `json:"Code"`
	Reason           string `json:"Reason,omitempty"`
}

type accountsResponse struct {
	StatusCd  string       `json:"StatusCd"`
	StatusRem string       `json:"StatusRem"`
	Results   []wireResult `json:"Results"`
}

type transactionsRequest struct {
	ClientCode        string `json:"ClientCode"`
	PhysicalAccountNo string `json:"PhysicalAccountNo"`
}

type wireRecord struct {
	TxnRef           string `json:"TxnRef"`
	UTR              string `json:"UTR"`
	VirtualAccountNo string `json:"VirtualAccountNo"`
	Amount           string `json:"Amount"`
	RemitterName     string `json:"RemitterName"`
	RemitterAccount  string `json:"RemitterAccount"`
	RemitterIFSC     string `json:"RemitterIFSC"`
	Mode             string `json:"Mode"`
	CreditedAt       string `json:"CreditedAt"`
}

type transactionsResponse struct {
	StatusCd  string       `json:"StatusCd"`
	StatusRem string       `json:"StatusRem"`
	BatchID   string       `json:"BatchId"`
	Records   []wireRecord `json:"Records"`
}

type ackRequest struct {
	ClientCode string   `json:"ClientCode"`
	BatchID    string   `json:"BatchId"`
	TxnRefs    []string `json:"TxnRefs"`
}

type statusResponse struct {
	StatusCd  string `json:"StatusCd"`
	StatusRem string `json:"StatusRem"`
}

type refundRequest struct {
	ClientCode string `json:"ClientCode"`
	ClientName string `json:"ClientName"`
	RefundID   string `json:"RefundId,omitempty"`
	TxnRef     string `json:"TxnRef"`
	Amount     string `json:"Amount,omitempty"`
	Reason     string `json:"Reason"`
}

type refundResponse struct {
	StatusCd  string `json:"StatusCd"`
	StatusRem string `json:"StatusRem"`
	RefundRef string `json:"RefundRef,omitempty"`
	RefundID  string `json:"RefundId,omitempty"`
	TxnRef    string `json:"TxnRef,omitempty"`
	Amount    string `json:"Amount,omitempty"`
	Status    string `json:"Status,omitempty"`
}

type refundStatusRequest struct {
	ClientCode string `json:"ClientCode"`
	RefundRef  string `json:"RefundRef,omitempty"`
	RefundID   string `json:"RefundId,omitempty"`
	TxnRef     string `json:"TxnRef,omitempty"`
}

type refundStatusResponse struct {
	StatusCd   string `json:"StatusCd"`
	StatusRem  string `json:"StatusRem"`
	RefundRef  string `json:"RefundRef,omitempty"`
	RefundID   string `json:"RefundId,omitempty"`
	TxnRef     string `json:"TxnRef,omitempty"`
	Amount     string `json:"Amount,omitempty"`
	Status     string `json:"Status,omitempty"`
	StatusDesc string `json:"StatusDesc,omitempty"`
	UTR        string `json:"UTR,omitempty"`
	UpdatedAt  string `json:"UpdatedAt,omitempty"`
}
