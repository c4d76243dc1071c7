package match

import (
	"math/bits"
	"math/rand/v2"
)

// hostTable maps host names (normalised domains and the hosts of URL
// indicators) to refs. It replaces a map[string]ref for the one lookup
// Match makes most: the event host and each of its parent domains.
//
// It is an open-addressing table with linear probing, at most half full.
// A slot is a uint64: the high 32 bits are a tag taken from the key's
// hash (never zero, so an empty slot is 0), the low 32 bits the key's
// position in entries. A lookup that misses reads one slot, or a few
// adjacent ones, and compares tags: it touches the key only when the tags
// are equal, so a miss costs about one cache line.
//
// The hash of a name is built label by label from the right (see
// hashLabel), so the hashes of a host and all its parents come out of
// one pass over the host. The seed is drawn per table, so that indicator
// values cannot be chosen to collide.
type hostTable struct {
	slots   []uint64
	entries []hostEntry
	mask    uint64 // len(slots)-1; len(slots) is a power of two
	seed    uint64
	// filter, for a large table, holds the hash of every key (rotated by
	// 32 bits, so that the filter's bits are not the slot's): 6 to 12
	// bits a key (1 MiB at a million keys), so that all but about 1 in 20
	// lookups of an absent name stop at one word of a table small enough
	// to stay in the cache beside the other filters, instead of reading
	// a slot, a cache miss. The zero filter: no filter.
	filter hashFilter
}

// hostFilterBitsPerKey sizes a hostTable's filter. Measured at 1.1 M keys
// (docs/matching.md): 1 MiB with three bits a key in one word beat 2 MiB
// with one or two bits, and 512 KiB, because the smaller filter shares
// the cache with the IPv4 filter every event also reads.
const hostFilterBitsPerKey = 6

// minFilterKeys is the number of keys from which a hostTable has a
// filter: below it the slots (8 bytes a slot, at most half full: 1 MiB
// for 64k keys) stay in the cache themselves.
const minFilterKeys = 1 << 16

type hostEntry struct {
	key string
	r   ref
}

// newHostTable returns a table sized for about n keys.
func newHostTable(n int) *hostTable {
	t := &hostTable{seed: rand.Uint64() | 1}
	t.resize(max(16, 1<<bits.Len(uint(2*n))))
	t.entries = make([]hostEntry, 0, n)
	return t
}

func (t *hostTable) resize(size int) {
	t.slots = make([]uint64, size)
	t.mask = uint64(size - 1)
	for i := range t.entries {
		t.place(t.hash(t.entries[i].key), uint32(i))
	}
}

// place puts entry i, whose key has hash h, in the first free slot of its
// probe sequence. The key must not be in the table.
func (t *hostTable) place(h uint64, i uint32) {
	for p := h & t.mask; ; p = (p + 1) & t.mask {
		if t.slots[p] == 0 {
			t.slots[p] = slotTag(h) | uint64(i)
			return
		}
	}
}

// slotTag is the high half of a slot of a key with hash h.
func slotTag(h uint64) uint64 { return (h | 1<<32) &^ (1<<32 - 1) }

// hash returns the hash of a whole name: hashLabel over its labels, right
// to left, starting from the seed.
func (t *hostTable) hash(key string) uint64 { return hostHash(t.seed, key) }

func hostHash[S string | []byte](seed uint64, key S) uint64 {
	h := seed
	for end := len(key); ; {
		start := end - 1
		for start >= 0 && key[start] != '.' {
			start--
		}
		h = hashLabel(h, key[start+1:end])
		if start < 0 {
			return h
		}
		end = start
	}
}

// hashLabel folds one label into the hash h of the labels to its right.
// Labels are read eight bytes at a time, the last (up to) 16 bytes with
// two possibly overlapping loads, and mixed with a 64×64→128-bit multiply,
// as wyhash does.
func hashLabel[S string | []byte](h uint64, l S) uint64 {
	const k0, k1 = 0xa0761d6478bd642f, 0xe7037ed1a0b428db
	n := len(l)
	h ^= uint64(n) * k1
	for len(l) > 16 {
		h = mum(le64(l)^k0, le64(l[8:])^h)
		l = l[16:]
	}
	var a, b uint64
	switch m := len(l); {
	case m >= 8:
		a, b = le64(l), le64(l[m-8:])
	case m >= 4:
		a, b = uint64(le32(l)), uint64(le32(l[m-4:]))
	case m > 0:
		a = uint64(l[0])<<16 | uint64(l[m>>1])<<8 | uint64(l[m-1])
	}
	return mum(a^k0, b^h)
}

func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func le64[S string | []byte](b S) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

func le32[S string | []byte](b S) uint32 {
	_ = b[3]
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// find returns the position in entries of key, whose hash is h, or -1.
func (t *hostTable) find(key []byte, h uint64) int {
	return t.findFrom(key, h, t.slots[h&t.mask])
}

// findFrom is find given the first slot of h's probe sequence, s.
func (t *hostTable) findFrom(key []byte, h uint64, s uint64) int {
	tag := slotTag(h)
	for p := h & t.mask; s != 0; {
		if s&^(1<<32-1) == tag {
			if i := uint32(s); t.entries[i].key == string(key) {
				return int(i)
			}
		}
		p = (p + 1) & t.mask
		s = t.slots[p]
	}
	return -1
}

// lookup is find with the hash computed: for building and tests.
func (t *hostTable) lookup(key string) (ref, bool) {
	if i := t.find([]byte(key), t.hash(key)); i >= 0 {
		return t.entries[i].r, true
	}
	return ref{}, false
}

// upsert returns a pointer to the ref of key, adding key with a zero ref
// first when it is not there (found false). key is copied unless keep is
// set (key then aliases a string the caller keeps). The pointer is valid
// until the next upsert.
func (t *hostTable) upsert(key []byte, keep string) (r *ref, found bool) {
	h := t.hash(string(key))
	if i := t.find(key, h); i >= 0 {
		return &t.entries[i].r, true
	}
	if uint64(len(t.entries)+1)*2 > uint64(len(t.slots)) {
		t.resize(2 * len(t.slots))
	}
	k := keep
	if k != string(key) {
		k = string(key)
	}
	i := uint32(len(t.entries))
	t.entries = append(t.entries, hostEntry{key: k})
	t.place(h, i)
	return &t.entries[i].r, false
}

// buildFilter sets up filter for the keys now in the table (large tables
// only); a later upsert must call it again.
func (t *hostTable) buildFilter() {
	t.filter = hashFilter{}
	if len(t.entries) < minFilterKeys {
		return
	}
	t.filter = newHashFilter(len(t.entries), hostFilterBitsPerKey, 0)
	for i := range t.entries {
		t.filter.add(bits.RotateLeft64(t.hash(t.entries[i].key), 32))
	}
}

// mayHave reports whether a key with hash h may be in the table: false
// means it is not.
func (t *hostTable) mayHave(h uint64) bool {
	return t.filter.words == nil || t.filter.has(bits.RotateLeft64(h, 32))
}

// len returns the number of keys.
func (t *hostTable) len() int { return len(t.entries) }
