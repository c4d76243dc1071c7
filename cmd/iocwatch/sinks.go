package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	"github.com/iocwatch/iocwatch/config"
	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/sink"
)

// refusalHint adds to an error that stopped the pipeline because a sink
// refused alerts for good the way to go on past such alerts, when the
// config has no dead_letter_alerts file.
func refusalHint(err error, cfg *config.Config) error {
	if err == nil || cfg.DeadLetterAlerts != "" || !sink.IsPermanent(err) || errors.Is(err, sink.ErrClosed) {
		return err
	}
	return fmt.Errorf("%w\n(a sink refused these alerts for good; set dead_letter_alerts in the config to file such alerts and go on)", err)
}

// buildSinks turns the config's sinks into one Sink: each adapter wrapped
// with retries (and, for permanent refusals, the alert dead-letter file)
// and its own bounded queue, all behind a fan-out, behind suppression of
// repeats. With no sinks configured, alerts are counted and discarded.
func buildSinks(cfg *config.Config, env *cliEnv, log *slog.Logger) (sink.Sink, error) {
	var dl *sink.DeadLetter
	if cfg.DeadLetterAlerts != "" {
		var err error
		if dl, err = sink.OpenDeadLetter(cfg.DeadLetterAlerts); err != nil {
			return nil, err
		}
		dl.OnFiled(refusalLogger(log, cfg.DeadLetterAlerts))
		// A dead-letter file that cannot take refused alerts (disk full)
		// holds the stream back until it can; run does not stop.
		dl.HoldBack(sink.RetryPolicy{OnRetry: retryLogger(log, "dead_letter_alerts")})
	}
	var named []sink.Named
	closeAll := func() {
		for _, n := range named {
			n.Sink.Close(context.Background()) // best effort on a failed start
		}
		if dl != nil {
			dl.Close()
		}
	}
	for i, sc := range cfg.Sinks {
		s, err := newSink(sc, env)
		if err != nil {
			closeAll()
			if sc.Type == "file" && errors.As(err, new(*fs.PathError)) {
				// An output file that cannot be created is a failure
				// while running (exit 1), not a bad configuration.
				return nil, fmt.Errorf("sinks[%d] %q: %w", i, sc.Name, err)
			}
			return nil, usagef("sinks[%d] %q: %w", i, sc.Name, err)
		}
		// Retries first; what a peer refuses for good (a 4xx) goes to the
		// alert dead-letter file, and counts as handled.
		s = sink.WithRetry(s, sink.RetryPolicy{Initial: sc.Retry.Initial, Max: sc.Retry.Max, OnRetry: retryLogger(log, sc.Name)})
		if dl != nil {
			s = sink.WithDeadLetter(s, sc.Name, dl)
		}
		if sc.Queue > 0 {
			s = sink.WithQueue(s, sc.Queue)
		}
		named = append(named, sink.Named{Name: sc.Name, Sink: s, BestEffort: sc.BestEffort})
	}
	var out sink.Sink = sink.Fanout(named...)
	if cfg.Suppression.Window > 0 || cfg.Suppression.Capacity > 0 {
		out = sink.NewSuppressor(out, sink.SuppressOptions{
			Window:    cfg.Suppression.Window,
			Summaries: cfg.Suppression.Summaries,
			MaxKeys:   cfg.Suppression.Capacity,
		})
	}
	if dl != nil {
		out = closingDeadLetter{Sink: out, dl: dl}
	}
	return out, nil
}

func newSink(sc config.Sink, env *cliEnv) (sink.Sink, error) {
	format := sink.Format(sc.Format)
	switch sc.Type {
	case "stdout":
		return sink.NewStdout(env.stdout, sink.StdoutOptions{Format: format, Human: sc.Stdout.Human})
	case "file":
		return sink.NewFile(sc.File.Path, sink.FileOptions{Format: format, Sync: sink.SyncMode(sc.File.Sync), MaxBytes: sc.File.MaxBytes, MaxFiles: sc.File.Keep})
	case "webhook":
		w := sc.Webhook
		return sink.NewWebhook(sink.WebhookOptions{URL: w.URL, Batch: w.Batch, Format: format, Headers: reveal(w.Headers),
			HMACSecret: w.HMACSecret.Reveal(), Timeout: w.Timeout, TLS: httpTLS(w.TLS)})
	case "splunk_hec":
		h := sc.SplunkHEC
		return sink.NewHEC(sink.HECOptions{URL: h.URL, Token: h.Token.Reveal(), Index: h.Index, SourceType: h.Sourcetype,
			Source: h.Source, Format: format, MaxBatchBytes: h.BatchBytes, Gzip: h.Gzip, TLS: httpTLS(h.TLS)})
	case "syslog":
		s := sc.Syslog
		payload := sc.Format
		if payload == "native" || payload == "" {
			payload = "cef"
		}
		opt := sink.SyslogOptions{Network: s.Network, Address: s.Address, Facility: s.Facility, AppName: s.AppName,
			Hostname: s.Hostname, Payload: payload, MaxUDPBytes: s.MaxUDPBytes}
		if s.TLS.Enabled {
			opt.Network = "tls"
			opt.TLS = kafkaStyleTLS(s.TLS)
		}
		return sink.NewSyslog(opt)
	case "kafka":
		k := sc.Kafka
		opt := sink.KafkaOptions{Brokers: k.Brokers, Topic: k.Topic, Format: format,
			SASL: sink.KafkaSASL{Mechanism: k.SASL.Mechanism, Username: k.SASL.Username, Password: k.SASL.Password.Reveal()}}
		if k.TLS.Enabled {
			t := kafkaStyleTLS(k.TLS)
			opt.TLS = &t
		}
		return sink.NewKafka(opt)
	default:
		return nil, fmt.Errorf("unknown sink type %q", sc.Type)
	}
}

