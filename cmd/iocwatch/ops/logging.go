package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/iocwatch/iocwatch/internal/urlcred"
)

// redacted replaces a secret in log lines and on the status page.
const redacted = "[redacted]"

// MinSecretLen is the shortest secret value a Redactor replaces
// literally; shorter ones would blank out ordinary words. (Such values are
// still never logged through config.Secret, which redacts itself.)
const MinSecretLen = 4

// shownKeys are names that urlcred.IsParam calls credentials but that
// name something else in a log line: the Azure identity SDK's credential
// types write their error message after their name
// ("ManagedIdentityCredential: no default identity is assigned to this
// resource"), which would otherwise lose its first word. (IsParam itself
// shows a connection string's SharedAccessKeyName, its policy's name, and
// a key_file, a path: their last words name an attribute of the key.)
// Names are compared lower-cased without '-', '_' and '.', and a name is
// shown when one of its '-', '_' or '.' separated tails is listed
// (azidentity.ClientSecretCredential). Every other name is a credential
// when IsParam calls it one (credentialKeyAt).
var shownKeys = map[string]bool{
	// azidentity's credential types
	"defaultazurecredential": true, "chainedtokencredential": true, "environmentcredential": true,
	"workloadidentitycredential": true, "managedidentitycredential": true, "azureclicredential": true,
	"azuredeveloperclicredential": true, "azurepowershellcredential": true, "azurepipelinescredential": true,
	"clientsecretcredential": true, "clientcertificatecredential": true, "clientassertioncredential": true,
	"usernamepasswordcredential": true, "devicecodecredential": true, "interactivebrowsercredential": true,
	"onbehalfofcredential": true,
}

