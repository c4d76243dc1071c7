package bench

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/iocwatch/iocwatch/bench/reference"
	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/stream"
)

// DecoderNames are the decoders the suite compares, iocwatch's first.
var DecoderNames = []string{"iocwatch", "fastjson", "encoding/json"}

// NewDecoder returns a reference.Decoder by name: "iocwatch" is
// stream.Decoder (reset after every message, as the pipeline resets it
// after every batch), the others come from package reference.
func NewDecoder(name string) (reference.Decoder, error) {
	switch name {
	case "iocwatch":
		return &iocDecoder{}, nil
	case "fastjson":
		return &reference.FastjsonDecoder{}, nil
	case "encoding/json":
		return &reference.JSONDecoder{}, nil
	}
	return nil, fmt.Errorf("bench: unknown decoder %q (want %s)", name, strings.Join(DecoderNames, ", "))
}

type iocDecoder struct{ d stream.Decoder }

func (d *iocDecoder) Decode(msg []byte, dst []stream.Event) ([]stream.Event, int, error) {
	d.d.Reset()
	evs, errs := d.d.Decode(msg, dst)
	st := d.d.Stats()
	if len(errs) > 0 {
		return evs, int(st.Records), errs[0]
	}
	return evs, int(st.Records), nil
}

// DecodeRun decodes messages of c, in turn from message 0, for at least
// minRun and returns the records decoded.
func DecodeRun(d reference.Decoder, c *Corpus, minRun time.Duration) (Sample, error) {
	var evs []stream.Event
	return timeProcess(func() (float64, error) {
		records, i := 0, 0
		t0 := time.Now()
		for {
			var n int
			var err error
			evs, n, err = d.Decode(c.Messages[i], evs[:0])
			if err != nil {
				return 0, fmt.Errorf("message %d: %w", i, err)
			}
			records += n
			if i++; i == len(c.Messages) {
				i = 0
			}
			if i%64 == 0 && time.Since(t0) >= minRun {
				return float64(records), nil
			}
		}
	})
}

// Query is one event's RemoteIP and RemoteUrl, copied out of the corpus.
// Plain data; the zero value matches nothing.
type Query struct {
	IP  netip.Addr
	URL string
}

// Queries decodes c with iocwatch's decoder and returns every event's
// RemoteIP and RemoteUrl.
func Queries(c *Corpus) []Query {
	var d stream.Decoder
	var evs []stream.Event
	qs := make([]Query, 0, c.Records)
	for _, m := range c.Messages {
		evs, _ = d.Decode(m, evs[:0])
		for i := range evs {
			qs = append(qs, Query{evs[i].RemoteIP, strings.Clone(evs[i].RemoteURL)})
		}
		d.Reset()
	}
	return qs
}

// IocIndex adapts a match.Index to reference.Index; At is passed to every
// query, as the pipeline passes the batch time. The zero value (a nil
// index) matches nothing; it is safe for concurrent use.
type IocIndex struct {
	Ix *match.Index
	At time.Time
}

// Match implements reference.Index.
func (x IocIndex) Match(ip netip.Addr, url string, hits []match.Hit) []match.Hit {
	return x.Ix.Match(match.Query{RemoteIP: ip, RemoteURL: url, At: x.At}, hits)
}

// MatchRun matches qs, in turn, for at least minRun and returns the
// queries done (Units) and the hits seen.
func MatchRun(ix reference.Index, qs []Query, minRun time.Duration) (Sample, int, error) {
	hits := make([]match.Hit, 0, 16)
	nhits := 0
	s, err := timeProcess(func() (float64, error) {
		n, i := 0, 0
		t0 := time.Now()
		for {
			q := &qs[i]
			hits = ix.Match(q.IP, q.URL, hits[:0])
			nhits += len(hits)
			n++
			if i++; i == len(qs) {
				i = 0
			}
			if n%256 == 0 && time.Since(t0) >= minRun {
				return float64(n), nil
			}
		}
	})
	return s, nhits, err
}

// CheckSameHits matches every query of qs once, untimed, with the index
// of each of names and returns an error at the first query whose hits
// (indicator kind and value, field) differ from those of names[0]: the
// alternatives of a comparison must do the same work.
func CheckSameHits(idx map[string]reference.Index, names []string, qs []Query) error {
	if len(names) < 2 {
		return nil
	}
	var want, got []match.Hit
	for i := range qs {
		q := &qs[i]
		want = idx[names[0]].Match(q.IP, q.URL, want[:0])
		for _, name := range names[1:] {
			got = idx[name].Match(q.IP, q.URL, got[:0])
			if w, g := hitKeys(want), hitKeys(got); !slices.Equal(w, g) {
				return fmt.Errorf("%s: query %d (%v %q): hits %v, %s %v", name, i, q.IP, q.URL, g, names[0], w)
			}
		}
	}
	return nil
}

// hitKeys returns the hits as sorted "field kind value" strings.
func hitKeys(hs []match.Hit) []string {
	ks := make([]string, len(hs))
	for i, h := range hs {
		ks[i] = fmt.Sprint(h.Field, " ", h.Indicator.Kind, " ", h.Indicator.Value)
	}
	slices.Sort(ks)
	return ks
}

