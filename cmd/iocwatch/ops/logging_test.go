package ops_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/iocwatch/iocwatch/cmd/iocwatch/ops"
	"github.com/iocwatch/iocwatch/config"
)

func TestRedactorRemovesSecrets(t *testing.T) {
	r := ops.NewRedactor("hunter2-very-secret", "abc", "")
	tests := []struct {
		name, in, want string
	}{
		{"a known secret value is replaced wherever it appears",
			"login failed for hunter2-very-secret!", "login failed for [redacted]!"},
		{"secrets shorter than MinSecretLen are left alone (they would blank out words)",
			"abc def", "abc def"},
		{"an Event Hubs connection string keeps its endpoint and loses its key",
			"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==;EntityPath=defender",
			"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=[redacted];EntityPath=defender"},
		{"a storage connection string loses its account key",
			"DefaultEndpointsProtocol=https;AccountName=chk;AccountKey=a2V5a2V5a2V5==;EndpointSuffix=core.windows.net",
			"DefaultEndpointsProtocol=https;AccountName=chk;AccountKey=[redacted];EndpointSuffix=core.windows.net"},
		{"a SAS URL loses its signature",
			"PUT https://chk.blob.core.windows.net/c/x?sv=2024-01-01&sig=AbC%2Bdef%3D&se=2026: 403",
			"PUT https://chk.blob.core.windows.net/c/x?sv=2024-01-01&sig=[redacted]&se=2026: 403"},
		{"a URL password is removed, the user kept",
			"dial http://svc:pa55w0rd@hooks.example/x: refused", "dial http://svc:[redacted]@hooks.example/x: refused"},
		{"every URL password is removed", "http://a:p1@h1/x and amqps://b:p2@h2:5671/", "http://a:[redacted]@h1/x and amqps://b:[redacted]@h2:5671/"},
		{"a URL with a user and no password is unchanged", "http://user@host/x", "http://user@host/x"},
		{"an address after a URL is not user info", "see http://host/x or mail bob:x@example.com", "see http://host/x or mail bob:x@example.com"},
		{"an Authorization header as text loses its credentials",
			`header Authorization: Bearer eyJhbGciOi.eyJzdWIi.sig was refused`, `header Authorization: Bearer [redacted] was refused`},
		{"an Authorization header as Go prints an http.Header loses its credentials",
			`400: map[Accept:[*/*] Authorization:[Basic Ym9iOmZha2UtcHc=] Content-Length:[2]]`,
			`400: map[Accept:[*/*] Authorization:[Basic [redacted]] Content-Length:[2]]`},
		{"a bare bearer token of 16 or more characters is removed",
			"using bearer 0123456789abcdefXYZ now", "using bearer [redacted] now"},
		{"the word bearer in prose stays", "the bearer token was rejected", "the bearer token was rejected"},
		{"a Splunk HEC token is removed", "Splunk 0d7a1f32-8c3e-4b8e-9a43-77c2d5f1e0aa refused", "Splunk [redacted] refused"},
		{"Splunk in prose stays", "Splunk HEC answered 503", "Splunk HEC answered 503"},
		{"token= and password= parameters are removed",
			"GET /feed?token=abcd1234&page=2 password=x1y2", "GET /feed?token=[redacted]&page=2 password=[redacted]"},
		{"a key= query parameter is removed", "GET http://feeds.example/iocs.txt?key=k-SECRET&fmt=csv: 500",
			"GET http://feeds.example/iocs.txt?key=[redacted]&fmt=csv: 500"},
		// The words after an unquoted value are the value's up to the
		// next name=value (TestRedactorHidesAnUnquotedValueToTheNextField):
		// " end" is hidden with it.
		{"a colon inside a value is redacted with it", "password=a:b:c end", "password=[redacted]"},
		{"a colon inside a value, a field after it", "password=a:b:c user=x", "password=[redacted] user=x"},
		{"a colon and a space end a value, as in Go errors", "GET /x?token=abc: 401", "GET /x?token=[redacted]: 401"},
		{"a parameter that only ends like a credential stays", "design=blue monkey=3", "design=blue monkey=3"},
		{"a pagination token stays", "GET /iocs?page_token=abc&fmt=csv: 500", "GET /iocs?page_token=abc&fmt=csv: 500"},
		{"a database password written as one word is removed", "db: dbpass=s3cret host=db1", "db: dbpass=[redacted] host=db1"},
		{"attributes of a credential stay", "login: token_type=bearer key_id=k7 auth_method=basic key_file=client.pem possession=yes",
			"login: token_type=bearer key_id=k7 auth_method=basic key_file=client.pem possession=yes"},
		{"the key name of a connection string stays", "SharedAccessKeyName=listen", "SharedAccessKeyName=listen"},
		{"JSON credential fields are removed", `{"api_key":"k-123","name":"x"}`, `{"api_key":"[redacted]","name":"x"}`},
		{"text without credentials is unchanged", "feed abuse.ch: 12 indicators, 2 refused", "feed abuse.ch: 12 indicators, 2 refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.String(tt.in); got != tt.want {
				t.Errorf("String(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
	t.Run("a nil Redactor redacts by shape", func(t *testing.T) {
		var nilR *ops.Redactor
		if got := nilR.String("x?sig=abc&y"); got != "x?sig=[redacted]&y" {
			t.Errorf("got %q", got)
		}
	})
}

// secretStringer renders a secret through fmt, like a struct holding one
// would.
type secretStringer struct{ s string }

func (s secretStringer) String() string { return "conn=" + s.s }

func TestLoggerRedactsEveryPartOfARecord(t *testing.T) {
	const secret = "Zm9vYmFyYmF6cXV4MTIz"
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf logBuffer
			log := ops.NewLogger(&buf, "debug", format, secret)
			log.Info("connecting with "+secret, "key", secret)
			log.Warn("fetch failed", "err", fmt.Errorf("GET https://x.example/?k=%s: %w", secret, errors.New("503")))
			log.With("conn", "Endpoint=sb://ns/;SharedAccessKey=ABCDEF0123").Error("source failed")
			log.Debug("grouped", slog.Group("auth", "token", secret, "user", "ana"))
			log.Info("stringer", "v", secretStringer{secret})
			log.WithGroup("g").Info("in group", "k", secret)
			log.Info("typed secret", "password", config.Secret(secret))
			out := buf.String()
			if strings.Contains(out, secret) || strings.Contains(out, "ABCDEF0123") {
				t.Errorf("a secret reached the log:\n%s", out)
			}
			if n := strings.Count(out, "[redacted]"); n < 8 {
				t.Errorf("%d redactions, want 8 or more:\n%s", n, out)
			}
			for _, keep := range []string{"fetch failed", "503", "ana", "source failed", "in group"} {
				if !strings.Contains(out, keep) {
					t.Errorf("the log lost %q:\n%s", keep, out)
				}
			}
		})
	}
	t.Run("levels filter", func(t *testing.T) {
		var buf logBuffer
		log := ops.NewLogger(&buf, "warn", "text")
		log.Info("hidden")
		log.Warn("shown")
		if strings.Contains(buf.String(), "hidden") || !strings.Contains(buf.String(), "shown") {
			t.Errorf("log at warn: %q", buf.String())
		}
		if log.Enabled(context.Background(), slog.LevelInfo) {
			t.Error("info enabled at level warn")
		}
	})
	t.Run("json lines are JSON", func(t *testing.T) {
		var buf logBuffer
		ops.NewLogger(&buf, "info", "json").Info("x", "n", 3)
		if !strings.HasPrefix(buf.String(), `{"time":`) || !strings.Contains(buf.String(), `"n":3`) {
			t.Errorf("json: %q", buf.String())
		}
	})
}

