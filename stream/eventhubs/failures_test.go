package eventhubs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/Azure/go-amqp"

	"github.com/iocwatch/iocwatch/internal/syncbuf"
	"github.com/iocwatch/iocwatch/testenv"
)

// testRefused: a receiver the service refuses — a consumer group the hub
// does not have, a key without the Listen claim — stops the source with an
// error naming the hub, the consumer group and the cause, and logs it; it
// does not leave the source waiting for events that never come. A declared
// consumer group still reads.
func testRefused(t *testing.T) {
	t.Parallel()
	conn, blob := shared(t)
	sendOnly := strings.Replace(conn, "SharedAccessKeyName=testenv", "SharedAccessKeyName=iocwatch-send-only", 1)
	if sendOnly == conn {
		t.Fatalf("connection string %q has no SharedAccessKeyName=testenv", conn)
	}
	for _, tt := range []struct {
		name, hub, group, conn string
		want                   []string // in the error and the logged record
	}{
		{"a consumer group the hub does not have", "groups", "nope", conn,
			[]string{`hub "groups"`, `consumer group "nope"`, "could not be found", "consumer group exists"}},
		{"a key without the Listen claim", "nolisten", DefaultConsumerGroup, sendOnly,
			[]string{`hub "nolisten"`, `consumer group "$Default"`, "'Listen' claim(s) are required", "Listen"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			logs := new(syncbuf.Buffer)
			opt := testOptions(tt.conn, blob, tt.hub, testenv.NewContainer(t, blob))
			opt.ConsumerGroup = tt.group
			opt.Logger = slog.New(slog.NewJSONHandler(logs, nil))
			s := open(t, ctx, opt)
			_, err := s.Read(ctx)
			if err == nil || errors.Is(err, io.EOF) || ctx.Err() != nil {
				t.Fatalf("Read: %v; want the refusal as an error before the deadline", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Read error %q does not contain %q", err, w)
				}
			}
			logged := logs.String()
			if !loggedError(t, logged, err.Error()) {
				t.Errorf("the refusal %q was not logged as an error:\n%s", err, logged)
			}
			// Read keeps returning it: the source is stopped for good.
			if _, err2 := s.Read(ctx); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("second Read: %v, want %v again", err2, err)
			}
		})
	}
	t.Run("a consumer group the hub has reads", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		opt := testOptions(conn, blob, "groups", testenv.NewContainer(t, blob))
		opt.ConsumerGroup = "IOCWatch" // groups are compared without case, as by the service
		s := open(t, ctx, opt)
		produce(t, ctx, conn, "groups", []string{"0"}, 0, 3)
		rec := newRecorder()
		readUntil(t, ctx, s, "groups", rec, func() bool { return len(rec.seen) == 3 })
		rec.check(t)
	})
}

