// Package gen generates realistic, seeded Microsoft Defender streaming-API
// messages — both watched tables, many action types, IPv4, IPv6 and
// IPv4-mapped addresses, bare hosts and URLs in mixed case, inspected events
// whose host sits in AdditionalFields, envelopes of several records — with
// hits planted on given indicators at a given ratio, some of them from
// processes that the example exclusions suppress. The same seed gives the
// same stream, so tests and benchmarks can check recall.
package gen