// FuzzRedact checks that a registered secret never survives redaction,
// wherever it is placed in arbitrary text, and that redaction never
// panics. Seeds: testdata/fuzz/FuzzRedact.
func FuzzRedact(f *testing.F) {
	f.Add("prefix ", "s3cr3t-value", " suffix")                             // a value in prose
	f.Add("Endpoint=sb://x/;SharedAccessKey=", "Zm9vYmFy", ";EntityPath=h") // both a known value and a known shape
	f.Add("https://u:", "p4ssw0rd", "@host/")                               // a URL password
	f.Add("", "aaaa", "aaaa")                                               // a secret next to a copy of itself
	f.Add("[redact", "ed]x", "")                                            // a secret that the replacement could rebuild
	f.Fuzz(func(t *testing.T, before, secret, after string) {
		r := ops.NewRedactor(secret)
		out := r.String(before + secret + after)
		if len(secret) >= ops.MinSecretLen {
			if at := survivingCopy(out, secret); at >= 0 {
				t.Fatalf("secret %q survives at byte %d of %q", secret, at, out)
			}
		}
	})
}

// survivingCopy returns where secret occurs in out without overlapping a
// "[redacted]" marker, or -1. A copy that overlaps a marker is made of the
// text around the secret and the marker itself ("000[" in "000[redacted]"
// for the secret "000[" after "000"): it reveals nothing of the secret.
func survivingCopy(out, secret string) int {
	const marker = "[redacted]"
	for i := 0; i+len(secret) <= len(out); i++ {
		if out[i:i+len(secret)] != secret {
			continue
		}
		overlaps := false
		for j := max(0, i-len(marker)+1); j < i+len(secret) && j+len(marker) <= len(out); j++ {
			if out[j:j+len(marker)] == marker {
				overlaps = true
				break
			}
		}
		if !overlaps {
			return i
		}
	}
	return -1
}

