package main

import (
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// brokerFault makes the embedded broker fail requests of one key (or every
// request, key -1) by closing the client's connection, for as long as it
// is on. kfake cannot restart on the same port; a broker that resets every
// connection is what a client sees of one that restarts.
type brokerFault struct {
	on    atomic.Bool
	hits  atomic.Int64
	key   int16
	added bool
}

func (f *brokerFault) install(c *kfake.Cluster) {
	fn := func(kmsg.Request) (kmsg.Response, error, bool) {
		if !f.on.Load() {
			c.DropControl()
			return nil, nil, false
		}
		c.KeepControl()
		f.hits.Add(1)
		return nil, errors.New("injected broker fault"), true
	}
	if f.key < 0 {
		c.Control(fn)
	} else {
		c.ControlKey(f.key, fn)
	}
}

// While a watcher consumes, the broker fails fetches, then offset commits,
// then every request (as if it restarted), each for a while: the watcher
// rides it out, every planted hit is alerted, and every offset is
// committed before the graceful stop.
func TestAKafkaWatcherRidesOutFailingFetchesCommitsAndABrokerRestart(t *testing.T) {
	box := &alertBox{}
	srv := webhookReceiver(t, box, nil)
	sc := startStreamScenario(t, fmt.Sprintf(`  - name: soar
    type: webhook
    webhook: {url: "%s/alerts", batch: true}
    retry: {initial: 50ms, max: 500ms}`, srv.URL), 11)
	faultWait(t, 20*time.Second, "the first alerts", func() (bool, string) { n := len(box.all()); return n >= 20, fmt.Sprint(n) })
	c := sc.b.Cluster()
	phases := []struct {
		name string
		key  int16
		d    time.Duration
	}{
		{"fetch", int16(kmsg.Fetch), 2 * time.Second},
		{"offset commit", int16(kmsg.OffsetCommit), 2500 * time.Millisecond},
		{"every request", -1, 2 * time.Second},
	}
	var report []string
	for _, ph := range phases {
		f := &brokerFault{key: ph.key}
		f.on.Store(true)
		f.install(c)
		before := len(box.all())
		time.Sleep(ph.d)
		f.on.Store(false)
		during := len(box.all()) - before
		time.Sleep(time.Second) // recover before the next phase
		report = append(report, fmt.Sprintf("%s failing %s: %d requests refused, %d alerts meanwhile", ph.name, ph.d, f.hits.Load(), during))
		if f.hits.Load() == 0 {
			t.Errorf("phase %q refused no request: the fault was not exercised", ph.name)
		}
	}
	stopped := time.Now()
	// A fault that lands in the middle of a group join can leave the
	// coordinator waiting for the lost join's member: consumption resumes
	// after the rebalance timeout (30 s), as with any Kafka client.
	sc.finishCommitted(t, box, 45*time.Second, true)
	r := checkAlerts(t, sc.ps, box.all())
	t.Logf("FAULT kafka broker faults (%v); caught up %s after the stream stopped: %d messages (%d records), %d planted hits, %d alerts, %d unique, %d duplicates, %d missing",
		report, time.Since(stopped).Round(time.Millisecond), sc.ps.messages, sc.ps.records, r.planted, r.alerts, r.unique, r.duplicates, r.missing)
}

// A second watcher joins the group while the first one's sink takes 3 s a
// request: the partitions move mid-delivery, the first watcher's late
// acknowledgements are not committed (its generation ended), the second
// re-reads them, and every planted hit is alerted — some twice.
func TestARebalanceWhileASinkIsSlowLosesNoAlert(t *testing.T) {
	box := &alertBox{}
	var slow atomic.Bool
	slowSrv := webhookReceiver(t, box, func() time.Duration {
		if slow.Load() {
			return 3 * time.Second
		}
		return 0
	})
	fastSrv := webhookReceiver(t, box, nil)
	sinkOf := func(url string) string {
		return fmt.Sprintf(`  - name: soar
    type: webhook
    webhook: {url: "%s/alerts", batch: true, timeout: 10s}
    retry: {initial: 50ms, max: 500ms}`, url)
	}
	sc := startStreamScenario(t, sinkOf(slowSrv.URL), 12)
	faultWait(t, 20*time.Second, "the first alerts", func() (bool, string) { n := len(box.all()); return n >= 20, fmt.Sprint(n) })
	slow.Store(true)
	time.Sleep(500 * time.Millisecond) // a slow request is under way
	dir := t.TempDir()
	cfg2 := writeConfig(t, dir, sinkFaultConfig, map[string]string{
		"BROKER": sc.b.Addr(), "FEED": assetPath(t, "sample-feed.txt"), "EXCLUSIONS": assetPath(t, "exclusions.yaml"),
		"SINK": sinkOf(fastSrv.URL),
	})
	w2 := startIocwatch(t, nil, "run", "-c", cfg2)
	faultWait(t, 20*time.Second, "the rebalance", func() (bool, string) {
		return memberRE.MatchString(w2.stderr.String()), "the second watcher has not joined"
	})
	time.Sleep(3 * time.Second)
	slow.Store(false)
	time.Sleep(time.Second)
	stopped := time.Now()
	sc.stopProducing()
	if code := w2.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("the second watcher exited with %d", code)
	}
	sc.finish(t, box, 25*time.Second) // the first watcher takes every partition back
	r := checkAlerts(t, sc.ps, box.all())
	t.Logf("FAULT kafka rebalance with a 3 s sink: caught up %s after the stream stopped: %d messages (%d records), %d planted hits, %d alerts, %d unique, %d duplicates, %d missing",
		time.Since(stopped).Round(time.Millisecond), sc.ps.messages, sc.ps.records, r.planted, r.alerts, r.unique, r.duplicates, r.missing)
}
