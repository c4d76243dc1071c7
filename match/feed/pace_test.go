package feed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/match"
)

// The duty cycle: after a quantum of work, sleep so that work is share of
// the wall time. A fake clock makes the work; the sleeps are real but
// short.
func TestThePacerSleepsInProportionToTheWork(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		share  float64
		worked time.Duration
		want   time.Duration // slept
	}{
		{"half a core sleeps as long as it worked", 0.5, paceQuantum + time.Millisecond, paceQuantum + time.Millisecond},
		{"a quarter of a core sleeps three times as long as it worked", 0.25, paceQuantum, 3 * paceQuantum},
		{"work shorter than a quantum does not sleep", 0.5, paceQuantum - time.Microsecond, 0},
		{"a slice stretched by a busy machine counts two quanta of work", 0.5, 40 * paceQuantum, 2 * paceQuantum},
		{"a whole core never sleeps", 1, time.Second, 0},
		{"a share of zero means not paced", 0, time.Second, 0},
		{"a negative share means not paced", -1, time.Second, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0
			var slept atomic.Int64
			p := &pacer{ctx: context.Background(), share: tt.share, now: func() time.Time { return now }, mark: t0, slept: &slept}
			now = now.Add(tt.worked)
			if err := p.pace(); err != nil {
				t.Fatal(err)
			}
			if got := time.Duration(slept.Load()); got != tt.want {
				t.Errorf("slept %v, want %v", got, tt.want)
			}
			if tt.want > 0 && !p.mark.Equal(now) {
				t.Errorf("after a pause the next slice starts at %v, want %v", p.mark, now)
			}
		})
	}
}

func TestANilPacerNeverSleepsNorFails(t *testing.T) {
	var p *pacer
	if err := p.pace(); err != nil {
		t.Fatal(err)
	}
	if opt := paced(match.BuildOptions{IPIndex: "bart"}, p); opt.Yield != nil || opt.IPIndex != "bart" {
		t.Errorf("a nil pacer changed the build options: %+v", opt)
	}
	if err := p.every(4)(3); err != nil {
		t.Fatal(err)
	}
}

// A pause is cut short when the context ends, and every later pace fails
// at once. The context is cancelled once pace has read the clock — after
// its own check of the context, just before it sleeps — so that it is the
// sleep that must see the cancellation, however the goroutines are
// scheduled; cancelled before pace started, the test would pass with a
// sleep that ignores the context. The pause, two hours of work in slices
// of an hour at a thousandth of a core (paced as MinReloadCPU), lasts 198
// hours: only the cancellation can end it.
func TestACancelledContextStopsAPacerWhileItSleeps(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t0 := time.Now()
	sleeping := make(chan struct{})
	var once sync.Once
	var slept atomic.Int64
	p := &pacer{ctx: ctx, share: 0.001, quant: time.Hour, mark: t0, slept: &slept, now: func() time.Time {
		once.Do(func() { close(sleeping) })
		return t0.Add(2 * time.Hour)
	}}
	done := make(chan error, 1)
	go func() { done <- p.pace() }()
	<-sleeping
	cancel()
	// Not a measure of speed: a bound on a hang, for a pause of 198 hours.
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("pace while cancelled: %v, want context.Canceled", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("pace still sleeps a minute after its context was cancelled")
	}
	if n := slept.Load(); n != 0 {
		t.Errorf("a cancelled pause counted %v slept", time.Duration(n))
	}
	p.now = nil
	if err := p.pace(); !errors.Is(err, context.Canceled) {
		t.Fatalf("pace after cancel: %v, want context.Canceled", err)
	}
}

// sizeReader records the size of every read it is asked for.
type sizeReader struct {
	r     io.Reader
	sizes []int
}

func (s *sizeReader) Read(b []byte) (int, error) {
	s.sizes = append(s.sizes, len(b))
	return s.r.Read(b)
}

