package history

import (
	"bytes"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/stream"
)

// encodeSegment returns a segment file holding events, in blocks of per.
func encodeSegment(events []stream.Event, per int) []byte {
	enc := newEncoder()
	seg := append([]byte(segMagic), make([]byte, 8)...)
	for i := 0; i < len(events); i += per {
		b := newBuffer(per, 1024)
		for j := i; j < min(i+per, len(events)); j++ {
			if observable(&events[j]) {
				b.add(&events[j])
			}
		}
		seg = enc.block(seg, b, int64(i))
	}
	return seg
}

// decoded is what decodeAll found in a segment.
type decoded struct {
	obs []Observation
	// lost counts the records decoded without the entries a damaged block
	// gave; damaged the stretches of damage passed over.
	lost, damaged int
}

// decodeAll parses a segment and decodes every record; it must never
// panic, whatever the bytes.
func decodeAll(data []byte) (got decoded, valid int, err error) {
	var d decoder
	valid, err = d.load(data, "fuzz")
	if valid > len(data) || valid < 0 {
		panic("valid prefix longer than the data")
	}
	got.damaged = d.damaged
	for i := range d.blocks {
		c := d.cursor(&d.blocks[i])
		var o Observation
		for c.next(&o) {
			if c.lost {
				got.lost++
				continue
			}
			got.obs = append(got.obs, cloneObs(&o))
		}
	}
	return got, valid, err
}

// Seeds: a valid segment of the sample events (one block, then three), and
// its corruptions — a flipped byte, a cut tail, a wrong magic, a damaged
// block between two that parse; testdata/fuzz keeps inputs the fuzzer
// found that reach new code.
func FuzzDecodeSegment(f *testing.F) {
	events := sampleEvents(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	one, two := encodeSegment(events, 10), encodeSegment(events, 3)
	f.Add(one)
	f.Add(two)
	f.Add(two[:len(two)-7])
	flipped := bytes.Clone(one)
	flipped[40] ^= 0x55
	f.Add(flipped)
	f.Add(append([]byte("IOCWHL02"), one[8:]...))
	f.Add([]byte(segMagic))
	blocked, _ := blockedEvents(4, 3)
	mid := encodeSegment(blocked, 3)
	offs := frameOffsets(mid)
	mid[offs[1]+frameHeader+9] ^= 0x08
	f.Add(mid)
	f.Fuzz(func(t *testing.T, data []byte) {
		got, valid, err := decodeAll(data)
		if err == nil && valid != len(data) {
			t.Fatalf("no error but only %d of %d bytes valid", valid, len(data))
		}
		// What parses ends a prefix: parsing just the prefix gives the
		// same, damage passed over included.
		if valid > 0 {
			again, v2, err2 := decodeAll(data[:valid])
			if err2 != nil || v2 != valid || !reflect.DeepEqual(again, got) {
				t.Fatalf("the valid prefix does not parse alone: %v", err2)
			}
		}
	})
}

// Every event with a remote value survives encoding and decoding with its
// kept fields intact, whatever its strings hold.
func FuzzEncodeRoundTrip(f *testing.F) {
	f.Add("ws-0142.corp.example", "rundll32.exe", `c:\users\ana\appdata\local\temp\rundll32.exe`, "ana", "ConnectionSuccess",
		"update.bad-cdn.example", []byte{203, 0, 113, 77}, uint16(443), int64(18984951960), int64(1795000000000000000), uint8(1))
	f.Add("", "", "", "", "", "https://x/é\xff", []byte{}, uint16(0), int64(-1), int64(0), uint8(2))
	f.Add("d", "p", "", "zoë", "A", "", netip.MustParseAddr("2a02:cf40::1").AsSlice(), uint16(65535), int64(0), int64(-5), uint8(0))
	f.Fuzz(func(t *testing.T, device, proc, path, account, action, url string, ip []byte, port uint16, report, ts int64, table uint8) {
		e := stream.Event{Table: stream.Table(table % 3), DeviceID: device + "-id", DeviceName: device, TenantID: "t",
			MachineGroup: action, ActionType: action, ReportID: report, RemotePort: port, RemoteURL: url,
			ProcessFileName: proc, ProcessFolderPath: path, ProcessSHA256: proc + path, AccountName: account}
		if a, ok := netip.AddrFromSlice(ip); ok {
			e.RemoteIP = a.Unmap()
		}
		if ts != 0 {
			e.Timestamp = time.Unix(0, ts).UTC()
		}
		if !observable(&e) || stringsLen(&e) > maxRecordStrings {
			return
		}
		// Twice, so that the second record uses the dictionary entries the
		// first one created.
		got, _, err := decodeAll(encodeSegment([]stream.Event{e, e}, 1))
		obs := got.obs
		if err != nil {
			t.Fatal(err)
		}
		want := observationOf(&e)
		if len(obs) != 2 || !reflect.DeepEqual(obs[0], want) || !reflect.DeepEqual(obs[1], want) {
			t.Fatalf("round trip\n got %+v\nwant %+v", obs, want)
		}
	})
}

func FuzzDecodeIndex(f *testing.F) {
	good := encodeIdx(&segMeta{firstSeq: 42, count: 7, minTs: 1, maxTs: 9, hasTime: true, recFrom: 3, recUntil: 4, logSize: 1000})
	f.Add(good)
	f.Add(encodeIdx(&segMeta{}))
	f.Add(good[:len(good)-1])
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeIdx(data, "fuzz")
		if err != nil {
			return
		}
		// A valid index re-encodes to itself (but for the form of "no
		// time", which has many encodings).
		if again := encodeIdx(&m); m.hasTime && !bytes.Equal(again, data) {
			t.Fatalf("re-encoding differs:\n%q\n%q", again, data)
		}
	})
}

