package history

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/maphash"
	"net/netip"
	"slices"
	"time"
	"unsafe"

	"github.com/iocwatch/iocwatch/stream"
)

// On-disk format (docs/retro-hunt.md has the prose version).
//
// A segment file (<16 hex digits of its first sequence number>.log):
//
//	header:  "IOCWHL01" · first sequence number (uint64, little endian)
//	blocks:  payload length (uint32 LE) · CRC-32C of the payload (uint32 LE) · payload
//
// A block payload:
//
//	varint recordedAt (Unix ns) · varint minTs · uvarint maxTs−minTs · uvarint records
//	for each dictionary (device, process, account, action, remote IP, remote URL):
//	    uvarint new entries · entries
//	uvarint length of the records · records
//
// Device, process, account and action ids count from 0 per segment, in the
// order their entries appear; remote IP and URL ids count from 0 in every
// block (those values are many and rarely repeat far apart: block-scoped
// dictionaries keep the writer's maps small, and give a hunt each block's
// distinct remote values to match before it decodes the block's records).
// A block's new entries are the ones its records use first, in the order
// they first use them: so after a damaged block, a reader knows where a
// later block's entries start from the largest id its records use
// (decoder.place).
//
// A device entry is 4 strings (TenantId, DeviceId, DeviceName,
// MachineGroup), a process entry 3 (file name, folder path, SHA-256), an
// account, action or URL entry 1; a string is uvarint length · bytes. An IP
// entry is one byte of length (4 or 16) · the address.
//
// A record:
//
//	flags (bits 0–1 table, 2 has time, 3 has IP, 4 has URL, 5 has port)
//	[varint Timestamp − previous record's (the first: − minTs), Unix ns]
//	uvarint device · uvarint process · uvarint account · uvarint action
//	[uvarint IP] [uvarint URL] [uvarint port] · varint ReportId
const (
	segMagic    = "IOCWHL01"
	segHeader   = 16
	frameHeader = 8
	// maxBlock bounds a block payload (a larger length is corruption).
	maxBlock = 256 << 20
)

// The dictionaries of a segment.
const (
	dictDevice = iota
	dictProcess
	dictAccount
	dictAction
	dictIP
	dictURL
	numDicts
)

var dictNames = [numDicts]string{"device", "process", "account", "action", "remote IP", "remote URL"}

// Record flags.
const (
	flagTableMask = 0x03
	flagTime      = 0x04
	flagIP        = 0x08
	flagURL       = 0x10
	flagPort      = 0x20
	flagsKnown    = 0x3f
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// dict is one dictionary of the segment being written: entries of n
// strings, held in its arena, found by a 64-bit hash of their parts;
// entries whose hashes collide are chained. It holds no pointers besides
// its map's and slices' own, so that the garbage collector does not scan
// a segment's worth of strings on every cycle.
type dict struct {
	n     int
	key   int // the part that indexes cache
	arena []byte
	// cache maps the hash of the key part to the entry last found with
	// it (-1: none): most lookups hash one string and compare, instead of
	// hashing every part and probing the map.
	cache [1024]int32
	idx   map[uint64]uint32 // hash → newest entry with it
	next  []int32           // per entry: the previous entry with its hash, or -1
	ents  []strSpan         // entry id i is ents[i*n : i*n+n]
}

// strSpan locates a string in an arena.
type strSpan struct{ off, n uint32 }

func (d *dict) str(sp strSpan) string {
	if sp.n == 0 {
		return ""
	}
	return unsafe.String(&d.arena[sp.off], sp.n)
}

// same reports whether entry id of d holds parts (the key part, the most
// telling, compared first).
func (d *dict) same(id int32, parts []string) bool {
	ents := d.ents[int(id)*d.n:]
	if d.str(ents[d.key]) != parts[d.key] {
		return false
	}
	for i, p := range parts {
		if i != d.key && d.str(ents[i]) != p {
			return false
		}
	}
	return true
}

// urlTable is a block's remote URL dictionary: open addressing over the
// URL hashes, emptied in O(1) by moving to the next generation.
type urlTable struct {
	slots []urlSlot // a power of two, at least twice the entries
	gen   uint32
	arena []byte
	ents  []strSpan
}

type urlSlot struct {
	gen, id uint32
	hash    uint64
}

// ipTable is a block's remote IP dictionary, like urlTable; its slots
// are 8 bytes, so that the table stays in a core's cache.
type ipTable struct {
	slots []ipSlot
	gen   uint16
	addrs [][16]byte // by id
}

type ipSlot struct {
	gen, id uint16
	hash    uint32
}

// reset empties the table for a block of up to n values.
func (t *urlTable) reset(n int) {
	t.gen++
	if size := tableSize(n); len(t.slots) < size || t.gen == 0 {
		t.slots, t.gen = make([]urlSlot, max(size, len(t.slots))), 1
	}
	t.arena, t.ents = t.arena[:0], t.ents[:0]
}

func (t *ipTable) reset(n int) {
	t.gen++
	if size := tableSize(n); len(t.slots) < size || t.gen == 0 {
		t.slots, t.gen = make([]ipSlot, max(size, len(t.slots))), 1
	}
	t.addrs = t.addrs[:0]
}

func tableSize(n int) int {
	size := 64
	for size < 2*n {
		size *= 2
	}
	return size
}

// id returns the id of u, and whether it is new (then added).
func (t *urlTable) id(u string, h uint64) (uint32, bool) {
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.gen != t.gen {
			id := uint32(len(t.ents))
			*s = urlSlot{gen: t.gen, id: id, hash: h}
			t.ents = append(t.ents, strSpan{uint32(len(t.arena)), uint32(len(u))})
			t.arena = append(t.arena, u...)
			return id, true
		}
		if s.hash == h {
			sp := t.ents[s.id]
			if string(t.arena[sp.off:sp.off+sp.n]) == u {
				return s.id, false
			}
		}
	}
}