func TestAPacedReaderHandsOverAllContentInSmallReads(t *testing.T) {
	content := bytes.Repeat([]byte("203.0.113.7\n"), 20_000) // 240 kB
	sr := &sizeReader{r: bytes.NewReader(content)}
	got, err := io.ReadAll(&pacedReader{r: sr, p: newPacer(context.Background(), 0.5, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, content) {
		t.Fatalf("read %d bytes, want the %d written", len(got), len(content))
	}
	if n := slices.Max(sr.sizes); n > paceReadMax {
		t.Errorf("a read of %d bytes, want at most %d", n, paceReadMax)
	}
}

// The radix sort must agree with slices.Sort, around its cut-over to
// slices.Sort and with the hashes' top bytes all equal (a pass that moves
// nothing).
func TestSortHashesAgreesWithSlicesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	tests := []struct {
		name string
		n    int
		gen  func() uint64
	}{
		{"an empty set", 0, r.Uint64},
		{"fewer hashes than the radix cut-over", 1023, r.Uint64},
		{"exactly the radix cut-over", 1024, r.Uint64},
		{"twenty thousand random hashes", 20_000, r.Uint64},
		{"hashes that differ only in their low byte, with repeats", 5_000, func() uint64 { return 0xabcdef0000000000 | uint64(r.IntN(256)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := make([]uint64, tt.n)
			for i := range hs {
				hs[i] = tt.gen()
			}
			want := slices.Sorted(slices.Values(hs))
			if err := sortHashes(newPacer(context.Background(), 0.5, nil), hs); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(hs, want) {
				t.Error("radix sort differs from slices.Sort")
			}
		})
	}
}

// diff and without against maps, on random sets that overlap.
func TestKeySetDiffAndWithoutAgreeWithMaps(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	set := func(n, span int) keySet {
		hs := make([]uint64, n)
		for i := range hs {
			hs[i] = uint64(r.IntN(span))
		}
		slices.Sort(hs)
		return slices.Compact(hs)
	}
	for i := range 50 {
		a, b := set(r.IntN(2000), 3000), set(r.IntN(2000), 3000)
		if i%10 == 0 {
			b = nil
		}
		inB := map[uint64]bool{}
		for _, h := range b {
			inB[h] = true
		}
		var wantAdded []uint64
		for _, h := range a {
			if !inB[h] {
				wantAdded = append(wantAdded, h)
			}
		}
		wantRemoved := 0
		inA := map[uint64]bool{}
		for _, h := range a {
			inA[h] = true
		}
		for _, h := range b {
			if !inA[h] {
				wantRemoved++
			}
		}
		added, removed, err := a.diff(nil, b)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(added, wantAdded) || removed != wantRemoved {
			t.Fatalf("case %d: diff gave %d added, %d removed; want %d, %d", i, len(added), removed, len(wantAdded), wantRemoved)
		}
		rest, err := b.without(nil, slices.Clone(a))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(rest, wantAdded) {
			t.Fatalf("case %d: without kept %d hashes, want %d", i, len(rest), len(wantAdded))
		}
	}
}

// Update.Added and Update.Removed against a slow reference, over reloads
// of three feeds whose random values overlap: a value is added when no
// feed had it at the previous build.
func TestAddedAndRemovedAgreeWithAReferenceOverRandomReloads(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 9))
	dir := t.TempDir()
	names := []string{"a", "b", "c"}
	paths := make([]string, len(names))
	specs := make([]Spec, len(names))
	content := make([][]string, len(names))
	gen := func(n int) []string {
		vals := make([]string, n)
		for i := range vals {
			vals[i] = fmt.Sprintf("v%d.example", r.IntN(4000)) // repeats within and across feeds
		}
		return vals
	}
	for i, n := range names {
		paths[i] = filepath.Join(dir, n+".txt")
		content[i] = gen(r.IntN(1500))
		writeFile(t, paths[i], strings.Join(content[i], "\n")+"\n")
		specs[i] = fileSpec(n, paths[i])
	}
	h, _ := newHarness(t, Options{Feeds: specs, FilePoll: -1, ShrinkGuard: -1, ReloadCPU: 0.5})
	setOf := func(vals []string) map[string]bool {
		m := map[string]bool{}
		for _, v := range vals {
			m[v] = true
		}
		return m
	}
	for round := range 6 {
		before := make([]map[string]bool, len(names))
		for i := range names {
			before[i] = setOf(content[i])
		}
		var wantAdded []string
		wantRemoved := 0
		for i := range names {
			if r.IntN(3) == 0 && round > 0 {
				continue // unchanged
			}
			content[i] = append(content[i][:r.IntN(len(content[i])+1)], gen(r.IntN(200))...)
			writeFile(t, paths[i], strings.Join(content[i], "\n")+"\n")
			now := setOf(content[i])
			for _, v := range content[i] {
				had := false
				for _, b := range before {
					had = had || b[v]
				}
				if !had {
					wantAdded = append(wantAdded, "domain "+v)
				}
			}
			for v := range before[i] {
				if !now[v] {
					wantRemoved++
				}
			}
		}
		u, err := h.m.Reload(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if u == nil {
			if len(wantAdded) > 0 || wantRemoved > 0 {
				t.Fatalf("round %d: no update, want %d added and %d removed", round, len(wantAdded), wantRemoved)
			}
			continue
		}
		sortStrings(wantAdded)
		if got, want := values(u.Added()), strings.Join(wantAdded, ", "); got != want {
			t.Fatalf("round %d: added %d indicators, want %d", round, u.AddedCount(), len(wantAdded))
		}
		if n := len(u.Added()); n != u.AddedCount() {
			t.Fatalf("round %d: AddedCount %d, Added gives %d", round, u.AddedCount(), n)
		}
		if u.Removed != wantRemoved {
			t.Fatalf("round %d: removed %d, want %d", round, u.Removed, wantRemoved)
		}
	}
}

// A paced reload does the same work as one that is not: the same index,
// the same additions; only the first load is never paced.
func TestAPacedReloadFinishesWithTheSameResult(t *testing.T) {
	const n = 5_000
	content := func(shift int) string {
		var b strings.Builder
		for i := shift; i < n+shift; i++ {
			fmt.Fprintf(&b, "20.%d.%d.%d\n", i>>16&0xff, i>>8&0xff, i&0xff)
		}
		return b.String()
	}
	tests := []struct {
		name  string
		share float64
		paced bool
	}{
		{"a reload at half a core is paced", 0.5, true},
		{"a reload at a whole core is not paced", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ips.txt")
			writeFile(t, path, content(0))
			h, first := newHarness(t, Options{Feeds: []Spec{fileSpec("ips", path)}, FilePoll: -1, ReloadCPU: tt.share})
			if first.Paced != 0 {
				t.Errorf("the first load slept %v, want it not paced", first.Paced)
			}
			h.m.mu.Lock()
			h.m.paceQuantum = time.Microsecond // a parse of many quanta on any machine
			h.m.mu.Unlock()
			writeFile(t, path, content(1000))
			u, err := h.m.Reload(context.Background())
			if err != nil || u == nil {
				t.Fatalf("reload: %v, %v", u, err)
			}
			if u.Index.Len() != n || u.AddedCount() != 1000 || u.Removed != 1000 {
				t.Errorf("%d indicators, %d added, %d removed; want %d, 1000, 1000", u.Index.Len(), u.AddedCount(), u.Removed, n)
			}
			if !matches(u.Index, fmt.Sprintf("20.%d.%d.%d", (n+999)>>16&0xff, (n+999)>>8&0xff, (n+999)&0xff), time.Time{}) || matches(u.Index, "20.0.0.0", time.Time{}) {
				t.Error("the index does not hold the new content")
			}
			if got := h.next(); got != u {
				t.Error("OnUpdate did not get the reload's update")
			}
			if (u.Paced > 0) != tt.paced {
				t.Errorf("the reload slept %v; want paced: %v", u.Paced, tt.paced)
			}
		})
	}
}

