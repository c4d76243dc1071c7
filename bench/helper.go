package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iocwatch/iocwatch/bench/gen"
	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/stream/kafka/embedded"
)

// HelperEnv is the environment variable that makes a process started by
// the suite serve as its helper (see ServeHelper).
const HelperEnv = "IOCWATCH_BENCH_HELPER"

// IsHelper reports whether this process was started as a suite helper.
func IsHelper() bool { return os.Getenv(HelperEnv) == "1" }

// helperRequest is one request to a helper process, as a JSON line.
type helperRequest struct {
	Op string `json:"op"` // "memory", "broker", "fill", "paced"

	// memory: load Feed and build the index.
	Feed string `json:"feed,omitempty"`

	// broker: start an embedded broker with one topic per name, and a
	// second one, its log in files, with one topic per name in FileTopics.
	Topics     []string `json:"topics,omitempty"`
	FileTopics []string `json:"file_topics,omitempty"`
	Partitions int32    `json:"partitions,omitempty"`

	// fill and paced: produce Workload's stream to Topic.
	Topic    string   `json:"topic,omitempty"`
	Workload Workload `json:"workload"`
	Messages int      `json:"messages,omitempty"` // fill
	Rate     float64  `json:"rate,omitempty"`     // paced: records per second
	Seconds  float64  `json:"seconds,omitempty"`  // paced
}

// helperReply is a helper's answer; Err is set on failure.
type helperReply struct {
	Err string `json:"err,omitempty"`

	// memory
	Indicators  int     `json:"indicators,omitempty"`
	LoadSeconds float64 `json:"load_s,omitempty"`
	BuildWall   float64 `json:"build_s,omitempty"`
	BuildCPU    float64 `json:"build_cpu_s,omitempty"`
	HeapMiB     float64 `json:"heap_mib,omitempty"`
	IndexMiB    float64 `json:"index_mib,omitempty"`
	LoadedMiB   float64 `json:"loaded_mib,omitempty"`
	HWMMiB      float64 `json:"hwm_mib,omitempty"`
	RSSMiB      float64 `json:"rss_mib,omitempty"`

	// broker: the addresses of the broker of Topics and of FileTopics
	Addr     string `json:"addr,omitempty"`
	FileAddr string `json:"file_addr,omitempty"`
	// fill, paced
	Records int     `json:"records,omitempty"`
	Planted int     `json:"planted,omitempty"`
	Elapsed float64 `json:"elapsed_s,omitempty"`
}

// ServeHelper answers requests, one JSON line each, from r on w until r
// ends; a helper process runs it from main (the iocwatch binary) or from
// TestMain (the test binary) when IsHelper. It returns the first I/O
// error, or nil at the end of r.
func ServeHelper(ctx context.Context, r io.Reader, w io.Writer) error {
	h := &helper{}
	defer h.close()
	dec := json.NewDecoder(bufio.NewReader(r))
	enc := json.NewEncoder(w)
	for {
		var req helperRequest
		if err := dec.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("bench helper: %w", err)
		}
		rep, err := h.serve(ctx, &req)
		if err != nil {
			rep = helperReply{Err: err.Error()}
		}
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("bench helper: %w", err)
		}
	}
}

type helper struct {
	broker     *embedded.Broker // its log in memory
	fileBroker *embedded.Broker // its log in files under logDir
	fileTopics []string
	logDir     string // removed by close
}

func (h *helper) close() {
	for _, b := range []*embedded.Broker{h.broker, h.fileBroker} {
		if b != nil {
			b.Close()
		}
	}
	if h.logDir != "" {
		os.RemoveAll(h.logDir)
	}
}

// brokerOf returns the broker that holds topic (nil before "broker").
func (h *helper) brokerOf(topic string) *embedded.Broker {
	if slices.Contains(h.fileTopics, topic) {
		return h.fileBroker
	}
	return h.broker
}

