// Package ops is what an operator of iocwatch sees: Prometheus metrics,
// the /healthz and /readyz probes, a self-refreshing status page, and the
// redacting process logger. docs/operations.md documents every metric, the
// alerts to set on them, and the endpoints.
//
// A Monitor reads the counters that already exist — stream.Stats, the
// sinks' Stats, the suppressor's counts, the sources' lag, the feeds'
// state — when it is scraped or sampled, and adds only three hooks to the
// pipeline (stream.Options OnHit, OnAcked, OnDelivered), none of them on
// the per-record path:
//
//	mon := ops.NewMonitor(ops.Options{Source: "kafka", Log: log})
//	mon.Hooks(&opt)                         // before stream.New(…, opt)
//	p := stream.New(src, &rules, out, opt)
//	mon.Watch(ops.Inputs{Pipeline: p.Stats(), Rules: &rules, Sinks: fan, Lag: lag})
//	mon.Start()                             // the sampler
//	srv, err := ops.Serve("127.0.0.1:9464", mon.Handler(ops.Auth{}), log)
//
// # Metrics
//
// Every metric is on the Monitor's own registry (never the global default
// one), with the Go runtime and process collectors. Names follow the
// Prometheus conventions: iocwatch_…_total for counters, base units
// (_seconds). Labels hold source types, tables, indicator kinds, feed,
// rule, sink, topic and partition names — never a device or account name,
// never a secret. The "feed" label is bounded (MaxFeedLabels).
//
// # Readiness
//
// /readyz is 200 when the index is loaded and not empty, the pipeline
// runs, every extra Check holds (the source is connected) and no required
// sink was failing at the last sample; otherwise 503 with one line per
// failing condition. A sink is failing when, between two samples, its
// writes failed or were retried and none was accepted; it recovers at its
// next accepted write. /healthz is 200 as long as the process serves.
//
// # Status page
//
// GET / renders plain HTML (html/template, no JavaScript) that refreshes
// itself every Interval: throughput over the last interval, lag, latency,
// indicators and feed freshness, the exclusions firing most, sink health
// and the last alerts (a ring of RecentAlerts). ?hide=1, or
// Options.HideIdentities, replaces device and account names with
// "hidden". Feed errors shown there pass through Options.Redact.
//
// # Authentication
//
// With an Auth, every endpoint — probes included — requires HTTP basic
// authentication or a bearer token, compared in constant time.
//
// # Logs
//
// NewLogger writes text or JSON lines through a Redactor: every secret
// value of the config and every credential-shaped text (connection-string
// keys, the values of parameters and fields named as credentials — by the
// words of the name, as urlcred.IsParam reads a query parameter's:
// sig=, token=, password=, SessionToken, code= —, Authorization values,
// URL passwords) is replaced with "[redacted]" in messages and attributes. The
// Monitor logs one line per state change (ready/not ready, a sink failing
// or recovering, a feed failing, recovering or going stale), never one per
// event.
//
// # Concurrency
//
// Monitor, Server and Redactor are safe for concurrent use; the hooks are
// called from the pipeline's goroutines.
package ops