func (t *ipTable) id(a [16]byte) (uint32, bool) {
	h := (binary.LittleEndian.Uint64(a[:8])*0x9e3779b97f4a7c15 ^ binary.LittleEndian.Uint64(a[8:])) * 0xbf58476d1ce4e5b9
	h32 := uint32(h >> 32)
	mask := uint32(len(t.slots) - 1)
	for i := h32 & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.gen != t.gen {
			id := uint16(len(t.addrs))
			*s = ipSlot{gen: t.gen, id: id, hash: h32}
			t.addrs = append(t.addrs, a)
			return uint32(id), true
		}
		if s.hash == h32 && t.addrs[s.id] == a {
			return uint32(s.id), false
		}
	}
}

// encoder encodes buffered observations into the blocks of one segment,
// keeping the segment's dictionaries. Not safe for concurrent use.
type encoder struct {
	seed  maphash.Seed
	hash  func(seed maphash.Seed, s string) uint64 // maphash.String; tests force collisions
	dicts [dictAction + 1]dict
	ips   ipTable
	urls  urlTable

	dict    [numDicts][]byte // this block's new entries
	dictN   [numDicts]int
	recs    []byte
	payload []byte
	parts   [4]string
	// dictBytes estimates the heap the segment-scoped dictionaries hold.
	dictBytes int
}

