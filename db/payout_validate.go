package db

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"paydesk/providers"
)

// PayoutInput is a payout as a person typed it, in the form or in a row of a
// bulk CSV: every field is text, validated by ValidatePayout.
type PayoutInput struct {
	BeneficiaryName string
	AccountNo       string
	IFSC            string
	Amount          string // rupees as typed: "50,000.00"
	Rail            string // NEFT, RTGS or IMPS
	Source          string // kotakcms or paymate
	Purpose         string
	ValueDate       string // YYYY-MM-DD or empty
	// ContactID pays a contact at its approved bank details; AccountNo and
	// IFSC must then be empty (see Payouts.Propose).
	ContactID string
	// ContactRef names the contact by its reference code instead, as a bulk
	// upload's contact_reference column does (see Payouts.CheckRow).
	ContactRef string
}

// PayoutDraft is a validated PayoutInput, ready to be stored.
type PayoutDraft struct {
	BeneficiaryName string
	AccountNo       string
	IFSC            string
	AmountPaise     int64
	Rail            providers.Rail
	Source          string
	Purpose         string
	ValueDate       string // YYYY-MM-DD or ""
	// Set by Payouts, never by ValidatePayout.
	ContactID       string
	VendorRequestID int64
	ProviderOrderID string
}

// Payout sources: the providers a payout can be sent through.
const (
	SourceKotakCMS = "kotakcms"
	SourcePayMate  = "paymate"
)

// Limits of a payout. The rail limits are RBI's (RTGS from ₹2,00,000) and the
// IMPS cap banks apply (₹5,00,000). PayMate's amounts are decimal(9,2), so a
// PayMate payout is also capped at ₹99,99,999.99; the form says so rather
// than PayMate refusing it after approval.
const (
	MaxPayoutPaise        int64 = 99_99_99_999_99 // ₹99,99,99,999.99
	MaxPayMatePayoutPaise int64 = 99_99_999_99    // ₹99,99,999.99
	MinRTGSPaise          int64 = 2_00_000_00     // ₹2,00,000
	MaxIMPSPaise          int64 = 5_00_000_00     // ₹5,00,000
	MaxValueDateAhead           = 30              // days
	maxPurposeLen               = 60
	maxBeneficiaryNameLen       = 100
)

var (
	// Bank account numbers are 9 to 18 digits in practice; some banks use
	// letters, and Kotak's BeneAcctNo takes up to 20, so 6–20 letters and
	// digits are accepted.
	accountPattern = regexp.MustCompile(`^[A-Z0-9]{6,20}$`)
	// PayMate's BookPayment CompanyName is "Alphabet": a name with digits is
	// refused there (232), so Paydesk refuses it up front for every source.
	beneficiaryNamePattern = regexp.MustCompile(`^[A-Za-z .&'-]+$`)
)

// parseRupees reads an amount typed in rupees ("50,000.00", "1,00,000")
// exactly into paise. msg says what is wrong, "" when it is more than ₹0.
func parseRupees(text string) (paise int64, msg string) {
	text = strings.TrimSpace(text)
	amount, err := providers.ParseAmount(text)
	switch {
	case text == "":
		return 0, "Enter the amount in rupees."
	case err != nil:
		return 0, "Enter the amount in rupees, like 50000 or 50,000.00 (at most two decimals)."
	case amount <= 0:
		return 0, "The amount must be more than ₹0."
	}
	return amount, ""
}

