package service

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // IANA names resolve even on a base image without zoneinfo
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// The parsers below turn one raw field of a request into its typed value,
// or say in words what is wrong with it. The HTTP layer calls them once per
// field, collects every message, and hands the services typed inputs only:
// nothing after that checks a string again.

// valueError is what a parser says about a bad value, for the caller.
type valueError string

func (e valueError) Error() string { return string(e) }

// Money is an amount in hundredths of its currency's unit. Amounts travel
// as decimal strings and are compared as integers: never as floats.
type Money int64

var amountPattern = regexp.MustCompile(`^[0-9]{1,10}(\.[0-9]{1,2})?$`)

const amountMessage = `must be a decimal string of at most 10 digits and 2 decimals, such as "15000.00"`

// ParseMoney reads an amount of the API ("15000", "15000.5", "15000.50")
// or of the database (numeric(12,2) as text).
func ParseMoney(s string) (Money, error) {
	if !amountPattern.MatchString(s) {
		return 0, valueError(amountMessage)
	}
	whole, frac, _ := strings.Cut(s, ".")
	for len(frac) < 2 {
		frac += "0"
	}
	// At most 10 and 2 digits: neither can overflow.
	units, _ := strconv.ParseInt(whole, 10, 64)
	cents, _ := strconv.ParseInt(frac, 10, 64)
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

// instantPattern is RFC 3339's date-time, strictly: a T (or t), seconds,
// at most nine fraction digits, and a Z or a numeric offset.
var instantPattern = regexp.MustCompile(
	`^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?([Zz]|[+-]([0-9]{2}):([0-9]{2}))$`)

const instantMessage = "must be an RFC 3339 instant with an offset, such as 2027-06-04T11:00:00Z, in years 0001 to 9999"

var (
	minInstant = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxInstant = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// ParseInstant reads an instant the API takes. It must carry an offset (a
// naive local time names no instant) of at most ±23:59; it is truncated to
// microseconds, what PostgreSQL keeps, and must then fall in years 0001 to
// 9999 in UTC, so that whatever is stored can always be written back out
// as RFC 3339.
func ParseInstant(s string) (time.Time, error) {
	m := instantPattern.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, valueError(instantMessage)
	}
	if m[9] != "" {
		hours, _ := strconv.Atoi(m[9])
		minutes, _ := strconv.Atoi(m[10])
		if hours > 23 || minutes > 59 {
			return time.Time{}, valueError(instantMessage)
		}
	}
	// Go's parser checks the calendar (month lengths, leap years, hours).
	t, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
	if err != nil {
		return time.Time{}, valueError(instantMessage)
	}
	t = t.UTC().Truncate(time.Microsecond)
	if t.Before(minInstant) || t.After(maxInstant) {
		return time.Time{}, valueError(instantMessage)
	}
	return t, nil
}

// formatInstant is how instants appear in the audit trail.
func formatInstant(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// ParseID reads an id given in a body or a filter.
func ParseID(s string) (uuid.UUID, error) {
	if len(s) != 36 {
		return uuid.Nil, valueError("must be a UUID")
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, valueError("must be a UUID")
	}
	return u, nil
}

// PathID reads the id of a path. Anything but a UUID names no record, which
// the service answers with 404 in its turn (after any 422 of the body), so
// it becomes the nil UUID that no record has.
func PathID(s string) uuid.UUID {
	u, err := ParseID(s)
	if err != nil {
		return uuid.Nil
	}
	return u
}

// controlProblem refuses control characters (Unicode category Cc, NUL
// included); multiline text may hold tabs and line breaks.
func controlProblem(s string, multiline bool) error {
	for _, r := range s {
		if unicode.Is(unicode.Cc, r) && !(multiline && (r == '\t' || r == '\n' || r == '\r')) {
			if multiline {
				return valueError("must not hold control characters other than tab, CR and LF")
			}
			return valueError("must not hold control characters")
		}
	}
	return nil
}

// Text reads a one-line string of min to max characters (code points);
// with min > 0 it must hold more than white space.
func Text(min, max int) func(string) (string, error) {
	return func(s string) (string, error) { return text(s, min, max, false) }
}

// MultilineText is like Text and allows tabs and line breaks.
func MultilineText(max int) func(string) (string, error) {
	return func(s string) (string, error) { return text(s, 0, max, true) }
}

func text(s string, min, max int, multiline bool) (string, error) {
	if err := controlProblem(s, multiline); err != nil {
		return "", err
	}
	n := utf8.RuneCountInString(s)
	switch {
	case min > 0 && strings.TrimSpace(s) == "":
		return "", valueError("is required")
	case n < min:
		return "", valueError(fmt.Sprintf("must be at least %d characters", min))
	case n > max:
		return "", valueError(fmt.Sprintf("must be at most %d characters", max))
	}
	return s, nil
}

// ParsePersonName reads a first or last name: 1 to 100 Unicode letters,
// spaces, hyphens and apostrophes.
func ParsePersonName(s string) (string, error) {
	if _, err := text(s, 1, 100, false); err != nil {
		return "", err
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.Is(unicode.Mn, r) && r != ' ' && r != '-' && r != '\'' && r != '’' {
			return "", valueError("may hold only letters, spaces, hyphens and apostrophes")
		}
	}
	return s, nil
}

// ParseEmail reads an email address of at most 254 characters.
func ParseEmail(s string) (string, error) {
	if err := controlProblem(s, false); err != nil {
		return "", err
	}
	switch {
	case s == "":
		return "", valueError("is required")
	case utf8.RuneCountInString(s) > 254:
		return "", valueError("must be at most 254 characters")
	case validate.Var(s, "email") != nil:
		return "", valueError("must be an email address")
	}
	return s, nil
}

var phonePattern = regexp.MustCompile(`^[0-9 +\-().]{6,30}$`)

// ParsePhone allows 6 to 30 characters of digits, spaces and +-(). and
// wants at least one digit.
func ParsePhone(s string) (string, error) {
	if !phonePattern.MatchString(s) || !strings.ContainsAny(s, "0123456789") {
		return "", valueError("must be 6 to 30 characters of digits, spaces and +-(). with at least one digit")
	}
	return s, nil
}

var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,50}$`)

// ParseUsername reads a username: 3 to 50 of [A-Za-z0-9_.-].
func ParseUsername(s string) (string, error) {
	if !usernamePattern.MatchString(s) {
		return "", valueError("must be 3 to 50 characters of letters, digits, '_', '.' and '-'")
	}
	return s, nil
}

// ParseNewPassword applies the password policy (bytes, not characters).
func ParseNewPassword(s string) (string, error) {
	if err := controlProblem(s, false); err != nil {
		return "", err
	}
	if problem := passwordProblem(s); problem != "" {
		return "", valueError(problem)
	}
	return s, nil
}

// ParseSecret reads a credential a caller presents (a password to check, a
// refresh token): any non-empty text without control characters.
func ParseSecret(s string) (string, error) {
	if s == "" {
		return "", valueError("is required")
	}
	if err := controlProblem(s, false); err != nil {
		return "", err
	}
	return s, nil
}

// ParseTimezone accepts IANA zone names (not "Local", which means whatever
// the server's is).
func ParseTimezone(s string) (string, error) {
	if s == "" || s == "Local" || strings.HasPrefix(s, "/") || controlProblem(s, false) != nil {
		return "", valueError("must be an IANA time zone name, such as Europe/Paris")
	}
	if _, err := time.LoadLocation(s); err != nil {
		return "", valueError("must be an IANA time zone name, such as Europe/Paris")
	}
	return s, nil
}

// DefaultTimezone is the zone of an event created without one.
const DefaultTimezone = "Europe/Paris"

// DefaultCurrency is the currency of a contract created without one.
const DefaultCurrency = "EUR"

// ParseCurrency accepts the active ISO 4217 codes.
func ParseCurrency(s string) (string, error) {
	if !currencies[s] {
		return "", valueError("must be an ISO 4217 currency code, such as EUR")
	}
	return s, nil
}

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

// Department is one of the three departments, which are also the roles.
type Department string

// The departments.
const (
	DepartmentCommercial Department = "commercial"
	DepartmentSupport    Department = "support"
	DepartmentManagement Department = "management"
)

// ParseDepartment reads a department name.
func ParseDepartment(s string) (Department, error) {
	switch d := Department(s); d {
	case DepartmentCommercial, DepartmentSupport, DepartmentManagement:
		return d, nil
	}
	return "", valueError("must be one of commercial, support, management")
}

// Strings gives typed names (permissions, change types) as plain strings,
// for the database and for JSON; never nil, so that it stores as an empty
// array rather than NULL.
func Strings[T ~string](names []T) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = string(n)
	}
	return out
}