func newEncoder() *encoder {
	e := &encoder{seed: maphash.MakeSeed(), hash: maphash.String}
	e.dicts[dictDevice] = dict{n: 4, key: 1}  // DeviceId
	e.dicts[dictProcess] = dict{n: 3, key: 1} // folder path
	e.dicts[dictAccount] = dict{n: 1}
	e.dicts[dictAction] = dict{n: 1}
	for k := range e.dicts {
		e.dicts[k].idx = map[uint64]uint32{}
		for i := range e.dicts[k].cache {
			e.dicts[k].cache[i] = -1
		}
	}
	return e
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// id returns the id of the entry parts (len d.n) in segment dictionary k,
// adding it — copied into the arena, and to this block's new entries —
// when absent.
func (e *encoder) id(k int, parts []string) uint32 {
	d := &e.dicts[k]
	kh := e.hash(e.seed, parts[d.key])
	slot := &d.cache[(kh^kh>>32)&(uint64(len(d.cache))-1)]
	if c := *slot; c >= 0 && d.same(c, parts) {
		return uint32(c)
	}
	h := kh
	if d.n > 1 {
		h = uint64(len(parts))
		for _, p := range parts {
			h = (h^e.hash(e.seed, p))*0x9e3779b97f4a7c15 + 0x632be59bd9b4e019
		}
	}
	head := int32(-1)
	if id, ok := d.idx[h]; ok {
		head = int32(id)
		for c := head; c >= 0; c = d.next[c] {
			if d.same(c, parts) {
				*slot = c
				return uint32(c)
			}
		}
	}
	id := int32(len(d.next))
	d.next = append(d.next, head)
	d.idx[h] = uint32(id)
	*slot = id
	for _, p := range parts {
		d.ents = append(d.ents, strSpan{uint32(len(d.arena)), uint32(len(p))})
		d.arena = append(d.arena, p...)
		e.dict[k] = appendStr(e.dict[k], p)
		e.dictBytes += len(p) + 8
	}
	e.dictN[k]++
	e.dictBytes += 32
	return uint32(id)
}

// block encodes b's records as one framed block, appended to dst.
func (e *encoder) block(dst []byte, b *buffer, recordedAt int64) []byte {
	for k := range e.dict {
		e.dict[k] = e.dict[k][:0]
		e.dictN[k] = 0
	}
	e.recs = e.recs[:0]
	e.ips.reset(len(b.recs))
	e.urls.reset(len(b.recs))
	var minTs, maxTs int64
	first := true
	for i := range b.recs {
		r := &b.recs[i]
		if !r.hasTime {
			continue
		}
		if first || r.ts < minTs {
			minTs = r.ts
		}
		if first || r.ts > maxTs {
			maxTs = r.ts
		}
		first = false
	}
	prev := minTs
	for i := range b.recs {
		prev = e.record(b, &b.recs[i], prev)
	}

	p := e.payload[:0]
	p = binary.AppendVarint(p, recordedAt)
	p = binary.AppendVarint(p, minTs)
	p = binary.AppendUvarint(p, uint64(maxTs-minTs))
	p = binary.AppendUvarint(p, uint64(len(b.recs)))
	for k := range e.dict {
		p = binary.AppendUvarint(p, uint64(e.dictN[k]))
		p = append(p, e.dict[k]...)
	}
	p = binary.AppendUvarint(p, uint64(len(e.recs)))
	p = append(p, e.recs...)
	e.payload = p

	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(p)))
	dst = binary.LittleEndian.AppendUint32(dst, crc32.Checksum(p, crcTable))
	return append(dst, p...)
}

// record appends r's encoding to e.recs (and its new dictionary entries to
// e.dict); prev is the previous record's time, and the result the next.
func (e *encoder) record(b *buffer, r *bufRec, prev int64) int64 {
	p := &e.parts
	p[0], p[1], p[2], p[3] = b.str(r, sTenant), b.str(r, sDeviceID), b.str(r, sDeviceName), b.str(r, sGroup)
	dev := e.id(dictDevice, p[:4])
	p[0], p[1], p[2] = b.str(r, sProcName), b.str(r, sProcPath), b.str(r, sProcSHA)
	proc := e.id(dictProcess, p[:3])
	p[0] = b.str(r, sAccount)
	acct := e.id(dictAccount, p[:1])
	p[0] = b.str(r, sAction)
	act := e.id(dictAction, p[:1])

	flags := byte(r.table) & flagTableMask
	if r.hasTime {
		flags |= flagTime
	}
	if r.ipLen != 0 {
		flags |= flagIP
	}
	url := b.str(r, sURL)
	if url != "" {
		flags |= flagURL
	}
	if r.port != 0 {
		flags |= flagPort
	}
	e.recs = append(e.recs, flags)
	if r.hasTime {
		e.recs = binary.AppendVarint(e.recs, r.ts-prev)
		prev = r.ts
	}
	e.recs = binary.AppendUvarint(e.recs, uint64(dev))
	e.recs = binary.AppendUvarint(e.recs, uint64(proc))
	e.recs = binary.AppendUvarint(e.recs, uint64(acct))
	e.recs = binary.AppendUvarint(e.recs, uint64(act))
	if r.ipLen != 0 {
		id, isNew := e.ips.id(r.ip)
		if isNew {
			raw := r.ip[16-r.ipLen:]
			e.dict[dictIP] = append(append(e.dict[dictIP], byte(len(raw))), raw...)
			e.dictN[dictIP]++
		}
		e.recs = binary.AppendUvarint(e.recs, uint64(id))
	}
	if url != "" {
		id, isNew := e.urls.id(url, e.hash(e.seed, url))
		if isNew {
			e.dict[dictURL] = appendStr(e.dict[dictURL], url)
			e.dictN[dictURL]++
		}
		e.recs = binary.AppendUvarint(e.recs, uint64(id))
	}
	if r.port != 0 {
		e.recs = binary.AppendUvarint(e.recs, uint64(r.port))
	}
	e.recs = binary.AppendVarint(e.recs, r.reportID)
	return prev
}

