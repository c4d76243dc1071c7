package config

import (
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	env := map[string]string{"HOST": "kafka", "EMPTY": "", "DOLLAR": "a$b${c}"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		name, in, want string
		used           bool
		errs           []string // substrings, one per expected error
	}{
		{"a value without a dollar is unchanged", "plain text", "plain text", false, nil},
		{"a reference is replaced by the variable", "${HOST}:9092", "kafka:9092", true, nil},
		{"a variable's value is not expanded again", "${DOLLAR}", "a$b${c}", true, nil},
		{"a default is used when the variable is unset", "${NOPE:-fallback}", "fallback", true, nil},
		{"a default is used when the variable is empty", "${EMPTY:-fallback}", "fallback", true, nil},
		{"an empty default allows an unset variable", "x${NOPE:-}y", "xy", true, nil},
		{"a set empty variable without default is empty", "[${EMPTY}]", "[]", true, nil},
		{"a default is literal text up to the first brace", "${NOPE:-a$b}", "a$b", true, nil},
		{"a bare dollar word stays literal", "$ConnectionString", "$ConnectionString", false, nil},
		{"the consumer group $Default stays literal", "$Default", "$Default", false, nil},
		{"a trailing dollar stays literal", "cost$", "cost$", false, nil},
		{"two dollars are one dollar", "$$ConnectionString", "$ConnectionString", false, nil},
		{"$${ is a literal ${", "$${HOST}", "${HOST}", false, nil},
		{"$$$${ is a literal $${", "$$$${HOST}", "$${HOST}", false, nil},
		{"$$$ then a reference", "$$${HOST}", "$kafka", true, nil},
		{"an unset variable is an error naming it", "${NOPE}", "", true, []string{"environment variable NOPE is not set"}},
		{"every unset variable is reported", "${A1}-${B2}", "-", true, []string{"A1 is not set", "B2 is not set"}},
		{"an unterminated reference is an error", "abc${HOST", "abc", true, []string{"unterminated ${"}},
		{"an empty name is an error", "${}", "", true, []string{"bad ${…} reference"}},
		{"a name starting with a digit is an error", "${1X}", "", true, []string{"bad ${…} reference"}},
		{"shell forms other than :- are errors", "${HOST:=x}", "", true, []string{"bad ${…} reference"}},
		{"a name with a dash is an error", "${MY-VAR}", "", true, []string{"bad ${…} reference"}},
		{"a reference inside a default is an error", "${NOPE:-${HOST}}", "", true, []string{"a default cannot hold a ${…} reference"}},
		{"a reference inside a default is an error when the variable is set", "a${HOST:-x${NOPE:-y}z}b", "ab", true, []string{"a default cannot hold a ${…} reference"}},
		{"an unclosed reference inside a default is an error", "x${NOPE:-${HOST}", "x", true, []string{"a default cannot hold a ${…} reference"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, used, errs := expand(tt.in, lookup)
			if got != tt.want || used != tt.used {
				t.Errorf("expand(%q) = %q, used %v; want %q, used %v", tt.in, got, used, tt.want, tt.used)
			}
			if len(errs) != len(tt.errs) {
				t.Fatalf("errors %v, want %d", errs, len(tt.errs))
			}
			for i, e := range errs {
				if !strings.Contains(e.Error(), tt.errs[i]) {
					t.Errorf("error %q, want %q", e, tt.errs[i])
				}
			}
		})
	}
}

// FuzzExpand checks that expansion never panics, that its messages never
// hold a variable's value, and that escapeDollars is its inverse.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{
		"", "plain", "${X}", "${X:-d}", "$$", "$${X}", "$X", "$", "${", "${X", "${:-}", "a$$$${b}c",
		"Endpoint=sb://x/;SharedAccessKey=${KEY}", "${X:-${Y}}",
	} {
		f.Add(s)
	}
	const secret = "S3CRET-VALUE"
	lookup := func(k string) (string, bool) { return secret, k == "X" }
	f.Fuzz(func(t *testing.T, s string) {
		_, _, errs := expand(s, lookup)
		for _, e := range errs {
			if strings.Contains(e.Error(), secret) {
				t.Errorf("message shows a value: %v", e)
			}
		}
		got, used, errs := expand(escapeDollars(s), func(string) (string, bool) { t.Fatal("lookup on escaped text"); return "", false })
		if got != s || used || len(errs) > 0 {
			t.Errorf("expand(escapeDollars(%q)) = %q, %v, %v", s, got, used, errs)
		}
	})
}
