// Package history keeps a compact, bounded, persisted record of recent
// network observations and re-checks it whenever indicators are added: the
// retro-hunt. An address published at 10:05 that an endpoint contacted at
// 09:50 alerts at the reload that adds it, marked as a retro alert.
//
// History.Record is the pipeline's OnEvents hook; Hunter (or History.Hunt)
// runs the retro-hunts; History.Scan answers an analyst's "who talked to
// this in the last 24 hours" (`iocwatch hunt`); WindowSource filters a
// replay by event time. docs/retro-hunt.md is the user's guide and
// docs/benchmarks-history.md the measured costs.
//
// # What is kept
//
// For each event with a RemoteIP or RemoteUrl: Timestamp, table, TenantId,
// DeviceId, DeviceName, MachineGroup, ActionType, ReportId, RemoteIP,
// RemotePort, RemoteUrl, and the initiating process's file name, folder
// path, SHA-256 and account name — what matching, exclusions and an alert
// need. Command lines, local address and port, protocol and the
// DeviceEvents FileName are not kept; retro alerts leave them empty.
//
// # Storage
//
// An append-only log of segment files in one directory (no database: see
// docs/benchmarks-history.md for the comparison with bbolt). Each segment
// is a series of CRC-checked blocks, one per buffer of up to 4096
// observations. Strings are dictionary-encoded — per segment for devices
// (one id for the four strings), processes (one id for the three), accounts
// and action types; per block for remote IPs and URLs, so that a hunt
// matches each block's distinct remote values first and decodes only the
// blocks with a candidate — numbers are varints and times deltas. A
// segment is sealed by age (SegmentSpan) or size (SegmentBytes); its index
// file then holds its summary, so that Open need not parse it. Segment
// files are named by the sequence number of their first observation;
// observations are numbered in write order.
//
// # Bounds and drop policy
//
// Whole segments are dropped, oldest first, when their newest observation
// was recorded more than Retention ago, and while the files exceed
// MaxBytes; Stats counts the observations each bound removed. Heap use is
// bounded by the buffers (QueueBuffers+3 of BufferRecords observations)
// and the dictionaries of the segment being written (sealed at
// SegmentBytes of dictionary, too).
//
// Record never blocks the pipeline: it copies the kept fields into a
// buffer under a mutex (held per call, never during I/O) and hands full
// buffers to one writer goroutine through a bounded queue. When the writer falls behind and the queue is
// full, the buffer's observations are dropped and counted
// (Stats.DroppedBehind): a gap in the history — fewer retro alerts — is
// preferred over slowing live detection. Observations are on disk within
// FlushEvery (1s); a crash loses at most that and the queue.
//
// # Persistence and recovery
//
// Open recovers what a crash left: a torn or corrupt last block is cut off
// and a missing index is rebuilt. A damaged block elsewhere is passed over
// by every reader, which resyncs at the next block that parses (found from
// the damaged block's length, else by its checksum); its observations are
// lost, and so are the device, process, account and action strings it
// gave the segment's later observations — those are counted
// (ScanStats.LostMatches), not reported. Damage is logged per segment and
// counted (ScanStats.DamagedBlocks). A directory or segment that cannot be
// read (permissions) is an error of Open or Scan naming it. The values of the indicators already
// hunted are kept too (indicators.known), so that the first reload after a
// restart — which adds every indicator — hunts only the really new ones.
// One writer per directory (a LOCK file, flock on Unix); a ReadOnly History
// reads another process's files without changing them.
//
// # Retro-hunt semantics
//
// Only indicators whose value was not present before are hunted; the hits
// go through the allow-list and the exclusions as live hits do — but an
// exclusion's expiry is judged at the observation's time, not the hunt's,
// and an account condition written DOMAIN\name never matches, the account
// domain not being kept (each such rule is logged once) — and become
// alerts with Retro set, Timestamp the observation's time and
// IndicatorAddedAt the indicator's arrival. Their AlertID is the one the
// live path would have given the same event, so a retro alert for an event
// the live path also alerted is a duplicate the suppressor drops. Hunts run
// one at a time in one goroutine, sleeping between blocks so that they use
// at most HuntCPU of a core while live observations arrive.
//
// # Concurrency
//
// History, Hunter and WindowSource.Stats are safe for concurrent use;
// Observations passed to Scan callbacks are valid only during the call.
package history
