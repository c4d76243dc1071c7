package feed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"
)

// version identifies one copy of a feed's content: the validators of an
// HTTP response, the file's identity, and the content's sum.
type version struct {
	etag, lastModified string
	info               os.FileInfo // file feeds
	hash               [32]byte
}

// fetched is what one fetch gave.
type fetched struct {
	body content // the content; none (nil data) when unchanged
	// unchanged: the content is the one `since` names.
	unchanged bool
	// asked: the origin itself was asked (a read, or an HTTP request), not
	// only a stat that showed nothing changed.
	asked bool
	// stillBad: a file found as it was when it last failed (the same stat,
	// or the same error opening it): not read again, not a new failure.
	stillBad bool
	ver      version
}

// fetcher gets the content of a file or http feed. since (nil for none)
// is the copy the caller holds; force reads a file even when its stat
// says it did not change.
type fetcher interface {
	fetch(ctx context.Context, since *version, force bool) (*fetched, error)
}

// fileFetcher reads a local file; .gz, .zst and .zip files are unpacked.
//
// It remembers how the file last failed, so that a file that stays broken
// is not read, parsed and counted as a failure again at every watch event
// or poll (a watch event may come from another file of the directory);
// force (Load, Reload) always reads. The fields after maxBytes are guarded
// by the feed's refreshMu, like every fetch.
type fileFetcher struct {
	path     string
	maxBytes int64
	// bad is the stat of the file when its content last failed to be
	// read, unpacked or parsed (see failed); nil when it did not.
	bad os.FileInfo
	// openErr is the error of the last failure to open or stat the file
	// (it is gone, or unreadable); "" when it was opened.
	openErr string
}

// failed records that the content of the file as info describes it
// failed (a parse error found by the caller).
func (f *fileFetcher) failed(info os.FileInfo) { f.bad = info }

// sameStat reports whether a and b describe the same file, unchanged as
// far as a stat can tell.
func sameStat(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

func (f *fileFetcher) fetch(_ context.Context, since *version, force bool) (*fetched, error) {
	fh, err := os.Open(f.path)
	if err != nil {
		return f.openFailed(err, force)
	}
	defer fh.Close()
	info, err := fh.Stat()
	if err != nil {
		return f.openFailed(err, force)
	}
	f.openErr = ""
	if info.IsDir() {
		return f.openFailed(&fs.PathError{Op: "read", Path: f.path, Err: syscall.EISDIR}, force)
	}
	if !force && since != nil && since.info != nil && sameStat(info, since.info) {
		f.bad = nil
		return &fetched{unchanged: true, ver: *since}, nil
	}
	if !force && f.bad != nil && sameStat(info, f.bad) {
		return &fetched{stillBad: true}, nil
	}
	f.bad = nil
	raw, err := readLimited(fh, f.maxBytes, info.Size())
	if err != nil {
		f.bad = info
		return nil, fmt.Errorf("%s: %w", f.path, err)
	}
	body, err := decodeBody(raw, "", f.maxBytes)
	if err != nil {
		f.bad = info
		return nil, fmt.Errorf("%s: %w", f.path, err)
	}
	ver := version{info: info, hash: body.sum()}
	if since != nil && ver.hash == since.hash {
		return &fetched{unchanged: true, asked: true, ver: ver}, nil
	}
	return &fetched{body: body, asked: true, ver: ver}, nil
}

// openFailed returns the error of a file that cannot be opened (or is a
// directory), or stillBad when it failed the same way last time and force
// is not set.
func (f *fileFetcher) openFailed(err error, force bool) (*fetched, error) {
	f.bad = nil
	if !force && f.openErr != "" && f.openErr == err.Error() {
		return &fetched{stillBad: true}, nil
	}
	f.openErr = err.Error()
	return nil, err
}

// httpFetcher downloads an http(s) feed with conditional GETs.
type httpFetcher struct {
	spec   *Spec
	client *http.Client
}

// userAgent is sent with every feed request.
const userAgent = "iocwatch-feed/1"

func (h *httpFetcher) fetch(ctx context.Context, since *version, _ bool) (*fetched, error) {
	ctx, cancel := context.WithTimeout(ctx, h.spec.timeout())
	defer cancel()
	loc := h.spec.location()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.spec.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", loc, err)
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept-Encoding", "gzip")
	for k, v := range h.spec.Headers {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	if since != nil {
		if since.etag != "" {
			req.Header.Set("If-None-Match", since.etag)
		}
		if since.lastModified != "" {
			req.Header.Set("If-Modified-Since", since.lastModified)
		}
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", loc, timeoutError(ctx, h.spec.timeout(), unwrapURLError(err)))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		if since == nil || (since.etag == "" && since.lastModified == "") {
			return nil, fmt.Errorf("GET %s: 304 Not Modified to an unconditional request", loc)
		}
		ver := *since
		if et := resp.Header.Get("ETag"); et != "" {
			ver.etag = et
		}
		return &fetched{unchanged: true, asked: true, ver: ver}, nil
	case resp.StatusCode != http.StatusOK:
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		return nil, fmt.Errorf("GET %s: %s%s", loc, resp.Status, bodySnippet(snippet))
	}
	max := h.spec.maxBytes()
	if resp.ContentLength > max {
		return nil, fmt.Errorf("GET %s: Content-Length %d: %w (%d)", loc, resp.ContentLength, errTooLarge, max)
	}
	raw, err := readLimited(resp.Body, max, resp.ContentLength)
	if err != nil {
		return nil, fmt.Errorf("GET %s: body: %w", loc, timeoutError(ctx, h.spec.timeout(), err))
	}
	body, err := decodeBody(raw, resp.Header.Get("Content-Encoding"), max)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", loc, err)
	}
	ver := version{etag: resp.Header.Get("ETag"), lastModified: resp.Header.Get("Last-Modified"), hash: body.sum()}
	if since != nil && ver.hash == since.hash {
		return &fetched{unchanged: true, asked: true, ver: ver}, nil
	}
	return &fetched{body: body, asked: true, ver: ver}, nil
}

