package eventhubs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// The scopes the Source's clients ask the credential for.
const (
	// eventHubsScope is the scope azeventhubs v2 asks for (its token
	// provider writes it with two slashes, and asks without CAE); asking
	// for the same token means that a credential that caches tokens serves
	// the client's first claim the token the check got.
	eventHubsScope = "https://eventhubs.azure.net//.default"
	// storageScope is the scope of the blob client's bearer token policy
	// (its default audience; New sets none).
	storageScope = "https://storage.azure.com/.default"
)

// credentialCheckTimeout bounds New's check of the credential, all scopes
// together. It only delays a start whose credential cannot answer: a check
// cut short is not a refusal.
const credentialCheckTimeout = 20 * time.Second

// checkCredential asks cred once for a token for each scope the Source
// will use it for: Event Hubs without a connection string, storage with a
// container URL without a SAS. A refusal that retrying cannot change —
// Microsoft Entra ID answering 400 or 401 (a wrong or expired client
// secret, an unknown tenant or application), or no credential of the
// chain available at all — is returned, naming the auth setting and what
// to check. Anything else (no answer, a timeout, throttling, a server
// error) is logged at Warn and the start goes on, without asking for the
// other scope: the clients ask again when they connect. Neither the error
// nor the log holds a secret: the credential's errors carry Entra's
// answer, not the request.
func checkCredential(ctx context.Context, r resolved, cred azcore.TokenCredential, red *redactor) error {
	type use struct {
		scope, what string
		cae         bool // as the client asks: a CAE token
	}
	var uses []use
	if r.ConnectionString == "" {
		// azeventhubs asks without CAE.
		uses = append(uses, use{eventHubsScope, "Event Hubs namespace " + r.namespace, false})
	}
	if r.CheckpointContainerURL != "" && !r.containerURLSAS {
		// azcore's bearer token policy, which the blob client uses,
		// always asks for a CAE token; a credential caches CAE and other
		// tokens apart.
		uses = append(uses, use{storageScope, "checkpoint " + r.checkpointTarget, true})
	}
	cctx, cancel := context.WithTimeout(ctx, r.credentialCheck)
	defer cancel()
	for _, u := range uses {
		_, err := cred.GetToken(cctx, policy.TokenRequestOptions{Scopes: []string{u.scope}, EnableCAE: u.cae})
		switch {
		case err == nil:
			continue
		case ctx.Err() != nil:
			return fmt.Errorf("eventhubs: token for %s: %w", u.what, ctx.Err())
		case cctx.Err() == nil:
			// A check cut short by its deadline is never a refusal:
			// DefaultAzureCredential then reports its managed identity
			// as unavailable, as it does where there is none.
			switch answer, hint := credentialRefusal(err); {
			case hint == "":
			case answer == "":
				return fmt.Errorf("eventhubs: signing in (auth): no credential can get a token for %s (scope %s); %s: %w", u.what, u.scope, hint, err)
			default:
				return fmt.Errorf("eventhubs: signing in (auth): Microsoft Entra ID refuses the credential a token for %s (scope %s): %s; %s: %w",
					u.what, u.scope, answer, hint, err)
			}
		}
		// Asking again, for the other scope, would only wait or load
		// Entra more: the clients ask when they connect.
		r.Logger.Warn("eventhubs: the credential got no token at start, for a reason that may pass (no answer, a timeout, throttling, a server error); starting anyway",
			"for", red.String(u.what), "scope", u.scope, "err", red.String(err.Error()))
		return nil
	}
	return nil
}

// credentialUnavailableType is the type of azidentity's error for a
// credential (or a whole chain) that cannot try to authenticate here: no
// environment variables, no workload or managed identity, no Azure CLI
// login. azidentity exports only its constructor.
var credentialUnavailableType = reflect.TypeOf(azidentity.NewCredentialUnavailableError(""))

// credentialRefusal tells a refusal retrying cannot change from anything
// else. When Microsoft Entra ID answered 400 or 401 it returns Entra's
// answer ("HTTP 401: AADSTS7000215: Invalid client secret provided. …")
// and what to check; when no credential is available, no answer and what
// to check; otherwise two empty strings.
func credentialRefusal(err error) (answer, hint string) {
	var af *azidentity.AuthenticationFailedError
	if errors.As(err, &af) {
		if af.RawResponse == nil ||
			(af.RawResponse.StatusCode != http.StatusBadRequest && af.RawResponse.StatusCode != http.StatusUnauthorized) {
			return "", ""
		}
		code, msg := entraError(af.RawResponse)
		hint = credentialHints[code]
		if hint == "" {
			hint = credentialHint
		}
		answer = "HTTP " + strconv.Itoa(af.RawResponse.StatusCode)
		if msg != "" {
			answer += ": " + msg
		}
		return answer, hint
	}
	if hasType(err, credentialUnavailableType) {
		return "", unavailableHint
	}
	return "", ""
}

// hasType reports whether err or an error it wraps has type t.
func hasType(err error, t reflect.Type) bool {
	for err != nil {
		if reflect.TypeOf(err) == t {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if hasType(e, t) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}

// entraError returns the AADSTS code of a Microsoft Entra ID error answer
// and the first line of its description ("AADSTS7000215: Invalid client
// secret provided. …"), or its error code when it has no description.
func entraError(resp *http.Response) (int, string) {
	body, err := runtime.Payload(resp)
	if err != nil {
		return 0, ""
	}
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Codes       []int  `json:"error_codes"`
	}
	if json.Unmarshal(body, &e) != nil {
		return 0, ""
	}
	msg, _, _ := strings.Cut(e.Description, "\n")
	msg = strings.TrimSpace(msg)
	if msg == "" {
		msg = e.Error
	}
	code := 0
	if len(e.Codes) > 0 {
		code = e.Codes[0]
	} else if rest, ok := strings.CutPrefix(msg, "AADSTS"); ok {
		digits, _, _ := strings.Cut(rest, ":")
		code, _ = strconv.Atoi(digits)
	}
	return code, msg
}

// credentialHint says what to check when Microsoft Entra ID refuses the
// credential for a reason credentialHints has no entry for.
const credentialHint = "check the identity iocwatch signs in as: a service principal's AZURE_TENANT_ID, AZURE_CLIENT_ID and " +
	"AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH); with AKS workload identity, the federated credential of the " +
	"pod's service account; with a managed identity, that it is assigned to this host (AZURE_CLIENT_ID names a user-assigned one)"

// credentialHints say what to check for the commonest refusals, by AADSTS
// code.
var credentialHints = map[int]string{
	7000215: "check AZURE_CLIENT_SECRET, which must hold the value (not the ID) of a client secret of the application AZURE_CLIENT_ID names",
	7000222: "the client secret has expired: create a new one for the application AZURE_CLIENT_ID names and set AZURE_CLIENT_SECRET to its value",
	90002:   "check AZURE_TENANT_ID: the directory (tenant) ID, or a domain verified in it, of the cloud the namespace is in",
	700016:  "check AZURE_CLIENT_ID and AZURE_TENANT_ID: the application (client) ID must be of an application registered in that tenant",
}

// unavailableHint says what to check when no credential of the chain is
// available.
const unavailableHint = "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for a service principal, or run with AKS " +
	"workload identity or a managed identity (on an Azure host whose managed identity did not answer in time, start again), " +
	"or sign in with az login; or use auth connection_string"
