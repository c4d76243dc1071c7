package kafka

import "time"

// WithJoinBackoff returns o with the wait after a failed group join set
// to d (kafka-go's 5s makes a test of repeated failures slow).
func WithJoinBackoff(o Options, d time.Duration) Options {
	o.joinBackoff = d
	return o
}
