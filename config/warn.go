package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/iocwatch/iocwatch/internal/urlcred"
)

// WarnWorldReadable returns a warning when the configuration file at path
// can be read by every user of the machine and holds a secret written in
// clear, naming the keys that hold one in file order: a secret key
// (password, token, connection string, HMAC key, header value) written in
// the file — a value without ${ENV} references, or a reference's default
// (see literalText) —, a sink URL whose path or query is its credential
// (urlcred.Hidden), or a feed URL that carries a key written in the file
// (feedKeyInClear). It returns "" when there is nothing to say, including
// when the file cannot be read (Load reports that). It is safe for
// concurrent use.
func WarnWorldReadable(path string) string {
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&0o004 == 0 {
		return ""
	}
	data, err := ReadFile(path)
	if err != nil {
		return ""
	}
	root, err := parseYAML(data, path)
	if err != nil || root == nil {
		return ""
	}
	d := newDecoder(path, func(string) (string, bool) { return "", true })
	var c Config
	d.value(root, reflect.ValueOf(&c).Elem(), "")
	found := slices.Clone(d.literal)
	for i, f := range c.Feeds {
		p := joinPath(indexPath("feeds", i), "url")
		raw := f.URL
		if e, ok := d.expanded[p]; ok {
			raw = e.raw
		}
		if feedKeyInClear(raw) {
			found = append(found, p)
		}
	}
	if len(found) == 0 {
		return ""
	}
	// In file order: the feeds' URLs were looked at after the rest.
	slices.SortStableFunc(found, func(a, b string) int { return d.lines[a] - d.lines[b] })
	keys := found
	if len(keys) > 5 {
		keys = append(keys[:5:5], fmt.Sprintf("and %d more", len(found)-5))
	}
	return fmt.Sprintf("%s is readable by every user (mode %s) and holds secrets in clear (%s): run chmod 600 on it, or write them as ${ENV} references",
		path, fi.Mode().Perm(), strings.Join(keys, ", "))
}

// envMark stands for the value of every ${NAME} reference when
// feedKeyInClear looks for the credentials written around them: not a
// token, and not found in a URL otherwise.
const envMark = "iocwatch-env-ref"

// feedKeyInClear reports whether raw, a feed URL as written in the file,
// carries a key written there (urlcred.Values: a password, a key as the
// user name, a credential-like query value, a path segment or query value
// that looks like a token): with every reference empty (a reference's
// default is in the file), or one that does not come from a reference
// beside them (a key written after a host that comes from the
// environment). A key that is a reference, or text framing one
// (key=${KEY}, /v2/${KEY}/), is not in clear, as for secrets (literalText).
func feedKeyInClear(raw string) bool {
	withEmpty, _, _ := expand(raw, func(string) (string, bool) { return "", true })
	withMark, _, _ := expand(raw, func(string) (string, bool) { return envMark, true })
	// A password that comes from the environment is empty in withEmpty,
	// which would make the user name before it look like a key
	// (urlcred.UserIsKey): a user name followed by a password is not one.
	if m, err := url.Parse(withMark); err == nil {
		if p, _ := m.User.Password(); p != "" {
			if e, err := url.Parse(withEmpty); err == nil {
				if p, _ := e.User.Password(); p == "" {
					e.User = nil
					withEmpty = e.String()
				}
			}
		}
	}
	if len(urlcred.Values(withEmpty)) > 0 {
		return true
	}
	for _, v := range urlcred.Values(withMark) {
		if !strings.Contains(v, envMark) {
			return true
		}
	}
	return false
}

// Warnings returns the risky but valid settings of c, as "file:line:
// key.path: message" lines in file order: certificate checks turned off,
// credentials sent without TLS (a feed's or webhook's URL's own key over
// http:// included), metrics open to the network without authentication,
// passwords and keys as user names written in URLs in the file, and Event
// Hubs and storage connection strings without TLS. Expired and expiring
// exclusion rules, inline or in files, are the warnings of the compiled
// rules (match.Exclusions.Warnings), not repeated here.
func (c *Config) Warnings() []string {
	ck := &checker{m: c.meta}
	warnInsecure(ck, reflect.ValueOf(c).Elem(), "")
	if c.Source.Type == "kafka" {
		warnSASL(ck, "source.kafka", c.Source.Kafka.TLS, c.Source.Kafka.SASL)
	}
	if c.Source.Type == "eventhubs" {
		warnPlainAzure(ck, "source.eventhubs", c.Source.EventHubs)
	}
	for i, f := range c.Feeds {
		p := indexPath("feeds", i)
		warnURLPassword(ck, p+".url", f.URL)
		switch {
		case (f.Type == "http" || f.Type == "taxii") && (len(f.Headers) > 0 || f.TAXII.Password.IsSet() || f.TAXII.Token.IsSet()):
			warnPlainHTTP(ck, p+".url", f.URL)
		default:
			warnURLKeyPlain(ck, p+".url", f.URL)
		}
	}
	for i, s := range c.Sinks {
		p := indexPath("sinks", i)
		switch s.Type {
		case "kafka":
			warnSASL(ck, p+".kafka", s.Kafka.TLS, s.Kafka.SASL)
		case "webhook":
			warnURLPassword(ck, p+".webhook.url", s.Webhook.URL)
			if len(s.Webhook.Headers) > 0 {
				warnPlainHTTP(ck, p+".webhook.url", s.Webhook.URL)
			} else {
				warnURLKeyPlain(ck, p+".webhook.url", s.Webhook.URL)
			}
		case "splunk_hec":
			warnURLPassword(ck, p+".splunk_hec.url", s.SplunkHEC.URL)
			warnPlainHTTP(ck, p+".splunk_hec.url", s.SplunkHEC.URL)
		}
	}
	if m := c.Metrics; m.Enabled && m.BasicAuth.Username == "" && !m.BearerToken.IsSet() {
		if host, _, err := net.SplitHostPort(m.Listen); err == nil && !loopback(host) {
			ck.add("metrics.listen", "metrics (with device and account names unless hide_identities) are served to the network without authentication")
		}
	}
	var out []string
	for _, e := range ck.sorted() {
		out = append(out, e.Error())
	}
	return out
}