// ValidatePayout checks in as of today (the date part, in today's location)
// and returns the draft, or the messages keyed by form field name
// (beneficiary_name, account_no, ifsc, amount, rail, source, purpose,
// value_date). It touches no database, so a bulk upload can check every row
// before anything is saved.
func ValidatePayout(in PayoutInput, today time.Time) (PayoutDraft, map[string]string) {
	f := fieldErrors{}
	var d PayoutDraft

	d.BeneficiaryName = strings.Join(strings.Fields(in.BeneficiaryName), " ")
	switch n := utf8.RuneCountInString(d.BeneficiaryName); {
	case n == 0:
		f.add("beneficiary_name", "Enter the beneficiary's name.")
	case n > maxBeneficiaryNameLen:
		f.add("beneficiary_name", fmt.Sprintf("At most %d characters.", maxBeneficiaryNameLen))
	case !beneficiaryNamePattern.MatchString(d.BeneficiaryName) || !strings.ContainsFunc(d.BeneficiaryName, unicode.IsLetter):
		f.add("beneficiary_name", "Use letters, spaces and . & ' - only (no digits: banks refuse them in names).")
	}

	d.AccountNo = strings.ToUpper(strings.TrimSpace(in.AccountNo))
	if !accountPattern.MatchString(d.AccountNo) {
		f.add("account_no", "Enter the account number: 6 to 20 letters or digits, no spaces.")
	}

	d.IFSC = strings.ToUpper(strings.TrimSpace(in.IFSC))
	if !providers.IsIFSC(d.IFSC) {
		f.add("ifsc", "Enter an 11-character IFSC: 4 letters, 0, then 6 letters or digits (HDFC0001234).")
	}

	d.Source = strings.ToLower(strings.TrimSpace(in.Source))
	if d.Source != SourceKotakCMS && d.Source != SourcePayMate {
		f.add("source", "Choose the account to pay from: kotakcms or paymate.")
	}

	d.Rail = providers.Rail(strings.ToUpper(strings.TrimSpace(in.Rail)))
	if d.Rail != providers.RailNEFT && d.Rail != providers.RailRTGS && d.Rail != providers.RailIMPS {
		f.add("rail", "Choose NEFT, RTGS or IMPS.")
		d.Rail = ""
	}

	amount, msg := parseRupees(in.Amount)
	switch {
	case msg != "":
		f.add("amount", msg)
	case amount > MaxPayoutPaise:
		f.add("amount", "At most "+rupees(MaxPayoutPaise)+".")
	case d.Source == SourcePayMate && amount > MaxPayMatePayoutPaise:
		f.add("amount", "PayMate pays at most "+rupees(MaxPayMatePayoutPaise)+" in one payout.")
	case d.Rail == providers.RailRTGS && amount < MinRTGSPaise:
		f.add("amount", "RTGS starts at "+rupees(MinRTGSPaise)+"; use NEFT or IMPS for less.")
	case d.Rail == providers.RailIMPS && amount > MaxIMPSPaise:
		f.add("amount", "IMPS carries at most "+rupees(MaxIMPSPaise)+"; use NEFT or RTGS.")
	default:
		d.AmountPaise = amount
	}

	d.Purpose = strings.TrimSpace(in.Purpose)
	switch {
	case utf8.RuneCountInString(d.Purpose) > maxPurposeLen:
		f.add("purpose", fmt.Sprintf("At most %d characters.", maxPurposeLen))
	case !utf8.ValidString(d.Purpose) || strings.ContainsFunc(d.Purpose, func(r rune) bool { return !unicode.IsPrint(r) }):
		f.add("purpose", "Use printable characters only.")
	}

	if v := strings.TrimSpace(in.ValueDate); v != "" {
		day, err := time.ParseInLocation("2006-01-02", v, today.Location())
		y, m, dd := today.Date()
		start := time.Date(y, m, dd, 0, 0, 0, 0, today.Location())
		switch {
		case err != nil:
			f.add("value_date", "Enter the date as YYYY-MM-DD, or leave it empty for today.")
		case day.Before(start):
			f.add("value_date", "The value date cannot be in the past.")
		case day.After(start.AddDate(0, 0, MaxValueDateAhead)):
			f.add("value_date", fmt.Sprintf("At most %d days ahead.", MaxValueDateAhead))
		default:
			d.ValueDate = day.Format("2006-01-02")
		}
	}

	if len(f) > 0 {
		return PayoutDraft{}, f
	}
	return d, nil
}
