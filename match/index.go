package match

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BuildOptions tunes Build. The zero value selects the defaults. It is
// safe to share when Yield is.
type BuildOptions struct {
	// IPIndex selects the longest-prefix table for ip and cidr indicators:
	// IPIndexBart ("bart", the default when empty) or IPIndexCIDRanger
	// ("cidranger", slower and allocating; kept to compare against).
	IPIndex string
	// Yield, when set, is called every YieldEvery indicators while Build
	// indexes them, so that the caller can pace the work (by pausing) or
	// stop it: a non-nil error ends Build with that error.
	Yield func() error
}

// YieldEvery is how many indicators Build indexes between two calls of
// BuildOptions.Yield: about half a millisecond of work.
const YieldEvery = 4096

// Query is one event's lookup input. The zero value matches nothing. It
// is plain data; Match does not keep it.
type Query struct {
	// RemoteIP is the event's RemoteIP. Callers unmap IPv4-mapped IPv6;
	// Match unmaps again. The zero Addr means absent.
	RemoteIP netip.Addr
	// RemoteURL is RemoteUrl as the event carries it: a bare host or a URL,
	// any case. Empty means absent.
	RemoteURL string
	// At, when non-zero, drops indicators that are not ActiveAt(At).
	At time.Time
}

// Index is an immutable set of indicators built for matching events. The
// zero value and a nil *Index hold no indicators. An Index is safe for
// concurrent use; it must not be copied after Build.
type Index struct {
	// lists are the lists given to BuildLists, not copied; an indicator's
	// id is its position in their concatenation, and bases[k] the id of
	// the first indicator of lists[k].
	lists   []*List
	bases   []uint32
	n       int
	members []uint32 // the ids of the indicators of groups, input order within one
	groups  []group  // keys with several indicators only

	// ip4 and ip6 hold the full-length ip and cidr keys (/32, /128), most
	// of them; ip the shorter prefixes (nil when there are none). A lookup
	// probes the exact map first: a hit there is the longest match.
	ip4   map[uint32]ref
	ip6   map[[16]byte]ref
	ip    ipTrie
	hasIP bool // some ip or cidr indicator
	// ip4Any has a bit per block of IPv4 addresses, set when some key of
	// ip4 is in the block or some IPv4 prefix of ip overlaps it, so that
	// a miss in a block without either, almost every event, reads one
	// bit and nothing else: blocks of at least 8 bits a key and prefix,
	// from /16 (8 KiB) for a few, /23 (1 MiB) up to about a million,
	// /24 (2 MiB) beyond (see newAddrFilter). ip4Filter holds every key
	// of ip4 (a hashFilter of 16 bits a key), so that a miss in a block
	// with keys skips the map probe, a cache miss, unless it is one of
	// the ~1 in 230 the filter lets through. ip4Prefixes has the bit of
	// every block an IPv4 prefix of ip overlaps (16 bits a prefix), so
	// that such a miss skips the trie too.
	ip4Any      addrFilter
	ip4Filter   hashFilter
	ip4Prefixes addrFilter
	// ip6Filter holds v6Hash(a) for every key a of ip6: a hashFilter of
	// at least 8 bits a key (256 KiB for 250k addresses), so that all but
	// about 1 in 45 misses skip the map probe. IPv6 addresses are too
	// sparse for a bit per block: random indicators cover every /32 hash
	// of a 64k-bit set. The zero filter without ip6.
	ip6Filter hashFilter
	// ip6Prefixes does for the IPv6 prefixes of ip what ip6Filter does
	// for ip6, keyed by the first 32 bits of the address (v6BlockHash):
	// every prefix of /32 or longer sets the bit of its /32. A prefix
	// shorter than /32 sets ip6AnyPrefix instead, and then every IPv6
	// miss walks the trie. nil with neither: no IPv6 prefix.
	ip6Prefixes  hashFilter
	ip6AnyPrefix bool
	// hosts is keyed by every domain indicator and by the host name of
	// every URL indicator: one probe of an event's host finds both its
	// domain indicators and whether URL indicators on that host exist.
	// nil when there are no such keys.
	hosts *hostTable
	// domainLabels has bit n set when some domain has n labels (n ≥ 63
	// sets bit 63), so that lookups of suffixes no domain has are skipped;
	// hostLabels is the same over every key of hosts.
	domainLabels, hostLabels uint64
	urls                     urlIndex
	patterns                 patternSet

	counts [KindPattern + 1]int
}

// group is the set of indicators sharing one key (an address or prefix, a
// domain, a URL, a URL prefix or a pattern) when there are several.
type group struct {
	start, end uint32 // members[start:end]
	// timeless is set when no member has a validity window, so that a
	// lookup at a time need not read the indicators.
	timeless bool
}

