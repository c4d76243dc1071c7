package feed

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/iocwatch/iocwatch/match"
)

// cacheVersion is the version of the cache file layout.
const cacheVersion = 1

// maxCacheHeader bounds the JSON header line of a cache file.
const maxCacheHeader = 64 << 10

// cacheHeader is the first line of a cache file: what the body is and the
// validators to send with the next conditional request.
type cacheHeader struct {
	Version int    `json:"v"`
	Feed    string `json:"feed"`
	Type    string `json:"type"`
	// URL is the feed's URL with its credentials (a password, key= or
	// auth= values) redacted, for a reader of the file; URLHash, the
	// SHA-256 of the URL as configured, is what a cache is matched by.
	// A cache written before URLHash existed has the URL as configured.
	URL          string    `json:"url"`
	URLHash      string    `json:"url_sha256,omitempty"`
	Collection   string    `json:"collection,omitempty"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	FetchedAt    time.Time `json:"fetched_at"`
	Size         int64     `json:"size"`
	SHA256       string    `json:"sha256"`
	// AddedAfter is the TAXII cursor (X-TAXII-Date-Added-Last).
	AddedAfter string `json:"added_after,omitempty"`
	// Indicators is how many indicators the copy listed (http feeds): at
	// a restart, the shrink guard measures a download against it.
	Indicators int `json:"indicators,omitempty"`
	// Files are the files of a zip archive of several (http feeds), in
	// order: the body is their contents back to back, each read as a
	// feed of its own.
	Files []cacheFile `json:"files,omitempty"`
	// Docs names the documentation of a zip archive (http feeds), which
	// the body leaves out: a restart from the copy counts it again.
	Docs []string `json:"docs,omitempty"`
	// Checksums names the checksum and signature files of a zip archive
	// (http feeds), which the body leaves out, as Docs.
	Checksums []string `json:"checksums,omitempty"`
}

// cacheFile is one file of an archive in a cache file's body.
type cacheFile struct {
	Name string `json:"name"`
	Size int    `json:"size"`
}

// cacheEntry is a cache file read back.
type cacheEntry struct {
	hdr  cacheHeader
	body []byte
	hash [32]byte // content().sum()
	// mtime is the file's modification time: the header's FetchedAt when
	// it was written, moved forward each time a fetch confirmed the copy
	// unchanged (touchCache). Zero when unknown.
	mtime time.Time
}

// vouchedAt is when the origin last vouched for the cached copy: the
// later of its download (FetchedAt) and its last confirmation (the
// file's mtime, ignored when it is after now: a clock that went back, or
// a copy of the file).
func (e *cacheEntry) vouchedAt(now time.Time) time.Time {
	t := e.hdr.FetchedAt
	if e.mtime.After(t) && !e.mtime.After(now) {
		t = e.mtime
	}
	return t
}

// content is the feed content the body holds: one feed, or the files of
// an archive (hdr.Files), with the archive's documentation (hdr.Docs) and
// checksum and signature files (hdr.Checksums).
func (e *cacheEntry) content() content {
	c := content{data: e.body, docs: e.hdr.Docs, sums: e.hdr.Checksums}
	for _, f := range e.hdr.Files {
		c.files = append(c.files, archived{name: f.Name, size: f.Size})
	}
	return c
}

// cacheFiles describes the files of c for a cache header; nil for the
// content of one feed.
func cacheFiles(c content) []cacheFile {
	var files []cacheFile
	for _, f := range c.files {
		files = append(files, cacheFile{Name: f.name, Size: f.size})
	}
	return files
}

// cachePath is where a feed's last good copy lives.
func cachePath(dir, name string) string {
	return filepath.Join(dir, cacheName(name)+".cache")
}

// retainedPath is where a TTL feed keeps the values it no longer lists.
func retainedPath(dir, name string) string {
	return filepath.Join(dir, cacheName(name)+".retained.jsonl")
}

// writeCache stores body with its header atomically (temp file, fsync,
// rename): a reader sees the old copy or the new one, never a mix.
func writeCache(dir string, hdr cacheHeader, body []byte) error {
	sum := sha256.Sum256(body)
	hdr.Version = cacheVersion
	hdr.Size = int64(len(body))
	hdr.SHA256 = hex.EncodeToString(sum[:])
	line, err := json.Marshal(hdr)
	if err != nil {
		return err
	}
	if len(line) > maxCacheHeader {
		// It could not be read back (the names of many files).
		return fmt.Errorf("cache header of %d bytes (%d file names), over %d", len(line), len(hdr.Files), maxCacheHeader)
	}
	path := cachePath(dir, hdr.Feed)
	err = writeAtomic(path, func(w io.Writer) error {
		if _, err := w.Write(append(line, '\n')); err != nil {
			return err
		}
		_, err := w.Write(body)
		return err
	})
	if err == nil && !hdr.FetchedAt.IsZero() {
		err = touchCache(dir, hdr.Feed, hdr.FetchedAt)
	}
	return err
}

// touchCache records that the origin vouched for a feed's cached copy at
// t (a 304, or the same content again): the file's mtime is set to t, so
// that a restart from the copy knows how old it really is without
// rewriting the body at every confirmation.
func touchCache(dir, name string, t time.Time) error {
	return os.Chtimes(cachePath(dir, name), time.Time{}, t)
}

// readCache reads a feed's cache file. A missing file is (nil, nil).
func readCache(dir, name string) (*cacheEntry, error) {
	path := cachePath(dir, name)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	e, err := parseCache(data)
	if err != nil {
		return nil, fmt.Errorf("cache %s: %w", path, err)
	}
	if fi, err := os.Stat(path); err == nil {
		e.mtime = fi.ModTime()
	}
	return e, nil
}

// parseCache splits a cache file into its header and body and checks the
// body against the header's size and SHA-256. It never panics on input.
func parseCache(data []byte) (*cacheEntry, error) {
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 || nl > maxCacheHeader {
		return nil, errors.New("no header line")
	}
	var e cacheEntry
	if err := json.Unmarshal(data[:nl], &e.hdr); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if e.hdr.Version != cacheVersion {
		return nil, fmt.Errorf("header: version %d, want %d", e.hdr.Version, cacheVersion)
	}
	e.body = data[nl+1:]
	if int64(len(e.body)) != e.hdr.Size {
		return nil, fmt.Errorf("body of %d bytes, header says %d (truncated copy)", len(e.body), e.hdr.Size)
	}
	if sum := sha256.Sum256(e.body); hex.EncodeToString(sum[:]) != e.hdr.SHA256 {
		return nil, errors.New("body does not match its SHA-256")
	}
	if len(e.hdr.Files) > 0 {
		n := 0
		for _, f := range e.hdr.Files {
			if f.Size < 0 || f.Size > len(e.body)-n {
				return nil, fmt.Errorf("header: file %q of %d bytes past the body's %d", f.Name, f.Size, len(e.body))
			}
			n += f.Size
		}
		if n != len(e.body) {
			return nil, fmt.Errorf("header: files of %d bytes together, the body has %d", n, len(e.body))
		}
		e.leaveOut()
	}
	e.hash = e.content().sum()
	return &e, nil
}

// leaveOut reads a copy written before unzip told some files of an
// archive apart as unzip reads the archive now: its documentation (a copy
// from before Docs) and its checksum and signature files (a copy from
// before Checksums) are among its Files; they are named in Docs and
// Checksums, in archive order as unzip names them, and left out of the
// body, one remaining file the feed itself. Without it a 304 to the copy,
// or a start from it, would read a README or a SHA256SUMS as a feed until
// the archive changes. A copy whose files would all be left out is left
// as it is: unzip refuses such an archive, and the copy was the feed. A
// copy written since has no such file: leaveOut leaves it as it is.
func (e *cacheEntry) leaveOut() {
	var docs, sums []string
	for _, f := range e.hdr.Files {
		switch {
		case isDocumentation(f.Name):
			docs = append(docs, f.Name)
		case isChecksumOrSignature(f.Name):
			sums = append(sums, f.Name)
		}
	}
	if left := len(docs) + len(sums); left == 0 || left == len(e.hdr.Files) {
		return
	}
	files := make([]cacheFile, 0, len(e.hdr.Files)-len(docs)-len(sums))
	body := make([]byte, 0, len(e.body))
	at := 0
	for _, f := range e.hdr.Files {
		if !isDocumentation(f.Name) && !isChecksumOrSignature(f.Name) {
			files = append(files, f)
			body = append(body, e.body[at:at+f.Size]...)
		}
		at += f.Size
	}
	if len(files) == 1 {
		files = nil // one feed, as unzip returns an archive of one file
	}
	e.hdr.Files, e.body = files, body
	e.hdr.Docs = append(e.hdr.Docs, docs...)
	e.hdr.Checksums = append(e.hdr.Checksums, sums...)
}

// writeAtomic writes a file through a temporary file in the same
// directory, synced and renamed over path.
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 256<<10)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// retainedRecord is one line of a retained file: a value a TTL feed no
// longer lists, with its metadata and when it was last seen.
type retainedRecord struct {
	Kind        string    `json:"kind"`
	Value       string    `json:"value"`
	LastSeen    time.Time `json:"last_seen"`
	Source      string    `json:"source,omitempty"`
	Severity    string    `json:"severity,omitempty"`
	Confidence  int       `json:"confidence,omitempty"`
	Tags        []string  `json:"tags,omitempty"`
	Description string    `json:"description,omitempty"`
	Reference   string    `json:"reference,omitempty"`
	ValidFrom   time.Time `json:"valid_from,omitzero"`
	ValidUntil  time.Time `json:"valid_until,omitzero"`
	Origin      string    `json:"origin,omitempty"`
}

// writeRetained stores a TTL feed's retained values (one JSON line each).
func writeRetained(dir, name string, ret map[ikey]retained) error {
	return writeAtomic(retainedPath(dir, name), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		for _, r := range ret {
			ind := r.ind
			rec := retainedRecord{
				Kind: ind.Kind.String(), Value: ind.Value, LastSeen: r.lastSeen.UTC(),
				Source: ind.Meta.Source, Severity: ind.Meta.Severity, Confidence: ind.Meta.Confidence, Tags: ind.Meta.Tags,
				Description: ind.Meta.Description, Reference: ind.Meta.Reference,
				ValidFrom: ind.Meta.ValidFrom, ValidUntil: ind.Meta.ValidUntil, Origin: ind.Origin(),
			}
			if err := enc.Encode(&rec); err != nil {
				return err
			}
		}
		return nil
	})
}

// readRetained reads a retained file back; a missing file is empty. Lines
// that do not parse are skipped and counted in the error.
func readRetained(dir, name string) (map[ikey]retained, error) {
	f, err := os.Open(retainedPath(dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseRetained(f)
}

// parseRetained reads retained records, one JSON object a line. It never
// panics on input; bad lines are left out and reported in the error.
func parseRetained(r io.Reader) (map[ikey]retained, error) {
	out := map[ikey]retained{}
	metas := retainedMetas{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	bad, line := 0, 0
	var firstBad error
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var rec retainedRecord
		err := json.Unmarshal(sc.Bytes(), &rec)
		var kind match.Kind
		if err == nil {
			kind, err = match.ParseKind(rec.Kind)
		}
		if err == nil {
			err = checkCanonical(kind, rec.Value)
		}
		if err != nil {
			if bad == 0 {
				firstBad = fmt.Errorf("line %d: %w", line, err)
			}
			bad++
			continue
		}
		ind := &match.Indicator{Kind: kind, Value: rec.Value}
		ind.Meta, ind.Line = metas.meta(&rec)
		out[ikey{kind, rec.Value}] = retained{ind: ind, lastSeen: rec.LastSeen}
	}
	if err := sc.Err(); err != nil {
		return out, err
	}
	if bad > 0 {
		return out, fmt.Errorf("%d bad lines, first %w", bad, firstBad)
	}
	return out, nil
}

// checkCanonical refuses a value that is not in the canonical form Load
// gives (a cache file edited by hand must not break the index build).
func checkCanonical(kind match.Kind, value string) error {
	if kind == match.KindPattern {
		if value == "" || value != strings.ToLower(strings.TrimSpace(value)) {
			return fmt.Errorf("pattern %q is not canonical", value)
		}
		return nil
	}
	k, v, err := match.ParseValue(value)
	if err != nil {
		return err
	}
	if k != kind || v != value {
		return fmt.Errorf("%s %q is not canonical (reads as %s %q)", kind, value, k, v)
	}
	return nil
}

// retainedMetas shares one Meta among the retained records with the same
// metadata, as Load does among the lines of a feed.
type retainedMetas map[retainedMetaKey]*match.Meta

type retainedMetaKey struct {
	source, severity, tags, description, reference, where string
	confidence                                            int
	validFrom, validUntil                                 time.Time
}

// meta returns the record's shared Meta and its line: an origin
// "name:14" is Where "name" and line 14.
func (rm retainedMetas) meta(rec *retainedRecord) (*match.Meta, uint32) {
	where, line := rec.Origin, uint32(0)
	if i := strings.LastIndexByte(where, ':'); i >= 0 {
		if n, err := strconv.ParseUint(where[i+1:], 10, 32); err == nil && n > 0 {
			where, line = where[:i], uint32(n)
		}
	}
	k := retainedMetaKey{rec.Source, rec.Severity, strings.Join(rec.Tags, "\x00"), rec.Description, rec.Reference, where,
		rec.Confidence, rec.ValidFrom, rec.ValidUntil}
	m, ok := rm[k]
	if !ok {
		m = &match.Meta{Source: rec.Source, Severity: rec.Severity, Confidence: rec.Confidence, Tags: rec.Tags,
			Description: rec.Description, Reference: rec.Reference, ValidFrom: rec.ValidFrom, ValidUntil: rec.ValidUntil, Where: where}
		rm[k] = m
	}
	return m, line
}

// cacheURL returns the URL and URLHash fields of a cache header for the
// feed URL u.
func cacheURL(u string) (shown, hash string) {
	sum := sha256.Sum256([]byte(u))
	return redactURL(u), hex.EncodeToString(sum[:])
}

// forURL reports whether the cache header h was written for the feed URL u.
func (h *cacheHeader) forURL(u string) bool {
	if h.URLHash == "" {
		return h.URL == u // written before URLHash
	}
	_, hash := cacheURL(u)
	return h.URLHash == hash
}
