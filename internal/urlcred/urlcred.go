package urlcred

import (
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
)

// IsParam reports whether a query parameter named name usually carries a
// credential. The name, percent-decoded (as written when it does not
// decode), is read as words: it is split at every character other than an
// ASCII letter or digit ('_', '-', '.', '[', …), where a lower-case letter
// is followed by a capital (apiKey) and where letters and digits meet
// (key2), each part is compared lower-cased, and the parts that are
// numbers are left out. It is credential-like when a word
//
//   - contains passw, pwd, pswd or credential (password, passwd, db_pwd,
//     dbpassword, X-Amz-Credential);
//   - is passphrase, or is or ends with pass or pw (pass, dbpass,
//     userpass, rootpw; multipass, Shopify's Multipass login, whose
//     secret signs its tokens), but for words that end so without naming
//     one (compass, bypass, overpass, trespass);
//   - is, or ends with, key, token, secret, sig, signature, auth,
//     authorization, authorisation, authentication, jwt, bearer, hmac,
//     session, sessid or assertion, or one of them followed by s, id or
//     ids (key, api_key, apiKey, apikey, X-Auth-Token, access_token,
//     client_secret, secretid, tokenid, sig, oauth, sessionid,
//     JSESSIONID, PHPSESSID, client_assertion: the signed JWT an OAuth
//     client sends for its secret): a word that merely begins with one
//     (keyword, tokenizer, secretary, signal, author) is not, nor is a
//     word that ends in one without being one (monkey, turkey, hockey,
//     possession, obsession), a key that the word before it, or what
//     precedes key in the word, calls public (public_key, publicKey,
//     pubkey, publishable_key), a token that it calls a pagination
//     cursor (page_token, nextPageToken, NextToken, $skiptoken,
//     $deltatoken, continuation_token), or one that it makes a number
//     (max_sessions, S3's max-keys, maxkeys, num_keys, total_tokens);
//   - is samlresponse or samlart, or is response, art or artifact after
//     saml (SAMLResponse, saml_response: a signed SAML assertion; SAMLart,
//     saml_artifact: the HTTP-Artifact binding's reference to one, which
//     the service provider resolves);
//   - is or ends with otp or ticket, or one of them followed by s (otp,
//     totp, hotp, yubiotp: a one-time password; ticket, service_ticket,
//     proxyTicket: a CAS or Kerberos ticket);
//   - is pin, unless a hash follows it (pin, user_pin, so_pin,
//     trust-store-pin; not pin-sha256, RFC 7469's hash of a public key);
//   - is id after access, or ends with accessid (access_id, accessId,
//     SUMOLOGIC_ACCESSID: the id half of an access key pair as Sumo Logic
//     and LogicMonitor name it, sent with the key or its signature as
//     AccessKeyId is), unless the word before access says it is not
//     secret (GoogleAccessId: a service account's e-mail);
//   - is code, or ends with code (authcode, passcode, oinkcode), unless
//     the word before code, or what precedes code in the word, says what
//     the code is (codeKinds: country_code, countrycode, language_code,
//     status_code, error_code, zipcode, unicode, barcode, qr_code, encode
//     are not credentials; code, code_verifier, auth_code, access_code,
//     verificationcode are);
//   - is sign and is the last word of the name (sign, app_sign, sign2:
//     the request signature of DingTalk's robot webhooks and of Alibaba's
//     and Tencent's APIs; sign_type and sign_up are not).
//
// A name whose last word names an attribute of a credential (attributes:
// its type, kind, method, mode or scheme, its file, path, directory, URL,
// URI or endpoint, its name, size, length, algorithm, version, format,
// lifetime or time, a nonce sent with it, a count of them, whose it is —
// its user, user name or e-mail, but not its users, accounts that come
// with their passwords' hashes (basic_auth_users) —, its policy, its
// state, its location)
// names that attribute, not a credential: token_type (bearer),
// auth_method, client_assertion_type, key_file, key_path, token_url,
// auth_uri, token_endpoint, SharedAccessKeyName, key_size,
// SignatureMethod, session_timeout, oauth_nonce, oauth_timestamp,
// sessions_count, X-Auth-Email (Cloudflare's, beside X-Auth-Key),
// X-Auth-User, password_policy, session_state (OpenID Connect's, a
// salted hash the client's script reads; Keycloak's, the session's sid),
// ssl.key.location (librdkafka's key file). A URL
// so named is not a secret as a whole; its own credentials are found where
// it is shown (Values). A name that ends with a key's id names an
// attribute too (key_id, keyId, KeyID, keyid, private_key_id, api_key_id:
// the id names the key), but not one that ends with an access key's id
// (AccessKeyId, AWSAccessKeyId, access_key_id: the half of a cloud key
// pair that is sent with its signature) nor a secret's, a token's or a
// session's id (Vault's secret_id, Keystone's token id, a session id),
// which are credentials themselves. A name that ends with a ticket's id
// or number names a helpdesk's ticket (ticket_id, ticketId,
// ticket_number). Only the last word counts: key_file_password,
// key_file_contents, password_hint and email_password are credentials.
//
// SAS's other fields (sv, sp, se, sr) are not credentials; its sig is.
// Nor are hash (in a feed's query, an indicator), sid (a rule's or an
// account's id), nonce or kid (a JWT's key id), nor the one- and
// two-letter names some APIs give their key (IntelX's k, Baidu's ak),
// which elsewhere name anything (k=10): such keys are found by their
// shape (IsToken: a UUID, 32 letters and digits).
func IsParam(name string) bool {
	if dec, err := url.QueryUnescape(name); err == nil {
		name = dec
	}
	var words []string
	for _, p := range nameParts(name) {
		if !isDigit(p[0]) {
			words = append(words, p)
		}
	}
	if len(words) == 0 || namesAttribute(words) {
		return false
	}
	for i, w := range words {
		prev := "" // the word before this one
		if i > 0 {
			prev = words[i-1]
		}
		if credentialWord(prev, w) || w == "code" && !codeKinds[prev] || pinOrAccessID(words, i) {
			return true
		}
	}
	return words[len(words)-1] == "sign"
}

