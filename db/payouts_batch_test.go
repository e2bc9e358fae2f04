package db

import (
	"context"
	"strings"
	"testing"

	"paydesk/providers"
)

// TestSubmitBatchOnce: the same preview token submitted twice (a double
// click, a second tab) makes one batch; another maker cannot reuse it.
func TestSubmitBatchOnce(t *testing.T) {
	d, _ := newTestDB(t)
	p, _ := newTestPayouts(t, d)
	ctx := context.Background()
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	maker2 := mustCreateUser(t, d, "maker2", RoleMaker)
	rows := []PayoutInput{goodInput(), goodInput()}
	rows[1].AccountNo = "50100087654321"
	first, already, err := p.SubmitBatch(ctx, maker, "tok-1", rows)
	if err != nil || already {
		t.Fatalf("first = %+v, %v, %v", first, already, err)
	}
	again, already, err := p.SubmitBatch(ctx, maker, "tok-1", rows)
	if err != nil || !already || again.ID != first.ID || again.Count != 2 {
		t.Fatalf("second = %+v, %v, %v", again, already, err)
	}
	if _, _, err := p.SubmitBatch(ctx, maker2, "tok-1", rows); ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("another maker with the token: %v", err)
	}
	if _, _, err := p.SubmitBatch(ctx, maker, "", rows); ErrorCode(err) != EINVALID {
		t.Fatalf("no token: %v", err)
	}
	list, _, _ := p.List(ctx, PayoutFilter{})
	if len(list) != 2 {
		t.Fatalf("%d payouts, want 2", len(list))
	}
	verifyAudit(t, d)
}

// TestBatchContactReference: a row naming a contact by reference pays the
// contact's approved details; a row giving both a contact and bank details
// is refused, as is an unknown reference.
func TestBatchContactReference(t *testing.T) {
	d, _ := newTestDB(t)
	p, a := newTestPayouts(t, d)
	ctx := context.Background()
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	checker := mustCreateUser(t, d, "checker", RoleChecker)
	c := NewContacts(d, a)
	ct, req, err := c.Create(ctx, maker, ContactInput{Kind: ContactVendor, CompanyName: "Kaveri Steel", FirstName: "Asha", LastName: "Rao", ReferenceCode: "KAV42",
		Email: "accounts@kaveri.example", Mobile: "9876543210", AccountNo: "50100234567890", IFSC: "HDFC0001234"})
	if err != nil || req == nil {
		t.Fatalf("create contact: %v, %v", req, err)
	}
	if _, err := a.Approve(ctx, checker, req.ID); err != nil {
		t.Fatal(err)
	}
	today := d.Now()
	row := PayoutInput{ContactRef: "kav42", Amount: "12,500", Rail: "NEFT", Source: SourcePayMate, Purpose: "Invoice 9"}
	dr, fields, err := p.CheckRow(ctx, row, today)
	if err != nil || fields != nil || dr.ContactID != ct.ID || dr.AccountNo != "50100234567890" || dr.BeneficiaryName != "Kaveri Steel" {
		t.Fatalf("contact row = %+v, %v, %v", dr, fields, err)
	}
	both := row
	both.AccountNo, both.IFSC = "99990000111", "ICIC0000001"
	if _, fields, _ := p.CheckRow(ctx, both, today); fields["contact_reference"] == "" {
		t.Fatalf("contact and bank details: %v", fields)
	}
	unknown := row
	unknown.ContactRef = "NOPE1"
	if _, fields, _ := p.CheckRow(ctx, unknown, today); !strings.Contains(fields["contact_reference"], "No contact") {
		t.Fatalf("unknown reference: %v", fields)
	}
	if _, _, err := p.SubmitBatch(ctx, maker, "tok", []PayoutInput{goodInput(), both}); FieldErrors(err)["rows.1.contact_reference"] == "" {
		t.Fatalf("batch with a bad row: %v", err)
	}
	b, _, err := p.SubmitBatch(ctx, maker, "tok", []PayoutInput{goodInput(), row})
	if err != nil {
		t.Fatal(err)
	}
	po, _, _ := p.Get(ctx, b.PayoutIDs[1])
	if po.ContactID != ct.ID || po.AccountNo != "50100234567890" || len(po.ID) > providers.MaxContactPayoutIDLen {
		t.Fatalf("payout = %+v", po)
	}
	verifyAudit(t, d)
}
