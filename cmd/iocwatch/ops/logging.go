package ops

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
)

// redacted replaces a secret in log lines and on the status page.
const redacted = "[redacted]"

// MinSecretLen is the shortest secret value a Redactor replaces
// literally; shorter ones would blank out ordinary words. (Such values are
// still never logged through config.Secret, which redacts itself.)
const MinSecretLen = 4

// credentialPatterns find credentials by their shape, whatever their
// value: connection-string keys (Event Hubs, Storage), credential query
// parameters and key=value pairs, Authorization schemes, and the password
// of a URL. The first group is kept, the rest replaced.
var credentialPatterns = []*regexp.Regexp{
	// SharedAccessKey=…;  AccountKey=…;  sig=…&  password=…  token: …
	regexp.MustCompile(`(?i)((?:SharedAccessKey|SharedAccessSignature|AccountKey|sig|signature|password|passwd|pwd|secret|client_secret|token|access_token|refresh_token|api[_-]?key|apikey|auth[_-]?key|hmac[_-]?secret)["']?\s*[=:]\s*["']?)[^;&\s"',}]+`),
	// Authorization: <anything> (a header as text, with or without a scheme)
	regexp.MustCompile(`(?i)(\b(?:Proxy-)?Authorization["']?\s*[:=]\s*["']?(?:(?:Bearer|Basic|Splunk|SharedAccessSignature)\s+)?)[^"'\s,;}]+`),
	// Bearer <token>, Splunk <HEC token>, SharedAccessSignature sr=… outside a header
	regexp.MustCompile(`(\b(?:Bearer|bearer)\s+)[A-Za-z0-9._~+/=-]{16,}`),
	regexp.MustCompile(`(\bSplunk\s+)[0-9A-Fa-f-]{32,}`),
	regexp.MustCompile(`(\bSharedAccessSignature\s+)[^"'\s,;}]+`),
	// scheme://user:password@host
	regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^/@\s:]*:)[^/@\s]+(@)`),
}

// Redactor removes secrets from text: every value it was given (the
// config's secrets, revealed) and every credential recognised by its
// shape (see String). The zero value redacts by shape only. Safe for
// concurrent use.
type Redactor struct {
	secrets []string // longest first, so a secret inside another is not left half-replaced
	repl    *strings.Replacer
}

// NewRedactor returns a Redactor for these secret values; empty values and
// values shorter than MinSecretLen are ignored.
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	for _, s := range secrets {
		if len(s) >= MinSecretLen && !slices.Contains(r.secrets, s) {
			r.secrets = append(r.secrets, s)
		}
	}
	slices.SortFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
	if len(r.secrets) > 0 {
		pairs := make([]string, 0, 2*len(r.secrets))
		for _, s := range r.secrets {
			pairs = append(pairs, s, redacted)
		}
		r.repl = strings.NewReplacer(pairs...)
	}
	return r
}

// String returns s with every known secret value, connection-string key,
// credential parameter (key=, sig=, token=, password=, …), Authorization
// credential (Bearer, Basic, Splunk) and URL password replaced by
// "[redacted]". A nil Redactor redacts by shape only.
func (r *Redactor) String(s string) string {
	if r != nil && r.repl != nil {
		s = r.repl.Replace(s)
	}
	for _, re := range credentialPatterns {
		s = re.ReplaceAllString(s, "${1}"+redacted+"${2}")
	}
	return s
}

// Handler returns a slog.Handler that redacts, with r, the message and
// every attribute (strings, errors, and anything else whose text shows a
// secret) before passing the record to next.
func (r *Redactor) Handler(next slog.Handler) slog.Handler {
	return &redactHandler{next: next, r: r}
}

// NewLogger returns the process logger: text or JSON ("json") lines at
// level ("debug", "info", "warn", "error"; anything else is info) on w,
// redacting secrets (the given values and every credential-shaped text,
// see Redactor.String).
func NewLogger(w io.Writer, level, format string, secrets ...string) *slog.Logger {
	var lv slog.Level
	switch level {
	case "debug":
		lv = slog.LevelDebug
	case "warn":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(NewRedactor(secrets...).Handler(h))
}

type redactHandler struct {
	next slog.Handler
	r    *Redactor
}

func (h *redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.String(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *redactHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = h.attr(a)
	}
	return &redactHandler{next: h.next.WithAttrs(clean), r: h.r}
}

func (h *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{next: h.next.WithGroup(name), r: h.r}
}

// attr redacts one attribute, recursing into groups.
func (h *redactHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.String(v.String()))
	case slog.KindGroup:
		g := v.Group()
		clean := make([]any, len(g))
		for i, ga := range g {
			clean[i] = h.attr(ga)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		x := v.Any()
		if err, ok := x.(error); ok {
			return slog.String(a.Key, h.r.String(err.Error()))
		}
		text := fmt.Sprintf("%+v", x)
		if clean := h.r.String(text); clean != text {
			return slog.String(a.Key, clean)
		}
		return slog.Attr{Key: a.Key, Value: v}
	default:
		return slog.Attr{Key: a.Key, Value: v}
	}
}
