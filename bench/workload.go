package bench

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iocwatch/iocwatch/bench/gen"
	"github.com/iocwatch/iocwatch/match"
)

// Workload describes a generated stream and the indicators it is matched
// against. The zero value is not useful; start from StandardWorkload.
// A Workload is a plain value, safe to copy and share.
type Workload struct {
	// Name labels the workload in tables ("standard", "ipv6-heavy", …).
	Name string
	// Seed makes the indicators and the stream deterministic.
	Seed int64
	// Size is the indicator count per kind: Size ip/cidr, Size domain and
	// Size/10 url indicators (the shape of docs/matching.md's benchmarks).
	Size int
	// IPv6Share is the fraction of RemoteIPs, and of ip/cidr indicators,
	// that are IPv6 (0–1); negative means none.
	IPv6Share float64
	// HitRatio is the fraction of records given a planted hit.
	HitRatio float64
	// RecordsPerMessage is the records per Event Hubs envelope.
	RecordsPerMessage int
	// ExtraColumnBytes widens each record by about this many bytes of
	// columns iocwatch does not read (the record width).
	ExtraColumnBytes int
	// BenignHosts is the number of distinct hosts of records without a hit.
	BenignHosts int
	// Records is the number of records of the corpus.
	Records int
}

// StandardWorkload is the workload the targets are measured on: 100k
// indicators per kind, 3% planted hits (the Foundation target's), 12% IPv6,
// envelopes of 8 records of about 1.4 KB, 50,000 distinct benign hosts, 64k
// records.
func StandardWorkload() Workload {
	return Workload{Name: "standard", Seed: 1, Size: 100_000, IPv6Share: 0.12, HitRatio: 0.03,
		RecordsPerMessage: 8, BenignHosts: 50_000, Records: 64 * 1024}
}

// With returns a copy of w with a new name and size.
func (w Workload) With(name string, size int) Workload {
	w.Name, w.Size = name, size
	return w
}

// String describes the workload in one line.
func (w Workload) String() string {
	v6 := w.IPv6Share
	if v6 < 0 {
		v6 = 0
	}
	return fmt.Sprintf("%s: %s indicators/kind, %.0f%% IPv6, %.2g%% hits, %d records/message, +%d B/record, %d records",
		w.Name, Count(w.Size), v6*100, w.HitRatio*100, w.RecordsPerMessage, w.ExtraColumnBytes, w.Records)
}

// IndicatorOptions returns the generator options of w's indicator set.
func (w Workload) IndicatorOptions() gen.IndicatorOptions {
	v6 := w.IPv6Share
	if v6 == 0 {
		v6 = -1
	}
	return gen.IndicatorOptions{Seed: w.Seed, IPs: w.Size, Domains: w.Size, URLs: w.Size / 10, IPv6Share: v6}
}

// GenOptions returns the stream generator options of w, planting hits on
// inds.
func (w Workload) GenOptions(inds []*match.Indicator) gen.Options {
	v6 := w.IPv6Share
	if v6 == 0 {
		v6 = -1
	}
	return gen.Options{Seed: w.Seed, RecordsPerMessage: w.RecordsPerMessage, HitRatio: w.HitRatio,
		Indicators: inds, IPv6Share: v6, BenignHosts: w.BenignHosts, ExtraColumnBytes: w.ExtraColumnBytes,
		Start: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
}

// Count formats an indicator count: 1k, 100k, 1M, 2.5M.
func Count(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1_000_000:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1_000 && n%1_000 == 0:
		return fmt.Sprintf("%dk", n/1_000)
	}
	return fmt.Sprint(n)
}

// Corpus is a generated stream held in memory: one message per element,
// the hits planted in it, and its size. It is read-only once made and safe
// for concurrent reading.
type Corpus struct {
	Workload Workload
	Messages [][]byte
	Records  int
	Bytes    int
	// Planted are the planted hits; Expected those not excluded (every
	// planted hit, as the benchmark workloads exclude nothing).
	Planted []gen.Planted
}

// NewCorpus generates w.Records records (rounded up to whole messages)
// with hits planted on inds.
func NewCorpus(w Workload, inds []*match.Indicator) *Corpus {
	g := gen.New(w.GenOptions(inds))
	per := max(w.RecordsPerMessage, 1)
	n := (w.Records + per - 1) / per
	c := &Corpus{Workload: w, Messages: make([][]byte, 0, n)}
	// One arena for all messages: fewer allocations and less GC work.
	var arena []byte
	for range n {
		var pl []gen.Planted
		arena, pl = g.Next(arena)
		c.Planted = append(c.Planted, pl...)
		arena = append(arena, '\n')
	}
	// Slice the arena only now: appends above may have moved it.
	for start, i := 0, 0; i < len(arena); i++ {
		if arena[i] == '\n' {
			c.Messages = append(c.Messages, arena[start:i:i])
			start = i + 1
		}
	}
	c.Records = int(g.Records())
	c.Bytes = len(arena) - len(c.Messages)
	return c
}

// WriteFile writes the corpus as JSON lines to path.
func (c *Corpus) WriteFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: corpus file: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for _, m := range c.Messages {
		w.Write(m)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("bench: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("bench: write %s: %w", path, err)
	}
	return nil
}

// indicatorCache keeps generated indicator sets: generating 2M per kind
// takes seconds, and several measurements share a size.
var indicatorCache struct {
	sync.Mutex
	key  gen.IndicatorOptions
	inds []*match.Indicator
}

// Indicators returns w's indicator set, reusing the last one generated
// when the options are the same.
func (w Workload) Indicators() []*match.Indicator {
	opt := w.IndicatorOptions()
	indicatorCache.Lock()
	defer indicatorCache.Unlock()
	if indicatorCache.inds == nil || indicatorCache.key != opt {
		indicatorCache.inds = nil // let the old set go before making the new one
		indicatorCache.inds = gen.Indicators(opt)
		indicatorCache.key = opt
	}
	return indicatorCache.inds
}

// FeedText writes inds as a text feed ("value" per line, kinds detected
// by the loader; patterns are left out), for match.Load.
func FeedText(path string, inds []*match.Indicator) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: feed file: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for _, ind := range inds {
		if ind.Kind == match.KindPattern || strings.ContainsAny(ind.Value, "\n\r") {
			continue
		}
		w.WriteString(ind.Value)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("bench: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("bench: write %s: %w", path, err)
	}
	return nil
}

// ParseCounts parses a comma-separated list of counts such as
// "1k,100k,1M,2500000"; empty gives nil.
func ParseCounts(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		num, mult := f, 1.0
		switch {
		case strings.HasSuffix(f, "k"):
			num, mult = strings.TrimSuffix(f, "k"), 1e3
		case strings.HasSuffix(f, "M"):
			num, mult = strings.TrimSuffix(f, "M"), 1e6
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || !(v*mult >= 1) || v*mult > 1e9 {
			return nil, fmt.Errorf("%q is not a count like 1k, 100k or 2M", f)
		}
		out = append(out, int(v*mult))
	}
	return out, nil
}
