package match

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

func TestListGivesBackWhatWasAppended(t *testing.T) {
	m1, m2 := &Meta{Source: "a"}, &Meta{Source: "b"}
	tests := []struct {
		name string
		inds []Indicator
	}{
		{"empty", nil},
		{"one", []Indicator{{Kind: KindIP, Value: "203.0.113.7", Line: 3, Meta: m1}}},
		{"an empty value and a nil Meta", []Indicator{{Kind: KindPattern}, {Kind: KindDomain, Value: "x.example", Meta: m2}}},
		{"values around the chunk size", []Indicator{
			{Kind: KindURL, Value: "http://a.example/" + strings.Repeat("a", listChunk-17-100), Meta: m1},
			{Kind: KindURL, Value: "http://a.example/" + strings.Repeat("b", 200), Meta: m1},
			{Kind: KindURL, Value: "http://a.example/" + strings.Repeat("c", listChunk-17), Meta: m2},
			{Kind: KindURL, Value: "http://a.example/" + strings.Repeat("d", listChunk-16), Meta: m2},
			{Kind: KindDomain, Value: "between.example", Meta: m2},
			{Kind: KindURL, Value: "http://a.example/" + strings.Repeat("e", 3*listChunk), Meta: m2},
			{Kind: KindDomain, Value: "after.example", Line: 1 << 31, Meta: m1},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var l List
			for _, ind := range tc.inds {
				l.Append(ind)
			}
			if l.Len() != len(tc.inds) {
				t.Fatalf("Len = %d, want %d", l.Len(), len(tc.inds))
			}
			for i, want := range tc.inds {
				if got := l.At(i); got != want {
					t.Errorf("At(%d) = %+v, want %+v", i, got, want)
				}
				if l.KindAt(i) != want.Kind || l.ValueAt(i) != want.Value || l.MetaAt(i) != want.Meta {
					t.Errorf("the accessors of %d disagree with At", i)
				}
			}
		})
	}
}

// Many values of random lengths fill many chunks; each comes back, and
// runs of one Meta take one entry of the Meta table.
func TestListOfManyRandomValues(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	metas := []*Meta{{Source: "a"}, {Source: "b"}, {Source: "c"}}
	var want []Indicator
	l := NewList(10)
	runs := 0
	for i := range 20000 {
		n := r.IntN(40)
		switch r.IntN(200) {
		case 0:
			n = r.IntN(3 * listChunk)
		case 1:
			n = listChunk - r.IntN(3)
		}
		b := make([]byte, n)
		for j := range b {
			b[j] = byte('a' + r.IntN(26))
		}
		m := metas[(i/100)%len(metas)]
		if i%100 == 0 {
			runs++
		}
		ind := Indicator{Kind: Kind(1 + r.IntN(5)), Line: uint32(i + 1), Value: string(b), Meta: m}
		want = append(want, ind)
		l.Append(ind)
	}
	for i, w := range want {
		if got := l.At(i); got != w {
			t.Fatalf("At(%d) = %+v, want %+v", i, got, w)
		}
	}
	if len(l.metas) != runs {
		t.Errorf("%d Meta table entries for %d runs of one Meta", len(l.metas), runs)
	}
	if got := ListOf(l.Indicators()); got.Len() != l.Len() || got.At(12345) != l.At(12345) {
		t.Errorf("ListOf(Indicators()) differs from the list")
	}
}

// WithMetas shares the records and values but not the Meta table, and
// appending to either list afterwards does not change the other.
func TestListWithMetasSharesAndIsolates(t *testing.T) {
	old, changed := &Meta{Source: "old"}, &Meta{Source: "changed"}
	l := NewList(0)
	l.Append(Indicator{Kind: KindDomain, Value: "a.example", Meta: old})
	l.Append(Indicator{Kind: KindDomain, Value: "b.example", Meta: old})
	c := l.WithMetas(func(m *Meta) *Meta {
		if m == old {
			return changed
		}
		return m
	})
	if c.At(0).Meta != changed || c.At(1).Meta != changed || l.At(0).Meta != old {
		t.Fatalf("Metas after WithMetas: copy %v %v, original %v", c.At(0).Meta, c.At(1).Meta, l.At(0).Meta)
	}
	if unsafe.StringData(c.ValueAt(0)) != unsafe.StringData(l.ValueAt(0)) {
		t.Errorf("WithMetas copied the values")
	}
	before := len(l.chunks[0])
	c.Append(Indicator{Kind: KindDomain, Value: "c-only.example", Meta: changed})
	if len(l.chunks[0]) != before {
		t.Errorf("appending to the copy changed the original's chunk")
	}
	l.Append(Indicator{Kind: KindDomain, Value: "l-only.example", Meta: old})
	if c.ValueAt(2) != "c-only.example" || l.ValueAt(2) != "l-only.example" || c.Len() != 3 || l.Len() != 3 {
		t.Errorf("appends interfered: copy %q, original %q", c.ValueAt(2), l.ValueAt(2))
	}
}