// strRef locates a string in a decoder's data.
type strRef struct{ off, n uint32 }

// lostRef stands for the strings of a segment dictionary entry that a
// damaged block gave: its id is known, its strings are not.
var lostRef = strRef{off: ^uint32(0)}

// segDicts counts the dictionaries scoped to the segment (device,
// process, account, action), whose ids run on from block to block.
const segDicts = dictAction + 1

// Bounds a block written by a History meets, which resync uses to pass
// over bytes that cannot start a block cheaply: at least one record
// (a History never writes an empty block), at most 1<<16 of them, each
// at least minRecord bytes; the smallest payload is 4 varints of the
// header, 6 dictionary counts, the records length and a record.
const (
	maxBlockRecords = 1 << 16
	minRecord       = 6
	minPayload      = 4 + numDicts + 1 + minRecord
)

// blockInfo is what the decoder learned of one block.
type blockInfo struct {
	recordedAt   int64
	minTs, maxTs int64
	hasTime      bool
	n            int
	// The block's remote IPs and URLs are the decoder's ips[ipBase:ipEnd]
	// and urls[urlBase:urlEnd]; their ids are block-relative.
	ipBase, ipEnd   int
	urlBase, urlEnd int
	// dictEnd is the size of each segment dictionary once the block's
	// entries are in; unsure[k] says that ids from dictEnd[k] on were
	// given by a damaged block passed over (decoder.unsure).
	dictEnd [segDicts]int
	unsure  [segDicts]bool
	recs    []byte // the records section (aliases the data)
}

// decoder reads a segment held in memory. It keeps the dictionaries as
// references into the data, so that a segment is parsed without copying.
// Not safe for concurrent use; reusable.
type decoder struct {
	data   []byte
	name   string
	off    int // where the next block starts; 0 before begin or after a bad header
	devs   [][4]strRef
	procs  [][3]strRef
	accts  []strRef
	acts   []strRef
	ips    []netip.Addr
	urls   []strRef
	blocks []blockInfo

	// What next passed over to reach a block that parses after one that
	// does not: the stretches of damaged bytes (one damaged block, or
	// several in a row, each), their size, and the first one's
	// description. A damaged tail is not counted: next returns it.
	damaged      int
	damagedBytes int
	firstDamage  error
	// unsure[k] says a damaged block was passed over since segment
	// dictionary k was last known whole: that block may have given
	// entries, so the ids from len on are unknown until a block that
	// gives entries shows where its own start (place). lostBytes is the
	// size of what was passed over meanwhile: each entry takes a byte at
	// least, so it bounds how many entries were lost.
	unsure    [segDicts]bool
	lostBytes int
}

// corruptError describes a segment that does not parse, from an offset on.
type corruptError struct {
	name   string
	offset int
	msg    string
}

func (e *corruptError) Error() string {
	return fmt.Sprintf("history: segment %s offset %d: %s", e.name, e.offset, e.msg)
}

// errCorrupt is matched by every corruptError (errors.Is).
var errCorrupt = errors.New("corrupt history segment")

func (e *corruptError) Is(target error) bool { return target == errCorrupt }

// reader is a bounds-checked cursor over a block payload.
type reader struct {
	b   []byte
	i   int
	err string
}

func (r *reader) fail(msg string) {
	if r.err == "" {
		r.err = msg
	}
	r.i = len(r.b)
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b[r.i:])
	if n <= 0 {
		r.fail("bad uvarint")
		return 0
	}
	r.i += n
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b[r.i:])
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.i += n
	return v
}

// str reads a length-prefixed string; base is the payload's offset in the
// decoder's data.
func (r *reader) str(base int) strRef {
	n := r.uvarint()
	if n > uint64(len(r.b)-r.i) {
		r.fail("string runs past the block")
		return strRef{}
	}
	ref := strRef{off: uint32(base + r.i), n: uint32(n)}
	r.i += int(n)
	return ref
}