// LookupSet is a set of single-field queries of one kind. Plain data,
// read-only once made.
type LookupSet struct {
	Name string
	Qs   []Query
	// Hit says whether every query should hit (true) or none (false).
	Hit bool
}

// LookupSets returns hit and miss queries for the ip, domain and url
// indicators of inds (n of each at most), drawn with seed.
func LookupSets(inds []*match.Indicator, n int, seed uint64) []LookupSet {
	r := rand.New(rand.NewPCG(seed, 77))
	var ips, domains, urls []*match.Indicator
	for _, ind := range inds {
		switch ind.Kind {
		case match.KindIP, match.KindCIDR:
			ips = append(ips, ind)
		case match.KindDomain:
			domains = append(domains, ind)
		case match.KindURL:
			if !strings.HasSuffix(ind.Value, "*") {
				urls = append(urls, ind)
			}
		}
	}
	var sets []LookupSet
	if len(ips) > 0 {
		hit, miss := LookupSet{Name: "ip-hit", Hit: true}, LookupSet{Name: "ip-miss"}
		for range n {
			ind := ips[r.IntN(len(ips))]
			var a netip.Addr
			if ind.Kind == match.KindIP {
				a = netip.MustParseAddr(ind.Value)
			} else {
				p := netip.MustParsePrefix(ind.Value)
				b := p.Addr().AsSlice()
				b[len(b)-1] |= byte(r.UintN(2))
				a, _ = netip.AddrFromSlice(b)
			}
			hit.Qs = append(hit.Qs, Query{IP: a})
			// Misses: documentation and benchmarking space, which the
			// generated indicators never use, spread like real traffic.
			if r.IntN(4) == 0 {
				miss.Qs = append(miss.Qs, Query{IP: netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(r.UintN(256)), 14: byte(r.UintN(256)), 15: byte(r.UintN(256))})})
			} else {
				miss.Qs = append(miss.Qs, Query{IP: netip.AddrFrom4([4]byte{198, 18 + byte(r.IntN(2)), byte(r.UintN(256)), byte(r.UintN(256))})})
			}
		}
		sets = append(sets, hit, miss)
	}
	if len(domains) > 0 {
		hit, miss := LookupSet{Name: "domain-hit", Hit: true}, LookupSet{Name: "domain-miss"}
		for range n {
			hit.Qs = append(hit.Qs, Query{URL: []string{"", "www.", "cdn.", "a.b."}[r.IntN(4)] + domains[r.IntN(len(domains))].Value})
			miss.Qs = append(miss.Qs, Query{URL: []string{"", "www.", "cdn."}[r.IntN(3)] + randName(r) + ".example"})
		}
		sets = append(sets, hit, miss)
	}
	if len(urls) > 0 {
		hit, miss := LookupSet{Name: "url-hit", Hit: true}, LookupSet{Name: "url-miss"}
		for range n {
			hit.Qs = append(hit.Qs, Query{URL: urls[r.IntN(len(urls))].Value})
			miss.Qs = append(miss.Qs, Query{URL: "https://" + randName(r) + ".example/" + randName(r) + "/index.php"})
		}
		sets = append(sets, hit, miss)
	}
	return sets
}

func randName(r *rand.Rand) string {
	const a = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 6+r.IntN(8))
	for i := range b {
		b[i] = a[r.IntN(len(a))]
	}
	return string(b)
}

// CheckLookups verifies that every query of set hits (or misses) ix.
func CheckLookups(ix reference.Index, set LookupSet) error {
	for _, q := range set.Qs {
		if got := len(ix.Match(q.IP, q.URL, nil)) > 0; got != set.Hit {
			return fmt.Errorf("%s: query %v %q: hit %v, want %v", set.Name, q.IP, q.URL, got, set.Hit)
		}
	}
	return nil
}

// BuildResult is one index build. Plain data; the zero value is "not
// measured".
type BuildResult struct {
	Wall, CPU time.Duration
	// MiB is the live heap the index adds, after GC.
	MiB float64
	// HeapMiB is the whole live heap with the index built (indicators
	// included).
	HeapMiB float64
}

// MeasureBuild builds an index with build and reports its time and the
// heap it holds. keep receives the index (so that it stays live during
// the measurement).
func MeasureBuild[T any](build func() (T, error), keep func(T)) (BuildResult, error) {
	before := heapMiB()
	var ix T
	s, err := timeProcess(func() (float64, error) {
		var err error
		ix, err = build()
		return 1, err
	})
	if err != nil {
		return BuildResult{}, err
	}
	after := heapMiB()
	keep(ix)
	runtime.KeepAlive(ix)
	return BuildResult{Wall: s.Wall, CPU: s.CPU, MiB: after - before, HeapMiB: after}, nil
}

// kinds returns the indicators of inds whose kind is in ks.
func kinds(inds []*match.Indicator, ks ...match.Kind) []*match.Indicator {
	var out []*match.Indicator
	for _, ind := range inds {
		for _, k := range ks {
			if ind.Kind == k {
				out = append(out, ind)
				break
			}
		}
	}
	return out
}
