package config

import (
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// coreFloat is a decimal number as YAML 1.2's core schema writes one
// (tag:yaml.org,2002:float, without .inf and .nan), the oracle of
// FuzzParseDecimal.
var coreFloat = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

// infinityOrNaNSpelling is how YAML (.inf, -.Inf, .NaN) and
// strconv.ParseFloat (Inf, +Infinity, nan) write infinity and NaN.
var infinityOrNaNSpelling = regexp.MustCompile(`(?i)^(?:[-+]?\.?(?:inf|infinity)|[-+]?\.?nan)$`)

// separatorsBetweenDigits reports whether every '_' of s stands between
// two ASCII digits, and returns s without them.
func separatorsBetweenDigits(s string) (string, bool) {
	digit := func(i int) bool { return i >= 0 && i < len(s) && '0' <= s[i] && s[i] <= '9' }
	for i := 0; i < len(s); i++ {
		if s[i] == '_' && !(digit(i-1) && digit(i+1)) {
			return "", false
		}
	}
	return strings.ReplaceAll(s, "_", ""), true
}

// FuzzParseDecimal checks parseDecimal (shrink_guard, feed_reload_cpu)
// against what configuration.md says of decimal numbers: s is taken
// exactly when its '_' stand between digits and, without them, it is a
// YAML core-schema decimal that a float64 holds without turning it into
// infinity or, from non-zero digits, into 0; the value is then
// strconv.ParseFloat's, a zero without its sign, and reads back the same
// from the form Redacted writes. A refusal is one of the documented
// messages, and the one that fits.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{
		"0.5", ".5", "+.5", "-.5", "5.", "1", "0", "-0", "-0.0e9", "05", "1e-3", "1E-3", "2.5e+0",
		"1e-300", "5e-324", "2e-324", "1.7976931348623157e308", "1.8e308", "1e400", "-1e400", "1e-400",
		"0e400", "0.000_1", "1_000.5", "1e1_0", "0x1p-1", "0X1P-1", "0x10", "0b1", "0o7", "0x_1p-1",
		"1e", "e3", ".", "", " 0.5", "0.5 ", "1.2.3", "50%", "1/2", "inf", "+Inf", "-Infinity", "NaN",
		".inf", "-.INF", ".nan", "_1", "1_", "1__0", "1_.5", "1._5", "1_e3", "0,5", "١",
		"1e99999999999999999999", "1e-99999999999999999999", "0.00000000000000000000000000001e-300",
	} {
		f.Add(s)
	}
	messages := map[string]bool{
		"is not a decimal number (like 0.5, .25 or 1e-3)":                               true,
		"is not a decimal number: infinity and NaN are not allowed":                     true,
		"is not a decimal number: '_' may only stand between two digits, as in 0.000_1": true,
		"is out of range": true,
		"is out of range: too close to 0, it would read as 0": true,
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseDecimal(s)

		plain, separated := separatorsBetweenDigits(s)
		decimal := separated && coreFloat.MatchString(plain)
		var want float64
		var why string // the refusal that fits, "" when s is to be taken
		switch {
		case !decimal && !separated && coreFloat.MatchString(strings.ReplaceAll(s, "_", "")):
			why = "is not a decimal number: '_' may only stand between two digits, as in 0.000_1"
		case !decimal:
			why = "is not a decimal number"
		default:
			var perr error
			want, perr = strconv.ParseFloat(plain, 64)
			mantissa, _, _ := strings.Cut(strings.ToLower(plain), "e")
			switch {
			case math.IsInf(want, 0):
				why = "is out of range"
			case want == 0 && strings.ContainsAny(mantissa, "123456789"):
				why = "is out of range: too close to 0, it would read as 0"
			case perr != nil:
				t.Fatalf("strconv.ParseFloat(%q) = %v for a core-schema decimal", plain, perr)
			}
		}

		if why == "" {
			if err != nil {
				t.Fatalf("parseDecimal(%q) = %v, want %v", s, err, want)
			}
			// -0 == 0: a zero is compared by its sign bit.
			if got != want || math.Signbit(got) && got == 0 {
				t.Fatalf("parseDecimal(%q) = %v (sign bit %v), want %v without a sign", s, got, math.Signbit(got), want)
			}
			// Redacted writes a decimal as FormatFloat 'g' does.
			shown := strconv.FormatFloat(got, 'g', -1, 64)
			if again, err := parseDecimal(shown); err != nil || again != got {
				t.Fatalf("parseDecimal(%q) = %v, %v: the form of %q (%v) does not read back", shown, again, err, s, got)
			}
			return
		}
		if err == nil {
			t.Fatalf("parseDecimal(%q) = %v, want an error (%s)", s, got, why)
		}
		if got != 0 {
			t.Errorf("parseDecimal(%q) returned %v with its error", s, got)
		}
		msg := err.Error()
		if !messages[msg] {
			t.Fatalf("parseDecimal(%q): undocumented message %q", s, msg)
		}
		if why == "is not a decimal number" {
			why = "is not a decimal number (like 0.5, .25 or 1e-3)"
			if infinityOrNaNSpelling.MatchString(s) {
				why = "is not a decimal number: infinity and NaN are not allowed"
			}
		}
		if msg != why {
			t.Fatalf("parseDecimal(%q) = %q, want %q", s, msg, why)
		}
	})
}

