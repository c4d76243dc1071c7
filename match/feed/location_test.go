package feed

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// A feed's URL is named in its status, errors and refusals without its
// credentials: the password, credential-like query values, and a key
// written in the path (urlcred.Redact), which some feeds take there.
func TestAFeedURLIsNamedWithoutItsCredentials(t *testing.T) {
	const (
		pathKey  = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822c"
		queryKey = "QueryKey-Tn5Rc8Vb1"
		password = "UrlPass-Wd3Hx6Kp9"
	)
	srv := newFeedServer(t, false)
	srv.set(serve("203.0.113.10\n10.0.0.1\n", ""))
	raw := strings.Replace(srv.URL, "http://", "http://cti:"+password+"@", 1) + "/api/v1/" + pathKey + "/ip-blocklist.txt?fmt=txt&auth-key=" + queryKey
	shown := strings.Replace(srv.URL, "http://", "http://cti:[redacted]@", 1) + "/api/v1/[redacted]/ip-blocklist.txt?fmt=txt&auth-key=[redacted]"
	h, _ := newHarness(t, Options{Feeds: []Spec{httpSpec("remote", raw)}})
	st := h.status("remote")
	if st.Location != shown {
		t.Errorf("Location = %q, want %q", st.Location, shown)
	}
	if len(st.Refused) == 0 || !strings.HasPrefix(st.Refused[0].Origin, shown) {
		t.Errorf("the private address is not refused at %s: %v", shown, st.Refused)
	}
	srv.set(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusInternalServerError) })
	if _, err := h.m.Reload(context.Background()); err == nil {
		t.Fatal("Reload: no error from a failing feed")
	}
	st = h.status("remote")
	if st.LastError == nil || !strings.Contains(st.LastError.Error(), "GET "+shown+": 500") {
		t.Errorf("LastError = %v, want it to name GET %s", st.LastError, shown)
	}
	// A spec that is refused names its URL the same way.
	_, err := New(Options{Feeds: []Spec{httpSpec("ftp", "ftp://feeds.example/api/v1/"+pathKey+"/ip-blocklist.txt")}})
	if err == nil || !strings.Contains(err.Error(), "ftp://feeds.example/api/v1/[redacted]/ip-blocklist.txt") {
		t.Errorf("New = %v, want the URL named without its key", err)
	}
	// So does one whose URL does not parse: url.Parse's error quotes it.
	_, perr := New(Options{Feeds: []Spec{httpSpec("bad", "https://feeds.example/api/v1/"+pathKey+"/%zz.txt")}})
	if perr == nil || !strings.Contains(perr.Error(), `invalid URL escape "%zz"`) {
		t.Errorf("New = %v, want the URL refused", perr)
	}
	for _, text := range []string{st.Location, st.Refused[0].String(), st.LastError.Error(), err.Error(), perr.Error()} {
		for _, secret := range []string{pathKey, queryKey, password} {
			if strings.Contains(text, secret) {
				t.Errorf("%q shows %s", text, secret)
			}
		}
	}
}
