package reference

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"unsafe"

	"github.com/cloudflare/ahocorasick"
	"github.com/gaissmai/bart"
	"github.com/yl2chen/cidranger"

	"github.com/iocwatch/iocwatch/match"
)

// groups maps a key (prefix, domain, URL) to the indicators sharing it.
type groups struct {
	ids  map[string]int32
	sets [][]*match.Indicator
}

func (g *groups) add(key string, ind *match.Indicator) int32 {
	if g.ids == nil {
		g.ids = make(map[string]int32)
	}
	id, ok := g.ids[key]
	if !ok {
		id = int32(len(g.sets))
		g.ids[key] = id
		g.sets = append(g.sets, nil)
	}
	g.sets[id] = append(g.sets[id], ind)
	return id
}

func (g *groups) emit(hits []match.Hit, id int32, f match.Field) []match.Hit {
	for _, ind := range g.sets[id] {
		hits = append(hits, match.Hit{Indicator: *ind, Field: f})
	}
	return hits
}

// errPatterns is returned by the Build functions for pattern indicators.
var errPatterns = errors.New("reference indexes do not take pattern indicators")

// prefixOf parses an ip or cidr indicator in canonical form.
func prefixOf(ind *match.Indicator) (netip.Prefix, error) {
	if ind.Kind == match.KindIP {
		a, err := netip.ParseAddr(ind.Value)
		if err != nil {
			return netip.Prefix{}, err
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(ind.Value)
	return p.Masked(), err
}

// urlEntry is a URL prefix indicator: its value without the '*'.
type urlEntry struct {
	base string
	id   int32
}

// origin returns "scheme://host[:port]" of a normalised URL.
func origin(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return u
	}
	if j := strings.IndexAny(u[i+3:], "/?#"); j >= 0 {
		return u[:i+3+j]
	}
	return u
}

// FastIndex is the tuned reference index: a bart.Fast table for ip and
// cidr indicators, a hash map over domains looked up for the host and each
// parent domain, a hash map of exact URLs and, per origin, the URL prefixes
// longest first. The zero value is not usable: call BuildFast. Safe for
// concurrent Match once built.
type FastIndex struct {
	ip       bart.Fast[int32]
	ipGroups groups
	domains  groups
	urls     groups
	prefixes map[string][]urlEntry // origin → prefixes, longest first
}

// BuildFast builds a FastIndex over indicators in canonical form (as
// match.Load returns them).
func BuildFast(inds []*match.Indicator) (*FastIndex, error) {
	ix := &FastIndex{prefixes: make(map[string][]urlEntry)}
	for i, ind := range inds {
		switch ind.Kind {
		case match.KindIP, match.KindCIDR:
			p, err := prefixOf(ind)
			if err != nil {
				return nil, fmt.Errorf("reference: indicator %d %q: %w", i, ind.Value, err)
			}
			before := len(ix.ipGroups.sets)
			id := ix.ipGroups.add(p.String(), ind)
			if len(ix.ipGroups.sets) > before {
				ix.ip.Insert(p, id)
			}
		case match.KindDomain:
			ix.domains.add(ind.Value, ind)
		case match.KindURL:
			if base, ok := strings.CutSuffix(ind.Value, "*"); ok {
				before := len(ix.urls.sets)
				id := ix.urls.add(ind.Value, ind)
				if len(ix.urls.sets) > before {
					o := origin(base)
					ix.prefixes[o] = append(ix.prefixes[o], urlEntry{base, id})
				}
				continue
			}
			ix.urls.add(ind.Value, ind)
		case match.KindPattern:
			return nil, errPatterns
		default:
			return nil, fmt.Errorf("reference: indicator %d: unknown kind %s", i, ind.Kind)
		}
	}
	for _, es := range ix.prefixes {
		sort.Slice(es, func(i, j int) bool { return len(es[i].base) > len(es[j].base) })
	}
	return ix, nil
}

// Match implements Index.
func (ix *FastIndex) Match(remoteIP netip.Addr, remoteURL string, hits []match.Hit) []match.Hit {
	remoteIP = remoteIP.Unmap()
	if remoteIP.IsValid() {
		if id, ok := ix.ip.Lookup(remoteIP); ok {
			hits = ix.ipGroups.emit(hits, id, match.FieldRemoteIP)
		}
	}
	if remoteURL == "" {
		return hits
	}
	var arr [512]byte
	host, ok := match.AppendHost(arr[:0], remoteURL)
	if !ok {
		return hits
	}
	hs := unsafe.String(unsafe.SliceData(host), len(host))
	// Only what can be an IP literal is parsed: a failed ParseAddr
	// allocates its error.
	var lit netip.Addr
	if maybeIP(hs) {
		// A copy: ParseAddr's error keeps its input, which would move
		// arr to the heap on every call.
		lit, _ = netip.ParseAddr(strings.Clone(strings.Trim(hs, "[]")))
	}
	if lit.IsValid() {
		if a := lit.Unmap(); a != remoteIP {
			if id, ok := ix.ip.Lookup(a); ok {
				hits = ix.ipGroups.emit(hits, id, match.FieldRemoteURLHost)
			}
		}
	} else if len(ix.domains.sets) > 0 {
		for d := hs; ; {
			if id, ok := ix.domains.ids[d]; ok {
				hits = ix.domains.emit(hits, id, match.FieldRemoteURL)
				break
			}
			dot := strings.IndexByte(d, '.')
			if dot < 0 {
				break
			}
			d = d[dot+1:]
		}
	}
	if len(ix.urls.sets) == 0 {
		return hits
	}
	u, ok := match.AppendURL(arr[len(host):len(host)], remoteURL)
	if !ok {
		return hits
	}
	us := unsafe.String(unsafe.SliceData(u), len(u))
	if id, ok := ix.urls.ids[us]; ok {
		return ix.urls.emit(hits, id, match.FieldRemoteURL)
	}
	for _, e := range ix.prefixes[origin(us)] {
		if strings.HasPrefix(us, e.base) {
			return ix.urls.emit(hits, e.id, match.FieldRemoteURL)
		}
	}
	return hits
}

// maybeIP reports whether a normalised host can be an IP literal: names
// end in a letter (a top-level label is never all digits), IPv6 literals
// hold a colon.
func maybeIP(h string) bool {
	if h == "" {
		return false
	}
	c := h[len(h)-1]
	return c >= '0' && c <= '9' || strings.IndexByte(h, ':') >= 0 || c == ']'
}

// NaiveIndex is the straightforward reference index: a cidranger trie for
// ip and cidr indicators and cloudflare/ahocorasick automatons over the
// domains and over the URLs, whose matches are then checked for a label
// boundary (domains) or equality and prefix (URLs). The zero value is not
// usable: call BuildNaive. It is not safe for concurrent use: the
// automatons mutate themselves while matching.
type NaiveIndex struct {
	ip       cidranger.Ranger
	ipGroups groups

	domainAC *ahocorasick.Matcher
	domains  []string // pattern i of domainAC
	domainID []int32
	dgroups  groups

	urlAC    *ahocorasick.Matcher
	urlKeys  []string // pattern i of urlAC: an exact URL, or a prefix's base
	urlID    []int32
	urlExact []bool
	ugroups  groups
}

type rangerEntry struct {
	n    net.IPNet
	bits int
	id   int32
}

func (e *rangerEntry) Network() net.IPNet { return e.n }

// BuildNaive builds a NaiveIndex over indicators in canonical form. The
// automatons cost about 4 KiB per pattern byte (two 256-pointer tables a
// node): some 60 KiB per domain, 200 KiB per URL.
func BuildNaive(inds []*match.Indicator) (*NaiveIndex, error) {
	ix := &NaiveIndex{ip: cidranger.NewPCTrieRanger()}
	for i, ind := range inds {
		switch ind.Kind {
		case match.KindIP, match.KindCIDR:
			p, err := prefixOf(ind)
			if err != nil {
				return nil, fmt.Errorf("reference: indicator %d %q: %w", i, ind.Value, err)
			}
			before := len(ix.ipGroups.sets)
			id := ix.ipGroups.add(p.String(), ind)
			if len(ix.ipGroups.sets) > before {
				n := net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
				if err := ix.ip.Insert(&rangerEntry{n: n, bits: p.Bits(), id: id}); err != nil {
					return nil, fmt.Errorf("reference: indicator %d %q: %w", i, ind.Value, err)
				}
			}
		case match.KindDomain:
			before := len(ix.dgroups.sets)
			id := ix.dgroups.add(ind.Value, ind)
			if len(ix.dgroups.sets) > before {
				ix.domains = append(ix.domains, ind.Value)
				ix.domainID = append(ix.domainID, id)
			}
		case match.KindURL:
			before := len(ix.ugroups.sets)
			id := ix.ugroups.add(ind.Value, ind)
			if len(ix.ugroups.sets) > before {
				base, isPrefix := strings.CutSuffix(ind.Value, "*")
				ix.urlKeys = append(ix.urlKeys, base)
				ix.urlID = append(ix.urlID, id)
				ix.urlExact = append(ix.urlExact, !isPrefix)
			}
		case match.KindPattern:
			return nil, errPatterns
		default:
			return nil, fmt.Errorf("reference: indicator %d: unknown kind %s", i, ind.Kind)
		}
	}
	if len(ix.domains) > 0 {
		ix.domainAC = ahocorasick.NewStringMatcher(ix.domains)
	}
	if len(ix.urlKeys) > 0 {
		ix.urlAC = ahocorasick.NewStringMatcher(ix.urlKeys)
	}
	return ix, nil
}

func (ix *NaiveIndex) lookupIP(a netip.Addr) (int32, bool) {
	es, err := ix.ip.ContainingNetworks(net.IP(a.AsSlice()))
	if err != nil {
		return 0, false
	}
	best, id := -1, int32(0)
	for _, e := range es {
		re := e.(*rangerEntry)
		if re.bits > best {
			best, id = re.bits, re.id
		}
	}
	return id, best >= 0
}

// Match implements Index.
func (ix *NaiveIndex) Match(remoteIP netip.Addr, remoteURL string, hits []match.Hit) []match.Hit {
	remoteIP = remoteIP.Unmap()
	if remoteIP.IsValid() {
		if id, ok := ix.lookupIP(remoteIP); ok {
			hits = ix.ipGroups.emit(hits, id, match.FieldRemoteIP)
		}
	}
	if remoteURL == "" {
		return hits
	}
	host, ok := match.NormalizeHost(remoteURL)
	if !ok {
		return hits
	}
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		if a = a.Unmap(); a != remoteIP {
			if id, ok := ix.lookupIP(a); ok {
				hits = ix.ipGroups.emit(hits, id, match.FieldRemoteURLHost)
			}
		}
	} else if ix.domainAC != nil {
		best := -1
		for _, i := range ix.domainAC.Match([]byte(host)) {
			d := ix.domains[i]
			if (host == d || strings.HasSuffix(host, "."+d)) && (best < 0 || len(d) > len(ix.domains[best])) {
				best = i
			}
		}
		if best >= 0 {
			hits = ix.dgroups.emit(hits, ix.domainID[best], match.FieldRemoteURL)
		}
	}
	if ix.urlAC == nil {
		return hits
	}
	u, ok := match.NormalizeURL(remoteURL)
	if !ok {
		return hits
	}
	best := -1
	for _, i := range ix.urlAC.Match([]byte(u)) {
		k := ix.urlKeys[i]
		switch {
		case ix.urlExact[i]:
			if u == k {
				return ix.ugroups.emit(hits, ix.urlID[i], match.FieldRemoteURL)
			}
		case strings.HasPrefix(u, k) && (best < 0 || len(k) > len(ix.urlKeys[best])):
			best = i
		}
	}
	if best >= 0 {
		hits = ix.ugroups.emit(hits, ix.urlID[best], match.FieldRemoteURL)
	}
	return hits
}
