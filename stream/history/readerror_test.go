package history

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iocwatch/iocwatch/match"
)

// denyReads makes the history's reads of the paths deny picks fail as
// they do for a directory or file iocwatch may not read: as root, which
// reads everything, permissions cannot make them fail.
func denyReads(t *testing.T, deny func(path string) bool) {
	t.Helper()
	rd, of := readDir, openFile
	t.Cleanup(func() { readDir, openFile = rd, of })
	readDir = func(name string) ([]os.DirEntry, error) {
		if deny(name) {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
		}
		return rd(name)
	}
	openFile = func(name string) (*os.File, error) {
		if deny(name) {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
		}
		return of(name)
	}
}

// A history iocwatch may not read is an error that names the directory or
// file and the permission problem — not "holds no history", nor an empty
// result read as "nobody talked to it". An index that cannot be read is
// derived data: the segment is read instead.
func TestAReadOnlyHistoryThatCannotBeReadIsAnErrorNamingThePath(t *testing.T) {
	for _, tc := range []struct {
		name string
		// keepIdx keeps the segment's index; deny picks the denied path
		// from the directory and the segment's .log and .idx.
		keepIdx bool
		deny    func(dir, log, idx string) string
		// atOpen: Open fails; else Scan does. want is "" when neither
		// fails and every observation is read.
		atOpen bool
		want   func(dir, log, idx string) string
	}{
		{
			name: "the directory cannot be listed", keepIdx: true, atOpen: true,
			deny: func(dir, _, _ string) string { return dir },
			want: func(dir, _, _ string) string { return dir },
		},
		{
			name: "a segment without its index cannot be read",
			deny: func(_, log, _ string) string { return log },
			want: func(_, log, _ string) string { return log },
		},
		{
			name: "a segment with its index cannot be read", keepIdx: true,
			deny: func(_, log, _ string) string { return log },
			want: func(_, log, _ string) string { return log },
		},
		{
			name: "an index that cannot be read is rebuilt from its segment", keepIdx: true,
			deny: func(_, _, idx string) string { return idx },
			want: func(string, string, string) string { return "" },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			dir := t.TempDir()
			w := open(t, dir, c, nil)
			w.Record(sampleEvents(c.Now()))
			if err := w.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			logs, _ := filepath.Glob(filepath.Join(dir, "*"+logExt))
			if len(logs) != 1 {
				t.Fatalf("segments: %v", logs)
			}
			log := logs[0]
			idx := strings.TrimSuffix(log, logExt) + idxExt
			if !tc.keepIdx {
				if err := os.Remove(idx); err != nil {
					t.Fatal(err)
				}
			}
			denied := tc.deny(dir, log, idx)
			denyReads(t, func(p string) bool { return p == denied })
			want := tc.want(dir, log, idx)

			r, err := Open(Options{Dir: dir, ReadOnly: true, Log: logger(t)})
			if tc.atOpen {
				checkDenied(t, "Open", err, want)
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			got := 0
			_, err = r.Scan(context.Background(), Query{Index: everything(t)}, func(*Observation, []match.Hit) error {
				got++
				return nil
			})
			if want == "" {
				if err != nil || got != 6 {
					t.Fatalf("Scan: %d observations, %v; want the 6 recorded", got, err)
				}
				return
			}
			checkDenied(t, "Scan", err, want)
		})
	}
}

func checkDenied(t *testing.T, op string, err error, path string) {
	t.Helper()
	switch {
	case err == nil:
		t.Fatalf("%s: no error; want one naming %s", op, path)
	case errors.Is(err, ErrNoHistory):
		t.Fatalf("%s: %v; a history that cannot be read is not one that holds none", op, err)
	case !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), path):
		t.Fatalf("%s: %v; want a permission error naming %s", op, err, path)
	}
}