// pinOrAccessID reports whether words[i], among the words of a name (see
// IsParam), is a PIN or an access id, which the words around it decide:
//
//   - pin, unless a hash follows it (RFC 7469's pin-sha256 is the hash of
//     a public key: a certificate pin);
//   - an id after access, or a word that ends with accessid (access_id,
//     accessId, SUMOLOGIC_ACCESSID: the id half of an access key pair, as
//     Sumo Logic and LogicMonitor name it, sent with the key or its
//     signature as AccessKeyId is), unless the word before access, or
//     what precedes accessid in the word, says it is not secret
//     (GoogleAccessId: a service account's e-mail).
func pinOrAccessID(words []string, i int) bool {
	w := words[i]
	if w == "pin" {
		return i+1 == len(words) || !pinHashes[words[i+1]]
	}
	stem, ok := strings.CutSuffix(strings.TrimSuffix(w, "s"), "accessid")
	if !ok && (w == "id" || w == "ids") && i > 0 && words[i-1] == "access" {
		stem, ok, i = "", true, i-1
	}
	if !ok {
		return false
	}
	if stem == "" && i > 0 {
		stem = words[i-1]
	}
	return !notSecret["accessid"][stem]
}

// pinHashes are the words that, after pin, make it the hash of a public key
// (pin-sha256, pin_sha1, pin-md5: digits are not words).
var pinHashes = map[string]bool{"sha": true, "md": true}

// nameParts splits a query parameter's name into its parts, lower-cased:
// at every character other than an ASCII letter or digit, between a
// lower-case letter and a capital, and between letters and digits.
func nameParts(name string) []string {
	var parts []string
	start := -1
	for i := 0; i <= len(name); i++ {
		var c byte
		if i < len(name) {
			c = name[i]
		}
		alnum := isDigit(c) || isLowerByte(c) || isUpperByte(c)
		if start >= 0 && (!alnum || isUpperByte(c) && isLowerByte(name[i-1]) || isDigit(c) != isDigit(name[i-1])) {
			parts = append(parts, strings.ToLower(name[start:i]))
			start = -1
		}
		if alnum && start < 0 {
			start = i
		}
	}
	return parts
}

