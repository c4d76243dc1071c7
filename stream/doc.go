// Package stream turns Microsoft Defender streaming-API messages into alerts:
// it owns the Event type and the Defender decoder, the Source seam with its
// file adapter (Kafka and Event Hubs adapters live in sub-packages), and the
// Pipeline that ties a Source to the match index, the exclusions and a Sink.
//
// # Data flow
//
//	Source.Read → Batch{Messages} → Decoder.Decode → []Event
//	  → match.Index.Match → allow-list → match.Exclusions → []sink.Alert
//	  → Sink.Write → Batch.Ack (in read order)
//
// A worker decodes every message of a batch before it matches the batch's
// events, in one loop over the index.
//
// # Events and buffers
//
// Event string fields alias the message buffer and the decoder's arena; an
// Event is valid only while its batch is being processed. Alerts copy what
// they keep.
//
// FileSource reads regular files of JSON lines in 1 MiB blocks, one
// positioned read each, up to the size a file had when it was opened:
// messages alias the block, which a batch keeps until it is released. A
// file found shorter than that (truncated while it is read) makes the
// read, or the run, fail with an error wrapping ErrInputTruncated; the
// lines read before it are delivered.
// A line longer than a block is read into a buffer of its own, a batch
// alone, and the blocks go on after it. Followed files, CSV exports and
// stdin are read with read(2) into the batch's buffer; so
// are the files FileSource recognises by their first bytes and reads
// otherwise than line by line: gzip and zstd files (decompressed), UTF-16
// text (transcoded), Event Hubs Capture (Avro) files (CaptureReader, a
// record's body a message) and pretty-printed JSON documents (an array
// element by element). Paths may be glob patterns and directories
// (ExpandPaths).
//
// # Decoding
//
// Decoder.Decode accepts an Event Hubs body {"records":[…]}, a bare record
// (columns under "properties" or at the top level), a {"body":…} wrapper
// (an object or a JSON string holding one), a top-level array of records,
// the Advanced Hunting API's response (its "Results" read like "records"),
// and JSON Lines of any of these; CSVReader turns an Advanced Hunting CSV
// export into bare records, so one decode path serves every input. Records
// of tables other than DeviceNetworkEvents and DeviceEvents are counted and
// skipped. The decoder is a single-pass scanner that extracts only the
// columns an Event holds, without allocating; events alias the message and
// the decoder's arena until Reset, which the pipeline calls once per batch.
// docs/decoding.md lists every Defender quirk it survives.
//
// # Acknowledgement and checkpointing
//
// A batch is acknowledged (Kafka offsets committed, Event Hubs checkpoints
// written) only after every alert of that batch and of every batch read
// before it was accepted by the sink, and its undecodable messages were
// written to the dead-letter file. Delivery is therefore at-least-once: a
// crash re-reads what was not yet acknowledged.
//
// # Bad input
//
// A message that cannot be decoded is counted, written to the dead-letter
// file with its position (file:line, or topic[partition]@offset) and error,
// and then acknowledged: a poison message never blocks a partition.
//
// Every input is bounded: a message over Options.MaxMessageBytes is
// dead-lettered undecoded (the file source keeps at most MaxLineBytes of a
// line), and the records of a message past Options.MaxRecordsPerMessage
// are not decoded (Decoder.MaxRecords) — the message is dead-lettered
// naming the first record left out. Stats counts each bound hit.
//
// When the dead-letter destination itself fails (disk full),
// Options.DeadLetterFailure decides: DeadLetterStop (default) leaves the
// batch unacknowledged and Run returns the error; DeadLetterContinue
// acknowledges it without its entry, counts it in Stats.DeadLetterFailures
// and logs once per change of state. docs/reliability.md has the whole
// picture.
package stream
