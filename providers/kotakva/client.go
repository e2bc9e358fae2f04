// Package kotakva speaks Kotak Mahindra Bank's virtual-account (e-collect)
// services: create, modify and delete virtual accounts under a physical
// account, receive incoming credits in batches of 100 that repeat until
// acknowledged, and refund a credit to its remitter. Same OAuth2 gateway and
// AES body encryption as Kotak CMS; JSON bodies. It holds the client, an
// adapter onto providers.VirtualAccounts, and a sandbox.
package kotakva

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"paydesk/providers"
	"paydesk/providers/internal/kotak"
)

// Token is an OAuth2 access token and its expiry.
type Token = kotak.Token

// Conn is how to reach Kotak's API gateway (base URL, OAuth2 client, body
// encryption, timeouts and retries of idempotent calls), shared with the
// CMS payouts API.
type Conn = kotak.ConnOptions

// Config says how to reach and talk to the bank.
type Config struct {
	Conn

	ClientCode        string
	ClientName        string // sent with refunds, as the seed describes
	PhysicalAccountNo string // the collection account the virtual accounts sit under
}

// Client calls Kotak virtual-account services. Safe for concurrent use.
type Client struct {
	cfg    Config
	api    *kotak.API
	tokens *kotak.TokenSource
}

// New checks cfg and returns a client.
func NewClient(cfg Config) (*Client, error) {
	if err := cfg.Conn.Check(Name); err != nil {
		return nil, err
	}
	if cfg.ClientCode == "" || cfg.PhysicalAccountNo == "" || cfg.ClientName == "" {
		return nil, fmt.Errorf("%s: ClientCode, ClientName and PhysicalAccountNo are required", Name)
	}
	api, ts, err := kotak.Dial(Name, cfg.Conn)
	if err != nil {
		return nil, err
	}
	return &Client{cfg: cfg, tokens: ts, api: api}, nil
}

// DemoConfig is a Config for the in-process sandbox at baseURL started with
// DefaultSandboxConfig.
func DemoConfig(baseURL string) Config {
	return Config{
		Conn:       Conn{BaseURL: baseURL, ClientID: DemoClientID, ClientSecret: DemoClientSecret},
		ClientCode: DemoClientCode, ClientName: DemoClientName, PhysicalAccountNo: DemoPhysicalAcct,
	}
}

// Token returns the current bearer token, fetching or refreshing it as needed.
func (c *Client) Token(ctx context.Context) (Token, error) { return c.tokens.Token(ctx) }

func (c *Client) call(ctx context.Context, op, path string, idempotent bool, req any, decode func([]byte) error) error {
	body, err := json.Marshal(req)
	if err != nil {
		return &Error{Provider: Name, Op: op, Message: "encoding request", Kind: providers.ErrRejected, Err: err}
	}
	return c.api.Do(ctx, kotak.Call{Op: op, Path: path, ContentType: ContentJSON, Body: body, Idempotent: idempotent, Decode: decode})
}

// Account is a virtual account as the client sends it. Create needs Suffix
// (the bank puts its prefix in front); modify and delete name the account by
// VirtualAccountNo.
type Account struct {
	VirtualAccountNo string
	Suffix           string
	Name             string
	Purpose          string
	Email            string
	Mobile           string
	ExpiresOn        time.Time // zero: never (create) or unchanged (modify)
}

// AccountResult is the bank's answer for one account.
type AccountResult struct {
	VirtualAccountNo string
	Suffix           string
	OK               bool
	Code             string
	Reason           string
}

// Err is nil for a successful account, else the typed error for its code.
func (r AccountResult) Err() error {
	if r.OK {
		return nil
	}
	return codeError("Account "+r.VirtualAccountNo+r.Suffix, r.Code, r.Reason)
}

// AccountsResult is the bank's answer to a create, modify or delete.
type AccountsResult struct {
	StatusCd  string
	StatusRem string
	Results   []AccountResult
}

