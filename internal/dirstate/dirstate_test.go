package dirstate

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestChangedNamesWhatAWriteChanged(t *testing.T) {
	old := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		write func(dir string) error
		want  []string
	}{
		{"nothing", func(string) error { return nil }, nil},
		{"same bytes written again", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "a"), []byte("x"), 0o600)
		}, []string{"a"}},
		{"a touch", func(dir string) error {
			now := time.Now()
			return os.Chtimes(filepath.Join(dir, "a"), now, now)
		}, []string{"a"}},
		{"a mode", func(dir string) error { return os.Chmod(filepath.Join(dir, "a"), 0o644) }, []string{"a"}},
		{"a file made and removed", func(dir string) error {
			p := filepath.Join(dir, "tmp")
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				return err
			}
			return os.Remove(p)
		}, []string{"."}},
		{"a file added", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "sub", "b"), []byte("y"), 0o600)
		}, []string{"sub", "sub/b"}},
		{"a file removed", func(dir string) error { return os.Remove(filepath.Join(dir, "a")) }, []string{".", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "a"), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := Age(dir, old); err != nil {
				t.Fatal(err)
			}
			before, err := Snapshot(dir)
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.write(dir); err != nil {
				t.Fatal(err)
			}
			after, err := Snapshot(dir)
			if err != nil {
				t.Fatal(err)
			}
			got := Changed(before, after)
			want := tt.want
			for i := range want {
				want[i] = filepath.FromSlash(want[i])
			}
			if !slices.Equal(got, want) {
				t.Errorf("Changed = %q, want %q", got, want)
			}
		})
	}
}