// load parses data: the header and every block's dictionaries, passing
// over damaged blocks followed by one that parses (next; d.damaged counts
// them). It returns the end of the last block that parses (the length
// worth keeping); err describes what follows it (a torn or damaged
// tail), nil when data ends with a block that parses. A header that does
// not parse gives valid 0.
func (d *decoder) load(data []byte, name string) (valid int, err error) {
	if err := d.begin(data, name); err != nil {
		return 0, err
	}
	for {
		b, err := d.next()
		if b == nil {
			return d.off, err
		}
	}
}

// begin starts parsing data block by block (next).
func (d *decoder) begin(data []byte, name string) error {
	d.data, d.name, d.off = data, name, segHeader
	d.devs, d.procs, d.accts, d.acts = d.devs[:0], d.procs[:0], d.accts[:0], d.acts[:0]
	d.ips, d.urls, d.blocks = d.ips[:0], d.urls[:0], d.blocks[:0]
	d.damaged, d.damagedBytes, d.firstDamage = 0, 0, nil
	d.unsure, d.lostBytes = [segDicts]bool{}, 0
	if len(data) < segHeader || string(data[:8]) != segMagic {
		d.off = 0
		return &corruptError{name, 0, "not a history segment (bad header)"}
	}
	return nil
}

// next parses the next block and returns it (the last of d.blocks), or
// nil at the end of the data — with an error when what follows the last
// block that parses is not a block (a torn or damaged tail). d.off is
// then the end of that block.
//
// A block that does not parse is passed over when a block that parses
// follows it (resync), and counted in d.damaged: its observations are
// lost, the others are not. The segment dictionaries' entries it gave
// are lost too: records of later blocks that use them are decoded
// without them (recordCursor.lost).
func (d *decoder) next() (*blockInfo, error) {
	off := d.off
	if off == 0 || off >= len(d.data) {
		return nil, nil
	}
	size, err := d.frame(off)
	if err == nil {
		d.off = off + size
		return &d.blocks[len(d.blocks)-1], nil
	}
	for k := range d.unsure {
		d.unsure[k] = true
	}
	at, size := d.resync(off)
	if at < 0 {
		return nil, err
	}
	d.damaged++
	d.damagedBytes += at - off
	if d.firstDamage == nil {
		d.firstDamage = err
	}
	d.off = at + size
	return &d.blocks[len(d.blocks)-1], nil
}

// frame parses the framed block at off: its length, checksum and payload.
// It returns the frame's size.
func (d *decoder) frame(off int) (int, error) {
	data, name := d.data, d.name
	if len(data)-off < frameHeader {
		return 0, &corruptError{name, off, "torn block header"}
	}
	n := binary.LittleEndian.Uint32(data[off:])
	sum := binary.LittleEndian.Uint32(data[off+4:])
	if n > maxBlock || int(n) > len(data)-off-frameHeader {
		return 0, &corruptError{name, off, fmt.Sprintf("block of %d bytes runs past the end", n)}
	}
	p := data[off+frameHeader : off+frameHeader+int(n)]
	if crc32.Checksum(p, crcTable) != sum {
		return 0, &corruptError{name, off, "block checksum mismatch"}
	}
	// Dictionaries grow as blocks parse; a bad block must not leave its
	// entries behind.
	mark := [numDicts]int{len(d.devs), len(d.procs), len(d.accts), len(d.acts), len(d.ips), len(d.urls)}
	if msg := d.parseBlock(p, off+frameHeader); msg != "" {
		d.devs, d.procs, d.accts = d.devs[:mark[0]], d.procs[:mark[1]], d.accts[:mark[2]]
		d.acts, d.ips, d.urls = d.acts[:mark[3]], d.ips[:mark[4]], d.urls[:mark[5]]
		return 0, &corruptError{name, off, msg}
	}
	return frameHeader + int(n), nil
}

