package match

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

func TestNewAddrFilterPicksBlocksByKeyCount(t *testing.T) {
	tests := []struct {
		keys, bitsPerKey int
		wantShift        uint8
		wantWords        int
	}{
		{0, 16, 0, 0},
		{1, 16, 16, 1 << 10},
		{4096, 16, 16, 1 << 10},
		{4097, 16, 15, 1 << 11},
		{65536, 16, 12, 1 << 14},
		{65537, 16, 11, 1 << 15},
		{1 << 20, 16, 8, 1 << 18},
		{5_000_000, 16, 8, 1 << 18},
		{891_868, 8, 9, 1 << 17}, // the union filter of the target's index: /23, 1 MiB
		{1 << 20, 8, 9, 1 << 17},
		{1<<20 + 1, 8, 8, 1 << 18},
	}
	for _, tt := range tests {
		f := newAddrFilter(tt.keys, tt.bitsPerKey)
		if f.shift != tt.wantShift || len(f.bits) != tt.wantWords {
			t.Errorf("newAddrFilter(%d, %d): /%d blocks in %d words, want /%d in %d", tt.keys, tt.bitsPerKey, 32-f.shift, len(f.bits), 32-tt.wantShift, tt.wantWords)
		}
	}
}

func TestAddrFilterSetsTheBlocksOfKeysAndPrefixes(t *testing.T) {
	k := func(s string) uint32 { return v4Key(netip.MustParseAddr(s)) }
	f := newAddrFilter(1<<20, 16) // /24 blocks
	f.add(k("20.1.2.3"))
	f.addPrefix(netip.MustParsePrefix("30.0.0.0/15"))
	f.addPrefix(netip.MustParsePrefix("40.5.6.128/25"))
	f.addPrefix(netip.MustParsePrefix("255.255.255.0/24"))
	tests := []struct {
		addr string
		want bool
	}{
		{"20.1.2.3", true},
		{"20.1.2.255", true}, // the same /24
		{"20.1.3.3", false},
		{"30.0.0.0", true},
		{"30.1.255.255", true}, // the last /24 of the /15
		{"30.2.0.0", false},
		{"29.255.255.255", false},
		{"40.5.6.1", true}, // a prefix narrower than a block sets its block
		{"40.5.7.1", false},
		{"255.255.255.255", true},
	}
	for _, tt := range tests {
		if got := f.has(k(tt.addr)); got != tt.want {
			t.Errorf("has(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	var empty addrFilter
	if empty.has(k("20.1.2.3")) {
		t.Error("the zero filter holds a key")
	}
	all := newAddrFilter(1, 16)
	all.addPrefix(netip.MustParsePrefix("0.0.0.0/0"))
	if !all.has(0) || !all.has(^uint32(0)) {
		t.Error("a /0 does not set every block")
	}
}

// With enough keys for fine blocks (/20 for both, /17 for the prefixes)
// and a filter of the addresses, the filters must not hide a match: the
// index agrees with a reference (exact key, else the longest prefix) on
// the keys, on addresses in and next to every prefix, and on random ones.
func TestMatchIPv4AgreesWithAReferenceUnderFineFilters(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var inds []*Indicator
	meta := &Meta{Source: "t"}
	exact := map[netip.Addr]bool{}
	var prefixes []netip.Prefix
	randAddr := func() netip.Addr {
		return netip.AddrFrom4([4]byte{byte(20 + r.IntN(180)), byte(r.UintN(256)), byte(r.UintN(256)), byte(r.UintN(256))})
	}
	for len(exact) < 70_000 {
		a := randAddr()
		if !exact[a] {
			exact[a] = true
			inds = append(inds, &Indicator{Kind: KindIP, Value: a.String(), Meta: meta})
		}
	}
	for range 5_000 {
		p := netip.PrefixFrom(randAddr(), 8+r.IntN(24)).Masked()
		prefixes = append(prefixes, p)
		inds = append(inds, &Indicator{Kind: KindCIDR, Value: p.String(), Meta: meta})
	}
	ix, err := Build(inds, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ix.ip4Any.shift != 12 || ix.ip4Prefixes.shift != 15 || ix.ip4Filter.words == nil {
		t.Fatalf("blocks /%d and /%d, want /20 and /17, and a filter of the addresses", 32-ix.ip4Any.shift, 32-ix.ip4Prefixes.shift)
	}
	want := func(a netip.Addr) string {
		if exact[a] {
			return netip.PrefixFrom(a, 32).String()
		}
		best := netip.Prefix{}
		for _, p := range prefixes {
			if p.Contains(a) && (!best.IsValid() || p.Bits() > best.Bits()) {
				best = p
			}
		}
		if !best.IsValid() {
			return ""
		}
		return best.String()
	}
	got := func(a netip.Addr) string {
		hits := ix.Match(Query{RemoteIP: a}, nil)
		if len(hits) == 0 {
			return ""
		}
		p, err := canonicalPrefix(hits[0].Indicator.Kind, hits[0].Indicator.Value)
		if err != nil {
			t.Fatal(err)
		}
		return p.String()
	}
	var queries []netip.Addr
	for a := range exact {
		if len(queries) >= 300 {
			break
		}
		queries = append(queries, a)
	}
	for _, p := range prefixes[:600] {
		lo := p.Addr()
		last := v4Key(lo) | uint32(uint64(1)<<(32-p.Bits())-1)
		hi := netip.AddrFrom4([4]byte{byte(last >> 24), byte(last >> 16), byte(last >> 8), byte(last)})
		queries = append(queries, lo, lo.Prev(), hi, hi.Next())
	}
	for range 3000 {
		queries = append(queries, randAddr())
	}
	for _, a := range queries {
		if !a.IsValid() {
			continue
		}
		if g, w := got(a), want(a); g != w {
			t.Errorf("Match(%s) = %q, want %q", a, g, w)
		}
	}
}

// IPv6 prefixes: the /32 filter never hides a prefix that contains the
// address; a prefix shorter than /32 turns the filter off.
func TestMatchIPv6PrefixesThroughTheFilter(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	meta := &Meta{Source: "t"}
	randAddr := func() netip.Addr {
		var b [16]byte
		b[0] = 0x24 + byte(r.IntN(12))
		for i := 1; i < 16; i++ {
			b[i] = byte(r.UintN(256))
		}
		return netip.AddrFrom16(b)
	}
	var prefixes []netip.Prefix
	var inds []*Indicator
	for range 2000 {
		p := netip.PrefixFrom(randAddr(), 32+r.IntN(33)).Masked()
		prefixes = append(prefixes, p)
		inds = append(inds, &Indicator{Kind: KindCIDR, Value: p.String(), Meta: meta})
	}
	for _, short := range []bool{false, true} {
		all := inds
		if short {
			all = append(all[:len(all):len(all)], &Indicator{Kind: KindCIDR, Value: "2a00::/24", Meta: meta})
		}
		ix, err := Build(all, BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ix.ip6AnyPrefix != short || (ix.ip6Prefixes.words == nil) != short {
			t.Fatalf("short prefix %v: any %v, filter %v", short, ix.ip6AnyPrefix, ix.ip6Prefixes.words != nil)
		}
		check := func(a netip.Addr, want bool) {
			t.Helper()
			if got := len(ix.Match(Query{RemoteIP: a}, nil)) > 0; got != want {
				t.Errorf("short prefix %v: Match(%s) hit %v, want %v", short, a, got, want)
			}
		}
		for _, p := range prefixes[:500] {
			check(p.Addr(), true)
		}
		for range 2000 {
			a := randAddr()
			want := short && netip.MustParsePrefix("2a00::/24").Contains(a)
			for _, p := range prefixes {
				want = want || p.Contains(a)
			}
			check(a, want)
		}
		check(netip.MustParseAddr("2a00:0012::1"), short)
	}
}