func toWireAccount(a Account) wireAccount {
	w := wireAccount{
		VirtualAccountNo: a.VirtualAccountNo, Suffix: a.Suffix, Name: a.Name,
		Purpose: a.Purpose, Email: a.Email, Mobile: a.Mobile,
	}
	if !a.ExpiresOn.IsZero() {
		w.ExpiresOn = a.ExpiresOn.In(kotak.IST).Format(time.DateOnly)
	}
	return w
}

func (c *Client) accounts(ctx context.Context, op, path string, accts []wireAccount) (AccountsResult, error) {
	req := accountsRequest{ClientCode: c.cfg.ClientCode, PhysicalAccountNo: c.cfg.PhysicalAccountNo, Accounts: accts}
	var resp accountsResponse
	err := c.call(ctx, op, path, false, req, func(p []byte) (err error) { resp, err = decodeAccountsResponse(p); return err })
	if err != nil {
		return AccountsResult{}, err
	}
	out := AccountsResult{StatusCd: resp.StatusCd, StatusRem: resp.StatusRem}
	for _, r := range resp.Results {
		out.Results = append(out.Results, AccountResult{
			VirtualAccountNo: r.VirtualAccountNo, Suffix: r.Suffix, OK: r.Status == resultSuccess, Code: r.Code, Reason: r.Reason,
		})
	}
	return out, codeError(op, resp.StatusCd, resp.StatusRem)
}

// CreateVirtualAccounts asks the bank for new virtual accounts. Each account
// gets its own result; the error is only for request-level refusals. Not
// re-sent by the client (a repeat would be refused per account as 102).
func (c *Client) CreateVirtualAccounts(ctx context.Context, accts []Account) (AccountsResult, error) {
	w := make([]wireAccount, 0, len(accts))
	for _, a := range accts {
		w = append(w, toWireAccount(a))
	}
	return c.accounts(ctx, "CreateVirtualAccounts", PathCreate, w)
}

// ModifyVirtualAccounts changes name, purpose, contact details or expiry of
// existing accounts; empty fields stay as they are.
func (c *Client) ModifyVirtualAccounts(ctx context.Context, accts []Account) (AccountsResult, error) {
	w := make([]wireAccount, 0, len(accts))
	for _, a := range accts {
		w = append(w, toWireAccount(a))
	}
	return c.accounts(ctx, "ModifyVirtualAccounts", PathModify, w)
}

// DeleteVirtualAccounts closes accounts by number.
func (c *Client) DeleteVirtualAccounts(ctx context.Context, numbers []string) (AccountsResult, error) {
	w := make([]wireAccount, 0, len(numbers))
	for _, n := range numbers {
		w = append(w, wireAccount{VirtualAccountNo: n})
	}
	return c.accounts(ctx, "DeleteVirtualAccounts", PathDelete, w)
}

func decodeAccountsResponse(p []byte) (accountsResponse, error) {
	var r accountsResponse
	if err := json.Unmarshal(p, &r); err != nil {
		return r, err
	}
	if strings.TrimSpace(r.StatusCd) == "" {
		return r, errors.New("no StatusCd in answer")
	}
	for _, res := range r.Results {
		if res.Status != resultSuccess && res.Status != resultFailure {
			return r, fmt.Errorf("account result status %q", res.Status)
		}
	}
	return r, nil
}

// CreditRecord is one incoming credit to a virtual account.
type CreditRecord struct {
	TxnRef           string
	UTR              string
	VirtualAccountNo string
	AmountPaise      int64
	RemitterName     string
	RemitterAccount  string
	RemitterIFSC     string
	Mode             string // NEFT, RTGS, IMPS, IFT, UPI
	CreditedAt       time.Time
}

// Batch is one batch of unacknowledged credits; empty BatchID: none waiting.
type Batch struct {
	BatchID string
	Records []CreditRecord
}

// FetchTransactions returns the oldest unacknowledged credits, at most 100.
// The bank answers the same batch until it is acknowledged, so the call is a
// read and is retried on failure.
func (c *Client) FetchTransactions(ctx context.Context) (Batch, error) {
	var resp transactionsResponse
	var recs []CreditRecord
	err := c.call(ctx, "FetchTransactions", PathTransactions, true,
		transactionsRequest{ClientCode: c.cfg.ClientCode, PhysicalAccountNo: c.cfg.PhysicalAccountNo},
		func(p []byte) (err error) { resp, recs, err = decodeTransactionsResponse(p); return err })
	if err != nil {
		return Batch{}, err
	}
	if err := codeError("FetchTransactions", resp.StatusCd, resp.StatusRem); err != nil {
		return Batch{}, err
	}
	return Batch{BatchID: resp.BatchID, Records: recs}, nil
}

