package reference

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/stream"
)

// Decoder turns one message (an Event Hubs body {"records":[…]} or a bare
// record) into the events of the watched tables, appended to dst, and
// returns how many records the message held. Events may alias msg and the
// decoder's buffers until the next call.
type Decoder interface {
	Decode(msg []byte, dst []stream.Event) (events []stream.Event, records int, err error)
}

// Index matches one event's RemoteIP and RemoteUrl, appending the hits,
// with the semantics the package documentation lists.
type Index interface {
	Match(remoteIP netip.Addr, remoteURL string, hits []match.Hit) []match.Hit
}

// Pipeline is a reference watcher: a Decoder, an Index, and the alerts
// built with stream.NewAlert. The zero value is not usable: set Decoder
// and Index. A Pipeline is for one goroutine.
type Pipeline struct {
	Decoder Decoder
	Index   Index
	// Now stamps detected_at; nil means time.Now.
	Now func() time.Time

	events []stream.Event
	hits   []match.Hit
}

// Process decodes and matches one message and appends its alerts.
func (p *Pipeline) Process(msg []byte, alerts []sink.Alert) ([]sink.Alert, int, error) {
	var (
		records int
		err     error
	)
	p.events, records, err = p.Decoder.Decode(msg, p.events[:0])
	if err != nil {
		return alerts, records, err
	}
	var now time.Time
	for i := range p.events {
		e := &p.events[i]
		p.hits = p.Index.Match(e.RemoteIP, e.RemoteURL, p.hits[:0])
		if len(p.hits) == 0 {
			continue
		}
		if now.IsZero() {
			now = time.Now()
			if p.Now != nil {
				now = p.Now()
			}
			now = now.UTC()
		}
		for _, h := range p.hits {
			alerts = append(alerts, stream.NewAlert(e, h, now))
		}
	}
	return alerts, records, nil
}

// Result counts what Run saw. Plain data; the zero value is nothing seen.
type Result struct {
	Messages, Records, Alerts int64
	// Errors counts messages that did not decode (they are skipped).
	Errors int64
}

// Run feeds every line of r (JSON lines, one message a line) through p,
// handing each batch of up to batchLines messages' alerts to emit (which
// may be nil), until r ends or ctx is done.
func Run(ctx context.Context, r io.Reader, p *Pipeline, batchLines int, emit func([]sink.Alert) error) (Result, error) {
	if batchLines <= 0 {
		batchLines = 1024
	}
	var res Result
	br := bufio.NewReaderSize(r, 256<<10)
	var alerts []sink.Alert
	var long []byte
	inBatch := 0
	flush := func() error {
		res.Alerts += int64(len(alerts))
		if emit != nil && len(alerts) > 0 {
			if err := emit(alerts); err != nil {
				return err
			}
		}
		alerts, inBatch = alerts[:0], 0
		return ctx.Err()
	}
	for line := int64(1); ; line++ {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], b...)
			for errors.Is(err, bufio.ErrBufferFull) {
				b, err = br.ReadSlice('\n')
				long = append(long, b...)
			}
			b = long
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return res, fmt.Errorf("reference: read line %d: %w", line, err)
		}
		if n := len(b); n > 0 && b[n-1] == '\n' {
			b = b[:n-1]
		}
		if len(b) > 0 {
			var recs int
			var derr error
			alerts, recs, derr = p.Process(b, alerts)
			res.Messages++
			res.Records += int64(recs)
			if derr != nil {
				res.Errors++
			}
			if inBatch++; inBatch == batchLines {
				if ferr := flush(); ferr != nil {
					return res, ferr
				}
			}
		}
		if err != nil { // io.EOF
			return res, flush()
		}
	}
}
