package config

import (
	"errors"
	"testing"
)

// ErrorAt places a problem found outside this package as Validate places
// its own: file, line of the key and key path, a value from the
// environment shown by its ${…} text, and the problem still found by
// errors.Is and errors.As.
func TestErrorAtPlacesAProblemAsValidateDoes(t *testing.T) {
	t.Setenv("IOCWATCH_TEST_HEC_URL", "https://splunk.example:8088/services/collector/raw")
	c, err := Parse([]byte("sinks:\n  - name: s\n    type: splunk_hec\n    splunk_hec:\n      url: ${IOCWATCH_TEST_HEC_URL}\n      token: t\n"), "h.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := errors.New("is HEC's raw endpoint")
	for _, tc := range []struct {
		name string
		c    *Config
		path string
		err  error
		want string
	}{
		{"a key written in the file", c, "sinks[0].splunk_hec.url", bad, "h.yaml:5: sinks[0].splunk_hec.url: is HEC's raw endpoint"},
		{"a key not written: the nearest one that is", c, "sinks[0].splunk_hec.index", bad, "h.yaml:4: sinks[0].splunk_hec.index: is HEC's raw endpoint"},
		{"a value from the environment", c, "sinks[0].splunk_hec.url", errors.New("https://splunk.example:8088/services/collector/raw: is HEC's raw endpoint"),
			"h.yaml:5: sinks[0].splunk_hec.url: (the expanded value): is HEC's raw endpoint"},
		{"a config built in code", Default(), "sinks[0].splunk_hec.url", bad, "sinks[0].splunk_hec.url: is HEC's raw endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.c.ErrorAt(tc.path, tc.err)
			if got.Error() != tc.want {
				t.Errorf("ErrorAt = %q, want %q", got, tc.want)
			}
			var ce *Error
			if !errors.As(got, &ce) || ce.Path != tc.path {
				t.Errorf("ErrorAt = %#v, want an *Error at %s", got, tc.path)
			}
			if tc.err == bad && !errors.Is(got, bad) {
				t.Errorf("ErrorAt(%v) does not wrap it", bad)
			}
		})
	}
}