// A peer's answer quoted into an error carries a secret escaped, encoded
// or cut off: each form is redacted.
func TestRedactorRemovesSecretsInEveryForm(t *testing.T) {
	const secret = `fake<key>"a\b+c/d-Jx4Qe`
	r := ops.NewRedactor(secret)
	tests := []struct{ name, in string }{
		{"as given", "bad key " + secret},
		{"Go-quoted (an error excerpt)", fmt.Sprintf("401: %q", "bad key "+secret)},
		{"JSON-escaped", `{"error":"bad key fake\u003ckey\u003e\"a\\b+c/d-Jx4Qe"}`},
		{"query-encoded", "GET /x?k=fake%3Ckey%3E%22a%5Cb%2Bc%2Fd-Jx4Qe: 401"},
		{"path-encoded", "GET /fake%3Ckey%3E%22a%5Cb+c%2Fd-Jx4Qe: 404"},
		{"cut by an excerpt", "401: bad key fake<key>\"a…"},
		{"cut, Go-quoted", `401: "bad key fake<key>\"a\\…"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Values(tt.in)
			if !strings.Contains(got, "[redacted]") || strings.Contains(got, "fake") || strings.Contains(got, "Jx4Qe") {
				t.Errorf("Values(%s)\n = %s", tt.in, got)
			}
			if s := r.String(tt.in); s != got {
				t.Errorf("String and Values differ on %s:\n%s\n%s", tt.in, s, got)
			}
		})
	}
	for _, keep := range []string{"fak… is not a secret prefix long enough", "text without … a secret", "fake"} {
		if got := r.Values(keep); got != keep {
			t.Errorf("Values(%q) = %q, want it unchanged", keep, got)
		}
	}
}

// The redactor hides the value of every name that urlcred.IsParam calls a
// credential, in each shape a name takes in a log line, and leaves the
// names it does not call one, so that the log and a URL's shown form
// agree on what a credential is.
func TestRedactorHidesWhatIsParamHides(t *testing.T) {
	const value = "Xq7v4lueZ"
	shapes := []struct{ name, format string }{
		{"query", "GET /cb?%s=" + value + "&state=1: 302"},
		{"JSON", `{"%s":"` + value + `","n":1}`},
		{"header", "%s: " + value},
		{"Go struct", "&{%s:" + value + " Region:eu}"},
	}
	tests := []struct {
		name   string
		hidden bool
	}{
		// camelCase and run-together names with no separator
		{"SecretAccessKey", true},
		{"SessionToken", true},
		{"secretKey", true},
		{"authToken", true},
		{"apiKey", true},
		{"AccessKeyId", true},
		{"JSESSIONID", true},
		{"sessionid", true},
		{"X-Amz-Security-Token", true},
		{"X-Hub-Signature-256", true},
		// words IsParam takes for credentials on their own
		{"code", true},
		{"auth", true},
		{"sign", true},
		{"app_sign", true},
		{"jwt", true},
		{"oinkcode", true},
		{"passcode", true},
		{"auth_code", true},
		{"pass", true},
		{"bearer", true},
		{"hmac", true},
		{"dbpass", true},
		{"userPass", true},
		{"db_pw", true},
		{"AWSAccessKeyId", true},
		{"page_access_token", true},
		{"client_assertion", true},
		{"SAMLResponse", true},
		// one-time and personal credentials, an access key pair's id
		{"otp", true},
		{"totp", true},
		{"pin", true},
		{"user_pin", true},
		{"SAMLart", true},
		{"ticket", true},
		{"service_ticket", true},
		{"access_id", true},
		{"accessId", true},
		{"multipass", true},
		// names that only begin with, end like or mention one
		{"keyword", false},
		{"country_code", false},
		{"status_code", false},
		{"zipcode", false},
		{"encode", false},
		{"monkey", false},
		{"tokenizer", false},
		{"author", false},
		{"signal", false},
		{"sign_type", false},
		{"secretary", false},
		{"hash", false},
		{"sid", false},
		{"nonce", false},
		// a key's id, a public key, a pagination cursor, an attribute of
		// a credential, a word that only ends like one
		{"key_id", false},
		{"keyId", false},
		{"public_key", false},
		{"pubkey", false},
		{"page_token", false},
		{"nextPageToken", false},
		{"token_type", false},
		{"authType", false},
		{"auth_method", false},
		{"key_file", false},
		{"token_url", false},
		{"possession", false},
		{"client_assertion_type", false},
		{"sessions_count", false},
		{"max_sessions", false},
		// a connection string's policy name, not its key
		{"SharedAccessKeyName", false},
		// whose credential it is, its rules, its state, where it is
		// kept; a helpdesk's ticket, a certificate pin, Google's access
		// id (a service account's e-mail)
		{"X-Auth-Email", false},
		{"X-Auth-User", false},
		{"password_policy", false},
		{"session_state", false},
		{"ssl.key.location", false},
		{"ticket_id", false},
		{"ticketNumber", false},
		{"pin-sha256", false},
		{"GoogleAccessId", false},
		{"spin", false},
	}
	r := ops.NewRedactor()
	for _, tt := range tests {
		for _, sh := range shapes {
			t.Run(tt.name+"/"+sh.name, func(t *testing.T) {
				in := fmt.Sprintf(sh.format, tt.name)
				want := in
				if tt.hidden {
					want = strings.Replace(in, value, "[redacted]", 1)
				}
				if got := r.String(in); got != want {
					t.Errorf("String(%q)\n got %q\nwant %q", in, got, want)
				}
			})
		}
	}
}

// A word before a name in prose says what it is, as it does in a
// parameter's name (status_code is not a credential, auth_code is): the
// code an error reports is shown, a code that is not qualified is hidden;
// a public key and a page token are shown, an access key is not.
func TestRedactorReadsTheWordBeforeACode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"GET https://s.blob.core.windows.net/c: RESPONSE 403: 403 Forbidden\nERROR CODE: AuthorizationPermissionMismatch\n",
			"GET https://s.blob.core.windows.net/c: RESPONSE 403: 403 Forbidden\nERROR CODE: AuthorizationPermissionMismatch\n"},
		{"unexpected status code: 503", "unexpected status code: 503"},
		{"hook exited, exit code=2", "hook exited, exit code=2"},
		{"HTTP response code: 401", "HTTP response code: 401"},
		{"auth code: Xq7v4lueZ refused", "auth code: [redacted] refused"},
		{"redirect to https://app.example/cb?code=Xq7v4lueZ&state=s1", "redirect to https://app.example/cb?code=[redacted]&state=s1"},
		{"the code: Xq7v4lueZ", "the code: [redacted]"},
		// a word before a name that is a credential by itself changes nothing
		{"bad status token=Xq7v4lueZ", "bad status token=[redacted]"},
		{"bad status SessionToken=Xq7v4lueZ", "bad status SessionToken=[redacted]"},
		{"server public key: Xq7v4lueZ", "server public key: Xq7v4lueZ"},
		{"invalid page token: Xq7v4lueZ", "invalid page token: Xq7v4lueZ"},
		{"bad access key: Xq7v4lueZ", "bad access key: [redacted]"},
		{"bad page access token: Xq7v4lueZ", "bad page access token: [redacted]"},
		// the word before a name that is the value of another pair (slog's
		// text, Go's %+v of a struct) says nothing of the name
		{"mode=public key=Xq7v4lueZ", "mode=public key=[redacted]"},
		{"cursor=next token=Xq7v4lueZ", "cursor=next token=[redacted]"},
		{"list=page token=Xq7v4lueZ", "list=page token=[redacted]"},
		{"&{Kind:public Key:Xq7v4lueZ}", "&{Kind:public Key:[redacted]}"},
		{"result=error code=Xq7v4lueZ", "result=error code=[redacted]"},
		{`mode="public" key=Xq7v4lueZ`, `mode="public" key=[redacted]`},
	}
	r := ops.NewRedactor()
	for _, tt := range tests {
		if got := r.String(tt.in); got != tt.want {
			t.Errorf("String(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

// Some names IsParam calls credentials name something else in a log line:
// a connection string's policy, a TLS key's file, the Azure identity
// credential that failed (its type, before the SDK's message). Their text
// stays.
func TestRedactorShowsNamesThatAreNotCredentials(t *testing.T) {
	for _, in := range []string{
		"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=[redacted]",
		"kafka: tls key_file: required with cert_file client.pem",
		"feed x: tls cert_file/key_file: open client.pem: permission denied",
		"eventhubs: DefaultAzureCredential: failed to acquire a token.\nAttempted credentials:\n\tEnvironmentCredential: missing environment variable AZURE_TENANT_ID\n\tWorkloadIdentityCredential: no client ID specified\n\tManagedIdentityCredential: no default identity is assigned to this resource.\n\tAzureCLICredential: Azure CLI not found on path",
		"ClientSecretCredential: authentication failed. To troubleshoot, visit https://aka.ms/azsdk/go/identity/troubleshoot#client-secret",
	} {
		if got := ops.NewRedactor().String(in); got != in {
			t.Errorf("String(%q)\n = %q, want it unchanged", in, got)
		}
	}
}

// A credential written after its scheme (Bearer, Basic, Splunk,
// SharedAccessSignature) under any credential name is removed and the
// scheme kept, as in an Authorization header: blanking the scheme word
// instead would leave the credential after it in clear.
func TestRedactorKeepsTheSchemeBeforeACredential(t *testing.T) {
	const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefgh"
	tests := []struct{ in, want string }{
		{"X-Auth-Token: Bearer " + jwt, "X-Auth-Token: Bearer [redacted]"},
		{`{"token":"Bearer ` + jwt + `"}`, `{"token":"Bearer [redacted]"}`},
		{`{"authToken":"bearer abc123"}`, `{"authToken":"bearer [redacted]"}`},
		{"auth: Basic Ym9iOmZha2UtcHc= refused", "auth: Basic [redacted] refused"},
		{"X-Authorization: Bearer " + jwt, "X-Authorization: Bearer [redacted]"},
		{"X_Authorization=Splunk 0d7a1f32-8c3e-4b8e-9a43-77c2d5f1e0aa", "X_Authorization=Splunk [redacted]"},
		{"Proxy-Authorization: Basic Ym9iOmZha2UtcHc=", "Proxy-Authorization: Basic [redacted]"},
		{"Authentication: Bearer abc123", "Authentication: Bearer [redacted]"},
		{"authorization=Bearer abc123 sent", "authorization=Bearer [redacted] sent"},
		{"session: Bearer", "session: [redacted]"},
		{"token: Basic Ym9iOnB3ZA== next=1", "token: Basic [redacted] next=1"},
		{"X-Auth-Token: Bearer abcd1234=", "X-Auth-Token: Bearer [redacted]"},
		// A scheme word alone is the whole value: the name=value pair
		// after it is another field, read on its own.
		{"x_token=bearer key_id=k7", "x_token=[redacted] key_id=k7"},
		{"x_token=Bearer\tkey_id=k7 page=2", "x_token=[redacted]\tkey_id=k7 page=2"},
		{"auth=basic user=bob password=Xq7v4lueZ", "auth=[redacted] user=bob password=[redacted]"},
		{"auth=Bearer key=Xq7v4lueZ", "auth=[redacted] key=[redacted]"},
		// A "name: " after it is not read so: a token followed by an
		// error's ": " would be shown.
		{"token: Bearer k7Xq7v4lueZ0123456: expired", "token: Bearer [redacted]: expired"},
		{`x_token="bearer key_id=k7"`, `x_token="[redacted]"`},
		// and a Bearer token in prose is not the name=value pair after it
		{"token_type=bearer key_id=k7Xq7v4lueZ0123456", "token_type=bearer key_id=k7Xq7v4lueZ0123456"},
		{"token_type=Bearer expires_in=3599 scope=https://graph.microsoft.com/.default", "token_type=Bearer expires_in=3599 scope=https://graph.microsoft.com/.default"},
		{"sent Bearer " + jwt + " to soar", "sent Bearer [redacted] to soar"},
		{"sent Bearer Ym9iOnB3ZGFiY2RlZmdoaQ==", "sent Bearer [redacted]"},
	}
	r := ops.NewRedactor()
	for _, tt := range tests {
		if got := r.String(tt.in); got != tt.want {
			t.Errorf("String(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

// An Authorization header keeps its scheme, whatever it is, and loses
// what follows it; a value without a scheme is lost whole. A query's
// Authorization parameter ends at '&', as any parameter does.
func TestRedactorHidesTheCredentialOfAnyAuthorizationScheme(t *testing.T) {
	tests := []redactCase{
		{"GitHub's token scheme", "Authorization: token ghp_16C7e42F292c6912E7710c838347Ae178B4a",
			"Authorization: token [redacted]"},
		{"Discord's Bot scheme", "Authorization: Bot MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs",
			"Authorization: Bot [redacted]"},
		{"Okta's SSWS scheme", "GET https://corp.okta.com/api/v1/users: Authorization: SSWS 00QCjAl4MlV-WPXM-ABCDEF refused",
			"GET https://corp.okta.com/api/v1/users: Authorization: SSWS [redacted] refused"},
		{"an ApiKey scheme", "authorization: ApiKey aWQ6a2V5", "authorization: ApiKey [redacted]"},
		{"Negotiate in a proxy header", "Proxy-Authorization: Negotiate YIIGhgYJKoZIhvcSAQICAQBuggZ1",
			"Proxy-Authorization: Negotiate [redacted]"},
		{"a bare value", "Authorization: k-9f86d081884c7d65", "Authorization: [redacted]"},
		{"a bare value before prose", "Authorization: k-9f86d081884c7d65 was refused", "Authorization: [redacted] was refused"},
		{"a bare key of letters is not a scheme", "Authorization: xKqPzWvLmNbQ was refused", "Authorization: [redacted] was refused"},
		{"a bare key with an underscore is not a scheme", "Authorization: ghp_16C7e42F292c was refused", "Authorization: [redacted] was refused"},
		// A word of 16 letters or more is a key, not a scheme (real
		// schemes' words are shorter, but SharedAccessSignature, which
		// is read as one under any name).
		{"a bare key of 20 letters is not a scheme", "Authorization: AbCdEfGhIjKlMnOpQrSt was refused",
			"Authorization: [redacted] was refused"},
		{"a bare key of 20 capitals is not a scheme", "Authorization: QWERTZUIOPASDFGHJKLY was refused",
			"Authorization: [redacted] was refused"},
		{"a bare key of 16 letters is not a scheme", "Authorization: QwertzUiopAsdfGh was refused",
			"Authorization: [redacted] was refused"},
		{"a key of letters after a scheme word", "Authorization: AbCdEf-GhIjKlMnOpQrStUv sent",
			"Authorization: [redacted] sent"},
		{"a scheme of 12 letters", `Authorization: MediaBrowser Token="k-9f86d081884c7d65"`, "Authorization: MediaBrowser [redacted]"},
		{"a scheme of 13 letters", "Authorization: SharedKeyLite soc:Kd8Wq1Ys5Hc4Gx2Zp3= sent", "Authorization: SharedKeyLite [redacted] sent"},
		{"SharedAccessSignature, 21 letters", "Authorization: SharedAccessSignature sr=https%3A%2F%2Fns&sig=Kd8Wq1Ys5Hc4&se=1",
			"Authorization: SharedAccessSignature [redacted]"},
		{"GCS's V4 scheme", "Authorization: GOOG4-HMAC-SHA256 Credential=GOOG1EXAMPLE/20240101/auto/storage/goog4_request, SignedHeaders=host, Signature=5d8f sent",
			"Authorization: GOOG4-HMAC-SHA256 [redacted] sent"},
		// A value alone follows the rules of its shape: letters alone,
		// under 32, are words wherever no credential's name precedes
		// them.
		{"letters alone are not hidden without a name", "feed QWERTZUIOPASDFGHJKLY failed: 503", "feed QWERTZUIOPASDFGHJKLY failed: 503"},
		{"a long word after Authorization in prose", "Authorization failed for ThreatFoxIOCsRecentExport: 403",
			"Authorization failed for ThreatFoxIOCsRecentExport: 403"},
		{"a bare value in Go's http.Header", "map[Accept:[*/*] Authorization:[k-9f86d081884c7d65]]",
			"map[Accept:[*/*] Authorization:[[redacted]]]"},
		{"any scheme in Go's http.Header", "map[Authorization:[token ghp_16C7e42F292c] Content-Length:[2]]",
			"map[Authorization:[token [redacted]] Content-Length:[2]]"},
		{"any scheme in JSON", `{"Authorization": "token ghp_16C7e42F292c"}`, `{"Authorization": "token [redacted]"}`},
		{"any scheme in single quotes", `{'authorization': 'Token abc123'}`, `{'authorization': 'Token [redacted]'}`},
		{"any scheme under a name that ends in Authorization", "X_Authorization: token ghp_16C7e42F292c",
			"X_Authorization: token [redacted]"},
		{"any scheme under Authentication", "Authentication: Bot MTk4NjIy.Cl2FMQ", "Authentication: Bot [redacted]"},
		{"the parameters of Digest", `Authorization: Digest username="bob", realm="api", nonce="dcd98b", uri="/x", response="6629fae49393a05397450978507c4ef1"`,
			`Authorization: Digest [redacted]`},
		{"the parameters of AWS Signature Version 4", "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024 sent",
			"Authorization: AWS4-HMAC-SHA256 [redacted] sent"},
		{"a query parameter ends at &", "GET /x?Authorization=abc123&page=2: 401", "GET /x?Authorization=[redacted]&page=2: 401"},
		{"parameters in a query end at &", "GET /x?authorization=token=abc123&page=2", "GET /x?authorization=[redacted]&page=2"},
		{"an encoded scheme in a query", "GET /x?authorization=Bearer%20abc123&page=2", "GET /x?authorization=[redacted]&page=2"},
		{"the word in prose stays", "Authorization failed for sink soar: 403", "Authorization failed for sink soar: 403"},
	}
	runRedactCases(t, tests)
}

// A credential's value is hidden whole in the shapes a peer's answer and
// Go's formatting give it: quoted with spaces or escaped quotes in it, in
// a JSON array, Go-quoted into an error (%q of a JSON body), and a URL
// password holding '@'.
func TestRedactorHidesWholeValues(t *testing.T) {
	tests := []redactCase{
		{"a quoted value with spaces", `password="correct horse battery" user=x`, `password="[redacted]" user=x`},
		{"a quoted header value with spaces", `token: "Xq7v4lue with space"`, `token: "[redacted]"`},
		{"a JSON value with an escaped quote", `{"password":"a\"b c","n":1}`, `{"password":"[redacted]","n":1}`},
		{"a JSON value ending in an escaped backslash", `{"password":"a b\\","n":1}`, `{"password":"[redacted]","n":1}`},
		{"a private key in JSON", `{"private_key":"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n","client_email":"x@y.iam"}`,
			`{"private_key":"[redacted]","client_email":"x@y.iam"}`},
		{"a JSON array (a marshalled http.Header)", `401: {"headers":{"Authorization":["Basic Ym9iOmZha2UtcHc="],"X-Api-Key":["k-SECRET1"]}}`,
			`401: {"headers":{"Authorization":["Basic [redacted]"],"X-Api-Key":["[redacted]"]}}`},
		{"a JSON array with spaces", `{"X-Api-Key": [ "k-SECRET1", "k-SECRET2" ]}`, `{"X-Api-Key": [ "[redacted]" ]}`},
		{"every value of a header in Go's http.Header", "map[X-Api-Key:[k-SECRET1 k-SECRET2] Accept:[*/*]]",
			"map[X-Api-Key:[[redacted]] Accept:[*/*]]"},
		{"a Go-quoted JSON answer", fmt.Sprintf("bad answer %q", `{"access_token":"eyJhbGciOi.eyJzdWIi","expires_in":3599}`),
			`bad answer "{\"access_token\":\"[redacted]\",\"expires_in\":3599}"`},
		{"a Go-quoted JSON answer with an escaped quote in the value", fmt.Sprintf("bad answer %q", `{"secret":"a\"b c","n":1}`),
			`bad answer "{\"secret\":\"[redacted]\",\"n\":1}"`},
		{"lists left open on their line are read as before", "token=[a1b2 key=[c3d4\nmap[X-Api-Key:[k-SECRET1]]",
			"token=[redacted] key=[redacted]\nmap[X-Api-Key:[[redacted]]]"},
		// Read as unquoted: to the next name=value or the end of the line.
		{"a quote left open is read as if it were not there", `password="abc and more`, `password="[redacted]`},
		{"a quote left open, a field after it", `password="abc and more user=x`, `password="[redacted] user=x`},
		{"a URL password holding @", "dial http://svc:p@ss@hooks.example/x: refused", "dial http://svc:[redacted]@hooks.example/x: refused"},
		{"an @ after a URL's query is not user info", "GET http://host/x?q=a:b@c 404", "GET http://host/x?q=a:b@c 404"},
		{"an @ after the host and a query is not user info", "GET http://host?q=a:b@c 404", "GET http://host?q=a:b@c 404"},
	}
	runRedactCases(t, tests)
}

// An unquoted value after a credential's name= (or Go's Name:value) may
// hold spaces, a passphrase's words: it is hidden up to the next field
// written the same way (a=1, Region:eu), a ';', '&', ',', '}', a quote,
// a ':' before a space or the end of the line, and what follows is
// shown. After a scheme (Bearer, Basic, …) the credential is one token
// and ends at a space; after a name and ": " (a header, prose) the value
// ends at a space too, as prose follows it.
func TestRedactorHidesAnUnquotedValueToTheNextField(t *testing.T) {
	tests := []redactCase{
		{"a passphrase to the end of the line", "password=correct horse battery staple", "password=[redacted]"},
		{"a passphrase before fields", "password=correct horse battery staple a=1 b=2", "password=[redacted] a=1 b=2"},
		{"a passphrase between fields", "login failed: user=ana password=correct horse battery staple host=db1",
			"login failed: user=ana password=[redacted] host=db1"},
		{"a tab before the next field", "secret=two words\tuser=ana", "secret=[redacted]\tuser=ana"},
		{"the end of the line", "password=correct horse\nnext line a=1", "password=[redacted]\nnext line a=1"},
		{"spaces at the end stay", "password=correct horse  ", "password=[redacted]  "},
		{"a ';' ends it (a connection string)", "Server=db1;User Id=sa;Password=my secret pw;Encrypt=true",
			"Server=db1;User Id=sa;Password=[redacted];Encrypt=true"},
		{"a ': ' ends it (a Go error)", "dial: token=abc def: 401 Unauthorized", "dial: token=[redacted]: 401 Unauthorized"},
		{"a ',' ends it", "password=correct horse, user=ana", "password=[redacted], user=ana"},
		{"a quote ends it", `msg="password=correct horse" a=1`, `msg="password=[redacted]" a=1`},
		{"a name: pair does not end a name= value", "password=correct horse Region:eu a=1", "password=[redacted] a=1"},
		{"base64 padding is not a field", "secret=ab cd== e=1", "secret=[redacted] e=1"},
		{"fields before and after", "a=1 password=x1 b=2", "a=1 password=[redacted] b=2"},
		{"Go's %+v of a struct", "&{User:ana Password:correct horse battery staple Region:eu}", "&{User:ana Password:[redacted] Region:eu}"},
		{"Go's %+v, the last field", "{Password:correct horse}", "{Password:[redacted]}"},
		{"a scheme's token ends at a space", "authorization=Bearer abc123 sent", "authorization=Bearer [redacted] sent"},
		{"a token scheme alone before a field", "x_token=bearer key_id=k7", "x_token=[redacted] key_id=k7"},
		{"a header's value ends at a space", "X-Api-Key: k-SECRET1 was refused", "X-Api-Key: [redacted] was refused"},
		{"a value in prose ends at a space", "invalid token: expired, retrying in 5s", "invalid token: [redacted], retrying in 5s"},
		{"a name that is not a credential's", "state=two words a=1", "state=two words a=1"},
		{"a quoted value", `password="correct horse" user=ana`, `password="[redacted]" user=ana`},
		// A field whose value is quoted is a field too (slog's text
		// lines, logfmt): its name is not taken into the value before it.
		{"a field with a quoted value after it", `password=x1 msg="feed loaded" feed=abuse partition=3`,
			`password=[redacted] msg="feed loaded" feed=abuse partition=3`},
		{"a field with an empty quoted value after it", `password=x1 msg="" a=1`, `password=[redacted] msg="" a=1`},
		{"a field with a single-quoted value after it", `password=x1 err='dial tcp: refused' host=db1`,
			`password=[redacted] err='dial tcp: refused' host=db1`},
		{"a token scheme alone before a quoted field", `x_token=bearer key_id="k7"`, `x_token=[redacted] key_id="k7"`},
		// A URL's query or fragment holds no space (it is encoded, + or
		// %20): its value ends at one, and the text after the URL is
		// shown.
		{"a query's value before prose", "GET https://feeds.example/list?fmt=csv&key=k-SECRET1 returned 403 Forbidden",
			"GET https://feeds.example/list?fmt=csv&key=[redacted] returned 403 Forbidden"},
		{"a query's first value before prose", "POST /hooks/x?sig=abc 400 Bad Request (retry in 5m)",
			"POST /hooks/x?sig=[redacted] 400 Bad Request (retry in 5m)"},
		{"a fragment's value before prose", "redirect to https://soc.example/cb#access_token=abc was refused",
			"redirect to https://soc.example/cb#access_token=[redacted] was refused"},
	}
	runRedactCases(t, tests)
}

// redactCase is a log line and what the redactor must make of it.
type redactCase struct{ name, in, want string }

// runRedactCases checks that the redactor turns each case's line into its
// want, and leaves want unchanged (redacting twice changes nothing).
func runRedactCases(t *testing.T, tests []redactCase) {
	t.Helper()
	r := ops.NewRedactor()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.String(tt.in); got != tt.want {
				t.Errorf("String(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			if again := r.String(tt.want); again != tt.want {
				t.Errorf("String(%q) = %q, want it unchanged (redacting twice)", tt.want, again)
			}
		})
	}
}
