package db

import (
	"strings"
	"unicode/utf8"

	"paydesk/providers"
)

// Collection request field rules. They mirror PayMate's RequestPayment and
// RequestPaymentByXpressID limits (providers/paymate/sandbox_rules.go,
// rulesRequestPayment and rulesRequestByXpressID), so the form refuses what
// PayMate would refuse, with a message per form field, instead of the
// request failing in the background a minute later.

// CollectionInput is the request-a-payment form as typed. Either ContactID
// names a contact registered at PayMate (Name, Email and Mobile are then
// ignored: PayMate uses what it holds for the contact), or Name, Email and
// Mobile describe someone who is not registered.
type CollectionInput struct {
	ContactID string
	Name      string
	Email     string
	Mobile    string
	Amount    string // rupees as typed: "50,000.00"
	Purpose   string // PayMate's Remarks; the payer sees it
}

// collectionDraft is a validated CollectionInput. For a contact, the payer
// fields are filled in from the contact inside the creating transaction.
type collectionDraft struct {
	ContactID   string
	Name        string
	Email       string
	Mobile      string
	AmountPaise int64
	Purpose     string
}

// Limits of a collection request, PayMate's.
const (
	// MaxCollectionPaise: PayMate's Amount is decimal(9,2).
	MaxCollectionPaise int64 = 99_99_999_99 // ₹99,99,999.99
	// maxPayerNameLen is RequestPayment's CompanyName.
	maxPayerNameLen = 60
	// maxSenderNameLen is RequestPayment's SenderName, which the PayMate
	// adapter fills with the first 30 characters of the payer's name.
	maxSenderNameLen = 30
	// maxCollectionPurposeLen is PayMate's Remarks.
	maxCollectionPurposeLen = 200
)

// payerNameRune: the payer's name goes to PayMate both as CompanyName
// (letters, digits, spaces and , . @ ! ' -) and as SenderName (letters,
// digits, spaces and . ' -); only what both accept is allowed.
func payerNameRune(r rune) bool { return ctLetter(r) || ctDigit(r) || strings.ContainsRune(" .'-", r) }

// collectionRemarksRune: PayMate's free text, printable ASCII without the
// characters that break markup or JSON.
func collectionRemarksRune(r rune) bool {
	return r >= 0x20 && r <= 0x7e && !strings.ContainsRune("<>\"\\`{}|^~", r)
}

// validateCollection checks in without the database and returns the draft
// and the messages by form field (contact_id, name, email, mobile, amount,
// purpose). Whether the contact exists and is registered at PayMate is
// checked by Create, inside its transaction.
func validateCollection(in CollectionInput) (collectionDraft, fieldErrors) {
	f := fieldErrors{}
	d := collectionDraft{ContactID: strings.TrimSpace(in.ContactID)}

	if d.ContactID == "" {
		d.Name = strings.Join(strings.Fields(in.Name), " ")
		d.Email = strings.TrimSpace(in.Email)
		d.Mobile = providers.NormalizeMobile(in.Mobile)
		switch n := utf8.RuneCountInString(d.Name); {
		case n == 0:
			f.add("name", "Enter the payer's name, or choose a contact.")
		case n > maxPayerNameLen:
			f.add("name", "The payer's name can be at most 60 characters.")
		case !ctAllOf(d.Name, payerNameRune) || strings.IndexFunc(d.Name, ctLetter) < 0:
			f.add("name", "The payer's name may hold letters, digits, spaces and . ' - only, with at least one letter.")
		case strings.IndexFunc(string([]rune(d.Name)[:min(n, maxSenderNameLen)]), ctLetter) < 0:
			// PayMate shows the first 30 characters as the sender's name,
			// which must hold a letter.
			f.add("name", "The first 30 characters of the name must include a letter.")
		}
		switch {
		case d.Email == "":
			f.add("email", "Enter the payer's email address; PayMate sends the request there.")
		case len(d.Email) > maxEmail || !ctEmail(d.Email):
			f.add("email", "Enter a valid email address, like accounts@example.com (at most 200 characters).")
		}
		switch {
		case d.Mobile == "":
			f.add("mobile", "Enter the payer's mobile number; PayMate sends the request there too.")
		case !ctMobile(d.Mobile):
			f.add("mobile", "Enter a 10-digit Indian mobile number starting with 6, 7, 8 or 9.")
		}
	}

	amount, msg := parseRupees(in.Amount)
	switch {
	case msg != "":
		f.add("amount", msg)
	case amount > MaxCollectionPaise:
		f.add("amount", "PayMate requests at most "+rupees(MaxCollectionPaise)+" at a time.")
	default:
		d.AmountPaise = amount
	}

	d.Purpose = strings.TrimSpace(in.Purpose)
	switch {
	case utf8.RuneCountInString(d.Purpose) > maxCollectionPurposeLen:
		f.add("purpose", "The purpose can be at most 200 characters.")
	case d.Purpose != "" && !ctAllOf(d.Purpose, collectionRemarksRune):
		f.add("purpose", "The purpose may hold letters, digits, spaces and punctuation, but not < > \" \\ ` { } | ^ ~ or characters outside English.")
	}
	return d, f
}