// bodySnippet quotes the start of an error response, for the error text.
func bodySnippet(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return ""
	}
	s := strings.ToValidUTF8(string(b), "?")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return fmt.Sprintf(": %q", s)
}

// unwrapURLError drops the *url.Error wrapper, whose text repeats the URL
// (which may carry a key in its query); the cause stays matchable.
func unwrapURLError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// timeoutError says "timed out after 30s" when ctx's deadline caused err.
func timeoutError(ctx context.Context, d time.Duration, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %s: %w", d, err)
	}
	return err
}

// newHTTPClient returns a client for one feed: TLS as configured
// (verification on unless InsecureSkipVerify), the proxy from the
// environment, no transparent decompression (decodeBody does it), and
// redirects checked by checkRedirect.
func newHTTPClient(s *Spec) (*http.Client, error) {
	tc, err := s.TLS.tlsConfig()
	if err != nil {
		return nil, fmt.Errorf("feed %q: %w", s.Name, err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	tr.DisableCompression = true
	tr.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: tr, CheckRedirect: checkRedirect(s)}, nil
}

// checkRedirect follows at most 10 redirects, never from https to plain
// http (the credentials would travel in clear), and to another host only
// without the feed's headers and Authorization: a feed's credentials are
// for its own server. (net/http drops Authorization across hosts, but not
// custom headers such as abuse.ch's Auth-Key.)
func checkRedirect(s *Spec) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		first := via[0].URL
		if first.Scheme == "https" && req.URL.Scheme != "https" {
			return fmt.Errorf("redirect from https to %s://%s refused: the feed's credentials would travel without TLS", req.URL.Scheme, req.URL.Host)
		}
		if !strings.EqualFold(req.URL.Host, first.Host) {
			for k := range s.Headers {
				req.Header.Del(k)
			}
			req.Header.Del("Authorization")
		}
		return nil
	}
}