// attributes are the words that, as the last word of a name, make it
// name an attribute of the credential before them rather than the
// credential (token_type, auth_method, key_file, token_url,
// SharedAccessKeyName, key_size, SignatureVersion, session_timeout,
// oauth_nonce, sessions_count, X-Auth-Email, password_policy,
// session_state, ssl.key.location).
var attributes = map[string]bool{
	"type": true, "types": true, "kind": true, "method": true, "methods": true, "mode": true, "scheme": true,
	"file": true, "files": true, "path": true, "paths": true, "dir": true, "url": true, "urls": true, "uri": true,
	"uris": true, "endpoint": true, "endpoints": true, "name": true, "names": true, "size": true, "length": true,
	"len": true, "bits": true, "alg": true, "algorithm": true, "version": true, "format": true, "ttl": true,
	"lifetime": true, "timeout": true, "expiry": true, "expiration": true, "timestamp": true, "nonce": true,
	"count": true, "counts": true,
	// Whose credential it is, its rules, its state, where it is kept.
	// Not users: a credential's users are its accounts, each with its
	// password's hash (basic_auth_users, Traefik's basicauth.users).
	"user": true, "username": true, "usernames": true, "email": true, "emails": true,
	"policy": true, "policies": true, "state": true, "states": true, "location": true, "locations": true,
}

// namesAttribute reports whether a name, as its words (see IsParam),
// names an attribute of a credential: its last word is one of attributes,
// it ends with a ticket's id or number (ticket_id, ticketId,
// ticket_number: a helpdesk's ticket), or it ends with a key's id (key_id,
// keyId, keyid, apikeyid) that is not an access key's (AccessKeyId).
func namesAttribute(words []string) bool {
	last := words[len(words)-1]
	if attributes[last] {
		return true
	}
	// A ticket's id or number names a helpdesk's ticket (ticket_id,
	// ticketId, ticket_number), not a CAS or Kerberos ticket.
	for _, ref := range []string{"id", "number", "num", "no"} {
		if ticket, ok := strings.CutSuffix(strings.TrimSuffix(last, "s"), ref); ok {
			if ticket == "" && len(words) > 1 {
				ticket = words[len(words)-2]
			}
			if strings.HasSuffix(strings.TrimSuffix(ticket, "s"), "ticket") {
				return true
			}
		}
	}
	var key, before string // the word that ends in key, and the word before it
	if last == "id" || last == "ids" {
		if len(words) < 2 {
			return false
		}
		key = words[len(words)-2]
		if len(words) > 2 {
			before = words[len(words)-3]
		}
	} else if k, ok := strings.CutSuffix(strings.TrimSuffix(last, "s"), "id"); ok {
		key = k
		if len(words) > 1 {
			before = words[len(words)-2]
		}
	}
	stem, ok := strings.CutSuffix(key, "key")
	if !ok || endsWithAny(key, notCredentials["key"]) {
		return false
	}
	if stem == "" {
		stem = before
	}
	return !strings.HasSuffix(stem, "access")
}

// credentialSuffixes are the credential words a word of a parameter's
// name may be or end with (apikey, accesstoken, clientsecret, oauth),
// alone or followed by s, id or ids (credentialWord).
var credentialSuffixes = []string{
	"key", "token", "secret", "sig", "signature", "auth", "authorization", "authorisation", "authentication",
	"jwt", "bearer", "hmac", "session", "sessid", "assertion",
}

// notCredentials are, for a credential word (and pass), the words that
// end in it without naming it: a word that ends with one of them
// (monkeys, possession, bypass) is not taken for that credential.
var notCredentials = map[string][]string{
	"key":     {"monkey", "donkey", "turkey", "hockey", "jockey", "whiskey", "lackey", "turnkey", "malarkey", "flunkey", "hotkey", "smokey", "pokey", "hokey"},
	"session": {"possession", "obsession"},
	"pass":    {"compass", "bypass", "overpass", "underpass", "trespass", "surpass", "highpass", "lowpass", "bandpass", "allpass"},
}