// startBrokers starts the broker of req.Topics, its log in memory, and,
// when req.FileTopics is not empty, the one of req.FileTopics with its
// log in files in a temporary directory. Producing to kfake's in-memory
// log grows each segment by copying it into fresh memory, and the page
// faults of that kept a paced producer at about half the rate asked;
// producing to files (the page cache) keeps it. Serving a filled topic
// from memory is the cheaper of the two.
func (h *helper) startBrokers(req *helperRequest) (helperReply, error) {
	topics := func(names []string) []embedded.Topic {
		var ts []embedded.Topic
		for _, t := range names {
			ts = append(ts, embedded.Topic{Name: t, Partitions: req.Partitions})
		}
		return ts
	}
	var err error
	h.broker, err = embedded.Start(embedded.BrokerOptions{Topics: topics(req.Topics), Logger: discardLogger(), RetentionBytes: liveRetentionBytes})
	if err != nil {
		return helperReply{}, err
	}
	rep := helperReply{Addr: h.broker.Addr()}
	if len(req.FileTopics) == 0 {
		return rep, nil
	}
	if h.logDir, err = logDir(); err != nil {
		return helperReply{}, fmt.Errorf("the broker's log directory: %w", err)
	}
	h.fileBroker, err = embedded.Start(embedded.BrokerOptions{Topics: topics(req.FileTopics), Logger: discardLogger(), RetentionBytes: liveRetentionBytes, DataDir: h.logDir})
	if err != nil {
		return helperReply{}, err
	}
	h.fileTopics = req.FileTopics
	rep.FileAddr = h.fileBroker.Addr()
	return rep, nil
}

// logDirPrefix starts the name of a file broker's log directory; the
// helper's process ID and a dash follow.
const logDirPrefix = "iocwatch-bench-kafka-"

// logDir makes the file broker's log directory: in /dev/shm where it can
// (memory: no write-back to a disk, which would run on any CPU, the
// consumer's too), else in the temporary directory. It first removes the
// directories of helpers that are gone: a helper killed before its close
// leaves its log behind, and in /dev/shm that is memory until a reboot.
func logDir() (string, error) {
	prefix := fmt.Sprintf("%s%d-", logDirPrefix, os.Getpid())
	const shm = "/dev/shm"
	removeLeftLogDirs(shm)
	if dir, err := os.MkdirTemp(shm, prefix); err == nil {
		return dir, nil
	}
	removeLeftLogDirs(os.TempDir())
	return os.MkdirTemp("", prefix)
}

// removeLeftLogDirs removes the log directories under parent whose helper
// process is gone.
func removeLeftLogDirs(parent string) {
	dirs, _ := filepath.Glob(filepath.Join(parent, logDirPrefix+"*"))
	for _, dir := range dirs {
		pid, _, ok := strings.Cut(strings.TrimPrefix(filepath.Base(dir), logDirPrefix), "-")
		if n, err := strconv.Atoi(pid); ok && err == nil && processGone(n) {
			os.RemoveAll(dir)
		}
	}
}

func (h *helper) serve(ctx context.Context, req *helperRequest) (helperReply, error) {
	switch req.Op {
	case "memory":
		return measureMemory(req.Feed)
	case "broker":
		if h.broker != nil {
			return helperReply{}, errors.New("broker already started")
		}
		return h.startBrokers(req)
	case "fill", "paced":
		b := h.brokerOf(req.Topic)
		if b == nil {
			return helperReply{}, errors.New("no broker started")
		}
		return produce(ctx, b, req)
	}
	return helperReply{}, fmt.Errorf("unknown op %q", req.Op)
}

// measureMemory loads a text feed, builds the index and reports time and
// memory: the whole process is the measurement.
func measureMemory(feed string) (helperReply, error) {
	f, err := os.Open(feed)
	if err != nil {
		return helperReply{}, err
	}
	defer f.Close()
	t0 := time.Now()
	res, err := match.Load(f, match.LoadOptions{Name: feed, Format: match.FormatText, Defaults: match.Meta{Source: "bench", Severity: "high"}})
	if err != nil {
		return helperReply{}, err
	}
	if len(res.Refused) > 0 {
		return helperReply{}, fmt.Errorf("the loader refused %d values, the first %s", len(res.Refused), res.Refused[0])
	}
	load := time.Since(t0)
	loaded := heapMiB()
	var ix *match.Index
	s, err := timeProcess(func() (float64, error) {
		var err error
		ix, err = match.BuildLists([]*match.List{res.Indicators}, match.BuildOptions{})
		return 1, err
	})
	if err != nil {
		return helperReply{}, err
	}
	heap := heapMiB()
	rep := helperReply{Indicators: ix.Len(), LoadSeconds: load.Seconds(), BuildWall: s.Wall.Seconds(), BuildCPU: s.CPU.Seconds(),
		HeapMiB: heap, IndexMiB: heap - loaded, LoadedMiB: loaded,
		HWMMiB: float64(procStatusKiB("VmHWM")) / 1024, RSSMiB: float64(procStatusKiB("VmRSS")) / 1024}
	runtime.KeepAlive(ix)
	runtime.KeepAlive(res)
	return rep, nil
}

