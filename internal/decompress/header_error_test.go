package decompress

import (
	"bytes"
	"testing"
)

// A header the decoder refuses is an error that names the format once:
// "gzip: invalid header", not "gzip: gzip: invalid header".
func TestABrokenHeaderNamesTheFormatOnce(t *testing.T) {
	g := gz(t, text)
	g[3] = 0xe0 // reserved flags
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"gzip with reserved flags", g, "gzip: invalid header"},
		{"gzip cut in its header", g[:6], "gzip: unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(tc.in), Gzip)
			if err == nil {
				r.Close()
				t.Fatal("no error")
			}
			if err.Error() != tc.want {
				t.Errorf("error %q, want %q", err, tc.want)
			}
		})
	}
}
