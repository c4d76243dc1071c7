package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iocwatch/iocwatch/internal/cputime"
	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/stream"
	"github.com/iocwatch/iocwatch/stream/kafka"
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// KafkaRig is an embedded broker with topics to measure against: in a
// helper process (so that the broker and the producer do not share the
// consumer's core or its CPU accounting), or in this process when no
// helper command is given. With a helper on Linux and two or more CPUs,
// the helper runs on every CPU but the first, and the consumer's runs
// (ConsumeFill, Latency) pin this process to the first: the broker on
// another core, as the Kafka target has it. The zero value is not usable: call
// StartKafkaRig. Not safe for concurrent use.
type KafkaRig struct {
	// Addr is the broker of TopicFill, its log in memory; LiveAddr the
	// one of TopicLive, its log in files (see helper.startBrokers).
	Addr, LiveAddr string
	Partitions     int32
	// InProcess is true when the broker runs in this process.
	InProcess bool

	proc   *helperProc
	local  *helper
	groups atomic.Int64

	pinned                   bool
	consumerCPUs, helperCPUs cpuSet
}

// Topics of the rig: "fill" is filled ahead for throughput runs, "live"
// receives paced traffic for latency runs.
const (
	TopicFill = "defender-fill"
	TopicLive = "defender-live"
)

// StartKafkaRig starts the broker with partitions per topic.
func StartKafkaRig(helperArgv []string, partitions int32) (*KafkaRig, error) {
	r := &KafkaRig{Partitions: partitions}
	req := helperRequest{Op: "broker", Topics: []string{TopicFill}, FileTopics: []string{TopicLive}, Partitions: partitions}
	var rep helperReply
	var err error
	if len(helperArgv) > 0 {
		var on *cpuSet
		if r.consumerCPUs, r.helperCPUs, r.pinned = splitCores(); r.pinned {
			on = &r.helperCPUs
		}
		if r.proc, err = startHelperOn(helperArgv, on); err != nil {
			return nil, err
		}
		rep, err = r.proc.call(req)
	} else {
		r.InProcess = true
		r.local = &helper{}
		rep, err = r.local.serve(context.Background(), &req)
	}
	if err != nil {
		r.Close()
		return nil, err
	}
	r.Addr, r.LiveAddr = rep.Addr, rep.FileAddr
	return r, nil
}

// Placement says where the rig's processes run, for reports.
func (r *KafkaRig) Placement() string {
	switch {
	case r.InProcess:
		return "this process (no helper: its CPU time counts in the consumer's)"
	case r.pinned:
		return fmt.Sprintf("a helper process pinned to %s; the consumer's process is pinned to %s while it is measured (sched_setaffinity), so the broker and the producer never take the consumer's core", describeCPUs(r.helperCPUs), describeCPUs(r.consumerCPUs))
	default:
		return "a helper process (the broker and producer do not run on the consumer's core budget)"
	}
}

// pinConsumer pins this process to the consumer's CPU when the rig splits
// the cores, and returns what undoes it.
func (r *KafkaRig) pinConsumer() func() {
	if !r.pinned {
		return func() {}
	}
	restore, err := pinProcess(r.consumerCPUs)
	if err != nil {
		return func() {}
	}
	return restore
}

func (r *KafkaRig) call(ctx context.Context, req helperRequest) (helperReply, error) {
	if r.proc != nil {
		return r.proc.call(req)
	}
	return r.local.serve(ctx, &req)
}

// Fill produces messages of w to TopicFill and returns the records sent.
func (r *KafkaRig) Fill(ctx context.Context, w Workload, messages int) (int, error) {
	rep, err := r.call(ctx, helperRequest{Op: "fill", Topic: TopicFill, Workload: w, Messages: messages})
	return rep.Records, err
}

