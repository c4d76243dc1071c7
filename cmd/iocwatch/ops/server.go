package ops

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultListen is where Serve listens when given no address: loopback
// only, so nothing is exposed unless the config says so.
const DefaultListen = "127.0.0.1:9464"

// Auth protects every endpoint. The zero value is no authentication. With
// Username set, requests need HTTP basic authentication with Username and
// Password; with BearerToken set, "Authorization: Bearer <token>"; with
// both, either is accepted.
type Auth struct {
	Username, Password string
	BearerToken        string
}

func (a Auth) enabled() bool { return a.Username != "" || a.BearerToken != "" }

// allows reports whether r carries the credentials, comparing in constant
// time (over hashes, so the length does not leak either).
func (a Auth) allows(r *http.Request) bool {
	if !a.enabled() {
		return true
	}
	if a.Username != "" {
		if u, p, ok := r.BasicAuth(); ok && equal(u, a.Username) && equal(p, a.Password) {
			return true
		}
	}
	if a.BearerToken != "" {
		h := r.Header.Get("Authorization")
		const scheme = "bearer "
		if len(h) > len(scheme) && strings.EqualFold(h[:len(scheme)], scheme) && equal(strings.TrimSpace(h[len(scheme):]), a.BearerToken) {
			return true
		}
	}
	return false
}

func equal(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// Handler returns the HTTP handler of every endpoint:
//
//	/metrics  Prometheus exposition of the monitor's registry
//	/healthz  200 "ok" while the process serves (liveness)
//	/readyz   200 "ready", or 503 with one line per failing condition
//	/         the status page (?hide=1 hides device and account names)
//
// With auth enabled every endpoint requires it (401 otherwise).
func (m *Monitor) Handler(auth Auth) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slogErrorLog{m.opt.Log},
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg,
		Timeout:       10 * time.Second,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		plain(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", m.serveReady)
	mux.HandleFunc("GET /{$}", m.serveStatus)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		if !auth.allows(r) {
			if auth.Username != "" {
				h.Set("WWW-Authenticate", `Basic realm="iocwatch", charset="UTF-8"`)
			} else {
				h.Set("WWW-Authenticate", `Bearer realm="iocwatch"`)
			}
			plain(w, http.StatusUnauthorized, "unauthorized\n")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// serveReady answers /readyz: 200 "ready", or 503 and the reasons. Every
// condition is listed Kubernetes-style ("[+]index ok", "[-]sinks: …").
func (m *Monitor) serveReady(w http.ResponseWriter, _ *http.Request) {
	ready, res := m.check()
	var b strings.Builder
	if ready {
		b.WriteString("ready\n")
	} else {
		b.WriteString("not ready\n")
	}
	for _, c := range res {
		if c.Err != nil {
			fmt.Fprintf(&b, "[-]%s: %s\n", c.Name, oneLine(c.Err.Error()))
		} else {
			fmt.Fprintf(&b, "[+]%s ok\n", c.Name)
		}
	}
	code := http.StatusOK
	if !ready {
		code = http.StatusServiceUnavailable
	}
	plain(w, code, b.String())
}

func plain(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// slogErrorLog passes promhttp's errors to the log.
type slogErrorLog struct{ log *slog.Logger }

func (l slogErrorLog) Println(v ...any) {
	l.log.Warn("ops: metrics exposition", "err", strings.TrimSpace(fmt.Sprintln(v...)))
}

// Server is a running HTTP listener. The zero value is not usable; Close
// is safe for concurrent use and to call twice.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// Serve listens on addr ("" means DefaultListen) and serves h in a new
// goroutine until Close. It returns once the listener is bound, so a
// port in use is reported at start.
func Serve(addr string, h http.Handler, log *slog.Logger) (*Server, error) {
	if addr == "" {
		addr = DefaultListen
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ops: listen on %s: %w", addr, err)
	}
	s := &Server{
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    16 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		},
		ln:   ln,
		done: make(chan error, 1),
	}
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
		close(s.done)
	}()
	return s, nil
}

// Addr returns the address the server listens on ("127.0.0.1:9464").
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops accepting connections and waits, until ctx is done, for the
// requests in progress; then it closes what is left.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(fmt.Errorf("ops: shutdown: %w", err), s.srv.Close())
	}
	if serveErr := <-s.done; serveErr != nil {
		err = errors.Join(err, fmt.Errorf("ops: serve: %w", serveErr))
	}
	return err
}

// IsLoopback reports whether addr (host:port) listens on loopback only.
// An empty host or a wildcard listens everywhere.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
