package eventhubs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/iocwatch/iocwatch/internal/syncbuf"
	"github.com/iocwatch/iocwatch/testenv"
)

// readOnlySAS returns a storage connection string for the Azurite account
// of blob whose account SAS may read and list containers and blobs but not
// write them: a SAS made with too few permissions.
func readOnlySAS(t *testing.T, blob string) string {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential("devstoreaccount1", testenv.AzuriteAccountKey)
	if err != nil {
		t.Fatal(err)
	}
	q, err := sas.AccountSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		ExpiryTime:    time.Now().Add(time.Hour).UTC(),
		Permissions:   (&sas.AccountPermissions{Read: true, List: true}).String(),
		ResourceTypes: (&sas.AccountResourceTypes{Container: true, Object: true}).String(),
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	return sasConnString(t, blob, q)
}

// testStoreRefused: a checkpoint store that answers but refuses for good —
// here a SAS that may read and list but not write — is not an outage to
// ride out: the source stops with an error naming the container, the
// operation and what to check, instead of retrying for ever while it reads
// nothing.
func testStoreRefused(t *testing.T) {
	t.Parallel()
	conn, blob := shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cont := testenv.NewContainer(t, blob)
	logs := new(syncbuf.Buffer)
	opt := testOptions(conn, blob, "readonly", cont)
	opt.CheckpointConnectionString = readOnlySAS(t, blob)
	opt.storeRetryMin, opt.storeRetryMax = 20*time.Millisecond, 100*time.Millisecond
	opt.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	s := open(t, ctx, opt)
	_, err := s.Read(ctx)
	if err == nil || errors.Is(err, io.EOF) || ctx.Err() != nil {
		t.Fatalf("Read: %v; want the store's refusal as an error before the deadline", err)
	}
	for _, w := range []string{`hub "readonly"`, "checkpoint container " + cont, "claim partition 0",
		"AuthorizationPermissionMismatch", "Storage Blob Data Contributor"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Read error %q does not contain %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "sig=") && !strings.Contains(err.Error(), "sig="+redactedMark) {
		t.Errorf("Read error %q carries the SAS signature", err)
	}
	logged := logs.String()
	if !loggedError(t, logged, err.Error()) {
		t.Errorf("the refusal %q was not logged as an error:\n%s", err, logged)
	}
	if _, err2 := s.Read(ctx); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("second Read: %v, want %v again", err2, err)
	}
}

// responseError is what the blob client returns when the service answers
// with status and code.
func responseError(status int, code bloberror.Code) error {
	return &azcore.ResponseError{StatusCode: status, ErrorCode: string(code),
		RawResponse: &http.Response{StatusCode: status, Status: fmt.Sprintf("%d %s", status, code)}}
}

// The retry of the processor's ownership calls rides out failures that may
// heal (no answer, a timeout, throttling, a server error) and returns at
// once, with the container and what to check, when the store answered with
// a refusal that cannot heal.
func TestStoreRetryGivesUpOnRefusals(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want string // in the returned error; "" means retried until it succeeds
	}{
		{"no write permission", responseError(http.StatusForbidden, bloberror.AuthorizationPermissionMismatch),
			"Storage Blob Data Contributor"},
		{"expired SAS or wrong key", responseError(http.StatusForbidden, bloberror.AuthenticationFailed),
			"may have expired"},
		{"the storage firewall does not admit this host", responseError(http.StatusForbidden, bloberror.AuthorizationFailure),
			"network rules"},
		{"no token", responseError(http.StatusUnauthorized, bloberror.InvalidAuthenticationInfo),
			"may have expired"},
		{"container deleted", responseError(http.StatusNotFound, bloberror.ContainerNotFound),
			"does not exist"},
		{"container being deleted", responseError(http.StatusConflict, bloberror.ContainerBeingDeleted),
			"ContainerBeingDeleted"},
		{"server busy", responseError(http.StatusServiceUnavailable, bloberror.ServerBusy), ""},
		{"internal error", responseError(http.StatusInternalServerError, bloberror.InternalError), ""},
		{"throttled", responseError(http.StatusTooManyRequests, "TooManyRequests"), ""},
		{"operation timed out", responseError(http.StatusRequestTimeout, bloberror.OperationTimedOut), ""},
		{"no answer", errStoreDown, ""},
		{"wrapped no answer", fmt.Errorf("list: %w", errStoreDown), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := testSource(&logs)
			w := &procStore{s: s}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			calls := 0
			err := w.retry(ctx, "claim partition 3", ownershipRetry, func() error {
				calls++
				if calls < 3 {
					return tt.err
				}
				return nil
			})
			if tt.want == "" {
				if err != nil || calls != 3 {
					t.Fatalf("retry: %v after %d calls; want success at the third", err, calls)
				}
				return
			}
			if err == nil || calls != 1 {
				t.Fatalf("retry: %v after %d calls; want the refusal after one", err, calls)
			}
			for _, w := range []string{"checkpoint container iocwatch", "claim partition 3", tt.want} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("error %q does not wrap the store's %v", err, tt.err)
			}
			if strings.Contains(logs.String(), "retrying") {
				t.Errorf("a refusal was logged as retried:\n%s", logs.String())
			}
		})
	}
}

