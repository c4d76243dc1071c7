package sink_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// switchingFront is a load balancer in front of HEC instances, each its
// own listener: it proxies every request to the instance active when the
// request arrives, and fails over when told.
type switchingFront struct {
	active  atomic.Pointer[httputil.ReverseProxy]
	proxies []*httputil.ReverseProxy
}

func newSwitchingFront(t *testing.T, backends ...http.Handler) (*switchingFront, string) {
	t.Helper()
	f := &switchingFront{}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	for _, b := range backends {
		srv := httptest.NewServer(b)
		t.Cleanup(srv.Close)
		u, err := url.Parse(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		p := httputil.NewSingleHostReverseProxy(u)
		p.Transport = tr
		f.proxies = append(f.proxies, p)
	}
	f.active.Store(f.proxies[0])
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.active.Load().ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	return f, front.URL
}

func (f *switchingFront) failOver(to int) { f.active.Store(f.proxies[to]) }

// An acknowledgement is credited only to the request that was given its
// ackId in that count of the channel. Here A's request is numbered 0 by
// the HEC instance that takes it, whose answer the sink reads late; in
// between, the channel is counted from 0 again — Splunk restarts, or the
// load balancer fails over to another instance, which never had the
// channel — and B's first request is given ackId 0 too, B's second is
// refused (server busy) and B's Write ends, retryably, without waiting
// for its acknowledgement. Then A's answer, ackId 0, comes, and HEC
// reports ackId 0 indexed: B's events, not A's, which the restart lost or
// the other instance holds. A must not take that for its own: it fails
// retryably, and its retry has its events indexed.
func TestHECAckAcrossAFailoverIsCreditedOnlyToItsOwnRequest(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failover bool // two instances behind a load balancer; else one that restarts
	}{
		{"Splunk restarts", false},
		{"the load balancer fails over to another instance", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := sinktest.Alerts(1, 110), sinktest.Alerts(2, 111)
			aNumbered, releaseA := make(chan struct{}), make(chan struct{})
			var aOnce, bOnce sync.Once // not their retries
			first, second := &resettingHEC{}, &resettingHEC{}
			first.answer = func(w http.ResponseWriter, f string, _ int64) bool {
				if f == a[0].AlertID {
					aOnce.Do(func() {
						close(aNumbered)
						<-releaseA // the answer is read late
					})
				}
				return false // answered with its ackId
			}
			after := second // the instance that numbers B's requests
			var url string
			var front *switchingFront
			if tc.failover {
				front, url = newSwitchingFront(t, first, second)
			} else {
				after = first
				srv := httptest.NewServer(first)
				t.Cleanup(srv.Close)
				url = srv.URL
			}
			after.refuse = func(w http.ResponseWriter, f string) (done bool) {
				if f == b[1].AlertID {
					bOnce.Do(func() {
						hecAnswer(w, 503, `{"text":"Server is busy","code":9}`)
						done = true
					})
				}
				return done
			}
			h, err := sink.NewHEC(sink.HECOptions{URL: url, Token: "tok", Ack: true, MaxBatchBytes: 1, Timeout: 5 * time.Second, AckTimeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = h.Close(context.Background()) })

			aDone := writeAsync(context.Background(), h, a)
			<-aNumbered
			if tc.failover {
				front.failOver(1)
			} else {
				first.restart()
			}
			bErr := h.Write(context.Background(), b)
			close(releaseA)
			aErr := <-aDone
			if !isRetryable(bErr) {
				t.Errorf("B, its second request refused busy = %v, want a retryable error", bErr)
			}
			if !isRetryable(aErr) {
				t.Fatalf("A, whose ackId the count started again gave B's request = %v (its alerts indexed: %v), want a retryable error",
					aErr, len(after.notIndexed(a)) == 0)
			}
			for _, w := range [][]sink.Alert{a, b} {
				if err := h.Write(context.Background(), w); err != nil {
					t.Fatalf("the retry = %v, want the events acknowledged", err)
				}
			}
			if miss := after.notIndexed(append(a, b...)); len(miss) > 0 {
				t.Errorf("alerts %v acknowledged but not indexed", miss)
			}
		})
	}
}
