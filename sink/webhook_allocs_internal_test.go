package sink

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// net/http's Client takes a fast path for its timeout only when its
// Transport is a *http.Transport: with any other RoundTripper (such as the
// redirect guard) and Client.Timeout set, every request costs a timer
// goroutine, channels and closures (setRequestCancel's legacy path). The
// sinks keep the guard and bound each request with its context instead,
// so one request allocates no more than it did when the client was a bare
// *http.Transport with Client.Timeout, before the guard came in (commit
// d404f94). The reference is that earlier request path, run here on the
// same transport against the same server. (Run in a scratch copy of the
// sink as it was before d404f94, the sink's request and this reference
// allocated alike, 111 times on Go 1.26; with the guard behind
// Client.Timeout the sink's request allocated 123 times.)
func TestWebhookRequestAllocatesNoMoreThanWithABareTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	w, err := NewWebhook(WebhookOptions{URL: srv.URL + "/hook", HMACSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	body := []byte(`{"alert_id":"5f0c2d9e1a7b4c3d8e9f0a1b2c3d4e5f"}`)
	const id = "5f0c2d9e1a7b4c3d8e9f0a1b2c3d4e5f"
	ctx := context.Background()

	// The request path before the guard: the same request, sent by a
	// client whose Transport is the *http.Transport itself and whose
	// Timeout bounds the request.
	bare := &http.Client{
		Transport:     w.tr,
		Timeout:       w.opt.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	bareWrite := func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.opt.URL, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = w.header.Clone()
		ts := strconv.FormatInt(w.opt.Now().Unix(), 10)
		req.Header.Set(WebhookTimestampHeader, ts)
		req.Header.Set(WebhookSignatureHeader, SignWebhook([]byte(w.opt.HMACSecret), ts, body))
		req.Header.Set(WebhookAlertIDHeader, id)
		resp, err := bare.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = readExcerpt(resp.Body, nil)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("status %s", resp.Status)
		}
	}
	sinkWrite := func() {
		if err := w.post(ctx, body, id); err != nil {
			t.Fatal(err)
		}
	}
	// AllocsPerRun runs each once before it counts: the connection is
	// open and pooled by then.
	want := testing.AllocsPerRun(200, bareWrite)
	got := testing.AllocsPerRun(200, sinkWrite)
	t.Logf("allocations per request: %v through the sink, %v through a bare *http.Transport with Client.Timeout", got, want)
	if got > want {
		t.Errorf("a webhook request allocates %v times, more than the %v of a bare *http.Transport with Client.Timeout: is net/http's legacy timeout path (Client.Timeout with a wrapping RoundTripper) back?", got, want)
	}
}
