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
