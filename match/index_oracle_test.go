package match

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// oracleMatch is the slow, obviously correct matcher Index.Match is
// compared with: it loops over every indicator. Among the active
// indicators of each kind that match, it keeps those of the highest
// specificity (prefix length, domain length, exact URL over prefix length);
// patterns are all kept.
func oracleMatch(inds []*Indicator, q Query) []Hit {
	active := func(ind *Indicator) bool { return q.At.IsZero() || ind.ActiveAt(q.At) }
	var out []Hit
	best := func(f Field, score func(*Indicator) int) {
		top, var_ := -1, []*Indicator(nil)
		for _, ind := range inds {
			if !active(ind) {
				continue
			}
			s := score(ind)
			switch {
			case s < 0 || s < top:
			case s > top:
				top, var_ = s, []*Indicator{ind}
			default:
				var_ = append(var_, ind)
			}
		}
		for _, ind := range var_ {
			out = append(out, Hit{Indicator: *ind, Field: f})
		}
	}
	ipScore := func(a netip.Addr) func(*Indicator) int {
		return func(ind *Indicator) int {
			var p netip.Prefix
			switch ind.Kind {
			case KindIP:
				x := netip.MustParseAddr(ind.Value).Unmap()
				p = netip.PrefixFrom(x, x.BitLen())
			case KindCIDR:
				p = netip.MustParsePrefix(ind.Value)
				if p.Addr().Is4In6() && p.Bits() >= 96 {
					p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
				}
			default:
				return -1
			}
			if p.Masked().Contains(a) {
				return p.Bits()
			}
			return -1
		}
	}
	ip := q.RemoteIP.Unmap()
	if ip.IsValid() {
		best(FieldRemoteIP, ipScore(ip))
	}
	if q.RemoteURL == "" {
		return out
	}
	host, hostOK := NormalizeHost(q.RemoteURL)
	u, urlOK := NormalizeURL(q.RemoteURL)
	if hostOK {
		if a, err := netip.ParseAddr(host); err == nil {
			if a != ip {
				best(FieldRemoteURLHost, ipScore(a))
			}
		} else {
			best(FieldRemoteURL, func(ind *Indicator) int {
				if ind.Kind != KindDomain {
					return -1
				}
				d, _ := NormalizeHost(ind.Value)
				if host == d || strings.HasSuffix(host, "."+d) {
					return len(d)
				}
				return -1
			})
		}
	}
	if urlOK {
		best(FieldRemoteURL, func(ind *Indicator) int {
			if ind.Kind != KindURL {
				return -1
			}
			base, isPrefix := strings.CutSuffix(ind.Value, "*")
			if isPrefix && !strings.Contains(base, "#") {
				p := oraclePrefix(base)
				if strings.HasSuffix(base, "?") && !strings.HasSuffix(p, "?") {
					p += "?" // "…/a?*": URLs of /a with a query
				}
				if strings.HasPrefix(u, p) {
					return len(p)
				}
				return -1
			}
			// A prefix with a fragment is its URL: events' fragments
			// are dropped.
			if v, _ := NormalizeURL(base); v == u {
				return 1 << 30
			}
			return -1
		})
	}
	hay := strings.ToLower(q.RemoteURL)
	switch {
	case urlOK:
		hay = strings.ToLower(u)
	case hostOK:
		hay = host
	}
	for _, ind := range inds {
		if ind.Kind == KindPattern && active(ind) && strings.Contains(hay, strings.ToLower(ind.Value)) {
			out = append(out, Hit{Indicator: *ind, Field: FieldRemoteURL})
		}
	}
	return out
}

