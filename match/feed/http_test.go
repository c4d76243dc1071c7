package feed

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/match"
)

// feedServer is an http feed whose behaviour a test changes as it goes.
type feedServer struct {
	*httptest.Server
	mu       sync.Mutex
	handler  http.HandlerFunc
	requests []*http.Request
}

func newFeedServer(t *testing.T, tls bool) *feedServer {
	s := &feedServer{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Clone(context.Background()))
		h := s.handler
		s.mu.Unlock()
		h(w, r)
	})
	if tls {
		s.Server = httptest.NewTLSServer(h)
	} else {
		s.Server = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

func (s *feedServer) set(h http.HandlerFunc) {
	s.mu.Lock()
	s.handler = h
	s.mu.Unlock()
}

func (s *feedServer) last() *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[len(s.requests)-1]
}

// serve answers with body, an ETag and conditional-GET support.
func serve(body, etag string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if etag != "" {
			if r.Header.Get("If-None-Match") == etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", etag)
		}
		w.Write([]byte(body))
	}
}

func gz(t *testing.T, s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func zipped(t *testing.T, name, s string) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	zw.Create("folder/")
	f, _ := zw.Create(name)
	f.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func httpSpec(name, url string) Spec {
	return Spec{Name: name, Type: TypeHTTP, URL: url, Timeout: 2 * time.Second, Load: match.LoadOptions{Format: match.FormatText}}
}

const goodFeed = "203.0.113.10\n203.0.113.11\nc2.example\n"

// A feed that fails keeps its last good indicators and is reported; the
// error says what went wrong.
func TestAnHTTPFeedThatFailsKeepsItsLastGoodIndicators(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	tests := []struct {
		name    string
		handler http.HandlerFunc
		says    string
	}{
		{"a server error", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "database is down", http.StatusInternalServerError)
		}, `500 Internal Server Error: "database is down"`},
		{"a timeout", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}, "timed out after 200ms"},
		{"a truncated gzip body", func(w http.ResponseWriter, r *http.Request) {
			b := gz(t, strings.Repeat(goodFeed, 50))
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(b[:len(b)/2])
		}, "truncated"},
		{"a body cut short of its Content-Length", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			w.Write([]byte(goodFeed))
		}, "unexpected EOF"},
		{"garbage", func(w http.ResponseWriter, r *http.Request) {
			b := make([]byte, 4096)
			rand.Read(b)
			w.Write(b)
		}, "no usable indicator"},
		{"an HTML error page with status 200", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("<html>\n<body>Please log in</body>\n</html>\n"))
		}, "no usable indicator"},
		{"a body over max_bytes", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(strings.Repeat("203.0.113.99\n", 1000)))
		}, "larger than max_bytes"},
		{"a gzip body inflating over max_bytes", func(w http.ResponseWriter, r *http.Request) {
			w.Write(gz(t, strings.Repeat("203.0.113.99\n", 10000)))
		}, "larger than max_bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFeedServer(t, false)
			srv.set(serve(goodFeed, ""))
			spec := httpSpec("remote", srv.URL+"/feed.txt")
			// Only the case that hangs meets the short timeout: the
			// others must fail for their own reason on a loaded machine.
			spec.Timeout = 10 * time.Second
			if strings.Contains(tt.says, "timed out") {
				spec.Timeout = 200 * time.Millisecond
			}
			spec.MaxBytes = 4096
			h, first := newHarness(t, Options{Feeds: []Spec{spec}})
			srv.set(tt.handler)
			u, err := h.m.Reload(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.says) || !strings.Contains(err.Error(), `feed "remote"`) {
				t.Fatalf("Reload error %v, want it to name the feed and say %q", err, tt.says)
			}
			if u != nil || h.m.Current() != first {
				t.Fatal("a failed fetch must not change the index")
			}
			if !matches(first.Index, "c2.example", time.Time{}) {
				t.Fatal("the last good indicators must stay")
			}
			st := h.status("remote")
			if st.LastError == nil || st.Failures != 1 || st.Total != 3 || st.LastSuccess.IsZero() {
				t.Errorf("status %+v", st)
			}
		})
	}
}

