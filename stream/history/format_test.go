package history

import (
	"hash/maphash"
	"reflect"
	"testing"
	"time"
)

// Dictionary entries are found by a 64-bit hash; two different entries
// with one hash must still get their own ids.
func TestEntriesWhoseHashesCollideStayApart(t *testing.T) {
	events := sampleEvents(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	enc := newEncoder()
	enc.hash = func(maphash.Seed, []string) uint64 { return 7 } // every entry collides
	b := newBuffer(16, 1024)
	for i := range events {
		b.add(&events[i])
	}
	seg := append([]byte(segMagic), make([]byte, 8)...)
	seg = enc.block(seg, b, 1)
	seg = enc.block(seg, b, 2) // the second block finds every entry again
	obs, _, err := decodeAll(seg)
	if err != nil {
		t.Fatal(err)
	}
	if len(obs) != 2*len(events) {
		t.Fatalf("%d observations", len(obs))
	}
	for i := range obs {
		if want := observationOf(&events[i%len(events)]); !reflect.DeepEqual(obs[i], want) {
			t.Fatalf("observation %d\n got %+v\nwant %+v", i, obs[i], want)
		}
	}
	if n := enc.dicts[dictDevice].len; n != 5 {
		t.Fatalf("%d device entries, want 5 distinct devices", n)
	}
}

func TestTheIndexFileListsTheSegmentsRemoteValuesInIDOrder(t *testing.T) {
	events := sampleEvents(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	enc := newEncoder()
	b := newBuffer(16, 1024)
	for i := range events {
		b.add(&events[i])
	}
	seg := enc.block(append([]byte(segMagic), make([]byte, 8)...), b, 1)
	var d decoder
	if _, err := d.load(seg, "seg"); err != nil {
		t.Fatal(err)
	}
	m := segMeta{firstSeq: 3, count: 6, logSize: int64(len(seg))}
	var x idxData
	if err := decodeIdx(encodeIdx(&m, enc.ipAddrs(), enc.urls()), "idx", &x); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(x.ips, d.ips) || len(x.urls) != len(d.urls) {
		t.Fatalf("ips %v vs %v, %d urls vs %d", x.ips, d.ips, len(x.urls), len(d.urls))
	}
	for i := range x.urls {
		if x.url(i) != d.s(d.urls[i]) {
			t.Fatalf("url %d: %q vs %q", i, x.url(i), d.s(d.urls[i]))
		}
	}
	if x.meta.firstSeq != 3 || x.meta.count != 6 || x.meta.hasTime {
		t.Fatalf("%+v", x.meta)
	}

}
