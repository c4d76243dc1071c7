package history

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/maphash"
	"net/netip"
	"strings"
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
// Dictionary ids count from 0 per segment in the order entries appear. A
// device entry is 4 strings (TenantId, DeviceId, DeviceName, MachineGroup),
// a process entry 3 (file name, folder path, SHA-256), an account, action or
// URL entry 1; a string is uvarint length · bytes. An IP entry is one byte
// of length (4 or 16) · the address.
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
// strings, held in the encoder's arena, found by a 64-bit hash. It holds
// no pointers besides its maps' and slices' own, so that the garbage
// collector does not scan a segment's worth of strings on every cycle.
type dict struct {
	n    int
	idx  map[uint64]uint32 // hash → id of the first entry with that hash
	ents []strSpan         // entry id i is ents[i*n : i*n+n]
	// coll holds the entries whose hash an earlier, different entry has
	// (keyed by the parts joined with NUL); nearly always empty.
	coll map[string]uint32
	len  int
}

// strSpan locates a string in the encoder's arena.
type strSpan struct{ off, n uint32 }

// encoder encodes buffered observations into the blocks of one segment,
// keeping the segment's dictionaries. Not safe for concurrent use.
type encoder struct {
	seed  maphash.Seed
	hash  func(seed maphash.Seed, parts []string) uint64 // hashParts; tests force collisions
	arena []byte
	dicts [numDicts]dict // dictIP unused: ips below
	ips   map[[16]byte]uint32
	// ipList is the remote IP dictionary in id order, for the index file.
	ipList []byte // 1 byte length · address, per entry
	nIPs   int

	dict    [numDicts][]byte // this block's new entries
	dictN   [numDicts]int
	recs    []byte
	payload []byte
	parts   [4]string
	// dictBytes estimates the heap the dictionaries hold.
	dictBytes int
}

var dictParts = [numDicts]int{dictDevice: 4, dictProcess: 3, dictAccount: 1, dictAction: 1, dictURL: 1}

func newEncoder() *encoder {
	e := &encoder{seed: maphash.MakeSeed(), hash: hashParts, ips: map[[16]byte]uint32{}}
	for k, n := range dictParts {
		if n > 0 {
			e.dicts[k] = dict{n: n, idx: map[uint64]uint32{}}
		}
	}
	return e
}

func hashParts(seed maphash.Seed, parts []string) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	for _, p := range parts {
		h.WriteString(p)
		h.WriteByte(0)
	}
	return h.Sum64()
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func (e *encoder) str(sp strSpan) string {
	if sp.n == 0 {
		return ""
	}
	return unsafe.String(&e.arena[sp.off], sp.n)
}

// same reports whether entry id of d holds parts.
func (e *encoder) same(d *dict, id uint32, parts []string) bool {
	for i, p := range parts {
		if e.str(d.ents[int(id)*d.n+i]) != p {
			return false
		}
	}
	return true
}

// id returns the id of the entry parts (len d.n) in dictionary k, adding
// it — copied into the arena, and to this block's new entries — when
// absent.
func (e *encoder) id(k int, parts []string) uint32 {
	d := &e.dicts[k]
	h := e.hash(e.seed, parts)
	first, found := d.idx[h]
	if found && e.same(d, first, parts) {
		return first
	}
	var key string
	if found {
		key = strings.Join(parts, "\x00")
		if id, ok := d.coll[key]; ok {
			return id
		}
	}
	id := uint32(d.len)
	d.len++
	for _, p := range parts {
		d.ents = append(d.ents, strSpan{uint32(len(e.arena)), uint32(len(p))})
		e.arena = append(e.arena, p...)
		e.dict[k] = appendStr(e.dict[k], p)
		e.dictBytes += len(p) + 8
	}
	e.dictN[k]++
	e.dictBytes += 24
	if found {
		if d.coll == nil {
			d.coll = map[string]uint32{}
		}
		d.coll[key] = id
	} else {
		d.idx[h] = id
	}
	return id
}

// urls returns the remote URL dictionary in id order (aliasing the arena).
func (e *encoder) urls() []string {
	d := &e.dicts[dictURL]
	out := make([]string, d.len)
	for i := range out {
		out[i] = e.str(d.ents[i])
	}
	return out
}

// ipAddrs returns the remote IP dictionary in id order.
func (e *encoder) ipAddrs() []netip.Addr {
	out := make([]netip.Addr, 0, e.nIPs)
	for b := e.ipList; len(b) > 0; b = b[1+int(b[0]):] {
		a, _ := netip.AddrFromSlice(b[1 : 1+int(b[0])])
		out = append(out, a)
	}
	return out
}

