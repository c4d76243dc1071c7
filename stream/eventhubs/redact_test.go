package eventhubs

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func TestRedactor(t *testing.T) {
	red := newRedactor(testConn, testBlob, "https://contosock.blob.core.windows.net/iocwatch?"+testSAS)
	tests := []struct {
		name, in string
		absent   []string
		present  []string
	}{
		{
			name:    "a whole connection string is replaced, its endpoint with it",
			in:      "dial " + testConn + ": refused",
			absent:  []string{testKey, "SharedAccessKeyName=listen"},
			present: []string{"dial [REDACTED]: refused"},
		},
		{
			name:    "a key quoted alone is replaced",
			in:      `bad key "` + testKey + `"`,
			absent:  []string{testKey},
			present: []string{`bad key "[REDACTED]"`},
		},
		{
			name:    "a storage account key is replaced",
			in:      "AccountName=contosock;AccountKey=" + testBlobKy,
			absent:  []string{testBlobKy},
			present: []string{"AccountName=contosock"},
		},
		{
			name:    "a SAS query is replaced but the container URL stays",
			in:      "GET https://contosock.blob.core.windows.net/iocwatch?" + testSAS + ": 403",
			absent:  []string{"c2FzLXNpZ25hdHVyZS1ub3QtcmVhbA"},
			present: []string{"https://contosock.blob.core.windows.net/iocwatch?", ": 403"},
		},
		{
			name:    "an unknown key in key=value form is still caught by its name",
			in:      "Endpoint=sb://x/;SharedAccessKeyName=a;SharedAccessKey=someOtherKeyValue123;",
			absent:  []string{"someOtherKeyValue123"},
			present: []string{"SharedAccessKey=[REDACTED]"},
		},
		{
			name:    "an unknown SAS signature is caught by sig=",
			in:      "https://a.blob.core.windows.net/c?sv=1&sig=abc%2Bdef&se=2",
			absent:  []string{"abc%2Bdef"},
			present: []string{"sig=[REDACTED]&se=2"},
		},
		{
			name:    "text without secrets is unchanged",
			in:      `eventhubs: hub "defender" in namespace contoso-sec.servicebus.windows.net: not found`,
			present: []string{`eventhubs: hub "defender" in namespace contoso-sec.servicebus.windows.net: not found`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := red.String(tt.in)
			for _, a := range tt.absent {
				if strings.Contains(got, a) {
					t.Errorf("%q still contains %q", got, a)
				}
			}
			for _, p := range tt.present {
				if !strings.Contains(got, p) {
					t.Errorf("%q lacks %q", got, p)
				}
			}
		})
	}
}

