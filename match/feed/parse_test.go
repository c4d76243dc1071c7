package feed

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/iocwatch/iocwatch/internal/decompress"
	"github.com/iocwatch/iocwatch/match"
)

func TestDecodeBody(t *testing.T) {
	plain := "203.0.113.1\n"
	tests := []struct {
		name     string
		raw      []byte
		encoding string
		want     string
		err      string
	}{
		{"a plain body is kept", []byte(plain), "", plain, ""},
		{"identity encoding is plain", []byte(plain), "identity", plain, ""},
		{"gzip encoding is undone", gz(t, plain), "gzip", plain, ""},
		{"a gzip file is unpacked", gz(t, plain), "", plain, ""},
		{"two gzip members are one stream", append(gz(t, "a\n"), gz(t, "b\n")...), "", "a\nb\n", ""},
		{"a zip archive of one file gives it", zipped(t, "x/feed.txt", plain), "", plain, ""},
		{"brotli is refused", []byte(plain), "br", "", "unsupported Content-Encoding"},
		{"a gzip encoding that is not gzip fails", []byte(plain), "gzip", "", "Content-Encoding gzip"},
		{"a truncated gzip file fails", gz(t, strings.Repeat(plain, 100))[:30], "", "", "truncated"},
		{"a zip archive of folders only fails", dirsOnlyZip(t), "", "", "holds no file"},
		{"a bomb over the limit fails", gz(t, strings.Repeat("x", 5000)), "", "", "larger than max_bytes"},
		{"a zip entry over the limit fails", zipped(t, "big.txt", strings.Repeat("x", 5000)), "", "", "larger than max_bytes"},
		{"zstd encoding is undone", zst(t, plain), "zstd", plain, ""},
		{"a zstd file is unpacked", zst(t, plain), "", plain, ""},
		{"two zstd frames are one stream", append(zst(t, "a\n"), zst(t, "b\n")...), "", "a\nb\n", ""},
		{"gzip in transit of a zstd file", gz(t, string(zst(t, plain))), "gzip", plain, ""},
		{"a zstd encoding that is not zstd fails", []byte(plain), "zstd", "", "Content-Encoding zstd"},
		{"a truncated zstd file fails", zst(t, strings.Repeat(plain, 100))[:20], "", "", "truncated"},
		{"a zstd bomb over the limit fails", zst(t, strings.Repeat("x", 5000)), "", "", "larger than max_bytes"},
		{"a zstd frame asking for a 256 MiB window fails", []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x90, 0x01, 0x00, 0x00}, "", "", "window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeBody(tt.raw, tt.encoding, 4096)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || string(got.data) != tt.want || got.files != nil {
				t.Fatalf("got %q (files %v), %v; want %q", got.data, got.files, err, tt.want)
			}
		})
	}
}

// looksPacked reports whether decodeBody would unpack raw as a file: it
// starts with the magic of gzip, zip or zstd.
func looksPacked(raw []byte) bool {
	return bytes.HasPrefix(raw, gzipMagic) || bytes.HasPrefix(raw, zipMagic) || decompress.Sniff(raw) != decompress.None
}

func zst(t *testing.T, s string) []byte {
	var b bytes.Buffer
	zw, err := zstd.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func dirsOnlyZip(t *testing.T) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	zw.Create("a/")
	zw.Create("a/b/")
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// FuzzDecodeBody: no panic, nothing over the limit, and gzip round-trips.
func FuzzDecodeBody(f *testing.F) {
	f.Add([]byte("203.0.113.1\n"), "")                      // plain
	f.Add([]byte("\x1f\x8b\x08\x00\x00\x00\x00\x00"), "")   // a gzip header cut short
	f.Add([]byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), "") // a zip header cut short
	f.Add([]byte("abc"), "gzip")                            // not gzip at all
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte("evil.example\n"))
	zw.Close()
	f.Add(b.Bytes(), "gzip")                                                                                                      // gzip in transit of gzip content: one level each
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x90, 0x01, 0x00, 0x00}, "")                                                       // a zstd frame with a huge window
	f.Add([]byte("(\xb5/\xfd"), "zstd")                                                                                           // a zstd magic alone
	f.Add(zipOf(f, zipEntry{name: "a.txt", content: "203.0.113.1\n"}, zipEntry{name: "b.csv", content: "ip\n203.0.113.2\n"}), "") // the files of an archive
	f.Fuzz(func(t *testing.T, raw []byte, enc string) {
		const max = 1 << 16
		out, err := decodeBody(raw, enc, max)
		if err == nil && len(out.data) > max {
			t.Fatalf("%d bytes out, limit %d", len(out.data), max)
		}
		n := 0
		for _, data := range out.parts {
			n += len(data)
		}
		if n != len(out.data) {
			t.Fatalf("the parts hold %d bytes of %d", n, len(out.data))
		}
		if enc == "" && len(raw) <= max && !looksPacked(raw) {
			if err != nil || !bytes.Equal(out.data, raw) || out.files != nil {
				t.Fatalf("plain body changed: %v", err)
			}
		}
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(raw)
		zw.Close()
		if back, err := decodeBody(z.Bytes(), "gzip", max); len(raw) <= max && !looksPacked(raw) && (err != nil || !bytes.Equal(back.data, raw)) {
			t.Fatalf("gzip round trip: %v", err)
		}
	})
}

