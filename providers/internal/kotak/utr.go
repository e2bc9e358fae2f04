package kotak

import (
	"fmt"
	"time"
)

// IST is Indian Standard Time. A fixed zone, so nothing depends on the host's
// time zone database.
var IST = time.FixedZone("IST", 5*3600+1800)

// BankCode is the four-letter IFSC bank code Kotak's UTRs start with.
const BankCode = "KKBK"

// UTR builds a synthetic but well-formed UTR for a payment on rail sent at t,
// seq making it unique:
//
//	NEFT  16 chars  KKBKN YY DDD nnnnnn      (bank, N, year, day of year, sequence)
//	RTGS  22 chars  KKBKRC YYYYMMDD nnnnnnnn (the RBI format XXXXRCYYYYMMDD########)
//	IMPS  12 digits Y DDD HH nnnnnn          (an RRN, as IMPS and UPI use)
//	IFT   16 chars  KKBKI YY DDD nnnnnn      (intra-bank transfer reference)
func UTR(rail string, t time.Time, seq uint64) string {
	return UTRFrom(BankCode, rail, t, seq)
}

// UTRFrom is UTR for a payment sent by another bank (bank is its four-letter
// IFSC code), as incoming credits carry the remitter bank's UTR.
func UTRFrom(bank, rail string, t time.Time, seq uint64) string {
	t = t.In(IST)
	if len(bank) != 4 {
		bank = BankCode
	}
	switch rail {
	case "RTGS":
		return fmt.Sprintf("%sRC%s%08d", bank, t.Format("20060102"), seq%100000000)
	case "IMPS", "UPI":
		return fmt.Sprintf("%d%03d%02d%06d", t.Year()%10, t.YearDay(), t.Hour(), seq%1000000)
	case "IFT":
		return fmt.Sprintf("%sI%02d%03d%06d", bank, t.Year()%100, t.YearDay(), seq%1000000)
	default: // NEFT
		return fmt.Sprintf("%sN%02d%03d%06d", bank, t.Year()%100, t.YearDay(), seq%1000000)
	}
}