// notSecret are, for a credential word, the words that, as the word
// before it or as what precedes it in its word, say that it is not a
// secret: a public key, a pagination cursor (page_token, NextToken,
// OData's $skiptoken and $deltatoken, Azure's continuation token).
var notSecret = map[string]map[string]bool{
	"key": {"public": true, "pub": true, "publishable": true},
	"token": {"page": true, "nextpage": true, "next": true, "skip": true, "delta": true, "continuation": true,
		"pagination": true},
	// Google's signed URLs name the signing service account's e-mail
	// GoogleAccessId.
	"accessid": {"google": true},
}

// quantities are the words that, as the word before a credential word or
// as what precedes it in its word, make it a number of credentials
// (max_sessions, S3's max-keys, maxkeys, num_keys, total_tokens).
var quantities = map[string]bool{"max": true, "min": true, "num": true, "total": true}

// codeKinds are the words that, as the word before a word code or before
// code within a word, say what the code is (country_code, countrycode,
// status_code, zipcode, unicode, qr_code, encode): such a code is not a
// credential. Any other word before code (auth, access, pass, oink,
// verification, promo) leaves it one.
var codeKinds = map[string]bool{
	"country": true, "language": true, "lang": true, "locale": true, "currency": true, "region": true,
	"state": true, "province": true, "area": true, "postal": true, "post": true, "zip": true, "iso": true,
	"status": true, "error": true, "err": true, "response": true, "http": true, "exit": true,
	"return": true, "result": true, "reason": true, "event": true, "product": true, "type": true,
	// Words that end in code without naming a secret.
	"en": true, "de": true, "trans": true, "uni": true, "bar": true, "qr": true, "op": true, "geo": true,
	"short": true, "hash": true, "char": true, "source": true, "byte": true, "color": true, "colour": true,
	"pseudo": true, "micro": true, "shell": true,
}

// credentialWord reports whether a word w of a parameter's name, after
// the word prev ("" for the first), names a credential by itself
// (IsParam's rules but for a word code or sign on its own, which depend
// on the words around them, and for the attribute a name's last word may
// name).
func credentialWord(prev, w string) bool {
	if strings.Contains(w, "passw") || strings.Contains(w, "pwd") || strings.Contains(w, "pswd") ||
		strings.Contains(w, "credential") || w == "passphrase" || strings.HasSuffix(w, "pw") ||
		strings.HasSuffix(w, "pass") && !endsWithAny(w, notCredentials["pass"]) {
		return true
	}
	if c, ok := strings.CutSuffix(w, "code"); ok && c != "" && !codeKinds[c] {
		return true
	}
	// An id after the word is that credential's too (secretid, as
	// Vault's AppRole names its secret; tokenids).
	base := strings.TrimSuffix(strings.TrimSuffix(w, "s"), "id")
	for _, c := range credentialSuffixes {
		for _, q := range []string{w, base} {
			one := strings.TrimSuffix(q, "s")
			stem, ok := strings.CutSuffix(one, c)
			if !ok || endsWithAny(one, notCredentials[c]) {
				continue
			}
			if stem == "" {
				stem = prev
			}
			if notSecret[c][stem] || quantities[stem] {
				continue
			}
			return true
		}
	}
	// A word that is or ends with otp (a one-time password: otp, totp,
	// hotp, yubiotp) or ticket (a CAS service or proxy ticket, a
	// Kerberos ticket: ticket, service_ticket, proxyTicket).
	if one := strings.TrimSuffix(w, "s"); strings.HasSuffix(one, "otp") || strings.HasSuffix(one, "ticket") {
		return true
	}
	// A SAML response is a signed assertion (SAMLResponse,
	// saml_response), and a SAML artifact stands for one (SAMLart,
	// saml_artifact).
	if m, ok := strings.CutPrefix(w, "saml"); ok && samlCredentials[m] {
		return true
	}
	return prev == "saml" && samlCredentials[w]
}