// credentialPatterns find the credentials that are neither key=value nor
// a URL password (both scanned by hand, faster than a regexp; an
// Authorization header is a key=value): the first group is kept, the
// credential replaced, and the second group, when there is one, kept
// too. Each runs only when its trigger (lower-case) is in the text.
var credentialPatterns = []struct {
	trigger string
	re      *regexp.Regexp
}{
	// Bearer <token>, Splunk <HEC token>, SharedAccessSignature sr=… outside a header.
	// A bearer token (RFC 6750's b64token) has '=' only at its end: a
	// name=value after Bearer ("token_type=Bearer key_id=…") is another
	// field, not a token.
	{"bearer", regexp.MustCompile(`(\b(?:Bearer|bearer)\s+)[A-Za-z0-9._~+/-]{16,}=*([^A-Za-z0-9._~+/=-]|$)`)},
	{"splunk", regexp.MustCompile(`(\bSplunk\s+)[0-9A-Fa-f-]{32,}`)},
	{"sharedaccesssignature", regexp.MustCompile(`(\bSharedAccessSignature\s+)[^"'\s,;}]+`)},
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
		if len(s) < MinSecretLen {
			continue
		}
		// The value as written, and as a peer's answer or an error text
		// may carry it: quoted (Go %q, JSON) and percent-encoded.
		quoted := strconv.Quote(s)
		js, _ := json.Marshal(s)
		for _, v := range []string{s, quoted[1 : len(quoted)-1], string(js[1 : len(js)-1]), url.QueryEscape(s), url.PathEscape(s)} {
			if !slices.Contains(r.secrets, v) {
				r.secrets = append(r.secrets, v)
			}
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
// credential (what follows its scheme, whatever the scheme) and URL
// password replaced by "[redacted]". A nil Redactor redacts by shape only.
func (r *Redactor) String(s string) string {
	s = r.Values(s)
	s = redactKeyValues(s)
	s = redactURLPasswords(s)
	var lower string
	for _, p := range credentialPatterns {
		if lower == "" {
			lower = strings.ToLower(s)
		}
		if strings.Contains(lower, p.trigger) {
			s = p.re.ReplaceAllString(s, "${1}"+redacted+"${2}")
			lower = ""
		}
	}
	return s
}

// Values returns s with every known secret value replaced by
// "[redacted]": as given, Go- or JSON-quoted, percent-encoded, and its
// start where an excerpt cut it off before "…". Unlike String it leaves
// text shaped like a credential alone. A nil Redactor returns s.
func (r *Redactor) Values(s string) string {
	if r == nil || r.repl == nil {
		return s
	}
	s = r.repl.Replace(s)
	if strings.Contains(s, ellipsis) {
		s = r.redactCutSecrets(s)
	}
	return s
}

// ellipsis marks where an excerpt was cut ("…").
const ellipsis = "\u2026"

// redactCutSecrets replaces the start of a secret that an excerpt cut off
// just before an ellipsis (an error quoting the first bytes of a peer's
// answer that echoes a credential): at least MinSecretLen bytes of it.
func (r *Redactor) redactCutSecrets(s string) string {
	var b strings.Builder
	done := 0
	for from := 0; ; {
		i := strings.Index(s[from:], ellipsis)
		if i < 0 {
			break
		}
		i += from
		from = i + len(ellipsis)
		cut := 0 // the longest secret prefix that s[done:i] ends with
		for _, sec := range r.secrets {
			for k := min(len(sec)-1, i-done); k >= MinSecretLen && k > cut; k-- {
				if strings.HasSuffix(s[done:i], sec[:k]) {
					cut = k
					break
				}
			}
		}
		if cut == 0 {
			continue
		}
		b.WriteString(s[done : i-cut])
		b.WriteString(redacted)
		done = i
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// redactKeyValues replaces the value of every credential key (see
// credentialKeyAt) written key=value, key: value, key="value",
// "key":"value", \"key\":\"value\" (Go-quoted JSON), "key":["value"] or
// Key:[value] (Go's http.Header). See credentialValue for what the value
// is.
func redactKeyValues(s string) string {
	var b strings.Builder
	done := 0       // s[:done] is in b (or unchanged when b is empty)
	var open [2]int // s[open[0]:open[1]] holds no ']' and ends a line: see listEnd
	for i := 0; i < len(s); i++ {
		if s[i] != '=' && s[i] != ':' {
			continue
		}
		// The key: word characters before optional spaces and a quote,
		// escaped or not.
		j := i
		for j > 0 && (s[j-1] == ' ' || s[j-1] == '\t') {
			j--
		}
		if j > 0 && (s[j-1] == '"' || s[j-1] == '\'') {
			j--
			for j > 0 && s[j-1] == '\\' {
				j--
			}
		}
		k := j
		for k > 0 && isKeyByte(s[k-1]) {
			k--
		}
		if k == j || !credentialKeyAt(s, k, j) {
			continue
		}
		v, e, ok := credentialValue(s, i+1, authorizationName(s[k:j]), inQuery(s, k), &open)
		if !ok {
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[done:v])
		b.WriteString(redacted)
		done, i = e, e-1
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// credentialValue returns where the credential written after a
// credential key's '=' or ':' at s[v-1] starts and ends, or false when
// there is none (or it is already redacted). It starts after spaces, a
// '[' (a JSON array, Go's http.Header) and a quote, escaped or not, and
// after a scheme (Bearer …, see afterScheme; with anyScheme, any word
// shaped like one, see afterAnyScheme). It ends
//
//   - in a list, at its ']' (every value of the list is hidden), less
//     the closing quote;
//   - when quoted, at the closing quote (spaces, escaped quotes and
//     separators inside are the value's: "correct horse", a PEM key);
//   - after an Authorization scheme, at the end of its parameters when
//     it has some (Digest username="…", response="…"; AWS4-HMAC-SHA256
//     Credential=…, Signature=…);
//   - after a scheme's token (Bearer …), or after a name, ':' and
//     spaces (a header, prose: "invalid token: expired, retrying"), at
//     ';', '&', ',', '}', a quote, a space, or a colon followed by a
//     space ("…?key=x: 503 Service Unavailable");
//   - with query, a URL's query or fragment parameter (see inQuery),
//     at the same characters: a URL writes a space as + or %20, so the
//     text after one is not the value's ("…?key=x 403 Forbidden");
//   - otherwise — name=value, or Go's Name:value —, at the same
//     characters but a space: spaces and the words after them are the
//     value's (a passphrase: password=correct horse battery staple) up
//     to the next pair written the same way (" a=1", ` msg="…"`,
//     " Region:eu"), or the end of the line (see valueEnd).
//
// A quote or list left open on the line is read as if it were not there;
// open is listEnd's.
func credentialValue(s string, v int, anyScheme, query bool, open *[2]int) (start, end int, ok bool) {
	sep := s[v-1] // '=' or ':'
	for v < len(s) && (s[v] == ' ' || s[v] == '\t') {
		v++
	}
	// Words after spaces are the value's after '=' (but in a URL), or
	// after a ':' that the value follows at once (Go's {Password:…});
	// after ": " they are prose.
	words := !query && (sep == '=' || s[v-1] == sep)
	if strings.HasPrefix(s[v:], redacted) {
		return 0, 0, false
	}
	list := -1 // the list's ']'
	if v < len(s) && s[v] == '[' {
		if c := listEnd(s, v+1, open); c >= 0 {
			list = c
			v++
			for v < list && (s[v] == ' ' || s[v] == '\t') {
				v++
			}
		}
	}
	quote := "" // the opening quote with the backslashes that escape it
	q := v
	for q < len(s) && s[q] == '\\' {
		q++
	}
	if q < len(s) && (s[q] == '"' || s[q] == '\'') {
		quote, v = s[v:q+1], q+1
	}
	scheme := v
	if anyScheme {
		v = afterAnyScheme(s, v)
	} else {
		v = afterScheme(s, v)
	}
	if strings.HasPrefix(s[v:], redacted) {
		return 0, 0, false
	}
	// A list holds its values; after a scheme, the credential is one
	// token (RFC 9110's token68) or parameters (authParamsEnd).
	words = words && list < 0 && v == scheme
	e := -1
	switch {
	case list >= 0:
		e = list
		for e > v && (s[e-1] == ' ' || s[e-1] == '\t') {
			e--
		}
		if quote != "" && strings.HasSuffix(s[v:e], quote) {
			e -= len(quote)
		}
	case quote != "":
		e = closingQuote(s, v, quote)
	case anyScheme:
		e = authParamsEnd(s, v)
	}
	if e < 0 {
		e = valueEnd(s, v, sep, words)
	}
	if e <= v || s[v:e] == redacted {
		return 0, 0, false
	}
	return v, e, true
}

// valueEnd returns where an unquoted value that starts at s[v] ends: at
// the first character that ends a value (endsValue) — with words, not at
// a space or a tab but at the spaces before the next pair written name,
// sep, value (startsPair: " a=1", or " Region:eu" for Go's Name:value),
// before what ends a value, or before the end of the line or of s.
func valueEnd(s string, v int, sep byte, words bool) int {
	e := v
	for {
		for e < len(s) && !endsValue(s, e) {
			e++
		}
		if !words || e == len(s) || s[e] != ' ' && s[e] != '\t' {
			return e
		}
		n := e
		for n < len(s) && (s[n] == ' ' || s[n] == '\t') {
			n++
		}
		if n == len(s) || endsValue(s, n) || startsPair(s, n, sep) {
			return e
		}
		e = n
	}
}

// inQuery reports whether the name that starts at s[k] is a parameter of
// a URL's query or fragment (?key=…, &sig=…, #access_token=…): it follows
// '?', '&' or '#'.
func inQuery(s string, k int) bool {
	return k > 0 && (s[k-1] == '?' || s[k-1] == '&' || s[k-1] == '#')
}

// listEnd returns the index of the first ']' in s from i on, before the
// end of the line, or -1. s[open[0]:open[1]] is a span known to hold no
// ']' up to the end of its line, which listEnd keeps: a line of many
// lists left open is read once, not once for each.
func listEnd(s string, i int, open *[2]int) int {
	if open[0] <= i && i < open[1] {
		return -1
	}
	for e := i; e < len(s); e++ {
		switch s[e] {
		case ']':
			return e
		case '\n':
			*open = [2]int{i, e}
			return -1
		}
	}
	*open = [2]int{i, len(s)}
	return -1
}

// closingQuote returns where the quoted value that starts at s[v], after
// the opening quote open, ends: the index of the closing quote (with the
// backslashes that escape it as they escaped the opening one), before the
// end of the line; or -1. With open a bare quote, a quote after an odd
// number of backslashes is part of the value (JSON's and Go's \"); with
// open n backslashes and a quote (a quoted value quoted again: Go's %q of
// a JSON body writes \"), the closing quote is one after a number of
// backslashes that is n modulo 2(n+1) — the inner string's own escaped
// quotes come after more.
func closingQuote(s string, v int, open string) int {
	n := len(open) - 1
	for e := v; e < len(s) && s[e] != '\n'; e++ {
		if s[e] != open[n] {
			continue
		}
		r := 0
		for e-r-1 >= v && s[e-r-1] == '\\' {
			r++
		}
		if r%(2*(n+1)) == n {
			return e - n
		}
	}
	return -1
}

// authParamsEnd returns where the parameters of an Authorization scheme
// that start at s[v] end — name=value or name="value", separated by
// commas: Digest username="bob", response="…"; AWS4-HMAC-SHA256
// Credential=…, SignedHeaders=…, Signature=… —, or -1 when s[v] starts
// none (a token: Bearer eyJ…, Basic Ym9i…=).
func authParamsEnd(s string, v int) int {
	end := -1
	for p := v; ; {
		n := p
		for n < len(s) && isKeyByte(s[n]) {
			n++
		}
		if n == p || n+1 >= len(s) || s[n] != '=' {
			return end
		}
		n++
		if s[n] == '"' {
			c := closingQuote(s, n+1, `"`)
			if c < 0 {
				return end
			}
			n = c + 1
		} else {
			m := n
			for m < len(s) && !strings.ContainsRune(" \t\r\n,&\"'}]", rune(s[m])) {
				m++
			}
			if m == n {
				return end
			}
			n = m
		}
		end = n
		for n < len(s) && (s[n] == ' ' || s[n] == '\t') {
			n++
		}
		if n == len(s) || s[n] != ',' {
			return end
		}
		p = n + 1
		for p < len(s) && (s[p] == ' ' || s[p] == '\t') {
			p++
		}
	}
}

// authSchemes are the schemes written before a credential ("Bearer …")
// under any credential name, which the redactor keeps and the credential
// after them it removes. Under an Authorization header's name every word
// shaped like a scheme is one (afterAnyScheme); elsewhere only these are,
// so that prose after a credential's name ("password: required for
// SCRAM-SHA-512") is not read as a scheme and the word after it hidden.
var authSchemes = []string{"Bearer", "Basic", "Splunk", "SharedAccessSignature"}

// afterScheme returns where the credential starts in a value that starts
// at s[v]: after a scheme (authSchemes, any case) and the spaces that
// follow it, or at v. A token scheme (Bearer, Basic, Splunk) followed by
// a name=value pair is the whole value, and the pair another field
// (x_token=bearer key_id=k7: the value is bearer, and key_id is judged on
// its own): their tokens hold '=' only at their end (base64's padding).
// SharedAccessSignature's credential is name=value pairs (sr=…&sig=…).
func afterScheme(s string, v int) int {
	n := knownSchemeEnd(s, v)
	if n == v {
		return v
	}
	scheme := s[v:n]
	for n < len(s) && (s[n] == ' ' || s[n] == '\t') {
		n++
	}
	if !strings.EqualFold(scheme, "SharedAccessSignature") && startsPair(s, n, '=') {
		return v
	}
	return n
}

// startsPair reports whether a pair written name, sep, value (sep '=' or
// ':', as Go prints a struct's fields) starts at s[n]: a name (isKeyByte)
// and sep followed by a value — a quoted one too (msg="…", as slog's text
// lines write it) —, not by another sep (a token's padding: Ym9iOnB3ZA==)
// or by what else ends a value.
func startsPair(s string, n int, sep byte) bool {
	m := n
	for m < len(s) && isKeyByte(s[m]) {
		m++
	}
	if m == n || m+1 >= len(s) || s[m] != sep || s[m+1] == sep {
		return false
	}
	return s[m+1] == '"' || s[m+1] == '\'' || !endsValue(s, m+1)
}

// maxSchemeLen is the longest word afterAnyScheme takes for a scheme
// (SharedAccessSignature is 21 characters, AWS4-HMAC-SHA256 16).
const maxSchemeLen = 24

// maxSchemePart is the most letters and digits a '-' or '_' separated
// part of a scheme has (SharedKeyLite 13, MediaBrowser 12, GoogleLogin
// 11): a longer run is a key's (QWERTZUIOPASDFGHJKLY, a key of 20
// letters), as a run of 16 is a token's to urlcred.IsToken. Of the
// schemes with a longer word, only SharedAccessSignature (authSchemes)
// is one.
const maxSchemePart = 15

// afterAnyScheme returns where the credential starts in the value of an
// Authorization header that starts at s[v]: after its scheme, whatever it
// is (Bearer, Basic, token, Bot, SSWS, ApiKey, Digest,
// AWS4-HMAC-SHA256, …), and the spaces that follow it; or at v, when the
// value is a credential alone. A scheme is one of authSchemes, or a word
// followed by spaces and more of the value, of at most maxSchemeLen
// letters, digits, '-' and '_', starting with a letter; each of its '-'
// or '_' separated parts is letters then digits, at most maxSchemePart of
// them, and a part that starts in lower case has no capitals. So a key
// written alone (k-9f86d081…, ghp_16C7e4…, AKIA…, xKqPzWv, 16 letters or
// more) is not a scheme and is hidden whole.
func afterAnyScheme(s string, v int) int {
	n := schemeEnd(s, v)
	if n == v {
		n = knownSchemeEnd(s, v)
	}
	if n == v || n == len(s) || (s[n] != ' ' && s[n] != '\t') {
		return v
	}
	m := n
	for m < len(s) && (s[m] == ' ' || s[m] == '\t') {
		m++
	}
	if m == len(s) || endsValue(s, m) || s[m] == ']' {
		return v
	}
	return m
}

// knownSchemeEnd returns the end of the scheme of authSchemes (any case)
// that starts at s[v] and is followed by a space or a tab, or v when none
// does.
func knownSchemeEnd(s string, v int) int {
	for _, sc := range authSchemes {
		n := v + len(sc)
		if n < len(s) && (s[n] == ' ' || s[n] == '\t') && strings.EqualFold(s[v:n], sc) {
			return n
		}
	}
	return v
}

// schemeEnd returns the end of the word shaped like a scheme that starts
// at s[v] (see afterAnyScheme), or v when none does.
func schemeEnd(s string, v int) int {
	digits, lower := false, false // in this part: a digit seen; it starts in lower case
	part := 0                     // the letters and digits of this part so far
	for n := v; n < len(s); n++ {
		if n-v == maxSchemeLen+1 {
			return v
		}
		c := s[n]
		switch {
		case c == '-' || c == '_':
			if n == v || s[n-1] == '-' || s[n-1] == '_' {
				return v
			}
			digits, lower, part = false, false, 0
			continue
		case c >= '0' && c <= '9':
			if n == v {
				return v
			}
			digits = true
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			first := n == v || s[n-1] == '-' || s[n-1] == '_'
			if digits || lower && c <= 'Z' {
				return v // a letter after a digit, a capital in a part that starts in lower case
			}
			lower = lower || first && c >= 'a'
		default:
			return n
		}
		if part++; part > maxSchemePart {
			return v // a run of letters too long for a scheme's word: a key's
		}
	}
	return len(s)
}

// authorizationName reports whether a credential key names an
// Authorization header, whose value may start with any scheme
// (afterAnyScheme): its last word is Authorization, Authorisation or
// Authentication, any case (Proxy-Authorization, X_Authorization).
func authorizationName(key string) bool {
	for _, w := range []string{"authorization", "authorisation", "authentication"} {
		if len(key) >= len(w) && strings.EqualFold(key[len(key)-len(w):], w) {
			return true
		}
	}
	return false
}

// redactURLPasswords replaces the password of every scheme://user:pass@
// in s.
func redactURLPasswords(s string) string {
	var b strings.Builder
	done := 0
	for from := 0; ; {
		i := strings.Index(s[from:], "://")
		if i < 0 {
			break
		}
		start := from + i + 3
		from = start
		// The authority ends at '/', '?', '#', a space or the end; its
		// user info at its last '@' (as url.Parse reads it: a password
		// may hold '@'), and there is none without one.
		end := -1
		for a := start; a < len(s) && !strings.ContainsRune("/?# \t\r\n", rune(s[a])); a++ {
			if s[a] == '@' {
				end = a
			}
		}
		if end < 0 {
			continue
		}
		colon := strings.IndexByte(s[start:end], ':')
		if colon < 0 || s[start+colon+1:end] == redacted || start+colon+1 == end {
			continue
		}
		b.WriteString(s[done : start+colon+1])
		b.WriteString(redacted)
		done, from = end, end
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

func isKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

// endsValue reports whether s[i] ends a credential value.
func endsValue(s string, i int) bool {
	switch s[i] {
	case ';', '&', ',', '}', '"', '\'', ' ', '\t', '\n', '\r':
		return true
	case ':':
		return i+1 == len(s) || s[i+1] == ' '
	}
	return false
}

// credentialKeyAt reports whether the key s[k:j] written in s names a
// credential: urlcred.IsParam calls it one by its words (SessionToken,
// secretKey, X-Hub-Signature-256, code, auth, sign, jwt, oinkcode, but
// not keyword, status_code or monkey) and it is not one of shownKeys. It
// is read with the word written before it, spaces between, as IsParam
// reads the words of a name: in prose the word before code says what the
// code is ("unexpected status code: 503", "ERROR CODE:
// AuthorizationFailed", as in status_code), while "auth code: …" or a code
// alone stays a credential; and "public key: …" or "page token: …" is
// shown, as public_key and page_token are. A word that is the value of
// another field (written right after its '=' or ':': mode=public key=…)
// is not read with the name.
func credentialKeyAt(s string, k, j int) bool {
	key := s[k:j]
	if !cachedIsParam(key) || shownKey(key) {
		return false
	}
	w := k
	for w > 0 && (s[w-1] == ' ' || s[w-1] == '\t') {
		w--
	}
	p := w
	for p > 0 && isKeyByte(s[p-1]) {
		p--
	}
	// A word written right after '=' or ':' is another field's value
	// (mode=public key=…, Go's &{Kind:public Key:…}), which says nothing
	// of this name.
	if w == k || p == w || p > 0 && (s[p-1] == '=' || s[p-1] == ':') {
		return true
	}
	// A word before the name can only take the credential away from a
	// code, key or token that it qualifies (status code, public key, page
	// token, max sessions): IsParam finds every other credential word of
	// the name where it was.
	return urlcred.IsParam(s[p:w] + " " + key)
}

// shownKey reports whether key, or one of its '-', '_' or '.' separated
// tails, is one of shownKeys.
func shownKey(key string) bool {
	for {
		if len(key) <= 32 {
			var buf [32]byte
			n := 0
			for i := 0; i < len(key); i++ {
				c := key[i]
				switch {
				case c == '-' || c == '_' || c == '.':
					continue
				case c >= 'A' && c <= 'Z':
					c += 'a' - 'A'
				}
				buf[n] = c
				n++
			}
			if shownKeys[string(buf[:n])] {
				return true
			}
		}
		cut := strings.IndexAny(key, "-_.")
		if cut < 0 {
			return false
		}
		key = key[cut+1:]
	}
}

// paramCache holds urlcred.IsParam's latest answers. IsParam allocates
// (it splits a name into lower-cased words), the redactor asks it about
// the word before every '=' and ':' of every log line, and those words
// (ops, https, tcp, a port, a time) come back line after line. A slot is
// chosen by an FNV-1a hash of the name; a name whose slot another took
// is asked again.
var paramCache [256]atomic.Pointer[paramAnswer]

// maxCachedName is the longest name paramCache keeps: longer ones are
// rare and asked every time.
const maxCachedName = 48

// paramAnswer is urlcred.IsParam(name).
type paramAnswer struct {
	name string
	cred bool
}

// cachedIsParam returns urlcred.IsParam(name), from paramCache when it is
// there.
func cachedIsParam(name string) bool {
	if len(name) > maxCachedName {
		return urlcred.IsParam(name)
	}
	slot := &paramCache[paramSlot(name)]
	if a := slot.Load(); a != nil && a.name == name {
		return a.cred
	}
	cred := urlcred.IsParam(name)
	// A copy: name is part of a log line, which the cache must not keep.
	slot.Store(&paramAnswer{name: strings.Clone(name), cred: cred})
	return cred
}

// paramSlot returns the index of name's slot in paramCache: its FNV-1a
// hash, modulo the cache's size.
func paramSlot(name string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(name); i++ {
		h = (h ^ uint32(name[i])) * 16777619
	}
	return h % uint32(len(paramCache))
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
