package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/bench/gen"
	"github.com/iocwatch/iocwatch/config"
	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/stream"
	"github.com/iocwatch/iocwatch/stream/history"
)

// huntIndicators are planted in the generated stream; the pipeline that
// records it matches none of them (they are "added" later).
func huntIndicators() []*match.Indicator {
	return []*match.Indicator{
		{Kind: match.KindIP, Value: "203.0.113.77", Meta: &match.Meta{Source: "late-feed"}},
		{Kind: match.KindCIDR, Value: "198.51.100.0/28", Meta: &match.Meta{Source: "late-feed"}},
		{Kind: match.KindDomain, Value: "bad-cdn.example", Meta: &match.Meta{Source: "late-feed"}},
	}
}

// recordedStream writes a generated stream with planted hits to a file,
// runs the real pipeline over it with the history enabled (and an index
// that does not know the planted indicators), and returns the history's
// wiring (still open), the directory and the planted hits.
func recordedStream(t *testing.T) (hw *historyWiring, dir string, planted []gen.Planted) {
	t.Helper()
	tmp := t.TempDir()
	dir = filepath.Join(tmp, "history")
	events := filepath.Join(tmp, "events.jsonl")
	g := gen.New(gen.Options{Seed: 11, Indicators: huntIndicators(), HitRatio: 0.03,
		Start: time.Now().UTC().Add(-3 * time.Hour), Step: 2 * time.Second})
	var file bytes.Buffer
	var buf []byte
	for range 400 {
		var pl []gen.Planted
		buf, pl = g.Next(buf[:0])
		file.Write(buf)
		file.WriteByte('\n')
		planted = append(planted, pl...)
	}
	if err := os.WriteFile(events, file.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.History = config.History{Enabled: true, Path: dir, Retention: 24 * time.Hour, MaxMiB: 16}
	log := slog.New(slog.DiscardHandler)
	hw, err := openHistory(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hw.close(context.Background()) })
	src, err := stream.NewFileSource(stream.FileOptions{Paths: []string{events}})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close(context.Background())
	other, err := match.Build([]*match.Indicator{{Kind: match.KindDomain, Value: "unrelated.example", Meta: &match.Meta{}}}, match.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var holder atomic.Pointer[stream.Rules]
	holder.Store(&stream.Rules{Index: other})
	p := stream.New(src, &holder, &memSink{}, stream.Options{OnEvents: hw.onEvents(), Log: log})
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := hw.hist.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := hw.hist.Stats(); st.Written == 0 || st.DroppedBehind != 0 {
		t.Fatalf("history after the run: %+v", st)
	}
	return hw, dir, planted
}

type memSink struct {
	mu     sync.Mutex
	alerts []sink.Alert
}

func (m *memSink) Write(_ context.Context, a []sink.Alert) error {
	m.mu.Lock()
	m.alerts = append(m.alerts, a...)
	m.mu.Unlock()
	return nil
}
func (m *memSink) Close(context.Context) error { return nil }
func (m *memSink) got() []sink.Alert {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.alerts)
}

func runHunt(t *testing.T, terminal bool, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, stdoutIsTerminal: terminal}
	err := cmdHunt(context.Background(), env, args)
	switch {
	case err == nil:
	case errorsAsUsage(err):
		errOut.WriteString(err.Error())
		return exitUsage, out.String(), errOut.String()
	default:
		errOut.WriteString(err.Error())
		return exitFailure, out.String(), errOut.String()
	}
	return exitOK, out.String(), errOut.String()
}

func errorsAsUsage(err error) bool { return errors.As(err, new(usageError)) }

func parseHuntLines(t *testing.T, stdout string) []huntLine {
	t.Helper()
	var lines []huntLine
	dec := json.NewDecoder(strings.NewReader(stdout))
	for {
		var l huntLine
		if err := dec.Decode(&l); err == io.EOF {
			return lines
		} else if err != nil {
			t.Fatalf("hunt output is not JSON lines: %v\n%s", err, stdout)
		}
		lines = append(lines, l)
	}
}