// resync finds the first block after the damaged one at off that parses
// (frame): where the damaged block's length says the next one starts,
// else at the first later offset where one does. Offsets whose bytes do
// not have a block's structure are passed over without computing a
// checksum (plausibleBlock); the checksum makes a false start as
// unlikely as an undetected error. It returns the block's offset and
// size, or -1 when no block follows. Bytes that cost more than
// resyncWork per byte passed over (only crafted data does) are given up
// on as a damaged tail.
func (d *decoder) resync(off int) (at, size int) {
	data, base := d.data, d.lostBytes
	try := func(at int) int {
		d.lostBytes = base + at - off
		size, err := d.frame(at)
		if err != nil {
			return 0
		}
		return size
	}
	if len(data)-off >= frameHeader {
		if n := binary.LittleEndian.Uint32(data[off:]); n <= maxBlock && int(n) < len(data)-off-2*frameHeader {
			at := off + frameHeader + int(n)
			if size := try(at); size > 0 {
				return at, size
			}
		}
	}
	work := 0
	for at := off + 1; at <= len(data)-frameHeader-minPayload; at++ {
		n := int(binary.LittleEndian.Uint32(data[at:]))
		if n < minPayload || n > len(data)-at-frameHeader {
			continue
		}
		ok, steps := plausibleBlock(data[at+frameHeader : at+frameHeader+n])
		if work += steps; ok {
			work += n
		}
		if work > resyncWork*(at-off)+1<<20 {
			break
		}
		if !ok {
			continue
		}
		if size := try(at); size > 0 {
			return at, size
		}
	}
	d.lostBytes = base
	return -1, 0
}

// resyncWork bounds what resync spends per byte it passes over.
const resyncWork = 64

// plausibleBlock reports whether p has the structure of the payload of a
// block a History writes: 1 to maxBlockRecords records of at least
// minRecord bytes each, at most one new entry per record in each
// dictionary, entries that stay within p and records that end it. It
// skips the strings without reading them, so that bytes that are no
// block fail fast; steps is the work done.
func plausibleBlock(p []byte) (ok bool, steps int) {
	r := reader{b: p}
	r.varint()
	r.varint()
	r.uvarint()
	n := r.uvarint()
	if r.err != "" || n < 1 || n > maxBlockRecords || n*minRecord > uint64(len(p)) {
		return false, 1
	}
	strs := [numDicts]int{dictDevice: 4, dictProcess: 3, dictAccount: 1, dictAction: 1, dictURL: 1}
	for k := range numDicts {
		cnt := r.uvarint()
		if r.err != "" || cnt > n {
			return false, steps + 1
		}
		for range cnt {
			steps++
			if k == dictIP {
				if r.i >= len(p) || p[r.i] != 4 && p[r.i] != 16 || int(p[r.i]) > len(p)-r.i-1 {
					return false, steps
				}
				r.i += 1 + int(p[r.i])
				continue
			}
			for range strs[k] {
				r.str(0)
			}
			if r.err != "" {
				return false, steps
			}
		}
	}
	rl := r.uvarint()
	return r.err == "" && rl == uint64(len(p)-r.i) && rl >= n*minRecord, steps + 1
}

// parseBlock reads one block payload p (at offset base of the data).
func (d *decoder) parseBlock(p []byte, base int) string {
	r := reader{b: p}
	bi := blockInfo{ipBase: len(d.ips), urlBase: len(d.urls)}
	bi.recordedAt = r.varint()
	bi.minTs = r.varint()
	span := r.uvarint()
	bi.maxTs = bi.minTs + int64(span)
	n := r.uvarint()
	if n > uint64(len(p)) {
		return "record count larger than the block"
	}
	bi.n = int(n)
	start := [segDicts]int{len(d.devs), len(d.procs), len(d.accts), len(d.acts)}
	var given [segDicts]int
	for k := range numDicts {
		cnt := r.uvarint()
		if cnt > uint64(len(p)) {
			return dictNames[k] + " dictionary count larger than the block"
		}
		if k < segDicts {
			given[k] = int(cnt)
		}
		for range cnt {
			switch k {
			case dictDevice:
				d.devs = append(d.devs, [4]strRef{r.str(base), r.str(base), r.str(base), r.str(base)})
			case dictProcess:
				d.procs = append(d.procs, [3]strRef{r.str(base), r.str(base), r.str(base)})
			case dictAccount:
				d.accts = append(d.accts, r.str(base))
			case dictAction:
				d.acts = append(d.acts, r.str(base))
			case dictURL:
				d.urls = append(d.urls, r.str(base))
			case dictIP:
				if r.i >= len(p) {
					r.fail("torn IP entry")
					break
				}
				l := int(p[r.i])
				if (l != 4 && l != 16) || l > len(p)-r.i-1 {
					r.fail("bad IP entry")
					break
				}
				a, _ := netip.AddrFromSlice(p[r.i+1 : r.i+1+l])
				d.ips = append(d.ips, a)
				r.i += 1 + l
			}
			if r.err != "" {
				return dictNames[k] + " dictionary: " + r.err
			}
		}
	}
	rl := r.uvarint()
	if r.err != "" {
		return r.err
	}
	if rl != uint64(len(p)-r.i) {
		return "records section length does not match the block"
	}
	bi.recs = p[r.i:]
	bi.ipEnd, bi.urlEnd = len(d.ips), len(d.urls)
	bi.hasTime = bi.n > 0 && (bi.minTs != 0 || span != 0)
	d.place(&bi, start, given)
	d.blocks = append(d.blocks, bi)
	return ""
}