// samlCredentials are the SAML messages that, after saml, are bearer
// credentials: a response (a signed assertion) and the HTTP-Artifact
// binding's artifact, which the service provider resolves into one.
var samlCredentials = map[string]bool{"response": true, "art": true, "artifact": true}

// endsWithAny reports whether w ends with one of words.
func endsWithAny(w string, words []string) bool {
	return slices.ContainsFunc(words, func(n string) bool { return strings.HasSuffix(w, n) })
}

func isDigit(c byte) bool     { return c >= '0' && c <= '9' }
func isLowerByte(c byte) bool { return c >= 'a' && c <= 'z' }
func isUpperByte(c byte) bool { return c >= 'A' && c <= 'Z' }

// Values returns the credentials written in the URL s: its user name when
// that is a key (UserIsKey), its password, the path segments that look
// like tokens (IsToken: an API key in the path, as some feeds take it),
// and the values of its credential-like query parameters and the query
// values that look like tokens, each as written and, when that differs,
// percent-decoded, so that a redactor finds both forms. They are what
// Redact hides. It returns nil for anything that is not an absolute URL.
func Values(s string) []string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil
	}
	var out []string
	add := func(raw string) {
		if raw == "" || slices.Contains(out, raw) {
			return
		}
		out = append(out, raw)
		for _, unescape := range []func(string) (string, error){url.PathUnescape, url.QueryUnescape} {
			if dec, err := unescape(raw); err == nil && dec != "" && !slices.Contains(out, dec) {
				out = append(out, dec)
			}
		}
	}
	if u.User != nil {
		// The user name and password as written: user info is what
		// precedes the last '@' of the authority, the password what
		// follows its first ':'.
		user, pass, hasPass := strings.Cut(userInfo(s), ":")
		if UserIsKey(u.User) {
			add(user)
		}
		if hasPass {
			add(pass)
		}
	}
	for _, seg := range strings.Split(u.EscapedPath(), "/") {
		if tokenSegment(seg) {
			add(seg)
		}
	}
	for _, part := range strings.Split(u.RawQuery, "&") {
		if _, v, ok := queryCredential(part); ok {
			add(v)
		}
	}
	return out
}

// userInfo returns the user info of the absolute URL s as written: what
// precedes the last '@' of its authority ("" when there is none).
func userInfo(s string) string {
	_, rest, _ := strings.Cut(s, "://")
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		return rest[:at]
	}
	return ""
}

// UserIsKey reports whether the user info of a URL holds a key as its
// user name, as some feed and webhook providers take their API key (the
// key as the basic-auth user: https://<key>@feeds.example/list.txt, or
// https://<key>:@… as curl -u key: writes it): there is no password, or
// an empty one, and the user name is not an account's name (isAccountName):
// a token (IsToken), more than 16 characters, or not words. A user name
// that is words (soar, svc-iocwatch, first.last, Admin, SOAR,
// Administrator) is a user name, and so is any user name followed by a
// password, which is then the credential.
func UserIsKey(user *url.Userinfo) bool {
	if user == nil {
		return false
	}
	if p, _ := user.Password(); p != "" {
		return false
	}
	name := user.Username()
	return name != "" && !isAccountName(name)
}

// maxCapitals is the most letters a word in capitals of an account's name
// has (SOAR, ADMIN, IOCWATCH): a longer run of capitals alone
// (QWERTZUIOPASDFGH) is a key of letters.
const maxCapitals = 8

