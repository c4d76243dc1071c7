//go:build linux

package sink_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// diskFullChildEnv makes the test binary, re-run by
// TestAFileFilledHalfWayNeverKeepsHalfALine, be the child that writes.
const diskFullChildEnv = "IOCWATCH_SINK_DISKFULL_CHILD"

// When the disk fills half-way through a write, the line cut short must
// not stay in the file: once there is room again, the retried write would
// glue its first line to it, and that alert's line would no longer parse.
// The disk filling up is a file size limit (RLIMIT_FSIZE), which applies
// to the whole process: the writes run in a child process.
func TestAFileFilledHalfWayNeverKeepsHalfALine(t *testing.T) {
	if kind := os.Getenv(diskFullChildEnv); kind != "" {
		diskFullChild(t, kind, os.Getenv(diskFullChildEnv+"_PATH"))
		return
	}
	for _, kind := range []string{"file sink", "dead-letter file", "exclusion audit file"} {
		t.Run(kind, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.jsonl")
			cmd := exec.Command(os.Args[0], "-test.run=^TestAFileFilledHalfWayNeverKeepsHalfALine$", "-test.count=1")
			cmd.Env = append(os.Environ(), diskFullChildEnv+"="+kind, diskFullChildEnv+"_PATH="+path)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			var got []string
			for i, l := range bytes.Split(bytes.TrimSuffix(readFile(t, path), []byte("\n")), []byte("\n")) {
				var line struct {
					ID    string `json:"alert_id"`
					Alert struct {
						ID string `json:"alert_id"`
					} `json:"alert"`
				}
				if err := json.Unmarshal(l, &line); err != nil {
					t.Fatalf("line %d is not one JSON object (%v):\n%s", i+1, err, l)
				}
				got = append(got, line.ID+line.Alert.ID)
			}
			if want := []string{"a1", "a2", "b1", "b2"}; !slices.Equal(got, want) {
				t.Errorf("lines hold %v, want %v", got, want)
			}
		})
	}
}

