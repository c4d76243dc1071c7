package match

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/gaissmai/bart"
	"github.com/yl2chen/cidranger"
)

// The IP index implementations BuildOptions.IPIndex selects.
const (
	IPIndexBart      = "bart"      // github.com/gaissmai/bart Fast table (the default)
	IPIndexCIDRanger = "cidranger" // github.com/yl2chen/cidranger path-compressed trie, for comparison
)

// ipTrie is a longest-prefix-match table from prefixes to refs. Build puts
// only prefixes shorter than an address in it (full-length ones go to hash
// maps in front of it). It is filled by one goroutine during Build and only
// read afterwards, which both implementations allow concurrently. Addresses
// and prefixes passed in are already unmapped and masked.
type ipTrie interface {
	// insert stores r for p, replacing any value p has.
	insert(p netip.Prefix, r ref)
	// get returns the value stored for exactly p.
	get(p netip.Prefix) (r ref, ok bool)
	// lookup returns the value of the longest stored prefix containing a.
	lookup(a netip.Addr) (r ref, ok bool)
	// lookupPrefix returns the value of the longest stored prefix that
	// contains p (p itself included).
	lookupPrefix(p netip.Prefix) (r ref, ok bool)
}

func newIPTrie(name string) (ipTrie, error) {
	switch name {
	case "", IPIndexBart:
		return new(bartTrie), nil
	case IPIndexCIDRanger:
		return &cidrangerTrie{r: cidranger.NewPCTrieRanger(), exact: make(map[netip.Prefix]ref)}, nil
	default:
		return nil, fmt.Errorf("unknown IP index %q (want %q or %q)", name, IPIndexBart, IPIndexCIDRanger)
	}
}

// bartTrie uses bart.Fast: measured here with all of 1M ip/cidr values in
// it, ~50 ns per lookup and ~90 MiB against ~76 ns and ~67 MiB for
// bart.Table. Since full-length values go to Index.ip4 and Index.ip6, it
// holds only the ~100k shorter prefixes of that set: 14 MiB.
type bartTrie struct {
	t bart.Fast[ref]
}

func (b *bartTrie) insert(p netip.Prefix, r ref) { b.t.Insert(p, r) }

func (b *bartTrie) get(p netip.Prefix) (ref, bool) { return b.t.Get(p) }

func (b *bartTrie) lookup(a netip.Addr) (ref, bool) { return b.t.Lookup(a) }

func (b *bartTrie) lookupPrefix(p netip.Prefix) (ref, bool) { return b.t.LookupPrefix(p) }

// cidrangerTrie adapts cidranger. Every lookup allocates (net.IP and the
// result slice); it exists to compare against, not for production.
type cidrangerTrie struct {
	r     cidranger.Ranger
	exact map[netip.Prefix]ref // cidranger has no exact lookup
}

type rangerEntry struct {
	n    net.IPNet
	bits int
	r    ref
}

func (e *rangerEntry) Network() net.IPNet { return e.n }

func (c *cidrangerTrie) insert(p netip.Prefix, r ref) {
	c.exact[p] = r
	bits := p.Addr().BitLen()
	n := net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), bits)}
	// Insert fails only on a malformed network, which a masked netip.Prefix
	// never is.
	_ = c.r.Insert(&rangerEntry{n: n, bits: p.Bits(), r: r})
}

func (c *cidrangerTrie) get(p netip.Prefix) (ref, bool) {
	r, ok := c.exact[p]
	return r, ok
}

func (c *cidrangerTrie) lookup(a netip.Addr) (ref, bool) {
	return c.longest(a, a.BitLen())
}

func (c *cidrangerTrie) lookupPrefix(p netip.Prefix) (ref, bool) {
	return c.longest(p.Addr(), p.Bits())
}

// longest returns the longest stored prefix containing a with at most
// maxBits bits.
func (c *cidrangerTrie) longest(a netip.Addr, maxBits int) (ref, bool) {
	es, err := c.r.ContainingNetworks(net.IP(a.AsSlice()))
	if err != nil {
		return ref{}, false
	}
	best, found := -1, ref{}
	for _, e := range es {
		re := e.(*rangerEntry)
		if re.bits <= maxBits && re.bits > best {
			best, found = re.bits, re.r
		}
	}
	return found, best >= 0
}
