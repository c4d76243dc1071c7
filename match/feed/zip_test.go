package feed

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/match"
)

// zipEntry is one entry of an archive zipOf makes; a name ending in "/"
// is a directory, a mode with fs.ModeSymlink a symlink to content.
type zipEntry struct {
	name, content string
	mode          fs.FileMode
}

func zipOf(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.content == "" {
			h.Method = zip.Store // an empty file: no compressor to set up
		}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e.content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// feedBundle is an archive of three feeds in three formats, with what a
// zip made on a Mac or by hand also holds: directories, macOS metadata,
// a symlink.
func feedBundle(t *testing.T) []byte {
	return zipOf(t,
		zipEntry{name: "ips.txt", content: "203.0.113.7\n198.51.100.9\n"},
		zipEntry{name: "lists/"},
		zipEntry{name: "lists/domains.csv", content: "domain,description\nevil.example,c2 panel\n"},
		zipEntry{name: "lists/bundle.json", content: `{"type": "bundle", "id": "bundle--1", "objects": [
			{"type": "indicator", "spec_version": "2.1", "id": "indicator--6f1e5c2a-3f3c-4c39-9d86-1f7b1d8c9e01",
			 "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "valid_from": "2026-01-01T00:00:00Z",
			 "pattern_type": "stix", "pattern": "[url:value = 'http://bad.example/gate.php']"}]}`},
		zipEntry{name: "__MACOSX/._ips.txt", content: "\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        "},
		zipEntry{name: "lists/.DS_Store", content: "\x00\x00\x00\x01Bud1\x00\x00\x10\x00"},
		zipEntry{name: "latest.txt", content: "ips.txt", mode: fs.ModeSymlink | 0o777},
	)
}

// feedBundleValues are the values of feedBundle, one of each file.
var feedBundleValues = []string{"203.0.113.7", "198.51.100.9", "evil.example", "http://bad.example/gate.php"}

// A zip archive of several feeds loads every regular file in it, each
// read in its own format (detected from its name and first bytes), its
// indicators' origins naming the archive and the file. Directories,
// symlinks and macOS metadata are not feeds.
func TestEveryFileOfAZipArchiveIsLoaded(t *testing.T) {
	for _, src := range archiveSources(feedBundle(t)) {
		t.Run(src.name, func(t *testing.T) {
			h, u := newHarness(t, Options{Feeds: []Spec{src.spec(t)}})
			st := h.status("bundle")
			if st.LastError != nil || st.Total != len(feedBundleValues) {
				t.Fatalf("status: %d indicators, error %v; want %d", st.Total, st.LastError, len(feedBundleValues))
			}
			wantMatches(t, u.Index, feedBundleValues)
			if st.Format != "csv,stix2,text" {
				t.Errorf("format %q, want the formats of the files", st.Format)
			}
			origins := map[string]bool{}
			for _, ind := range u.Added() {
				origins[ind.Origin()] = true
			}
			for _, o := range []string{"bundle.zip!ips.txt:2", "bundle.zip!lists/domains.csv:2"} {
				if !originEndsWith(origins, o) {
					t.Errorf("no indicator from %s among %v", o, origins)
				}
			}
		})
	}
}

// archiveSource is one way feed "bundle" gets an archive: from a file or
// by a download.
type archiveSource struct {
	name string
	spec func(t *testing.T) Spec
}

// archiveSources are the ways feed "bundle" gets archive: "a file", a
// spec of a file holding it, and "a download", one of a server that
// serves it.
func archiveSources(archive []byte) []archiveSource {
	return []archiveSource{
		{"a file", func(t *testing.T) Spec {
			path := filepath.Join(t.TempDir(), "bundle.zip")
			writeFile(t, path, string(archive))
			return Spec{Name: "bundle", Type: TypeFile, Path: path}
		}},
		{"a download", func(t *testing.T) Spec {
			srv := newFeedServer(t, false)
			srv.set(func(w http.ResponseWriter, r *http.Request) { w.Write(archive) })
			return Spec{Name: "bundle", Type: TypeHTTP, URL: srv.URL + "/bundle.zip", Timeout: 2 * time.Second}
		}},
	}
}

// restartFromCache downloads archive as feed "bundle" (read with load)
// into a cache, then restarts with the server down, and returns the
// status and the first update of the restart: what the cached copy
// holds.
func restartFromCache(t *testing.T, archive []byte, load match.LoadOptions) (Status, *Update) {
	t.Helper()
	cache := t.TempDir()
	srv := newFeedServer(t, false)
	srv.set(func(w http.ResponseWriter, r *http.Request) { w.Write(archive) })
	spec := Spec{Name: "bundle", Type: TypeHTTP, URL: srv.URL + "/bundle.zip", Timeout: 2 * time.Second, Load: load}
	h, _ := newHarness(t, Options{Feeds: []Spec{spec}, CacheDir: cache})
	h.stop()

	srv.set(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) })
	h2, u := newHarness(t, Options{Feeds: []Spec{spec}, CacheDir: cache})
	return h2.status("bundle"), u
}

