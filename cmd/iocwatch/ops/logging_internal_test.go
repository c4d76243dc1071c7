package ops

import (
	"strings"
	"testing"

	"github.com/iocwatch/iocwatch/internal/urlcred"
)

// credentialNameCorpus returns names built from credential words and
// words that only look like them, in the spellings log lines carry them:
// camelCase, capitals, '-', '_' and '.' separated, with words before and
// after.
func credentialNameCorpus() []string {
	words := []string{
		"key", "token", "secret", "sig", "signature", "auth", "authorization", "jwt", "bearer", "hmac",
		"session", "password", "passwd", "pwd", "pass", "passphrase", "credential", "credentials", "code",
		"sign", "oinkcode", "passcode", "keyword", "monkey", "tokenizer", "author", "signal", "secretary",
		"country", "status", "error", "hash", "sid", "nonce", "name", "id", "file", "type", "access", "api",
		"shared", "account", "client", "zip", "uni", "en", "2", "256",
	}
	var out []string
	for _, a := range words {
		for _, b := range words {
			title := strings.ToUpper(b[:1]) + b[1:]
			out = append(out, a+b, a+title, a+"_"+b, a+"-"+title, strings.ToUpper(a+"_"+b), "x."+a+"."+b)
		}
	}
	return out
}

// isCredentialKey agrees with urlcred.IsParam: every name IsParam calls a
// credential is one but those the log shows (shownKeys), and it calls no
// other name one but those credentialKeys lists. Asked twice, so that
// the second answers come from the cache of IsParam's answers.
func TestIsCredentialKeyAgreesWithIsParam(t *testing.T) {
	names := credentialNameCorpus()
	if len(names) <= 2*len(paramCache) {
		t.Fatalf("%d names do not overflow the cache of %d", len(names), len(paramCache))
	}
	for pass := range 2 {
		for _, n := range names {
			got, param := isCredentialKey(n), urlcred.IsParam(n)
			listedCred, listed := listedKey(n)
			switch {
			case param && !got && !(listed && !listedCred):
				t.Errorf("pass %d: isCredentialKey(%q) = false; IsParam calls it a credential", pass, n)
			case got && !param && !listedCred:
				t.Errorf("pass %d: isCredentialKey(%q) = true; neither IsParam nor credentialKeys calls it one", pass, n)
			}
		}
	}
}

// The names the log shows though IsParam hides them are not credentials.
func TestShownKeysAreNotCredentials(t *testing.T) {
	for _, n := range []string{"SharedAccessKeyName", "sharedAccessKeyName", "Shared-Access-Key-Name", "eventhub.SharedAccessKeyName"} {
		if isCredentialKey(n) {
			t.Errorf("isCredentialKey(%q) = true; it is a connection string's policy name", n)
		}
	}
}

// The key=value scan allocates nothing for a line without credentials
// once its words have been seen: it runs on every log record.
func TestRedactKeyValuesAllocatesNothingOnPlainLines(t *testing.T) {
	lines := []string{
		"ops: feed failing; its last good indicators stay in use",
		"GET https://feeds.example/x: dial tcp 10.0.0.1:443: connect: connection refused",
		"sink delivery failed; retrying attempt=3 retry_in=2s",
		"eventhubs: source failed: Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=listen;EntityPath=defender: amqp: link detached",
		"webhook: 503 Service Unavailable: upstream timed out at 12:30:05",
	}
	for _, l := range lines {
		if got := redactKeyValues(l); got != l {
			t.Fatalf("redactKeyValues(%q) = %q, want it unchanged", l, got)
		}
		if n := testing.AllocsPerRun(20, func() { redactKeyValues(l) }); n != 0 {
			t.Errorf("redactKeyValues(%q): %v allocations, want 0", l, n)
		}
	}
}