func TestTheCacheFileRoundTripsAndRefusesDamage(t *testing.T) {
	dir := t.TempDir()
	hdr := cacheHeader{Feed: "c2", Type: TypeHTTP, URL: "https://x.example/f", ETag: `"e"`, FetchedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if err := writeCache(dir, hdr, []byte(goodFeed)); err != nil {
		t.Fatal(err)
	}
	e, err := readCache(dir, "c2")
	if err != nil || string(e.body) != goodFeed || e.hdr.ETag != `"e"` || !e.hdr.FetchedAt.Equal(hdr.FetchedAt) {
		t.Fatalf("read back %+v, %v", e, err)
	}
	if e, err := readCache(dir, "other"); e != nil || err != nil {
		t.Errorf("a missing cache: %v %v", e, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the temporary file was left behind: %v", entries)
	}
	data, _ := os.ReadFile(cachePath(dir, "c2"))
	damage := map[string][]byte{
		"truncated":         data[:len(data)-1],
		"a changed byte":    bytes.Replace(data, []byte("c2.example"), []byte("c3.example"), 1),
		"no header":         []byte(goodFeed),
		"another version":   bytes.Replace(data, []byte(`"v":1`), []byte(`"v":9`), 1),
		"a header not JSON": append([]byte("{oops\n"), goodFeed...),
	}
	for name, d := range damage {
		if _, err := parseCache(d); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzParseCache: no panic; what is accepted matches its checksum.
func FuzzParseCache(f *testing.F) {
	dir := f.TempDir()
	writeCache(dir, cacheHeader{Feed: "seed", Type: TypeHTTP}, []byte(goodFeed))
	seed, _ := os.ReadFile(cachePath(dir, "seed"))
	f.Add(seed)                              // a good file
	f.Add(seed[:len(seed)/2])                // cut short
	f.Add([]byte("{}\n"))                    // version 0
	f.Add([]byte(`{"v":1,"size":0}` + "\n")) // no checksum
	writeCache(dir, cacheHeader{Feed: "files", Type: TypeHTTP, Files: []cacheFile{{"a.txt", 12}, {"b.txt", 25}}}, []byte(goodFeed))
	files, _ := os.ReadFile(cachePath(dir, "files"))
	f.Add(files) // the files of an archive
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := parseCache(data)
		if err != nil {
			return
		}
		if int64(len(e.body)) != e.hdr.Size {
			t.Fatalf("accepted a body of %d bytes for size %d", len(e.body), e.hdr.Size)
		}
		n := 0
		for _, part := range e.content().parts {
			n += len(part)
		}
		if n != len(e.body) {
			t.Fatalf("the files of the body hold %d bytes of %d", n, len(e.body))
		}
	})
}

func TestRetainedValuesRoundTripAndRefuseNonCanonicalOnes(t *testing.T) {
	dir := t.TempDir()
	seen := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	in := map[ikey]retained{
		{match.KindIP, "203.0.113.1"}:       {ind: &match.Indicator{Kind: match.KindIP, Value: "203.0.113.1", Meta: &match.Meta{Source: "s", Tags: []string{"c2"}}}, lastSeen: seen},
		{match.KindDomain, "evil.example"}:  {ind: &match.Indicator{Kind: match.KindDomain, Value: "evil.example", Meta: &match.Meta{ValidUntil: seen.Add(time.Hour)}}, lastSeen: seen},
		{match.KindPattern, "/gate.php?id"}: {ind: &match.Indicator{Kind: match.KindPattern, Value: "/gate.php?id", Meta: &match.Meta{}}, lastSeen: seen},
	}
	if err := writeRetained(dir, "f", in); err != nil {
		t.Fatal(err)
	}
	out, err := readRetained(dir, "f")
	if err != nil || len(out) != 3 {
		t.Fatalf("%d read back, %v", len(out), err)
	}
	r := out[ikey{match.KindDomain, "evil.example"}]
	if !r.lastSeen.Equal(seen) || !r.ind.Meta.ValidUntil.Equal(seen.Add(time.Hour)) {
		t.Errorf("read back %+v", r)
	}
	bad := `{"kind":"domain","value":"Evil.Example","last_seen":"2026-01-01T00:00:00Z"}` + "\n" +
		`{"kind":"ip","value":"10.0.0.999","last_seen":"2026-01-01T00:00:00Z"}` + "\n" +
		`{"kind":"nope","value":"x","last_seen":"2026-01-01T00:00:00Z"}` + "\n" + `not json` + "\n"
	out, err = parseRetained(strings.NewReader(bad))
	if len(out) != 0 || err == nil || !strings.Contains(err.Error(), "4 bad lines") {
		t.Errorf("non-canonical values: %d kept, %v", len(out), err)
	}
}

// FuzzParseRetained: no panic; every value kept builds into an index.
func FuzzParseRetained(f *testing.F) {
	f.Add(`{"kind":"ip","value":"203.0.113.1","last_seen":"2026-01-01T00:00:00Z"}`)
	f.Add(`{"kind":"url","value":"http://evil.example/a*","last_seen":"2026-01-01T00:00:00Z"}`)
	f.Add(`{"kind":"pattern","value":"  X","last_seen":"2026-01-01T00:00:00Z"}`) // not canonical
	f.Add("{\"kind\":\"cidr\",\"value\":\"198.51.100.0/24\"}\n\n{")
	f.Fuzz(func(t *testing.T, data string) {
		out, _ := parseRetained(strings.NewReader(data))
		var inds []*match.Indicator
		for _, r := range out {
			inds = append(inds, r.ind)
		}
		if _, err := match.Build(inds, match.BuildOptions{}); err != nil {
			t.Fatalf("kept values that do not build: %v", err)
		}
	})
}

func TestParseEnvelope(t *testing.T) {
	env, err := parseEnvelope([]byte(`{"more":true,"next":"2","objects":[{"type":"indicator","id":"indicator--1"}]}`))
	if err != nil || !env.More || env.Next != "2" || len(env.Objects) != 1 {
		t.Errorf("%+v %v", env, err)
	}
	if env, err := parseEnvelope(nil); err != nil || env.More || len(env.Objects) != 0 {
		t.Errorf("an empty body is an empty envelope: %+v %v", env, err)
	}
	if _, err := parseEnvelope([]byte(`<html>`)); err == nil {
		t.Error("HTML accepted as an envelope")
	}
}

// FuzzParseEnvelope: no panic; objects merge into a store whose bundle
// is valid JSON.
func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte(`{"more":false,"objects":[{"type":"indicator","id":"indicator--1","modified":"2026-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"objects":[{"id":"x"},{"type":"t"},1,"s",null]}`)) // objects without id or type
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := parseEnvelope(data)
		if err != nil {
			return
		}
		s := &taxiiStore{objects: map[string]*taxiiObject{}}
		next, bad, _ := s.merge(env.Objects, time.Now(), 0, "")
		if len(next.objects)+bad > len(env.Objects) {
			t.Fatalf("%d kept + %d bad from %d objects", len(next.objects), bad, len(env.Objects))
		}
		if !json.Valid(next.bundle()) {
			t.Fatal("the bundle is not JSON")
		}
		body, err := next.marshal()
		if err != nil {
			t.Fatal(err)
		}
		back, err := parseTAXIIStore(body, "")
		if err != nil || len(back.objects) != len(next.objects) {
			t.Fatalf("store round trip: %d → %d, %v", len(next.objects), len(back.objects), err)
		}
	})
}

