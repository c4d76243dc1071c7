package sink

import (
	"errors"
	"fmt"
	"time"
)

// Permanent marks err as permanent: retrying the same alerts cannot succeed
// (a 400 Bad Request, a Kafka message too large for the broker, an alert
// that cannot be encoded). WithRetry stops at a permanent error and returns it;
// WithDeadLetter moves the alerts to the dead-letter file. Permanent(nil)
// is nil. The result wraps err: errors.Is and errors.As see through it, and
// its message is err's.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err, or an error it wraps, was marked with
// Permanent, or is ErrClosed (a closed sink never reopens). Every other
// error is retryable: errors are retryable unless a sink says otherwise.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	var p *permanentError
	return errors.As(err, &p) || errors.Is(err, ErrClosed)
}

// RetryAfter marks err as retryable no sooner than d from now, as a
// server's Retry-After header or a throttling response says. WithRetry
// waits d (bounded by its policy's Max) instead of its computed back-off
// for that attempt. RetryAfter(nil, d) is nil; d <= 0 leaves err unchanged.
// The result wraps err and has its message.
func RetryAfter(err error, d time.Duration) error {
	if err == nil || d <= 0 {
		return err
	}
	return &retryAfterError{err: err, d: d}
}

type retryAfterError struct {
	err error
	d   time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// RetryAfterDelay returns the delay a RetryAfter in err's chain asks for,
// and whether there is one.
func RetryAfterDelay(err error) (time.Duration, bool) {
	var r *retryAfterError
	if errors.As(err, &r) {
		return r.d, true
	}
	return 0, false
}

// RefusedError says a sink refused some alerts of one Write for good while
// it delivered the others: a receiver answered 400 to one alert of a batch.
// WithDeadLetter files only the refused ones. Sinks return it marked
// permanent, through Refused.
type RefusedError struct {
	// Alerts are the refused alerts' indices in the slice given to Write,
	// ascending.
	Alerts []int
	// Err is the first refusal.
	Err error
}

func (e *RefusedError) Error() string {
	if len(e.Alerts) == 1 {
		return e.Err.Error()
	}
	return fmt.Sprintf("%d alerts refused; the first: %v", len(e.Alerts), e.Err)
}

func (e *RefusedError) Unwrap() error { return e.Err }

// Refused returns a permanent *RefusedError for the alerts at indices, or
// nil when there are none.
func Refused(indices []int, first error) error {
	if len(indices) == 0 {
		return nil
	}
	return Permanent(&RefusedError{Alerts: indices, Err: first})
}
