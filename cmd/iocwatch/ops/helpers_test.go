package ops_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/internal/syncbuf"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/iocwatch/iocwatch/sink"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// families gathers reg into a map by metric name.
func families(t *testing.T, reg prometheus.Gatherer) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// labelString renders a metric's labels as `a="x",b="y"` in name order.
func labelString(m *dto.Metric) string {
	var parts []string
	for _, l := range m.GetLabel() {
		parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// value returns the value of the series name{labels} (labels as
// labelString renders them), and whether it exists. Histograms give their
// sample count.
func value(fams map[string]*dto.MetricFamily, name, labels string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		if labelString(m) != labels {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// logBuffer is a concurrency-safe log destination.
type logBuffer struct{ syncbuf.Buffer }

// lines returns the log lines that contain s.
func (l *logBuffer) lines(s string) []string {
	var out []string
	for _, line := range strings.Split(l.String(), "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

func newTestLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 26, 9, 15, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeSinks is a SinkStatser whose counters the test sets.
type fakeSinks struct {
	mu    sync.Mutex
	stats []sink.Stats
}

func (f *fakeSinks) SinkStats() []sink.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sink.Stats(nil), f.stats...)
}

func (f *fakeSinks) set(i int, fn func(*sink.Stats)) {
	f.mu.Lock()
	fn(&f.stats[i])
	f.mu.Unlock()
}

// fakeSuppressor is a SuppressCounter with fixed counts.
type fakeSuppressor struct{ c sink.SuppressCounts }

func (f fakeSuppressor) Counts() sink.SuppressCounts { return f.c }

// get serves one GET of url on h, with the optional request tweak, and
// returns the status, the header and the body.
func get(t *testing.T, h http.Handler, url string, tweak func(*http.Request)) (int, http.Header, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, url, nil)
	if tweak != nil {
		tweak(req)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Header(), rec.Body.String()
}