// ref is what the index holds for a key: in its maps, IP trie, URL
// prefixes and patterns. Most keys have a single indicator; its ref names
// it by its id (refOne), and no group exists for it.
// A key with several indicators has a group.
type ref struct {
	id    uint32 // an indicator's id with refOne, else an index of Index.groups
	flags uint32 // refOne, refTimeless, refDomain, hostExactURL, hostPrefixURL; prefix length
}

// ref.flags.
const (
	refOne      = 1 << iota // id is the key's only indicator
	refTimeless             // with refOne: it has no validity window
	// refDomain marks a key of Index.hosts that is a domain indicator's;
	// the others are only the host of some URL indicator.
	refDomain
	hostExactURL  // a key of Index.hosts: some exact URL indicator has it as host
	hostPrefixURL // a key of Index.hosts: some URL prefix indicator has it as host

	// A ref of the IP trie keeps its prefix length in flags>>refBitsShift,
	// so that the next less specific prefix can be looked up.
	refBitsShift = 8
)

// maxBuildErrors caps the problems one Build reports.
const maxBuildErrors = 100

// Build returns an immutable Index over inds: BuildLists over a List of
// them. Every value is normalised
// again (an address or prefix unmapped and masked, a domain by
// NormalizeHost, a URL by NormalizeURL before a trailing '*' (the path
// segment a '*' continues is not resolved as a dot segment), a pattern
// lower-cased and percent-escaped like a URL path); a value that does not
// normalise, or an indicator without Meta, is an error naming the
// indicator's Origin. All errors are joined (at most 100 are listed).
// Several indicators may share a value (different feeds): a hit on that
// value reports all of them. The Index copies the indicators' values
// and shares their Meta, which it never changes: the caller must not
// change a Meta after Build.
func Build(inds []*Indicator, opt BuildOptions) (*Index, error) {
	var errs []error
	for i, ind := range inds {
		if ind == nil {
			errs = append(errs, fmt.Errorf("indicator %d is nil", i))
			if len(errs) == maxBuildErrors {
				break
			}
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("build index: %w", errors.Join(errs...))
	}
	return BuildLists([]*List{ListOf(inds)}, opt)
}

// BuildLists returns an immutable Index over the indicators of lists, in
// order, as Build describes. The Index keeps the lists themselves, not a
// copy: the caller must not append to them (nor change a Meta) after.
func BuildLists(lists []*List, opt BuildOptions) (*Index, error) {
	trie, err := newIPTrie(opt.IPIndex)
	if err != nil {
		return nil, fmt.Errorf("build index: %w", err)
	}
	var perKind [KindPattern + 1]int
	total := 0
	ix := &Index{}
	for _, l := range lists {
		if l.Len() == 0 {
			continue
		}
		if uint64(total)+uint64(l.Len()) > math.MaxUint32 {
			return nil, fmt.Errorf("build index: more than %d indicators", uint32(math.MaxUint32))
		}
		ix.lists = append(ix.lists, l)
		ix.bases = append(ix.bases, uint32(total))
		total += l.Len()
		for _, r := range l.recs {
			if r.kind <= KindPattern {
				perKind[r.kind]++
			}
		}
	}
	ix.n = total
	ix.hosts = newHostTable(perKind[KindDomain] + perKind[KindURL])
	var (
		errs      []error
		nerrs     int
		groupOf   []uint32 // group+1 of each indicator in a group, else 0
		ngroups   uint32
		hasPrefix bool
		prefixes4 []netip.Prefix // the IPv4 prefixes of the trie
		prefixes6 []netip.Prefix // and the IPv6 ones
		urlKeys   = make(map[string]ref, perKind[KindURL])
		prefixKey = make(map[string]ref)
		patKeys   = make(map[string]int)
		patterns  []string
		patRefs   []ref
		buf       []byte
	)
	// add returns the ref of a key after adding inds[i] to it, given the
	// key's ref so far (found false for a new key). A key's first indicator
	// is held by the ref itself; a second one makes a group of both.
	add := func(r ref, found bool, i int) ref {
		if !found {
			r = ref{id: uint32(i), flags: refOne}
			if ix.timeless(uint32(i)) {
				r.flags |= refTimeless
			}
			return r
		}
		if groupOf == nil {
			groupOf = make([]uint32, total)
		}
		if r.flags&refOne != 0 {
			groupOf[r.id] = ngroups + 1
			r.id = ngroups
			r.flags &^= refOne | refTimeless
			ngroups++
		}
		groupOf[i] = r.id + 1
		return r
	}
	intern := func(m map[string]ref, key []byte, i int, value string, flags uint32) {
		r, ok := m[string(key)]
		nr := add(r, ok, i)
		nr.flags |= flags
		if !ok || nr != r {
			k := value
			if string(key) != k {
				k = string(key)
			}
			m[k] = nr
		}
	}
	for i := range total {
		if opt.Yield != nil && i%YieldEvery == YieldEvery-1 {
			if err := opt.Yield(); err != nil {
				return nil, fmt.Errorf("build index: %w", err)
			}
		}
		ind := ix.at(uint32(i))
		if ind.Meta == nil {
			nerrs++
			if nerrs <= maxBuildErrors {
				errs = append(errs, fmt.Errorf("indicator %d (%s %q) has no metadata: its Meta is nil", i, ind.Kind, ind.Value))
			}
			continue
		}
		var err error
		switch ind.Kind {
		case KindIP, KindCIDR:
			var p netip.Prefix
			if p, err = canonicalPrefix(ind.Kind, ind.Value); err != nil {
				break
			}
			a := p.Addr()
			switch {
			case p.Bits() == a.BitLen() && a.Is4():
				if ix.ip4 == nil {
					ix.ip4 = make(map[uint32]ref)
				}
				k := v4Key(a)
				r, ok := ix.ip4[k]
				if nr := add(r, ok, i); !ok || nr != r {
					ix.ip4[k] = nr
				}
			case p.Bits() == a.BitLen():
				if ix.ip6 == nil {
					ix.ip6 = make(map[[16]byte]ref)
				}
				k := a.As16()
				r, ok := ix.ip6[k]
				if nr := add(r, ok, i); !ok || nr != r {
					ix.ip6[k] = nr
				}
			default:
				r, ok := trie.get(p)
				nr := add(r, ok, i)
				nr.flags |= uint32(p.Bits()) << refBitsShift
				if !ok || nr != r {
					trie.insert(p, nr)
					if a.Is4() {
						prefixes4 = append(prefixes4, p)
					} else {
						prefixes6 = append(prefixes6, p)
					}
				}
				hasPrefix = true
			}
			ix.hasIP = true
		case KindDomain:
			if buf, err = appendDomain(buf[:0], ind.Value); err == nil {
				r, found := ix.hosts.upsert(buf, ind.Value)
				*r = add(*r, found, i)
				r.flags |= refDomain
				ix.domainLabels |= labelBit(bytes.Count(buf, []byte{'.'}) + 1)
			}
		case KindURL:
			base, isPrefix := strings.CutSuffix(ind.Value, "*")
			if isPrefix && strings.IndexByte(base, '#') >= 0 {
				// Events' fragments are dropped: "…/x#*" is the URL "…/x".
				isPrefix = false
			}
			var ok bool
			if buf, ok = appendURLIndicator(buf[:0], base, isPrefix); !ok {
				err = errors.New("not a URL (want scheme://host/path, optionally ending in '*')")
			} else if isPrefix {
				if strings.HasSuffix(base, "?") && buf[len(buf)-1] != '?' {
					// "…/x?*" wants a query: keep the '?' that normalising
					// drops with the empty query, or "…/xyz" would match.
					buf = append(buf, '?')
				}
				intern(prefixKey, buf, i, ind.Value, 0)
			} else {
				intern(urlKeys, buf, i, ind.Value, 0)
			}
		case KindPattern:
			if ind.Value == "" {
				err = errors.New("empty pattern")
				break
			}
			buf = lowerASCIIBytes(appendEscaped(buf[:0], ind.Value))
			j, ok := patKeys[string(buf)]
			if !ok {
				j = len(patterns)
				k := string(buf)
				patKeys[k] = j
				patterns = append(patterns, k)
				patRefs = append(patRefs, ref{})
			}
			patRefs[j] = add(patRefs[j], ok, i)
		default:
			err = fmt.Errorf("unknown kind %s", ind.Kind)
		}
		if err != nil {
			nerrs++
			if nerrs <= maxBuildErrors {
				errs = append(errs, fmt.Errorf("%s: %s indicator %q: %w", indOrigin(&ind, i), ind.Kind, ind.Value, err))
			}
			continue
		}
		ix.counts[ind.Kind]++
	}
	if nerrs > 0 {
		if nerrs > maxBuildErrors {
			errs = append(errs, fmt.Errorf("and %d more invalid indicators", nerrs-maxBuildErrors))
		}
		return nil, fmt.Errorf("build index: %w", errors.Join(errs...))
	}

	if ngroups > 0 {
		ix.buildGroups(groupOf, ngroups)
	}
	ix.addURLHosts(urlKeys, hostExactURL, buf)
	ix.addURLHosts(prefixKey, hostPrefixURL, buf)
	if hasPrefix {
		ix.ip = trie
	}
	ix.buildIP4Filters(prefixes4)
	ix.buildIP6PrefixFilter(prefixes6)
	ix.buildIP6Filter()
	ix.hostLabels |= ix.domainLabels
	if ix.hosts.len() == 0 {
		ix.hosts = nil
	} else {
		ix.hosts.buildFilter()
	}
	ix.urls = buildURLIndex(urlKeys, prefixKey)
	ix.patterns.build(patterns, patRefs)
	return ix, nil
}

// buildGroups fills groups and members: groupOf holds group+1 for each
// indicator id that is in one of the ngroups groups, else 0. A
// counting sort, stable within a group.
func (ix *Index) buildGroups(groupOf []uint32, ngroups uint32) {
	ix.groups = make([]group, ngroups)
	for _, g := range groupOf {
		if g > 0 {
			ix.groups[g-1].end++
		}
	}
	var off uint32
	for g := range ix.groups {
		n := ix.groups[g].end
		ix.groups[g] = group{start: off, end: off, timeless: true}
		off += n
	}
	ix.members = make([]uint32, off)
	for i, g := range groupOf {
		if g == 0 {
			continue
		}
		gr := &ix.groups[g-1]
		ix.members[gr.end] = uint32(i)
		gr.end++
		if !ix.timeless(uint32(i)) {
			gr.timeless = false
		}
	}
}

// at returns the indicator with the given id.
func (ix *Index) at(id uint32) Indicator {
	l, i := ix.locate(id)
	return l.At(i)
}

// timeless reports whether the indicator with the given id has no
// validity window.
func (ix *Index) timeless(id uint32) bool {
	l, i := ix.locate(id)
	m := l.MetaAt(i)
	return m == nil || (m.ValidFrom.IsZero() && m.ValidUntil.IsZero())
}

// locate returns the list that holds the indicator with the given id and
// its position there.
func (ix *Index) locate(id uint32) (*List, int) {
	k := len(ix.bases) - 1
	for ix.bases[k] > id {
		k--
	}
	return ix.lists[k], int(id - ix.bases[k])
}

// addrFilter has a bit per block of 2^shift IPv4 addresses. The zero
// value holds nothing.
type addrFilter struct {
	bits  bitSet
	shift uint8
}

// newAddrFilter returns an empty filter for n keys: the finest blocks,
// from /16 (8 KiB) down to /24 (2 MiB), that give at least bitsPerKey
// bits a key. The finer the blocks the fewer misses reach the map or the
// trie: with a million addresses spread over the public space nearly
// every /16 holds one, while 95 % of the /24s do not; the coarser the
// smaller the filter, and the likelier its line is still cached.
// No keys: the zero filter.
func newAddrFilter(n, bitsPerKey int) addrFilter {
	if n == 0 {
		return addrFilter{}
	}
	shift := uint8(16)
	for shift > 8 && uint64(1)<<(32-shift) < uint64(bitsPerKey)*uint64(n) {
		shift--
	}
	return addrFilter{bits: newBitSet(1 << (32 - shift)), shift: shift}
}

func (f *addrFilter) add(k uint32) { f.bits.set(uint64(k >> f.shift)) }

// addPrefix sets the bit of every block p overlaps (p is IPv4).
func (f *addrFilter) addPrefix(p netip.Prefix) {
	lo := v4Key(p.Masked().Addr())
	hi := lo | uint32(uint64(1)<<(32-p.Bits())-1)
	for b := uint64(lo >> f.shift); b <= uint64(hi>>f.shift); b++ {
		f.bits.set(b)
	}
}

// has reports whether the block of k has its bit set.
func (f *addrFilter) has(k uint32) bool {
	return f.bits != nil && f.bits.has(uint64(k>>f.shift))
}

// buildIP4Filters fills ip4Filter from the keys of ip4, ip4Prefixes
// from the IPv4 prefixes of the trie and ip4Any from both.
func (ix *Index) buildIP4Filters(prefixes []netip.Prefix) {
	ix.ip4Any = newAddrFilter(len(ix.ip4)+len(prefixes), 8)
	if len(ix.ip4) > 0 {
		ix.ip4Filter = newHashFilter(len(ix.ip4), 16, 1<<16)
	}
	for k := range ix.ip4 {
		ix.ip4Any.add(k)
		ix.ip4Filter.add(v4Hash(k))
	}
	ix.ip4Prefixes = newAddrFilter(len(prefixes), 16)
	for _, p := range prefixes {
		ix.ip4Any.addPrefix(p)
		ix.ip4Prefixes.addPrefix(p)
	}
}

// buildIP6Filter sets ip6Filter from the keys of ip6.
func (ix *Index) buildIP6Filter() {
	if len(ix.ip6) == 0 {
		return
	}
	ix.ip6Filter = newHashFilter(len(ix.ip6), 8, 1<<16)
	for k := range ix.ip6 {
		ix.ip6Filter.add(v6Hash(k))
	}
}

// mayHaveIP6 reports whether k may be a key of ip6: false means it is not.
func (ix *Index) mayHaveIP6(k [16]byte) bool { return ix.ip6Filter.has(v6Hash(k)) }

// buildIP6PrefixFilter sets ip6Prefixes (about 16 bits a prefix, at
// least 64 KiB) or ip6AnyPrefix from the IPv6 prefixes of the trie.
func (ix *Index) buildIP6PrefixFilter(prefixes []netip.Prefix) {
	if len(prefixes) == 0 {
		return
	}
	for _, p := range prefixes {
		if p.Bits() < 32 {
			ix.ip6AnyPrefix = true
			return
		}
	}
	ix.ip6Prefixes = newHashFilter(len(prefixes), 16, 1<<19)
	for _, p := range prefixes {
		ix.ip6Prefixes.add(v6BlockHash(p.Addr().As16()))
	}
}

// mayHaveIP6Prefix reports whether some IPv6 prefix of the trie may
// contain a address whose bytes are k: false means none does.
func (ix *Index) mayHaveIP6Prefix(k [16]byte) bool {
	return ix.ip6AnyPrefix || ix.ip6Prefixes.has(v6BlockHash(k))
}

// v6BlockHash hashes the /32 of an IPv6 address.
func v6BlockHash(a [16]byte) uint64 {
	return mum(uint64(binary.BigEndian.Uint32(a[:4]))^0xa0761d6478bd642f, 0xe7037ed1a0b428db)
}

// v4Hash hashes an IPv4 address for ip4Filter.
func v4Hash(k uint32) uint64 { return mum(uint64(k)^0xa0761d6478bd642f, 0xe7037ed1a0b428db) }

// v6Hash hashes an IPv6 address for ip6Filter.
func v6Hash(a [16]byte) uint64 {
	return mum(binary.BigEndian.Uint64(a[:8])^0xa0761d6478bd642f, binary.BigEndian.Uint64(a[8:])^0xe7037ed1a0b428db)
}

// v4Key is the key of an IPv4 address in Index.ip4.
func v4Key(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// addURLHosts records in ix.hosts, with flag, the host name of every
// normalised URL (or URL prefix) key of urls. Hosts that are IP literals
// are left out: an event URL with an IP-literal host consults the origin
// map of ix.urls instead.
func (ix *Index) addURLHosts(urls map[string]ref, flag uint32, buf []byte) {
	for u := range urls {
		var raw rawURL
		ok := splitURL(u, &raw)
		if !ok {
			continue
		}
		var hs, he int
		var addr netip.Addr
		buf, hs, he, addr, ok = appendOrigin(buf[:0], &raw)
		if !ok || addr.IsValid() {
			continue
		}
		r, found := ix.hosts.upsert(buf[hs:he], "")
		if !found {
			ix.hostLabels |= labelBit(bytes.Count(buf[hs:he], []byte{'.'}) + 1)
		}
		r.flags |= flag
	}
}

func indOrigin(ind *Indicator, i int) string {
	if o := ind.Origin(); o != "" {
		return o
	}
	return fmt.Sprintf("indicator %d", i)
}

// canonicalPrefix parses an ip value as a full-length prefix and a cidr
// value as a masked prefix, both unmapped.
func canonicalPrefix(k Kind, v string) (netip.Prefix, error) {
	if k == KindIP {
		a, err := netip.ParseAddr(v)
		if err != nil {
			return netip.Prefix{}, err
		}
		a = a.WithZone("").Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(v)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// appendDomain normalises a domain indicator: a bare host name, not an IP
// literal, without scheme, userinfo, port or path. A value that is an IP
// address in any form a browser reads as one ("203.0.113.7", "113.7",
// "0x7f.1", "2001:db8::1", "[2001:db8::1]") is refused with a
// *domainIsIPError.
func appendDomain(dst []byte, v string) ([]byte, error) {
	var u rawURL
	ok := splitURL(v, &u)
	bare := u.host
	if u.bracketed {
		bare = "[" + bare + "]"
	}
	if !ok || u.isURL() || u.port != "" || bare != trimASCIISpace(v) {
		return dst, errors.New("not a bare domain name")
	}
	out, addr, ok := appendHostPart(dst, &u)
	switch {
	case ok && addr.IsValid():
		return dst, &domainIsIPError{addr: addr, written: trimASCIISpace(v)}
	case u.bracketed:
		return dst, errors.New("not a bare domain name")
	case !ok:
		return dst, errors.New("not a valid host name")
	}
	return out, nil
}

// domainIsIPError is appendDomain's error for a value that is an IP
// address. Its text is the advice for a domain indicator; an exclusion,
// which has no kind, words its own advice from addr (see cond.add).
type domainIsIPError struct {
	addr    netip.Addr // the address, unmapped, as remote_ip takes it
	written string     // the value as written, trimmed
}

// Error advises kind ip, and the address's usual form when the value is
// written otherwise ("113.7"), which kind ip would refuse.
func (e *domainIsIPError) Error() string {
	if a := e.addr.String(); a != e.written {
		return "is an IP address: use kind ip and the value " + strconv.Quote(a)
	}
	return "is an IP address: use kind ip"
}

func lowerASCIIBytes(b []byte) []byte {
	for i, c := range b {
		b[i] = lowerASCII(c)
	}
	return b
}

// Match appends every hit for q to hits and returns it:
//
//   - RemoteIP: the indicators of the longest matching prefix (Field
//     FieldRemoteIP);
//   - the host of RemoteURL when it is an IP literal: the same, with Field
//     FieldRemoteURLHost, unless it equals RemoteIP;
//   - the host of RemoteURL when it is a name: the indicators of the most
//     specific matching domain (the host itself, else its nearest parent);
//   - RemoteURL as a URL (it has a scheme, or a path, query or fragment):
//     the indicators of the identical URL, else of the longest matching URL
//     prefix;
//   - every pattern found in the normalised RemoteURL.
//
// When q.At is set, inactive indicators are dropped and the next less
// specific match with an active indicator is reported instead.
//
// Match is safe for concurrent use. It does not allocate while hits has
// spare capacity, except on the rare path
// that reports a pattern hit, for IDN hosts, and for a RemoteURL over 128
// bytes with a tab or newline (which it removes, as a browser does) in its
// path or query.
func (ix *Index) Match(q Query, hits []Hit) []Hit {
	if ix == nil {
		return hits
	}
	ip := q.RemoteIP.Unmap()
	if ip.IsValid() && ix.hasIP {
		hits = ix.matchIP(hits, ip, FieldRemoteIP, q.At)
	}
	if q.RemoteURL != "" {
		switch n := len(q.RemoteURL); {
		case n <= shortStackURL:
			// Most RemoteUrl values are a host name: a smaller buffer
			// to zero.
			var arr [3*shortStackURL + 32]byte
			hits = ix.matchURL(hits, arr[:0], ip, q)
		case n <= maxStackURL:
			var arr [3*maxStackURL + 32]byte
			hits = ix.matchURL(hits, arr[:0], ip, q)
		default:
			bp := urlBufPool.Get().(*[]byte)
			hits = ix.matchURL(hits, (*bp)[:0], ip, q)
			urlBufPool.Put(bp)
		}
	}
	return hits
}

// maxStackURL is the longest RemoteUrl normalised in a stack buffer:
// normalising can triple its length, and the buffer is zeroed on every
// call, so it is kept small. Longer ones use a pooled buffer.
const maxStackURL = 160

// shortStackURL is the longest RemoteUrl normalised in the smaller stack
// buffer.
const shortStackURL = 48

var urlBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// matchIP reports the indicators of the longest prefix containing a that
// has one active at at: an exact address from ip4 or ip6, else a prefix
// of the trie, then each less specific prefix of the trie in turn.
func (ix *Index) matchIP(hits []Hit, a netip.Addr, f Field, at time.Time) []Hit {
	var (
		r    ref
		ok   bool
		bits = a.BitLen()
	)
	is4 := a.Is4()
	var (
		k4  uint32
		k16 [16]byte
	)
	if is4 {
		if k4 = v4Key(a); !ix.ip4Any.has(k4) {
			return hits
		}
		if ix.ip4Filter.has(v4Hash(k4)) {
			r, ok = ix.ip4[k4]
		}
	} else if k16 = a.As16(); ix.mayHaveIP6(k16) {
		r, ok = ix.ip6[k16]
	}
	if !ok {
		if ix.ip == nil || (is4 && !ix.ip4Prefixes.has(k4)) || (!is4 && !ix.mayHaveIP6Prefix(k16)) {
			return hits
		}
		if r, ok = ix.ip.lookup(a); !ok {
			return hits
		}
		bits = int(r.flags >> refBitsShift)
	}
	for {
		var any bool
		if hits, any = ix.emit(hits, r, f, at); any || bits == 0 || ix.ip == nil {
			return hits
		}
		// Only a validity window gets here: look up the next less
		// specific prefix.
		if r, ok = ix.ip.lookupPrefix(netip.PrefixFrom(a, bits-1).Masked()); !ok {
			return hits
		}
		bits = int(r.flags >> refBitsShift)
	}
}

// emit appends the indicators of r active at at (all when at is zero) and
// reports whether it appended any.
func (ix *Index) emit(hits []Hit, r ref, f Field, at time.Time) ([]Hit, bool) {
	if r.flags&refOne != 0 {
		ind := ix.at(r.id)
		if at.IsZero() || r.flags&refTimeless != 0 || ind.ActiveAt(at) {
			return append(hits, Hit{Indicator: ind, Field: f}), true
		}
		return hits, false
	}
	gr := &ix.groups[r.id]
	all := at.IsZero() || gr.timeless
	n := len(hits)
	for _, id := range ix.members[gr.start:gr.end] {
		if ind := ix.at(id); all || ind.ActiveAt(at) {
			hits = append(hits, Hit{Indicator: ind, Field: f})
		}
	}
	return hits, len(hits) > n
}

func (ix *Index) matchURL(hits []Hit, buf []byte, remoteIP netip.Addr, q Query) []Hit {
	var u rawURL
	ok := splitURL(q.RemoteURL, &u)
	if !ok && u.tabOrNewline {
		return ix.matchURLWithoutTabOrNewline(hits, buf, remoteIP, q)
	}
	if !ok {
		return ix.matchRaw(hits, buf, q)
	}
	var (
		hostStart, hostEnd int
		addr               netip.Addr
		isURL              = u.isURL()
	)
	if isURL {
		buf, hostStart, hostEnd, addr, ok = appendOrigin(buf, &u)
	} else {
		buf, addr, ok = appendHostPart(buf, &u)
		hostEnd = len(buf)
	}
	if !ok {
		return ix.matchRaw(hits, buf, q)
	}
	var urlFlags uint32
	switch {
	case addr.IsValid():
		if ix.hasIP && addr != remoteIP {
			hits = ix.matchIP(hits, addr, FieldRemoteURLHost, q.At)
		}
	case ix.hosts != nil:
		hits, urlFlags = ix.matchHost(hits, buf[hostStart:hostEnd], q.At)
	}
	if isURL {
		// The path is normalised only when the host has URL indicators or
		// patterns need the whole URL. A host name's URL indicators are
		// known from its probe of hosts; an IP literal's from the origin
		// map.
		var (
			o     originEntry
			found bool
		)
		if addr.IsValid() {
			if o, found = ix.urls.origin(buf); found && o.exact {
				urlFlags |= hostExactURL
			}
			if found && o.hi > o.lo {
				urlFlags |= hostPrefixURL
			}
		}
		if urlFlags != 0 || ix.patterns.m != nil {
			originLen := len(buf)
			var clean bool
			if buf, clean = appendPathQuery(buf, &u); !clean {
				buf = appendPathQueryWithoutTabOrNewline(buf[:originLen], u.scheme, u.tail, false)
			}
			hits = ix.urls.match(ix, hits, urlFlags, o, found, buf, originLen, q.At)
		}
	}
	if ix.patterns.m != nil {
		hits = ix.patterns.match(ix, hits, lowerASCIIBytes(buf), q.At)
	}
	return hits
}

// matchURLWithoutTabOrNewline is matchURL of q.RemoteURL without its ASCII
// tabs and newlines, which a browser removes from a URL before it reads
// it, for a RemoteUrl with one before its path: the copy is written into a
// pooled buffer, not allocated.
func (ix *Index) matchURLWithoutTabOrNewline(hits []Hit, buf []byte, remoteIP netip.Addr, q Query) []Hit {
	bp := urlBufPool.Get().(*[]byte)
	q.RemoteURL = withoutTabOrNewline((*bp)[:0], q.RemoteURL)
	hits = ix.matchURL(hits, buf, remoteIP, q)
	urlBufPool.Put(bp)
	return hits
}

// matchRaw handles a RemoteUrl without a usable host: only patterns can
// match, over its percent-escaped, lower-cased text.
func (ix *Index) matchRaw(hits []Hit, buf []byte, q Query) []Hit {
	if ix.patterns.m == nil {
		return hits
	}
	buf = lowerASCIIBytes(appendEscaped(buf[:0], q.RemoteURL))
	return ix.patterns.match(ix, hits, buf, q.At)
}

// matchHost looks the host and each parent domain up in hosts, most
// specific first, and reports the first domain with an active indicator.
// It returns the URL flags of the host itself. Suffixes with a number of
// labels no key has are not looked up.
//
// The hashes of all suffixes come from one right-to-left pass over the
// host; the first slot of every suffix to look up is then read before any
// is examined, so that their cache misses overlap.
func (ix *Index) matchHost(hits []Hit, host []byte, at time.Time) ([]Hit, uint32) {
	if len(host) > 255 {
		// Longer than a valid host name: no indicator can match.
		return hits, 0
	}
	t := ix.hosts
	var (
		hs    [fastLabels]uint64 // hs[c-1]: hash of the suffix of c labels
		st    [fastLabels]uint8  // st[c-1]: where it starts in host
		first [fastLabels]uint64 // its first slot, when looked up
		n     int
	)
	h := t.seed
	for end := len(host); ; {
		start := end - 1
		for start >= 0 && host[start] != '.' {
			start--
		}
		if n == fastLabels {
			return ix.matchHostSlow(hits, host, at)
		}
		h = hashLabel(h, host[start+1:end])
		hs[n], st[n] = h, uint8(start+1)
		n++
		if start < 0 {
			break
		}
		end = start
	}
	want := ix.domainLabels&(labelBit(n)-1) | ix.hostLabels&labelBit(n)
	for c := 1; c <= n; c++ {
		if want&labelBit(c) != 0 && t.mayHave(hs[c-1]) {
			first[c-1] = t.slots[hs[c-1]&t.mask]
		}
	}
	var flags uint32
	for c := n; c >= 1; c-- {
		if want&labelBit(c) == 0 || first[c-1] == 0 {
			continue
		}
		i := t.findFrom(host[st[c-1]:], hs[c-1], first[c-1])
		if i < 0 {
			continue
		}
		r := t.entries[i].r
		if c == n {
			flags = r.flags & (hostExactURL | hostPrefixURL)
		}
		var any bool
		if hits, any = ix.emitDomain(hits, r, at); any {
			return hits, flags
		}
	}
	return hits, flags
}

// fastLabels is the most labels of a host matchHost handles in one pass;
// longer hosts take matchHostSlow.
const fastLabels = 16

// matchHostSlow is matchHost for hosts of more than fastLabels labels:
// each suffix is hashed on its own.
func (ix *Index) matchHostSlow(hits []Hit, host []byte, at time.Time) ([]Hit, uint32) {
	// Label starts, left to right; hosts have at most 127 labels.
	var starts [128]uint8
	n := 1
	for i, c := range host {
		if c == '.' && n < len(starts) {
			starts[n] = uint8(min(i+1, 255))
			n++
		}
	}
	t := ix.hosts
	var flags uint32
	for k := 0; k < n; k++ {
		if k == 0 && ix.hostLabels&labelBit(n) == 0 || k > 0 && ix.domainLabels&labelBit(n-k) == 0 {
			continue
		}
		suffix := host[starts[k]:]
		i := t.find(suffix, hostHash(t.seed, suffix))
		if i < 0 {
			continue
		}
		r := t.entries[i].r
		if k == 0 {
			flags = r.flags & (hostExactURL | hostPrefixURL)
		}
		var any bool
		if hits, any = ix.emitDomain(hits, r, at); any {
			return hits, flags
		}
	}
	return hits, flags
}

// emitDomain is emit for a key of hosts: nothing unless the key is a
// domain indicator's (it may only be the host of URL indicators).
func (ix *Index) emitDomain(hits []Hit, r ref, at time.Time) ([]Hit, bool) {
	if r.flags&refDomain == 0 {
		return hits, false
	}
	return ix.emit(hits, r, FieldRemoteURL, at)
}

func labelBit(n int) uint64 { return 1 << min(n, 63) }

// Lookup reports what Match would report for an event carrying value in
// the right field: an IP address as RemoteIP, anything else (a domain, a
// URL, an IP literal in brackets or with a port) as RemoteUrl. A zero at
// ignores validity periods. Lookup is for analysts; it allocates.
func (ix *Index) Lookup(value string, at time.Time) []Hit {
	value = trimASCIISpace(value)
	if a, err := netip.ParseAddr(value); err == nil {
		return ix.Match(Query{RemoteIP: a.WithZone(""), At: at}, nil)
	}
	return ix.Match(Query{RemoteURL: value, At: at}, nil)
}

// LookupPrefix reports the ip and cidr indicators that overlap the range
// p — those that cover it (an event to any of its addresses would match
// them) and those inside it — active at at (zero: every one), as hits on
// RemoteIP, in the index's order. It reads every indicator: it is for an
// analyst asking about a range, not for events.
func (ix *Index) LookupPrefix(p netip.Prefix, at time.Time) []Hit {
	if ix == nil {
		return nil
	}
	p = p.Masked()
	var hits []Hit
	for _, l := range ix.lists {
		for i := range l.Len() {
			k := l.KindAt(i)
			if k != KindIP && k != KindCIDR {
				continue
			}
			q, err := canonicalPrefix(k, l.ValueAt(i))
			if err != nil || !q.Overlaps(p) {
				continue
			}
			ind := l.At(i)
			if !at.IsZero() && !ind.ActiveAt(at) {
				continue
			}
			hits = append(hits, Hit{Indicator: ind, Field: FieldRemoteIP})
		}
	}
	return hits
}

// Counts returns the number of indicators of each kind (kinds without
// indicators are left out); indicators sharing a value each count.
func (ix *Index) Counts() map[Kind]int {
	m := make(map[Kind]int)
	if ix == nil {
		return m
	}
	for k, n := range ix.counts {
		if n > 0 {
			m[Kind(k)] = n
		}
	}
	return m
}

// Len returns the number of indicators in the index.
func (ix *Index) Len() int {
	if ix == nil {
		return 0
	}
	return ix.n
}

// PatternCount returns the number of distinct patterns. Each costs about
// 62 KiB in the Aho-Corasick automaton; `check` warns above 5,000.
func (ix *Index) PatternCount() int {
	if ix == nil {
		return 0
	}
	return len(ix.patterns.refs)
}

// Indicators returns every indicator of the index, in the order given to
// Build, as new indicators (their Meta shared). It allocates them all.
func (ix *Index) Indicators() []*Indicator {
	if ix == nil {
		return nil
	}
	out := make([]*Indicator, 0, ix.n)
	for _, l := range ix.lists {
		out = append(out, l.Indicators()...)
	}
	return out
}

// Lists returns the lists the index was built from (empty ones left out).
// They are shared: never append to them.
func (ix *Index) Lists() []*List {
	if ix == nil {
		return nil
	}
	return slices.Clip(ix.lists)
}