// sasConnString returns a storage connection string for the blob endpoint
// of the Azurite connection string blob that authenticates with q.
func sasConnString(t *testing.T, blob string, q sas.QueryParameters) string {
	t.Helper()
	const key = "BlobEndpoint="
	i := strings.Index(blob, key)
	if i < 0 {
		t.Fatalf("Azurite connection string without %s", key)
	}
	endpoint, _, _ := strings.Cut(blob[i+len(key):], ";")
	return key + endpoint + ";SharedAccessSignature=" + q.Encode()
}

// containerSAS returns a storage connection string for the Azurite account
// of blob holding a service SAS of container cont with the permissions
// docs/eventhubs.md asks for: read, add, create, write and list.
func containerSAS(t *testing.T, blob, cont string) string {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential("devstoreaccount1", testenv.AzuriteAccountKey)
	if err != nil {
		t.Fatal(err)
	}
	q, err := sas.BlobSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		ExpiryTime:    time.Now().Add(time.Hour).UTC(),
		Permissions:   (&sas.ContainerPermissions{Read: true, Add: true, Create: true, Write: true, List: true}).String(),
		ContainerName: cont,
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	return sasConnString(t, blob, q)
}

// testContainerSAS: the least a replica needs of the checkpoint store — a
// SAS of the container alone, which may not read the container's own
// properties — starts the source, and it reads and checkpoints.
func testContainerSAS(t *testing.T) {
	t.Parallel()
	conn, blob := shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cont := testenv.NewContainer(t, blob)
	const n = 5
	produce(t, ctx, conn, "containersas", []string{"0"}, 0, n)
	opt := testOptions(conn, blob, "containersas", cont)
	opt.CheckpointConnectionString = containerSAS(t, blob, cont)
	s := open(t, ctx, opt)
	rec := newRecorder()
	readUntil(t, ctx, s, "containersas", rec, func() bool { return len(rec.seen) == n })
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if cps := storedCheckpoints(t, ctx, blob, cont, s.opt.namespace, "containersas"); cps["0"] != n-1 {
		t.Errorf("checkpoint of partition 0 is %d after Close, want %d", cps["0"], n-1)
	}
}

// claimStore answers each claim with the error its partition is given.
type claimStore struct {
	azeventhubs.CheckpointStore
	errs map[string]error
}

func (c *claimStore) ClaimOwnership(_ context.Context, owns []azeventhubs.Ownership, _ *azeventhubs.ClaimOwnershipOptions) ([]azeventhubs.Ownership, error) {
	var out []azeventhubs.Ownership
	for _, o := range owns {
		if err := c.errs[o.PartitionID]; err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// An ownership record deleted under a replica (someone cleaned the
// container) makes its conditional claim fail with BlobNotFound: that
// claim is lost, as one another replica changed is, and the next round
// claims the partition afresh; it does not stop the source.
func TestAClaimWhoseRecordVanishedIsLostNotFatal(t *testing.T) {
	var logs bytes.Buffer
	s := &Source{log: slog.New(slog.NewTextHandler(&logs, nil)), red: newRedactor(), owner: "me"}
	s.opt.hub, s.opt.checkpointTarget = "defender", "container iocwatch"
	s.opt.storeRetryMin, s.opt.storeRetryMax = time.Millisecond, time.Millisecond
	s.runCtx = context.Background()
	w := &procStore{s: s, CheckpointStore: &claimStore{errs: map[string]error{
		"1": responseError(http.StatusNotFound, bloberror.BlobNotFound),
	}}}
	owns := []azeventhubs.Ownership{{PartitionID: "0", OwnerID: "me"}, {PartitionID: "1", OwnerID: "me"}, {PartitionID: "2", OwnerID: "me"}}
	got, err := w.ClaimOwnership(context.Background(), owns, nil)
	if err != nil {
		t.Fatalf("ClaimOwnership: %v; want the vanished claim left out", err)
	}
	var ids []string
	for _, o := range got {
		ids = append(ids, o.PartitionID)
	}
	if strings.Join(ids, ",") != "0,2" {
		t.Errorf("claimed %v, want [0 2]", ids)
	}
	if !strings.Contains(logs.String(), "partition=1") {
		t.Errorf("the lost claim was not logged:\n%s", logs.String())
	}
}