// isAccountName reports whether name, a URL's user name as decoded, reads as
// an account's name rather than a key: it is not a token (IsToken), it is
// at most 16 characters, and it is either a plain word (plainWord: soar,
// svc-iocwatch, first.last, svc01) or words separated by '.', '_' or '-',
// each ASCII letters — lower-case, capitalised or all capitals, at most
// one word in capitals and that of at most 8 letters — followed by at
// most 4 digits (Admin, SOAR, Administrator, SOC-Analyst, Svc_Iocwatch2,
// SOAR-2024). Mixed case within a word (Kd8Wq1Ys5Hc4, AbCdEf), digits
// among the letters of a word with a capital (AK7PQ2WM9ZX4), groups of
// capitals (ABCD-EFGH), more than 8 capitals (QWERTZUIOPASDFGH,
// ADMINISTRATOR) and any other character ('+', '=', '@', '%') are a
// key's.
func isAccountName(name string) bool {
	if len(name) > 16 || IsToken(name) {
		return false
	}
	if plainWord(name) {
		return true
	}
	capitals := 0
	for _, w := range strings.FieldsFunc(name, func(r rune) bool { return r == '.' || r == '_' || r == '-' }) {
		letters := strings.TrimRight(w, "0123456789")
		if len(w)-len(letters) > 4 {
			return false
		}
		switch {
		case letters == "" || allBytes(letters, isLowerByte) || isUpperByte(letters[0]) && allBytes(letters[1:], isLowerByte):
		case allBytes(letters, isUpperByte) && len(letters) <= maxCapitals:
			capitals++
		default:
			return false
		}
	}
	return capitals <= 1
}

// allBytes reports whether every byte of s satisfies f.
func allBytes(s string, f func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !f(s[i]) {
			return false
		}
	}
	return true
}

// BasicAuth returns what HTTP basic authentication sends for user and
// password, base64 "user:password": a peer that echoes the header shows
// this form.
func BasicAuth(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}

// Echoes returns Values(s) and, when s has a password or its user name is
// a key (UserIsKey), the BasicAuth form of its user info, which Go's HTTP
// client sends (a key as the user goes with an empty password):
// everything of the URL s that a peer it is sent to may echo.
func Echoes(s string) []string {
	out := Values(s)
	if u, err := url.Parse(s); err == nil && u.Host != "" {
		if p, ok := u.User.Password(); ok && p != "" || UserIsKey(u.User) {
			out = append(out, BasicAuth(u.User.Username(), p))
		}
	}
	return out
}

// Redact returns s with what Values lists replaced by mark: its user name
// when that is a key (UserIsKey: no password, and not an account's name),
// its password, each path segment that looks like a token (IsToken) and
// the values of its credential-like query parameters (IsParam) and the
// query values that look like tokens. The rest of the URL — a user name
// followed by a password, or one that is an account's name (soar, Admin)
// — and anything that is not an absolute URL, is returned as it is. So
//
//	https://feeds.example.com/api/v1/9f86d08188…/ip-blocklist.txt?fmt=csv&key=k1
//	https://Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1@feeds.example.com/list.txt
//
// become https://feeds.example.com/api/v1/[redacted]/ip-blocklist.txt?fmt=csv&key=[redacted]
// and https://[redacted]@feeds.example.com/list.txt with mark "[redacted]".
func Redact(s, mark string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return s
	}
	changed := false
	user, password := false, false
	if u.User != nil {
		name := u.User.Username()
		if UserIsKey(u.User) {
			name, user = redactedUser, true
		}
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(name, "REDACTED")
			password = true
		} else {
			u.User = url.User(name)
		}
		changed = user || password
	}
	segs := strings.Split(u.EscapedPath(), "/")
	for i, seg := range segs {
		if tokenSegment(seg) {
			segs[i] = mark
			changed = true
		}
	}
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, p := range parts {
			if k, _, ok := queryCredential(p); ok {
				if k == "" {
					parts[i] = mark
				} else {
					parts[i] = k + "=" + mark
				}
				changed = true
			}
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	if !changed {
		return s
	}
	// The path is put back as built: url.URL would escape the mark.
	u.Path, u.RawPath = "", ""
	out := u.String()
	if user {
		out = strings.Replace(out, "://"+redactedUser, "://"+mark, 1)
	}
	if password {
		out = strings.Replace(out, ":REDACTED@", ":"+mark+"@", 1)
	}
	at := len(u.Scheme) + len("://")
	if i := strings.IndexAny(out[at:], "?#"); i >= 0 {
		at += i
	} else {
		at = len(out)
	}
	return out[:at] + strings.Join(segs, "/") + out[at:]
}