// Paced produces w to TopicLive at rate records per second for d, every
// record stamped with the time its produce request was sent, and returns
// the records and planted hits sent and how long sending them took (more
// than d when the producer could not keep the rate).
func (r *KafkaRig) Paced(ctx context.Context, w Workload, rate float64, d time.Duration) (records, planted int, took time.Duration, err error) {
	rep, err := r.call(ctx, helperRequest{Op: "paced", Topic: TopicLive, Workload: w, Rate: rate, Seconds: d.Seconds()})
	return rep.Records, rep.Planted, time.Duration(rep.Elapsed * float64(time.Second)), err
}

// Close stops the broker. Safe to call twice.
func (r *KafkaRig) Close() {
	if r.proc != nil {
		r.proc.close()
		r.proc = nil
	}
	if r.local != nil {
		r.local.close()
		r.local = nil
	}
}

func (r *KafkaRig) source(topic, start string) (*kafka.Source, error) {
	addr := r.Addr
	if topic == TopicLive {
		addr = r.LiveAddr
	}
	return kafka.New(kafka.Options{
		Brokers: []string{addr}, Topics: []string{topic}, StartOffset: start,
		Group:             fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), r.groups.Add(1)),
		HeartbeatInterval: 200 * time.Millisecond, SessionTimeout: 6 * time.Second, RebalanceTimeout: 2 * time.Second,
		LagInterval: -1, Logger: discardLogger(),
	})
}

// KafkaResult is one consumer run. It is plain data; the zero value is
// an empty run.
type KafkaResult struct {
	Sample
	Records int64
	Alerts  int64
	// Latencies are produce-to-alert times (paced runs only).
	Latencies []time.Duration
	// SentRate is the records per second the producer achieved (paced runs
	// only): below the rate asked for when it could not keep up.
	SentRate float64
}

// ConsumeFill consumes the whole of TopicFill (total records) with a
// fresh consumer group through iocwatch's pipeline (Kafka source, decoder,
// index, a counting sink) with workers, and returns the rate from the
// first batch acknowledged to the one that completes total (the group
// join is left out), with the process's CPU time over the same span. The
// caller sets GOMAXPROCS.
func (r *KafkaRig) ConsumeFill(ctx context.Context, ix *match.Index, workers int, total int64) (KafkaResult, error) {
	settleHeap()
	defer r.pinConsumer()()
	src, err := r.source(TopicFill, "earliest")
	if err != nil {
		return KafkaResult{}, err
	}
	defer src.Close(context.Background())
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var (
		seen       int64
		t0, t1     time.Time
		c0, c1     time.Duration
		n0         int64
		finished   = make(chan struct{})
		finishOnce sync.Once
	)
	snk := &CountingSink{}
	var rules atomic.Pointer[stream.Rules]
	rules.Store(&stream.Rules{Index: ix})
	p := stream.New(src, &rules, snk, stream.Options{Workers: workers, OnAcked: func(b stream.BatchReport) {
		if seen == 0 {
			t0, n0 = b.AckedAt, int64(b.Records)
			c0 = cputime.Process()
		}
		seen += int64(b.Records)
		if seen >= total {
			finishOnce.Do(func() {
				t1 = time.Now()
				c1 = cputime.Process()
				close(finished)
			})
		}
	}})
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	select {
	case <-finished:
		stop()
		if err := <-done; err != nil {
			return KafkaResult{}, err
		}
	case err := <-done:
		if err == nil {
			err = errors.New("pipeline stopped early")
		}
		return KafkaResult{}, fmt.Errorf("kafka consumer: %w after %d of %d records", err, seen, total)
	case <-ctx.Done():
		stop()
		<-done
		return KafkaResult{}, fmt.Errorf("kafka consumer: %w after %d of %d records", ctx.Err(), seen, total)
	}
	if seen > total {
		st := src.Stats()
		return KafkaResult{}, fmt.Errorf("kafka consumer: %d records, more than the %d produced (%d group generations, %d stale messages: a rebalance re-delivers what was not committed)",
			seen, total, st.Generations, st.StaleMessages)
	}
	s := Sample{Units: float64(seen - n0), Wall: t1.Sub(t0), CPU: c1 - c0}
	return KafkaResult{Sample: s, Records: seen, Alerts: snk.Alerts()}, nil
}