// warnInsecure reports insecure_skip_verify set where it is used.
func warnInsecure(ck *checker, v reflect.Value, path string) {
	for _, f := range fieldsOf(v.Type()) {
		if !f.allowed(v) {
			continue
		}
		fv := v.Field(f.index)
		sub := joinPath(path, f.name)
		switch {
		case f.name == "insecure_skip_verify" && fv.Bool():
			ck.add(sub, "server certificates are not checked; use this for tests only")
		case fv.Kind() == reflect.Struct:
			warnInsecure(ck, fv, sub)
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct && fv.Type().Elem() != ruleType:
			for i := range fv.Len() {
				warnInsecure(ck, fv.Index(i), indexPath(sub, i))
			}
		}
	}
}

func warnSASL(ck *checker, path string, tls TLS, sasl SASL) {
	if sasl.Mechanism == "plain" && !tls.Enabled {
		ck.add(path+".sasl.mechanism", "plain without TLS sends the password in clear")
	}
}

// warnPlainAzure reports connection strings that send their key without
// TLS: the Event Hubs emulator switch (plain AMQP) and a storage account
// reached over http:// (Azurite).
func warnPlainAzure(ck *checker, path string, e EventHubsSource) {
	if e.Auth == "connection_string" && strings.EqualFold(connStringProps(e.ConnectionString.Reveal())["usedevelopmentemulator"], "true") {
		ck.add(path+".connection_string", "UseDevelopmentEmulator=true connects without TLS and sends the key in clear: for a local emulator only")
	}
	if e.Checkpoint.ContainerURL == "" {
		p := connStringProps(e.Checkpoint.ConnectionString.Reveal())
		blob, _ := url.Parse(p["blobendpoint"])
		if strings.EqualFold(p["defaultendpointsprotocol"], "http") || (blob != nil && blob.Scheme == "http") {
			ck.add(path+".checkpoint.connection_string", "the storage account is reached over plain http://: checkpoints and the account key travel without TLS")
		}
	}
}

func warnPlainHTTP(ck *checker, path, rawURL string) {
	if u, err := url.Parse(rawURL); err == nil && u.Scheme == "http" {
		ck.add(path, "credentials are sent over plain http://")
	}
}

// warnURLKeyPlain reports a URL over plain http:// that carries a key
// (urlcred.Values: a password, a key as the user name, a credential-like
// query value, a path segment or query value that looks like a token),
// which is sent with every request, wherever it was written.
func warnURLKeyPlain(ck *checker, path, rawURL string) {
	if len(urlcred.Values(rawURL)) == 0 {
		return
	}
	if u, err := url.Parse(rawURL); err == nil && u.Scheme == "http" {
		ck.add(path, "the key the URL carries is sent over plain http://: use https://")
	}
}

// warnURLPassword reports a password, or a key as the user name
// (urlcred.UserIsKey), written in the file in the URL at path: iocwatch
// hides them wherever it shows the URL, but the file holds them in clear,
// where a ${ENV} reference would keep them out of it. Credentials that
// come from the environment, the whole URL or the part of it, are not
// reported.
func warnURLPassword(ck *checker, path, rawURL string) {
	raw := escapeDollars(rawURL)
	if ck.m != nil {
		if e, ok := ck.m.expanded[path]; ok {
			raw = e.raw
		}
	}
	password, userKey := userInfoInClear(raw)
	switch {
	case password:
		ck.add(path, "%s", "holds a password written in the file: iocwatch hides it wherever it shows the URL, but the file holds it in clear; write it as a ${ENV} reference (https://user:${PASSWORD}@host/…)")
	case userKey:
		ck.add(path, "%s", "holds a key as its user name, written in the file: iocwatch hides it wherever it shows the URL, but the file holds it in clear; write it as a ${ENV} reference (https://${KEY}@host/…)")
	}
}

// userInfoInClear reports whether raw, a URL as written in the file, holds
// a password written there, or a key as its user name (urlcred.UserIsKey)
// written there: with every ${NAME} reference empty (a reference's default
// is in the file), or one that does not come from a reference beside
// them, as feedKeyInClear reads a feed URL. A user name followed by a
// password, from the environment or not, is not a key.
func userInfoInClear(raw string) (password, userKey bool) {
	withEmpty, _, _ := expand(raw, func(string) (string, bool) { return "", true })
	withMark, _, _ := expand(raw, func(string) (string, bool) { return envMark, true })
	e, errEmpty := url.Parse(withEmpty)
	m, errMark := url.Parse(withMark)
	var pEmpty, pMark string
	if errEmpty == nil {
		pEmpty, _ = e.User.Password()
	}
	if errMark == nil {
		pMark, _ = m.User.Password()
	}
	password = pEmpty != "" || pMark != "" && !strings.Contains(pMark, envMark)
	if pMark != "" {
		return password, false
	}
	userKey = errEmpty == nil && urlcred.UserIsKey(e.User) ||
		errMark == nil && urlcred.UserIsKey(m.User) && !strings.Contains(m.User.Username(), envMark)
	return password, userKey
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
