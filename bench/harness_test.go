package bench

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/bench/reference"
	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/stream"
)

// smallWorkload is a workload the tests run in well under a second; its
// hit ratio is high so that every kind of hit occurs many times.
func smallWorkload() Workload {
	w := StandardWorkload()
	w.Name, w.Size, w.HitRatio, w.Records, w.BenignHosts = "small", 300, 0.1, 4000, 500
	return w
}

func TestReferencePipelinesFindTheSameAlertsAsIocwatch(t *testing.T) {
	for _, w := range []Workload{smallWorkload(), func() Workload {
		w := smallWorkload()
		w.Name, w.IPv6Share, w.RecordsPerMessage, w.ExtraColumnBytes = "ipv6-bare-wide", 0.6, 1, 1500
		return w
	}()} {
		t.Run(w.Name, func(t *testing.T) {
			inds := w.Indicators()
			c := NewCorpus(w, inds)
			path := filepath.Join(t.TempDir(), "corpus.jsonl")
			if err := c.WriteFile(path); err != nil {
				t.Fatal(err)
			}
			ix, err := match.Build(inds, match.BuildOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			ioc := &CountingSink{Keep: true}
			res, err := RunPipeline(ctx, []string{path}, ix, 2, ioc)
			if err != nil {
				t.Fatal(err)
			}
			if res.Records != int64(c.Records) {
				t.Fatalf("iocwatch saw %d records, the corpus has %d", res.Records, c.Records)
			}
			want := ioc.Keys()
			// Every planted hit is found.
			found := map[int64]bool{}
			for k := range want {
				found[k.ReportID] = true
			}
			for _, p := range c.Planted {
				if !found[p.ReportID] {
					t.Fatalf("iocwatch missed the planted hit %+v", p)
				}
			}
			if len(c.Planted) < c.Records/20 {
				t.Fatalf("only %d planted hits in %d records", len(c.Planted), c.Records)
			}
			fields := map[string]int{}
			for k := range want {
				fields[k.Field+"/"+k.Kind]++
			}
			for _, f := range []string{"RemoteIP/ip", "RemoteIP/cidr", "RemoteUrl/domain", "RemoteUrl/url"} {
				if fields[f] == 0 {
					t.Errorf("no %s alert in the workload: %v", f, fields)
				}
			}
			for _, name := range []string{"fast", "naive"} {
				p, err := NewReference(name, inds)
				if err != nil {
					t.Fatal(err)
				}
				got := &CountingSink{Keep: true}
				rres, err := RunReference(ctx, []string{path}, p, got)
				if err != nil {
					t.Fatal(err)
				}
				if rres.Records != res.Records || rres.Alerts != res.Alerts {
					t.Errorf("%s: %d records, %d alerts; iocwatch %d, %d", name, rres.Records, rres.Alerts, res.Records, res.Alerts)
				}
				diff(t, name, want, got.Keys())
			}
		})
	}
}

func diff(t *testing.T, name string, want, got map[AlertKey]int) {
	t.Helper()
	n := 0
	for k, v := range want {
		if got[k] != v && n < 5 {
			t.Errorf("%s: alert %+v ×%d, iocwatch ×%d", name, k, got[k], v)
			n++
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok && n < 5 {
			t.Errorf("%s: alert %+v ×%d that iocwatch does not give", name, k, v)
			n++
		}
	}
}

func TestDecodersAgreeOnEveryEvent(t *testing.T) {
	w := smallWorkload()
	w.ExtraColumnBytes = 400
	c := NewCorpus(w, w.Indicators())
	decs := map[string]interface {
		Decode([]byte, []stream.Event) ([]stream.Event, int, error)
	}{}
	for _, n := range DecoderNames {
		d, err := NewDecoder(n)
		if err != nil {
			t.Fatal(err)
		}
		decs[n] = d
	}
	for i, m := range c.Messages {
		want, n0, err := decs["iocwatch"].Decode(m, nil)
		if err != nil || n0 != w.RecordsPerMessage {
			t.Fatalf("message %d: iocwatch: %d records, %v", i, n0, err)
		}
		for _, name := range DecoderNames[1:] {
			got, n, err := decs[name].Decode(m, nil)
			if err != nil || n != n0 || len(got) != len(want) {
				t.Fatalf("message %d: %s: %d records, %d events, %v; want %d, %d", i, name, n, len(got), err, n0, len(want))
			}
			for j := range got {
				if fmt.Sprint(got[j]) != fmt.Sprint(want[j]) {
					t.Fatalf("message %d event %d: %s gives\n%+v\niocwatch\n%+v", i, j, name, got[j], want[j])
				}
			}
		}
	}
}

func TestLookupSetsHitAndMissAsLabelled(t *testing.T) {
	inds := StandardWorkload().With("t", 2000).Indicators()
	ix, err := match.Build(inds, match.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fast, err := NewReference("fast", inds)
	if err != nil {
		t.Fatal(err)
	}
	sets := LookupSets(inds, 500, 3)
	if len(sets) != 6 {
		t.Fatalf("%d lookup sets, want 6", len(sets))
	}
	for _, set := range sets {
		if err := CheckLookups(IocIndex{Ix: ix}, set); err != nil {
			t.Error(err)
		}
		if err := CheckLookups(fast.Index, set); err != nil {
			t.Errorf("fast reference: %v", err)
		}
	}
}

func TestTheMatchPathDoesNotAllocatePerRecord(t *testing.T) {
	// match.TestMatchDoesNotAllocate pins Index.Match on hand-picked
	// queries; this checks decode + match of whole generated messages
	// without hits, as the pipeline's workers run them.
	w := smallWorkload()
	w.HitRatio = 0
	inds := w.Indicators()
	ix, err := match.Build(inds, match.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := NewCorpus(w, inds)
	var d stream.Decoder
	evs := make([]stream.Event, 0, 64)
	hits := make([]match.Hit, 0, 16)
	at := time.Now()
	i := 0
	records := 0
	allocs := testing.AllocsPerRun(200, func() {
		evs, _ = d.Decode(c.Messages[i%len(c.Messages)], evs[:0])
		for j := range evs {
			hits = ix.Match(match.Query{RemoteIP: evs[j].RemoteIP, RemoteURL: evs[j].RemoteURL, At: at}, hits[:0])
			if len(hits) > 0 {
				t.Fatalf("unexpected hit %v", hits)
			}
		}
		records += len(evs)
		d.Reset()
		i++
	})
	if allocs != 0 {
		t.Errorf("decode + match allocates %.2f times per message of %d records; want 0", allocs, w.RecordsPerMessage)
	}
	if records == 0 {
		t.Fatal("no records decoded")
	}
}

func TestCorpusIsDeterministicAndSized(t *testing.T) {
	w := smallWorkload()
	a, b := NewCorpus(w, w.Indicators()), NewCorpus(w, w.Indicators())
	if a.Records != w.Records || len(a.Messages) != w.Records/w.RecordsPerMessage {
		t.Fatalf("%d records in %d messages, want %d", a.Records, len(a.Messages), w.Records)
	}
	for i := range a.Messages {
		if string(a.Messages[i]) != string(b.Messages[i]) {
			t.Fatalf("message %d differs between two corpora of one seed", i)
		}
	}
	if per := a.Bytes / a.Records; per < 1000 || per > 2000 {
		t.Errorf("%d bytes per record", per)
	}
	runtime.KeepAlive(b)
}

// ipOnly is a reference that skips RemoteUrl: it does less work.
type ipOnly struct{ reference.Index }

func (x ipOnly) Match(ip netip.Addr, _ string, hits []match.Hit) []match.Hit {
	return x.Index.Match(ip, "", hits)
}

func TestTheMatchComparisonRefusesAnIndexThatFindsOtherHits(t *testing.T) {
	w := smallWorkload()
	inds := w.Indicators()
	qs := Queries(NewCorpus(w, inds))
	ix, err := match.Build(inds, match.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fast, err := NewReference("fast", inds)
	if err != nil {
		t.Fatal(err)
	}
	naive, err := NewReference("naive", inds)
	if err != nil {
		t.Fatal(err)
	}
	idx := map[string]reference.Index{"iocwatch": IocIndex{Ix: ix, At: time.Now()}, "fast": fast.Index, "naive": naive.Index, "ip-only": ipOnly{fast.Index}}
	if err := CheckSameHits(idx, []string{"iocwatch", "fast", "naive"}, qs); err != nil {
		t.Errorf("the references: %v", err)
	}
	if err := CheckSameHits(idx, []string{"iocwatch", "fast", "ip-only"}, qs); err == nil {
		t.Error("an index that skips RemoteUrl passed the check")
	}
}

func TestAFailedPipelineRoundIsAnErrorNotAPanic(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cfg := Config{Rounds: 1, Records: 4000}
	cfg.defaults()
	s := &suite{cfg: cfg, rep: &Report{}, tmp: t.TempDir(), ctx: ctx, minRun: cfg.MinRun}
	sec := s.rep.section("pipeline", "Pipeline", "a")
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("a cancelled round panicked: %v", p)
			}
		}()
		err = s.pipelineCompare(sec, "small", smallWorkload(), false)
	}()
	if err == nil {
		t.Errorf("a cancelled round gave no error; rows %q", sec.Rows)
	}
}

// percentile is the nearest rank: p99 of 150 latencies is the 149th
// smallest, not the 148th.
func TestPercentileIsTheNearestRank(t *testing.T) {
	ds := make([]time.Duration, 150)
	for i := range ds {
		ds[len(ds)-1-i] = time.Duration(i+1) * time.Millisecond // 150 … 1 ms
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{99, 149 * time.Millisecond}, {50, 75 * time.Millisecond}, {100, 150 * time.Millisecond}, {0, time.Millisecond}, {1, 2 * time.Millisecond}} {
		if got := percentile(ds, tc.p); got != tc.want {
			t.Errorf("percentile(1…150 ms, %v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := percentile(nil, 99); got != 0 {
		t.Errorf("percentile(nil) = %v", got)
	}
}