func TestANilListIsEmpty(t *testing.T) {
	var l *List
	if l.Len() != 0 || len(l.Indicators()) != 0 {
		t.Errorf("a nil list is not empty")
	}
	ix, err := BuildLists([]*List{nil, NewList(0)}, BuildOptions{})
	if err != nil || ix.Len() != 0 || len(ix.Lists()) != 0 {
		t.Errorf("BuildLists of empty lists: %v, %d", err, ix.Len())
	}
}

// The point of List: a record holds no pointer, so the garbage collector
// never traces one per indicator.
func TestAListRecordHoldsNoPointer(t *testing.T) {
	var walk func(reflect.Type) bool
	walk = func(t reflect.Type) bool {
		switch t.Kind() {
		case reflect.Pointer, reflect.String, reflect.Slice, reflect.Map, reflect.Chan, reflect.Func, reflect.Interface, reflect.UnsafePointer:
			return true
		case reflect.Struct:
			for i := range t.NumField() {
				if walk(t.Field(i).Type) {
					return true
				}
			}
		case reflect.Array:
			return walk(t.Elem())
		}
		return false
	}
	if walk(reflect.TypeFor[listRec]()) {
		t.Errorf("listRec holds a pointer")
	}
	if n := unsafe.Sizeof(listRec{}); n != 20 {
		t.Errorf("listRec is %d bytes, want 20", n)
	}
}

// An index over several lists numbers their indicators in order, and a
// hit names the right one across list boundaries.
func TestAnIndexOverSeveralLists(t *testing.T) {
	m := &Meta{Source: "s"}
	var lists []*List
	for k := range 3 {
		l := NewList(0)
		for i := range 5 {
			l.Append(Indicator{Kind: KindDomain, Value: string(rune('a'+k)) + string(rune('0'+i)) + ".example", Line: uint32(10*k + i + 1), Meta: m})
		}
		lists = append(lists, l)
	}
	// One value in two lists: a group across lists.
	lists[2].Append(Indicator{Kind: KindDomain, Value: "a0.example", Line: 99, Meta: m})
	ix, err := BuildLists(lists, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 16 {
		t.Fatalf("Len = %d, want 16", ix.Len())
	}
	for k := range 3 {
		for i := range 5 {
			host := string(rune('a'+k)) + string(rune('0'+i)) + ".example"
			hits := ix.Match(Query{RemoteURL: host}, nil)
			want := 1
			if host == "a0.example" {
				want = 2
			}
			if len(hits) != want || hits[0].Indicator.Value != host || hits[0].Indicator.Line != uint32(10*k+i+1) {
				t.Errorf("Match(%s) = %+v", host, hits)
			}
		}
	}
	if hits := ix.Match(Query{RemoteURL: "a0.example"}, nil); len(hits) != 2 || hits[1].Indicator.Line != 99 {
		t.Errorf("the group across lists: %+v", hits)
	}
}

// A list whose chunk table is full says so, and Append refuses rather
// than write a value where no record could find it.
func TestAFullListSaysSo(t *testing.T) {
	l := NewList(0)
	l.Append(Indicator{Kind: KindDomain, Value: "a.example"})
	if l.Full() {
		t.Fatal("a list of one indicator is full")
	}
	l.chunks = append(l.chunks, make([][]byte, listMaxChunks-1-len(l.chunks))...)
	if !l.Full() {
		t.Fatalf("a list with %d chunks is not full", len(l.chunks))
	}
	defer func() {
		if recover() == nil {
			t.Error("Append to a full list did not panic")
		}
	}()
	l.Append(Indicator{Kind: KindDomain, Value: "b.example"})
}
