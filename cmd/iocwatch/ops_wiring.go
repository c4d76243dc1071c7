package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/iocwatch/iocwatch/cmd/iocwatch/ops"
	"github.com/iocwatch/iocwatch/config"
	"github.com/iocwatch/iocwatch/internal/urlcred"
	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/match/feed"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/stream"
	"github.com/iocwatch/iocwatch/stream/eventhubs"
	"github.com/iocwatch/iocwatch/stream/kafka"
)

// opsRuntime is the operations endpoint of `run`: Prometheus metrics,
// /healthz, /readyz and the status page, on cfg.Metrics.Listen. Its zero
// value, and a nil *opsRuntime, do nothing (metrics disabled).
//
// In run.go:
//
//	o, err := startOps(cfg, log)   // listens now: /healthz answers while feeds load
//	if err != nil { return err }
//	defer o.close()
//	...
//	o.watch(&opt, &holder, src, out, o.liveFeeds(rt))  // before stream.New(…, opt); reportFeeds(rep) without a feed runtime
//	p := stream.New(src, &holder, out, opt)
//	o.attach(p)
type opsRuntime struct {
	mon *ops.Monitor
	srv *ops.Server
	log *slog.Logger
	cfg *config.Config
	// stopped: pipelineStopped was called (close keeps its error).
	stopped bool
}

// newOpsLogger is the process logger of cfg.Log: text or JSON, at its
// level, with every secret of the config — and anything shaped like a
// credential — redacted from every line.
func newOpsLogger(w io.Writer, cfg *config.Config) *slog.Logger {
	return ops.NewLogger(w, cfg.Log.Level, cfg.Log.Format, configSecrets(cfg)...)
}

// startOps starts the listener of cfg.Metrics, unless it is disabled (then
// it returns a nil runtime, whose methods do nothing). Readiness fails
// until attach: "pipeline not started".
func startOps(cfg *config.Config, log *slog.Logger) (*opsRuntime, error) {
	mc := cfg.Metrics
	if !mc.Enabled {
		return nil, nil
	}
	redact := ops.NewRedactor(configSecrets(cfg)...)
	build := describeBuild()
	mon := ops.NewMonitor(ops.Options{
		Source:         sourceLabel(cfg),
		HideIdentities: mc.HideIdentities,
		Version:        build.Version,
		Revision:       build.Revision,
		Redact:         redact.String,
		Log:            log,
	})
	auth := ops.Auth{Username: mc.BasicAuth.Username, Password: mc.BasicAuth.Password.Reveal(), BearerToken: mc.BearerToken.Reveal()}
	srv, err := ops.Serve(mc.Listen, mon.Handler(auth), log)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			// Most often a second run on one machine.
			return nil, fmt.Errorf("metrics.listen: %w (another iocwatch? give this one another address with --metrics-listen ADDR or metrics.listen, or none with --metrics-listen off)", err)
		}
		return nil, fmt.Errorf("metrics.listen: %w", err)
	}
	log.Info("ops: serving /metrics, /healthz, /readyz and the status page", "addr", "http://"+srv.Addr()+"/")
	if !ops.IsLoopback(srv.Addr()) && auth == (ops.Auth{}) {
		log.Warn("ops: the status page and metrics are reachable beyond this host without authentication; it shows device names unless metrics.hide_identities is set", "addr", srv.Addr())
	}
	return &opsRuntime{mon: mon, srv: srv, log: log, cfg: cfg}, nil
}