func decodeTransactionsResponse(p []byte) (transactionsResponse, []CreditRecord, error) {
	var r transactionsResponse
	if err := json.Unmarshal(p, &r); err != nil {
		return r, nil, err
	}
	if strings.TrimSpace(r.StatusCd) == "" {
		return r, nil, errors.New("no StatusCd in answer")
	}
	if len(r.Records) > 0 && r.BatchID == "" {
		return r, nil, errors.New("records without a BatchId")
	}
	if len(r.Records) > BatchSize {
		return r, nil, fmt.Errorf("%d records in one batch", len(r.Records))
	}
	recs := make([]CreditRecord, 0, len(r.Records))
	seen := make(map[string]bool, len(r.Records))
	for _, w := range r.Records {
		if w.TxnRef == "" || seen[w.TxnRef] {
			return r, nil, fmt.Errorf("record without or with repeated TxnRef %q", w.TxnRef)
		}
		seen[w.TxnRef] = true
		paise, err := providers.ParseAmount(w.Amount)
		if err != nil {
			return r, nil, fmt.Errorf("record %s: Amount %q: %w", w.TxnRef, w.Amount, err)
		}
		at, err := time.Parse(time.RFC3339, w.CreditedAt)
		if err != nil {
			return r, nil, fmt.Errorf("record %s: CreditedAt: %w", w.TxnRef, err)
		}
		recs = append(recs, CreditRecord{
			TxnRef: w.TxnRef, UTR: w.UTR, VirtualAccountNo: w.VirtualAccountNo, AmountPaise: paise,
			RemitterName: w.RemitterName, RemitterAccount: w.RemitterAccount, RemitterIFSC: w.RemitterIFSC,
			Mode: w.Mode, CreditedAt: at,
		})
	}
	return r, recs, nil
}

// Acknowledge tells the bank the batch arrived; the next fetch moves on. The
// bank answers success to a repeat of the same acknowledgement, so the client
// retries it like a read.
func (c *Client) Acknowledge(ctx context.Context, batchID string, txnRefs []string) error {
	var resp statusResponse
	err := c.call(ctx, "Acknowledge", PathAck, true,
		ackRequest{ClientCode: c.cfg.ClientCode, BatchID: batchID, TxnRefs: txnRefs},
		func(p []byte) (err error) { resp, err = decodeStatusResponse(p); return err })
	if err != nil {
		return err
	}
	return codeError("Acknowledge", resp.StatusCd, resp.StatusRem)
}

func decodeStatusResponse(p []byte) (statusResponse, error) {
	var r statusResponse
	if err := json.Unmarshal(p, &r); err != nil {
		return r, err
	}
	if strings.TrimSpace(r.StatusCd) == "" {
		return r, errors.New("no StatusCd in answer")
	}
	return r, nil
}

// RefundRequest sends a received credit back; AmountPaise 0 means all of it
// (or, with ID, all that is left of it). ID is the client's own refund id:
// when set it is the idempotency key and a credit may be refunded in parts.
type RefundRequest struct {
	ID          string
	TxnRef      string
	AmountPaise int64
	Reason      string
}

// RefundInfo is what the bank says about a refund.
type RefundInfo struct {
	RefundRef   string
	ID          string // the client's RefundId, when it gave one
	TxnRef      string
	AmountPaise int64
	Status      string // INITIATED, IN_PROCESS, PROCESSED, FAILED, RETURNED
	StatusDesc  string
	UTR         string
	UpdatedAt   time.Time
}

