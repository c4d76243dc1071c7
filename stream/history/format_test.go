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
	enc.hash = func(maphash.Seed, string) uint64 { return 7 } // every entry collides
	b := newBuffer(16, 1024)
	for i := range events {
		b.add(&events[i])
	}
	seg := append([]byte(segMagic), make([]byte, 8)...)
	seg = enc.block(seg, b, 1)
	seg = enc.block(seg, b, 2) // the second block finds every entry again
	got, _, err := decodeAll(seg)
	obs := got.obs
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
	if n := len(enc.dicts[dictDevice].next); n != 5 {
		t.Fatalf("%d device entries, want 5 distinct devices", n)
	}
}

func TestRemoteValueIDsAreScopedToTheirBlock(t *testing.T) {
	events := sampleEvents(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	enc := newEncoder()
	b := newBuffer(16, 1024)
	for i := range events {
		b.add(&events[i])
	}
	seg := append([]byte(segMagic), make([]byte, 8)...)
	seg = enc.block(seg, b, 1)
	seg = enc.block(seg, b, 2)
	var d decoder
	if _, err := d.load(seg, "seg"); err != nil {
		t.Fatal(err)
	}
	// 4 distinct IPs and 4 distinct URLs, listed again by the second block;
	// the 5 devices are listed once per segment.
	if len(d.ips) != 8 || len(d.urls) != 8 || len(d.devs) != 5 {
		t.Fatalf("%d IPs, %d URLs, %d devices", len(d.ips), len(d.urls), len(d.devs))
	}
	if b1 := d.blocks[1]; b1.ipBase != 4 || b1.ipEnd != 8 || b1.urlBase != 4 || b1.urlEnd != 8 {
		t.Fatalf("second block: %+v", b1)
	}
}

func TestTheIndexFileRoundTripsTheSummary(t *testing.T) {
	for _, m := range []segMeta{
		{firstSeq: 3, count: 6, minTs: -5, maxTs: 9, hasTime: true, recFrom: 1, recUntil: 2, logSize: 1234, sealed: true},
		{firstSeq: 1 << 40, count: 1, logSize: 16, sealed: true},
	} {
		data := encodeIdx(&m)
		m.idxSize = int64(len(data))
		got, err := decodeIdx(data, "idx")
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Fatalf("got %+v, %v; want %+v", got, err, m)
		}
	}
}
