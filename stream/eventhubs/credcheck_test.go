package eventhubs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/iocwatch/iocwatch/internal/syncbuf"
)

const (
	testTenant = "5f0c3b6e-0d2a-4d8e-9a52-2b1f1f1d7c11"
	testClient = "0b8e9d3c-6a7f-4a51-8e0f-4f3e2d1c0b9a"
	testSecret = "Zq8~iocwatch.test-secret-value_0123456789ab"
)

// entra stands in for Microsoft Entra ID's authority: it serves the OpenID
// configuration MSAL reads first (or answers that request with discovery)
// and answers every token request with answer, recording the scope asked
// for.
type entra struct {
	srv       *httptest.Server
	answer    http.HandlerFunc
	discovery http.HandlerFunc // nil: the tenant's OpenID configuration

	mu     sync.Mutex
	scopes []string
}

func newEntra(t *testing.T, answer http.HandlerFunc) *entra {
	t.Helper()
	return newEntraDiscovery(t, answer, nil)
}

// newEntraDiscovery is newEntra whose OpenID configuration request is
// answered by discovery: Entra refuses an unknown tenant there already.
func newEntraDiscovery(t *testing.T, answer, discovery http.HandlerFunc) *entra {
	t.Helper()
	e := &entra{answer: answer, discovery: discovery}
	e.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/v2.0/.well-known/openid-configuration") && e.discovery != nil:
			e.discovery(w, r)
		case strings.HasSuffix(r.URL.Path, "/v2.0/.well-known/openid-configuration"):
			base := e.srv.URL + "/" + testTenant
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_ = json.NewEncoder(w).Encode(map[string]string{
				"token_endpoint":         base + "/oauth2/v2.0/token",
				"authorization_endpoint": base + "/oauth2/v2.0/authorize",
				"issuer":                 base + "/v2.0",
			})
		case strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token"):
			if err := r.ParseForm(); err == nil {
				e.mu.Lock()
				// MSAL adds openid, offline_access and profile.
				scope, _, _ := strings.Cut(r.PostForm.Get("scope"), " ")
				e.scopes = append(e.scopes, scope)
				e.mu.Unlock()
			}
			e.answer(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// credential is a real ClientSecretCredential whose authority is e.
func (e *entra) credential(t *testing.T) azcore.TokenCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(testTenant, testClient, testSecret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: azcore.ClientOptions{
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: e.srv.URL},
			Transport: e.srv.Client(),
			// azcore retries a 429, a 5xx and a dropped connection three
			// times, with back-off: that would only slow the tests.
			Retry: policy.RetryOptions{MaxRetries: -1},
		},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func (e *entra) asked() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.scopes)
}

// entraRefuses answers as Microsoft Entra ID refuses a token request: the
// status, and its JSON error body with the AADSTS code and description.
func entraRefuses(status int, errCode string, code int, description string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		const trace, corr, when = "0d3b7f3e-2c1a-4b7e-9a0d-6f5e4d3c2b00", "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "2026-11-29 20:47:12Z"
		body, _ := json.Marshal(map[string]any{
			"error": errCode,
			"error_description": fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
				code, description, trace, corr, when),
			"error_codes":    []int{code},
			"timestamp":      when,
			"trace_id":       trace,
			"correlation_id": corr,
			"error_uri":      fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", code),
		})
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

func entraGrants(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write([]byte(`{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.e30."}`))
}

func entraStatus(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(status)
	}
}

// entraHangsUp drops the connection without an answer.
func entraHangsUp(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// unavailable is a credential that cannot try: azidentity's
// credential-unavailable error, as a chain with nothing to use returns.
type unavailable struct{ calls atomic.Int64 }

func (u *unavailable) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	u.calls.Add(1)
	return azcore.AccessToken{}, azidentity.NewCredentialUnavailableError(
		"DefaultAzureCredential: failed to acquire a token.\nAttempted credentials:\n\tEnvironmentCredential: missing environment variable AZURE_TENANT_ID")
}

