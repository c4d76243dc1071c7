package history

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/stream"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if h10mDir != "" {
		os.RemoveAll(h10mDir) // the 10M-observation history of the benchmarks
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 27, 10, 5, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testLog writes the history's log lines to the test log.
type testLog struct{ t testing.TB }

func (w testLog) Write(p []byte) (int, error) { w.t.Helper(); w.t.Log(string(p)); return len(p), nil }

func logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// open opens a history in dir with a test clock; it is closed at cleanup.
// The flush ticker is slow so that tests decide when data is written.
func open(t testing.TB, dir string, c *clock, tune func(*Options)) *History {
	t.Helper()
	opt := Options{Dir: dir, Now: c.Now, FlushEvery: time.Hour, Log: logger(t)}
	if tune != nil {
		tune(&opt)
	}
	h, err := Open(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}

func flush(t testing.TB, h *History) {
	t.Helper()
	if err := h.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// netEvent is a DeviceNetworkEvents connection from device n of process
// proc to ip (may be "") and url (may be "").
func netEvent(n int, proc, ip, url string, ts time.Time, report int64) stream.Event {
	e := stream.Event{
		Table:              stream.TableDeviceNetworkEvents,
		Timestamp:          ts,
		TenantID:           "0f8fad5b-d9cb-469f-a165-70867728950e",
		DeviceID:           fmt.Sprintf("%040x", n+1),
		DeviceName:         fmt.Sprintf("ws-%04d.corp.example", n),
		ActionType:         "ConnectionSuccess",
		MachineGroup:       "Workstations",
		ReportID:           report,
		RemotePort:         443,
		RemoteURL:          url,
		ProcessFileName:    proc,
		ProcessFolderPath:  `c:\users\ana\appdata\local\temp\` + proc,
		ProcessSHA256:      "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		AccountName:        "ana",
		ProcessCommandLine: proc + " --beacon",
	}
	if ip != "" {
		e.RemoteIP = netip.MustParseAddr(ip).Unmap()
	}
	return e
}

func ind(kind match.Kind, value string) *match.Indicator {
	return &match.Indicator{Kind: kind, Value: value, Meta: &match.Meta{Source: "test-feed", Severity: "high", Where: "test:" + value}}
}

func buildIndex(t testing.TB, inds ...*match.Indicator) *match.Index {
	t.Helper()
	ix, err := match.Build(inds, match.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

// collector is a sink that keeps what it accepts.
type collector struct {
	mu     sync.Mutex
	alerts []sink.Alert
	fail   error
}

func (c *collector) Write(_ context.Context, a []sink.Alert) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return c.fail
	}
	c.alerts = append(c.alerts, a...)
	return nil
}

func (c *collector) Close(context.Context) error { return nil }

func (c *collector) got() []sink.Alert {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]sink.Alert(nil), c.alerts...)
}

// scanAll returns every observation the index matches, copied.
func scanAll(t testing.TB, h *History, q Query) []Observation {
	t.Helper()
	var out []Observation
	_, err := h.Scan(context.Background(), q, func(o *Observation, _ []match.Hit) error {
		out = append(out, cloneObs(o))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func cloneObs(o *Observation) Observation {
	c := *o
	for _, s := range []*string{&c.TenantID, &c.DeviceID, &c.DeviceName, &c.MachineGroup, &c.ActionType,
		&c.RemoteURL, &c.ProcessFileName, &c.ProcessFolderPath, &c.ProcessSHA256, &c.AccountName} {
		*s = string([]byte(*s))
	}
	return c
}

// observationOf is what the history should keep of e.
func observationOf(e *stream.Event) Observation {
	return Observation{
		Timestamp: e.Timestamp, Table: e.Table, TenantID: e.TenantID, DeviceID: e.DeviceID,
		DeviceName: e.DeviceName, MachineGroup: e.MachineGroup, ActionType: e.ActionType, ReportID: e.ReportID,
		RemoteIP: e.RemoteIP, RemotePort: e.RemotePort, RemoteURL: e.RemoteURL,
		ProcessFileName: e.ProcessFileName, ProcessFolderPath: e.ProcessFolderPath,
		ProcessSHA256: e.ProcessSHA256, AccountName: e.AccountName,
	}
}

// everything matches every IPv4 and IPv6 address and every URL with a
// host under one of the test TLDs.
func everything(t testing.TB) *match.Index {
	return buildIndex(t, ind(match.KindCIDR, "0.0.0.0/0"), ind(match.KindCIDR, "::/0"),
		ind(match.KindDomain, "example"), ind(match.KindDomain, "test"), ind(match.KindPattern, "/"))
}