// block encodes b's records as one framed block, appended to dst.
func (e *encoder) block(dst []byte, b *buffer, recordedAt int64) []byte {
	for k := range e.dict {
		e.dict[k] = e.dict[k][:0]
		e.dictN[k] = 0
	}
	e.recs = e.recs[:0]
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
	if r.ip.IsValid() {
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
	if r.ip.IsValid() {
		id, ok := e.ips[r.ip.As16()]
		if !ok {
			id = uint32(e.nIPs)
			e.nIPs++
			e.ips[r.ip.As16()] = id
			raw := r.ip.AsSlice()
			e.ipList = append(append(e.ipList, byte(len(raw))), raw...)
			e.dict[dictIP] = append(append(e.dict[dictIP], byte(len(raw))), raw...)
			e.dictN[dictIP]++
			e.dictBytes += 48
		}
		e.recs = binary.AppendUvarint(e.recs, uint64(id))
	}
	if url != "" {
		p[0] = url
		e.recs = binary.AppendUvarint(e.recs, uint64(e.id(dictURL, p[:1])))
	}
	if r.port != 0 {
		e.recs = binary.AppendUvarint(e.recs, uint64(r.port))
	}
	e.recs = binary.AppendVarint(e.recs, r.reportID)
	return prev
}

// strRef locates a string in a decoder's data.
type strRef struct{ off, n uint32 }

// blockInfo is what the decoder learned of one block.
type blockInfo struct {
	recordedAt   int64
	minTs, maxTs int64
	hasTime      bool
	n            int
	recs         []byte // the records section (aliases the data)
}

// decoder reads a segment held in memory. It keeps the dictionaries as
// references into the data, so that a segment is parsed without copying.
// Not safe for concurrent use; reusable.
type decoder struct {
	data   []byte
	name   string
	devs   [][4]strRef
	procs  [][3]strRef
	accts  []strRef
	acts   []strRef
	ips    []netip.Addr
	urls   []strRef
	blocks []blockInfo
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

// load parses data: the header and every block's dictionaries. It returns
// the length of the valid prefix; err describes what follows it (a torn
// or corrupt block), nil when the whole of data is valid. A header that
// does not parse gives valid 0.
func (d *decoder) load(data []byte, name string) (valid int, err error) {
	d.data, d.name = data, name
	d.devs, d.procs, d.accts, d.acts = d.devs[:0], d.procs[:0], d.accts[:0], d.acts[:0]
	d.ips, d.urls, d.blocks = d.ips[:0], d.urls[:0], d.blocks[:0]
	if len(data) < segHeader || string(data[:8]) != segMagic {
		return 0, &corruptError{name, 0, "not a history segment (bad header)"}
	}
	off := segHeader
	for off < len(data) {
		if len(data)-off < frameHeader {
			return off, &corruptError{name, off, "torn block header"}
		}
		n := binary.LittleEndian.Uint32(data[off:])
		sum := binary.LittleEndian.Uint32(data[off+4:])
		if n > maxBlock || int(n) > len(data)-off-frameHeader {
			return off, &corruptError{name, off, fmt.Sprintf("block of %d bytes runs past the end", n)}
		}
		p := data[off+frameHeader : off+frameHeader+int(n)]
		if crc32.Checksum(p, crcTable) != sum {
			return off, &corruptError{name, off, "block checksum mismatch"}
		}
		// Dictionaries grow as blocks parse; a bad block must not leave
		// its entries behind.
		mark := [numDicts]int{len(d.devs), len(d.procs), len(d.accts), len(d.acts), len(d.ips), len(d.urls)}
		if msg := d.parseBlock(p, off+frameHeader); msg != "" {
			d.devs, d.procs, d.accts = d.devs[:mark[0]], d.procs[:mark[1]], d.accts[:mark[2]]
			d.acts, d.ips, d.urls = d.acts[:mark[3]], d.ips[:mark[4]], d.urls[:mark[5]]
			return off, &corruptError{name, off, msg}
		}
		off += frameHeader + int(n)
	}
	return off, nil
}

// parseBlock reads one block payload p (at offset base of the data).
func (d *decoder) parseBlock(p []byte, base int) string {
	r := reader{b: p}
	var bi blockInfo
	bi.recordedAt = r.varint()
	bi.minTs = r.varint()
	span := r.uvarint()
	bi.maxTs = bi.minTs + int64(span)
	n := r.uvarint()
	if n > uint64(len(p)) {
		return "record count larger than the block"
	}
	bi.n = int(n)
	for k := range numDicts {
		cnt := r.uvarint()
		if cnt > uint64(len(p)) {
			return dictNames[k] + " dictionary count larger than the block"
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
	bi.hasTime = bi.n > 0 && (bi.minTs != 0 || span != 0)
	d.blocks = append(d.blocks, bi)
	return ""
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
	r    reader
	prev int64
	left int
	// ipID and urlID are the dictionary ids of the last record's remote
	// values, -1 when it had none.
	ipID, urlID int
}

func (d *decoder) cursor(bi *blockInfo) recordCursor {
	return recordCursor{d: d, r: reader{b: bi.recs}, prev: bi.minTs, left: bi.n}
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
	dev, proc, acct, act := r.uvarint(), r.uvarint(), r.uvarint(), r.uvarint()
	if r.err != "" {
		return false
	}
	if dev >= uint64(len(d.devs)) || proc >= uint64(len(d.procs)) || acct >= uint64(len(d.accts)) || act >= uint64(len(d.acts)) {
		r.fail("dictionary id out of range")
		return false
	}
	dv, pr := &d.devs[dev], &d.procs[proc]
	o.TenantID, o.DeviceID, o.DeviceName, o.MachineGroup = d.s(dv[0]), d.s(dv[1]), d.s(dv[2]), d.s(dv[3])
	o.ProcessFileName, o.ProcessFolderPath, o.ProcessSHA256 = d.s(pr[0]), d.s(pr[1]), d.s(pr[2])
	o.AccountName, o.ActionType = d.s(d.accts[acct]), d.s(d.acts[act])
	c.ipID, c.urlID = -1, -1
	if flags&flagIP != 0 {
		id := r.uvarint()
		if id >= uint64(len(d.ips)) {
			r.fail("remote IP id out of range")
			return false
		}
		o.RemoteIP, c.ipID = d.ips[id], int(id)
	}
	if flags&flagURL != 0 {
		id := r.uvarint()
		if id >= uint64(len(d.urls)) {
			r.fail("remote URL id out of range")
			return false
		}
		o.RemoteURL, c.urlID = d.s(d.urls[id]), int(id)
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
