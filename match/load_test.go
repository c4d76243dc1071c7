package match

import (
	"os"
	"path/filepath"
	"testing"
)

// ldReadSample reads one of the real feed samples in testdata/iocs.
func ldReadSample(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "iocs", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
