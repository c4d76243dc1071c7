package history

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/stream"
)

// The events whose every kept field must come back from the history as it
// went in: the forms the decoder produces.
func sampleEvents(at time.Time) []stream.Event {
	v6 := netEvent(2, "chrome.exe", "2a02:cf40::7", "", at.Add(time.Second), 18984951961)
	dev := netEvent(3, "msedge.exe", "", "https://Login.Example/path?q=1", at.Add(2*time.Second), 18984951962)
	dev.Table, dev.ActionType, dev.FileName = stream.TableDeviceEvents, "BrowserLaunchedToOpenUrl", "setup.msi"
	noTime := netEvent(4, "curl.exe", "198.51.100.9", "cdn.example", time.Time{}, 1)
	noTime.RemotePort = 0
	mojibake := netEvent(5, "zoë\xff.exe", "203.0.113.5", "münchen.example", at.Add(-time.Hour), -42)
	mojibake.AccountName, mojibake.MachineGroup, mojibake.TenantID = "josé", "", ""
	return []stream.Event{
		netEvent(1, "rundll32.exe", "203.0.113.77", "update.bad-cdn.example", at, 18984951960),
		v6, dev, noTime, mojibake,
		// Same device, process and remote values again: dictionary hits.
		netEvent(1, "rundll32.exe", "203.0.113.77", "update.bad-cdn.example", at.Add(3*time.Second), 18984951963),
	}
}

func TestRecordedObservationsComeBackWithEveryKeptField(t *testing.T) {
	c := newClock()
	dir := t.TempDir()
	h := open(t, dir, c, nil)
	events := sampleEvents(c.Now())
	h.Record(events)
	flush(t, h)
	want := make([]Observation, len(events))
	for i := range events {
		want[i] = observationOf(&events[i])
	}
	check := func(h *History, when string) {
		got := scanAll(t, h, Query{Index: everything(t)})
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: observations differ\n got: %+v\nwant: %+v", when, got, want)
		}
	}
	check(h, "from the segment being written")
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	h2 := open(t, dir, c, nil)
	check(h2, "after close and reopen")
	st := h2.Stats()
	if st.Observations != uint64(len(events)) || st.Segments != 1 {
		t.Errorf("stats after reopen: %+v", st)
	}
	if !st.Oldest.Equal(c.Now().Add(-time.Hour)) || !st.Newest.Equal(c.Now().Add(3*time.Second)) {
		t.Errorf("time range %v … %v", st.Oldest, st.Newest)
	}
}

func TestOnlyEventsWithARemoteAddressOrURLAreRecorded(t *testing.T) {
	c := newClock()
	h := open(t, t.TempDir(), c, nil)
	local := netEvent(1, "svchost.exe", "", "", c.Now(), 1)
	h.Record([]stream.Event{local, netEvent(2, "a.exe", "192.0.2.1", "", c.Now(), 2)})
	flush(t, h)
	if st := h.Stats(); st.Recorded != 1 || st.Written != 1 {
		t.Fatalf("recorded %d, written %d; want 1 and 1", st.Recorded, st.Written)
	}
}

func TestRecordKeepsNoReferenceToTheEventsBuffer(t *testing.T) {
	c := newClock()
	h := open(t, t.TempDir(), c, nil)
	buf := []byte("ws-0001.corp.example")
	e := netEvent(1, "a.exe", "192.0.2.1", "", c.Now(), 1)
	e.DeviceName = string(buf) // a copy, but overwrite the event's source below anyway
	events := []stream.Event{e}
	h.Record(events)
	events[0].DeviceName = "overwritten"
	events[0].RemoteIP = netip.MustParseAddr("192.0.2.99")
	flush(t, h)
	got := scanAll(t, h, Query{Index: everything(t)})
	if len(got) != 1 || got[0].DeviceName != "ws-0001.corp.example" || got[0].RemoteIP.String() != "192.0.2.1" {
		t.Fatalf("got %+v", got)
	}
}

