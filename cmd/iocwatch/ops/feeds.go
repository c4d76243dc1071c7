package ops

import "time"

// FeedState is one indicator feed as the metrics and the status page show
// it. The zero value is a feed never loaded. Plain data.
type FeedState struct {
	// Name is the feed's name in the config.
	Name string
	// Indicators counts the indicators of the feed's last good load by
	// kind name ("ip", "cidr", "domain", "url", "pattern").
	Indicators map[string]int
	// LastFetch is when the feed was last loaded or fetched, successfully
	// or not; LastSuccess when that last succeeded (zero: never). A feed
	// started from its cached copy has the copy's download time (or last
	// confirmation) as LastSuccess, so that it goes stale as the copy ages.
	LastFetch, LastSuccess time.Time
	// CachedAt is set while the feed's indicators come from its cached
	// copy (the source could not be reached at start): when the copy was
	// downloaded or last confirmed. Zero otherwise.
	CachedAt time.Time
	// LastError is why the last load failed; "" when it succeeded. The
	// feed's last good indicators stay in use meanwhile.
	LastError string
	// FetchErrors counts the failed loads since the start.
	FetchErrors int64
	// LastDuration is how long the last successful load took (fetch and
	// parse); zero when unknown.
	LastDuration time.Duration
	// Interval is how often the feed is fetched; zero for a feed loaded
	// once or on file change, which is never stale.
	Interval time.Duration
	// HeldBack describes content the shrink guard holds back (the feed's
	// previous indicators stay in use until a second fetch or SIGHUP
	// confirms it); "" when none is.
	HeldBack string
}

// Stale reports whether a feed fetched on an interval has had no
// successful load for StaleFactor intervals at now.
func (f FeedState) Stale(now time.Time) bool {
	if f.Interval <= 0 {
		return false
	}
	if f.LastSuccess.IsZero() {
		return now.Sub(f.LastFetch) > StaleFactor*f.Interval && !f.LastFetch.IsZero()
	}
	return now.Sub(f.LastSuccess) > StaleFactor*f.Interval
}

// Feeds reports the state of every indicator feed, in a stable order. It
// is the seam to whatever loads the feeds (at start, or a feed manager
// that reloads them); it must be safe for concurrent use.
type Feeds interface {
	FeedStates() []FeedState
}

// FeedsFunc adapts a function to Feeds; the function must be safe for
// concurrent use.
type FeedsFunc func() []FeedState

// FeedStates calls f.
func (f FeedsFunc) FeedStates() []FeedState { return f() }

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