// stampLayout is the layout of the Timestamp and time fields bench/gen
// writes; stampPlaceholder is the fixed time paced messages are generated
// with, overwritten with the send time just before they are produced.
const (
	stampLayout      = "2006-01-02T15:04:05.0000000Z"
	stampPlaceholder = "2001-01-01T00:00:00.0000000Z"
)

// liveRetentionBytes bounds each partition of the helper's brokers: about
// a second of the fastest paced run (4 partitions). Without it a broker
// keeps every record, and its growing log costs it more CPU than the
// consumer under test.
const liveRetentionBytes = 64 << 20

// chunkBytes is the most the paced producer puts in one produce request.
// Each request is stamped just before it is sent.
const chunkBytes = 256 << 10

// produce writes generated messages to req.Topic, round robin over its
// partitions: req.Messages as fast as possible (fill), or req.Rate records
// per second for req.Seconds (paced). Paced messages are generated ahead
// (a ring that is sent again and again); every 2 ms the messages due are
// sent, each partition's in produce requests of at most chunkBytes, and
// every record's Timestamp and envelope time are set to the time its
// request is sent (as a Kafka producer sets CreateTime when it sends), so
// that neither generating them nor a backlog of the producer counts as
// latency.
func produce(ctx context.Context, b *embedded.Broker, req *helperRequest) (helperReply, error) {
	w := req.Workload
	inds := w.Indicators()
	opt := w.GenOptions(inds)
	parts := int32(len(b.HighWatermarks(req.Topic)))
	if parts == 0 {
		return helperReply{}, fmt.Errorf("unknown topic %q", req.Topic)
	}
	var rep helperReply
	next := int32(0)
	t0 := time.Now()
	per := max(w.RecordsPerMessage, 1)
	if req.Op == "fill" {
		g := gen.New(opt)
		for sent := 0; sent < req.Messages; {
			n := min(2000, req.Messages-sent)
			byPart := make([][][]byte, parts)
			for range n {
				msg, pl := g.Next(nil)
				rep.Planted += len(pl)
				byPart[next] = append(byPart[next], msg)
				next = (next + 1) % parts
			}
			err := eachPartition(byPart, func(p int32, msgs [][]byte) error {
				return b.Produce(ctx, req.Topic, p, msgs...)
			})
			if err != nil {
				return rep, err
			}
			sent += n
		}
		rep.Records = int(g.Records())
		rep.Elapsed = time.Since(t0).Seconds()
		return rep, nil
	}
	msgRate := req.Rate / float64(per)
	total := int(msgRate * req.Seconds)
	placeholder, _ := time.Parse(stampLayout, stampPlaceholder)
	opt.Clock = func() time.Time { return placeholder }
	g := gen.New(opt)
	ring := make([]stampable, min(total, 4096))
	for i := range ring {
		msg, pl := g.Next(nil)
		ring[i] = stampable{msg: msg, planted: len(pl)}
		for off := 0; ; {
			j := bytes.Index(msg[off:], []byte(stampPlaceholder))
			if j < 0 {
				break
			}
			ring[i].stamps = append(ring[i].stamps, off+j)
			off += j + len(stampPlaceholder)
		}
	}
	// Collect the generator's garbage now, not on the broker's core while
	// the records are due.
	runtime.GC()
	// The rate runs from here: records due during the generation would go
	// out at once, a burst that is not the rate asked for.
	t0 = time.Now()
	senders := make([]chunkSender, parts)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for sent := 0; sent < total; {
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-tick.C:
		}
		due := min(int(time.Since(t0).Seconds()*msgRate), total) - sent
		if due <= 0 {
			continue
		}
		byPart := make([][]*stampable, parts)
		for i := range due {
			m := &ring[(sent+i)%len(ring)]
			rep.Planted += m.planted
			byPart[next] = append(byPart[next], m)
			next = (next + 1) % parts
		}
		err := eachPartition(byPart, func(p int32, msgs []*stampable) error {
			return senders[p].send(ctx, b, req.Topic, p, msgs)
		})
		if err != nil {
			return rep, err
		}
		sent += due
	}
	rep.Records = total * per
	rep.Elapsed = time.Since(t0).Seconds()
	return rep, nil
}

