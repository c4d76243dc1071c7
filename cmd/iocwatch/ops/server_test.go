package ops_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/cmd/iocwatch/ops"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/stream"
)

func TestEveryEndpointRequiresTheConfiguredCredentials(t *testing.T) {
	basic := ops.Auth{Username: "prom", Password: "correct horse"}
	bearer := ops.Auth{BearerToken: "t0ken-abc"}
	withBasic := func(u, p string) func(*http.Request) { return func(r *http.Request) { r.SetBasicAuth(u, p) } }
	withHeader := func(v string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", v) }
	}
	tests := []struct {
		name  string
		auth  ops.Auth
		tweak func(*http.Request)
		want  int
	}{
		{"without auth configured anyone may read", ops.Auth{}, nil, 200},
		{"basic auth refuses a request without credentials", basic, nil, 401},
		{"basic auth accepts the right pair", basic, withBasic("prom", "correct horse"), 200},
		{"basic auth refuses a wrong password", basic, withBasic("prom", "correct horse "), 401},
		{"basic auth refuses a wrong user", basic, withBasic("Prom", "correct horse"), 401},
		{"bearer auth accepts the token", bearer, withHeader("Bearer t0ken-abc"), 200},
		{"the bearer scheme is case-insensitive", bearer, withHeader("bearer t0ken-abc"), 200},
		{"bearer auth refuses another token", bearer, withHeader("Bearer t0ken-abd"), 401},
		{"bearer auth refuses a prefix of the token", bearer, withHeader("Bearer t0ken"), 401},
		{"bearer auth refuses basic credentials", bearer, withBasic("x", "t0ken-abc"), 401},
		{"bearer auth refuses a bare token", bearer, withHeader("t0ken-abc"), 401},
	}
	mon := ops.NewMonitor(ops.Options{})
	for _, tt := range tests {
		for _, path := range []string{"/metrics", "/healthz", "/readyz", "/"} {
			t.Run(tt.name+" at "+path, func(t *testing.T) {
				code, hdr, _ := get(t, mon.Handler(tt.auth), path, tt.tweak)
				if code == http.StatusServiceUnavailable && tt.want == 200 && path == "/readyz" {
					code = 200 // authorised; not ready is another test
				}
				if code != tt.want {
					t.Errorf("status %d, want %d", code, tt.want)
				}
				if code == 401 && hdr.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			})
		}
	}
}

func TestProbes(t *testing.T) {
	rules, _ := testIndex(t)
	mon := ops.NewMonitor(ops.Options{})
	h := mon.Handler(ops.Auth{})

	code, _, body := get(t, h, "/healthz", nil)
	if code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q, want 200 ok", code, body)
	}
	code, hdr, body := get(t, h, "/readyz", nil)
	if code != 503 || !strings.HasPrefix(body, "not ready\n") || !strings.Contains(body, "[-]index: indicator index not loaded\n") ||
		!strings.Contains(body, "[-]pipeline: pipeline not started\n") {
		t.Errorf("/readyz before Watch = %d %q", code, body)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	sinks := &fakeSinks{stats: []sink.Stats{{Name: "soar"}}}
	mon.Watch(ops.Inputs{Pipeline: &stream.Stats{}, Rules: rules, Sinks: sinks})
	code, _, body = get(t, h, "/readyz", nil)
	if code != 200 || body != "ready\n[+]index ok\n[+]pipeline ok\n[+]sinks ok\n" {
		t.Errorf("/readyz when ready = %d %q", code, body)
	}
	sinks.set(0, func(s *sink.Stats) { s.Retries = 2 })
	mon.Sample()
	code, _, body = get(t, h, "/readyz", nil)
	if code != 503 || !strings.Contains(body, `[-]sinks: sink "soar" failing since `) {
		t.Errorf("/readyz with a failing sink = %d %q", code, body)
	}
	mon.Stopped(io.ErrUnexpectedEOF)
	if _, _, body = get(t, h, "/readyz", nil); !strings.Contains(body, "[-]pipeline: pipeline stopped: unexpected EOF\n") {
		t.Errorf("/readyz after Stopped = %q", body)
	}
}

func TestUnknownPathsAndMethods(t *testing.T) {
	h := ops.NewMonitor(ops.Options{}).Handler(ops.Auth{})
	if code, _, _ := get(t, h, "/admin", nil); code != 404 {
		t.Errorf("/admin = %d, want 404", code)
	}
	rec := newPost(t, h, "/metrics")
	if rec != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics = %d, want 405", rec)
	}
}

func newPost(t *testing.T, h http.Handler, path string) int {
	t.Helper()
	srv, err := ops.Serve("127.0.0.1:0", h, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	resp, err := http.Post("http://"+srv.Addr()+path, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestMetricsEndpointServesTheExpositionFormat(t *testing.T) {
	mon := ops.NewMonitor(ops.Options{Source: "file", Version: "v1.2.3", Revision: "0123abcd"})
	mon.Watch(ops.Inputs{Pipeline: &stream.Stats{}})
	code, hdr, body := get(t, mon.Handler(ops.Auth{}), "/metrics", nil)
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}
	for _, want := range []string{
		"# TYPE iocwatch_records_read_total counter\n",
		`iocwatch_records_read_total{source="file",table="DeviceNetworkEvents"} 0`,
		"# TYPE iocwatch_processing_latency_seconds histogram\n",
		"iocwatch_build_info{goversion=\"" + runtime.Version() + `",revision="0123abcd",version="v1.2.3"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestServeListensAndClosesTwice(t *testing.T) {
	srv, err := ops.Serve("127.0.0.1:0", ops.NewMonitor(ops.Options{}).Handler(ops.Auth{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + srv.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok\n" {
		t.Errorf("body %q", body)
	}
	t.Run("a port in use is reported at start with the address", func(t *testing.T) {
		_, err := ops.Serve(srv.Addr(), http.NotFoundHandler(), nil)
		if err == nil || !strings.Contains(err.Error(), srv.Addr()) {
			t.Errorf("err = %v, want one naming %s", err, srv.Addr())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if c, err := net.DialTimeout("tcp", srv.Addr(), time.Second); err == nil {
		c.Close()
		t.Error("still listening after Close")
	}
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:9464", true},
		{"[::1]:9464", true},
		{"localhost:9464", true},
		{":9464", false},
		{"0.0.0.0:9464", false},
		{"[::]:9464", false},
		{"10.1.2.3:9464", false},
		{"not an address", false},
	}
	for _, tt := range tests {
		if got := ops.IsLoopback(tt.addr); got != tt.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}
