package match

// bitSet is a set of small integers, a bit each: the filters in front of
// the index's tables are bit sets indexed by a block number or a masked
// hash. A nil bitSet has no room; callers keep indices below its size.
type bitSet []uint64

// newBitSet returns an empty set with room for the integers below n.
func newBitSet(n uint64) bitSet { return make(bitSet, (n+63)/64) }

func (s bitSet) set(i uint64) { s[i>>6] |= 1 << (i & 63) }

func (s bitSet) has(i uint64) bool { return s[i>>6]&(1<<(i&63)) != 0 }
