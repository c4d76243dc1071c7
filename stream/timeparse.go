package stream

import "time"

// parseRFC3339UTC parses "2006-01-02T15:04:05[.fffffffff]Z" — the form
// Defender writes, with 0–9 fractional digits — by hand, with exactly the
// validation time.Parse(time.RFC3339Nano, …) applies to that form. Any
// other form (an offset, more than 9 digits, a lower-case "z") gives false
// and goes to parseTimeSlow.
func parseRFC3339UTC(s []byte) (time.Time, bool) {
	if len(s) < len("2006-01-02T15:04:05Z") || len(s) > len("2006-01-02T15:04:05.999999999Z") ||
		s[len(s)-1] != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	// Digits as 0–9; a non-digit shows as a value above 9.
	y0, y1, y2, y3 := uint(s[0]-'0'), uint(s[1]-'0'), uint(s[2]-'0'), uint(s[3]-'0')
	m0, m1, d0, d1 := uint(s[5]-'0'), uint(s[6]-'0'), uint(s[8]-'0'), uint(s[9]-'0')
	h0, h1, n0, n1 := uint(s[11]-'0'), uint(s[12]-'0'), uint(s[14]-'0'), uint(s[15]-'0')
	s0, s1 := uint(s[17]-'0'), uint(s[18]-'0')
	if y0|y1|y2|y3|m0|m1|d0|d1|h0|h1|n0|n1|s0|s1 > 9 && (y0 > 9 || y1 > 9 || y2 > 9 || y3 > 9 || m0 > 9 || m1 > 9 ||
		d0 > 9 || d1 > 9 || h0 > 9 || h1 > 9 || n0 > 9 || n1 > 9 || s0 > 9 || s1 > 9) {
		return time.Time{}, false
	}
	year := int(y0*1000 + y1*100 + y2*10 + y3)
	month, day := int(m0*10+m1), int(d0*10+d1)
	hour, minute, sec := int(h0*10+h1), int(n0*10+n1), int(s0*10+s1)
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if frac := s[19 : len(s)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 {
			return time.Time{}, false
		}
		scale := 100000000
		for _, c := range frac[1:] {
			if c-'0' > 9 {
				return time.Time{}, false
			}
			nsec += int(c-'0') * scale
			scale /= 10
		}
	}
	unix := daysSinceEpoch(year, month, day)*86400 + int64(hour*3600+minute*60+sec)
	return time.Unix(unix, int64(nsec)).UTC(), true
}

// digits parses a run of ASCII decimal digits.
func digits(s []byte) (int, bool) {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func isLeap(year int) bool { return year%4 == 0 && (year%100 != 0 || year%400 == 0) }

func daysIn(month, year int) int {
	switch month {
	case 2:
		if isLeap(year) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysSinceEpoch is days from 1970-01-01 to the proleptic Gregorian date
// (Howard Hinnant's days_from_civil), for years 0–9999.
func daysSinceEpoch(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := m + 9
	if m > 2 {
		mp = m - 3
	}
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// slowLayouts are the forms accepted besides Defender's own, tried in
// order: RFC 3339 with any offset or precision, the same without a zone or
// with a space for "T" (UTC assumed), and the portal's display form used by
// some CSV exports ("11/26/2026, 9:13:58.120 AM", UTC assumed).
var slowLayouts = [...]string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"1/2/2006, 3:04:05.999999999 PM",
	"1/2/2006 3:04:05.999999999 PM",
}

// parseTimeSlow tries slowLayouts with time.Parse. The result is UTC.
func parseTimeSlow(s string) (time.Time, bool) {
	if len(s) < len("2006-01-02 3:04:05") { // the shortest form any layout accepts
		return time.Time{}, false
	}
	for _, layout := range slowLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
