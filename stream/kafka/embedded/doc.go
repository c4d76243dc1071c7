// Package embedded runs an in-process Kafka broker for tests, benchmarks and
// the demo command. It wraps franz-go's kfake cluster: one broker speaking the
// real Kafka wire protocol on a loopback (or chosen) TCP address, with
// consumer groups, offset commits, TLS and SASL, so the Kafka source and sink
// are exercised exactly as against a real cluster — without Docker or a JVM.
//
// It is not a durable broker: by default everything lives in memory and is
// gone after Close. By default it keeps every record produced;
// BrokerOptions.RetentionBytes bounds each partition, deleting its oldest
// segments as Kafka's retention.bytes does, for a broker that runs for long
// (the demo, the benchmarks' paced producer). BrokerOptions.DataDir keeps the
// log in files under a directory instead (kfake's DataDir; a broker started
// on a directory that holds a log reloads it): producing to files costs the
// process no fresh memory per segment, which the benchmarks' paced producer
// needs to keep its rate.
//
// # Listening
//
// BrokerOptions.Addr is a host:port. Port 0, or a port that is already taken,
// makes the broker pick a free port; Addr reports the address actually used.
// The broker advertises its listening host to clients in metadata responses,
// so listen on an address the clients can dial (127.0.0.1 for in-process use;
// 0.0.0.0 is only reachable from the same machine).
//
// # Security
//
// With BrokerOptions.TLS set the broker serves TLS only; with Users set it
// requires SASL authentication (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) as one of
// them. The Produce, Committed and HighWatermarks helpers authenticate as the
// first user and do not verify the broker's certificate: they talk to this
// process's own broker.
//
// # Concurrency
//
// A *Broker is safe for concurrent use; Close is safe to call twice.
package embedded
