package feed

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// taxiiServer is a TAXII 2.1 collection "c2" at /api1/, serving two
// objects a page, in date_added order.
type taxiiServer struct {
	*httptest.Server
	mu       sync.Mutex
	objects  []taxiiEntry
	noNext   bool // paginate with X-TAXII-Date-Added-Last only
	noCursor bool // send no X-TAXII-Date-Added-* headers (some servers do not)
	down     bool
	requests []*http.Request
}

type taxiiEntry struct {
	added time.Time
	obj   string
}

func newTAXIIServer(t *testing.T) *taxiiServer {
	s := &taxiiServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

var taxiiBase = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)

// add appends objects, each added a second after the previous one.
func (s *taxiiServer) add(objs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range objs {
		s.objects = append(s.objects, taxiiEntry{added: taxiiBase.Add(time.Duration(len(s.objects)+1) * time.Second), obj: o})
	}
}

func (s *taxiiServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.Clone(context.Background()))
	if s.down {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
		return
	}
	if r.URL.Path != "/api1/collections/c2/objects/" {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Accept") != "application/taxii+json;version=2.1" {
		http.Error(w, "bad Accept", http.StatusNotAcceptable)
		return
	}
	if u, p, ok := r.BasicAuth(); !(ok && u == "analyst" && p == "s3cret") && r.Header.Get("Authorization") != "Bearer t0ken" {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	var after time.Time
	if a := r.URL.Query().Get("added_after"); a != "" {
		var err error
		if after, err = time.Parse(time.RFC3339Nano, a); err != nil {
			http.Error(w, "bad added_after", http.StatusBadRequest)
			return
		}
	}
	var sel []taxiiEntry
	for _, e := range s.objects {
		if e.added.After(after) {
			sel = append(sel, e)
		}
	}
	start := 0
	if n := r.URL.Query().Get("next"); n != "" {
		start, _ = strconv.Atoi(n)
	}
	end := min(start+2, len(sel))
	page := sel[start:end]
	env := map[string]any{"more": end < len(sel)}
	if end < len(sel) && !s.noNext {
		env["next"] = strconv.Itoa(end)
	}
	var objs []json.RawMessage
	for _, e := range page {
		objs = append(objs, json.RawMessage(e.obj))
	}
	if len(objs) > 0 {
		env["objects"] = objs
	}
	if len(objs) > 0 && !s.noCursor {
		w.Header().Set("X-TAXII-Date-Added-First", page[0].added.Format(time.RFC3339Nano))
		w.Header().Set("X-TAXII-Date-Added-Last", page[len(page)-1].added.Format(time.RFC3339Nano))
	}
	w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
	json.NewEncoder(w).Encode(env)
}

func (s *taxiiServer) queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.requests {
		out = append(out, r.URL.RawQuery)
	}
	return out
}

func indicator(id, ip, modified string, revoked bool) string {
	return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--%s","created":"2026-01-01T00:00:00Z","modified":%q,"pattern":"[ipv4-addr:value = '%s']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","revoked":%v,"created_by_ref":"identity--a"}`,
		id, modified, ip, revoked)
}

const identity = `{"type":"identity","spec_version":"2.1","id":"identity--a","name":"Partner CERT","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z"}`

func taxiiSpec(url string) Spec {
	return Spec{Name: "partner", Type: TypeTAXII, URL: url + "/api1/", Timeout: 5 * time.Second,
		TAXII: TAXIIOptions{Collection: "c2", Username: "analyst", Password: "s3cret"}}
}

