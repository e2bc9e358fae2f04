package db

import (
	"strings"
	"unicode/utf8"

	"paydesk/providers"
)

// Contact field rules. They mirror PayMate's AddContact limits (see
// providers/paymate/sandbox_rules.go, rulesAddContact) exactly, so that the
// form refuses what PayMate would refuse when the contact is synced, with a
// message per form field instead of a PayMate error code days later.

// ContactKind is what a contact is to us.
type ContactKind string

// Contact kinds.
const (
	ContactVendor   ContactKind = "vendor"   // we pay them
	ContactCustomer ContactKind = "customer" // they pay us
)

// ContactInput is the contact form. Bank details (AccountNo, IFSC) never
// take effect directly: they become a 'contact_bank' approval request.
type ContactInput struct {
	Kind        ContactKind
	CompanyName string
	FirstName   string
	LastName    string
	Email       string
	Mobile      string
	GSTIN       string
	// ReferenceCode is the contact's code at PayMate (letters and digits,
	// at most 20), unique without case. Empty: the contact's id. It is set
	// when the contact is made and never changed after: it is how the sync
	// finds the contact at PayMate.
	ReferenceCode string
	AccountNo     string
	IFSC          string
	// AllowOldWhilePending lets payouts keep using the approved bank details
	// while a change of them waits for approval. Off: payouts are held.
	AllowOldWhilePending bool
}

// Field limits, PayMate's.
const (
	maxCompanyName   = 60
	maxPersonName    = 30
	maxEmail         = 200
	maxReferenceCode = 20
	maxAccountNo     = 30
)

func ctAllOf(s string, ok func(r rune) bool) bool {
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

func ctLetter(r rune) bool { return (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') }
func ctDigit(r rune) bool  { return r >= '0' && r <= '9' }

func ctAlnum(s string) bool {
	return ctAllOf(s, func(r rune) bool { return ctLetter(r) || ctDigit(r) })
}

// ctCompany: letters, digits, spaces and , . @ ! ' - with at least one
// letter or digit.
func ctCompany(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return ctLetter(r) || ctDigit(r) }) >= 0 &&
		ctAllOf(s, func(r rune) bool { return ctLetter(r) || ctDigit(r) || strings.ContainsRune(" ,.@!'-", r) })
}

// ctPersonName: letters and spaces, at least one letter.
func ctPersonName(s string) bool {
	return strings.IndexFunc(s, ctLetter) >= 0 && ctAllOf(s, func(r rune) bool { return ctLetter(r) || r == ' ' })
}

func ctEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return false
	}
	if !ctAllOf(local, func(r rune) bool { return ctLetter(r) || ctDigit(r) || strings.ContainsRune("._%+-", r) }) {
		return false
	}
	if !ctAllOf(domain, func(r rune) bool { return ctLetter(r) || ctDigit(r) || r == '.' || r == '-' }) {
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

// ctMobile: an Indian mobile number, ten digits starting 6–9.
func ctMobile(s string) bool { return len(s) == 10 && ctAllOf(s, ctDigit) && s[0] >= '6' }

// validReferenceCode reports whether s is a ReferenceCode PayMate accepts.
func validReferenceCode(s string) bool { return len(s) <= maxReferenceCode && ctAlnum(s) }

// normalizeContact trims every field and upper-cases IFSC and GSTIN (PayMate
// stores them upper-cased).
func normalizeContact(in ContactInput) ContactInput {
	in.Kind = ContactKind(strings.ToLower(strings.TrimSpace(string(in.Kind))))
	in.CompanyName = strings.TrimSpace(in.CompanyName)
	in.FirstName = strings.TrimSpace(in.FirstName)
	in.LastName = strings.TrimSpace(in.LastName)
	in.Email = strings.TrimSpace(in.Email)
	in.Mobile = strings.TrimSpace(in.Mobile)
	in.GSTIN = strings.ToUpper(strings.TrimSpace(in.GSTIN))
	in.ReferenceCode = strings.TrimSpace(in.ReferenceCode)
	in.AccountNo = strings.TrimSpace(in.AccountNo)
	in.IFSC = strings.ToUpper(strings.TrimSpace(in.IFSC))
	return in
}

// ValidateContact normalizes in and checks it against PayMate's AddContact
// rules. It returns the normalized input and the messages by form field
// (kind, company_name, first_name, last_name, email, mobile, gstin,
// reference_code, account_no, ifsc), nil when all is well.
func ValidateContact(in ContactInput) (ContactInput, map[string]string) {
	in = normalizeContact(in)
	f := fieldErrors{}
	if in.Kind != ContactVendor && in.Kind != ContactCustomer {
		f.add("kind", "Choose vendor (we pay them) or customer (they pay us).")
	}
	switch n := utf8.RuneCountInString(in.CompanyName); {
	case n == 0:
		f.add("company_name", "Enter the company name.")
	case n > maxCompanyName:
		f.add("company_name", "The company name can be at most 60 characters.")
	case !ctCompany(in.CompanyName):
		f.add("company_name", "The company name may hold letters, digits, spaces and , . @ ! ' - only.")
	}
	for _, p := range []struct{ field, label, v string }{
		{"first_name", "first name", in.FirstName}, {"last_name", "last name", in.LastName},
	} {
		switch n := utf8.RuneCountInString(p.v); {
		case n == 0:
			f.add(p.field, "Enter the contact person's "+p.label+".")
		case n > maxPersonName:
			f.add(p.field, "The "+p.label+" can be at most 30 characters.")
		case !ctPersonName(p.v):
			f.add(p.field, "The "+p.label+" may hold letters and spaces only.")
		}
	}
	switch {
	case in.Email == "":
		f.add("email", "Enter an email address.")
	case len(in.Email) > maxEmail || !ctEmail(in.Email):
		f.add("email", "Enter a valid email address, like accounts@example.com (at most 200 characters).")
	}
	if in.Mobile != "" && !ctMobile(in.Mobile) {
		f.add("mobile", "Enter a 10-digit Indian mobile number starting with 6, 7, 8 or 9, without +91 or spaces.")
	}
	if in.GSTIN != "" && !providers.IsGSTIN(in.GSTIN) {
		f.add("gstin", "Enter a valid 15-character GSTIN, like 27ABCDE1234F1Z5.")
	}
	if in.ReferenceCode != "" && !validReferenceCode(in.ReferenceCode) {
		f.add("reference_code", "The reference code can be at most 20 letters and digits, without spaces.")
	}
	if in.AccountNo != "" {
		switch {
		case len(in.AccountNo) > maxAccountNo:
			f.add("account_no", "The account number can be at most 30 characters.")
		case !ctAlnum(in.AccountNo):
			f.add("account_no", "The account number may hold letters and digits only, without spaces.")
		}
	}
	if in.IFSC != "" && !providers.IsIFSC(in.IFSC) {
		f.add("ifsc", "Enter an 11-character IFSC: four letters, a zero, then six letters or digits (like HDFC0001234).")
	}
	switch {
	case in.AccountNo != "" && in.IFSC == "":
		f.add("ifsc", "Enter the IFSC of the account.")
	case in.IFSC != "" && in.AccountNo == "":
		f.add("account_no", "Enter the account number for this IFSC.")
	case in.Kind == ContactVendor && in.AccountNo == "" && in.IFSC == "":
		f.add("account_no", "A vendor needs bank details: enter the account number and IFSC.")
	}
	if len(f) == 0 {
		return in, nil
	}
	return in, f
}