// testStoreOutage: while the checkpoint store is unreachable the source keeps
// reading the partitions it owns, retries the store with back-off and says
// so in the log; when the store is back it checkpoints again, and no event
// was skipped.
func testStoreOutage(t *testing.T) {
	t.Parallel()
	conn, blob := shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	cont := testenv.NewContainer(t, blob)
	parts := []string{"0", "1"}
	const n = 10
	logs := new(syncbuf.Buffer)
	opt := testOptions(conn, blob, "outage", cont)
	opt.MaxBatchEvents = 4
	opt.Logger = slog.New(slog.NewTextHandler(logs, nil))
	opt.storeRetryMin, opt.storeRetryMax = 20*time.Millisecond, 100*time.Millisecond
	store := &faultyStore{reads: true}
	opt.wrapStore = func(s azeventhubs.CheckpointStore) azeventhubs.CheckpointStore {
		store.CheckpointStore = s
		return store
	}
	s := open(t, ctx, opt)
	waitFor(t, ctx, "both partitions claimed", func() bool { return owned(s) == 2 })

	rec := newRecorder()
	order := map[int32]int64{}
	readAll := func(upTo int) {
		t.Helper()
		for len(missingFrom(rec.seen, []int32{0, 1}, upTo)) > 0 {
			b, err := s.Read(ctx)
			if err != nil {
				t.Fatalf("Read: %v (read %d of %d per partition)", err, len(rec.seen), upTo)
			}
			checkBatchOrder(t, b, order)
			rec.record("outage", b, true)
			_ = b.Ack(ctx)
		}
	}
	produce(t, ctx, conn, "outage", parts, 0, n)
	readAll(n)

	store.broken.Store(true)
	// Several rounds of the processor fail, then more events arrive.
	waitFor(t, ctx, "the processor to meet the outage several times", func() bool { return alive(t, s) && store.failed.Load() >= 10 })
	produce(t, ctx, conn, "outage", parts, n, n)
	readAll(2 * n)
	waitFor(t, ctx, "more failed attempts", func() bool { return alive(t, s) && store.failed.Load() >= 20 })
	store.broken.Store(false)

	produce(t, ctx, conn, "outage", parts, 2*n, n)
	readAll(3 * n)
	rec.check(t)
	var state string
	waitFor(t, ctx, "checkpoints at the last event once the store is back", func() bool {
		cps := storedCheckpoints(t, ctx, blob, cont, s.opt.namespace, "outage")
		state = fmt.Sprint(cps)
		return cps["0"] == 3*n-1 && cps["1"] == 3*n-1
	}, &state)
	if got := owned(s); got != 2 {
		t.Errorf("after the outage the source owns %d partitions, want 2", got)
	}
	for e, c := range rec.seen {
		if c != 1 {
			t.Errorf("%v read %d times, want once (nothing to re-read: no replica changed)", e, c)
		}
	}
	logged := logs.String()
	for _, w := range []string{"checkpoint store unavailable", errStoreDown.Error(), "checkpoint store reachable again"} {
		if !strings.Contains(logged, w) {
			t.Errorf("log does not contain %q:\n%s", w, logged)
		}
	}
	// The checkpoints that wait for the store say so once at Warn, not
	// at every interval of the outage.
	warned := 0
	for _, line := range strings.Split(logged, "\n") {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, "checkpoint not written") {
			warned++
		}
	}
	if warned > 1 {
		t.Errorf("%d Warn lines of checkpoints not written in one outage, want at most 1:\n%s", warned, logged)
	}
}

// testLatestHandover: with start position latest, a replica that claims a
// partition without a checkpoint records where it starts, so a replica that
// takes the partition over before the first real checkpoint reads on from
// there instead of from its own "latest": the events the first replica read
// but never acknowledged are read again, not skipped.
func testLatestHandover(t *testing.T) {
	t.Parallel()
	conn, blob := shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	cont := testenv.NewContainer(t, blob)
	parts := []string{"0", "1"}
	const pre, n = 5, 10
	produce(t, ctx, conn, "pinned", parts, 0, pre) // before anyone reads: never delivered

	optA := testOptions(conn, blob, "pinned", cont)
	optA.StartPosition = "latest"
	optA.CheckpointInterval = time.Hour // A's sink never acknowledges anyway
	optA.CheckpointCount = 1 << 30
	a := open(t, ctx, optA)
	waitFor(t, ctx, "A to own both partitions", func() bool { return owned(a) == 2 })
	ns := a.opt.namespace
	if cps := storedCheckpoints(t, ctx, blob, cont, ns, "pinned"); cps["0"] != pre-1 || cps["1"] != pre-1 {
		t.Errorf("checkpoints once A claimed both partitions: %v, want both at the last event before the claim, %d", cps, pre-1)
	}

	// A reads the next events of both partitions; its sink never accepts.
	produce(t, ctx, conn, "pinned", parts, pre, n)
	recA := newRecorder()
	for len(missingFrom(recA.seen, []int32{0, 1}, pre+n)) > 2*pre {
		b, err := a.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		recA.record("pinned", b, false)
	}

	optB := optA
	b := open(t, ctx, optB)
	waitFor(t, ctx, "B to take a partition from A", func() bool { return owned(a) == 1 && owned(b) == 1 })
	var taken int32
	for p := range b.Lag() {
		fmt.Sscan(p, &taken)
	}
	produce(t, ctx, conn, "pinned", []string{fmt.Sprint(taken)}, pre+n, 1) // a marker after them

	recB := newRecorder()
	order := map[int32]int64{}
	for recB.seen[event{taken, pre + n}] == 0 {
		bt, err := b.Read(ctx)
		if err != nil {
			t.Fatalf("B Read: %v (read %v)", err, recB.seen)
		}
		checkBatchOrder(t, bt, order)
		recB.record("pinned", bt, true)
		_ = bt.Ack(ctx)
	}
	recA.check(t)
	recB.check(t)
	for i := range int64(pre + n + 1) {
		got := recB.seen[event{taken, i}]
		switch {
		case i < pre && got > 0:
			t.Errorf("partition %d: B read event %d, enqueued before any replica started", taken, i)
		case i >= pre && got == 0:
			t.Errorf("partition %d: event %d, read by A and never acknowledged, was skipped by B", taken, i)
		}
	}
}