// A 304 costs nothing: no parse, no rebuild. The ETag of the last good
// copy is sent back.
func TestANotModifiedFeedCostsNoRebuild(t *testing.T) {
	srv := newFeedServer(t, false)
	srv.set(serve(goodFeed, `"v1"`))
	h, first := newHarness(t, Options{Feeds: []Spec{httpSpec("remote", srv.URL)}})
	u, err := h.m.Reload(context.Background())
	if err != nil || u != nil {
		t.Fatalf("Reload: update %v, err %v; want nothing to do", u, err)
	}
	if got := srv.last().Header.Get("If-None-Match"); got != `"v1"` {
		t.Errorf("If-None-Match %q", got)
	}
	if h.m.Current() != first {
		t.Error("the index was rebuilt")
	}
	srv.set(serve("203.0.113.10\nc2.example\nnew.example\n", `"v2"`))
	u, err = h.m.Reload(context.Background())
	if err != nil || u == nil || values(u.Added()) != "domain new.example" {
		t.Fatalf("a changed feed: update %v, err %v", u, err)
	}
	// A server without validators that sends the same bytes: no parse.
	srv.set(serve("203.0.113.10\nc2.example\nnew.example\n", ""))
	if u, err := h.m.Reload(context.Background()); err != nil || u != nil {
		t.Fatalf("identical content: update %v, err %v; want no rebuild", u, err)
	}
	if st := h.status("remote"); st.LastError != nil || st.LastSuccess.IsZero() {
		t.Errorf("status %+v", st)
	}
}

func TestCompressedBodies(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"Content-Encoding gzip", func(w http.ResponseWriter, r *http.Request) {
			if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
				http.Error(w, "no gzip", 400)
				return
			}
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz(t, goodFeed))
		}},
		{"a .gz file", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/gzip")
			w.Write(gz(t, goodFeed))
		}},
		{"a .gz file sent with Content-Encoding gzip", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz(t, string(gz(t, goodFeed))))
		}},
		{"a zip archive of one file", func(w http.ResponseWriter, r *http.Request) {
			w.Write(zipped(t, "folder/feed.txt", goodFeed))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFeedServer(t, false)
			srv.set(tt.handler)
			h, u := newHarness(t, Options{Feeds: []Spec{httpSpec("remote", srv.URL)}})
			if st := h.status("remote"); st.LastError != nil || st.Total != 3 || !matches(u.Index, "c2.example", time.Time{}) {
				t.Errorf("status %+v", st)
			}
		})
	}
}

// The cache keeps the last good copy: a restart while the server is down
// starts with it, and a restart with the server up sends its ETag.
func TestARestartWithTheFeedServerDownUsesTheCache(t *testing.T) {
	cache := t.TempDir()
	srv := newFeedServer(t, false)
	srv.set(serve(goodFeed, `"v1"`))
	spec := httpSpec("remote", srv.URL+"/feed.txt")
	h, _ := newHarness(t, Options{Feeds: []Spec{spec}, CacheDir: cache})
	h.stop()

	srv.set(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) })
	h2, u := newHarness(t, Options{Feeds: []Spec{spec}, CacheDir: cache})
	if !matches(u.Index, "c2.example", time.Time{}) || u.Index.Len() != 3 {
		t.Fatal("the cached copy must be in use")
	}
	st := h2.status("remote")
	if !st.FromCache || st.LastError == nil || !strings.Contains(st.LastError.Error(), "502") || st.DataTime.IsZero() {
		t.Errorf("status %+v: want from cache, the error, and the cached copy's time", st)
	}
	h2.stop()

	srv.set(serve(goodFeed, `"v1"`))
	h3, u3 := newHarness(t, Options{Feeds: []Spec{spec}, CacheDir: cache})
	if got := srv.last().Header.Get("If-None-Match"); got != `"v1"` || u3.Index.Len() != 3 {
		t.Errorf("restart with the server up: If-None-Match %q, %d indicators", got, u3.Index.Len())
	}
	if st := h3.status("remote"); st.FromCache || st.LastError != nil {
		t.Errorf("a 304 confirms the cached copy: %+v", st)
	}

	// A cache file cut short is not used.
	path := cachePath(cache, "remote")
	data, _ := os.ReadFile(path)
	os.WriteFile(path, data[:len(data)-3], 0o600)
	srv.set(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) })
	_, u4 := newHarness(t, Options{Feeds: []Spec{spec}, CacheDir: cache})
	if u4.Index.Len() != 0 {
		t.Error("a truncated cache copy must not be used")
	}
}

