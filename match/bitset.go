package match

import "math/bits"

// bitSet is a set of small integers, a bit each: the filters in front of
// the index's tables are bit sets indexed by a block number or a masked
// hash. A nil bitSet has no room; callers keep indices below its size.
type bitSet []uint64

// newBitSet returns an empty set with room for the integers below n.
func newBitSet(n uint64) bitSet { return make(bitSet, (n+63)/64) }

func (s bitSet) set(i uint64) { s[i>>6] |= 1 << (i & 63) }

func (s bitSet) has(i uint64) bool { return s[i>>6]&(1<<(i&63)) != 0 }

// hashFilter is a Bloom filter with one hash function: a bit set indexed
// by a hash masked to its size. The zero value holds nothing.
type hashFilter struct {
	bits bitSet
	mask uint64
}

// newHashFilter returns an empty filter of bitsPerKey bits for each of n
// keys, rounded up to a power of two, and at least minBits.
func newHashFilter(n, bitsPerKey int, minBits uint64) hashFilter {
	size := max(minBits, uint64(1)<<bits.Len(uint(bitsPerKey*n-1)))
	return hashFilter{bits: newBitSet(size), mask: size - 1}
}

func (f hashFilter) add(h uint64) { f.bits.set(h & f.mask) }

// has reports whether a key of hash h may have been added: false means it
// was not. The zero filter has nothing.
func (f hashFilter) has(h uint64) bool { return f.bits != nil && f.bits.has(h&f.mask) }
