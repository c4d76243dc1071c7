// Package kafka is the Kafka source of iocwatch: a consumer-group member
// (built on github.com/segmentio/kafka-go) that yields the Defender
// messages of one or more topics as stream batches, and commits their
// offsets once the pipeline acknowledges them. It also works against the
// Event Hubs Kafka endpoint (TLS, SASL PLAIN). DeadLetterWriter sends
// undecodable messages to a Kafka topic.
//
// Options carry the broker, group and fetch settings; TLSConfig and
// SASLMechanism build the security fields from file names and credentials.
// See docs/kafka.md for configuration examples.
//
// # Reading
//
// New joins the group in the background. For every partition it is
// assigned, a fetcher reads from the partition's leader over one
// connection: each fetch answer is read whole into a value buffer, values
// back to back, and then queued for Read (MaxBatchMessages shared), so a
// slow pipeline slows the fetching instead of growing memory. Read takes
// what is already there, up to MaxBatchMessages, and blocks only for the
// first message. Messages of one partition come in offset order within a
// generation, except that a partition restarted from StartOffset (see
// Offsets outside the log) goes on from its new position. Positions are
// stream.Position{Source: topic, Partition: p, Offset: offset}.
//
// # Value buffers
//
// Message values alias reference-counted buffers of 2 × MaxBytes (at least
// 64 KiB). A buffer is reused once every batch holding one of its values
// was released (stream.Batch.Release; the pipeline calls it after Ack), so
// reading allocates nothing per message. A value must not be read after
// its batch's Release; a batch never released keeps its buffers from reuse
// (the garbage collector reclaims them). Stats.Buffers counts allocations.
//
// # Fetch sizing
//
// A partition that is receiving messages fetches with MinBytes and MaxWait
// (64 KiB and 10ms by default: fetches grow with the load, and batching
// adds at most MaxWait of latency). A partition whose last fetch was empty
// long-polls with MinBytes 1 for up to max(MaxWait, 500ms).
//
// # Acknowledgement and offset commits
//
// Batch.Ack records, per partition, the offset after the batch's last
// message; it never blocks and never fails. A committer commits the highest
// acknowledged offset of every partition every CommitInterval, as soon as
// CommitCount acknowledged messages are pending, and once more when the
// generation ends (rebalance or Close) — never synchronously per message.
// A commit that fails is retried after a back-off (100ms doubling up to
// 1s) until one succeeds or the generation ends, without waiting for the
// next acknowledgement.
// Acks arrive in read order (the pipeline guarantees it), so the highest
// acknowledged offset covers every earlier message. A partition the group
// never committed gets the offset this member started reading it at
// committed at the first commit, so a rebalance or restart before the first
// acknowledgement cannot move a "latest" start past unprocessed messages.
//
// Offsets are committed in the generation that owns the partition: once a
// generation ends, its acks are no longer committed (they are counted in
// Stats.StaleAcks) and its messages still queued are dropped (StaleMessages);
// the partition's next owner reads them again from the committed offset. A
// member that lost a partition therefore never overwrites the new owner's
// commits.
//
// # Offsets outside the log
//
// When the broker refuses a partition's offset as out of range, the source
// reads the log's range on a new connection. An offset before the log start
// (retention deleted unread messages) goes on at the first retained message,
// whatever StartOffset says. An offset past the end (the topic was deleted
// and created again, the log truncated) names no message of this log: the
// partition restarts where StartOffset starts a partition the group never
// committed, the new position is committed at once, acks of messages read
// before are not committed (Stats.StaleAcks), and Stats.OffsetResets counts
// it. Both are logged at Warn with the partition and the offset. A log end
// reported below the position without the broker refusing it (a leader
// that has just taken over) restarts nothing.
//
// # A topic deleted and created again
//
// A recreated topic gets a new topic id, which the source asks for (Metadata
// v10+, through a franz-go client of its own: kafka-go cannot) when a
// partition's fetcher connects, every 5 seconds, and before every commit.
// A partition whose topic changed its id restarts where StartOffset starts
// a partition the group never committed, as for an offset past the end —
// also when the new topic already holds more messages than the old
// position, which offsets alone cannot tell. Until then none of its offsets
// is committed, so an offset of the old topic is not committed on the new
// one while the checks answer within a second. A check that does not
// stops no commit: the commit may then put an offset of the old topic on
// the new one, until the check's late answer (still acted on) or the next
// check restarts the partition. Stats.UncheckedCommits counts those
// commits, and a Warn says when a topic has gone unchecked for three check
// intervals. An id the topic had before is not taken for a change (a
// broker behind the others may still report it). Brokers that report no
// topic ids leave only the past-the-end check.
//
// # Delivery guarantee
//
// At-least-once. A message is committed only after it and every message read
// before it were acknowledged. When a member stops without Close, or loses
// its partitions, the next owner re-delivers what was not committed: at most
// the batches in flight in the pipeline, plus what was acknowledged in the
// last CommitInterval (or fewer than CommitCount messages).
//
// # Shutdown
//
// Close stops fetching, commits the acknowledged offsets (nothing more),
// leaves the group and closes the connections; Read returns io.EOF from then
// on. Close is bounded by its context: a final commit against an unreachable
// coordinator finishes in the background within the group's network timeout
// (5s), and Close reports it. Partition fetchers stop at once: the end of
// a generation closes their connections.
//
// # Errors
//
// Network errors, leader and coordinator moves and rebalances are retried
// for ever (logged at Warn). Errors that will not heal — refused SASL
// credentials, missing ACLs, an untrusted or mismatched TLS certificate, a
// session timeout the broker refuses — are returned by Read.
//
// # Concurrency
//
// Read is called from one goroutine; Batch.Ack, Lag, Assigned, Stats and
// Close are safe for concurrent use. DeadLetterWriter is safe for concurrent
// use.
package kafka
