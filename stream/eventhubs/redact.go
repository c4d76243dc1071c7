package eventhubs

import (
	"errors"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// secretKeyRE finds the secret parts of connection strings and SAS tokens
// that may appear in an error from a dependency: key=value pairs of
// connection strings (SharedAccessKey, SharedAccessSignature, AccountKey) and
// the signature of a SAS query (sig=).
var secretKeyRE = regexp.MustCompile(`(?i)\b(SharedAccessKey|SharedAccessSignature|AccountKey|sig)=([^;&\s"']+)`)

// redactor removes known secrets from text. The zero value removes only
// what secretKeyRE finds. Immutable after newRedactor; safe for concurrent
// use.
type redactor struct {
	secrets []string // longest first, so that a whole string goes before its parts
}

// newRedactor returns a redactor for the given secrets: connection strings
// (replaced whole), URLs (their query, a SAS, and their credentials are
// replaced; a plain container URL is no secret, any other URL without a
// query is replaced whole) and the key and signature values inside them.
func newRedactor(secrets ...string) *redactor {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		s = strings.TrimSpace(s)
		if len(s) < 4 || seen[s] { // a 1–3 character "secret" would shred the text
			return
		}
		seen[s] = true
		out = append(out, s)
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		switch i := strings.IndexByte(s, '?'); {
		case i >= 0 && strings.Contains(s[:i], "://"):
			add(s[i+1:]) // a URL: only its query (a SAS) is secret
		case plainURL(s):
			// A container URL without a query names the container and
			// holds no secret: errors that name it stay readable.
		default:
			add(s)
		}
		for _, c := range urlCredentials(s) {
			add(c)
		}
		for _, m := range secretKeyRE.FindAllStringSubmatch(s, -1) {
			add(m[2])
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return &redactor{secrets: out}
}

// plainURLRE matches what a container URL is made of: an http(s) scheme, a
// host name or IPv4 address with an optional port, and a path of container
// (and emulator account) names. Nothing else — credentials, a query, a
// fragment, a percent escape, a '=' — can be told from a secret.
var plainURLRE = regexp.MustCompile(`^https?://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9$._~-]*)*$`)

// plainURL reports whether s is a URL that names a container and can hold
// no secret.
func plainURL(s string) bool {
	return plainURLRE.MatchString(s)
}

// urlCredentials returns the credentials of a URL ("https://user:pw@host"),
// as written and decoded: the password and the user with it, or the user
// alone when there is no password (a token written as a user name).
func urlCredentials(s string) []string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return nil
	}
	var out []string
	if i := strings.Index(s, "://"); i >= 0 {
		authority := s[i+3:]
		if j := strings.IndexAny(authority, "/?#"); j >= 0 {
			authority = authority[:j]
		}
		if j := strings.LastIndexByte(authority, '@'); j >= 0 {
			user, pw, hasPW := strings.Cut(authority[:j], ":")
			out = append(out, authority[:j])
			if hasPW {
				out = append(out, pw)
			} else {
				out = append(out, user)
			}
		}
	}
	if pw, ok := u.User.Password(); ok {
		out = append(out, u.User.String(), u.User.Username()+":"+pw, pw)
	} else {
		out = append(out, u.User.Username())
	}
	return out
}

// String returns s without secrets.
func (r *redactor) String(s string) string {
	if r != nil {
		for _, sec := range r.secrets {
			if strings.Contains(s, sec) {
				s = strings.ReplaceAll(s, sec, redactedMark)
			}
		}
	}
	return secretKeyRE.ReplaceAllString(s, "${1}="+redactedMark)
}

// Err wraps err so that its message carries no secret. errors.Is and
// errors.As still see the original error.
func (r *redactor) Err(err error) error {
	if err == nil {
		return nil
	}
	var re *redactedError
	if errors.As(err, &re) && re.msg == err.Error() {
		return err // already clean
	}
	msg := r.String(err.Error())
	return &redactedError{msg: msg, err: err}
}

// redactedError is an error whose message was cleaned of secrets.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