func TestRetentionDropsWholeSegmentsOldestFirstAndCountsThem(t *testing.T) {
	c := newClock()
	h := open(t, t.TempDir(), c, func(o *Options) { o.Retention = time.Hour; o.SegmentSpan = 10 * time.Minute })
	// Six segments, ten minutes apart, of 3 observations each.
	for seg := range 6 {
		var evs []stream.Event
		for i := range 3 {
			evs = append(evs, netEvent(i, "a.exe", "192.0.2.1", "", c.Now(), int64(seg*10+i)))
		}
		h.Record(evs)
		flush(t, h)
		c.Add(10 * time.Minute)
	}
	flush(t, h) // seals the last one (it is 10 minutes old)
	if st := h.Stats(); st.Segments != 6 || st.ExpiredRetention != 0 {
		t.Fatalf("before expiry: %+v", st)
	}
	// Now is 60 min after the first write: segments recorded more than an
	// hour ago go, one by one as time passes.
	c.Add(time.Minute)
	flush(t, h)
	st := h.Stats()
	if st.Segments != 5 || st.ExpiredRetention != 3 || st.Observations != 15 {
		t.Fatalf("after the first segment expired: %+v", st)
	}
	got := scanAll(t, h, Query{Index: everything(t)})
	if len(got) != 15 || got[0].ReportID != 10 {
		t.Fatalf("the oldest observations must go first; got %d, first ReportId %d", len(got), got[0].ReportID)
	}
	c.Add(2 * time.Hour)
	flush(t, h)
	if st := h.Stats(); st.Segments != 0 || st.ExpiredRetention != 18 || st.Bytes != 0 {
		t.Fatalf("after everything expired: %+v", st)
	}
	if ents, _ := filepath.Glob(filepath.Join(h.dir, "*.log")); len(ents) != 0 {
		t.Fatalf("segment files left: %v", ents)
	}
}

func TestTheSizeCapDropsTheOldestSegmentsAndCountsThem(t *testing.T) {
	c := newClock()
	const maxBytes = 64 << 10
	h := open(t, t.TempDir(), c, func(o *Options) { o.MaxBytes = maxBytes; o.SegmentBytes = 8 << 10; o.BufferRecords = 64 })
	var report int64
	for range 100 {
		var evs []stream.Event
		for i := range 50 {
			report++
			// Distinct URLs so that the history grows.
			evs = append(evs, netEvent(i%7, "a.exe", "192.0.2.1", "https://h"+strconv.FormatInt(report, 10)+".example/x", c.Now(), report))
		}
		h.Record(evs)
		flush(t, h)
		if st := h.Stats(); st.Bytes > maxBytes {
			t.Fatalf("%d bytes on disk, over the cap of %d", st.Bytes, maxBytes)
		}
		c.Add(time.Second)
	}
	st := h.Stats()
	if st.ExpiredSize == 0 || st.Written != 5000 || st.ExpiredSize+st.Observations != 5000 {
		t.Fatalf("every written observation is held or counted as dropped for size: %+v", st)
	}
	got := scanAll(t, h, Query{Index: everything(t)})
	if uint64(len(got)) != st.Observations || got[len(got)-1].ReportID != 5000 || got[0].ReportID != int64(5000-len(got)+1) {
		t.Fatalf("the newest observations must be kept: %d held, ReportIds %d … %d", len(got), got[0].ReportID, got[len(got)-1].ReportID)
	}
}

func TestAWriterThatFallsBehindDropsAndCountsNeverBlocks(t *testing.T) {
	c := newClock()
	h := open(t, t.TempDir(), c, func(o *Options) { o.BufferRecords = 10; o.QueueBuffers = 2 })
	// Hold the writer: its first write waits for the segment lock.
	h.smu.Lock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 100 {
			h.Record([]stream.Event{netEvent(1, "a.exe", "192.0.2.1", "", c.Now(), int64(i))})
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		h.smu.Unlock()
		t.Fatal("Record blocked while the writer was stuck")
	}
	h.smu.Unlock()
	flush(t, h)
	st := h.Stats()
	if st.Recorded != 100 || st.DroppedBehind == 0 || st.Written+st.DroppedBehind != 100 {
		t.Fatalf("every observation is written or counted as dropped: %+v", st)
	}
}

func TestOversizedObservationsAreCountedNotRecorded(t *testing.T) {
	c := newClock()
	h := open(t, t.TempDir(), c, nil)
	e := netEvent(1, "a.exe", "192.0.2.1", "http://x.example/"+strings.Repeat("a", maxRecordStrings), c.Now(), 1)
	h.Record([]stream.Event{e})
	flush(t, h)
	if st := h.Stats(); st.DroppedOversized != 1 || st.Written != 0 {
		t.Fatalf("%+v", st)
	}
}

func TestOpenCutsOffATornTailAndRebuildsTheIndex(t *testing.T) {
	c := newClock()
	dir := t.TempDir()
	h := open(t, dir, c, nil)
	h.Record(sampleEvents(c.Now())[:2])
	flush(t, h)
	h.Record(sampleEvents(c.Now())[2:])
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(logs) != 1 {
		t.Fatalf("segments: %v", logs)
	}
	// A crash in the middle of the second block: its tail is missing and
	// the segment was never sealed.
	st, _ := os.Stat(logs[0])
	if err := os.Truncate(logs[0], st.Size()-5); err != nil {
		t.Fatal(err)
	}
	os.Remove(strings.TrimSuffix(logs[0], logExt) + idxExt)

	h2 := open(t, dir, c, nil)
	got := scanAll(t, h2, Query{Index: everything(t)})
	if len(got) != 2 {
		t.Fatalf("the first block's 2 observations survive; got %d", len(got))
	}
	if _, err := os.Stat(strings.TrimSuffix(logs[0], logExt) + idxExt); err != nil {
		t.Fatalf("index not rebuilt: %v", err)
	}
	// New observations go to a new segment; both are read.
	h2.Record(sampleEvents(c.Now())[:1])
	flush(t, h2)
	if got := scanAll(t, h2, Query{Index: everything(t)}); len(got) != 3 {
		t.Fatalf("got %d observations, want 3", len(got))
	}
}

