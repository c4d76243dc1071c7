package urlcred

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// param matches query parameter names that usually carry credentials.
var param = regexp.MustCompile(`(?i)(key|token|secret|passw|pwd|sig|auth|code|credential)`)

// IsParam reports whether a query parameter named name usually carries a
// credential.
func IsParam(name string) bool { return param.MatchString(name) }

// Values returns the credentials written in the URL s: its password and
// the values of its credential-like query parameters, each as written
// and, when that differs, percent-decoded, so that a redactor finds both
// forms. It returns nil for anything that is not an absolute URL.
func Values(s string) []string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil
	}
	var out []string
	add := func(raw string) {
		if raw == "" {
			return
		}
		out = append(out, raw)
		for _, unescape := range []func(string) (string, error){url.PathUnescape, url.QueryUnescape} {
			if dec, err := unescape(raw); err == nil && dec != "" && !slices.Contains(out, dec) {
				out = append(out, dec)
			}
		}
	}
	if _, ok := u.User.Password(); ok {
		// The password as written: user info is what precedes the last '@'
		// of the authority, the password what follows its first ':'.
		_, rest, _ := strings.Cut(s, "://")
		if i := strings.IndexAny(rest, "/?#"); i >= 0 {
			rest = rest[:i]
		}
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			if _, pass, ok := strings.Cut(rest[:at], ":"); ok {
				add(pass)
			}
		}
	}
	for _, part := range strings.Split(u.RawQuery, "&") {
		if k, v, ok := strings.Cut(part, "="); ok && IsParam(k) {
			add(v)
		}
	}
	return out
}

// BasicAuth returns what HTTP basic authentication sends for user and
// password, base64 "user:password": a peer that echoes the header shows
// this form.
func BasicAuth(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}

// Echoes returns Values(s) and, when s has a password, the BasicAuth form
// of its user info, which Go's HTTP client sends: everything of the URL s
// that a peer it is sent to may echo.
func Echoes(s string) []string {
	out := Values(s)
	if u, err := url.Parse(s); err == nil && u.Host != "" {
		if p, ok := u.User.Password(); ok && p != "" {
			out = append(out, BasicAuth(u.User.Username(), p))
		}
	}
	return out
}

// Redact returns s with its password and credential-like query values
// replaced by mark; anything else, and anything that is not an absolute
// URL, is returned as it is.
func Redact(s, mark string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return s
	}
	changed := false
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "REDACTED")
		changed = true
	}
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, p := range parts {
			k, _, _ := strings.Cut(p, "=")
			if IsParam(k) {
				parts[i] = k + "=" + mark
				changed = true
			}
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	if !changed {
		return s
	}
	return strings.Replace(u.String(), ":REDACTED@", ":"+mark+"@", 1)
}

// Ellipsis stands for what Endpoint leaves out.
const Ellipsis = "…"

// minHidden is the shortest hidden path segment or query value Hidden
// lists on its own: long enough to be a token rather than a word, which
// a redactor replacing it would blank wherever it appears.
const minHidden = 16

// Endpoint returns the URL s as it may be shown when the URL itself may be
// the credential, as a webhook's is (Slack, Teams and Discord put it in
// the path, a Logic App in the query): scheme://host[:port]; then the
// first path segment when it is a plain word — at most 16 characters
// a–z, 0–9, '.', '_' or '-' — and more of the path follows it; then "…"
// for the rest of the path, and "?…" when there is a query. User info and
// the fragment are left out. Splunk HEC's own paths
// (/services/collector, …/event, …/raw, …/ack, …/health) are not secret
// and are shown whole. So:
//
//	https://hooks.slack.com/services/T0/B0/XXXX  →  https://hooks.slack.com/services/…
//	https://x.logic.azure.com:443/workflows/a/b?sig=X  →  https://x.logic.azure.com:443/workflows/…?…
//	https://soar.example/alerts  →  https://soar.example/…
//
// Anything that is not an absolute URL is shown as "…" when it holds '/',
// '?', '#' or '@', and as it is otherwise. Endpoint(Endpoint(s)) is
// Endpoint(s).
func Endpoint(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		if strings.ContainsAny(s, "/?#@") {
			return Ellipsis
		}
		return s
	}
	shown, _ := splitPath(u.EscapedPath())
	out := u.Scheme + "://" + u.Host + shown
	if u.RawQuery != "" {
		out += "?" + Ellipsis
	}
	return out
}

