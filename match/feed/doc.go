// Package feed keeps indicator feeds fresh while iocwatch runs: it reads
// local files, http(s) URLs and TAXII 2.1 collections, parses them with
// match.Load, and builds the next match.Index off the hot path whenever a
// feed changes, handing it over through a callback so the caller swaps
// one atomic pointer. Package match stays pure; the I/O lives here.
package feed
