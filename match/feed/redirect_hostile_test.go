package feed_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/match/feed"
)

// A feed server — or whoever answers in its name — that redirects must not
// obtain the feed's credentials for another host, nor make them travel
// without TLS.

// headerLog is a server that records the credentials it receives and
// serves a one-line feed.
type headerLog struct {
	mu   sync.Mutex
	seen []string
}

func (h *headerLog) handler() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.seen = append(h.seen, r.Header.Get("Auth-Key")+"|"+r.Header.Get("Authorization"))
		h.mu.Unlock()
		w.Write([]byte("198.51.100.77\n"))
	}
}

func (h *headerLog) credentials() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.seen, ";")
}

func TestAFeedRedirectNeverCarriesItsCredentialsElsewhereOrInClear(t *testing.T) {
	const key = "feed-key-Rb7Vn3Lq9Pw1"
	other := &headerLog{}
	plain := httptest.NewServer(other.handler()) // another host, no TLS
	defer plain.Close()
	otherTLS := httptest.NewTLSServer(other.handler())
	defer otherTLS.Close()
	// "localhost" is another host than the 127.0.0.1 of the feed's URL.
	elsewhere := strings.Replace(otherTLS.URL, "127.0.0.1", "localhost", 1)
	sameHostPlain := plain.URL

	tests := []struct {
		name   string
		target string
		typ    string
		wantOK bool
	}{
		{"an https feed redirected to another host over https loads without its credentials", elsewhere + "/feed.txt", feed.TypeHTTP, true},
		{"an https feed redirected to http is refused", sameHostPlain + "/feed.txt", feed.TypeHTTP, false},
		{"a TAXII feed redirected to http is refused", sameHostPlain + "/taxii/", feed.TypeTAXII, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			other.mu.Lock()
			other.seen = nil
			other.mu.Unlock()
			origin := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, tc.target, http.StatusFound)
			}))
			defer origin.Close()
			spec := feed.Spec{Name: "c2", Type: tc.typ, URL: origin.URL + "/feed.txt",
				Headers: map[string]string{"Auth-Key": key},
				TLS:     feed.TLSOptions{InsecureSkipVerify: true},
				Load:    match.LoadOptions{Format: match.FormatText}}
			if tc.typ == feed.TypeTAXII {
				spec.Load.Format = ""
				spec.URL = origin.URL + "/taxii/"
				spec.TAXII = feed.TAXIIOptions{Collection: "c2", Username: "analyst", Password: key}
			}
			m, err := feed.New(feed.Options{Feeds: []feed.Spec{spec}, FilePoll: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			u, _ := m.Load(context.Background())
			got := other.credentials()
			basic := base64.StdEncoding.EncodeToString([]byte("analyst:" + key))
			if strings.Contains(got, key) || strings.Contains(got, basic) {
				t.Errorf("the redirect target received the feed's credentials: %q", got)
			}
			loaded := u != nil && u.Index.Len() > 0
			if loaded != tc.wantOK {
				t.Errorf("loaded = %v, want %v (status %+v)", loaded, tc.wantOK, m.Status())
			}
			if !tc.wantOK && got != "" {
				t.Errorf("the http target was asked at all: %q", got)
			}
		})
	}
}