// diskFullChild writes a1, a2; then b1, b2 with room for half a line (the
// write must fail); then b1, b2 again with room (the retry).
func diskFullChild(t *testing.T, kind, path string) {
	var write func([]sink.Alert) error
	var closeIt func() error
	switch kind {
	case "file sink":
		f, err := sink.NewFile(path, sink.FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		write = func(a []sink.Alert) error { return f.Write(context.Background(), a) }
		closeIt = func() error { return f.Close(context.Background()) }
	case "dead-letter file":
		dl, err := sink.OpenDeadLetter(path)
		if err != nil {
			t.Fatal(err)
		}
		write = func(a []sink.Alert) error { return dl.Write("soar", a, errors.New("400 Bad Request")) }
		closeIt = dl.Close
	case "exclusion audit file":
		au, err := sink.OpenExclusionAudit(path)
		if err != nil {
			t.Fatal(err)
		}
		write = func(a []sink.Alert) error {
			for i := range a {
				if err := au.Write("rdp", "admins", &a[i]); err != nil {
					return err
				}
			}
			return nil
		}
		closeIt = au.Close
	default:
		t.Fatalf("unknown kind %q", kind)
	}
	if err := write(idAlerts("a1", "a2")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	full := old
	full.Cur = uint64(st.Size()) + 40 // room for part of the next line
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &full); err != nil {
		t.Fatal(err)
	}
	werr := write(idAlerts("b1", "b2"))
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if werr == nil {
		t.Fatal("a write past the file size limit succeeded")
	}
	if err := write(idAlerts("b1", "b2")); err != nil {
		t.Fatalf("the retry: %v", err)
	}
	if err := closeIt(); err != nil {
		t.Fatal(err)
	}
}

// rotationChildEnv makes the test binary, re-run by
// TestFileRecoversFromARotationThatCouldNotReopen, be the child that
// writes.
const rotationChildEnv = "IOCWATCH_SINK_ROTATION_CHILD"

// When the new file cannot be opened after a rotation (out of file
// descriptors for a moment), the Write fails; once descriptors are free
// again the sink must work again, not fail every later Write on the
// closed old file and hold the stream back for ever. The shortage is an
// RLIMIT_NOFILE, which applies to the whole process: the writes run in a
// child process.
func TestFileRecoversFromARotationThatCouldNotReopen(t *testing.T) {
	if path := os.Getenv(rotationChildEnv); path != "" {
		rotationChild(t, path)
		return
	}
	path := filepath.Join(t.TempDir(), "alerts.jsonl")
	cmd := exec.Command(os.Args[0], "-test.run=^TestFileRecoversFromARotationThatCouldNotReopen$", "-test.count=1")
	cmd.Env = append(os.Environ(), rotationChildEnv+"="+path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var got []string
	for _, name := range []string{path + ".1", path} {
		for l := range bytes.Lines(readFile(t, name)) {
			var a sink.Alert
			if err := json.Unmarshal(l, &a); err != nil {
				t.Fatalf("%s: %v in %q", filepath.Base(name), err, l)
			}
			got = append(got, a.AlertID)
		}
	}
	if want := []string{"a1", "b1"}; !slices.Equal(got, want) {
		t.Errorf("the files hold %v, want %v", got, want)
	}
}

func rotationChild(t *testing.T, path string) {
	f, err := sink.NewFile(path, sink.FileOptions{MaxBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Write(context.Background(), idAlerts("a1")); err != nil {
		t.Fatal(err)
	}
	// Once rotation closed the sink's descriptor, it is the lowest free
	// one: a limit at it makes the reopen fail with EMFILE.
	fd := sinkFD(t, path)
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	short := old
	short.Cur = uint64(fd)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &short); err != nil {
		t.Fatal(err)
	}
	werr := f.Write(context.Background(), idAlerts("b1")) // rotates
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	if werr == nil {
		t.Fatal("the Write whose rotation could not reopen the file succeeded")
	}
	t.Logf("the Write during the shortage: %v", werr)
	if err := f.Write(context.Background(), idAlerts("b1")); err != nil {
		t.Fatalf("the retry once descriptors are free: %v", err)
	}
	if err := f.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// sinkFD returns the descriptor this process has open on path.
func sinkFD(t *testing.T, path string) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	for _, e := range ents {
		if dst, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && dst == path {
			fd, err := strconv.Atoi(e.Name())
			if err != nil {
				t.Fatal(err)
			}
			return fd
		}
	}
	t.Fatalf("no descriptor open on %s", path)
	return -1
}

// A dead-letter file that cannot take refused alerts (disk full) holds
// the write back, retrying with the HoldBack back-off and never sending
// the batch to the sink again; the write ends with its context (an error
// that is not permanent: the batch was not handled) or with Close.
func TestADeadLetterFileThatIsFullHoldsTheWriteBack(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full:", err)
	}
	for _, stop := range []string{"context", "close"} {
		t.Run("ended by "+stop, func(t *testing.T) {
			dl, err := sink.OpenDeadLetter("/dev/full")
			if err != nil {
				t.Fatal(err)
			}
			defer dl.Close()
			retried := make(chan error, 100)
			dl.HoldBack(sink.RetryPolicy{Initial: time.Millisecond, Max: 5 * time.Millisecond, OnRetry: func(_ int, err error, _ time.Duration) {
				select {
				case retried <- err:
				default:
				}
			}})
			rec := &sinktest.Recorder{}
			rec.FailNext(sink.Permanent(errors.New("400 Bad Request")))
			s := sink.WithDeadLetter(rec, "soar", dl)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- s.Write(ctx, sinktest.Alerts(2, 1)) }()
			for range 3 {
				if err := <-retried; !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("retried after %v, want ENOSPC", err)
				}
			}
			select {
			case err := <-done:
				t.Fatalf("Write = %v while the file was full; want it held back", err)
			default:
			}
			want := context.Canceled
			if stop == "context" {
				cancel()
			} else {
				want = sink.ErrClosed
				s.Close(context.Background())
			}
			// ErrClosed is how every sink ends a write at Close; a
			// cancelled write is not a refusal.
			err = <-done
			if !errors.Is(err, want) || want == context.Canceled && sink.IsPermanent(err) {
				t.Errorf("Write = %v, want %v (a cancelled write not permanent)", err, want)
			}
			if n := rec.Writes(); n != 1 {
				t.Errorf("the sink got %d writes, want 1: a held batch is not sent again", n)
			}
		})
	}
}