func TestADamagedIndexIsRebuiltFromItsSegment(t *testing.T) {
	c := newClock()
	dir := t.TempDir()
	h := open(t, dir, c, nil)
	h.Record(sampleEvents(c.Now()))
	h.Close(context.Background())
	idx, _ := filepath.Glob(filepath.Join(dir, "*.idx"))
	if len(idx) != 1 {
		t.Fatalf("indexes: %v", idx)
	}
	os.WriteFile(idx[0], []byte("IOCWHX01 garbage that fails its checksum"), 0o600)
	h2 := open(t, dir, c, nil)
	if got := scanAll(t, h2, Query{Index: everything(t)}); len(got) != 6 {
		t.Fatalf("got %d observations, want 6", len(got))
	}
	data, _ := os.ReadFile(idx[0])
	if m, err := decodeIdx(data, idx[0]); err != nil || m.count != 6 {
		t.Fatalf("index not rebuilt: %v, %+v", err, m)
	}
}

func TestASegmentThatIsNotASegmentIsRemovedAtOpen(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "0000000000000000.log")
	os.WriteFile(bad, []byte("not a segment"), 0o600)
	h := open(t, dir, newClock(), nil)
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Fatalf("bad segment kept: %v", err)
	}
	if st := h.Stats(); st.Segments != 0 {
		t.Fatalf("%+v", st)
	}
}

func TestASecondWriterOfTheSameDirectoryIsRefused(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("advisory locks are Unix-only")
	}
	dir := t.TempDir()
	open(t, dir, newClock(), nil)
	_, err := Open(Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "in use by another iocwatch process") {
		t.Fatalf("got %v", err)
	}
}

