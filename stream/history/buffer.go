package history

import (
	"unsafe"

	"github.com/iocwatch/iocwatch/stream"
)

// The strings a buffered record keeps, in arena order.
const (
	sTenant = iota
	sDeviceID
	sDeviceName
	sGroup
	sProcName
	sProcPath
	sProcSHA
	sAccount
	sAction
	sURL
	numStr
)

// arenaPerRecord is the string space a buffer reserves per observation:
// Defender's strings take about 300 bytes (two hashes, a GUID, paths).
const arenaPerRecord = 320

// maxRecordStrings caps the bytes of strings one observation may carry; a
// larger one (a pathological RemoteUrl) is not recorded and is counted.
const maxRecordStrings = 64 << 10

// bufRec is one observation copied off the hot path's buffers: fixed fields
// inline, strings in the buffer's arena.
type bufRec struct {
	ts       int64 // Unix nanoseconds, when hasTime
	reportID int64
	ip       [16]byte       // RemoteIP, unmapped, as 16 bytes; ipLen says which
	ipLen    uint8          // 0 (none), 4 or 16; no netip.Addr: buffers hold no pointers
	base     uint32         // arena offset of the first string
	end      [numStr]uint32 // arena end offset of each string
	port     uint16
	table    stream.Table
	hasTime  bool
}

// buffer collects observations between the pipeline's workers and the
// writer. It is guarded by the recorder's mutex while filled and owned by
// the writer while encoded.
type buffer struct {
	recs  []bufRec
	arena []byte
}

func newBuffer(records, arena int) *buffer {
	return &buffer{recs: make([]bufRec, 0, records), arena: make([]byte, 0, arena)}
}

func (b *buffer) reset() {
	b.recs = b.recs[:0]
	b.arena = b.arena[:0]
}

// timeNanos converts an event time to Unix nanoseconds; false for the zero
// time and times Unix nanoseconds cannot hold (outside 1678–2261).
func timeNanos(e *stream.Event) (int64, bool) {
	if e.Timestamp.IsZero() {
		return 0, false
	}
	if y := e.Timestamp.Year(); y < 1678 || y > 2261 {
		return 0, false
	}
	return e.Timestamp.UnixNano(), true
}

// stringsLen is the arena bytes e needs.
func stringsLen(e *stream.Event) int {
	return len(e.TenantID) + len(e.DeviceID) + len(e.DeviceName) + len(e.MachineGroup) +
		len(e.ProcessFileName) + len(e.ProcessFolderPath) + len(e.ProcessSHA256) +
		len(e.AccountName) + len(e.ActionType) + len(e.RemoteURL)
}

// add copies the kept fields of e. The caller checked stringsLen.
func (b *buffer) add(e *stream.Event) {
	r := bufRec{
		reportID: e.ReportID,
		port:     e.RemotePort,
		table:    e.Table,
		base:     uint32(len(b.arena)),
	}
	r.ts, r.hasTime = timeNanos(e)
	if ip := e.RemoteIP.Unmap(); ip.IsValid() {
		r.ip, r.ipLen = ip.As16(), uint8(ip.BitLen()/8)
	}
	for i, s := range [numStr]string{
		sTenant: e.TenantID, sDeviceID: e.DeviceID, sDeviceName: e.DeviceName, sGroup: e.MachineGroup,
		sProcName: e.ProcessFileName, sProcPath: e.ProcessFolderPath, sProcSHA: e.ProcessSHA256,
		sAccount: e.AccountName, sAction: e.ActionType, sURL: e.RemoteURL,
	} {
		b.arena = append(b.arena, s...)
		r.end[i] = uint32(len(b.arena))
	}
	b.recs = append(b.recs, r)
}

// str returns string i of r, aliasing the arena (valid until reset).
func (b *buffer) str(r *bufRec, i int) string {
	start := r.base
	if i > 0 {
		start = r.end[i-1]
	}
	n := r.end[i] - start
	if n == 0 {
		return ""
	}
	return unsafe.String(&b.arena[start], n)
}
