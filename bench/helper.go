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
	"runtime"
	"runtime/debug"
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

	// broker: start an embedded broker with one topic per name.
	Topics     []string `json:"topics,omitempty"`
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

	// broker
	Addr string `json:"addr,omitempty"`
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
	broker *embedded.Broker
	gens   map[string]*gen.Generator // by topic
}

func (h *helper) close() {
	if h.broker != nil {
		h.broker.Close()
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
		var topics []embedded.Topic
		for _, t := range req.Topics {
			topics = append(topics, embedded.Topic{Name: t, Partitions: req.Partitions})
		}
		b, err := embedded.Start(embedded.BrokerOptions{Topics: topics, Logger: discardLogger()})
		if err != nil {
			return helperReply{}, err
		}
		h.broker = b
		return helperReply{Addr: b.Addr()}, nil
	case "fill", "paced":
		if h.broker == nil {
			return helperReply{}, errors.New("no broker started")
		}
		return produce(ctx, h.broker, req)
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
		ix, err = match.Build(res.Indicators, match.BuildOptions{})
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

// produce writes generated messages to req.Topic, round robin over its
// partitions: req.Messages as fast as possible (fill), or req.Rate records
// per second for req.Seconds (paced). Paced messages are generated ahead
// (a ring that is sent again and again) and every record's Timestamp and
// envelope time are set to the send time just before the message is
// produced, so that generating them costs no latency.
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
	sendParts := func(byPart [][][]byte) error {
		var wg sync.WaitGroup
		errs := make([]error, parts)
		for p, msgs := range byPart {
			if len(msgs) == 0 {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[p] = b.Produce(ctx, req.Topic, int32(p), msgs...)
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	}
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
			if err := sendParts(byPart); err != nil {
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
	type pending struct {
		msg     []byte
		stamps  []int // offsets of the placeholder
		planted int
	}
	ring := make([]pending, min(total, 4096))
	for i := range ring {
		msg, pl := g.Next(nil)
		ring[i] = pending{msg: msg, planted: len(pl)}
		for off := 0; ; {
			j := bytes.Index(msg[off:], []byte(stampPlaceholder))
			if j < 0 {
				break
			}
			ring[i].stamps = append(ring[i].stamps, off+j)
			off += j + len(stampPlaceholder)
		}
	}
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	var stamp []byte
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
		byPart := make([][][]byte, parts)
		stamp = time.Now().UTC().AppendFormat(stamp[:0], stampLayout)
		for i := range due {
			p := &ring[(sent+i)%len(ring)]
			msg := bytes.Clone(p.msg)
			for _, off := range p.stamps {
				copy(msg[off:], stamp)
			}
			rep.Planted += p.planted
			byPart[next] = append(byPart[next], msg)
			next = (next + 1) % parts
		}
		if err := sendParts(byPart); err != nil {
			return rep, err
		}
		sent += due
	}
	rep.Records = total * per
	rep.Elapsed = time.Since(t0).Seconds()
	return rep, nil
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
func startHelper(argv []string) (*helperProc, error) {
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
	if err := cmd.Start(); err != nil {
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