// FuzzParseWholeNumber checks parseWholeNumber (sizes, counts) against
// what configuration.md says of whole numbers: s is taken exactly when
// its '_' stand between digits and, without them, it is an optional sign
// and base-10 digits that fit 64 bits (and 32, for an int of 32 bits);
// the value reads back from the form Redacted writes.
func FuzzParseWholeNumber(f *testing.F) {
	for _, s := range []string{
		"0", "-0", "+7", "010", "1_048_576", "-1_000", "01_0", "_1", "1_", "1__0", "-_1", "_", "0x10",
		"1_0.5", "64_KiB", "1e3", " 1", "9223372036854775807", "9_223_372_036_854_775_808",
		"-9223372036854775808", "2147483648", "-2147483649", "",
	} {
		f.Add(s, true)
	}
	signedDigits := regexp.MustCompile(`^[-+]?[0-9]+$`)
	f.Fuzz(func(t *testing.T, s string, bits64 bool) {
		bits := 32
		if bits64 {
			bits = 64
		}
		got, err := parseWholeNumber(s, bits)

		plain, separated := separatorsBetweenDigits(s)
		if separated && signedDigits.MatchString(plain) {
			want, perr := strconv.ParseInt(plain, 10, bits)
			switch {
			case errors.Is(perr, strconv.ErrRange):
				if err == nil || err.Error() != "is out of range" {
					t.Fatalf("parseWholeNumber(%q, %d) = %d, %v, want out of range", s, bits, got, err)
				}
			case perr != nil:
				t.Fatalf("strconv.ParseInt(%q) = %v for a whole number", plain, perr)
			case err != nil || got != want:
				t.Fatalf("parseWholeNumber(%q, %d) = %d, %v, want %d", s, bits, got, err, want)
			default:
				if again, err := parseWholeNumber(strconv.FormatInt(got, 10), bits); err != nil || again != got {
					t.Fatalf("parseWholeNumber(%q) = %d, %v: %q does not read back", strconv.FormatInt(got, 10), again, err, s)
				}
			}
			return
		}
		if err == nil {
			t.Fatalf("parseWholeNumber(%q, %d) = %d, want an error", s, bits, got)
		}
		want := "is not a whole number"
		if !separated && signedDigits.MatchString(strings.ReplaceAll(s, "_", "")) {
			want = "is not a whole number: '_' may only stand between two digits, as in 1_048_576"
		}
		if msg := err.Error(); msg != want {
			t.Fatalf("parseWholeNumber(%q, %d) = %q, want %q", s, bits, msg, want)
		}
	})
}
