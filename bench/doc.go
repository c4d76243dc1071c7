// Package bench measures iocwatch: the standard benchmark suite behind
// `iocwatch bench` and `go test -bench . ./bench/`, over generated
// workloads (package bench/gen, deterministic by seed), side by side with
// the reference implementations of package bench/reference.
//
// Run runs the suite from a Config and returns a Report: one Section per
// measurement (decode, match, IP index, host index, build, file pipeline,
// scaling, workloads, Kafka end to end, memory at scale, Python), the
// verdict on each performance target, and the data of a hand-written SVG
// chart. Report.WriteFiles writes report.md, report.json and chart.svg.
// docs/benchmarks.md records a run and explains each figure.
//
// # Measuring on a shared machine
//
// Every comparison is interleaved: each alternative runs once per round,
// in turn, for Config.Rounds rounds, so that all of them see the same
// load; figures are medians over rounds and ratios are medians of
// per-round ratios. Rates are given per wall-clock second and per CPU
// second of the process (records per CPU-second is "per core": it does not
// count the time other processes held the core). "Per core" figures run at
// GOMAXPROCS 1. The load average is recorded at the start, the end and
// its maximum.
//
// # Workloads
//
// A Workload fixes the seed, the indicator count per kind (n ip/cidr, n
// domain, n/10 url), the IPv4/IPv6 mix, the share of records with a planted
// hit, the records per message and the record width. StandardWorkload is
// the one the targets are judged on. Corpora are generated in memory and
// written to JSON-lines files for the file pipelines; the same workload
// gives the same bytes.
//
// # Helper processes
//
// Measurements that must not share this process — the Kafka broker and
// its producer (so that they run beside, not on, the consumer's core) and
// the memory curve (peak RSS of a fresh process) — run in a helper: this
// same program started with HelperEnv=1, serving JSON-line requests on
// stdin (ServeHelper). `iocwatch bench` starts itself; the test binary's
// TestMain does the same. Without a helper command the broker runs in
// this process and the memory curve is skipped.
//
// # Correctness
//
// The harness checks what it measures: every pipeline run must report
// the same alerts per corpus as iocwatch, lookups are checked to hit or
// miss as labelled, and the tests of this package compare the alerts of
// iocwatch, the references and the Python script on small workloads.
// They never check timings.
//
// # Tools
//
// bench/cmd/tracebuckets reads an execution trace of a benchmark and prints
// where groups of goroutines spent each time bucket (running, waiting for
// a core, in a mark assist) beside the collector's marks: how
// docs/benchmarks-feeds.md traced the latency during a reload.
//
// # Concurrency
//
// Run changes GOMAXPROCS while it runs: do not run two suites, or other
// work, in one process at the same time. Types are plain data unless
// their comment says otherwise.
package bench