// Refund asks the bank to refund a credit. Never re-sent by the client; after
// ErrOutcomeUnknown ask RefundStatus (by ID when given, else the TxnRef).
// Without ID a second refund of the same credit is refused with
// ErrDuplicate; with ID, a second request with the same ID is, and parts
// of one credit may be refunded under different IDs up to its amount. The
// refused answer still carries the existing RefundRef.
func (c *Client) Refund(ctx context.Context, r RefundRequest) (RefundInfo, error) {
	req := refundRequest{ClientCode: c.cfg.ClientCode, ClientName: c.cfg.ClientName, RefundID: r.ID, TxnRef: r.TxnRef, Reason: r.Reason}
	if r.AmountPaise != 0 {
		req.Amount = providers.FormatAmount(r.AmountPaise)
	}
	var resp refundResponse
	err := c.call(ctx, "Refund", PathRefund, false, req, func(p []byte) (err error) { resp, err = decodeRefundResponse(p); return err })
	if err != nil {
		return RefundInfo{}, err
	}
	amt, _ := providers.ParseAmount(resp.Amount)
	info := RefundInfo{RefundRef: resp.RefundRef, ID: resp.RefundID, TxnRef: resp.TxnRef, AmountPaise: amt, Status: resp.Status, StatusDesc: resp.StatusRem}
	return info, codeError("Refund", resp.StatusCd, resp.StatusRem)
}

func decodeRefundResponse(p []byte) (refundResponse, error) {
	var r refundResponse
	if err := json.Unmarshal(p, &r); err != nil {
		return r, err
	}
	if strings.TrimSpace(r.StatusCd) == "" {
		return r, errors.New("no StatusCd in answer")
	}
	if r.StatusCd == "000" && (r.RefundRef == "" || r.Status == "") {
		return r, errors.New("accepted refund without RefundRef or Status")
	}
	if r.Amount != "" {
		if _, err := providers.ParseAmount(r.Amount); err != nil {
			return r, fmt.Errorf("Amount %q: %w", r.Amount, err)
		}
	}
	return r, nil
}

// RefundStatus asks about a refund by RefundRef or, when that is empty, by
// the credit's TxnRef. A read; retried.
func (c *Client) RefundStatus(ctx context.Context, refundRef, txnRef string) (RefundInfo, error) {
	return c.refundStatus(ctx, refundStatusRequest{ClientCode: c.cfg.ClientCode, RefundRef: refundRef, TxnRef: txnRef})
}

// RefundStatusByID asks about a refund by the client's own RefundId: how a
// refund whose answer was lost is found. A read; retried.
func (c *Client) RefundStatusByID(ctx context.Context, id string) (RefundInfo, error) {
	return c.refundStatus(ctx, refundStatusRequest{ClientCode: c.cfg.ClientCode, RefundID: id})
}

func (c *Client) refundStatus(ctx context.Context, req refundStatusRequest) (RefundInfo, error) {
	var resp refundStatusResponse
	err := c.call(ctx, "RefundStatus", PathRefundStatus, true, req,
		func(p []byte) (err error) { resp, err = decodeRefundStatusResponse(p); return err })
	if err != nil {
		return RefundInfo{}, err
	}
	if err := codeError("RefundStatus", resp.StatusCd, resp.StatusRem); err != nil {
		return RefundInfo{}, err
	}
	amt, _ := providers.ParseAmount(resp.Amount)
	at, _ := time.Parse(time.RFC3339, resp.UpdatedAt)
	return RefundInfo{
		RefundRef: resp.RefundRef, ID: resp.RefundID, TxnRef: resp.TxnRef, AmountPaise: amt, Status: resp.Status,
		StatusDesc: resp.StatusDesc, UTR: resp.UTR, UpdatedAt: at,
	}, nil
}

func decodeRefundStatusResponse(p []byte) (refundStatusResponse, error) {
	var r refundStatusResponse
	if err := json.Unmarshal(p, &r); err != nil {
		return r, err
	}
	if strings.TrimSpace(r.StatusCd) == "" {
		return r, errors.New("no StatusCd in answer")
	}
	if r.StatusCd == "000" {
		if _, ok := RefundState(r.Status); !ok {
			return r, fmt.Errorf("unknown refund Status %q", r.Status)
		}
		if _, err := providers.ParseAmount(r.Amount); err != nil {
			return r, fmt.Errorf("Amount %q: %w", r.Amount, err)
		}
	}
	return r, nil
}
