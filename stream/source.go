package stream

import (
	"context"
	"strconv"
)

// Position locates a message in its source, for error reports and
// dead-letter entries. For files Partition is -1 and Offset is the line
// number (1-based); for Kafka and Event Hubs it is the partition and the
// offset or sequence number.
type Position struct {
	// Source names the file, topic or hub.
	Source    string
	Partition int32
	Offset    int64
}

// String formats a position as "file:line" or "topic[3]@1182".
func (p Position) String() string {
	if p.Partition < 0 {
		return p.Source + ":" + strconv.FormatInt(p.Offset, 10)
	}
	return p.Source + "[" + strconv.FormatInt(int64(p.Partition), 10) + "]@" + strconv.FormatInt(p.Offset, 10)
}

// Message is one raw message: an Event Hubs body {"records":[…]}, a bare
// record, a {"body":…} wrapper, or one JSON line.
type Message struct {
	Value    []byte
	Position Position
	// Err, when set, says the source could not frame this message (a
	// malformed CSV row, a file damaged from here on): the pipeline counts
	// and dead-letters it.
	Err error
}

// Batch is a group of messages that is acknowledged as a whole.
//
// The pipeline calls Ack exactly once, after every alert of the batch — and
// of every batch the source returned before it — has been accepted by every
// sink. Sources commit offsets or write checkpoints there (batching the
// commits as they see fit). Ack is nil when there is nothing to acknowledge.
// Release, if set, is called after Ack when the batch's buffers may be reused.
type Batch struct {
	Messages []Message
	Ack      func(ctx context.Context) error
	Release  func()
}

// Source yields batches of raw messages.
//
// Read blocks until a batch is ready, ctx is done (it returns ctx.Err()), or
// the source is exhausted (it returns io.EOF). Read is called from one
// goroutine. Close stops the source; it is safe to call twice, and a Read in
// progress returns.
type Source interface {
	Read(ctx context.Context) (Batch, error)
	Close(ctx context.Context) error
}