func TestHuntFindsExactlyThePlantedObservationsOfARealPipelineRun(t *testing.T) {
	hw, dir, planted := recordedStream(t)
	if err := hw.close(context.Background()); err != nil { // as if iocwatch had stopped
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, p := range planted {
		if p.Value == "203.0.113.77" || p.Value == "bad-cdn.example" {
			want[p.DeviceID+" "+itoa64(p.ReportID)+" "+p.Value] = true
		}
	}
	if len(want) < 10 {
		t.Fatalf("only %d planted hits: the stream is too sparse", len(want))
	}
	code, stdout, stderr := runHunt(t, false, "--history", dir, "203.0.113.77", "BAD-CDN.example")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := map[string]bool{}
	for _, l := range parseHuntLines(t, stdout) {
		if len(l.Matched) != 1 {
			t.Fatalf("want one match per line: %+v", l)
		}
		got[l.DeviceID+" "+itoa64(l.ReportID)+" "+l.Matched[0].Value] = true
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("hunt found %d observations, %d were planted", len(got), len(want))
	}
	if !strings.Contains(stderr, itoa64(int64(len(want)))+" matching observations") {
		t.Errorf("summary: %s", stderr)
	}
}

func TestHuntHonoursSinceAndUntil(t *testing.T) {
	hw, dir, _ := recordedStream(t)
	defer hw.close(context.Background())
	// While the writer still holds the directory: hunt only reads.
	_, stdout, _ := runHunt(t, false, "--history", dir, "198.51.100.0/28")
	all := parseHuntLines(t, stdout)
	if len(all) < 6 {
		t.Fatalf("only %d observations in the /28", len(all))
	}
	// Observations come in write order; the window is cut by event time.
	stamps := make([]time.Time, len(all))
	for i, l := range all {
		stamps[i] = l.Timestamp
	}
	slices.SortFunc(stamps, time.Time.Compare)
	mid, end := stamps[len(stamps)/2], stamps[len(stamps)-2]
	since := mid.Format(time.RFC3339Nano)
	until := end.Format(time.RFC3339Nano)
	code, stdout, stderr := runHunt(t, false, "--history", dir, "--since", since, "--until", until, "198.51.100.0/28")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var want []int64
	for _, l := range all {
		if !l.Timestamp.Before(mid) && l.Timestamp.Before(end) {
			want = append(want, l.ReportID)
		}
	}
	var got []int64
	for _, l := range parseHuntLines(t, stdout) {
		got = append(got, l.ReportID)
	}
	if len(want) == 0 || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestHuntPrintsATableOnATerminal(t *testing.T) {
	hw, dir, _ := recordedStream(t)
	defer hw.close(context.Background())
	code, stdout, stderr := runHunt(t, true, "--history", dir, "203.0.113.77")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "TIME (UTC)") || !strings.Contains(lines[1], "ip 203.0.113.77") ||
		!strings.Contains(lines[1], "203.0.113.77:") || strings.HasPrefix(lines[1], "{") {
		t.Fatalf("not a table:\n%s", stdout)
	}
}

func TestHuntRefusesBadCommandLines(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no value", []string{"--history", dir}, "name at least one"},
		{"a value that is no indicator", []string{"--history", dir, "not a value!"}, `VALUE "not a value!"`},
		{"no history named", []string{"203.0.113.77"}, "no history to search"},
		{"since after until", []string{"--history", dir, "--since", "1h", "--until", "2h", "203.0.113.77"}, "is not before --until"},
		{"a bad bound", []string{"--history", dir, "--since", "yesterday", "203.0.113.77"}, `--since "yesterday"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runHunt(t, false, tc.args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, %q; want usage error containing %q", code, stderr, tc.want)
			}
		})
	}
	if code, _, stderr := runHunt(t, false, "--history", filepath.Join(dir, "missing"), "203.0.113.77"); code != exitUsage || !strings.Contains(stderr, "missing") {
		t.Fatalf("a missing history: exit %d, %s", code, stderr)
	}
	// A directory that is no history (a mistyped path) is a usage error,
	// as a missing one is, not "0 matching observations".
	if code, _, stderr := runHunt(t, false, "--history", dir, "203.0.113.77"); code != exitUsage || !strings.Contains(stderr, "holds no iocwatch history") {
		t.Fatalf("a directory that is no history: exit %d, %s", code, stderr)
	}
}

// The wiring run uses: a reload that adds the planted indicators gives
// retro alerts through the sink, one per device × indicator after the
// suppressor.
func TestAReloadAddingIndicatorsRetroHuntsTheRecordedStream(t *testing.T) {
	hw, _, planted := recordedStream(t)
	col := &memSink{}
	out := sink.NewSuppressor(col, sink.SuppressOptions{Window: 10 * time.Minute})
	defer out.Close(context.Background())
	var holder atomic.Pointer[stream.Rules]
	inds := huntIndicators()[:1]
	ix, err := match.Build(inds, match.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	holder.Store(&stream.Rules{Index: ix})
	if err := hw.start(out, &holder, nil, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC()
	hw.submit(ix, inds, at)
	devices := map[string]bool{}
	for _, p := range planted {
		if p.Value == "203.0.113.77" && !p.Excluded {
			devices[p.DeviceID] = true
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(col.got()) < len(devices) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	got := col.got()
	seen := map[string]bool{}
	for _, a := range got {
		if !a.Retro || !a.IndicatorAddedAt.Equal(at) || a.Indicator.Value != "203.0.113.77" || seen[a.DeviceID] {
			t.Fatalf("unexpected alert %+v", a)
		}
		seen[a.DeviceID] = true
	}
	if !reflect.DeepEqual(seen, devices) {
		t.Fatalf("retro alerts for %d devices, %d devices contacted the address", len(seen), len(devices))
	}
}

func TestReplaysWindowFlagsWrapTheSourceOnlyWithABound(t *testing.T) {
	src := &stream.FileSource{}
	var none windowFlags
	if got, err := none.wrap(src, time.Now()); err != nil || got != stream.Source(src) {
		t.Fatalf("no bound: %v %v", got, err)
	}
	bad := windowFlags{since: "soon"}
	if _, err := bad.wrap(src, time.Now()); err == nil || !errorsAsUsage(err) {
		t.Fatalf("a bad bound must be a usage error: %v", err)
	}
	w := windowFlags{since: "24h"}
	if got, err := w.wrap(src, time.Now()); err != nil || got == stream.Source(src) {
		t.Fatalf("with a bound: %v %v", got, err)
	}
	var b bytes.Buffer
	w.summary(&b)
	if !strings.Contains(b.String(), "0 events inside") {
		t.Fatalf("summary %q", b.String())
	}
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// A damaged segment is read as far as it parses and named on stderr; the
// hunt goes on and exits 0.
func TestHuntReportsADamagedSegmentByName(t *testing.T) {
	hw, dir, _ := recordedStream(t)
	if err := hw.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(logs) == 0 {
		t.Fatal("no segment written")
	}
	data, err := os.ReadFile(logs[0])
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff // a flipped byte in the middle of the segment
	if err := os.WriteFile(logs[0], data, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runHunt(t, false, "--history", dir, "203.0.113.77")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, filepath.Base(logs[0])) || !strings.Contains(stderr, "matching observations") {
		t.Fatalf("the damaged segment is not named on stderr:\n%s", stderr)
	}
}

// A history iocwatch may not read — its directory or a segment — fails the
// hunt (exit 1) with the path and the permission problem, instead of
// "holds no iocwatch history" or an empty result. Root reads everything:
// the test needs another user (stream/history tests the same as root).
func TestHuntReportsAHistoryItMayNotReadByPath(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may read any file: run as another user")
	}
	hw, dir, _ := recordedStream(t)
	if err := hw.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(logs) == 0 {
		t.Fatal("no segment written")
	}
	for _, tc := range []struct {
		name string
		path string
		mode os.FileMode // what path is made, restored after
	}{
		{"a directory that cannot be listed", dir, 0o300},
		{"a segment that cannot be read", logs[0], 0o200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fi, err := os.Stat(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(tc.path, tc.mode); err != nil {
				t.Fatal(err)
			}
			defer os.Chmod(tc.path, fi.Mode().Perm())
			if tc.path == logs[0] {
				// Without its index the segment is read at once.
				os.Remove(strings.TrimSuffix(logs[0], ".log") + ".idx")
			}
			code, stdout, stderr := runHunt(t, false, "--history", dir, "203.0.113.77")
			if code != exitFailure || !strings.Contains(stderr, tc.path) || !strings.Contains(stderr, "permission denied") || stdout != "" {
				t.Fatalf("exit %d, stderr %q, stdout %q; want exit 1 naming %s and the permission problem", code, stderr, stdout, tc.path)
			}
		})
	}
}

// writeHistory records batches into a new history, one block each, and
// returns its directory.
func writeHistory(t *testing.T, batches ...[]stream.Event) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "history")
	h, err := history.Open(history.Options{Dir: dir, FlushEvery: time.Hour, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		h.Record(b)
		if err := h.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	return dir
}

// huntEvent is a connection of device n to ip at ts (zero: none).
func huntEvent(n int, ip string, ts time.Time) stream.Event {
	return stream.Event{
		Table: stream.TableDeviceNetworkEvents, Timestamp: ts, DeviceID: fmt.Sprintf("%040x", n),
		DeviceName: fmt.Sprintf("ws-%02d", n), ActionType: "ConnectionSuccess", ReportID: int64(n),
		RemoteIP: netip.MustParseAddr(ip), RemotePort: 443, ProcessFileName: "rundll32.exe", AccountName: "ana",
	}
}

// The table is sorted by event time (observations without one last, ties
// in recording order), whatever order the observations were recorded in —
// several partitions, a replay of older events; JSON lines come in
// recording order, as the docs say.
func TestHuntsTableIsSortedByTimeAndItsJSONInRecordingOrder(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	dir := writeHistory(t,
		[]stream.Event{huntEvent(1, "203.0.113.77", at(5)), huntEvent(2, "203.0.113.77", at(1)), huntEvent(3, "203.0.113.77", time.Time{})},
		[]stream.Event{huntEvent(4, "203.0.113.77", at(3)), huntEvent(5, "203.0.113.77", at(-10)), huntEvent(6, "198.51.100.1", at(0))},
		[]stream.Event{huntEvent(7, "203.0.113.77", at(3)), huntEvent(8, "203.0.113.77", at(2))},
	)
	for _, tc := range []struct {
		name string
		args []string
		want []string // devices, in order
	}{
		{"table", []string{"--table"}, []string{"ws-05", "ws-02", "ws-08", "ws-04", "ws-07", "ws-01", "ws-03"}},
		{"JSON lines", []string{"--json"}, []string{"ws-01", "ws-02", "ws-03", "ws-04", "ws-05", "ws-07", "ws-08"}},
		{"table within a window", []string{"--table", "--since", at(2).Format(time.RFC3339)}, []string{"ws-08", "ws-04", "ws-07", "ws-01"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runHunt(t, false, append(append([]string{"--history", dir}, tc.args...), "203.0.113.77")...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var got []string
			if strings.HasPrefix(stdout, "TIME (UTC)") {
				for _, row := range strings.Split(strings.TrimSpace(stdout), "\n")[1:] {
					f := strings.Fields(row)
					if f[0] == "-" {
						got = append(got, f[1])
					} else {
						got = append(got, f[2])
					}
				}
			} else {
				for _, l := range parseHuntLines(t, stdout) {
					got = append(got, l.DeviceName)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("devices in order %v, want %v:\n%s", got, tc.want, stdout)
			}
		})
	}
}

// A damaged block in the middle of a segment loses its own observations
// only: the hunt reads on to the next block, names the segment and counts
// the damage on stderr, and exits 0.
func TestHuntReadsOnPastADamagedBlock(t *testing.T) {
	const blocks, per = 8, 8
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	var batches [][]stream.Event
	for b := range blocks {
		var batch []stream.Event
		for i := range per {
			n := b*per + i
			e := huntEvent(1+i%4, "203.0.113.77", t0.Add(time.Duration(n)*time.Second))
			e.ReportID = int64(n)
			batch = append(batch, e)
		}
		batches = append(batches, batch)
	}
	dir := writeHistory(t, batches...)
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(logs) != 1 {
		t.Fatalf("segments: %v", logs)
	}
	data, err := os.ReadFile(logs[0])
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(logs[0], data, 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runHunt(t, false, "--history", dir, "203.0.113.77")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	seen := map[int64]bool{}
	for _, l := range parseHuntLines(t, stdout) {
		seen[l.ReportID] = true
	}
	// One whole block is missing, the blocks after it are there.
	var missing []int64
	for n := range int64(blocks * per) {
		if !seen[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) != per || missing[0]%per != 0 || missing[per-1] != missing[0]+per-1 || !seen[blocks*per-1] {
		t.Fatalf("observations missing: %v; want the %d of the damaged block alone", missing, per)
	}
	if !strings.Contains(stderr, logs[0]) || !strings.Contains(stderr, "passed over in 1 place,") {
		t.Fatalf("the damage is not reported with the segment's name:\n%s", stderr)
	}
}
