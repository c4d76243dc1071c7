// Package reference holds the reference watchers that iocwatch's own
// pipeline is measured against: the same work — decode Defender messages,
// match RemoteIP and RemoteUrl against the indicators, build the alerts —
// done with off-the-shelf parts, on one goroutine.
//
//   - Fast: a tuned github.com/valyala/fastjson decoder (parsers reused,
//     strings aliasing the parser's buffer), a github.com/gaissmai/bart
//     table for ip and cidr indicators and hash maps over domain suffixes
//     and URLs: what a careful engineer writes in an afternoon.
//   - Naive: encoding/json into structs, github.com/yl2chen/cidranger for
//     addresses and github.com/cloudflare/ahocorasick automatons over the
//     domains and URLs: the first thing that comes to mind.
//
// A Python script with the same logic (json + pyahocorasick) lives in
// bench/reference/python.
//
// # Semantics
//
// The references report what iocwatch reports on the generated workloads
// of package bench: the longest matching prefix for RemoteIP (and for an
// IP-literal host of RemoteUrl that differs from RemoteIP), the most
// specific matching domain for the host of RemoteUrl, the identical URL or
// else the longest matching URL prefix, every indicator that shares the
// matched value. Hosts and URLs are normalised by match.AppendHost and
// match.AppendURL, so both sides normalise alike; the alerts are built by
// stream.NewAlert. They do not implement pattern indicators, validity
// periods, allow-lists or exclusions (the benchmark workloads use none):
// Build refuses pattern indicators. Tests in package bench check that the
// references and iocwatch give the same alerts.
//
// # Concurrency
//
// Indexes are immutable after Build; FastIndex is safe for concurrent
// Match, NaiveIndex is not (the Aho-Corasick matcher mutates itself while
// matching). Decoders and Pipelines are for one goroutine.
package reference