// alive fails the test if the source has stopped with a fatal error.
func alive(t *testing.T, s *Source) bool {
	t.Helper()
	select {
	case <-s.failed:
		t.Fatalf("the source stopped: %v", s.fatal)
	default:
	}
	return true
}

// loggedError reports whether the JSON log holds an ERROR record whose err
// is text.
func loggedError(t *testing.T, log, text string) bool {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		var rec struct {
			Level string `json:"level"`
			Err   string `json:"err"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec.Level == "ERROR" && rec.Err == text {
			return true
		}
	}
	return false
}

// A refusal that cannot heal stops the source, whether a probe of a
// partition the processor could not open or a running reader met it; any
// other failure to open a partition is logged as an error and the source
// goes on. No emulator: the errors are the ones the client returns.
func TestRefusalsStopTheSource(t *testing.T) {
	notFound := &amqp.Error{Condition: amqp.ErrCondNotFound, Description: "The messaging entity 'defender/consumergroups/nope' could not be found."}
	noListen := &amqp.Error{Condition: amqp.ErrCondUnauthorizedAccess, Description: "Unauthorized access. 'Listen' claim(s) are required to perform this operation."}
	busy := &amqp.Error{Condition: "com.microsoft:server-busy", Description: "try again"}
	for _, tt := range []struct {
		name   string
		reader bool   // a running reader met err (else: a probe after a failed open)
		err    error  // nil: the probe's link opened
		fatal  string // in the error Read returns; "" means not fatal
		logged string // the logged record's message, when not fatal
	}{
		{"consumer group not found, probe", false, notFound, "check that the consumer group exists", ""},
		{"consumer group not found, reader", true, notFound, "check that the consumer group exists", ""},
		{"no Listen claim, probe", false, fmt.Errorf("link: %w", noListen), "the Listen claim", ""},
		{"no Listen claim, reader", true, noListen, "the Listen claim", ""},
		{"server busy, probe", false, busy, "", "eventhubs: cannot open partition; retrying every update interval"},
		{"server busy, reader", true, busy, "", "eventhubs: partition reader stopped; the processor reopens it from its checkpoint"},
		{"probe opened a link", false, nil, "", "eventhubs: partition claimed but not opened; retrying every update interval"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := &Source{
				log: slog.New(slog.NewJSONHandler(&logs, nil)), red: newRedactor(), owner: "replica-me",
				failed: make(chan struct{}), parts: map[string]*partition{},
			}
			s.opt.hub, s.opt.ConsumerGroup = "defender", "nope"
			if tt.reader {
				p := &partition{id: "3", num: 3, ctx: context.Background()}
				s.parts["3"] = p
				s.ended(p, tt.err)
				if !p.lost {
					t.Error("the reader's claim is not marked lost")
				}
			} else {
				s.cannotOpen("3", tt.err)
			}
			select {
			case <-s.failed:
				if tt.fatal == "" {
					t.Fatalf("the source stopped: %v; want it to go on", s.fatal)
				}
				for _, w := range []string{`hub "defender"`, `consumer group "nope"`, "partition 3", tt.fatal} {
					if !strings.Contains(s.fatal.Error(), w) {
						t.Errorf("error %q does not contain %q", s.fatal, w)
					}
				}
				if !errors.Is(s.fatal, tt.err) {
					t.Errorf("error %q does not wrap the client's %v", s.fatal, tt.err)
				}
				if !loggedError(t, logs.String(), s.fatal.Error()) {
					t.Errorf("the stop was not logged as an error:\n%s", logs.String())
				}
			default:
				if tt.fatal != "" {
					t.Fatalf("the source goes on; want it stopped with %q", tt.fatal)
				}
				if !strings.Contains(logs.String(), `"msg":"`+tt.logged+`"`) || !strings.Contains(logs.String(), `"hub":"defender"`) {
					t.Errorf("log lacks %q with the hub:\n%s", tt.logged, logs.String())
				}
				// Without the probe's error, the record says where the
				// processor's is.
				if tt.err == nil && !strings.Contains(logs.String(), `"cause":"unknown: a test receiver opened from where the processor opens the partition; the SDK's own log has the processor's error (run with AZURE_SDK_GO_LOGGING=all)"`) {
					t.Errorf("log lacks where the cause is:\n%s", logs.String())
				}
			}
		})
	}
}