func reveal(m map[string]config.Secret) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v.Reveal()
	}
	return out
}

func httpTLS(t config.HTTPTLS) sink.TLSOptions {
	return sink.TLSOptions{CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
}

func kafkaStyleTLS(t config.TLS) sink.TLSOptions {
	return sink.TLSOptions{CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
}

// closingDeadLetter closes the alert dead-letter file after the sinks.
type closingDeadLetter struct {
	sink.Sink
	dl *sink.DeadLetter
}

// Close closes the sinks, then the dead-letter file.
func (c closingDeadLetter) Close(ctx context.Context) error {
	return errors.Join(c.Sink.Close(ctx), c.dl.Close())
}

// retryLogFloor is how often a sink that keeps failing is logged again.
const retryLogFloor = time.Minute

// retryLogger logs a sink's failed deliveries as warnings: the first of a
// run of failures at once (unless one was logged in the last 10 s: a sink
// that flaps), then at most once a minute while it goes on, with the
// attempts so far. Without it a sink that is down (a certificate
// not trusted, a name that does not resolve, a 503) would only show as
// alerts held back.
func retryLogger(log *slog.Logger, name string) func(attempt int, err error, wait time.Duration) {
	if log == nil {
		return nil
	}
	var mu sync.Mutex
	var last time.Time
	return func(attempt int, err error, wait time.Duration) {
		mu.Lock()
		now := time.Now()
		since := now.Sub(last)
		due := since >= retryLogFloor || attempt == 1 && since >= retryLogFloor/6
		if due {
			last = now
		}
		mu.Unlock()
		if due {
			log.Warn("sink delivery failed; retrying", "sink", name, "attempt", attempt, "retry_in", wait.Round(time.Millisecond).String(), "err", err)
		}
	}
}

// openExclusionAudit opens the config's exclusions_audit file and returns
// the pipeline hook that writes every suppressed hit to it, and its
// closer. Without the key both are no-ops. A line that cannot be written
// (disk full) is logged — at most once a minute — and the stream goes on:
// the audit must not hold back alerts.
func openExclusionAudit(cfg *config.Config, log *slog.Logger) (func(*match.Rule, *sink.Alert), func(context.Context) error, error) {
	if cfg.ExclusionsAudit == "" {
		return nil, func(context.Context) error { return nil }, nil
	}
	audit, err := sink.OpenExclusionAudit(cfg.ExclusionsAudit)
	if err != nil {
		return nil, nil, fmt.Errorf("exclusions_audit: %w", err)
	}
	lim := &logLimiter{every: retryLogFloor}
	onExcluded := func(rule *match.Rule, a *sink.Alert) {
		err := audit.Write(rule.Name, rule.Reason, a)
		if err == nil || log == nil {
			return
		}
		if due, failed, _ := lim.note(); due {
			log.Warn("exclusion audit: a suppressed hit could not be written", "failed", failed, "err", err)
		}
	}
	return onExcluded, func(context.Context) error { return audit.Close() }, nil
}

// refusalLogger returns the hook that logs alerts a sink refused for good
// and that went to the alert dead-letter file: per sink, the first at once
// and then at most once a minute with the count. Without it a receiver
// that refuses everything (an expired token: 401) would move every alert
// to the file with no line in the log.
func refusalLogger(log *slog.Logger, path string) func(sinkName string, alerts int, reason error) {
	if log == nil {
		return nil
	}
	var mu sync.Mutex
	limiters := map[string]*logLimiter{}
	return func(sinkName string, alerts int, reason error) {
		mu.Lock()
		lim := limiters[sinkName]
		if lim == nil {
			lim = &logLimiter{every: retryLogFloor}
			limiters[sinkName] = lim
		}
		mu.Unlock()
		due, writes, _ := lim.note()
		if due {
			log.Warn("sink refused alerts for good; written to the dead-letter file", "sink", sinkName, "alerts", alerts,
				"refusals_so_far", writes, "err", reason, "file", path)
		}
	}
}