// oldZipCache returns the spec of a download of feed "bundle" from a
// server that answers with served, and a cache dir holding a copy of the
// archive of entries as a version from before the files left out of
// archives were all told apart wrote it: every file of the archive in
// its body, but those named in docs (documentation, which that version
// told apart), which the header's Docs names; an archive of one file in
// the body cached as one feed. The copy's ETag is "v1".
func oldZipCache(t *testing.T, served http.HandlerFunc, entries []zipEntry, docs []string) (spec Spec, dir string) {
	t.Helper()
	dir = t.TempDir()
	srv := newFeedServer(t, false)
	srv.set(served)
	spec = Spec{Name: "bundle", Type: TypeHTTP, URL: srv.URL + "/bundle.zip", Timeout: 2 * time.Second}
	var body []byte
	var files []cacheFile
	var docsOut []string
	for _, f := range entries {
		if slices.Contains(docs, f.name) {
			docsOut = append(docsOut, f.name)
			continue
		}
		body = append(body, f.content...)
		files = append(files, cacheFile{Name: f.name, Size: len(f.content)})
	}
	if len(files) == 1 {
		files = nil // one feed, as the version before cached it
	}
	shown, hash := cacheURL(spec.URL)
	hdr := cacheHeader{Feed: spec.Name, Type: TypeHTTP, URL: shown, URLHash: hash, ETag: `"v1"`, FetchedAt: time.Now().UTC(), Files: files, Docs: docsOut}
	if err := writeCache(dir, hdr, body); err != nil {
		t.Fatal(err)
	}
	return spec, dir
}

