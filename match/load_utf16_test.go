package match

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/iocwatch/iocwatch/internal/textenc"
)

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
				got := ldRenderOrErr(Load(bytes.NewReader(utf16Of(string(data), le)), opt))
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

// utf16Of is s in UTF-16: little-endian with a byte order mark (what
// Windows PowerShell's Out-File writes), or big-endian without one.
func utf16Of(s string, littleEndian bool) []byte {
	if littleEndian {
		return textenc.Encode(s, textenc.UTF16LE, true)
	}
	return textenc.Encode(s, textenc.UTF16BE, false)
}
