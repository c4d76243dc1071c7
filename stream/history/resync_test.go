package history

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/stream"
)

// blockedEvents returns blocks×per events, to be encoded per events to a
// block, whose devices, processes, accounts and actions each block both
// reuses and adds to; entryBlock tells in which block each entry first
// appears (its device, process, account and action, as strings).
func blockedEvents(blocks, per int) (events []stream.Event, entryBlock map[string]int) {
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	entryBlock = map[string]int{}
	note := func(key string, b int) {
		if _, ok := entryBlock[key]; !ok {
			entryBlock[key] = b
		}
	}
	for b := range blocks {
		for i := range per {
			dev := 2*b + i%3 // block b uses devices 2b..2b+2: two new, one of the previous block's
			e := netEvent(dev, fmt.Sprintf("p%d.exe", b+i%2), fmt.Sprintf("10.0.%d.%d", b, i), fmt.Sprintf("c2-%d-%d.example", b, i),
				at.Add(time.Duration(b*per+i)*time.Second), int64(b*per+i))
			e.AccountName = fmt.Sprintf("acct%d", b/2)
			if b == 3 && i%2 == 1 {
				e.ActionType = "ConnectionAttempt"
			}
			events = append(events, e)
			note("dev "+e.DeviceID, b)
			note("proc "+e.ProcessFileName, b)
			note("acct "+e.AccountName, b)
			note("act "+e.ActionType, b)
		}
	}
	return events, entryBlock
}

// frameOffsets returns the offsets of seg's blocks.
func frameOffsets(seg []byte) []int {
	var offs []int
	for off := segHeader; off+frameHeader <= len(seg); off += frameHeader + int(binary.LittleEndian.Uint32(seg[off:])) {
		offs = append(offs, off)
	}
	return offs
}