// latencyWarmUp is how long Latency produces before it measures: long
// enough at half load for every partition of the live topic to reach its
// retention (liveRetentionBytes).
const latencyWarmUp = 3 * time.Second

// Latency consumes TopicLive with a fresh group while the rig produces w
// at rate records per second for d, and returns the produce-to-alert
// latency of every alert. Before it, the rig produces at the same rate
// for up to latencyWarmUp (no longer than d), and none of that counts.
func (r *KafkaRig) Latency(ctx context.Context, ix *match.Index, workers int, w Workload, rate float64, d time.Duration) (KafkaResult, error) {
	settleHeap()
	defer r.pinConsumer()()
	src, err := r.source(TopicLive, "latest")
	if err != nil {
		return KafkaResult{}, err
	}
	defer src.Close(context.Background())
	snk := &CountingSink{Latency: true}
	var rules atomic.Pointer[stream.Rules]
	rules.Store(&stream.Rules{Index: ix})
	var records atomic.Int64
	p := stream.New(src, &rules, snk, stream.Options{Workers: workers, OnAcked: func(b stream.BatchReport) { records.Add(int64(b.Records)) }})
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	// Produce only once the partitions are assigned: the group join is
	// not latency.
	for deadline := time.Now().Add(30 * time.Second); len(src.Assigned()) < int(r.Partitions); {
		if time.Now().After(deadline) {
			return KafkaResult{}, errors.New("kafka consumer: partitions not assigned after 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The readers start at the end of the topic (earlier runs' records
	// stay there); give them time to find it.
	time.Sleep(300 * time.Millisecond)
	// awaitRecords waits, up to 10 s, until n records past base are
	// acknowledged.
	awaitRecords := func(base, n int64) {
		for deadline := time.Now().Add(10 * time.Second); records.Load()-base < n && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
	}
	// Warm up at the same rate first, and count none of it: until the
	// broker's log reaches its retention, every segment it writes takes
	// memory this machine's processes never touched, and on a VM that
	// costs page faults of ~10 µs a page on both cores.
	if warm := min(d, latencyWarmUp); warm > 0 {
		base := records.Load()
		sent, _, _, err := r.Paced(ctx, w, rate, warm)
		if err != nil {
			return KafkaResult{}, err
		}
		awaitRecords(base, int64(sent))
	}
	base := records.Load()
	alerts0 := len(snk.Latencies())
	c0 := cputime.Process()
	w0, _ := runQueueWait()
	t0 := time.Now()
	sent, planted, took, err := r.Paced(ctx, w, rate, d)
	if err != nil {
		return KafkaResult{}, err
	}
	awaitRecords(base, int64(sent))
	wall := time.Since(t0)
	c1 := cputime.Process()
	w1, _ := runQueueWait()
	stop()
	if err := <-done; err != nil {
		return KafkaResult{}, err
	}
	lat := snk.Latencies()[alerts0:]
	if got := records.Load() - base; got < int64(sent) {
		return KafkaResult{}, fmt.Errorf("kafka consumer: %d of %d paced records consumed", got, sent)
	}
	if len(lat) < planted {
		return KafkaResult{}, fmt.Errorf("kafka consumer: %d alerts for %d planted hits", len(lat), planted)
	}
	return KafkaResult{Sample: Sample{Units: float64(sent), Wall: wall, CPU: c1 - c0, Waited: max(0, w1-w0)}, Records: int64(sent), Alerts: int64(len(lat)), Latencies: lat, SentRate: float64(sent) / took.Seconds()}, nil
}

// percentile returns the p-th percentile (0–100) of ds, by nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	// Nearest rank: the smallest value at or above which p % of them lie
	// (rounding the rank down would report p99 a rank low).
	i := int(math.Ceil(float64(len(s))*p/100)) - 1
	return s[min(max(i, 0), len(s)-1)]
}
