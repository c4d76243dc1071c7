// Command iocwatch watches Microsoft Defender streaming-API events and alerts
// the moment an endpoint talks to a known command-and-control IP, domain or
// URL.
//
// Usage:
//
//	iocwatch <command> [flags] [args]
//
// The commands:
//
//	run      watch a source (file, stdin, Kafka, Event Hubs) and deliver alerts
//	replay   match exported events (JSON lines, Advanced Hunting CSV, Event Hubs Capture) and print a summary
//	check    load the config, feeds and exclusions; report counts and every problem
//	lookup   which indicators and exclusions apply to an IP, domain or URL
//	demo     zero set-up demo: embedded Kafka broker, live generated stream, alerts as they happen
//	hunt     search the retro-hunt history: who talked to an IP, domain or URL
//	gen      generate a seeded Defender stream with planted hits (stdout, file, Kafka, Event Hubs)
//	bench    measure throughput, latency and memory against reference implementations
//	version  which iocwatch this is: version, commit, Go release, platform
//
// "iocwatch help" and "iocwatch <command> -h" print the flags; README.md
// and docs/ document the configuration, sources, sinks and operations.
// This package is the wiring: it builds the stream.Source, the match
// rules, the feed manager and the sink stack from the config and runs
// them; the work itself is in stream/, match/, sink/ and config/.
package main