// place puts the segment dictionary entries a block gave (given[k] of
// them, appended from start[k] on) at their ids when a damaged block was
// passed over before it (d.unsure[k]): the lost block's entries come
// first, as placeholders (lostRef). Where they start follows from the
// writer's order: a block's new entries take the next ids in the order
// its records first use them, and each is used, so the largest id its
// records use is the last of its entries. When the records do not say
// (they do not parse, or disagree), the entries are dropped and ids from
// start[k] on stay unknown. It also notes in bi what its records can
// resolve.
func (d *decoder) place(bi *blockInfo, start, given [segDicts]int) {
	var top [segDicts]uint64
	scanned, ok := false, false
	for k := range segDicts {
		if !d.unsure[k] || given[k] == 0 {
			continue
		}
		if !scanned {
			top, ok = maxIDs(bi.recs, bi.n)
			scanned = true
		}
		// The block's entries are ids [first, top+1).
		first := int64(-1)
		if ok && top[k] < uint64(start[k]+d.lostBytes+given[k]) {
			first = int64(top[k]) + 1 - int64(given[k])
		}
		if first < int64(start[k]) {
			d.truncDict(k, start[k])
			continue
		}
		d.padDict(k, start[k], int(first)-start[k])
		d.unsure[k] = false
	}
	if d.unsure == [segDicts]bool{} {
		d.lostBytes = 0
	}
	bi.dictEnd = [segDicts]int{len(d.devs), len(d.procs), len(d.accts), len(d.acts)}
	bi.unsure = d.unsure
}

func (d *decoder) truncDict(k, n int) {
	switch k {
	case dictDevice:
		d.devs = d.devs[:n]
	case dictProcess:
		d.procs = d.procs[:n]
	case dictAccount:
		d.accts = d.accts[:n]
	case dictAction:
		d.acts = d.acts[:n]
	}
}

// padDict inserts pad placeholders at index at of segment dictionary k.
func (d *decoder) padDict(k, at, pad int) {
	if pad == 0 {
		return
	}
	switch k {
	case dictDevice:
		d.devs = slices.Insert(d.devs, at, slices.Repeat([][4]strRef{{lostRef, lostRef, lostRef, lostRef}}, pad)...)
	case dictProcess:
		d.procs = slices.Insert(d.procs, at, slices.Repeat([][3]strRef{{lostRef, lostRef, lostRef}}, pad)...)
	case dictAccount:
		d.accts = slices.Insert(d.accts, at, slices.Repeat([]strRef{lostRef}, pad)...)
	case dictAction:
		d.acts = slices.Insert(d.acts, at, slices.Repeat([]strRef{lostRef}, pad)...)
	}
}

// lost reports whether id of segment dictionary k is a placeholder for
// an entry of a damaged block.
func (d *decoder) lost(k int, id uint64) bool {
	switch k {
	case dictDevice:
		return d.devs[id][0] == lostRef
	case dictProcess:
		return d.procs[id][0] == lostRef
	case dictAccount:
		return d.accts[id] == lostRef
	default:
		return d.acts[id] == lostRef
	}
}