// slowUnavailable answers only when the check's deadline passes, with the
// error DefaultAzureCredential gives then: its managed identity timed out,
// so it reports none available.
type slowUnavailable struct{}

func (slowUnavailable) GetToken(ctx context.Context, _ policy.TokenRequestOptions) (azcore.AccessToken, error) {
	<-ctx.Done()
	return azcore.AccessToken{}, azidentity.NewCredentialUnavailableError("ManagedIdentityCredential: managed identity timed out")
}

// world is what New may reach besides Entra: a stand-in for the Event Hubs
// namespace that counts connections (and cancels New's context at the
// first, so that New returns at once) and one for the storage account that
// counts requests.
type world struct {
	namespace    string
	containerURL string
	ctx          context.Context
	hubConns     atomic.Int64
	storeCalls   atomic.Int64
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	w := &world{ctx: ctx}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			w.hubConns.Add(1)
			cancel()
			_ = c.Close()
		}
	}()
	w.namespace = ln.Addr().String()
	store := httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		w.storeCalls.Add(1)
		rw.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(store.Close)
	w.containerURL = store.URL + "/corpiocwatch/iocwatch"
	return w
}

// options are Options for w with credential auth: Event Hubs, and storage
// when withStore.
func (w *world) options(cred azcore.TokenCredential, withStore bool, logs *syncbuf.Buffer) Options {
	opt := Options{
		Namespace:              w.namespace,
		Hub:                    "defender-streaming",
		Credential:             cred,
		CheckpointContainerURL: w.containerURL,
		Logger:                 slog.New(slog.NewJSONHandler(logs, nil)),
	}
	if !withStore {
		opt.CheckpointContainerURL = ""
		opt.CheckpointConnectionString = "DefaultEndpointsProtocol=https;AccountName=corpiocwatch;AccountKey=a2V5;EndpointSuffix=core.windows.net"
		opt.CheckpointContainer = "iocwatch"
	}
	return opt
}

// warnings returns the Warn records in logs.
func warnings(t *testing.T, logs *syncbuf.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(logs.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["level"] == "WARN" {
			out = append(out, rec)
		}
	}
	return out
}

