package eventhubs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/iocwatch/iocwatch/internal/syncbuf"
	"github.com/iocwatch/iocwatch/testenv"
)

// corruptHub is the emulator hub of the corrupt-record tests.
const corruptHub = "corrupt"

// setBlobMetadata replaces the metadata of blob name in container cont, as
// an operator editing it by hand does; it creates the blob if need be.
func setBlobMetadata(t *testing.T, ctx context.Context, blob, cont, name string, md map[string]*string) {
	t.Helper()
	cc, err := container.NewClientFromConnectionString(blob, cont, nil)
	if err != nil {
		t.Fatal(err)
	}
	bc := cc.NewBlockBlobClient(name)
	if _, err := bc.UploadBuffer(ctx, nil, nil); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	if _, err := bc.SetMetadata(ctx, md, nil); err != nil {
		t.Fatalf("set metadata of %s: %v", name, err)
	}
}

// testCorruptCheckpoint: a checkpoint blob whose metadata is not a
// checkpoint (a key missing, a value that is not one) stops the source with
// an error that names the container, the blob, the key and its value, and
// says how to recover; it is not retried for ever as an outage.
func testCorruptCheckpoint(t *testing.T) {
	t.Parallel()
	conn, blob := shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	produce(t, ctx, conn, corruptHub, []string{"0"}, 0, 3)
	cancel()
	for _, tt := range []struct {
		name string
		md   map[string]*string
		want []string // in the error, besides the container, blob and recovery
	}{
		{"sequencenumber not a number", map[string]*string{"sequencenumber": to.Ptr("12x"), "offset": to.Ptr("0")},
			[]string{`sequencenumber="12x"`, "not a whole number", "set sequencenumber to"}},
		{"sequencenumber missing", map[string]*string{"offset": to.Ptr("0")},
			[]string{"sequencenumber", "missing", "set sequencenumber to"}},
		{"offset missing", map[string]*string{"sequencenumber": to.Ptr("1")},
			[]string{"offset", "missing", "set offset to"}},
		{"offset not a number", map[string]*string{"sequencenumber": to.Ptr("1"), "offset": to.Ptr("1O0")},
			[]string{`offset="1O0"`, "not a whole number", "set offset to"}},
		{"no metadata", map[string]*string{},
			[]string{"sequencenumber", "missing"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cont := testenv.NewContainer(t, blob)
			logs := new(syncbuf.Buffer)
			opt := testOptions(conn, blob, corruptHub, cont)
			opt.storeRetryMin, opt.storeRetryMax = 20*time.Millisecond, 100*time.Millisecond
			opt.Logger = slog.New(slog.NewJSONHandler(logs, nil))
			r, err := opt.resolve()
			if err != nil {
				t.Fatal(err)
			}
			name := r.namespace + "/" + corruptHub + "/" + DefaultConsumerGroup + "/checkpoint/0"
			setBlobMetadata(t, ctx, blob, cont, name, tt.md)

			s := open(t, ctx, opt)
			b, err := s.Read(ctx)
			if err == nil {
				t.Fatalf("Read: %d events; want the corrupt checkpoint as an error", len(b.Messages))
			}
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				t.Fatalf("Read: %v; want the corrupt checkpoint as an error before the deadline", err)
			}
			for _, w := range append([]string{`hub "corrupt"`, "checkpoint container " + cont, `"` + name + `"`,
				"delete", "start_position (earliest)"}, tt.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Read error %q does not contain %q", err, w)
				}
			}
			logged := logs.String()
			if !loggedError(t, logged, err.Error()) {
				t.Errorf("the stop %q was not logged as an error:\n%s", err, logged)
			}
			if strings.Contains(logged, "checkpoint store unavailable") || strings.Contains(logged, "cannot list checkpoints") {
				t.Errorf("the corrupt checkpoint was logged as an outage:\n%s", logged)
			}
			if _, err2 := s.Read(ctx); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("second Read: %v, want %v again", err2, err)
			}
		})
	}
}

// testCorruptOwnership: an ownership record whose metadata names no owner
// (edited by hand, or written by a foreign tool) is a claim of nobody's:
// the source logs it, claims the partition over it and reads; it does not
// retry listing the claims for ever as an outage, reading nothing.
func testCorruptOwnership(t *testing.T) {
	t.Parallel()
	conn, blob := shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cont := testenv.NewContainer(t, blob)
	const hub = "corruptown"
	const n = 3
	produce(t, ctx, conn, hub, []string{"0"}, 0, n)
	logs := new(syncbuf.Buffer)
	opt := testOptions(conn, blob, hub, cont)
	opt.storeRetryMin, opt.storeRetryMax = 20*time.Millisecond, 100*time.Millisecond
	opt.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	r, err := opt.resolve()
	if err != nil {
		t.Fatal(err)
	}
	name := r.namespace + "/" + hub + "/" + DefaultConsumerGroup + "/ownership/0"
	setBlobMetadata(t, ctx, blob, cont, name, map[string]*string{"owner": to.Ptr("someone")})

	s := open(t, ctx, opt)
	rec := newRecorder()
	readUntil(t, ctx, s, hub, rec, func() bool { return len(rec.seen) == n })
	rec.check(t)
	owners, err := blobStore(t, blob, cont).ListOwnership(ctx, r.namespace, hub, DefaultConsumerGroup, nil)
	if err != nil {
		t.Fatalf("list ownership after the claim: %v", err)
	}
	if len(owners) != 1 || owners[0].OwnerID != s.owner {
		t.Errorf("ownership after the claim: %+v, want partition 0 owned by %s", owners, s.owner)
	}
	logged := logs.String()
	if !strings.Contains(logged, `"level":"WARN"`) || !strings.Contains(logged, name) {
		t.Errorf("the ownership record without an owner was not logged at Warn with its blob %s:\n%s", name, logged)
	}
	if strings.Contains(logged, "checkpoint store unavailable") {
		t.Errorf("the ownership record without an owner was logged as an outage:\n%s", logged)
	}
}