func TestATAXIICollectionIsPagedAccumulatedAndRevoked(t *testing.T) {
	for _, noNext := range []bool{false, true} {
		name := "paged with next"
		if noNext {
			name = "paged with X-TAXII-Date-Added-Last"
		}
		t.Run(name, func(t *testing.T) {
			srv := newTAXIIServer(t)
			srv.noNext = noNext
			srv.add(identity,
				indicator("1", "203.0.113.1", "2026-01-01T00:00:00Z", false),
				indicator("2", "203.0.113.2", "2026-01-01T00:00:00Z", false),
				indicator("3", "203.0.113.3", "2026-01-01T00:00:00Z", false),
				indicator("4", "203.0.113.4", "2026-01-01T00:00:00Z", false))
			h, u := newHarness(t, Options{Feeds: []Spec{taxiiSpec(srv.URL)}})
			if u.Index.Len() != 4 {
				t.Fatalf("first poll: %d indicators, want 4 (status %+v)", u.Index.Len(), h.status("partner"))
			}
			if src := u.Index.Lookup("203.0.113.1", time.Time{})[0].Indicator.Meta.Source; src != "stix:Partner CERT" {
				t.Errorf("source %q: the identity must name it", src)
			}
			if q := srv.queries(); len(q) != 3 {
				t.Errorf("first poll: %d requests (%q), want 3 pages", len(q), q)
			}

			// A new indicator, and a revocation of indicator 2.
			srv.add(indicator("5", "203.0.113.5", "2026-01-01T00:00:00Z", false),
				indicator("2", "203.0.113.2", "2026-02-02T00:00:00Z", true))
			u, err := h.m.Reload(context.Background())
			if err != nil || u == nil {
				t.Fatalf("second poll: %v %v", u, err)
			}
			q := srv.queries()
			if want := "added_after=" + strings.ReplaceAll(taxiiBase.Add(5*time.Second).Format(time.RFC3339), ":", "%3A"); q[3] != want {
				t.Errorf("second poll asked %q, want %q", q[3], want)
			}
			if matches(u.Index, "203.0.113.2", time.Time{}) || !matches(u.Index, "203.0.113.5", time.Time{}) || !matches(u.Index, "203.0.113.1", time.Time{}) {
				t.Error("after the poll: the revoked indicator must be gone, the new one in, the old ones kept")
			}
			if values(u.Added()) != "ip 203.0.113.5" || u.Removed != 1 {
				t.Errorf("added %s removed %d", values(u.Added()), u.Removed)
			}
			// Nothing new: no rebuild.
			if u, err := h.m.Reload(context.Background()); err != nil || u != nil {
				t.Errorf("an empty poll: update %v, err %v", u, err)
			}
		})
	}
}

func TestTAXIIAuthentication(t *testing.T) {
	srv := newTAXIIServer(t)
	srv.add(indicator("1", "203.0.113.1", "2026-01-01T00:00:00Z", false))
	tests := []struct {
		name string
		opt  TAXIIOptions
		ok   bool
	}{
		{"basic authentication", TAXIIOptions{Collection: "c2", Username: "analyst", Password: "s3cret"}, true},
		{"a bearer token", TAXIIOptions{Collection: "c2", Token: "t0ken"}, true},
		{"a wrong password is refused and reported", TAXIIOptions{Collection: "c2", Username: "analyst", Password: "nope"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := taxiiSpec(srv.URL)
			spec.TAXII = tt.opt
			h, u := newHarness(t, Options{Feeds: []Spec{spec}})
			st := h.status("partner")
			if got := u.Index.Len() == 1 && st.LastError == nil; got != tt.ok {
				t.Errorf("ok %v, want %v (%+v)", got, tt.ok, st)
			}
			if !tt.ok && !strings.Contains(st.LastError.Error(), "401") {
				t.Errorf("error %v", st.LastError)
			}
			if !tt.ok && strings.Contains(st.LastError.Error(), "nope") {
				t.Error("the password leaked into the error")
			}
		})
	}
}

// A restart asks only for what was added since the cached cursor, and
// with the server down starts from the cached collection.
func TestATAXIIRestartUsesTheCachedCollection(t *testing.T) {
	cache := t.TempDir()
	srv := newTAXIIServer(t)
	srv.add(indicator("1", "203.0.113.1", "2026-01-01T00:00:00Z", false), indicator("2", "203.0.113.2", "2026-01-01T00:00:00Z", false))
	h, _ := newHarness(t, Options{Feeds: []Spec{taxiiSpec(srv.URL)}, CacheDir: cache})
	h.stop()

	srv.add(indicator("3", "203.0.113.3", "2026-01-01T00:00:00Z", false))
	_, u := newHarness(t, Options{Feeds: []Spec{taxiiSpec(srv.URL)}, CacheDir: cache})
	if u.Index.Len() != 3 {
		t.Errorf("%d indicators, want the 2 cached and the new one", u.Index.Len())
	}
	q := srv.queries()
	if !strings.HasPrefix(q[len(q)-1], "added_after=") {
		t.Errorf("the restart asked %q: want only what was added since the cursor", q[len(q)-1])
	}

	srv.mu.Lock()
	srv.down = true
	srv.mu.Unlock()
	h3, u3 := newHarness(t, Options{Feeds: []Spec{taxiiSpec(srv.URL)}, CacheDir: cache})
	st := h3.status("partner")
	if u3.Index.Len() != 3 || !st.FromCache || st.LastError == nil {
		t.Errorf("server down: %d indicators, status %+v", u3.Index.Len(), st)
	}
}