// stampable is a generated message with the offsets of its time stamps.
type stampable struct {
	msg     []byte
	stamps  []int // offsets of the placeholder
	planted int
}

// chunkSender sends one partition's paced messages. Its buffers are reused:
// Produce returns only once the broker stored the values.
type chunkSender struct {
	arena  []byte
	values [][]byte
	stamp  []byte
}

// send produces msgs in requests of at most chunkBytes, stamping each
// request's messages with the time just before it is sent.
func (c *chunkSender) send(ctx context.Context, b *embedded.Broker, topic string, p int32, msgs []*stampable) error {
	for len(msgs) > 0 {
		n, size := 0, 0
		for n < len(msgs) && (n == 0 || size+len(msgs[n].msg) <= chunkBytes) {
			size += len(msgs[n].msg)
			n++
		}
		c.stamp = time.Now().UTC().AppendFormat(c.stamp[:0], stampLayout)
		c.arena, c.values = slices.Grow(c.arena[:0], size), c.values[:0] // room for all: no value moves
		for _, m := range msgs[:n] {
			at := len(c.arena)
			c.arena = append(c.arena, m.msg...)
			for _, off := range m.stamps {
				copy(c.arena[at+off:], c.stamp)
			}
			c.values = append(c.values, c.arena[at:])
		}
		if err := b.Produce(ctx, topic, p, c.values...); err != nil {
			return err
		}
		msgs = msgs[n:]
	}
	return nil
}

// eachPartition calls send for every partition with messages, all at
// once, and returns their errors joined.
func eachPartition[T any](byPart [][]T, send func(p int32, msgs []T) error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(byPart))
	for p, msgs := range byPart {
		if len(msgs) == 0 {
			continue
		}
		wg.Go(func() { errs[p] = send(int32(p), msgs) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// helperProc is a running helper process.
type helperProc struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	enc *json.Encoder
	dec *json.Decoder
	mu  sync.Mutex
}

// startHelper starts argv as a helper process. GOMAXPROCS is left to the
// helper's default (all cores).
func startHelper(argv []string) (*helperProc, error) { return startHelperOn(argv, nil) }

// startHelperOn starts the helper with its threads on cpus (nil: wherever
// this process may run).
func startHelperOn(argv []string, cpus *cpuSet) (*helperProc, error) {
	if len(argv) == 0 {
		return nil, errors.New("bench: no helper command")
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOMAXPROCS=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, HelperEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("bench: helper: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("bench: helper: %w", err)
	}
	start := cmd.Start
	if cpus != nil {
		start = func() error { return startPinned(*cpus, cmd.Start) }
	}
	if err := start(); err != nil {
		return nil, fmt.Errorf("bench: start helper %s: %w", argv[0], err)
	}
	return &helperProc{cmd: cmd, in: in, enc: json.NewEncoder(in), dec: json.NewDecoder(out)}, nil
}

func (h *helperProc) call(req helperRequest) (helperReply, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.enc.Encode(req); err != nil {
		return helperReply{}, fmt.Errorf("bench: helper %s: %w", req.Op, err)
	}
	var rep helperReply
	if err := h.dec.Decode(&rep); err != nil {
		return helperReply{}, fmt.Errorf("bench: helper %s: %w", req.Op, err)
	}
	if rep.Err != "" {
		return rep, fmt.Errorf("bench: helper %s: %s", req.Op, rep.Err)
	}
	return rep, nil
}

// close ends the helper (closing its stdin) and waits for it.
func (h *helperProc) close() error {
	h.in.Close()
	done := make(chan error, 1)
	go func() { done <- h.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		h.cmd.Process.Kill()
		return <-done
	}
}

// freeOSMemory returns freed memory to the OS between measurements.
func freeOSMemory() { debug.FreeOSMemory() }
