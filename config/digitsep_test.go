package config

import (
	"strings"
	"testing"
)

// A whole number may group its digits with '_' as YAML 1.1 and Go
// literals do (1_048_576), in a size (int64: sinks[].file.max_bytes) as in
// any other whole number (int: pipeline.max_message_bytes), written in the
// file or coming from the environment. An '_' that does not stand between
// two digits (_1, 1_, 1__0, -_1) is refused as before, naming the key and
// its line; so is a unit, separated or not (64_KiB).
func TestWholeNumbersTakeDigitSeparators(t *testing.T) {
	t.Setenv("IOCWATCH_TEST_SIZE", "4_096")
	for _, tc := range []struct {
		value string
		want  int64  // when err is ""
		err   string // what the problem says after the key path
	}{
		{value: "1_048_576", want: 1048576},
		{value: "1_000", want: 1000},
		{value: "1_0_0_0", want: 1000},
		{value: "'1_024'", want: 1024},
		{value: "-1_000", want: -1000},
		{value: "+2_048", want: 2048},
		{value: "01_0", want: 10}, // base 10, as 010 is
		{value: "010", want: 10},
		{value: "${IOCWATCH_TEST_SIZE}", want: 4096},
		{value: "1048576", want: 1048576},
		{value: "_1", err: `"_1" is not a whole number: '_' may only stand between two digits, as in 1_048_576`},
		{value: "1_", err: `"1_" is not a whole number: '_' may only stand between two digits, as in 1_048_576`},
		{value: "1__0", err: `"1__0" is not a whole number: '_' may only stand between two digits, as in 1_048_576`},
		{value: "-_1", err: `"-_1" is not a whole number: '_' may only stand between two digits, as in 1_048_576`},
		{value: "_", err: `"_" is not a whole number`},
		{value: "a_b", err: `"a_b" is not a whole number`},
		{value: "64_KiB", err: `"64_KiB" is not a whole number`},
		{value: "1_024KiB", err: `"1_024KiB" is not a whole number`},
		{value: "1_024 KiB", err: `"1_024 KiB" is not a whole number`},
		{value: "0x10", err: `"0x10" is not a whole number`},
		{value: "0x1_0", err: `"0x1_0" is not a whole number`},
		{value: "1_0.5", err: `"1_0.5" is not a whole number`},
		{value: "9_223_372_036_854_775_808", err: `"9_223_372_036_854_775_808" is out of range`},
		// Not a number, however long its digits: not "out of range".
		{value: "99999999999999999999KiB", err: `"99999999999999999999KiB" is not a whole number`},
		{value: "-99999999999999999999.5", err: `"-99999999999999999999.5" is not a whole number`},
		{value: "9_999_999_999_999_999_999__0x", err: `"9_999_999_999_999_999_999__0x" is not a whole number`},
		{value: "9_999_999_999_999_999_999__0", err: `"9_999_999_999_999_999_999__0" is not a whole number: '_' may only stand between two digits, as in 1_048_576`},
	} {
		t.Run(tc.value, func(t *testing.T) {
			for _, k := range []struct {
				path string
				yaml string
				get  func(*Config) int64
			}{
				{"sinks[0].file.max_bytes", "sinks:\n  - name: f\n    type: file\n    file:\n      max_bytes: %s\n",
					func(c *Config) int64 { return c.Sinks[0].File.MaxBytes }},
				{"pipeline.max_message_bytes", "\n\n\npipeline:\n  max_message_bytes: %s\n",
					func(c *Config) int64 { return int64(c.Pipeline.MaxMessageBytes) }},
			} {
				c, err := Parse([]byte(strings.Replace(k.yaml, "%s", tc.value, 1)), "h.yaml")
				if tc.err == "" {
					if err != nil {
						t.Errorf("%s: %v", k.path, err)
					} else if got := k.get(c); got != tc.want {
						t.Errorf("%s = %d, want %d", k.path, got, tc.want)
					}
					continue
				}
				want := "h.yaml:5: " + k.path + ": " + tc.err
				if err == nil || err.Error() != want {
					t.Errorf("%s: err = %v, want %s", k.path, err, want)
				}
			}
		})
	}
}