// decoded is the content of archive as decodeBody reads a download of
// it, within 1 MiB.
func decoded(t *testing.T, archive []byte) content {
	t.Helper()
	got, err := decodeBody(archive, "", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// partNames are the names of c's files, in archive order.
func partNames(c content) []string {
	var names []string
	for name := range c.parts {
		names = append(names, name)
	}
	return names
}

// wantMatches fails the test for each of values that ix does not match.
func wantMatches(t *testing.T, ix *match.Index, values []string) {
	t.Helper()
	for _, v := range values {
		if !matches(ix, v, time.Time{}) {
			t.Errorf("%s does not match", v)
		}
	}
}

func originEndsWith(origins map[string]bool, suffix string) bool {
	for o := range origins {
		if strings.HasSuffix(o, suffix) {
			return true
		}
	}
	return false
}

// A file of the archive that cannot be read fails the whole feed, which
// keeps its last good indicators: a shorter feed is never loaded. The
// error names the archive and the file.
func TestAZipArchiveWithAFileThatCannotBeReadFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bundle.zip")
	writeFile(t, path, string(zipOf(t, zipEntry{name: "ips.txt", content: "203.0.113.7\n"})))
	h, _ := newHarness(t, Options{Feeds: []Spec{{Name: "bundle", Type: TypeFile, Path: path}}})
	if st := h.status("bundle"); st.LastError != nil || st.Total != 1 {
		t.Fatalf("status %+v", st)
	}
	writeFile(t, path, string(zipOf(t,
		zipEntry{name: "ips.txt", content: "203.0.113.7\n198.51.100.9\n"},
		zipEntry{name: "export.json", content: `{"version": 3, "rows": []}`}, // neither STIX nor MISP
	)))
	u, err := h.m.Reload(t.Context())
	if err == nil || !strings.Contains(err.Error(), "bundle.zip!export.json") {
		t.Fatalf("reload error %v, want one naming the archive's file", err)
	}
	if u != nil {
		t.Errorf("a failed archive made an update (%d indicators)", u.Index.Len())
	}
	if st := h.status("bundle"); st.Total != 1 || st.LastError == nil {
		t.Errorf("status %+v: want the last good indicator and the error", st)
	}
}

// The cached copy of a downloaded archive keeps its files apart: a
// restart with the server down reads each in its own format again.
func TestAZipArchiveOfSeveralFilesRestartsFromTheCache(t *testing.T) {
	st, u := restartFromCache(t, feedBundle(t), match.LoadOptions{Format: match.FormatAuto})
	if !st.FromCache || st.Total != len(feedBundleValues) || st.Format != "csv,stix2,text" {
		t.Fatalf("from the cache: %d indicators, format %q, from cache %v; want %d", st.Total, st.Format, st.FromCache, len(feedBundleValues))
	}
	wantMatches(t, u.Index, feedBundleValues)
}

// decodeBody unpacks every regular file of a zip archive, in archive
// order, within max_bytes for them all; an archive of one file is that
// file's content, as before.
func TestDecodeBodyUnpacksEveryFileOfAZipArchive(t *testing.T) {
	type file struct{ name, content string }
	many := make([]zipEntry, maxZipFiles+1)
	for i := range many {
		many[i] = zipEntry{name: fmt.Sprintf("f%04d.txt", i)}
	}
	tests := []struct {
		name   string
		zip    []byte
		want   []file // nil: one feed, wantData
		data   string
		err    string
		tooBig bool
	}{
		{name: "several files, in archive order", zip: zipOf(t,
			zipEntry{name: "b.txt", content: "203.0.113.1\n"},
			zipEntry{name: "a/"},
			zipEntry{name: "a/c.csv", content: "ip\n203.0.113.2\n"},
			zipEntry{name: "empty.txt"}),
			want: []file{{"b.txt", "203.0.113.1\n"}, {"a/c.csv", "ip\n203.0.113.2\n"}, {"empty.txt", ""}}},
		{name: "directories, symlinks and macOS metadata are skipped", zip: feedBundle(t),
			want: []file{{"ips.txt", "203.0.113.7\n198.51.100.9\n"}, {"lists/domains.csv", "domain,description\nevil.example,c2 panel\n"}, {"lists/bundle.json", ""}}},
		{name: "one file left after the skipped ones is one feed", zip: zipOf(t,
			zipEntry{name: "__MACOSX/._c2.txt", content: "\x00\x05\x16\x07"},
			zipEntry{name: "c2.txt", content: "evil.example\n"},
			zipEntry{name: ".DS_Store", content: "\x00\x00\x00\x01Bud1"},
			zipEntry{name: "link.txt", content: "c2.txt", mode: fs.ModeSymlink | 0o777}),
			data: "evil.example\n"},
		{name: "only skipped entries fail", zip: zipOf(t,
			zipEntry{name: "d/"},
			zipEntry{name: "__MACOSX/d/._c2.txt", content: "x"},
			zipEntry{name: "link.txt", content: "c2.txt", mode: fs.ModeSymlink | 0o777}),
			err: "holds no file"},
		{name: "files over max_bytes together fail", zip: zipOf(t,
			zipEntry{name: "a.txt", content: strings.Repeat("a", 3000)},
			zipEntry{name: "b.txt", content: strings.Repeat("b", 3000)}),
			err: "2 files of 6000 bytes uncompressed together", tooBig: true},
		{name: "a file larger than the archive states fails", zip: understated(t,
			file{"a.txt", strings.Repeat("a", 3000)}, file{"b.txt", strings.Repeat("b", 3000)}),
			err: "a.txt: zip: not a valid zip file"},
		{name: "one file over max_bytes fails naming it", zip: zipOf(t,
			zipEntry{name: "a.txt", content: "203.0.113.1\n"},
			zipEntry{name: "big.txt", content: strings.Repeat("b", 5000)}),
			err: "big.txt: 5000 bytes uncompressed", tooBig: true},
		{name: "more files than a feed archive holds fail", zip: zipOf(t, many...), err: fmt.Sprintf("more than %d files", maxZipFiles)},
		// One level is unpacked. An archive or compressed file in the
		// archive would be read as lines of binary: refused as garbage,
		// or, by chance, an indicator, while the feed loads without its
		// content.
		{name: "a zip archive in the archive fails naming it", zip: zipOf(t,
			zipEntry{name: "ips.txt", content: "203.0.113.1\n"},
			zipEntry{name: "daily/2026-11-29.zip", content: string(zipOf(t, zipEntry{name: "ips.txt", content: "203.0.113.2\n"}))}),
			err: "daily/2026-11-29.zip: a zip archive inside the archive is not unpacked"},
		{name: "a gzip file in the archive fails naming it", zip: zipOf(t,
			zipEntry{name: "ips.txt", content: "203.0.113.1\n"},
			zipEntry{name: "more.txt.gz", content: string(gz(t, "203.0.113.2\n"))}),
			err: "more.txt.gz: a gzip file inside the archive is not unpacked"},
		{name: "a zstd file in the archive fails naming it", zip: zipOf(t,
			zipEntry{name: "ips.txt", content: "203.0.113.1\n"},
			zipEntry{name: "more.txt.zst", content: string(zst(t, "203.0.113.2\n"))}),
			err: "more.txt.zst: a zstd file inside the archive is not unpacked"},
		{name: "a compressed file alone in the archive fails naming it", zip: zipOf(t,
			zipEntry{name: "c2.txt.gz", content: string(gz(t, "203.0.113.2\n"))}),
			err: "c2.txt.gz: a gzip file inside the archive is not unpacked"},
		// Two entries of one name: an unzip keeps the last, so a file
		// updated by appending it again (Python's zipfile "a" mode) would
		// load its stale copy too, under the same origin.
		{name: "a name twice fails naming it", zip: zipOf(t,
			zipEntry{name: "ips.txt", content: "203.0.113.1\n"},
			zipEntry{name: "domains.txt", content: "evil.example\n"},
			zipEntry{name: "ips.txt", content: "203.0.113.2\n"}),
			err: "ips.txt: two entries of that name in the archive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeBody(tt.zip, "", 4096)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || errors.Is(err, errTooLarge) != tt.tooBig {
					t.Fatalf("err %v, want %q (too large: %v)", err, tt.err, tt.tooBig)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if got.files != nil || string(got.data) != tt.data {
					t.Fatalf("got %q in files %v, want one feed %q", got.data, got.files, tt.data)
				}
				return
			}
			var parts []file
			for name, data := range got.parts {
				parts = append(parts, file{name, string(data)})
			}
			if len(parts) != len(tt.want) {
				t.Fatalf("got files %q, want %q", parts, tt.want)
			}
			for i, w := range tt.want {
				if parts[i].name != w.name || (w.content != "" && parts[i].content != w.content) {
					t.Errorf("file %d: %q, want %q", i, parts[i], w)
				}
			}
		})
	}
}

