package stream

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ExpandPaths turns patterns and directories into the files they name, in
// a stable order, and says when one names nothing.
func TestExpandPaths(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{
		"capture/ns/hub/1/2026/11/27/09/05/00.avro",
		"capture/ns/hub/0/2026/11/27/09/10/00.avro",
		"capture/ns/hub/0/2026/11/27/09/05/00.avro",
		"capture/ns/hub/0/.part.avro.tmp",
		"capture/.snapshots/0/old.avro",
		"exports/b.jsonl", "exports/a.jsonl", "exports/notes.txt",
	} {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("{}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "empty", "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	rel := func(ps []string) string {
		for i, p := range ps {
			ps[i] = strings.TrimPrefix(filepath.ToSlash(p), filepath.ToSlash(dir)+"/")
		}
		return strings.Join(ps, " ")
	}
	for _, tc := range []struct {
		name string
		in   []string
		want string
		err  string
	}{
		{"a directory, walked in path order without hidden files",
			[]string{filepath.Join(dir, "capture")},
			"capture/ns/hub/0/2026/11/27/09/05/00.avro capture/ns/hub/0/2026/11/27/09/10/00.avro capture/ns/hub/1/2026/11/27/09/05/00.avro", ""},
		{"a pattern, its matches sorted",
			[]string{filepath.Join(dir, "exports", "*.jsonl")}, "exports/a.jsonl exports/b.jsonl", ""},
		{"a pattern over directories walks each",
			[]string{filepath.Join(dir, "capture", "ns", "hub", "*")},
			"capture/ns/hub/0/2026/11/27/09/05/00.avro capture/ns/hub/0/2026/11/27/09/10/00.avro capture/ns/hub/1/2026/11/27/09/05/00.avro", ""},
		{"files, stdin and missing paths stay as given, in order",
			[]string{filepath.Join(dir, "exports", "b.jsonl"), "-", filepath.Join(dir, "missing.jsonl")},
			"exports/b.jsonl - missing.jsonl", ""},
		{"a pattern that matches nothing", []string{filepath.Join(dir, "*.parquet")}, "", "no file matches"},
		{"a directory without files", []string{filepath.Join(dir, "empty")}, "", "a directory without files"},
		{"a malformed pattern", []string{filepath.Join(dir, "[")}, "", "pattern"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ExpandPaths(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r := rel(got); r != tc.want {
				t.Errorf("got  %s\nwant %s", r, tc.want)
			}
		})
	}
	// The source reads a directory's files one after the other, and a
	// missing path is still an error naming it.
	src, err := NewFileSource(FileOptions{Paths: []string{filepath.Join(dir, "exports")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, src); len(got) != 3 || !strings.Contains(got[2], "notes.txt:1") {
		t.Errorf("read %q", got)
	}
	if _, err := NewFileSource(FileOptions{Paths: []string{filepath.Join(dir, "missing.jsonl")}}); err == nil || !strings.Contains(err.Error(), "missing.jsonl") {
		t.Errorf("a missing file: %v", err)
	}
}
