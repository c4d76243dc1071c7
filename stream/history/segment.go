package history

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// An index file (<segment>.idx) is written when a segment is sealed: the
// segment's summary, so that Open need not parse the segment.
//
//	"IOCWHX01" · first sequence number (uint64 LE)
//	uvarint records · varint minTs · varint maxTs · varint recordedFrom ·
//	varint recordedUntil · uvarint segment file size
//	CRC-32C of all the above (uint32 LE)
//
// It is derived data: a missing or damaged index, or one whose size does
// not match its segment, is rebuilt from the segment.
const (
	idxMagic = "IOCWHX01"
	logExt   = ".log"
	idxExt   = ".idx"
	lockName = "LOCK"
	// knownName holds the values of the indicators already hunted.
	knownName = "indicators.known"
)

// segMeta describes one segment file. Plain data.
type segMeta struct {
	firstSeq uint64
	count    uint64
	// minTs and maxTs bound the event times (Unix ns); hasTime is false
	// when no observation had one.
	minTs, maxTs int64
	hasTime      bool
	// recFrom and recUntil are when the first and last blocks were
	// written (Unix ns).
	recFrom, recUntil int64
	logSize           int64
	idxSize           int64
	sealed            bool
}

func segBase(firstSeq uint64) string { return fmt.Sprintf("%016x", firstSeq) }

func (m *segMeta) logPath(dir string) string { return filepath.Join(dir, segBase(m.firstSeq)+logExt) }
func (m *segMeta) idxPath(dir string) string { return filepath.Join(dir, segBase(m.firstSeq)+idxExt) }
func (m *segMeta) bytes() int64              { return m.logSize + m.idxSize }

// addBlock folds one block into the segment's summary.
func (m *segMeta) addBlock(bi *blockInfo) {
	if m.count == 0 && m.recFrom == 0 {
		m.recFrom = bi.recordedAt
	}
	m.recUntil = max(m.recUntil, bi.recordedAt)
	m.count += uint64(bi.n)
	if bi.hasTime {
		if !m.hasTime || bi.minTs < m.minTs {
			m.minTs = bi.minTs
		}
		if !m.hasTime || bi.maxTs > m.maxTs {
			m.maxTs = bi.maxTs
		}
		m.hasTime = true
	}
}

// listSegments returns the first sequence numbers of the segment files in
// dir, in order.
func listSegments(dir string) ([]uint64, error) {
	ents, err := readDir(dir)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	var seqs []uint64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), logExt)
		if !ok || len(name) != 16 || !e.Type().IsRegular() {
			continue
		}
		seq, err := strconv.ParseUint(name, 16, 64)
		if err != nil {
			continue
		}
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	return seqs, nil
}

// encodeIdx returns the index file of a sealed segment.
func encodeIdx(m *segMeta) []byte {
	b := make([]byte, 0, 64)
	b = append(b, idxMagic...)
	b = binary.LittleEndian.AppendUint64(b, m.firstSeq)
	b = binary.AppendUvarint(b, m.count)
	minTs, maxTs := m.minTs, m.maxTs
	if !m.hasTime {
		// An empty range (max < min) says "no time".
		minTs, maxTs = 1, 0
	}
	b = binary.AppendVarint(b, minTs)
	b = binary.AppendVarint(b, maxTs)
	b = binary.AppendVarint(b, m.recFrom)
	b = binary.AppendVarint(b, m.recUntil)
	b = binary.AppendUvarint(b, uint64(m.logSize))
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
}

// decodeIdx parses an index file. name is for errors.
func decodeIdx(data []byte, name string) (segMeta, error) {
	bad := func(msg string) error { return fmt.Errorf("history: index %s: %s", name, msg) }
	if len(data) < len(idxMagic)+8+4 || string(data[:len(idxMagic)]) != idxMagic {
		return segMeta{}, bad("bad header")
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, crcTable) != binary.LittleEndian.Uint32(data[len(data)-4:]) {
		return segMeta{}, bad("checksum mismatch")
	}
	m := segMeta{sealed: true, idxSize: int64(len(data))}
	m.firstSeq = binary.LittleEndian.Uint64(data[len(idxMagic):])
	r := reader{b: body, i: len(idxMagic) + 8}
	m.count = r.uvarint()
	m.minTs, m.maxTs = r.varint(), r.varint()
	m.hasTime = m.maxTs >= m.minTs
	if !m.hasTime {
		m.minTs, m.maxTs = 0, 0
	}
	m.recFrom, m.recUntil = r.varint(), r.varint()
	size := r.uvarint()
	if r.err != "" {
		return segMeta{}, bad(r.err)
	}
	if size > 1<<62 {
		return segMeta{}, bad("segment size out of range")
	}
	if r.i != len(body) {
		return segMeta{}, bad("trailing bytes")
	}
	m.logSize = int64(size)
	return m, nil
}

// writeFileAtomic writes data to path through a temporary file and a
// rename, so that readers see the old file or the new one.
func writeFileAtomic(path string, data []byte, sync bool) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if sync {
		if err := f.Sync(); err != nil {
			f.Close()
			os.Remove(tmp)
			return err
		}
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// readFileInto reads at most limit bytes of path into buf (reused),
// returning ErrNotExist-wrapping errors unchanged.
func readFileInto(path string, buf []byte, limit int64) ([]byte, error) {
	f, err := openFile(path)
	if err != nil {
		return buf, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return buf, err
	}
	n := st.Size()
	if limit >= 0 && n > limit {
		n = limit
	}
	if int64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	m, err := io.ReadFull(f, buf)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		// Truncated meanwhile (a writer recovering it): what was read is
		// all there is.
		return buf[:m], nil
	}
	return buf, err
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// readDir and openFile are how a history lists its directory and opens
// files to read: tests replace them to make the failures that running as
// root cannot (a directory or segment iocwatch may not read).
var (
	readDir  = os.ReadDir
	openFile = os.Open
)
