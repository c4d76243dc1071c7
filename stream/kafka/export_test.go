package kafka

import "time"

// WithJoinBackoff returns o with the wait after a failed group join set
// to d (kafka-go's 5s makes a test of repeated failures slow).
func WithJoinBackoff(o Options, d time.Duration) Options {
	o.joinBackoff = d
	return o
}

// WithTopicCheckInterval returns o with the interval of the periodic check
// of the topics' ids set to d.
func WithTopicCheckInterval(o Options, d time.Duration) Options {
	o.topicCheck = d
	return o
}
