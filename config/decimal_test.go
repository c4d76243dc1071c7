package config

import (
	"math"
	"strings"
	"testing"
)

// A decimal number (shrink_guard, feed_reload_cpu) is written as YAML
// writes a decimal: an optional sign, digits with an optional fraction
// (or a fraction alone), an optional exponent — and, as whole numbers
// take it, '_' between two digits. Go's other float syntax (hexadecimal,
// 0x1p-1), YAML's .inf and .nan and Go's Inf and NaN, and a value a
// float64 cannot hold are refused, naming the key and its line, in the
// file as from the environment.
func TestDecimalNumbersAreWrittenInDecimal(t *testing.T) {
	t.Setenv("IOCWATCH_TEST_FRACTION", "0x1p-1")
	t.Setenv("IOCWATCH_TEST_SHARE", "0.25")
	const notDecimal = " is not a decimal number (like 0.5, .25 or 1e-3)"
	const notFinite = " is not a decimal number: infinity and NaN are not allowed"
	const badSeparator = " is not a decimal number: '_' may only stand between two digits, as in 0.000_1"
	for _, tc := range []struct {
		value string
		want  float64 // when err is ""
		err   string  // what the problem says after the key path
	}{
		{value: "0.5", want: 0.5},
		{value: ".5", want: 0.5},
		{value: "+.5", want: 0.5},
		{value: "5.", want: 5},
		{value: "1", want: 1},
		{value: "0", want: 0},
		{value: "-0", want: 0}, // the sign of zero is dropped
		{value: "05", want: 5},
		{value: "1e-3", want: 0.001},
		{value: "1E-3", want: 0.001},
		{value: "2.5e+0", want: 2.5},
		{value: "1e-300", want: 1e-300},
		{value: "'0.5'", want: 0.5},
		{value: "0.000_1", want: 0.0001},
		{value: "1_000.5", want: 1000.5},
		{value: "${IOCWATCH_TEST_SHARE}", want: 0.25},

		{value: "0x1p-1", err: `"0x1p-1"` + notDecimal},
		{value: "0X1P-1", err: `"0X1P-1"` + notDecimal},
		{value: "0x10", err: `"0x10"` + notDecimal},
		{value: "0b1", err: `"0b1"` + notDecimal},
		{value: "0o7", err: `"0o7"` + notDecimal},
		{value: "0x_1p-1", err: `"0x_1p-1"` + notDecimal},
		{value: "1e", err: `"1e"` + notDecimal},
		{value: "e3", err: `"e3"` + notDecimal},
		{value: ".", err: `"."` + notDecimal},
		{value: "1.2.3", err: `"1.2.3"` + notDecimal},
		{value: "50%", err: `"50%"` + notDecimal},
		{value: "1/2", err: `"1/2"` + notDecimal},
		{value: "'0.5 '", err: `"0.5 "` + notDecimal},
		{value: "${IOCWATCH_TEST_FRACTION}", err: `"${IOCWATCH_TEST_FRACTION}" expands to a value that` + notDecimal},

		{value: "inf", err: `"inf"` + notFinite},
		{value: "+Inf", err: `"+Inf"` + notFinite},
		{value: "-Infinity", err: `"-Infinity"` + notFinite},
		{value: "NaN", err: `"NaN"` + notFinite},
		{value: ".inf", err: `".inf"` + notFinite},
		{value: "-.INF", err: `"-.INF"` + notFinite},
		{value: ".nan", err: `".nan"` + notFinite},
		{value: ".NaN", err: `".NaN"` + notFinite},

		{value: "_1", err: `"_1"` + badSeparator},
		{value: "1_", err: `"1_"` + badSeparator},
		{value: "1__0", err: `"1__0"` + badSeparator},
		{value: "1_.5", err: `"1_.5"` + badSeparator},
		{value: "1._5", err: `"1._5"` + badSeparator},
		{value: "1_e3", err: `"1_e3"` + badSeparator},

		{value: "1e400", err: `"1e400" is out of range`},
		{value: "-1e400", err: `"-1e400" is out of range`},
		{value: "1e-400", err: `"1e-400" is out of range: too close to 0, it would read as 0`},
	} {
		t.Run(tc.value, func(t *testing.T) {
			for _, k := range []struct {
				path string
				yaml string
				get  func(*Config) float64
			}{
				{"shrink_guard", "\n\nshrink_guard: %s\n", func(c *Config) float64 { return c.ShrinkGuard }},
				{"feed_reload_cpu", "# pacing\n\nfeed_reload_cpu: %s\n", func(c *Config) float64 { return c.FeedReloadCPU }},
			} {
				c, err := Parse([]byte(strings.Replace(k.yaml, "%s", tc.value, 1)), "h.yaml")
				if tc.err == "" {
					if err != nil {
						t.Errorf("%s: %v", k.path, err)
					} else if got := k.get(c); got != tc.want || math.Signbit(got) != math.Signbit(tc.want) {
						t.Errorf("%s = %v, want %v", k.path, got, tc.want)
					}
					continue
				}
				want := "h.yaml:3: " + k.path + ": " + tc.err
				if err == nil || err.Error() != want {
					t.Errorf("%s: err = %v, want %s", k.path, err, want)
				}
			}
		})
	}
}

// A bare decimal number as a duration gets the hint to write a unit when
// that is all it lacks; what is no decimal number (.inf) is no duration
// either, and gets none, and neither does a number that stays no
// duration with a unit (1_000s and 1e3s are errors too).
func TestDurationHintOnlyForDecimalNumbers(t *testing.T) {
	for _, tc := range []struct{ value, err string }{
		{"30", `"30" is not a duration: write it with a unit, like 250ms, 5s or 1h`},
		{"1.5", `"1.5" is not a duration: write it with a unit, like 250ms, 5s or 1h`},
		{".5", `".5" is not a duration: write it with a unit, like 250ms, 5s or 1h`},
		{"-1", `"-1" is not a duration: write it with a unit, like 250ms, 5s or 1h`},
		{"1_000", `"1_000" is not a duration (like 250ms, 5s, 1h30m)`},
		{"1e3", `"1e3" is not a duration (like 250ms, 5s, 1h30m)`},
		{"1_000s", `"1_000s" is not a duration (like 250ms, 5s, 1h30m)`},
		{".inf", `".inf" is not a duration (like 250ms, 5s, 1h30m)`},
		{"NaN", `"NaN" is not a duration (like 250ms, 5s, 1h30m)`},
		{"0x1p4", `"0x1p4" is not a duration (like 250ms, 5s, 1h30m)`},
	} {
		_, err := Parse([]byte("suppression: {window: "+tc.value+"}\n"), "h.yaml")
		if want := "h.yaml:1: suppression.window: " + tc.err; err == nil || err.Error() != want {
			t.Errorf("%s: err = %v, want %s", tc.value, err, want)
		}
	}
}
