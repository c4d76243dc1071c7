package history

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"

	"github.com/iocwatch/iocwatch/match"
)

// knownSet holds the values (kind and canonical value, hashed) of the
// indicators already present, so that a restart — whose first index
// "adds" every indicator — hunts only the values that are really new.
// Sorted; not safe for concurrent use (History.huntMu guards it).
//
// File format (indicators.known): "IOCWHK01" · uvarint count · the
// hashes, uint64 little endian, ascending · CRC-32C (uint32 LE).
type knownSet []uint64

const knownMagic = "IOCWHK01"

// indicatorKey hashes an indicator's kind and canonical value (FNV-1a, 64
// bits: a collision among a million values has a chance of about 3·10⁻⁸).
func indicatorKey(ind *match.Indicator) uint64 { return valueKey(ind.Kind, ind.Value) }

// valueKey is indicatorKey of an indicator of kind k and value v.
func valueKey(k match.Kind, v string) uint64 {
	h := fnv.New64a()
	h.Write([]byte{byte(k)})
	h.Write([]byte(v))
	return h.Sum64()
}

func (k knownSet) has(key uint64) bool {
	_, ok := slices.BinarySearch(k, key)
	return ok
}

// newKnownSet returns the set of the indicators' values.
func newKnownSet(inds []*match.Indicator) knownSet {
	k := make(knownSet, 0, len(inds))
	for _, ind := range inds {
		if ind != nil {
			k = append(k, indicatorKey(ind))
		}
	}
	slices.Sort(k)
	return slices.Compact(k)
}

// knownSetOfLists is newKnownSet of the indicators of lists, read from
// their records without building the indicators.
func knownSetOfLists(lists []*match.List) knownSet {
	n := 0
	for _, l := range lists {
		n += l.Len()
	}
	k := make(knownSet, 0, n)
	for _, l := range lists {
		for i := range l.Len() {
			k = append(k, valueKey(l.KindAt(i), l.ValueAt(i)))
		}
	}
	slices.Sort(k)
	return slices.Compact(k)
}

// union returns k with the keys of inds added.
func (k knownSet) union(inds []*match.Indicator) knownSet {
	if len(inds) == 0 {
		return k
	}
	return slices.Compact(slices.Sorted(func(yield func(uint64) bool) {
		for _, v := range k {
			if !yield(v) {
				return
			}
		}
		for _, ind := range inds {
			if ind != nil && !yield(indicatorKey(ind)) {
				return
			}
		}
	}))
}

func (k knownSet) encode() []byte {
	b := make([]byte, 0, len(knownMagic)+10+8*len(k)+4)
	b = append(b, knownMagic...)
	b = binary.AppendUvarint(b, uint64(len(k)))
	for _, v := range k {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
}

func decodeKnown(data []byte, name string) (knownSet, error) {
	bad := func(msg string) error { return fmt.Errorf("history: %s: %s", name, msg) }
	if len(data) < len(knownMagic)+1+4 || string(data[:len(knownMagic)]) != knownMagic {
		return nil, bad("not a known-indicators file (bad header)")
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, crcTable) != binary.LittleEndian.Uint32(data[len(data)-4:]) {
		return nil, bad("checksum mismatch")
	}
	n, w := binary.Uvarint(body[len(knownMagic):])
	rest := body[len(knownMagic):]
	if w <= 0 || n != uint64(len(rest)-w)/8 || uint64(len(rest)-w)%8 != 0 {
		return nil, bad("count does not match the file size")
	}
	rest = rest[w:]
	k := make(knownSet, n)
	for i := range k {
		k[i] = binary.LittleEndian.Uint64(rest[8*i:])
		if i > 0 && k[i] <= k[i-1] {
			return nil, bad("hashes out of order")
		}
	}
	return k, nil
}

// loadKnown reads the known set of dir; found is false when there is
// none. A damaged file is an error naming it (delete it to start over:
// the next reload then only learns, it hunts nothing).
func loadKnown(dir string) (k knownSet, found bool, err error) {
	path := filepath.Join(dir, knownName)
	data, err := os.ReadFile(path)
	if isNotExist(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("history: %w", err)
	}
	k, err = decodeKnown(data, path)
	return k, err == nil, err
}

func (k knownSet) save(dir string) error {
	if err := writeFileAtomic(filepath.Join(dir, knownName), k.encode(), true); err != nil {
		return fmt.Errorf("history: save known indicators: %w", err)
	}
	return nil
}