// A feed started from its cached copy reports, as its last success, when
// the origin last vouched for the copy: its download, moved forward by
// every later fetch that confirmed it unchanged (a 304). Its age, and so
// its staleness, count from there rather than from never.
func TestACachedCopyKeepsTheTimeTheOriginLastVouchedForIt(t *testing.T) {
	cache := t.TempDir()
	clk := newClock()
	t0 := clk.Now()
	srv := newFeedServer(t, false)
	srv.set(serve(goodFeed, `"v1"`))
	spec := httpSpec("remote", srv.URL+"/feed.txt")
	opt := Options{Feeds: []Spec{spec}, CacheDir: cache, Now: clk.Now}
	h, _ := newHarness(t, opt)
	h.stop()

	srv.set(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) })
	clk.Advance(time.Hour)
	h2, _ := newHarness(t, opt)
	st := h2.status("remote")
	if !st.FromCache || !st.LastSuccess.Equal(t0) || !st.DataTime.Equal(t0) || st.Age(clk.Now()) != time.Hour {
		t.Errorf("from the cache: last success %v, data time %v, from cache %v; want the download time %v", st.LastSuccess, st.DataTime, st.FromCache, t0)
	}
	h2.stop()

	// The server is back and answers 304: the copy is confirmed at t1.
	srv.set(serve(goodFeed, `"v1"`))
	clk.Advance(time.Minute)
	t1 := clk.Now()
	h3, _ := newHarness(t, opt)
	clk.Advance(time.Minute)
	t2 := clk.Now()
	if _, err := h3.m.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := h3.status("remote"); st.FromCache || !st.LastSuccess.Equal(t2) {
		t.Errorf("after a 304: last success %v (from cache %v), want %v", st.LastSuccess, st.FromCache, t2)
	}
	h3.stop()

	srv.set(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) })
	clk.Advance(10 * time.Minute)
	h4, _ := newHarness(t, opt)
	if st := h4.status("remote"); !st.FromCache || !st.LastSuccess.Equal(t2) || !st.DataTime.Equal(t2) {
		t.Errorf("restart after a 304: last success %v, data time %v; want the confirmation at %v (download at %v)", st.LastSuccess, st.DataTime, t2, t1)
	}
}

// The shrink guard applies to http feeds: the next interval fetch that
// gives the same size (here a 304 to the held copy's ETag) confirms.
func TestAnHTTPFeedShrinkIsConfirmedByTheNextFetch(t *testing.T) {
	srv := newFeedServer(t, false)
	srv.set(serve(lines(40), `"big"`))
	h, first := newHarness(t, Options{Feeds: []Spec{httpSpec("remote", srv.URL)}})
	srv.set(serve(lines(4), `"small"`))
	if u, _ := h.m.Reload(context.Background()); u != nil || h.m.Current() != first {
		t.Fatal("the shrink must be held back")
	}
	u, err := h.m.Reload(context.Background())
	if err != nil || u == nil || u.Index.Len() != 4 {
		t.Fatalf("second fetch: update %v, err %v", u, err)
	}
	if got := srv.last().Header.Get("If-None-Match"); got != `"small"` {
		t.Errorf("the held copy's ETag must be sent: %q", got)
	}
}

// Run polls http feeds every interval, with the configured headers.
func TestRunPollsAnHTTPFeedEveryInterval(t *testing.T) {
	srv := newFeedServer(t, false)
	srv.set(serve(goodFeed, `"v1"`))
	spec := httpSpec("remote", srv.URL)
	spec.Interval = 20 * time.Millisecond
	spec.Headers = map[string]string{"Auth-Key": "k3y", "X-Empty": ""}
	h, _ := newHarness(t, Options{Feeds: []Spec{spec}})
	h.run()
	srv.set(serve(goodFeed+"late.example\n", `"v2"`))
	u := h.next()
	if values(u.Added()) != "domain late.example" || u.Reason != "interval" {
		t.Errorf("update %+v", u)
	}
	r := srv.last()
	if r.Header.Get("Auth-Key") != "k3y" || r.Header.Values("X-Empty") != nil || r.Header.Get("User-Agent") == "" {
		t.Errorf("request headers %v", r.Header)
	}
}

// TLS verification is on by default; a CA file makes a private CA work.
func TestTLSVerificationIsOnByDefault(t *testing.T) {
	srv := newFeedServer(t, true)
	srv.set(serve(goodFeed, ""))
	h, _ := newHarness(t, Options{Feeds: []Spec{httpSpec("remote", srv.URL)}})
	if st := h.status("remote"); st.LastError == nil || !strings.Contains(st.LastError.Error(), "certificate") {
		t.Fatalf("an unknown CA must fail verification: %+v", st)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)
	spec := httpSpec("remote", srv.URL)
	spec.TLS.CAFile = ca
	h2, u := newHarness(t, Options{Feeds: []Spec{spec}})
	if st := h2.status("remote"); st.LastError != nil || u.Index.Len() != 3 {
		t.Fatalf("with the CA file: %+v", st)
	}
}