// A damaged block loses its own observations and, of the later blocks',
// only those whose device, process, account or action it gave: the
// reader passes over it to the next block that parses — found from the
// damaged block's length, or, when that is damaged too, by looking for
// the next block — and counts it. Each case names the blocks it damages.
func TestADamagedBlockIsPassedOverAndTheRestOfTheSegmentRead(t *testing.T) {
	const blocks, per = 6, 6
	events, entryBlock := blockedEvents(blocks, per)
	for _, tc := range []struct {
		name    string
		damage  func(seg []byte, offs []int)
		lost    []int // the blocks damaged
		stretch int   // how many stretches of damage (adjacent blocks are one)
	}{
		{"a flipped byte in a block's records", func(seg []byte, o []int) { seg[o[1]+frameHeader+40] ^= 0xff }, []int{1}, 1},
		{"a damaged checksum", func(seg []byte, o []int) { seg[o[2]+4] ^= 1 }, []int{2}, 1},
		{"a damaged length", func(seg []byte, o []int) { seg[o[1]+3] ^= 0x40 }, []int{1}, 1},
		{"a length that points into the next block", func(seg []byte, o []int) { seg[o[1]] ^= 0x10 }, []int{1}, 1},
		{"the first block", func(seg []byte, o []int) { seg[o[0]+frameHeader+5] ^= 0x01 }, []int{0}, 1},
		{"zeros over two blocks", func(seg []byte, o []int) { clear(seg[o[1]+4 : o[2]+20]) }, []int{1, 2}, 1},
		{"two blocks apart", func(seg []byte, o []int) {
			seg[o[1]+frameHeader+7] ^= 0x20
			seg[o[3]+1] ^= 0x80
		}, []int{1, 3}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seg := encodeSegment(events, per)
			offs := frameOffsets(seg)
			if len(offs) != blocks {
				t.Fatalf("%d blocks, want %d", len(offs), blocks)
			}
			tc.damage(seg, offs)
			damaged := map[int]bool{}
			for _, b := range tc.lost {
				damaged[b] = true
			}
			var want []Observation
			wantLost := 0
			for j := range events {
				e := &events[j]
				b := j / per
				if damaged[b] {
					continue
				}
				if damaged[entryBlock["dev "+e.DeviceID]] || damaged[entryBlock["proc "+e.ProcessFileName]] ||
					damaged[entryBlock["acct "+e.AccountName]] || damaged[entryBlock["act "+e.ActionType]] {
					wantLost++
					continue
				}
				want = append(want, observationOf(e))
			}
			if len(want) == 0 || wantLost == 0 {
				t.Fatalf("%d observations kept, %d lost with their entries: the case must have both", len(want), wantLost)
			}

			var d decoder
			valid, err := d.load(seg, "seg")
			if err != nil || valid != len(seg) {
				t.Fatalf("load: %d of %d bytes, %v; want the segment read to its end", valid, len(seg), err)
			}
			var got []Observation
			gotLost := 0
			for i := range d.blocks {
				c := d.cursor(&d.blocks[i])
				var o Observation
				for c.next(&o) {
					if c.lost {
						gotLost++
						if o.DeviceID != "" || o.ProcessFileName != "" || o.AccountName != "" || o.ActionType != "" || !o.RemoteIP.IsValid() {
							t.Fatalf("a record whose entries are lost: %+v", o)
						}
						continue
					}
					got = append(got, cloneObs(&o))
				}
				if c.r.err != "" {
					t.Fatalf("block %d: %s", i, c.r.err)
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decoded %d observations, want %d:\ngot  %+v\nwant %+v", len(got), len(want), got, want)
			}
			if gotLost != wantLost || d.damaged != tc.stretch || d.firstDamage == nil {
				t.Errorf("%d records without their entries, %d damaged stretches (%v); want %d, %d", gotLost, d.damaged, d.firstDamage, wantLost, tc.stretch)
			}

			// The scan `iocwatch hunt` makes reports the same, by name.
			dir := t.TempDir()
			path := filepath.Join(dir, segBase(0)+logExt)
			if err := os.WriteFile(path, seg, 0o600); err != nil {
				t.Fatal(err)
			}
			var log strings.Builder
			r, err := Open(Options{Dir: dir, ReadOnly: true, Log: slog.New(slog.NewTextHandler(&log, nil))})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			st, err := r.Scan(context.Background(), Query{Index: everything(t)}, func(*Observation, []match.Hit) error {
				n++
				return nil
			})
			if err != nil || n != len(want) || st.Matched != uint64(len(want)) || st.LostMatches != uint64(wantLost) || st.DamagedBlocks != tc.stretch || st.DamagedBytes <= 0 {
				t.Errorf("Scan: %d matches, %+v, %v; want %d, %d lost, %d damaged", n, st, err, len(want), wantLost, tc.stretch)
			}
			if !strings.Contains(log.String(), path) || !strings.Contains(log.String(), "damaged") {
				t.Errorf("the damage is not logged with the segment's name:\n%s", log.String())
			}
		})
	}
}

// A writer that finds a damaged block in a segment without its index
// (the crash that lost the index) keeps the blocks after it: only a
// damaged tail is cut off.
func TestOpenKeepsTheBlocksAfterADamagedOne(t *testing.T) {
	c := newClock()
	dir := t.TempDir()
	h := open(t, dir, c, nil)
	events := sampleEvents(c.Now())
	for i := 0; i < 6; i += 2 {
		h.Record(events[i : i+2])
		flush(t, h)
	}
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*"+logExt))
	if len(logs) != 1 {
		t.Fatalf("segments: %v", logs)
	}
	seg, err := os.ReadFile(logs[0])
	if err != nil {
		t.Fatal(err)
	}
	offs := frameOffsets(seg)
	if len(offs) != 3 {
		t.Fatalf("%d blocks, want 3", len(offs))
	}
	seg[offs[1]+frameHeader+12] ^= 0x04
	if err := os.WriteFile(logs[0], seg, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(strings.TrimSuffix(logs[0], logExt) + idxExt)

	h2 := open(t, dir, c, nil)
	got := scanAll(t, h2, Query{Index: everything(t)})
	want := []Observation{observationOf(&events[0]), observationOf(&events[1]), observationOf(&events[4]), observationOf(&events[5])}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %d observations, want the 4 of the first and last blocks:\ngot  %+v\nwant %+v", len(got), got, want)
	}
	if st, err := os.Stat(logs[0]); err != nil || st.Size() != int64(len(seg)) {
		t.Fatalf("the segment was cut: %v, %v", st.Size(), err)
	}
}