// A reload whose context ends while it sleeps keeps the index in use and
// says why; the next reload does the work.
func TestAReloadStoppedWhilePacedKeepsTheIndexInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ips.txt")
	writeFile(t, path, lines(400))
	// A millionth of a core paces as MinReloadCPU, a hundredth: after the
	// first millisecond of the parse (100k lines: many milliseconds on any
	// machine) it sleeps a tenth of a second or more.
	h, first := newHarness(t, Options{Feeds: []Spec{fileSpec("ips", path)}, FilePoll: -1, ShrinkGuard: -1, ReloadCPU: 1e-6})
	h.m.mu.Lock()
	h.m.paceQuantum = time.Millisecond
	h.m.mu.Unlock()
	big := strings.Repeat(lines(500), 200) // 100k lines, 500 distinct values
	writeFile(t, path, big)
	ctx, cancel := context.WithCancel(context.Background())
	stop := time.AfterFunc(50*time.Millisecond, cancel)
	defer stop.Stop()
	u, err := h.m.Reload(ctx)
	if !errors.Is(err, context.Canceled) || u != nil {
		t.Fatalf("reload: %v, %v; want no update and context.Canceled", u, err)
	}
	if h.m.Current() != first {
		t.Error("a stopped reload replaced the index in use")
	}
	h.noUpdate()
	if st := h.status("ips"); st.Total != 400 || !errors.Is(st.LastError, context.Canceled) {
		t.Errorf("status: %d indicators, error %v; want the 400 in use and the cancellation", st.Total, st.LastError)
	}

	h.m.mu.Lock()
	h.m.reloadCPU = 0 // no pacing: the test need not wait
	h.m.mu.Unlock()
	u, err = h.m.Reload(context.Background())
	if err != nil || u == nil {
		t.Fatalf("the next reload: %v, %v", u, err)
	}
	// 100 values are new, each listed 200 times.
	if u.Index.Len() != 100_000 || u.AddedCount() != 20_000 || u.Removed != 0 {
		t.Errorf("the next reload: %d indicators, %d added, %d removed; want 100000, 20000, 0", u.Index.Len(), u.AddedCount(), u.Removed)
	}
}