// Hidden returns what of the URL s Endpoint leaves out and a peer it is
// sent to may echo: Echoes(s); the hidden part of the path, as written
// and decoded, when it is at least 16 bytes long; each hidden path
// segment and query value of at least 16 bytes; and the query as a
// whole. It returns nil for anything that is not an absolute URL.
func Hidden(s string) []string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil
	}
	out := Echoes(s)
	add := func(v string) {
		if len(v) >= minHidden && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	addAll := func(v string) {
		add(v)
		if dec, err := url.PathUnescape(v); err == nil {
			add(dec)
		}
	}
	if _, tail := splitPath(u.EscapedPath()); tail != "" {
		addAll(tail)
		for _, seg := range strings.Split(tail, "/") {
			addAll(seg)
		}
		if dec, err := url.PathUnescape(tail); err == nil {
			for _, seg := range strings.Split(dec, "/") {
				add(seg)
			}
		}
	}
	if u.RawQuery != "" {
		addAll(u.RawQuery)
		for _, part := range strings.Split(u.RawQuery, "&") {
			if _, v, ok := strings.Cut(part, "="); ok {
				add(v)
				if dec, err := url.QueryUnescape(v); err == nil {
					add(dec)
				}
			}
		}
	}
	return out
}

// PeerEchoes returns Hidden(s) and, whatever their length, the forms in
// which the peer the URL s is sent to repeats what Endpoint hides of it
// (an error page's "Cannot POST /hooks/Xk29sLq"): when Endpoint hides
// part of the path, the path as sent and decoded, each also without its
// leading '/' (as some frameworks name a route: hooks/Xk29sLq) unless
// that leaves a plain word (alerts), and each also with every '/' written
// "\/" (as PHP's JSON does); when there is a query, the request target
// (path and query) as sent and the query. They are for the scrubbing of
// that peer's own answers, which speak of this URL; not for a redactor of
// every line, where a short path such as /alerts would blank ordinary
// text (Hidden leaves such parts out). It returns nil for anything that
// is not an absolute URL.
func PeerEchoes(s string) []string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil
	}
	out := Hidden(s)
	add := func(v string) {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	if _, tail := splitPath(u.EscapedPath()); tail != "" {
		for _, p := range []string{u.EscapedPath(), u.Path} {
			forms := []string{p}
			if rel := strings.TrimPrefix(p, "/"); strings.Contains(rel, "/") || !plainWord(rel) {
				forms = append(forms, rel)
			}
			for _, f := range forms {
				add(f)
				add(strings.ReplaceAll(f, "/", `\/`))
			}
		}
	}
	if u.RawQuery != "" {
		add(u.RequestURI())
		add(u.RawQuery)
	}
	return out
}

// hecPaths are Splunk HTTP Event Collector's own paths, shown whole.
var hecPaths = map[string]bool{
	"/services/collector": true, "/services/collector/event": true, "/services/collector/event/1.0": true,
	"/services/collector/raw": true, "/services/collector/raw/1.0": true, "/services/collector/ack": true,
	"/services/collector/health": true, "/services/collector/health/1.0": true,
}

// splitPath splits an escaped URL path into what Endpoint shows (ending
// in "…" when something was left out) and what it leaves out.
func splitPath(p string) (shown, hidden string) {
	if p == "" || p == "/" || hecPaths[strings.TrimSuffix(p, "/")] {
		return p, ""
	}
	rest, ok := strings.CutPrefix(p, "/")
	if !ok {
		return "/" + Ellipsis, p
	}
	if first, tail, more := strings.Cut(rest, "/"); more && plainWord(first) {
		if tail == "" {
			return p, ""
		}
		return "/" + first + "/" + Ellipsis, tail
	}
	return "/" + Ellipsis, rest
}

// plainWord reports whether a path segment is 1–16 characters a–z, 0–9,
// '.', '_' or '-': a word such as "services", "api" or "webhookb2", not
// a token.
func plainWord(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}
