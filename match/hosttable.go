package match

import (
	"math/bits"
	"math/rand/v2"
	"slices"
)

// hostTable maps host names (normalised domains and the hosts of URL
// indicators) to refs. It replaces a map[string]ref for the one lookup
// Match makes most: the event host and each of its parent domains.
//
// It is an open-addressing table with linear probing, at most 5/8 full.
// A slot is 16 bytes, four to a cache line: a 32-bit tag taken from the
// key's hash (never zero, so an empty slot has tag 0), the offset of the
// key in keys, and the key's ref. A lookup that misses reads one slot, or
// a few adjacent ones, and compares tags; a hit reads the slot and the
// key's bytes, two cache misses.
//
// The hash of a name is built label by label from the right (see
// hashLabel), so the hashes of a host and all its parents come out of one
// pass over the host. The seed is drawn per table, so that indicator
// values cannot be chosen to collide.
type hostTable struct {
	slots []hostSlot
	// keys holds every key as a length byte followed by its bytes.
	keys []byte
	n    int    // keys in the table
	mask uint64 // len(slots)-1; len(slots) is a power of two
	seed uint64
}

type hostSlot struct {
	tag uint32 // 0: empty
	off uint32 // keys[off] is the key's length, its bytes follow
	r   ref
}

// maxHostKeyBytes bounds keys: a slot holds a 32-bit offset into it.
const maxHostKeyBytes = 1<<32 - 1

// newHostTable returns a table sized for about n keys.
func newHostTable(n int) *hostTable {
	t := &hostTable{seed: rand.Uint64()}
	size := 16
	for size*5/8 < n {
		size *= 2
	}
	t.slots = make([]hostSlot, size)
	t.mask = uint64(size - 1)
	return t
}

func (t *hostTable) grow() {
	old := t.slots
	t.slots = make([]hostSlot, 2*len(old))
	t.mask = uint64(len(t.slots) - 1)
	for _, s := range old {
		if s.tag != 0 {
			*t.free(hostHash(t.seed, t.key(s.off))) = s
		}
	}
}

// key returns the key stored at off in keys.
func (t *hostTable) key(off uint32) []byte {
	n := uint32(t.keys[off])
	return t.keys[off+1 : off+1+n]
}

// free returns the first empty slot of h's probe sequence.
func (t *hostTable) free(h uint64) *hostSlot {
	for p := h & t.mask; ; p = (p + 1) & t.mask {
		if t.slots[p].tag == 0 {
			return &t.slots[p]
		}
	}
}

// slotTag is the tag of a key with hash h.
func slotTag(h uint64) uint32 { return uint32(h>>32) | 1 }

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

// find returns the slot of key, whose hash is h, or nil.
func (t *hostTable) find(key []byte, h uint64) *hostSlot {
	return t.findFrom(key, h, t.slots[h&t.mask].tag)
}

// findFrom is find given the tag of the first slot of h's probe
// sequence, tag0.
func (t *hostTable) findFrom(key []byte, h uint64, tag0 uint32) *hostSlot {
	tag := slotTag(h)
	for p := h & t.mask; tag0 != 0; {
		s := &t.slots[p]
		if s.tag == tag && string(t.key(s.off)) == string(key) {
			return s
		}
		p = (p + 1) & t.mask
		tag0 = t.slots[p].tag
	}
	return nil
}

// lookup is find with the hash computed: for tests.
func (t *hostTable) lookup(key string) (ref, bool) {
	if s := t.find([]byte(key), hostHash(t.seed, key)); s != nil {
		return s.r, true
	}
	return ref{}, false
}

// upsert returns a pointer to the ref of key, adding key with a zero ref
// first when it is not there (found false). Keys are at most 255 bytes.
// The pointer is valid until the next upsert. ok is false when the keys
// would exceed maxHostKeyBytes.
func (t *hostTable) upsert(key []byte) (r *ref, found, ok bool) {
	h := hostHash(t.seed, key)
	if s := t.find(key, h); s != nil {
		return &s.r, true, true
	}
	if len(key) > 255 || uint64(len(t.keys))+1+uint64(len(key)) > maxHostKeyBytes {
		return nil, false, false
	}
	if (t.n+1)*8 > len(t.slots)*5 {
		t.grow()
	}
	s := t.free(h)
	*s = hostSlot{tag: slotTag(h), off: uint32(len(t.keys))}
	t.keys = append(t.keys, byte(len(key)))
	t.keys = append(t.keys, key...)
	t.n++
	return &s.r, false, true
}

// finish trims keys to its length once the table is built.
func (t *hostTable) finish() { t.keys = slices.Clone(t.keys) }

// len returns the number of keys.
func (t *hostTable) len() int { return t.n }
