package stream

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A gzip stream whose header is broken — a named file or stdin, from a
// file or a pipe — stops the source with an error that names the input
// and says "gzip" once: "file source: NAME: gzip: invalid header", not
// "gzip: gzip: invalid header".
func TestABrokenGzipHeaderIsNamedOnce(t *testing.T) {
	broken := gzipped(t, recordLines(10))
	broken[3] = 0xe0 // reserved flags: the decoder refuses the header
	p := filepath.Join(t.TempDir(), "broken.jsonl.gz")
	if err := os.WriteFile(p, broken, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opt  func(t *testing.T) FileOptions
		says string // the input's name
	}{
		{"a named file", func(*testing.T) FileOptions { return FileOptions{Paths: []string{p}} }, p},
		{"stdin from a file", func(t *testing.T) FileOptions {
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return FileOptions{Paths: []string{"-"}, Stdin: f}
		}, "stdin"},
		{"stdin from a pipe", func(t *testing.T) FileOptions {
			pr, pw := io.Pipe()
			go func() { pw.Write(broken); pw.Close() }()
			t.Cleanup(func() { pr.Close() })
			return FileOptions{Paths: []string{"-"}, Stdin: pr}
		}, "stdin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := mustFileSource(t, tc.opt(t))
			defer src.Close(context.Background())
			_, err := src.Read(context.Background())
			if err == nil || errors.Is(err, io.EOF) {
				t.Fatalf("Read: %v, want the broken header", err)
			}
			msg := err.Error()
			prefix := "file source: " + tc.says + ": "
			if !strings.HasPrefix(msg, prefix) {
				t.Fatalf("error %q does not start with %q", msg, prefix)
			}
			if rest, want := strings.TrimPrefix(msg, prefix), "gzip: invalid header"; rest != want {
				t.Errorf("error %q: after the name %q, want %q", msg, rest, want)
			}
		})
	}
}
