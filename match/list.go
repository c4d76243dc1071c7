package match

import (
	"math"
	"slices"
	"unsafe"
)

// List is an ordered list of indicators stored without a pointer per
// indicator: each is a 20-byte record (kind, line, the place of its value
// in shared text chunks, the number of its Meta in a table of the list's
// distinct Metas). A million indicators are then a few hundred objects
// for the garbage collector instead of millions of pointers to trace at
// every collection, which is what a running pipeline pays for while a
// reload holds two indicator sets at once.
//
// Loaders append to a List, the feed manager keeps the lists of its
// feeds, and an Index holds the lists it was built from without copying
// them. At returns an indicator by value; its Value points into the
// list's text and its Meta is shared. The zero List is empty and ready to
// use. A List is safe for concurrent readers once no one appends to it;
// appending to a List an Index holds is not allowed.
type List struct {
	recs   []listRec
	chunks [][]byte // values, back to back; a chunk is never written again once full
	metas  []*Meta
	last   *Meta // the Meta of the last append, metas[len(metas)-1]
}

// listRec is one indicator of a List.
type listRec struct {
	// at is the chunk (high bits) and the offset in it (low
	// listChunkBits bits) of the value; n its length.
	at, n uint32
	line  uint32 // Indicator.Line
	meta  uint32 // into List.metas
	kind  Kind
}

// listChunkBits sizes the chunks values are copied into (64 KiB); a value
// longer than a chunk gets a chunk of its own. A List holds at most
// listMaxChunks chunks (4 GiB of values).
const (
	listChunkBits = 16
	listChunk     = 1 << listChunkBits
	listMaxChunks = math.MaxUint32 >> listChunkBits
)

// NewList returns an empty list with room for n indicators.
func NewList(n int) *List {
	return &List{recs: make([]listRec, 0, max(n, 0))}
}

// ListOf returns a list of inds (nil entries are left out), in order.
func ListOf(inds []*Indicator) *List {
	l := NewList(len(inds))
	for _, ind := range inds {
		if ind != nil {
			l.Append(*ind)
		}
	}
	return l
}

// Len returns the number of indicators in the list; 0 for a nil list.
func (l *List) Len() int {
	if l == nil {
		return 0
	}
	return len(l.recs)
}

// At returns the i-th indicator. Its Value shares the list's memory and
// its Meta may be shared with other indicators: treat both as read-only.
func (l *List) At(i int) Indicator {
	r := &l.recs[i]
	return Indicator{Kind: r.kind, Line: r.line, Value: l.value(r), Meta: l.metas[r.meta]}
}

// KindAt returns the kind of the i-th indicator without building it.
func (l *List) KindAt(i int) Kind { return l.recs[i].kind }

// MetaAt returns the Meta of the i-th indicator.
func (l *List) MetaAt(i int) *Meta { return l.metas[l.recs[i].meta] }

// ValueAt returns the value of the i-th indicator.
func (l *List) ValueAt(i int) string { return l.value(&l.recs[i]) }

func (l *List) value(r *listRec) string {
	if r.n == 0 {
		return ""
	}
	c := l.chunks[r.at>>listChunkBits]
	return unsafe.String(&c[r.at&(listChunk-1)], int(r.n))
}

// Append adds ind to the end of the list, copying its value. Consecutive
// indicators with the same Meta pointer share one entry of the list's
// Meta table, as loaders give them. It panics when the list is full
// (Full); loaders check Full first and refuse the value instead.
func (l *List) Append(ind Indicator) {
	if l.Full() {
		panic("match: List.Append on a full List (4 GiB of values or 2^32 indicators)")
	}
	l.recs = append(l.recs, listRec{line: ind.Line, kind: ind.Kind, meta: l.metaID(ind.Meta)})
	r := &l.recs[len(l.recs)-1]
	r.at, r.n = l.text(ind.Value)
}

// Full reports whether the list cannot take one more indicator: its
// values fill 4 GiB, or it holds 2^32-1 indicators. No feed within the
// size limits comes near either.
func (l *List) Full() bool {
	return len(l.chunks) >= listMaxChunks-1 || uint64(len(l.recs)) >= math.MaxUint32-1
}

func (l *List) metaID(m *Meta) uint32 {
	if m != l.last || len(l.metas) == 0 {
		l.metas = append(l.metas, m)
		l.last = m
	}
	return uint32(len(l.metas) - 1)
}

// text copies v into the chunks and returns where it is. A value goes
// into the last chunk when it fits there, else into a new one; a value
// longer than a chunk gets one of its own. Values of at most a chunk
// never span two, so that a record needs one chunk number.
func (l *List) text(v string) (at, n uint32) {
	if v == "" {
		return 0, 0
	}
	if len(v) > listChunk {
		if uint64(len(v)) > math.MaxUint32 {
			panic("match: indicator value longer than 4 GiB")
		}
		l.chunks = append(l.chunks, []byte(v))
		return uint32(len(l.chunks)-1) << listChunkBits, uint32(len(v))
	}
	// The last chunk takes v when it has room within its capacity and
	// within the chunk size: a value's offset must fit listChunkBits. (A
	// chunk of its own, or one WithMetas clipped, has no room.)
	k := len(l.chunks) - 1
	if k < 0 || len(l.chunks[k])+len(v) > min(cap(l.chunks[k]), listChunk) {
		l.chunks = append(l.chunks, make([]byte, 0, listChunk))
		k++
	}
	c := l.chunks[k]
	off := len(c)
	l.chunks[k] = append(c, v...)
	return uint32(k)<<listChunkBits | uint32(off), uint32(len(v))
}

// Indicators returns the list as new indicators, for callers that need
// pointers (reports, tests); it allocates them all.
func (l *List) Indicators() []*Indicator {
	out := make([]*Indicator, l.Len())
	slab := make([]Indicator, l.Len())
	for i := range slab {
		slab[i] = l.At(i)
		out[i] = &slab[i]
	}
	return out
}

// WithMetas returns a list of the same indicators whose Meta is
// edit(old) for each distinct Meta old of l. The records and values are
// shared with l, so the copy costs the Meta table only; edit runs once per
// entry of the table, and returning its argument keeps that Meta.
func (l *List) WithMetas(edit func(*Meta) *Meta) *List {
	c := &List{recs: l.recs[:len(l.recs):len(l.recs)], chunks: slices.Clone(l.chunks), metas: make([]*Meta, len(l.metas))}
	for i, m := range l.metas {
		c.metas[i] = edit(m)
	}
	// Either list may be appended to: the copy starts a chunk of its own.
	if n := len(c.chunks); n > 0 {
		c.chunks[n-1] = slices.Clip(c.chunks[n-1])
	}
	return c
}