// understated makes an archive whose headers state each file's size as
// 10 bytes, whatever it holds.
func understated(t *testing.T, files ...struct{ name, content string }) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, f := range files {
		w, err := zw.CreateRaw(&zip.FileHeader{Name: f.name, Method: zip.Store, CRC32: crc32.ChecksumIEEE([]byte(f.content)),
			CompressedSize64: uint64(len(f.content)), UncompressedSize64: 10})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(f.content))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The sum of content tells apart the same bytes cut into other files, and
// is the SHA-256 of the bytes of one feed (that of the cache files and
// versions written before archives had files).
func TestContentSumTellsTheFilesApart(t *testing.T) {
	data := []byte("203.0.113.1\n203.0.113.2\n")
	one := content{data: data}
	if one.sum() != sha256.Sum256(data) {
		t.Error("the sum of one feed is not the SHA-256 of its bytes")
	}
	sums := map[[32]byte]string{}
	for name, c := range map[string]content{
		"one feed":                             one,
		"two files cut at 12":                  {data: data, files: []archived{{"a.txt", 12}, {"b.txt", 12}}},
		"two files cut at 6":                   {data: data, files: []archived{{"a.txt", 6}, {"b.txt", 18}}},
		"two files named apart":                {data: data, files: []archived{{"a.txt", 12}, {"c.txt", 12}}},
		"a name that takes a byte of the size": {data: data, files: []archived{{"a.txt\x0c", 12}, {"b.txt", 12}}},
	} {
		if other, dup := sums[c.sum()]; dup {
			t.Errorf("%s and %s have the same sum", name, other)
		}
		sums[c.sum()] = name
	}
}

