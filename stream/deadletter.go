package stream

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
	"unicode/utf8"
)

// DeadLetterWriter keeps messages that could not be decoded, with their
// position and error: the file below, or a Kafka topic
// (stream/kafka.DeadLetterWriter). Write returns once the entry is durable
// enough to acknowledge the message; its error means it is not.
type DeadLetterWriter interface {
	Write(ctx context.Context, msg Message, record int, cause error) error
}

// DeadLetter is an append-only JSON-lines file of messages that could not be
// decoded, each with its position and error, so nothing is silently lost. It
// is safe for concurrent use. A nil *DeadLetter discards entries (they are
// still counted by the pipeline).
//
// Each entry is appended with one write(2); when that fails half-way (disk
// full) the file is truncated back, so it never holds a partial line, and
// the next Write tries again: a DeadLetter recovers once space is freed.
type DeadLetter struct {
	mu     sync.Mutex
	f      *os.File
	size   int64 // bytes of complete lines
	path   string
	closed bool
}

// DeadLetterEntry is one line of the dead-letter file.
type DeadLetterEntry struct {
	Time     time.Time `json:"time"`
	Position string    `json:"position"`
	Record   int       `json:"record"` // index of the broken record in the message; -1 for the whole message
	Error    string    `json:"error"`
	// Message is the raw message when it is valid UTF-8; otherwise
	// MessageBase64 holds its bytes.
	Message       string `json:"message,omitempty"`
	MessageBase64 string `json:"message_base64,omitempty"`
}

// OpenDeadLetter opens (creating, mode 0600) the dead-letter file for appending.
func OpenDeadLetter(path string) (*DeadLetter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("dead-letter file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("dead-letter file: %w", err)
	}
	return &DeadLetter{f: f, size: fi.Size(), path: path}, nil
}

// Write appends one entry for msg to the file. The error says why the entry
// could not be written (disk full…): the caller must not acknowledge the
// message then.
func (d *DeadLetter) Write(_ context.Context, msg Message, record int, cause error) error {
	if d == nil {
		return nil
	}
	e := DeadLetterEntry{Time: time.Now().UTC(), Position: msg.Position.String(), Record: record, Error: cause.Error()}
	if utf8.Valid(msg.Value) {
		e.Message = string(msg.Value)
	} else {
		e.MessageBase64 = base64.StdEncoding.EncodeToString(msg.Value)
	}
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("dead-letter %s: %w", d.path, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("dead-letter %s: closed", d.path)
	}
	line = append(line, '\n')
	n, err := d.f.Write(line)
	if err != nil {
		if n > 0 {
			// Never leave a partial line for the next entry to run into.
			if terr := d.f.Truncate(d.size); terr != nil {
				err = fmt.Errorf("%w; and the partial line could not be removed: %w", err, terr)
			}
		}
		return fmt.Errorf("dead-letter %s: %w", d.path, err)
	}
	d.size += int64(n)
	return nil
}

// Close syncs and closes the file. Safe to call twice.
func (d *DeadLetter) Close() error {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	err := d.f.Sync()
	if cerr := d.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("dead-letter %s: %w", d.path, err)
	}
	return nil
}