// maxIDs returns the largest segment dictionary ids the n records of recs
// use, and whether they parse.
func maxIDs(recs []byte, n int) (top [segDicts]uint64, ok bool) {
	r := reader{b: recs}
	for range n {
		if r.i >= len(r.b) {
			return top, false
		}
		flags := r.b[r.i]
		r.i++
		if flags&^flagsKnown != 0 {
			return top, false
		}
		if flags&flagTime != 0 {
			r.varint()
		}
		for k := range top {
			top[k] = max(top[k], r.uvarint())
		}
		for _, f := range []byte{flagIP, flagURL, flagPort} {
			if flags&f != 0 {
				r.uvarint()
			}
		}
		r.varint()
		if r.err != "" {
			return top, false
		}
	}
	return top, true
}

func (d *decoder) s(ref strRef) string {
	if ref.n == 0 {
		return ""
	}
	return unsafe.String(&d.data[ref.off], ref.n)
}

// recordCursor decodes the records of one block.
type recordCursor struct {
	d    *decoder
	b    *blockInfo
	r    reader
	prev int64
	left int
	// ipID and urlID are the indexes, in the decoder's lists, of the last
	// record's remote values; -1 when it had none.
	ipID, urlID int
	// lost says the last record's device, process, account or action was
	// given by a damaged block passed over: the observation has its time,
	// table, remote values and ReportId, and none of those strings.
	lost bool
}

func (d *decoder) cursor(bi *blockInfo) recordCursor {
	return recordCursor{d: d, b: bi, r: reader{b: bi.recs}, prev: bi.minTs, left: bi.n}
}

// next decodes the next record into o (whose strings alias the data). It
// returns false at the end of the block or on an error (c.r.err).
func (c *recordCursor) next(o *Observation) bool {
	if c.left == 0 || c.r.err != "" {
		return false
	}
	c.left--
	r := &c.r
	if r.i >= len(r.b) {
		r.fail("records end early")
		return false
	}
	flags := r.b[r.i]
	r.i++
	if flags&^flagsKnown != 0 || flags&flagTableMask > byte(stream.TableDeviceEvents) {
		r.fail(fmt.Sprintf("bad record flags %#x", flags))
		return false
	}
	d := c.d
	*o = Observation{Table: stream.Table(flags & flagTableMask)}
	if flags&flagTime != 0 {
		c.prev += r.varint()
		o.Timestamp = time.Unix(0, c.prev).UTC()
	}
	ids := [segDicts]uint64{r.uvarint(), r.uvarint(), r.uvarint(), r.uvarint()}
	if r.err != "" {
		return false
	}
	c.lost = false
	for k, id := range ids {
		switch {
		case id >= uint64(c.b.dictEnd[k]):
			if !c.b.unsure[k] {
				r.fail("dictionary id out of range")
				return false
			}
			c.lost = true
		case d.lost(k, id):
			c.lost = true
		}
	}
	if !c.lost {
		dv, pr := &d.devs[ids[dictDevice]], &d.procs[ids[dictProcess]]
		o.TenantID, o.DeviceID, o.DeviceName, o.MachineGroup = d.s(dv[0]), d.s(dv[1]), d.s(dv[2]), d.s(dv[3])
		o.ProcessFileName, o.ProcessFolderPath, o.ProcessSHA256 = d.s(pr[0]), d.s(pr[1]), d.s(pr[2])
		o.AccountName, o.ActionType = d.s(d.accts[ids[dictAccount]]), d.s(d.acts[ids[dictAction]])
	}
	c.ipID, c.urlID = -1, -1
	if flags&flagIP != 0 {
		id := r.uvarint()
		if id >= uint64(c.b.ipEnd-c.b.ipBase) {
			r.fail("remote IP id out of range")
			return false
		}
		c.ipID = c.b.ipBase + int(id)
		o.RemoteIP = d.ips[c.ipID]
	}
	if flags&flagURL != 0 {
		id := r.uvarint()
		if id >= uint64(c.b.urlEnd-c.b.urlBase) {
			r.fail("remote URL id out of range")
			return false
		}
		c.urlID = c.b.urlBase + int(id)
		o.RemoteURL = d.s(d.urls[c.urlID])
	}
	if flags&flagPort != 0 {
		p := r.uvarint()
		if p > 65535 {
			r.fail("port out of range")
			return false
		}
		o.RemotePort = uint16(p)
	}
	o.ReportID = r.varint()
	return r.err == ""
}