// watch adds the monitor's hooks to opt and tells it what to read: the
// rules in use, the source's lag and readiness, the sinks' counters and
// the feeds' state. Call it before stream.New.
func (o *opsRuntime) watch(opt *stream.Options, holder *atomic.Pointer[stream.Rules], src stream.Source, out sink.Sink, feeds ops.Feeds) {
	if o == nil {
		return
	}
	o.mon.Hooks(opt)
	in := ops.Inputs{Rules: holder, Feeds: feeds}
	in.Sinks, in.Suppressor = sinkParts(out)
	switch s := src.(type) {
	case *kafka.Source:
		in.Lag = kafkaLag(s)
		group := o.cfg.Source.Kafka.Group
		in.Checks = append(in.Checks, ops.Check{Name: "source", Func: func() error {
			if s.Assigned() != nil {
				return nil
			}
			st := s.Stats()
			return fmt.Errorf("not a member of Kafka consumer group %q (generations joined: %d, group errors: %d)", group, st.Generations, st.GroupErrors)
		}})
		o.mon.Registry().MustRegister(kafkaCollector{s})
	case *eventhubs.Source:
		in.Lag = eventHubsLag(s, o.cfg.Source.EventHubs.Hub)
	}
	o.mon.Watch(in)
}

// attach gives the monitor the pipeline's counters and starts sampling.
func (o *opsRuntime) attach(p *stream.Pipeline) {
	if o == nil {
		return
	}
	o.mon.Watch(ops.Inputs{Pipeline: p.Stats()})
	o.mon.Start()
}

// pipelineStopped marks the pipeline stopped, with the error it stopped
// on (nil: a clean stop): /readyz says so at once, while the sinks are
// still closing, instead of "pipeline ok" until the very end.
func (o *opsRuntime) pipelineStopped(err error) {
	if o == nil {
		return
	}
	o.stopped = true
	o.mon.Stopped(err)
}

