// Package dirstate records what a write to a directory tree changes, for
// tests that must show a command wrote nothing there: every entry's mode,
// modification time and bytes, taken before and after and compared.
package dirstate

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Entry is what a write to a directory entry changes.
type Entry struct {
	Mode  fs.FileMode
	MTime time.Time
	Data  string // a file's bytes; "" for a directory
}

// Snapshot returns every entry under dir, dir itself included ("."), by
// its path relative to dir. A file made and removed there moves the
// directory's modification time, so it shows too.
func Snapshot(dir string) (map[string]Entry, error) {
	out := map[string]Entry{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		e := Entry{Mode: fi.Mode(), MTime: fi.ModTime()}
		if !d.IsDir() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			e.Data = string(b)
		}
		out[rel] = e
		return nil
	})
	return out, err
}

// Age sets the modification time of every entry under dir to at, the
// directories after their files, so that any write, rename or touch since
// shows in a Snapshot.
func Age(dir string, at time.Time) error {
	var paths []string
	err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		paths = append(paths, path)
		return err
	})
	if err != nil {
		return err
	}
	slices.Reverse(paths) // a directory after what is in it
	for _, p := range paths {
		if err := os.Chtimes(p, at, at); err != nil {
			return err
		}
	}
	return nil
}

// Changed names, sorted, the entries that differ between two snapshots or
// that only one of them has.
func Changed(before, after map[string]Entry) []string {
	var out []string
	for name, b := range before {
		if a, ok := after[name]; !ok || !a.MTime.Equal(b.MTime) || a.Mode != b.Mode || a.Data != b.Data {
			out = append(out, name)
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
