package sink

import (
	"errors"
	"fmt"
	"slices"
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
// WithDeadLetter files only the refused ones, each with its own reason.
// Sinks return it marked permanent, through Refusals.
type RefusedError struct {
	// Alerts are the refused alerts' indices in the slice given to Write,
	// ascending.
	Alerts []int
	// Reasons[i] is why Alerts[i] was refused; alerts sent in one request
	// share its error.
	Reasons []error
}

func (e *RefusedError) Error() string {
	if len(e.Reasons) == 0 {
		return fmt.Sprintf("%d alerts refused", len(e.Alerts))
	}
	if len(e.Alerts) == 1 {
		return e.Reasons[0].Error()
	}
	return fmt.Sprintf("%d alerts refused; the first: %v", len(e.Alerts), e.Reasons[0])
}

// Unwrap returns the reasons, for errors.Is and errors.As.
func (e *RefusedError) Unwrap() []error { return e.Reasons }

// Reason returns why the i-th refused alert (Alerts[i]) was refused.
func (e *RefusedError) Reason(i int) error {
	if i < len(e.Reasons) {
		return e.Reasons[i]
	}
	return e
}

// Refusals collects the alerts of one Write that a sink refused for good,
// each with its reason. The zero value is empty and ready to use.
type Refusals struct {
	alerts  []int
	reasons []error
}

// Add records that the alert at index i was refused because of err.
func (r *Refusals) Add(i int, err error) {
	r.alerts = append(r.alerts, i)
	r.reasons = append(r.reasons, err)
}

// Err returns a permanent *RefusedError for the alerts added, in index
// order, or nil when none was.
func (r *Refusals) Err() error {
	if len(r.alerts) == 0 {
		return nil
	}
	order := make([]int, len(r.alerts))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return r.alerts[a] - r.alerts[b] })
	e := &RefusedError{Alerts: make([]int, len(order)), Reasons: make([]error, len(order))}
	for k, i := range order {
		e.Alerts[k], e.Reasons[k] = r.alerts[i], r.reasons[i]
	}
	return Permanent(e)
}