// A restart does not let a shrunken feed through: the cached copy is the
// feed's content, so an emptied download at start-up (a feed server
// serving an empty database while iocwatch restarts) is held back as it
// would have been without the restart, instead of replacing the last good
// copy in the index and in the cache.
func TestARestartDoesNotLetAShrunkenFeedThrough(t *testing.T) {
	cache := t.TempDir()
	srv := newFeedServer(t, false)
	srv.set(serve(lines(40), `"big"`))
	spec := httpSpec("remote", srv.URL+"/feed.txt")
	opt := Options{Feeds: []Spec{spec}, CacheDir: cache}
	h, _ := newHarness(t, opt)
	h.stop()

	for _, tc := range []struct{ name, body, etag string }{{"an empty body", "", ""}, {"a few lines", lines(3), `"small"`}} {
		t.Run(tc.name, func(t *testing.T) {
			srv.set(serve(tc.body, tc.etag))
			h2, u := newHarness(t, opt)
			st := h2.status("remote")
			if u.Index.Len() != 40 || st.Held == nil || st.Held.Previous != 40 || !st.FromCache {
				t.Fatalf("restart with a shrunken feed: %d indicators, held %+v, status %+v; want the cached 40 and the shrink held back", u.Index.Len(), st.Held, st)
			}
			h2.stop()
			// The cache still holds the last good copy.
			srv.set(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) })
			h3, u3 := newHarness(t, opt)
			if u3.Index.Len() != 40 {
				t.Fatalf("the cache lost the last good copy: %d indicators", u3.Index.Len())
			}
			h3.stop()
			// A second fetch giving the same size still confirms it.
			srv.set(serve(tc.body, tc.etag))
			h4, _ := newHarness(t, opt)
			u4, err := h4.m.Reload(context.Background())
			if err != nil || u4 == nil || u4.Index.Len() != strings.Count(tc.body, "\n") {
				t.Fatalf("second fetch: update %v, err %v", u4, err)
			}
			h4.stop()
			// Back to the big feed for the next case (a grow is never held).
			srv.set(serve(lines(40), `"big"`))
			h5, u5 := newHarness(t, opt)
			if u5.Index.Len() != 40 {
				t.Fatalf("back to 40: %d", u5.Index.Len())
			}
			h5.stop()
		})
	}
}

// The cache file does not hold the credentials written in the feed's URL
// (a password, an auth-key= value): it names the URL redacted and is
// matched by a hash of the URL as configured, so a restart with the server
// down still starts from it. A cache written before the hash existed
// (the URL as configured) is still used.
func TestTheCacheHoldsNoCredentialOfTheFeedURL(t *testing.T) {
	const pass, key = "pw-Vb9Rt4Qx7L", "key-Ys5Hc4Gx2Z"
	cache := t.TempDir()
	srv := newFeedServer(t, false)
	srv.set(serve(goodFeed, `"v1"`))
	spec := httpSpec("remote", strings.Replace(srv.URL, "http://", "http://cti:"+pass+"@", 1)+"/feed.txt?auth-key="+key)
	h, _ := newHarness(t, Options{Feeds: []Spec{spec}, CacheDir: cache})
	h.stop()
	path := cachePath(cache, "remote")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(pass)) || bytes.Contains(data, []byte(key)) {
		t.Fatalf("the cache file holds a credential of the URL:\n%s", data[:bytes.IndexByte(data, '\n')])
	}
	down := func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) }
	srv.set(down)
	if _, u := newHarness(t, Options{Feeds: []Spec{spec}, CacheDir: cache}); u.Index.Len() != 3 {
		t.Errorf("a restart with the server down: %d indicators, want the cached 3", u.Index.Len())
	}
	other := spec
	other.URL += "&v=2"
	if _, u := newHarness(t, Options{Feeds: []Spec{other}, CacheDir: cache}); u.Index.Len() != 0 {
		t.Errorf("a cache of another URL was used: %d indicators", u.Index.Len())
	}

	// A cache file of the old format: the URL as configured, no hash.
	end := bytes.IndexByte(data, '\n')
	var hdr map[string]any
	if err := json.Unmarshal(data[:end], &hdr); err != nil {
		t.Fatal(err)
	}
	hdr["url"] = spec.URL
	delete(hdr, "url_sha256")
	head, _ := json.Marshal(hdr)
	if err := os.WriteFile(path, append(head, data[end:]...), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, u := newHarness(t, Options{Feeds: []Spec{spec}, CacheDir: cache}); u.Index.Len() != 3 {
		t.Errorf("an old-format cache: %d indicators, want the cached 3", u.Index.Len())
	}
}