// The cache keeps the files of an archive apart, and refuses a header
// whose files do not add up to its body.
func TestTheCacheKeepsTheFilesOfAnArchive(t *testing.T) {
	dir := t.TempDir()
	c := content{data: []byte(goodFeed), files: []archived{{"a.txt", 13}, {"b.txt", 24}}}
	if err := writeCache(dir, cacheHeader{Feed: "bundle", Type: TypeHTTP, Files: cacheFiles(c)}, c.data); err != nil {
		t.Fatal(err)
	}
	e, err := readCache(dir, "bundle")
	if err != nil {
		t.Fatal(err)
	}
	if got := e.content(); string(got.data) != goodFeed || len(got.files) != 2 || got.files[1] != c.files[1] || e.hash != c.sum() {
		t.Fatalf("read back %+v, hash %x; want %+v", got, e.hash, c)
	}
	data, err := os.ReadFile(cachePath(dir, "bundle"))
	if err != nil {
		t.Fatal(err)
	}
	for name, files := range map[string]string{
		"files short of the body": `[{"name":"a.txt","size":13},{"name":"b.txt","size":20}]`,
		"files past the body":     `[{"name":"a.txt","size":13},{"name":"b.txt","size":30}]`,
		"a negative size":         `[{"name":"a.txt","size":-1},{"name":"b.txt","size":38}]`,
	} {
		bad := bytes.Replace(data, []byte(`[{"name":"a.txt","size":13},{"name":"b.txt","size":24}]`), []byte(files), 1)
		if bytes.Equal(bad, data) {
			t.Fatalf("%s: the header has no such files", name)
		}
		if _, err := parseCache(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	many := cacheHeader{Feed: "many", Type: TypeHTTP}
	for i := range maxZipFiles {
		many.Files = append(many.Files, cacheFile{Name: strings.Repeat("n", 200) + fmt.Sprint(i), Size: 0})
	}
	if err := writeCache(dir, many, nil); err == nil {
		t.Error("a header too long to be read back was written")
	}
}

// docBundle is an archive as feed publishers ship them: the feeds, and
// their documentation beside them.
func docBundle(t *testing.T) []byte {
	return zipOf(t,
		zipEntry{name: "README.md", content: "# C2 feed\n\nOne value a line. See https://feeds.example/terms for the terms.\n"},
		zipEntry{name: "ips.txt", content: "203.0.113.7\n198.51.100.9\n"},
		zipEntry{name: "LICENSE", content: "Creative Commons Legal Code\n\nCC0 1.0 Universal\n"},
		zipEntry{name: "lists/domains.csv", content: "domain,description\nevil.example,c2 panel\n"},
		zipEntry{name: "lists/readme.txt", content: "domains.csv: one domain a row\nupdated hourly\n"},
		zipEntry{name: "docs/feed-format.pdf", content: "%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"},
		zipEntry{name: "CHANGELOG.md", content: "## 2026-11-29\n- added lists/domains.csv\n"},
	)
}

// The documentation in an archive is not read as feeds: its lines would
// be refused as junk, or, a bare domain or URL in them, load. It is
// counted and named in the feed's status; the rest loads as before.
func TestTheDocumentationInAZipArchiveIsNotAFeed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bundle.zip")
	writeFile(t, path, string(docBundle(t)))
	h, u := newHarness(t, Options{Feeds: []Spec{{Name: "bundle", Type: TypeFile, Path: path}}})
	st := h.status("bundle")
	want := []string{"203.0.113.7", "198.51.100.9", "evil.example"}
	if st.LastError != nil || st.Total != len(want) || len(st.Refused) != 0 {
		t.Fatalf("status: %d indicators, error %v, refused %v; want %d, none refused", st.Total, st.LastError, st.Refused, len(want))
	}
	wantMatches(t, u.Index, want)
	if matches(u.Index, "feeds.example", time.Time{}) {
		t.Error("a name in the README loaded")
	}
	if st.Skipped != 5 || st.SkippedReasons["zip documentation file"] != 5 {
		t.Errorf("skipped %d %v, want 5 zip documentation files", st.Skipped, st.SkippedReasons)
	}
	note := "5 documentation files of the archive not read as feeds: README.md, LICENSE, lists/readme.txt, docs/feed-format.pdf and 1 more"
	if !slices.Contains(st.Notes, note) {
		t.Errorf("notes %q, want %q", st.Notes, note)
	}
}

// The count and the note survive a restart from the cached copy of a
// download.
func TestTheDocumentationOfACachedZipArchiveIsStillCounted(t *testing.T) {
	st, _ := restartFromCache(t, docBundle(t), match.LoadOptions{})
	if !st.FromCache || st.Total != 3 || len(st.Refused) != 0 || st.SkippedReasons["zip documentation file"] != 5 || len(st.Notes) != 1 {
		t.Fatalf("from the cache: %d indicators, refused %v, skipped %v, notes %q, from cache %v", st.Total, st.Refused, st.SkippedReasons, st.Notes, st.FromCache)
	}
}

// isDocumentation tells the documentation of an archive by its name
// alone: the usual names of a project's documents (README, LICENSE or
// LICENCE, NOTICE, COPYING, CHANGELOG, any extension, any case, and with
// a suffix after a '-', '_' or '.': LICENSE-MIT, README_FIRST.txt), and
// the extensions of documents that are never feeds (.md, .markdown, .rst,
// .pdf, .html, .htm, .rtf, .doc, .docx, .odt). Any other name is a feed.
func TestIsDocumentation(t *testing.T) {
	tests := []struct {
		name string
		doc  bool
	}{
		{"README", true}, {"README.md", true}, {"readme.txt", true}, {"ReadMe.TXT", true}, {"README_FIRST.txt", true},
		{"feeds/README.txt", true}, {"LICENSE", true}, {"LICENSE.txt", true}, {"LICENSE-MIT", true}, {"licence.md", true},
		{`lists\readme.txt`, true}, {`feeds\LICENSE`, true}, // a folder as Windows PowerShell's Compress-Archive writes it
		{"NOTICE", true}, {"COPYING", true}, {"COPYING.LESSER", true}, {"CHANGELOG.md", true}, {"changelog.txt", true},
		{"notes.md", true}, {"docs/guide.markdown", true}, {"api.rst", true}, {"report.pdf", true}, {"index.html", true},
		{"INDEX.HTM", true}, {"terms.rtf", true}, {"report.doc", true}, {"report.docx", true}, {"report.odt", true},
		// Feeds, whatever words their names hold.
		{"ips.txt", false}, {"domains.csv", false}, {"bundle.json", false}, {"c2", false}, {"readmes.txt", false},
		{"licensed-ips.txt", false}, {"notices.csv", false}, {"c2-readme.txt", false}, {"notes.txt", false},
		{"md5.txt", false}, {"urls.html.txt", false}, {"readme/ips.txt", false}, {`readme\ips.txt`, false}, {".md", false},
	}
	for _, tt := range tests {
		if got := isDocumentation(tt.name); got != tt.doc {
			t.Errorf("isDocumentation(%q) = %v, want %v", tt.name, got, tt.doc)
		}
	}
}

// decodeBody leaves the documentation out of an archive's files and
// names it; an archive of one feed and its documentation is that feed,
// and one of documentation only has no feed.
func TestDecodeBodyLeavesTheDocumentationOut(t *testing.T) {
	got := decoded(t, docBundle(t))
	names := partNames(got)
	if !slices.Equal(names, []string{"ips.txt", "lists/domains.csv"}) ||
		!slices.Equal(got.docs, []string{"README.md", "LICENSE", "lists/readme.txt", "docs/feed-format.pdf", "CHANGELOG.md"}) {
		t.Fatalf("files %q, documentation %q", names, got.docs)
	}

	one := decoded(t, zipOf(t, zipEntry{name: "README.txt", content: "evil.example is a sample\n"}, zipEntry{name: "c2.txt", content: "203.0.113.7\n"}))
	if one.files != nil || string(one.data) != "203.0.113.7\n" || !slices.Equal(one.docs, []string{"README.txt"}) {
		t.Fatalf("one feed: %q in files %v, documentation %q", one.data, one.files, one.docs)
	}

	_, err := decodeBody(zipOf(t, zipEntry{name: "README.md", content: "x"}, zipEntry{name: "LICENSE", content: "y"}), "", 1<<20)
	if err == nil || !strings.Contains(err.Error(), "archive holds no feed, only documentation: README.md, LICENSE") {
		t.Fatalf("err %v, want the documentation named", err)
	}

	// The documentation is part of what the content is: another README
	// is other content (the note names it).
	other := decoded(t, zipOf(t, zipEntry{name: "NOTICE", content: "evil.example is a sample\n"}, zipEntry{name: "c2.txt", content: "203.0.113.7\n"}))
	if other.sum() == one.sum() {
		t.Error("the same feed with other documentation has the same sum")
	}
	if (content{data: one.data}).sum() == one.sum() {
		t.Error("the feed with documentation has the sum of the feed alone")
	}
}

// noteDocumentation adds the documentation to what a parse skipped, and
// names it: all of it up to four names, else the first four and a count.
func TestNoteDocumentation(t *testing.T) {
	tests := []struct {
		docs []string
		note string
	}{
		{nil, ""},
		{[]string{"README.txt"}, "1 documentation file of the archive not read as a feed: README.txt"},
		{[]string{"README.md", "LICENSE"}, "2 documentation files of the archive not read as feeds: README.md, LICENSE"},
		{[]string{"a.md", "b.md", "c.md", "d.md", "e.md", "f.md"}, "6 documentation files of the archive not read as feeds: a.md, b.md, c.md, d.md and 2 more"},
	}
	for _, tt := range tests {
		res := &match.LoadResult{Skipped: 3, SkippedReasons: map[string]int{"misp type: md5": 3}, Notes: []string{"ips.csv: no header row: column 1 read as the value"}}
		noteDocumentation(res, tt.docs)
		wantNotes := []string{"ips.csv: no header row: column 1 read as the value"}
		if tt.note != "" {
			wantNotes = append(wantNotes, tt.note)
		}
		if res.Skipped != 3+len(tt.docs) || res.SkippedReasons["misp type: md5"] != 3 || res.SkippedReasons["zip documentation file"] != len(tt.docs) ||
			!slices.Equal(res.Notes, wantNotes) {
			t.Errorf("%q: skipped %d %v, notes %q; want notes %q", tt.docs, res.Skipped, res.SkippedReasons, res.Notes, wantNotes)
		}
	}
}

// A cached copy written before documentation was told apart holds the
// README among the archive's files. When the server confirms that copy
// (304) or is down, the README must not be read as a feed: its name
// would load as an indicator. The copy is read as the archive is now
// unpacked, with the sum a download of that archive has.
func TestACacheWrittenBeforeDocumentationWasToldApartLeavesItOut(t *testing.T) {
	tests := []struct {
		name   string
		files  []zipEntry
		served http.HandlerFunc
		loaded []string
		docs   []string
	}{
		{
			name:   "a 304 to the copy, two feeds",
			files:  []zipEntry{{name: "README.txt", content: "feeds.example\n"}, {name: "ips.txt", content: "203.0.113.7\n"}, {name: "domains.txt", content: "evil.example\n"}},
			served: serve("", `"v1"`),
			loaded: []string{"203.0.113.7", "evil.example"},
			docs:   []string{"README.txt"},
		},
		{
			name:   "a 304 to the copy, one feed",
			files:  []zipEntry{{name: "ips.txt", content: "203.0.113.7\n"}, {name: "LICENSE", content: "feeds.example\n"}},
			served: serve("", `"v1"`),
			loaded: []string{"203.0.113.7"},
			docs:   []string{"LICENSE"},
		},
		{
			name:   "the server down",
			files:  []zipEntry{{name: "README.txt", content: "feeds.example\n"}, {name: "ips.txt", content: "203.0.113.7\n"}, {name: "domains.txt", content: "evil.example\n"}},
			served: func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) },
			loaded: []string{"203.0.113.7", "evil.example"},
			docs:   []string{"README.txt"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The copy as the version before wrote it: every file of the
			// archive, documentation included, and no Docs.
			spec, cache := oldZipCache(t, tt.served, tt.files, nil)
			h, u := newHarness(t, Options{Feeds: []Spec{spec}, CacheDir: cache})
			st := h.status("bundle")
			if st.Total != len(tt.loaded) || len(st.Refused) != 0 || st.SkippedReasons[skipDocumentation] != len(tt.docs) {
				t.Fatalf("%d indicators, refused %v, skipped %v, notes %q; want %d, none refused, %d documentation files",
					st.Total, st.Refused, st.SkippedReasons, st.Notes, len(tt.loaded), len(tt.docs))
			}
			wantMatches(t, u.Index, tt.loaded)
			if matches(u.Index, "feeds.example", time.Time{}) {
				t.Error("the documentation's name loaded")
			}
			e, err := readCache(cache, spec.Name)
			if err != nil {
				t.Fatal(err)
			}
			got := decoded(t, zipOf(t, tt.files...))
			if e.hash != got.sum() || !slices.Equal(e.content().docs, tt.docs) {
				t.Errorf("the copy's sum %x, documentation %q; a download of the archive has %x, %q", e.hash, e.content().docs, got.sum(), got.docs)
			}
		})
	}
}