// A credential Microsoft Entra ID refuses for good — a wrong or expired
// client secret, an unknown tenant or application — or no credential at
// all stops New before any call to Event Hubs or storage, with an error
// that names the auth setting, Entra's AADSTS code and message, and what
// to check.
func TestNewRefusesACredentialEntraRefuses(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		answer    http.HandlerFunc // nil: the unavailable credential
		withStore bool             // storage is reached with the credential too
		connStr   bool             // Event Hubs by connection string: storage only
		want      []string
		discovery bool // answer the OpenID configuration request with answer
	}{
		{"a wrong client secret", entraRefuses(http.StatusUnauthorized, "invalid_client", 7000215,
			"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+testClient+"'."),
			true, false,
			[]string{"eventhubs: signing in (auth): Microsoft Entra ID refuses the credential a token for Event Hubs namespace 127.0.0.1:",
				"(scope " + eventHubsScope + "): HTTP 401: AADSTS7000215: Invalid client secret provided.", "; check AZURE_CLIENT_SECRET"}, false},
		{"an expired client secret", entraRefuses(http.StatusUnauthorized, "invalid_client", 7000222,
			"The provided client secret keys for app '"+testClient+"' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds."),
			false, false,
			[]string{"eventhubs: signing in (auth):", "AADSTS7000222: The provided client secret keys", "the client secret has expired"}, false},
		{"an unknown tenant", entraRefuses(http.StatusBadRequest, "invalid_request", 90002,
			"Tenant 'contoso-typo.onmicrosoft.com' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."),
			true, false,
			[]string{"eventhubs: signing in (auth):", "HTTP 400: AADSTS90002: Tenant 'contoso-typo.onmicrosoft.com' not found.", "check AZURE_TENANT_ID"}, false},
		{"an unknown tenant, refused at discovery", entraRefuses(http.StatusBadRequest, "invalid_tenant", 90002,
			"Tenant 'contoso-typo.onmicrosoft.com' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."),
			true, false,
			[]string{"eventhubs: signing in (auth):", "HTTP 400: AADSTS90002: Tenant 'contoso-typo.onmicrosoft.com' not found.", "check AZURE_TENANT_ID", "openid-configuration"}, true},
		{"an unknown application", entraRefuses(http.StatusBadRequest, "unauthorized_client", 700016,
			"Application with identifier '"+testClient+"' was not found in the directory 'Contoso'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."),
			true, false,
			[]string{"eventhubs: signing in (auth):", "AADSTS700016: Application with identifier", "check AZURE_CLIENT_ID and AZURE_TENANT_ID"}, false},
		{"a refusal without a known code says what to check in general", entraRefuses(http.StatusBadRequest, "invalid_request", 700024,
			"Client assertion is not within its valid time range."),
			true, false,
			[]string{"eventhubs: signing in (auth):", "AADSTS700024: Client assertion", "AKS workload identity", "managed identity"}, false},
		{"storage alone reached with the credential", entraRefuses(http.StatusBadRequest, "invalid_resource", 500011,
			"The resource principal named https://storage.azure.com was not found in the tenant named Contoso."),
			true, true,
			[]string{"eventhubs: signing in (auth):", "for checkpoint container https://127.0.0.1:", "/corpiocwatch/iocwatch (scope " + storageScope + "): HTTP 400: AADSTS500011"}, false},
		{"no credential available", nil, true, false,
			[]string{"eventhubs: signing in (auth): no credential can get a token for Event Hubs namespace", "; set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET",
				"workload identity", "managed identity", "EnvironmentCredential: missing environment variable AZURE_TENANT_ID"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			var cred azcore.TokenCredential = &unavailable{}
			var e *entra
			switch {
			case tt.discovery:
				e = newEntraDiscovery(t, tt.answer, tt.answer)
			case tt.answer != nil:
				e = newEntra(t, tt.answer)
			}
			if e != nil {
				cred = e.credential(t)
			}
			logs := new(syncbuf.Buffer)
			opt := w.options(cred, tt.withStore, logs)
			if tt.connStr {
				opt.Namespace = ""
				opt.ConnectionString = "Endpoint=sb://" + w.namespace + ";SharedAccessKeyName=listen;SharedAccessKey=c2VjcmV0a2V5;EntityPath=defender-streaming;UseDevelopmentEmulator=true"
				opt.Hub = ""
			}
			s, err := New(w.ctx, opt)
			if err == nil {
				_ = s.Close(context.Background())
				t.Fatal("New started with a refused credential")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not contain %q:\n%v", want, err)
				}
			}
			if tt.answer != nil {
				var af *azidentity.AuthenticationFailedError
				if !errors.As(err, &af) {
					t.Errorf("error does not wrap the credential's *azidentity.AuthenticationFailedError: %v", err)
				}
			}
			if n := w.hubConns.Load(); n != 0 {
				t.Errorf("New connected to Event Hubs %d times before refusing", n)
			}
			if n := w.storeCalls.Load(); n != 0 {
				t.Errorf("New called the storage account %d times before refusing", n)
			}
			if strings.Contains(err.Error(), testSecret) || strings.Contains(logs.String(), testSecret) {
				t.Error("the client secret is in the error or the log")
			}
			if ws := warnings(t, logs); len(ws) != 0 {
				t.Errorf("a refusal was logged as a warning: %v", ws)
			}
		})
	}
}

