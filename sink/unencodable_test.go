package sink_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/internal/syncbuf"
	"github.com/iocwatch/iocwatch/sink"
)

// An alert its format cannot carry (a time past year 9999) is refused
// alone: docs/sinks.md lists it among the permanent refusals, and only the
// refused alerts go to the dead-letter file. The alerts written with it —
// which the queue may have merged from other partitions' batches — are
// delivered, not filed.
func TestAnAlertTheFormatCannotCarryIsDeadLetteredAlone(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) (sink.Sink, func() []string)
	}{
		{"kafka", func(t *testing.T) (sink.Sink, func() []string) {
			c := newKfake(t)
			addr := c.ListenAddrs()[0]
			k, err := sink.NewKafka(sink.KafkaOptions{Brokers: []string{addr}, Topic: kafkaTestTopic})
			if err != nil {
				t.Fatal(err)
			}
			return k, func() []string { return ids(kafkaAlerts(t, readTopic(t, addr, nil))) }
		}},
		{"syslog json over tcp", func(t *testing.T) (sink.Sink, func() []string) {
			r, s := newTestSyslog(t, "tcp", "json", nil)
			return s, func() []string {
				r.waitFrames(t, 2)
				return ids(r.rec.all())
			}
		}},
		{"file", func(t *testing.T) (sink.Sink, func() []string) {
			path := filepath.Join(t.TempDir(), "alerts.jsonl")
			f, err := sink.NewFile(path, sink.FileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return f, func() []string { return ids(readAlertLines(t, path)) }
		}},
		{"stdout", func(t *testing.T) (sink.Sink, func() []string) {
			var buf syncbuf.Buffer
			s, err := sink.NewStdout(&buf, sink.StdoutOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return s, func() []string { return ids(alertLines(t, buf.Bytes())) }
		}},
		{"webhook batch", func(t *testing.T) (sink.Sink, func() []string) {
			srv, got := poisonReceiver(t, nil)
			w, err := sink.NewWebhook(sink.WebhookOptions{URL: srv.URL, Batch: true})
			if err != nil {
				t.Fatal(err)
			}
			return w, got
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, delivered := tc.open(t)
			dl, dlPath := openTestDeadLetter(t)
			out := sink.WithDeadLetter(s, "siem", dl)
			alerts := idAlerts("good1", "unencodable", "good2")
			alerts[1].Timestamp = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
			if err := out.Write(context.Background(), alerts); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if err := out.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if dead := deadLetteredIDs(t, dlPath); !slices.Equal(dead, []string{"unencodable"}) {
				t.Errorf("dead-lettered %v, want only [unencodable]", dead)
			}
			got := delivered()
			slices.Sort(got)
			if !slices.Equal(got, []string{"good1", "good2"}) {
				t.Errorf("delivered %v, want [good1 good2]", got)
			}
		})
	}
}

// alertLines decodes JSON lines of native alerts.
func alertLines(t *testing.T, b []byte) []sink.Alert {
	t.Helper()
	var out []sink.Alert
	for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var a sink.Alert
		if err := json.Unmarshal(line, &a); err != nil {
			t.Fatalf("line %d: %v: %q", i+1, err, line)
		}
		out = append(out, a)
	}
	return out
}

// readAlertLines reads the alert lines of the file at path.
func readAlertLines(t *testing.T, path string) []sink.Alert {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return alertLines(t, b)
}