func TestAReadOnlyHistoryReadsAnotherWritersFilesWithoutChangingThem(t *testing.T) {
	c := newClock()
	dir := t.TempDir()
	w := open(t, dir, c, nil)
	w.Record(sampleEvents(c.Now()))
	flush(t, w) // on disk, segment not sealed: no index yet
	r, err := Open(Options{Dir: dir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := scanAll(t, r, Query{Index: everything(t)}); len(got) != 6 {
		t.Fatalf("read-only scan found %d, want 6", len(got))
	}
	if _, err := r.Hunt(context.Background(), nil, nil, nil); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Hunt on a read-only history: %v", err)
	}
	if idx, _ := filepath.Glob(filepath.Join(dir, "*.idx")); len(idx) != 0 {
		t.Fatalf("the reader wrote %v", idx)
	}
	r.Record(sampleEvents(c.Now())) // a no-op
	if st := r.Stats(); st.Recorded != 0 || st.Observations != 6 {
		t.Fatalf("%+v", st)
	}
}

func TestCloseIsSafeTwiceAndRecordAfterCloseDoesNothing(t *testing.T) {
	c := newClock()
	h := open(t, t.TempDir(), c, nil)
	h.Record(sampleEvents(c.Now()))
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.Record(sampleEvents(c.Now()))
	if st := h.Stats(); st.Recorded != 6 || st.Written != 6 {
		t.Fatalf("%+v", st)
	}
}

func TestTheFlushTickerWritesAQuietStream(t *testing.T) {
	c := newClock()
	h := open(t, t.TempDir(), c, func(o *Options) { o.FlushEvery = 10 * time.Millisecond })
	h.Record(sampleEvents(c.Now())[:1])
	deadline := time.Now().Add(30 * time.Second)
	for h.Stats().Written != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the observation was not written by the ticker")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestScanHonoursTheTimeWindow(t *testing.T) {
	c := newClock()
	h := open(t, t.TempDir(), c, func(o *Options) { o.BufferRecords = 2 })
	t0 := c.Now()
	var evs []stream.Event
	for i := range 10 {
		evs = append(evs, netEvent(i, "a.exe", "192.0.2.1", "", t0.Add(time.Duration(i)*time.Minute), int64(i)))
	}
	evs = append(evs, netEvent(99, "a.exe", "192.0.2.1", "", time.Time{}, 99))
	h.Record(evs)
	flush(t, h)
	ix := buildIndex(t, ind(match.KindIP, "192.0.2.1"))
	for _, tc := range []struct {
		name         string
		since, until time.Time
		want         []int64
	}{
		{"no bounds include the observation without a time", time.Time{}, time.Time{}, []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 99}},
		{"since is inclusive", t0.Add(7 * time.Minute), time.Time{}, []int64{7, 8, 9}},
		{"until is exclusive", time.Time{}, t0.Add(2 * time.Minute), []int64{0, 1}},
		{"both", t0.Add(3 * time.Minute), t0.Add(5 * time.Minute), []int64{3, 4}},
		{"a window after everything is empty", t0.Add(time.Hour), time.Time{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []int64
			for _, o := range scanAll(t, h, Query{Index: ix, Since: tc.since, Until: tc.until}) {
				got = append(got, o.ReportID)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// A busy stream must not keep Flush (and so a hunt) from returning.
func TestFlushReturnsWhileEventsKeepArriving(t *testing.T) {
	c := newClock()
	h := open(t, t.TempDir(), c, func(o *Options) { o.BufferRecords = 16 })
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		evs := sampleEvents(c.Now())
		for {
			select {
			case <-stop:
				return
			default:
				h.Record(evs)
			}
		}
	}()
	for range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := h.Flush(ctx)
		cancel()
		if err != nil {
			close(stop)
			<-done
			t.Fatalf("Flush did not return under load: %v", err)
		}
	}
	close(stop)
	<-done
}

func TestASegmentACrashLeftEmptyIsRemovedAndWritingGoesOn(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "0000000000000000.log")
	os.WriteFile(empty, append([]byte(segMagic), make([]byte, 8)...), 0o600)
	c := newClock()
	h := open(t, dir, c, nil)
	h.Record(sampleEvents(c.Now()))
	flush(t, h)
	if st := h.Stats(); st.Written != 6 || st.WriteErrors != 0 || st.Observations != 6 {
		t.Fatalf("%+v", st)
	}
}

// A full disk at start: the index of the segment a crash left unsealed
// cannot be written. It is derived data: the writer must still start, and
// the segment must still be read.
func TestAnIndexThatCannotBeRebuiltDoesNotKeepTheWriterFromStarting(t *testing.T) {
	c := newClock()
	dir := t.TempDir()
	h := open(t, dir, c, nil)
	h.Record(sampleEvents(c.Now()))
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	idx, _ := filepath.Glob(filepath.Join(dir, "*"+idxExt))
	if len(idx) != 1 {
		t.Fatalf("indexes: %v", idx)
	}
	os.Remove(idx[0])
	// The index's temporary file cannot be created, as on a full disk.
	if err := os.Mkdir(idx[0]+".tmp", 0o700); err != nil {
		t.Fatal(err)
	}
	h2, err := Open(Options{Dir: dir, Now: c.Now, FlushEvery: time.Hour, Log: logger(t)})
	if err != nil {
		t.Fatalf("Open refused to start: %v", err)
	}
	defer h2.Close(context.Background())
	if got := scanAll(t, h2, Query{Index: everything(t)}); len(got) != 6 {
		t.Fatalf("got %d observations, want 6", len(got))
	}
	h2.Record(sampleEvents(c.Now())[:1])
	flush(t, h2)
	if st := h2.Stats(); st.Observations != 7 || st.WriteErrors != 0 {
		t.Fatalf("%+v", st)
	}
}

// `iocwatch hunt` reads with a read-only History: a damaged segment (one
// the writer no longer appends to) is skipped or read as far as it parses,
// and said so, by name — not silently left out.
func TestAReadOnlyScanReportsDamagedSegmentsByName(t *testing.T) {
	c := newClock()
	dir := t.TempDir()
	w := open(t, dir, c, func(o *Options) { o.SegmentSpan = time.Minute })
	for range 4 {
		w.Record(sampleEvents(c.Now()))
		flush(t, w)
		c.Add(2 * time.Minute)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*"+logExt))
	if len(logs) != 4 {
		t.Fatalf("segments: %v", logs)
	}
	if err := os.WriteFile(logs[1], []byte("not a segment"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(logs[2])
	if err := os.Truncate(logs[2], st.Size()-3); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	r, err := Open(Options{Dir: dir, ReadOnly: true, Log: slog.New(slog.NewTextHandler(&out, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if got := scanAll(t, r, Query{Index: everything(t)}); len(got) != 12 {
		t.Fatalf("got %d observations, want the 12 of the two intact segments", len(got))
	}
	for _, bad := range logs[1:3] {
		if !strings.Contains(out.String(), bad) {
			t.Errorf("the damaged segment %s is not reported; log:\n%s", bad, out.String())
		}
	}
	for _, good := range []string{logs[0], logs[3]} {
		if strings.Contains(out.String(), good) {
			t.Errorf("the intact segment %s is reported; log:\n%s", good, out.String())
		}
	}
}