// When Entra does not answer in a way that settles anything — a server
// error, throttling, a dropped connection, no answer within the check's
// deadline — New logs it at Warn and goes on to Event Hubs, as before the
// check. A credential that gets its tokens (for each scope the source uses)
// starts as before, without a warning.
func TestNewGoesOnWhenTheCredentialMayRecover(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		answer     http.HandlerFunc // nil: slowUnavailable
		warn       string           // in the Warn record's err; "": no warning
		wantScopes []string         // asked of Entra, in order; nil: not checked
	}{
		{"Entra unavailable (503)", entraStatus(http.StatusServiceUnavailable), "RESPONSE 503", []string{eventHubsScope}},
		{"Entra throttling (429)", entraStatus(http.StatusTooManyRequests), "RESPONSE 429", []string{eventHubsScope}},
		{"Entra failing (500)", entraStatus(http.StatusInternalServerError), "RESPONSE 500", []string{eventHubsScope}},
		{"a dropped connection", entraHangsUp, "EOF", []string{eventHubsScope}},
		{"no answer before the check's deadline", nil, "managed identity timed out", nil},
		{"a credential that gets its tokens", entraGrants, "", []string{eventHubsScope, storageScope}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			var cred azcore.TokenCredential = slowUnavailable{}
			var e *entra
			if tt.answer != nil {
				e = newEntra(t, tt.answer)
				cred = e.credential(t)
			}
			logs := new(syncbuf.Buffer)
			opt := w.options(cred, true, logs)
			opt.credentialCheck = 200 * time.Millisecond
			if tt.answer != nil {
				opt.credentialCheck = 0 // the default: a real answer comes first
			}
			s, err := New(w.ctx, opt)
			if err == nil {
				_ = s.Close(context.Background())
				t.Fatal("New started against a stand-in that only accepts connections")
			}
			if strings.Contains(err.Error(), "eventhubs: signing in (auth)") {
				t.Fatalf("New refused the credential: %v", err)
			}
			if w.hubConns.Load() == 0 {
				t.Fatalf("New did not go on to Event Hubs: %v", err)
			}
			ws := warnings(t, logs)
			switch {
			case tt.warn == "" && len(ws) != 0:
				t.Errorf("warnings for a credential that got its tokens: %v", ws)
			case tt.warn != "" && len(ws) != 1:
				t.Errorf("got %d warnings, want 1: %v", len(ws), ws)
			case tt.warn != "":
				msg, _ := ws[0]["msg"].(string)
				errText, _ := ws[0]["err"].(string)
				if !strings.Contains(msg, "starting anyway") || !strings.Contains(errText, tt.warn) || ws[0]["scope"] != eventHubsScope {
					t.Errorf("warning %v: want msg with %q, err with %q, scope %q", ws[0], "starting anyway", tt.warn, eventHubsScope)
				}
			}
			if e != nil {
				if got := e.asked(); !slices.Equal(got, tt.wantScopes) {
					t.Errorf("scopes asked %q, want %q", got, tt.wantScopes)
				}
			}
			if strings.Contains(logs.String(), testSecret) {
				t.Error("the client secret is in the log")
			}
		})
	}
}

// With connection strings for both Event Hubs and storage the credential
// is not used, and not asked.
func TestNewAsksNoCredentialWithConnectionStrings(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cred := &unavailable{}
	logs := new(syncbuf.Buffer)
	opt := w.options(cred, false, logs)
	opt.Namespace, opt.Hub = "", ""
	opt.ConnectionString = "Endpoint=sb://" + w.namespace + ";SharedAccessKeyName=listen;SharedAccessKey=c2VjcmV0a2V5;EntityPath=defender-streaming;UseDevelopmentEmulator=true"
	s, err := New(w.ctx, opt)
	if err == nil {
		_ = s.Close(context.Background())
		t.Fatal("New started against a stand-in that only accepts connections")
	}
	if n := cred.calls.Load(); n != 0 {
		t.Errorf("the credential was asked %d times", n)
	}
	if w.hubConns.Load() == 0 || strings.Contains(err.Error(), "eventhubs: signing in (auth)") {
		t.Errorf("New did not go on to Event Hubs: %v", err)
	}
}