// A rebuild whose context has ended swaps nothing and loses nothing: the
// next rebuild builds the change.
func TestARebuildStoppedByItsContextIsRedoneByTheNext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c2.txt")
	writeFile(t, path, "203.0.113.1\n")
	h, first := newHarness(t, Options{Feeds: []Spec{fileSpec("c2", path)}, FilePoll: -1, ShrinkGuard: -1})
	writeFile(t, path, "203.0.113.1\nfresh.example\n")
	if _, err := h.m.refresh(context.Background(), h.m.byName["c2"], trigReload); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if u, err := h.m.rebuild(ctx, "reload", true); !errors.Is(err, context.Canceled) || u != nil {
		t.Fatalf("rebuild with a cancelled context: %v, %v", u, err)
	}
	if h.m.Current() != first {
		t.Fatal("a stopped rebuild replaced the index in use")
	}
	u, err := h.m.rebuild(context.Background(), "reload", true)
	if err != nil || u == nil {
		t.Fatalf("the next rebuild: %v, %v", u, err)
	}
	if got := values(u.Added()); got != "domain fresh.example" {
		t.Errorf("added %s, want fresh.example", got)
	}
	if !matches(u.Index, "x.fresh.example", time.Time{}) {
		t.Error("the change is not in the index")
	}
}

// match.Build is paced through BuildOptions.Yield: a pacer whose context
// is done stops it, and an earlier Yield still runs.
func TestPacedBuildYieldsToThePacer(t *testing.T) {
	inds := make([]*match.Indicator, 3*match.YieldEvery)
	meta := &match.Meta{Source: "t"}
	for i := range inds {
		inds[i] = &match.Indicator{Kind: match.KindIP, Value: netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), byte(i)}).String(), Meta: meta}
	}
	calls := 0
	opt := paced(match.BuildOptions{Yield: func() error { calls++; return nil }}, &pacer{ctx: context.Background(), share: 1})
	ix, err := match.Build(inds, opt)
	if err != nil || ix.Len() != len(inds) {
		t.Fatalf("paced build: %v", err)
	}
	if calls != 3 {
		t.Errorf("Yield ran %d times for %d indicators, want 3", calls, len(inds))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := match.Build(inds, paced(match.BuildOptions{}, &pacer{ctx: ctx, share: 0.5})); !errors.Is(err, context.Canceled) {
		t.Errorf("build with a cancelled pacer: %v, want context.Canceled", err)
	}
}

// The index holds the lists of the feeds themselves, not copies: a
// reload of one feed adds that feed's new list and keeps the others'.
func TestTheIndexHoldsTheFeedsOwnLists(t *testing.T) {
	dir := t.TempDir()
	var specs []Spec
	var paths []string
	for i, n := range []int{300, 200, 100} {
		var b strings.Builder
		for j := range n {
			fmt.Fprintf(&b, "f%d-%d.example\n", i, j)
		}
		p := filepath.Join(dir, fmt.Sprintf("f%d.txt", i))
		writeFile(t, p, b.String())
		paths = append(paths, p)
		specs = append(specs, fileSpec(fmt.Sprintf("f%d", i), p))
	}
	h, u := newHarness(t, Options{Feeds: specs, FilePoll: -1, ShrinkGuard: -1})
	check := func(when string, ix *match.Index) []*match.List {
		t.Helper()
		h.m.mu.Lock()
		defer h.m.mu.Unlock()
		var own []*match.List
		for i, fs := range h.m.feeds {
			if len(fs.inUse) != 1 || fs.inUse[0] != fs.listed {
				t.Fatalf("%s: feed %d: in use is not its listed list", when, i)
			}
			own = append(own, fs.listed)
		}
		if got := ix.Lists(); !slices.Equal(got, own) {
			t.Fatalf("%s: the index holds %d lists, not the feeds' %d", when, len(got), len(own))
		}
		return own
	}
	before := check("after the load", u.Index)
	writeFile(t, paths[1], "changed.example\nf1-0.example\n")
	u, err := h.m.Reload(context.Background())
	if err != nil || u == nil {
		t.Fatalf("reload: %v, %v", u, err)
	}
	after := check("after a reload of the middle feed", u.Index)
	if after[0] != before[0] || after[2] != before[2] || after[1] == before[1] {
		t.Fatalf("a reload of the middle feed replaced lists %v, want only the middle one", []bool{after[0] != before[0], after[1] != before[1], after[2] != before[2]})
	}
	if hits := u.Index.Match(match.Query{RemoteURL: "http://changed.example/"}, nil); len(hits) != 1 {
		t.Fatalf("%d hits on the new value, want 1", len(hits))
	}
	if hits := u.Index.Match(match.Query{RemoteURL: "f1-5.example"}, nil); len(hits) != 0 {
		t.Fatalf("%d hits on a removed value, want 0", len(hits))
	}
}