func TestRedactedErrorKeepsItsChain(t *testing.T) {
	red := newRedactor(testConn)
	inner := fmt.Errorf("connect %s: %w", testConn, context.DeadlineExceeded)
	err := red.Err(fmt.Errorf("eventhubs: hub %q: %w", "defender", inner))
	if strings.Contains(err.Error(), testKey) {
		t.Errorf("error %q contains the key", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is lost the cause of %q", err)
	}
	if again := red.Err(err); again != err {
		t.Errorf("redacting twice wrapped again: %q", again)
	}
	if red.Err(nil) != nil {
		t.Error("Err(nil) != nil")
	}
}

// realisticKey is the alphabet of SAS keys and signatures (base64, URL
// escapes); the redactor promises nothing for one-to-three character keys.
var realisticKey = regexp.MustCompile(`^[A-Za-z0-9+/=%_-]{4,}$`)

// FuzzRedact checks that no connection-string key survives redaction,
// wherever it appears in an error message. Seeds run as ordinary tests.
func FuzzRedact(f *testing.F) {
	f.Add("dial ", testKey, ": refused")              // a real-looking key, the string in an error
	f.Add("", "abcd", "")                             // the shortest key that is redacted
	f.Add("SharedAccessKey=", "Xy/+==", "; tail")     // the key right after its name
	f.Add("[RED", "ACTEDkey", "]")                    // text around it that looks like the mark
	f.Add("%", "a%2Bb%3D", "&sig=")                   // URL-escaped characters
	f.Add(strings.Repeat("x", 300), "key0key0", "\n") // long text
	f.Fuzz(func(t *testing.T, prefix, key, suffix string) {
		if !realisticKey.MatchString(key) || strings.Contains(redactedMark, key) {
			return
		}
		conn := "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=" + key
		red := newRedactor(conn)
		for _, msg := range []string{
			prefix + conn + suffix,
			prefix + key + suffix,
			prefix + "SharedAccessKey=" + key + suffix,
			prefix + conn + suffix + key + prefix,
		} {
			out := red.Err(errors.New(msg)).Error()
			if strings.Contains(out, key) {
				t.Fatalf("key %q survives in %q (from %q)", key, out, msg)
			}
		}
	})
}

// FuzzResolve checks that any connection string and container URL give a
// result or an error, never a panic, and that the error never shows the
// secret parts.
func FuzzResolve(f *testing.F) {
	f.Add(testConn, "")                                                                  // a valid connection string
	f.Add(testConn+";EntityPath=defender", "https://a.blob.core.windows.net/c?"+testSAS) // both stores given
	f.Add("Endpoint=sb://[;SharedAccessKey=k3y-value", "")                               // an endpoint url.Parse rejects
	f.Add("UseDevelopmentEmulator=true;Endpoint=http://x;SharedAccessKey=abcd1234", "")
	f.Add("", "::not a url?sig=s1gnature")
	f.Add("=;=;;SharedAccessSignature=SharedAccessSignature sr=x&sig=zzzz&se=1", "https://h/c?sig=")
	f.Fuzz(func(t *testing.T, conn, containerURL string) {
		opt := Options{Hub: "h", ConnectionString: conn, CheckpointContainerURL: containerURL, CheckpointContainer: "c"}
		red := newRedactor(conn, containerURL)
		_, err := opt.resolve()
		texts := []string{opt.String(), fmt.Sprintf("%v %+v %#v", opt, opt, opt)}
		if err != nil {
			texts = append(texts, red.Err(err).Error())
		}
		var secrets []string
		for _, m := range secretKeyRE.FindAllStringSubmatch(conn+"&"+containerURL, -1) {
			if len(m[2]) >= 4 && !strings.Contains(redactedMark, m[2]) && !strings.ContainsAny(m[2], "[]") {
				secrets = append(secrets, m[2])
			}
		}
		for _, text := range texts {
			for _, s := range secrets {
				if strings.Contains(text, s) {
					t.Fatalf("secret %q appears in %q", s, text)
				}
			}
		}
	})
}

// A container URL without a query holds no secret: errors and logs that
// name the checkpoint container by it (with auth default_credential) show
// it, while a SAS query or credentials in the URL are still removed.
func TestRedactorKeepsAContainerURLWithoutSecrets(t *testing.T) {
	for _, tt := range []struct {
		name, url string
		absent    []string // secret parts, removed
		present   string   // what stays readable
	}{
		{"a plain container URL", "https://contosock.blob.core.windows.net/iocwatch", nil,
			"checkpoint container https://contosock.blob.core.windows.net/iocwatch does not exist"},
		{"a container URL with a port", "http://127.0.0.1:10000/devstoreaccount1/iocwatch", nil,
			"checkpoint container http://127.0.0.1:10000/devstoreaccount1/iocwatch does not exist"},
		{"a SAS query", "https://contosock.blob.core.windows.net/iocwatch?" + testSAS, []string{"c2FzLXNpZ25hdHVyZS1ub3QtcmVhbA"},
			"checkpoint container https://contosock.blob.core.windows.net/iocwatch?"},
		{"a password in the URL", "https://user:pa55word-secret@contosock.blob.core.windows.net/iocwatch", []string{"pa55word-secret"},
			"checkpoint container [REDACTED] does not exist"},
		{"a password and a SAS query", "https://user:pa55word-secret@contosock.blob.core.windows.net/iocwatch?" + testSAS,
			[]string{"pa55word-secret", "c2FzLXNpZ25hdHVyZS1ub3QtcmVhbA"}, "does not exist"},
		{"a token as the URL's user", "https://ghp0token0secret0value@contosock.blob.core.windows.net/iocwatch?x=1",
			[]string{"ghp0token0secret0value"}, "does not exist"},
		{"a SAS in a fragment", "https://contosock.blob.core.windows.net/iocwatch#sv=2024-08-04&sig=c2FzLXNpZ25hdHVyZS1ub3QtcmVhbA%3D%3D",
			[]string{"c2FzLXNpZ25hdHVyZS1ub3QtcmVhbA"}, "checkpoint container [REDACTED] does not exist"},
		{"a SAS percent-encoded into the path", "https://contosock.blob.core.windows.net/iocwatch%3Fsv%3D2024-08-04%26%73ig%3Dc2FzLXNpZ25hdHVyZS1ub3QtcmVhbA",
			[]string{"c2FzLXNpZ25hdHVyZS1ub3QtcmVhbA"}, "checkpoint container [REDACTED] does not exist"},
		{"a signature as a path segment", "https://contosock.blob.core.windows.net/iocwatch/sig=c2FzLXNpZ25hdHVyZS1ub3QtcmVhbA",
			[]string{"c2FzLXNpZ25hdHVyZS1ub3QtcmVhbA"}, "does not exist"},
		{"a storage connection string", testBlob, []string{testBlobKy, "AccountName=contosock"},
			"checkpoint container [REDACTED] does not exist"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			red := newRedactor(testConn, tt.url)
			got := red.Err(fmt.Errorf("eventhubs: checkpoint container %s does not exist", tt.url)).Error()
			if !strings.Contains(got, tt.present) {
				t.Errorf("%q lacks %q", got, tt.present)
			}
			for _, a := range tt.absent {
				if strings.Contains(got, a) {
					t.Errorf("%q still contains %q", got, a)
				}
			}
		})
	}
}

// Printing Options never shows the credentials of a container URL, with a
// SAS query or without.
func TestOptionsPrintNoURLCredentials(t *testing.T) {
	for _, u := range []string{
		"https://iocwatch:pa55word-secret@contosock.blob.core.windows.net/iocwatch?" + testSAS,
		"https://iocwatch:pa55word-secret@contosock.blob.core.windows.net/iocwatch",
		"https://iocwatch:pa55word-secret@contosock.blob.core.windows.net/iocwatch#frag",
	} {
		opt := Options{Namespace: "contoso-sec", Hub: "defender", CheckpointContainerURL: u}
		if got := opt.String(); strings.Contains(got, "pa55word-secret") {
			t.Errorf("%s shows the password", got)
		}
	}
}