// azidentity.DefaultAzureCredential, the credential New makes when Options
// has none, is checked the same way: with no source to use it is refused
// without a network call, and a chain whose environment credential Entra
// refuses is refused with Entra's answer.
func TestNewRefusesTheDefaultCredentialChain(t *testing.T) {
	// Not parallel: the chain reads the environment.
	for _, tt := range []struct {
		name   string
		secret bool // a service principal in the environment, refused by Entra
		want   []string
	}{
		{"nothing to use", false, []string{"eventhubs: signing in (auth): no credential can get a token", "EnvironmentCredential", "AZURE_CLIENT_SECRET"}},
		{"an environment credential Entra refuses", true, []string{"eventhubs: signing in (auth):", "HTTP 401: AADSTS7000215", "check AZURE_CLIENT_SECRET", "DefaultAzureCredential"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("AZURE_TOKEN_CREDENTIALS", "EnvironmentCredential")
			for _, k := range []string{"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME"} {
				t.Setenv(k, "")
			}
			w := newWorld(t)
			logs := new(syncbuf.Buffer)
			opt := w.options(nil, true, logs)
			if tt.secret {
				t.Setenv("AZURE_TENANT_ID", testTenant)
				t.Setenv("AZURE_CLIENT_ID", testClient)
				t.Setenv("AZURE_CLIENT_SECRET", testSecret)
				e := newEntra(t, entraRefuses(http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided."))
				cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
					ClientOptions: azcore.ClientOptions{
						Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: e.srv.URL},
						Transport: e.srv.Client(),
					},
					DisableInstanceDiscovery: true,
				})
				if err != nil {
					t.Fatal(err)
				}
				opt.Credential = cred
			}
			s, err := New(w.ctx, opt)
			if err == nil {
				_ = s.Close(context.Background())
				t.Fatal("New started with a refused credential")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not contain %q:\n%v", want, err)
				}
			}
			if n := w.hubConns.Load() + w.storeCalls.Load(); n != 0 {
				t.Errorf("New made %d calls to Event Hubs or storage before refusing", n)
			}
			if strings.Contains(err.Error(), testSecret) || strings.Contains(logs.String(), testSecret) {
				t.Error("the client secret is in the error or the log")
			}
		})
	}
}

// A checkpoint container URL may carry a secret outside its query — a
// password, or a SAS pasted after a '#'. Neither the error of a refused
// check nor the warning of one that may recover shows it: the container is
// named by its URL without them. A URL with a fragment is refused before
// the credential is asked anything (the fragment is never sent, so a SAS
// there would not reach the storage account), without showing it either.
func TestCredentialCheckShowsNoSecretOfTheContainerURL(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		url     func(plain string) string
		secrets []string
		invalid string // the options error New returns before any check; "" if none
	}{
		{"a password, percent-encoded", func(u string) string {
			return strings.Replace(u, "https://", "https://iocwatch:pa%24sw0rd-secret@", 1)
		}, []string{"sw0rd-secret"}, ""},
		{"a SAS in a fragment", func(u string) string {
			return u + "#sv=2024-08-04&sr=c&sp=racwdl&sig=c2FzLXNpZ25hdHVyZS1ub3QtcmVhbA%3D%3D"
		}, []string{"c2FzLXNpZ25hdHVyZS1ub3QtcmVhbA"}, "eventhubs: invalid options: checkpoint.container_url: must not hold a #fragment"},
	} {
		for _, answer := range []struct {
			name    string
			handler http.HandlerFunc
			refused bool
		}{
			{"refused", entraRefuses(http.StatusBadRequest, "invalid_resource", 500011, "The resource principal named https://storage.azure.com was not found in the tenant named Contoso."), true},
			{"may recover", entraStatus(http.StatusServiceUnavailable), false},
		} {
			t.Run(tt.name+", "+answer.name, func(t *testing.T) {
				t.Parallel()
				w := newWorld(t)
				e := newEntra(t, answer.handler)
				logs := new(syncbuf.Buffer)
				opt := w.options(e.credential(t), true, logs)
				opt.Namespace, opt.Hub = "", ""
				opt.ConnectionString = "Endpoint=sb://" + w.namespace + ";SharedAccessKeyName=listen;SharedAccessKey=c2VjcmV0a2V5;EntityPath=defender-streaming;UseDevelopmentEmulator=true"
				opt.CheckpointContainerURL = tt.url(w.containerURL)
				s, err := New(w.ctx, opt)
				if err == nil {
					_ = s.Close(context.Background())
					t.Fatal("New started against a stand-in that only accepts connections")
				}
				for _, sec := range tt.secrets {
					if strings.Contains(err.Error(), sec) {
						t.Errorf("the error shows %q: %v", sec, err)
					}
					if strings.Contains(logs.String(), sec) {
						t.Errorf("the log shows %q:\n%s", sec, logs)
					}
				}
				if tt.invalid != "" {
					if got := e.asked(); len(got) > 0 || !strings.HasPrefix(err.Error(), tt.invalid) {
						t.Errorf("New: %v, having asked for %q; want %q before asking anything", err, got, tt.invalid)
					}
					return
				}
				if got := e.asked(); !slices.Equal(got, []string{storageScope}) {
					t.Fatalf("scopes asked %q, want the storage scope alone", got)
				}
				named := "checkpoint container " + w.containerURL
				switch ws := warnings(t, logs); {
				case answer.refused && !strings.Contains(err.Error(), "eventhubs: signing in (auth): Microsoft Entra ID refuses the credential a token for "+named+" (scope"):
					t.Errorf("the refusal does not name the container by its plain URL: %v", err)
				case !answer.refused && (len(ws) != 1 || ws[0]["for"] != named):
					t.Errorf("want one warning for %q, got %v", named, ws)
				}
			})
		}
	}
}