// close marks the pipeline stopped (unless pipelineStopped did) and
// shuts the listener down (within 5 s).
func (o *opsRuntime) close() error {
	if o == nil {
		return nil
	}
	if !o.stopped {
		o.mon.Stopped(nil)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := o.srv.Close(ctx)
	o.mon.Close()
	return err
}

func sourceLabel(cfg *config.Config) string {
	if cfg.Source.Type == "" {
		return "file"
	}
	return cfg.Source.Type
}

// sinkParts finds the per-sink counters (the Fan) and the suppressor in
// the stack buildSinks returns, through the wrappers that expose what they
// wrap (Unwrap() sink.Sink).
func sinkParts(s sink.Sink) (ops.SinkStatser, ops.SuppressCounter) {
	var fan ops.SinkStatser
	var sup ops.SuppressCounter
	for range 8 {
		switch v := s.(type) {
		case closingDeadLetter:
			s = v.Sink
			continue
		case *sink.Fan:
			return v, sup
		case *sink.Suppressor:
			sup = v
		}
		u, ok := s.(interface{ Unwrap() sink.Sink })
		if !ok {
			break
		}
		s = u.Unwrap()
	}
	return fan, sup
}

func kafkaLag(s *kafka.Source) func() []ops.PartitionLag {
	return func() []ops.PartitionLag {
		lag := s.Lag()
		out := make([]ops.PartitionLag, 0, len(lag))
		for tp, n := range lag {
			out = append(out, ops.PartitionLag{Topic: tp.Topic, Partition: strconv.Itoa(int(tp.Partition)), Messages: n})
		}
		return out
	}
}

func eventHubsLag(s *eventhubs.Source, hub string) func() []ops.PartitionLag {
	if hub == "" {
		hub = "eventhub"
	}
	return func() []ops.PartitionLag {
		lag := s.Lag()
		out := make([]ops.PartitionLag, 0, len(lag))
		for id, n := range lag {
			out = append(out, ops.PartitionLag{Topic: hub, Partition: id, Messages: n})
		}
		return out
	}
}

// reportFeeds shows the feeds as one load left them (loadRules), for a
// run without a feed runtime.
func reportFeeds(rep *loadReport) ops.Feeds {
	var states []ops.FeedState
	if rep != nil {
		for _, f := range rep.all() {
			st := ops.FeedState{Name: f.name, LastFetch: f.lastFetch, LastSuccess: f.lastSucess, Indicators: kindNames(f.counts)}
			if st.LastFetch.IsZero() {
				st.LastFetch = f.loadedAt
			}
			if f.err != nil {
				st.LastError, st.FetchErrors = f.err.Error(), 1
			} else if st.LastSuccess.IsZero() {
				st.LastSuccess = f.loadedAt
			}
			states = append(states, st)
		}
	}
	return ops.FeedsFunc(func() []ops.FeedState { return states })
}

// liveFeeds shows the live state of the feed runtime's feeds, and
// records every index it builds in the reload metrics.
func (o *opsRuntime) liveFeeds(rt *feedRuntime) ops.Feeds {
	if o == nil || rt == nil {
		return nil
	}
	intervals := map[string]time.Duration{}
	for _, f := range o.cfg.Feeds { // allow-list files are files: never stale
		if f.Type == "http" || f.Type == "taxii" {
			intervals[f.Name] = cmp.Or(f.Interval, feed.DefaultInterval)
		}
	}
	return &managerFeeds{m: rt.m, mon: o.mon, intervals: intervals, lastFailures: map[string]int{}, errors: map[string]int64{}}
}

// managerFeeds adapts a feed.Manager to ops.Feeds. Safe for concurrent
// use.
type managerFeeds struct {
	m         *feed.Manager
	mon       *ops.Monitor
	intervals map[string]time.Duration

	mu           sync.Mutex
	lastUpdate   *feed.Update
	lastFailures map[string]int   // Status.Failures at the previous call
	errors       map[string]int64 // failed fetches counted so far
}

// FeedStates reads the manager's status. The manager reports failures in
// a row; the cumulative count adds what each call sees added (so failures
// between two calls separated by a success may be missed), and every new
// index since the previous call is observed as a reload.
func (f *managerFeeds) FeedStates() []ops.FeedState {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u := f.m.Current(); u != nil && u != f.lastUpdate {
		f.lastUpdate = u
		f.mon.ObserveReload(u.BuildTime, nil)
	}
	sts := f.m.Status()
	out := make([]ops.FeedState, 0, len(sts))
	for _, s := range sts {
		prev := f.lastFailures[s.Name]
		switch {
		case s.Failures > prev:
			f.errors[s.Name] += int64(s.Failures - prev)
		case s.Failures < prev:
			f.errors[s.Name] += int64(s.Failures)
		}
		f.lastFailures[s.Name] = s.Failures
		st := ops.FeedState{Name: s.Name, Indicators: kindNames(s.Counts), LastFetch: s.LastFetch, LastSuccess: s.LastSuccess,
			FetchErrors: f.errors[s.Name], Interval: f.intervals[s.Name]}
		if s.LastError != nil {
			st.LastError = s.LastError.Error()
		}
		if s.FromCache {
			st.CachedAt = s.DataTime
		}
		if h := s.Held; h != nil {
			st.HeldBack = heldBack(h)
		}
		out = append(out, st)
	}
	return out
}

// heldBack describes content the shrink guard holds back.
func heldBack(h *feed.Held) string {
	return fmt.Sprintf("shrank from %d to %d indicators at %s: the previous ones stay in use until the next fetch confirms the size (or SIGHUP)",
		h.Previous, h.Total, h.Since.UTC().Format(time.RFC3339))
}

func kindNames(counts map[match.Kind]int) map[string]int {
	out := make(map[string]int, len(counts))
	for k, n := range counts {
		out[k.String()] = n
	}
	return out
}

// kafkaCollector exports the Kafka source's own counters.
type kafkaCollector struct{ s *kafka.Source }

var (
	dKafkaBytes       = prometheus.NewDesc("iocwatch_kafka_read_bytes_total", "Message value bytes the Kafka source returned.", nil, nil)
	dKafkaCommits     = prometheus.NewDesc("iocwatch_kafka_commits_total", "Successful offset commits.", nil, nil)
	dKafkaCommitErrs  = prometheus.NewDesc("iocwatch_kafka_commit_errors_total", "Failed offset commits (retried with back-off; what a generation could not commit is re-delivered after a rebalance).", nil, nil)
	dKafkaGenerations = prometheus.NewDesc("iocwatch_kafka_group_generations_total", "Consumer-group generations joined (1 + rebalances).", nil, nil)
	dKafkaGroupErrs   = prometheus.NewDesc("iocwatch_kafka_group_errors_total", "Failures to join or sync the consumer group.", nil, nil)
	dKafkaStale       = prometheus.NewDesc("iocwatch_kafka_stale_acks_total", "Acknowledged messages whose generation had ended or whose partition was restarted (not committed).", nil, nil)
	dKafkaResets      = prometheus.NewDesc("iocwatch_kafka_offset_resets_total", "Partitions restarted from start_offset because their topic was deleted and created again (a new topic ID) or their position was out of the log's range (log truncated).", nil, nil)
	dKafkaUnchecked   = prometheus.NewDesc("iocwatch_kafka_unchecked_commits_total", "Offset commits made without a fresh check of the topic IDs (the check did not answer within 1s, or answered without the topic's id; a topic deleted and created again may go unnoticed while that lasts).", nil, nil)
)

func (kafkaCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dKafkaBytes, dKafkaCommits, dKafkaCommitErrs, dKafkaGenerations, dKafkaGroupErrs, dKafkaStale, dKafkaResets, dKafkaUnchecked} {
		ch <- d
	}
}