func TestTheTAXIIStoreKeepsTheLatestVersion(t *testing.T) {
	s := &taxiiStore{objects: map[string]*taxiiObject{}}
	now := time.Now()
	v2 := json.RawMessage(indicator("1", "203.0.113.2", "2026-01-02T00:00:00Z", false))
	v1 := json.RawMessage(indicator("1", "203.0.113.1", "2026-01-01T00:00:00Z", false))
	s, _, _ = s.merge([]json.RawMessage{v2}, now, 0, "c1")
	s, _, _ = s.merge([]json.RawMessage{v1}, now, 0, "")
	if got := string(s.objects["indicator--1"].raw); got != string(v2) || s.addedAfter != "c1" {
		t.Errorf("an older version replaced a newer one, or the cursor was lost: %s %q", got, s.addedAfter)
	}
}

func TestWriteAtomicLeavesTheOldFileOnFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	os.WriteFile(path, []byte("old"), 0o600)
	err := writeAtomic(path, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return errors.New("disk full")
	})
	data, _ := os.ReadFile(path)
	entries, _ := os.ReadDir(filepath.Dir(path))
	if err == nil || string(data) != "old" || len(entries) != 1 {
		t.Errorf("err %v, content %q, %d files", err, data, len(entries))
	}
}

func TestMetaMemoChangesACopyAndKeepsSharing(t *testing.T) {
	shared := &match.Meta{Source: "s", ValidUntil: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	exp := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	memo := metaMemo{}
	a := memo.edit(shared, func(m *match.Meta) { m.ValidUntil = exp })
	b := memo.edit(shared, func(m *match.Meta) { m.ValidUntil = time.Time{} })
	if !shared.ValidUntil.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatal("the indexed indicators' shared Meta was changed")
	}
	if a != b || a == shared || !a.ValidUntil.Equal(exp) || a.Source != "s" {
		t.Errorf("copies: %+v %+v", a, b)
	}
}