// With a TTL, an indicator expires TTL after a poll last returned it,
// though the collection never deletes it.
func TestTAXIIIndicatorsExpireTTLAfterTheyWereLastReturned(t *testing.T) {
	clk := newClock()
	t0 := clk.Now()
	srv := newTAXIIServer(t)
	srv.add(indicator("1", "203.0.113.1", "2026-01-01T00:00:00Z", false))
	spec := taxiiSpec(srv.URL)
	spec.TTL = time.Hour
	h, u := newHarness(t, Options{Feeds: []Spec{spec}, Now: clk.Now})
	clk.Advance(40 * time.Minute)
	srv.add(indicator("2", "203.0.113.2", "2026-01-01T00:00:00Z", false))
	u, err := h.m.Reload(context.Background())
	if err != nil || u == nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		value string
		at    time.Duration
		want  bool
	}{
		{"203.0.113.1", 59 * time.Minute, true},
		{"203.0.113.1", 60 * time.Minute, false},
		{"203.0.113.2", 99 * time.Minute, true},
		{"203.0.113.2", 100 * time.Minute, false},
	} {
		if got := matches(u.Index, c.value, t0.Add(c.at)); got != c.want {
			t.Errorf("%s at t0+%s: %v, want %v", c.value, c.at, got, c.want)
		}
	}
	clk.Advance(time.Hour)
	srv.add(indicator("3", "203.0.113.3", "2026-01-01T00:00:00Z", false))
	u, _ = h.m.Reload(context.Background())
	if u.Index.Len() != 1 || !matches(u.Index, "203.0.113.3", time.Time{}) {
		t.Errorf("expired objects must be pruned: %d indicators", u.Index.Len())
	}
}

// An indicator's own valid_until, when later, does not outlive the TTL:
// the collection never deletes it, so the TTL is what ages it out.
func TestTAXIITTLIsNotOutlivedByALaterValidUntil(t *testing.T) {
	clk := newClock()
	t0 := clk.Now()
	srv := newTAXIIServer(t)
	srv.add(`{"type":"indicator","spec_version":"2.1","id":"indicator--1","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z","pattern":"[ipv4-addr:value = '203.0.113.1']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","valid_until":"2030-01-01T00:00:00Z"}`)
	spec := taxiiSpec(srv.URL)
	spec.TTL = time.Hour
	_, u := newHarness(t, Options{Feeds: []Spec{spec}, Now: clk.Now})
	if !matches(u.Index, "203.0.113.1", t0.Add(59*time.Minute)) || matches(u.Index, "203.0.113.1", t0.Add(time.Hour)) {
		t.Error("the indicator must expire TTL after the poll that returned it, not at its later valid_until")
	}
}

func TestPollStopsOnAServerThatRepeatsItself(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"more":true,"next":"same","objects":[]}`))
	}))
	defer srv.Close()
	spec := taxiiSpec(srv.URL)
	c := &taxiiClient{spec: &spec, client: srv.Client()}
	if _, _, err := c.poll(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "repeats") {
		t.Errorf("err %v", err)
	}
	srv.CloseClientConnections()
}

// A server that sends no X-TAXII-Date-Added-Last returns the whole
// collection at every poll: objects returned as they were are no change,
// so a poll costs no rebuild of the index; a new object still is one.
func TestATAXIIPollOfUnchangedObjectsRebuildsNothing(t *testing.T) {
	for _, ttl := range []time.Duration{0, time.Hour} {
		t.Run(fmt.Sprintf("ttl=%s", ttl), func(t *testing.T) {
			clk := newClock()
			srv := newTAXIIServer(t)
			srv.noCursor = true
			srv.add(identity, indicator("1", "203.0.113.1", "2026-01-01T00:00:00Z", false), indicator("2", "203.0.113.2", "2026-01-01T00:00:00Z", false))
			spec := taxiiSpec(srv.URL)
			spec.TTL = ttl
			h, u := newHarness(t, Options{Feeds: []Spec{spec}, Now: clk.Now})
			if u.Index.Len() != 2 {
				t.Fatalf("%d indicators loaded, want 2", u.Index.Len())
			}
			clk.Advance(10 * time.Minute)
			if u, err := h.m.Reload(context.Background()); err != nil || u != nil {
				t.Errorf("a poll returning the same objects: update %v, err %v; want no update", u != nil, err)
			}
			srv.add(indicator("3", "203.0.113.3", "2026-01-01T00:00:00Z", false))
			u, err := h.m.Reload(context.Background())
			if err != nil || u == nil || u.Index.Len() != 3 || !matches(u.Index, "203.0.113.3", time.Time{}) {
				t.Fatalf("a poll with a new object: update %v, err %v; want the new indicator in", u != nil, err)
			}
			if ttl > 0 {
				// Half the TTL spent: the same objects rebuild the index
				// once, for the expiry of indicators seen again.
				clk.Advance(31 * time.Minute)
				u, err := h.m.Reload(context.Background())
				if err != nil || u == nil || !matches(u.Index, "203.0.113.1", clk.Now().Add(50*time.Minute)) {
					t.Errorf("past half the TTL: update %v, err %v; want the indicators' expiry moved", u != nil, err)
				}
			}
		})
	}
}