func (c kafkaCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	for d, v := range map[*prometheus.Desc]int64{dKafkaBytes: st.Bytes, dKafkaCommits: st.Commits, dKafkaCommitErrs: st.CommitErrors,
		dKafkaGenerations: st.Generations, dKafkaGroupErrs: st.GroupErrors, dKafkaStale: st.StaleAcks, dKafkaResets: st.OffsetResets,
		dKafkaUnchecked: st.UncheckedCommits} {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
}

// configSecrets returns the value of every config.Secret in cfg (fields,
// maps, slices, at any depth), the credentials written in its URLs
// (urlcred.Echoes; not in the allow-list's, which are indicators) and what
// the shown form of a sink's URL hides (urlcred.Hidden), for the log
// redactor.
func configSecrets(cfg *config.Config) []string {
	var out []string
	secretType := reflect.TypeFor[config.Secret]()
	configType := reflect.TypeFor[config.Config]()
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		if v.Type() == secretType {
			if s := v.Interface().(config.Secret); s.IsSet() {
				out = append(out, s.Reveal())
			}
			return
		}
		switch v.Kind() {
		case reflect.String:
			// A URL is not a Secret, but its password and key= parameters
			// are credentials all the same; Go's client sends the user
			// info as basic authentication, which a peer may echo.
			out = append(out, urlcred.Echoes(v.String())...)
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Struct:
			for i := range v.NumField() {
				f := v.Type().Field(i)
				// The allow-list holds indicators to compare with, not URLs
				// iocwatch sends anything to: a token-like part of one (an
				// allow-listed …/<tenant id>/oauth2/token) is no credential,
				// and lookup and check print the entry as written.
				if f.IsExported() && (v.Type() != configType || f.Name != "Allowlist") {
					walk(v.Field(i))
				}
			}
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				walk(v.Index(i))
			}
		case reflect.Map:
			it := v.MapRange()
			for it.Next() {
				walk(it.Value())
			}
		}
	}
	if cfg != nil {
		walk(reflect.ValueOf(cfg).Elem())
		// HTTP basic authentication sends user:password in base64: a peer
		// that echoes the header shows that form.
		basic := func(user string, pass config.Secret) {
			if pass.IsSet() {
				out = append(out, urlcred.BasicAuth(user, pass.Reveal()))
			}
		}
		for _, f := range cfg.Feeds {
			basic(f.TAXII.Username, f.TAXII.Password)
		}
		basic(cfg.Metrics.BasicAuth.Username, cfg.Metrics.BasicAuth.Password)
		// A sink's URL may be the credential itself (a Slack, Teams or
		// Discord webhook's path): what its shown form hides is redacted
		// too, should a line print the URL whole.
		for _, s := range cfg.Sinks {
			out = append(out, urlcred.Hidden(s.Webhook.URL)...)
			out = append(out, urlcred.Hidden(s.SplunkHEC.URL)...)
		}
	}
	return out
}
