package ops

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
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

// A name alone is a credential to the log's key=value scan exactly when
// urlcred.IsParam calls it one and the log does not show it (shownKeys):
// the log and a URL's shown form read names by one rule. Asked twice, so
// that the second answers come from the cache of IsParam's answers.
func TestCredentialKeyAgreesWithIsParam(t *testing.T) {
	names := credentialNameCorpus()
	if len(names) <= 2*len(paramCache) {
		t.Fatalf("%d names do not overflow the cache of %d", len(names), len(paramCache))
	}
	for pass := range 2 {
		for _, n := range names {
			got, want := credentialKeyAt(n, 0, len(n)), urlcred.IsParam(n) && !shownKey(n)
			if got != want {
				t.Errorf("pass %d: credentialKeyAt(%q) = %v, want %v (IsParam %v, shown %v)",
					pass, n, got, want, urlcred.IsParam(n), shownKey(n))
			}
		}
	}
}

// A connection string's policy name, a TLS key's file and the Azure
// identity credential types are not credentials to the log, however they
// are written: IsParam shows the first two, shownKeys the others.
func TestShownKeysAreNotCredentials(t *testing.T) {
	for _, n := range []string{"SharedAccessKeyName", "sharedAccessKeyName", "Shared-Access-Key-Name", "eventhub.SharedAccessKeyName",
		"key_file", "tls.key_file", "ManagedIdentityCredential", "DefaultAzureCredential", "azidentity.ClientSecretCredential"} {
		if credentialKeyAt(n, 0, len(n)) {
			t.Errorf("credentialKeyAt(%q) = true; the log shows it", n)
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

// Loggers on many goroutines share the cache of IsParam's answers: names
// that take the same slot, and names too long to be kept, each get
// IsParam's own answer, and (under -race) the cache is read and written
// without a data race.
func TestIsParamCacheUnderConcurrentLoggers(t *testing.T) {
	// A credential name and a plain one that share a slot, so that each
	// keeps pushing the other out.
	cred, plain := "token", ""
	for i := 0; plain == "" && i < 100000; i++ {
		if n := "word" + strconv.Itoa(i); paramSlot(n) == paramSlot(cred) {
			plain = n
		}
	}
	if plain == "" {
		t.Fatal("no name shares a slot with token")
	}
	long := strings.Repeat("x", maxCachedName) + "_token"
	longPlain := strings.Repeat("x", maxCachedName) + "_word"
	want := map[string]bool{cred: true, plain: false, long: true, longPlain: false}
	for n, w := range want {
		if got := urlcred.IsParam(n); got != w {
			t.Fatalf("urlcred.IsParam(%q) = %v; the test expects %v", n, got, w)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				for n, w := range want {
					if got := cachedIsParam(n); got != w {
						select {
						case errs <- fmt.Sprintf("goroutine %d, round %d: cachedIsParam(%q) = %v, want %v", g, i, n, got, w):
						default:
						}
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
