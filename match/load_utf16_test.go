package match

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// utf16Bytes encodes s as UTF-16, little-endian with a byte order mark
// (what Windows PowerShell's Out-File writes) or big-endian without one.
func utf16Bytes(s string, littleEndian bool) []byte {
	var b []byte
	put := func(u uint16) {
		if littleEndian {
			b = append(b, byte(u), byte(u>>8))
		} else {
			b = append(b, byte(u>>8), byte(u))
		}
	}
	if littleEndian {
		put(0xfeff)
	}
	for _, u := range utf16.Encode([]rune(s)) {
		put(u)
	}
	return b
}

// Every golden feed, saved as UTF-16, loads exactly as its UTF-8 original:
// the same indicators, origins (file:line), refusals and errors.
func TestLoadReadsUTF16AsItsUTF8Original(t *testing.T) {
	dirs, err := filepath.Glob("testdata/feeds/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	tried := 0
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		data, opt := ldGoldenCase(t, dir)
		if !utf8.Valid(data) {
			continue // UTF-16 cannot carry its invalid bytes
		}
		want := ldRenderOrErr(Load(bytes.NewReader(data), opt))
		for _, le := range []bool{true, false} {
			name := filepath.Base(dir) + map[bool]string{true: "/UTF-16LE with a byte order mark", false: "/UTF-16BE without one"}[le]
			t.Run(name, func(t *testing.T) {
				got := ldRenderOrErr(Load(bytes.NewReader(utf16Bytes(string(data), le)), opt))
				if !bytes.Equal(got, want) {
					t.Errorf("differs from the UTF-8 load:\n%s", ldLineDiff(want, got))
				}
			})
		}
		tried++
	}
	if tried < 20 {
		t.Errorf("only %d golden cases were valid UTF-8", tried)
	}
}

func ldRenderOrErr(res *LoadResult, err error) []byte {
	if err != nil {
		return []byte(err.Error() + "\n")
	}
	return ldGoldenRender(res)
}
