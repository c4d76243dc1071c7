package sink_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

type deadLine struct {
	Time  time.Time       `json:"time"`
	Sink  string          `json:"sink"`
	Error string          `json:"error"`
	Alert json.RawMessage `json:"alert"`
}

func readDeadLetters(t *testing.T, path string) []deadLine {
	t.Helper()
	var out []deadLine
	for i, l := range bytes.Split(bytes.TrimSuffix(readFile(t, path), []byte("\n")), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var d deadLine
		dec := json.NewDecoder(bytes.NewReader(l))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("dead-letter line %d: %v\n%s", i+1, err, l)
		}
		out = append(out, d)
	}
	return out
}

func TestDeadLetterWritesOneLinePerAlert(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dead.jsonl")
	dl, err := sink.OpenDeadLetter(path)
	if err != nil {
		t.Fatal(err)
	}
	alerts := sinktest.Alerts(5, 4)
	reason := errors.New("webhook POST https://soar.example/hook: 400 Bad Request:\n\"bad field\"")
	before := time.Now().Add(-time.Second)
	if err := dl.Write("soar", alerts, reason); err != nil {
		t.Fatal(err)
	}
	if err := dl.Write("soar", nil, reason); err != nil {
		t.Errorf("Write of no alerts = %v", err)
	}
	if err := dl.Close(); err != nil {
		t.Fatal(err)
	}
	if err := dl.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if err := dl.Write("soar", alerts, reason); !errors.Is(err, sink.ErrClosed) {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}
	lines := readDeadLetters(t, path)
	if len(lines) != len(alerts) {
		t.Fatalf("%d lines, want %d", len(lines), len(alerts))
	}
	for i, l := range lines {
		if l.Sink != "soar" || l.Error != reason.Error() || l.Time.Before(before) || l.Time.Location() != time.UTC {
			t.Errorf("line %d = {%v %q %q}, want the sink, the full error and a recent UTC time", i+1, l.Time, l.Sink, l.Error)
		}
		want, _ := json.Marshal(&alerts[i])
		if !bytes.Equal(l.Alert, want) {
			t.Errorf("line %d alert = %s, want the native alert %s", i+1, l.Alert, want)
		}
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
}

func TestDeadLetterKeepsAnAlertItCannotEncode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dead.jsonl")
	dl, _ := sink.OpenDeadLetter(path)
	defer dl.Close()
	a := sinktest.Alerts(1, 1)
	a[0].Timestamp = time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := dl.Write("x", a, nil); err != nil {
		t.Fatal(err)
	}
	lines := readDeadLetters(t, path)
	if len(lines) != 1 || !bytes.Contains(lines[0].Alert, []byte(a[0].AlertID)) || !bytes.Contains(lines[0].Alert, []byte("encode_error")) {
		t.Fatalf("lines = %+v, want one keeping the alert_id and the encode error", lines)
	}
}

func TestDeadLetterConcurrentWritersNeverInterleave(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dead.jsonl")
	dl, _ := sink.OpenDeadLetter(path)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 10 {
				if err := dl.Write(fmt.Sprintf("sink-%d", w), sinktest.Alerts(3, int64(w*100+i)), errors.New("refused")); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := dl.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(readDeadLetters(t, path)); n != 8*10*3 {
		t.Errorf("%d lines, want %d", n, 8*10*3)
	}
}

func TestOpenDeadLetterNamesTheFileOnError(t *testing.T) {
	_, err := sink.OpenDeadLetter(filepath.Join(t.TempDir(), "missing", "dead.jsonl"))
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("OpenDeadLetter = %v, want an error naming the path", err)
	}
}

// failing returns a recorder whose next Writes return errs (nil entries
// succeed).
func failing(errs ...error) *sinktest.Recorder {
	r := &sinktest.Recorder{}
	r.FailNext(errs...)
	return r
}

func TestWithDeadLetter(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		wantErr  bool
		wantDead int
	}{
		{"a permanent refusal goes to the dead-letter file and counts as handled", sink.Permanent(errors.New("400 Bad Request")), false, 2},
		{"a retryable error is returned and nothing is dead-lettered", errors.New("503"), true, 0},
		{"success dead-letters nothing", nil, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "dead.jsonl")
			dl, _ := sink.OpenDeadLetter(path)
			inner := failing(tc.err)
			s := sink.WithDeadLetter(inner, "soar", dl)
			err := s.Write(context.Background(), sinktest.Alerts(2, 1))
			if (err != nil) != tc.wantErr {
				t.Errorf("Write = %v, want error %v", err, tc.wantErr)
			}
			dl.Close()
			if n := len(readDeadLetters(t, path)); n != tc.wantDead {
				t.Errorf("%d dead letters, want %d", n, tc.wantDead)
			}
			if got := s.(sink.StatsReporter).Stats().DeadLettered; got != uint64(tc.wantDead) {
				t.Errorf("Stats().DeadLettered = %d, want %d", got, tc.wantDead)
			}
		})
	}
	t.Run("a dead-letter file that fails makes the write fail", func(t *testing.T) {
		dl, _ := sink.OpenDeadLetter(filepath.Join(t.TempDir(), "dead.jsonl"))
		dl.Close()
		s := sink.WithDeadLetter(failing(sink.Permanent(errors.New("400"))), "soar", dl)
		if err := s.Write(context.Background(), sinktest.Alerts(1, 1)); err == nil {
			t.Error("Write = nil although the alerts could not be dead-lettered")
		}
	})
	t.Run("Write after Close is ErrClosed, not dead-lettered", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "dead.jsonl")
		dl, _ := sink.OpenDeadLetter(path)
		defer dl.Close()
		s := sink.WithDeadLetter(&sinktest.Recorder{}, "soar", dl)
		s.Close(context.Background())
		if err := s.Write(context.Background(), sinktest.Alerts(1, 1)); !errors.Is(err, sink.ErrClosed) {
			t.Errorf("Write = %v, want ErrClosed", err)
		}
		if n := len(readDeadLetters(t, path)); n != 0 {
			t.Errorf("%d dead letters", n)
		}
	})
}