// oraclePrefix is the key of a URL prefix indicator without its '*': the
// URL normalised, but for the last segment of its path, which the star
// continues and which is therefore text, not a dot segment ("…/a/..*" is
// not "…/*"); a segment a '?' ends is complete.
func oraclePrefix(base string) string {
	i := strings.Index(base, ":") + 1 // the generator's URLs are http(s)
	for i < len(base) && (base[i] == '/' || base[i] == '\\') {
		i++
	}
	j := strings.LastIndexAny(base[i:], `/\`)
	if strings.Contains(base, "?") || j < 0 {
		p, _ := NormalizeURL(base)
		return p
	}
	p, _ := NormalizeURL(base[:i+j+1])
	return p + string(appendEscaped(nil, base[i+j+1:]))
}

// hitKeys renders hits by indicator position, sorted, for comparing
// results as multisets.
func hitKeys(hits []Hit, pos map[Indicator]int) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = fmt.Sprintf("%s#%d", h.Field, pos[h.Indicator])
	}
	slices.Sort(out)
	return out
}

// oracleUniverse generates indicators and queries over a small universe so
// that prefixes nest, domains share suffixes and URLs share prefixes.
type oracleUniverse struct{ r *rand.Rand }

func (g oracleUniverse) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g oracleUniverse) addr4() netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(g.r.IntN(2)), byte(g.r.IntN(4)), byte(g.r.IntN(8))})
}

func (g oracleUniverse) addr6() netip.Addr {
	var b [16]byte
	b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
	b[5] = byte(g.r.IntN(2))
	b[15] = byte(g.r.IntN(8))
	return netip.AddrFrom16(b)
}

func (g oracleUniverse) host() string {
	h := g.pick("evil.com", "evil.net", "notevil.com", "evil.com.au", "a.evil.com", "b.a.evil.com", "x.example",
		"bücher.example", "BÜCHER.example", "xn--bcher-kva.example", "a.bücher.example")
	switch g.r.IntN(8) {
	case 0, 1:
		h = g.pick("www.", "a.", "cdn.") + h
	case 2:
		// More labels than matchHost hashes in one pass.
		h = strings.Repeat("l.", 14+g.r.IntN(4)) + h
	}
	return h
}

func (g oracleUniverse) path() string {
	return g.pick("/", "/a", "/a/", "/a/b", "/ab", "/a/b.php", "/a?x=1", "/A",
		"/~a", "/%7ea", "/%7Ea/b", "/a%2fb", "/a%2Fb", "/a b", "/ä", "/%C3%A4", "/a?", "/a#f", "/a?x=1#f", "/%41",
		// Backslashes and dot segments, which a client resolves.
		`\a\b`, `\a\`, "/a/../b", "/x/%2e%2E/a", "/a/./b", "/a/.", "/a/..", "/a/b/..", `/a\..\b`, `/a?x=/../b\c`, "/.a", "/a/..b")
}

func (g oracleUniverse) indicator() *Indicator {
	ind := &Indicator{Meta: &Meta{Source: g.pick("feodo", "misp", "urlhaus")}}
	switch g.r.IntN(10) {
	case 0, 1:
		a := g.addr4()
		if g.r.IntN(3) == 0 {
			ind.Kind, ind.Value = KindIP, a.String()
			if g.r.IntN(3) == 0 {
				ind.Value = "::ffff:" + ind.Value
			}
		} else {
			bits := []int{0, 8, 16, 20, 24, 29, 30, 31, 32}[g.r.IntN(9)]
			ind.Kind, ind.Value = KindCIDR, netip.PrefixFrom(a, bits).Masked().String()
			if g.r.IntN(4) == 0 {
				ind.Value = netip.PrefixFrom(netip.AddrFrom16(a.As16()), bits+96).Masked().String()
			}
		}
	case 2:
		a := g.addr6()
		if g.r.IntN(2) == 0 {
			ind.Kind, ind.Value = KindIP, a.String()
		} else {
			bits := []int{0, 32, 40, 48, 125, 126, 127, 128}[g.r.IntN(8)]
			ind.Kind, ind.Value = KindCIDR, netip.PrefixFrom(a, bits).Masked().String()
		}
	case 3, 4, 5:
		ind.Kind, ind.Value = KindDomain, g.host()
		if g.r.IntN(4) == 0 {
			ind.Value = strings.ToUpper(ind.Value) + "."
		}
	case 6, 7, 8:
		host := g.host()
		if g.r.IntN(5) == 0 {
			// IP-literal hosts: their URLs are found through the origin
			// map, not through the host probe.
			host = g.pick(g.addr4().String(), "["+g.addr6().String()+"]")
		}
		ind.Kind, ind.Value = KindURL, g.pick("http", "https", "HTTP")+g.pick("://", "://", "://", `:\\`)+host+g.pick("", ":80", ":443", ":8080")+g.path()
		if g.r.IntN(2) == 0 {
			ind.Value = strings.TrimSuffix(ind.Value, "/") + "*"
		}
	default:
		ind.Kind, ind.Value = KindPattern, g.pick("evil", "/a/b", "ab", ".com/", "EVIL.NET", "x=1", "10.0.1", "~a", "%2fb", "a%2F", "xn--bcher", "l.l.l.")
	}
	switch g.r.IntN(6) {
	case 0:
		ind.Meta.ValidUntil = t0.Add(time.Duration(g.r.IntN(3)-1) * time.Hour)
	case 1:
		ind.Meta.ValidFrom = t0.Add(time.Duration(g.r.IntN(3)-1) * time.Hour)
	}
	return ind
}

func (g oracleUniverse) query() Query {
	var q Query
	switch g.r.IntN(5) {
	case 0:
		q.RemoteIP = g.addr4()
	case 1:
		q.RemoteIP = netip.AddrFrom16(g.addr4().As16())
	case 2:
		q.RemoteIP = g.addr6()
	}
	switch g.r.IntN(8) {
	case 0:
	case 1:
		q.RemoteURL = g.host()
	case 2:
		q.RemoteURL = strings.ToUpper(g.host()) + g.pick("", ".", ":443")
	case 3, 4, 5:
		q.RemoteURL = g.pick("http://", "https://", "HTTP://", "", "http://user@", `http:\\`, `\\`) + g.host() + g.pick("", ":80", ":443", ":8080") + g.path()
	case 6:
		q.RemoteURL = g.pick("http://", "") + g.addr4().String() + g.pick("", ":8080") + g.path()
	default:
		q.RemoteURL = g.pick("", "https://") + "[" + g.addr6().String() + "]" + g.pick("", ":443") + g.pick("", "/a", "/a/b")
	}
	if g.r.IntN(2) == 0 {
		q.At = t0
	}
	return q
}

func TestMatchAgreesWithLinearOracle(t *testing.T) {
	const rounds, perRound = 40, 300
	for _, table := range ipTables {
		t.Run(table, func(t *testing.T) {
			g := oracleUniverse{rand.New(rand.NewPCG(42, 7))}
			var hitsSeen int
			for round := range rounds {
				inds := make([]*Indicator, 1+g.r.IntN(60))
				for i := range inds {
					inds[i] = g.indicator()
				}
				pos := make(map[Indicator]int)
				for i, ind := range inds {
					pos[*ind] = i
				}
				ix, err := buildSplit(g.r, inds, BuildOptions{IPIndex: table})
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				for range perRound {
					q := g.query()
					got := hitKeys(ix.Match(q, nil), pos)
					want := hitKeys(oracleMatch(inds, q), pos)
					hitsSeen += len(want)
					if !slices.Equal(got, want) {
						var desc []string
						for i, ind := range inds {
							desc = append(desc, fmt.Sprintf("#%d %s %s [%v, %v)", i, ind.Kind, ind.Value, ind.Meta.ValidFrom.Format(time.Kitchen), ind.Meta.ValidUntil.Format(time.Kitchen)))
						}
						t.Fatalf("round %d: query %+v\nindex  %q\noracle %q\nindicators:\n%s", round, q, got, want, strings.Join(desc, "\n"))
					}
				}
			}
			// The universe is small on purpose: most queries must hit,
			// or the comparison proves little.
			if hitsSeen < rounds*perRound/2 {
				t.Fatalf("only %d hits in %d queries: the generator is too sparse", hitsSeen, rounds*perRound)
			}
		})
	}
}

// buildSplit builds the index of inds over one to four Lists (some of
// them empty), cut at random places, as the feed manager builds one over
// its feeds' lists: an indicator's number must find it in the right list
// and groups may span lists.
func buildSplit(r *rand.Rand, inds []*Indicator, opt BuildOptions) (*Index, error) {
	k := 1 + r.IntN(4)
	cuts := []int{0, len(inds)}
	for range k - 1 {
		cuts = append(cuts, r.IntN(len(inds)+1))
	}
	slices.Sort(cuts)
	var lists []*List
	for i := 0; i+1 < len(cuts); i++ {
		lists = append(lists, ListOf(inds[cuts[i]:cuts[i+1]]))
	}
	return BuildLists(lists, opt)
}

// FuzzMatchAgreesWithLinearOracle is TestMatchAgreesWithLinearOracle with
// the generator's seed, the set size and the IP table chosen by the fuzzer:
// the index (its host table, exact-address maps and trie) must report what
// the linear oracle reports for every query.
func FuzzMatchAgreesWithLinearOracle(f *testing.F) {
	f.Add(uint64(42), uint64(7), uint8(60), false)
	f.Add(uint64(1), uint64(2), uint8(1), true)
	f.Add(uint64(99), uint64(0), uint8(255), false)
	f.Fuzz(func(t *testing.T, s1, s2 uint64, n uint8, cidranger bool) {
		g := oracleUniverse{rand.New(rand.NewPCG(s1, s2))}
		inds := make([]*Indicator, 1+int(n))
		pos := make(map[Indicator]int)
		for i := range inds {
			inds[i] = g.indicator()
			pos[*inds[i]] = i
		}
		table := IPIndexBart
		if cidranger {
			table = IPIndexCIDRanger
		}
		ix, err := buildSplit(g.r, inds, BuildOptions{IPIndex: table})
		if err != nil {
			t.Fatal(err)
		}
		for range 50 {
			q := g.query()
			if got, want := hitKeys(ix.Match(q, nil), pos), hitKeys(oracleMatch(inds, q), pos); !slices.Equal(got, want) {
				t.Fatalf("query %+v: index %q, oracle %q", q, got, want)
			}
		}
	})
}
