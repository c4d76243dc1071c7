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

// hashFilter is a Bloom filter with three hash functions whose bits lie
// in one 64-bit word: a hash picks the word by its bits from 18 up and
// three bits in it by its low eighteen, so a probe reads one word, one
// cache line. With 21 bits a key about 1 in 230 absent keys passes, with
// 10.5 about 1 in 50, with 7.5 about 1 in 23 (a single bit a key lets 1
// in 21 through at 21 bits). The zero value holds nothing.
type hashFilter struct {
	words bitSet
	mask  uint64 // len(words)-1
}

// newHashFilter returns an empty filter of bitsPerKey bits for each of n
// keys, rounded up to a power of two, and at least minBits (64 or more).
// Its hashes need 18 bits more than the number of words takes.
func newHashFilter(n, bitsPerKey int, minBits uint64) hashFilter {
	size := max(minBits, 64, uint64(1)<<bits.Len(uint(bitsPerKey*n-1)))
	return hashFilter{words: newBitSet(size), mask: size/64 - 1}
}

// filterBits returns the word of a filter with mask that h selects and
// the bits of it that h sets.
func filterBits(h, mask uint64) (uint64, uint64) {
	return (h >> 18) & mask, 1<<(h&63) | 1<<((h>>6)&63) | 1<<((h>>12)&63)
}

func (f hashFilter) add(h uint64) {
	w, b := filterBits(h, f.mask)
	f.words[w] |= b
}

// has reports whether a key of hash h may have been added: false means it
// was not. The zero filter has nothing.
func (f hashFilter) has(h uint64) bool {
	if f.words == nil {
		return false
	}
	w, b := filterBits(h, f.mask)
	return f.words[w]&b == b
}