// The check asks for the storage token exactly as the blob client's bearer
// token policy does (a CAE token), so that a credential that caches tokens
// serves the client's first request the token the check got, and Entra is
// asked for it once.
func TestCredentialCheckAsksForTheTokenTheBlobClientUses(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	e := newEntra(t, entraGrants)
	cred := e.credential(t)
	opt := w.options(cred, true, new(syncbuf.Buffer))
	opt.Namespace, opt.Hub = "", ""
	opt.ConnectionString = "Endpoint=sb://" + w.namespace + ";SharedAccessKeyName=listen;SharedAccessKey=c2VjcmV0a2V5;EntityPath=defender-streaming;UseDevelopmentEmulator=true"
	r, err := opt.resolve()
	if err != nil {
		t.Fatal(err)
	}
	if err := checkCredential(w.ctx, r, cred, newRedactor(opt.ConnectionString, opt.CheckpointContainerURL)); err != nil {
		t.Fatal(err)
	}
	cc, err := containerClient(r, cred)
	if err != nil {
		t.Fatal(err)
	}
	// The stand-in's certificate is not trusted: the request fails after
	// the bearer token policy got its token. No retries.
	ctx := policy.WithRetryOptions(w.ctx, policy.RetryOptions{MaxRetries: -1})
	_, _ = cc.NewListBlobsFlatPager(nil).NextPage(ctx)
	if got := e.asked(); !slices.Equal(got, []string{storageScope}) {
		t.Errorf("Entra was asked for %q, want the storage scope once", got)
	}
}

// A start cancelled while the check waits for Entra ends at once with the
// context's error, naming what was asked for: it is not taken for a check
// that may recover, and nothing else is tried.
func TestCredentialCheckEndsWithItsContext(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx, cancel := context.WithCancel(w.ctx)
	defer cancel()
	e := newEntra(t, func(_ http.ResponseWriter, r *http.Request) {
		cancel()
		<-r.Context().Done()
	})
	logs := new(syncbuf.Buffer)
	s, err := New(ctx, w.options(e.credential(t), true, logs))
	if err == nil {
		_ = s.Close(context.Background())
		t.Fatal("New started")
	}
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "eventhubs: token for Event Hubs namespace "+w.namespace) {
		t.Errorf("want the context's error for the Event Hubs token, got %v", err)
	}
	if n := w.hubConns.Load() + w.storeCalls.Load(); n != 0 {
		t.Errorf("New made %d calls to Event Hubs or storage after its context was cancelled", n)
	}
	if ws := warnings(t, logs); len(ws) != 0 {
		t.Errorf("a cancelled start was logged as a warning: %v", ws)
	}
}