func FuzzDecodeKnown(f *testing.F) {
	f.Add(knownSet{1, 5, 1 << 63}.encode())
	f.Add(knownSet{}.encode())
	f.Add([]byte(knownMagic + "\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := decodeKnown(data, "fuzz")
		if err != nil {
			return
		}
		if !bytes.Equal(k.encode(), data) {
			t.Fatal("a valid known set re-encodes differently")
		}
	})
}

func FuzzParseBound(f *testing.F) {
	for _, s := range []string{"24h", "7d", "1d12h", "90m", "2026-11-27T09:50:00Z", "2026-11-27T10:50:00.5+01:00", "2026-11-26", "", "24", "-1h", "d", "99999999d", "1d-1h"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 27, 10, 5, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseBound(s, now)
		if err != nil || got.IsZero() {
			return
		}
		if got.Location() != time.UTC {
			t.Fatalf("%q gave a non-UTC time", s)
		}
		// The result printed as RFC 3339 parses back to itself.
		if again, err := ParseBound(got.Format(time.RFC3339Nano), now); err != nil || !again.Equal(got) {
			t.Fatalf("%q → %v → %v, %v", s, got, again, err)
		}
	})
}

// Events re-encoded by AppendRecord decode to themselves.
func FuzzAppendRecord(f *testing.F) {
	f.Add("ws-1", "ConnectionSuccess", "https://a.example/x?y=\"z\"", "c:\\p\\a.exe", "cmd \x01", []byte{192, 0, 2, 1}, uint16(443), int64(7), int64(1795000000123456700), uint8(1))
	f.Add("", "", "zoë\xff", "", "", []byte{}, uint16(0), int64(0), int64(0), uint8(2))
	f.Fuzz(func(t *testing.T, device, action, url, path, cmd string, ip []byte, port uint16, report, ts int64, table uint8) {
		e := stream.Event{Table: stream.Table(table%2 + 1), DeviceID: device, DeviceName: device, ActionType: action,
			RemoteURL: url, ProcessFolderPath: path, ProcessCommandLine: cmd, RemotePort: port, ReportID: report}
		if a, ok := netip.AddrFromSlice(ip); ok {
			e.RemoteIP = a.Unmap()
		}
		if ts > 0 {
			e.Timestamp = time.Unix(0, ts).UTC()
		}
		var dec stream.Decoder
		rec := AppendRecord(nil, &e)
		evs, errs := dec.Decode(rec, nil)
		if len(errs) != 0 || len(evs) != 1 {
			t.Fatalf("%s: %v", rec, errs)
		}
		got := evs[0]
		// The decoder's own normalisations of free text are not ours to
		// test: compare what AppendRecord controls.
		if got.Table != e.Table || !got.Timestamp.Equal(e.Timestamp) || got.ReportID != e.ReportID ||
			got.RemotePort != e.RemotePort || got.RemoteIP != e.RemoteIP {
			t.Fatalf("round trip of %s\n got %+v\nwant %+v", rec, got, e)
		}
	})
}
