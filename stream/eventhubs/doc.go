// Package eventhubs reads the Microsoft Defender streaming export from Azure
// Event Hubs: a stream.Source built on the azeventhubs/v2 Processor with the
// blob checkpoint store, and a Producer that loads generated streams into a
// hub (iocwatch gen --to eventhubs).
//
// # Messages
//
// One event body is one stream.Message. Its Position is {Source: hub,
// Partition: the partition number, Offset: the event's sequence number}, so
// errors and dead-letter entries read "defender[3]@1182". Several data
// sections are joined, and an AMQP value that is a string or binary is taken
// as the body; any other AMQP value, or an AMQP sequence, is passed with
// Message.Err set (the pipeline counts and dead-letters it).
//
// # Partitions and replicas
//
// Replicas that share a consumer group and a checkpoint container split the
// hub's partitions between them through ownership blobs in that container
// ("balanced" claims one partition per update interval, "greedy" the whole
// fair share at once). Each owned partition is read by its own goroutine, in
// order; Read returns the events of one or more partitions, each in order.
// When a replica stops, its partitions move to the others: at once after a
// graceful Close (it gives its claims up), after PartitionExpiration if it
// died.
//
// # Acknowledgement and checkpointing
//
// The pipeline acknowledges batches in read order, so the checkpoint of a
// partition is the last acknowledged event of that partition. Checkpoints
// are written in the background, every CheckpointInterval, or as soon as
// CheckpointCount acknowledged events of a partition wait; Close writes
// what is left. Events acknowledged but not yet checkpointed when a replica
// dies are read again by the next owner (at most CheckpointCount, or
// CheckpointInterval's worth, per partition); unacknowledged events are
// never checkpointed. Delivery is at-least-once.
//
// # Start position
//
// StartPosition applies to a partition without a checkpoint. With "latest",
// the replica that claims such a partition first writes its last enqueued
// event as the checkpoint and the Processor starts there, so a replica that
// takes the partition over before the first real checkpoint reads on from
// that start (re-reading what the first owner had not acknowledged) instead
// of from its own "latest". The start is written only where the partition
// still has no checkpoint, so it never overwrites one another replica wrote
// meanwhile: the partition is read on from that one. A partition whose
// start cannot be written is not opened until it can be: writing it is
// retried in place, as a failed checkpoint listing is (below).
//
// # Credential check
//
// When a token credential is used (Options.Credential, or
// DefaultAzureCredential), New asks it once for a token for each service it
// reaches with it — Event Hubs, and storage for a container URL without a
// SAS — before connecting to either. Microsoft Entra ID answering 400 or
// 401 (a wrong or expired secret, an unknown tenant or application), or no
// credential available, fails New with an error that starts with
// "eventhubs: signing in (auth):", gives Entra's AADSTS code and message
// (when Entra answered) and says what to check; anything else is logged
// at Warn and the start goes on.
//
// # Refusals and store outages
//
// The Processor reports a partition it claimed but could not open only to
// the SDK's log. At the start of each load-balancing round the Source looks
// for partitions the last round claimed that no reader took up and opens a
// test receiver to learn why: without an owner level, from where the
// Processor opens the partition (its checkpoint, else StartPosition; the
// earliest event when a geo-replicated hub refuses the checkpoint's
// offset), with a client of its own that does not retry, so that a refusal
// comes back at once. One such partition is tested a round, each in turn.
// When the Processor, trying again in that round, opens the partition
// meanwhile, nothing is reported but an Info line; so is a test receiver
// displaced or refused by a receiver with an owner level
// (ErrorCodeOwnershipLost, amqp:link:stolen), or one that opened, while
// the checkpoint store names another replica as the partition's owner:
// that replica took the partition and reads it. A refusal that cannot
// heal — the consumer group does not exist, the credential may not listen
// — stops the Source with an error naming the hub, the consumer group and
// what to check (Read returns it). So does a start the service refuses as
// past the partition's last event (a checkpoint from before the hub was
// deleted and re-created, or its namespace failed over), which no retry
// cures: the error names the partition and the checkpoint blob to delete,
// and it is logged once. Anything else is logged as an error each time the
// partition is tested, with the test receiver's start and error. A
// partition reader refused or detached the same way stops the Source too,
// or is reopened by the Processor.
//
// The Processor also stops for good when a round cannot list or claim
// ownership. The Source gives it a checkpoint store that retries those
// calls with back-off (1 s doubling to 30 s) while the store fails, logging
// every failure and the recovery; owned partitions are read meanwhile, and
// their checkpoints catch up once the store answers. A store that answers
// with a refusal retrying cannot change (401, 403, a deleted container, any
// 4xx but 408 and 429) stops the Source with an error naming the container
// and what to check. A round that claimed partitions lists their
// checkpoints, and, with "latest", writes the start of those without one;
// the SDK never opens the partitions of a round whose listing failed (it
// keeps them registered as opened, and renews their claims), so the Source
// retries both in place, with the same back-off, logging the outage once at
// Warn and its end at Info. The round waits meanwhile: partitions already
// open are read on, but no claim is made or renewed, so once the claims
// expire (PartitionExpiration) other replicas may take this one's
// partitions. A refusal stops the Source here too, and so does a corrupt
// checkpoint blob (a metadata key missing, or a value that is not one),
// which no retry cures, with an error naming the blob, the key and its
// value, and how to recover. An ownership record whose metadata names no
// owner counts as released, and is claimed over.
//
// # Ownership loss
//
// A partition is lost when another replica's receiver takes it (the client
// reports ErrorCodeOwnershipLost) or when the checkpoint store names another
// owner, which is checked before every round of checkpoints. The SDK's
// UpdateCheckpoint itself does not check ownership, so this check is what
// keeps a replica from moving back the checkpoint of a partition it lost.
// A lost partition's reader stops, and acknowledgements of the events it had
// read are dropped: the new owner reads them again from its checkpoint.
//
// # Secrets
//
// Connection strings, account keys and SAS signatures never appear in errors
// or logs: errors from New, Read, Close and the Producer are scrubbed of them
// (errors.Is and errors.As still see the causes), and Options prints
// redacted.
//
// # Lag
//
// Lag reports, per owned partition, the events enqueued behind the
// checkpoint, from the partition properties fetched every 10 s.
package eventhubs
