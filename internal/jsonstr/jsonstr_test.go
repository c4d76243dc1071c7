package jsonstr

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestAppend(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"line\nfeed\r\ttab", `"line\nfeed\r\ttab"`},
		{"\x00\x01\x1f", `"\u0000\u0001\u001f"`},
		{"héllo ✓", `"héllo ✓"`},
		{"\xff\xfe", "\"\xff\xfe\""},
		{"</script>&", `"</script>&"`},
	} {
		if got := string(Append([]byte("x"), tc.in)); got != "x"+tc.want {
			t.Errorf("Append(%q) = %s, want x%s", tc.in, got, tc.want)
		}
	}
}

// What Append writes is a JSON string that decodes to the input, for
// every valid UTF-8 input.
func FuzzAppend(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\\", "\x00\n\r\t", "héllo", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Append(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			if utf8.ValidString(s) {
				t.Fatalf("Append(%q) = %s: not JSON: %v", s, out, err)
			}
			return
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("Append(%q) = %s decodes to %q", s, out, back)
		}
	})
}
