package service

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // IANA names resolve even on a base image without zoneinfo

	"github.com/google/uuid"
)

// Money is an amount in hundredths of its currency's unit. Amounts travel
// as decimal strings and are compared as integers: never as floats.
type Money int64

var amountPattern = regexp.MustCompile(`^[0-9]{1,10}(\.[0-9]{1,2})?$`)

// ParseMoney reads an amount of the API ("15000", "15000.5", "15000.50")
// or of the database (numeric(12,2) as text).
func ParseMoney(s string) (Money, error) {
	if !amountPattern.MatchString(s) {
		return 0, fmt.Errorf("not an amount: %q", s)
	}
	whole, frac, _ := strings.Cut(s, ".")
	for len(frac) < 2 {
		frac += "0"
	}
	units, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, err
	}
	cents, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, err
	}
	return Money(units*100 + cents), nil
}

// mustMoney reads an amount the database gave back.
func mustMoney(s string) Money {
	m, err := ParseMoney(s)
	if err != nil {
		panic(fmt.Sprintf("database amount %q: %v", s, err))
	}
	return m
}

// String renders the amount with two decimals.
func (m Money) String() string {
	return fmt.Sprintf("%d.%02d", int64(m)/100, int64(m)%100)
}

// parseInstant reads an RFC 3339 instant, which must carry its offset
// ("Z" or "+02:00"): a naive local time names no instant.
func parseInstant(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC().Truncate(time.Microsecond), true
}

// ParseInstantParam reads an instant given as a query parameter.
func ParseInstantParam(name, s string) (*time.Time, error) {
	t, ok := parseInstant(s)
	if !ok {
		return nil, InvalidField(name, instantMessage)
	}
	return &t, nil
}

const instantMessage = "must be an RFC 3339 instant with an offset, such as 2027-06-04T11:00:00Z"

// instantOf reads an input instant that passed validation.
func instantOf(s string) time.Time {
	t, _ := parseInstant(s)
	return t
}

// formatInstant is how instants appear in the audit trail.
func formatInstant(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

var phonePattern = regexp.MustCompile(`^[0-9 +\-().]{6,30}$`)

// validPhone allows 6 to 30 characters of digits, spaces and +-(). and
// wants at least one digit.
func validPhone(s string) bool {
	return phonePattern.MatchString(s) && strings.ContainsAny(s, "0123456789")
}

// validTimezone accepts IANA zone names (not "Local", which means whatever
// the server's is).
func validTimezone(s string) bool {
	if s == "" || s == "Local" || strings.HasPrefix(s, "/") {
		return false
	}
	_, err := time.LoadLocation(s)
	return err == nil
}

// DefaultTimezone is the zone of an event created without one.
const DefaultTimezone = "Europe/Paris"

// DefaultCurrency is the currency of a contract created without one.
const DefaultCurrency = "EUR"

// currencies are the active ISO 4217 codes.
var currencies = func() map[string]bool {
	set := map[string]bool{}
	for _, c := range strings.Fields(`
		AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV
		BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE
		CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD
		HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD
		KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV
		MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB
		RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT
		TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF
		XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS XUA XXX YER ZAR ZMW
		ZWG ZWL`) {
		set[c] = true
	}
	return set
}()

// parseID reads a path id; anything but a UUID names no record.
func parseID(id string) (uuid.UUID, bool) {
	u, err := uuid.Parse(id)
	if err != nil || len(id) != 36 {
		return uuid.Nil, false
	}
	return u, true
}

// uuidOf reads a body id that passed validation.
func uuidOf(s string) uuid.UUID { return uuid.MustParse(s) }
