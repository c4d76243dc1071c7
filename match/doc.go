// Package match decides which indicators of compromise an event touches,
// and which of those hits the user has chosen to exclude.
//
// It holds the Indicator type and List, the pointer-free list loaders
// fill and indexes keep, the loaders that read feeds into indicators
// (Load, ParseValue), the immutable Index that matches events against
// hundreds of thousands of indicators in well under a microsecond, the
// normalisers of hosts and URLs that both sides share (NormalizeHost,
// NormalizeURL and their allocation-free Append forms), and the exclusion
// rules (CompileExclusions). The package is pure: it does no I/O beyond
// the readers it is given, and knows nothing of Kafka, Event Hubs, JSON
// events or alerts.
//
// # Matching semantics
//
// BuildLists (Build for a []*Indicator) normalises every indicator value
// again and groups indicators that
// share a value (several feeds may list the same address): a hit on the
// value reports all of them. Index.Match takes a Query (RemoteIP,
// RemoteUrl, time) and reports, per kind, the most specific match:
//
//   - ip and cidr: the longest prefix containing RemoteIP, IPv4 and IPv6,
//     with IPv4-mapped IPv6 (::ffff:a.b.c.d) unmapped on both sides
//     (Field FieldRemoteIP). When the host of RemoteUrl is an IP literal
//     ("http://203.0.113.7:8080/x", "[2001:db8::1]") it is looked up too
//     (FieldRemoteURLHost), unless it equals RemoteIP.
//   - domain: the host of RemoteUrl (scheme, userinfo, port, path, query,
//     fragment and a trailing dot stripped, lower-cased, IDN in punycode;
//     read as a browser reads it, so in http(s), ws(s), ftp and file URLs
//     and in values without a scheme a backslash ends the host as '/'
//     does: "http://evil.com\@good.com/" is on evil.com; and ASCII tabs and
//     newlines, wherever they are, are not there: "http://ev\til.com/" is
//     on evil.com) and each parent
//     domain at a label boundary, most specific first:
//     evil.com matches evil.com and a.b.evil.com, never notevil.com or
//     evil.com.au. Hash lookups, one per label at most.
//   - url: RemoteUrl normalised by NormalizeURL (a value without a scheme
//     but with a path is taken as http://; backslashes in the path of such
//     URLs are slashes and dot segments are resolved, as a client requests
//     the path) equal to the indicator, else the
//     longest indicator ending in '*' that prefixes it. A bare host is not
//     a URL, so a URL indicator never fires on its host alone.
//   - pattern: every pattern that is a case-insensitive substring of the
//     normalised RemoteUrl (or of the host, for a bare host), found with an
//     Aho-Corasick automaton.
//
// When Query.At is set, indicators not active at that time are dropped,
// and the next less specific match that has an active indicator is
// reported instead. docs/matching.md has the full rules and the measured
// costs.
//
// # Exclusions
//
// CompileExclusions turns named rules (RuleSpec, read from the rule file by
// config/) into Exclusions. A rule excludes a hit when every condition key
// matches (AND) and a key matches when any of its values does (OR); keys
// cover the initiating process (name, path glob, SHA-256), account, device
// (glob), device group, action type, remote IP/CIDR, remote domain, remote
// port, table, and the indicator's source and tags. Text compares ignore
// case; in path globs '/' and '\' are equal. Exclusions.Match returns the
// first rule in file order that applies, so suppressed hits can be counted
// per rule (Rule.ID) and audited. An expired rule no longer applies (at
// now, or at the event's time for Exclusions.AtEventTime, as a replay or
// retro-hunt needs); a nil *Exclusions excludes nothing. docs/exclusions.md
// documents the rule file.
//
// # Concurrency
//
// An Index is immutable after Build and safe for concurrent use; readers
// load the current one from an atomic.Pointer and a reload builds the next
// one beside it. Match does not allocate while the hits slice has spare
// capacity (IDN hosts and the rare pattern-hit path excepted). Exclusions
// and Rule are immutable and safe for concurrent use; Exclusions.Match does
// not allocate. The normalisers are pure functions.
package match