// redactedUser stands for a user name that Redact hides until the URL is
// written out (url.URL would escape the mark).
const redactedUser = "REDACTEDUSER"

// queryCredential reports whether a part of a query (k=v, or a value
// alone) holds a credential: k is credential-like (IsParam) or v looks
// like a token. It returns the key ("" for a value alone) and the value
// as written.
func queryCredential(part string) (k, v string, ok bool) {
	k, v, hasKey := strings.Cut(part, "=")
	if !hasKey {
		k, v = "", part
	}
	if v == "" {
		return k, v, false
	}
	if hasKey && IsParam(k) {
		return k, v, true
	}
	if dec, err := url.QueryUnescape(v); err == nil {
		return k, v, IsToken(dec)
	}
	return k, v, IsToken(v)
}

// tokenSegment reports whether an escaped path segment looks like a
// token once decoded (as written when it does not decode): "%20" and the
// like are not part of a token.
func tokenSegment(seg string) bool {
	if dec, err := url.PathUnescape(seg); err == nil {
		return IsToken(dec)
	}
	return IsToken(seg)
}

// minTokenRun is the shortest run of letters and digits that IsToken
// takes for a token when it mixes them; longRun the shortest taken
// whatever its characters.
const (
	minTokenRun = 16
	longRun     = 32
)

// IsToken reports whether s, a path segment or a query value as decoded,
// looks like a credential (an API key, a token, a capability id) rather
// than a word, a file name or a date:
//
//   - it holds a run of at least 16 ASCII letters and digits that are all
//     digits or mix letters and digits (at least two changes from one to
//     the other: 9f86d081884c7d65…, Kd8Wq1Ys5Hc4Gx2Zp3), or a run of at
//     least 32 whatever they are;
//   - or it is at least 32 characters of a base64 token — letters, digits,
//     '+', '/', '-', '_' and '=' — a digit among them (a token that those
//     cut into shorter runs);
//   - or it is a UUID (8-4-4-4-12 hexadecimal digits).
//
// ipblocklist_recommended.txt, firehol_level1.netset,
// blocklistrecommended2024.txt, iocs-20240630.csv and v1 are not. A long
// commit hash in a path is taken for a token too.
func IsToken(s string) bool {
	if IsUUID(s) {
		return true
	}
	var run, letters, changes int
	var prevDigit, digit bool
	b64 := true
	for i := 0; i <= len(s); i++ {
		if i < len(s) {
			c := s[i]
			num := isDigit(c)
			if num || isLowerByte(c) || isUpperByte(c) {
				if run > 0 && num != prevDigit {
					changes++
				}
				if !num {
					letters++
				}
				run++
				prevDigit = num
				digit = digit || num
				continue
			}
			if !strings.ContainsRune("+/-_=", rune(c)) {
				b64 = false
			}
		}
		if run >= longRun || run >= minTokenRun && (letters == 0 || changes >= 2) {
			return true
		}
		run, letters, changes = 0, 0, 0
	}
	return b64 && digit && len(s) >= longRun
}

// IsUUID reports whether s is a UUID (a GUID) written as 8-4-4-4-12
// hexadecimal digits, in either case.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
				return false
			}
		}
	}
	return true
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
// a–z, 0–9, '.', '_' or '-', and not a token (IsToken: 16 hexadecimal
// digits may be one) — and more of the path follows it; then "…"
// for the rest of the path, and "?…" when there is a query. User info and
// the fragment are left out. Splunk HEC's own paths
// (/services/collector, …/event, …/raw, …/ack, …/health, …/mint, …/s2s,
// and …/1.0 after event, raw, health or mint) are not secret and are
// shown whole. So:
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
	"/services/collector/mint": true, "/services/collector/mint/1.0": true, "/services/collector/s2s": true,
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
	if first, tail, more := strings.Cut(rest, "/"); more && plainWord(first) && !IsToken(first) {
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
