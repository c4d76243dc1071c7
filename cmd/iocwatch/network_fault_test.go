package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/stream/kafka/embedded"
)

// The network between iocwatch and a sink is cut and restored by a TCP
// proxy on loopback: while it is down it resets every connection and
// refuses new ones.

// cutProxy forwards TCP connections to target; Cut breaks them.
//
// A cut breaks the path with data in flight, in one of two ways:
//
//   - closed (FIN), as a middlebox or a restarting collector does: the proxy
//     stops forwarding but keeps taking whatever iocwatch writes until
//     iocwatch notices the close and hangs up;
//   - reset (RST), as a broken path does: for 100 ms the proxy still takes
//     what iocwatch writes without forwarding it, then resets.
//
// Towards the receiver it closes gracefully, so that the receiver keeps
// whatever was forwarded before the cut. The proxy keeps every byte each
// client sent and how many of them it forwarded (a prefix): what the
// network lost is the rest (with a reset, also whatever iocwatch wrote in
// the microseconds between the proxy's last read and the reset, which no
// one sees). While the path is down the proxy's port is closed, so
// connecting fails (a real cut would let it time out instead).
type cutProxy struct {
	reset bool // cut with RST instead of FIN
	// maxFrames is the most syslog frames one read ever returned: about
	// the most one write of iocwatch carries.
	maxFrames int
	addr      string
	lnMu      sync.Mutex
	ln        net.Listener
	target    string
	down      atomic.Bool
	mu        sync.Mutex
	pairs     map[*proxyPair]bool
	all       []*proxyPair // every connection, for the accounting
	wg        sync.WaitGroup
}

type proxyPair struct {
	client, up *net.TCPConn
	sent       []byte // every byte the client sent (guarded by cutProxy.mu)
	forwarded  int    // how many of them reached the receiver: a prefix
}

func startCutProxy(t *testing.T, target string, withReset bool) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{reset: withReset, ln: ln, addr: ln.Addr().String(), target: target, pairs: map[*proxyPair]bool{}}
	p.wg.Add(1)
	go p.accept(ln)
	t.Cleanup(func() {
		p.Cut()
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) Addr() string { return p.addr }

func (p *cutProxy) accept(ln net.Listener) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		client := c.(*net.TCPConn)
		if p.down.Load() {
			reset(client)
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			reset(client)
			continue
		}
		pair := &proxyPair{client: client, up: up.(*net.TCPConn)}
		p.mu.Lock()
		p.pairs[pair] = true
		p.all = append(p.all, pair)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.forward(pair)
		go p.backward(pair)
	}
}

// reset closes c with an RST, as a broken network path does.
func reset(c *net.TCPConn) {
	c.SetLinger(0)
	c.Close()
}

// forward copies client → receiver until the connection ends or is cut.
func (p *cutProxy) forward(pair *proxyPair) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := pair.client.Read(buf)
		if n > 0 {
			ok := !p.down.Load()
			if ok {
				_, werr := pair.up.Write(buf[:n])
				ok = werr == nil
			}
			p.mu.Lock()
			if ok && pair.forwarded == len(pair.sent) {
				pair.forwarded += n
			}
			pair.sent = append(pair.sent, buf[:n]...)
			p.maxFrames = max(p.maxFrames, strings.Count(string(buf[:n]), "CEF:0|"))
			p.mu.Unlock()
		}
		if err != nil {
			reset(pair.client)
			pair.up.CloseWrite() // the receiver reads what it got, then EOF
			p.mu.Lock()
			delete(p.pairs, pair)
			p.mu.Unlock()
			return
		}
	}
}

// backward copies receiver → client (syslog and HTTP answers).
func (p *cutProxy) backward(pair *proxyPair) {
	defer p.wg.Done()
	io.Copy(pair.client, pair.up)
	pair.up.Close()
}

// lostFrames returns the alerts of the octet-counted syslog frames that
// iocwatch wrote into a connection but that did not wholly reach the
// receiver.
func (p *cutProxy) lostFrames() []sink.Alert {
	p.mu.Lock()
	defer p.mu.Unlock()
	var lost []sink.Alert
	for _, pair := range p.all {
		off := 0
		for off < len(pair.sent) {
			sp := strings.IndexByte(string(pair.sent[off:]), ' ')
			if sp < 0 {
				break
			}
			n, err := strconv.Atoi(string(pair.sent[off : off+sp]))
			if err != nil {
				break
			}
			end := off + sp + 1 + n
			frame := pair.sent[off+sp+1 : min(end, len(pair.sent))]
			if end > pair.forwarded {
				if a, ok := parseCEFFrame(string(frame)); ok {
					lost = append(lost, a)
				}
			}
			off = end
		}
	}
	return lost
}

// Cut closes the port and breaks every connection until Restore.
func (p *cutProxy) Cut() {
	p.down.Store(true)
	p.lnMu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	p.lnMu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	for pair := range p.pairs {
		if p.reset {
			pair.client.SetReadDeadline(time.Now().Add(100 * time.Millisecond)) // then reset
			continue
		}
		pair.client.CloseWrite()
		pair.client.SetReadDeadline(time.Now().Add(15 * time.Second)) // then reset
	}
}

// Restore opens the port again.
func (p *cutProxy) Restore(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
	}
	p.lnMu.Lock()
	p.ln = ln
	p.lnMu.Unlock()
	p.down.Store(false)
	p.wg.Add(1)
	go p.accept(ln)
}

// alertBox collects the alerts a receiver got, by arrival.
type alertBox struct {
	mu     sync.Mutex
	alerts []sink.Alert
}

func (b *alertBox) add(a ...sink.Alert) {
	b.mu.Lock()
	b.alerts = append(b.alerts, a...)
	b.mu.Unlock()
}

func (b *alertBox) all() []sink.Alert {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]sink.Alert(nil), b.alerts...)
}

// webhookReceiver is a SOAR endpoint that takes batched JSON alerts.
func webhookReceiver(t *testing.T, box *alertBox, delay func() time.Duration) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var alerts []sink.Alert
		if err := json.NewDecoder(r.Body).Decode(&alerts); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if delay != nil {
			if d := delay(); d > 0 {
				select {
				case <-time.After(d):
				case <-r.Context().Done():
					return
				}
			}
		}
		box.add(alerts...)
	}))
	t.Cleanup(srv.Close)
	return srv
}

var (
	cefDevice = regexp.MustCompile(`deviceExternalId=(\S+)`)
	cefReport = regexp.MustCompile(`cn3=(\d+)`)
	cefID     = regexp.MustCompile(`externalId=(\S+)`)
)

// syslogReceiver is a collector of RFC 6587 octet-counted frames with CEF
// payloads; it keeps what identifies each alert.
func syslogReceiver(t *testing.T, box *alertBox) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				readFrames(c, func(a sink.Alert) { box.add(a) })
			}()
		}
	}()
	return ln.Addr().String()
}

// readFrames reads octet-counted frames until the connection ends and
// hands over the alert of every whole frame as it arrives.
func readFrames(r io.Reader, got func(sink.Alert)) {
	br := bufio.NewReader(r)
	for {
		lenText, err := br.ReadString(' ')
		if err != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(lenText))
		if err != nil || n <= 0 || n > 1<<20 {
			return
		}
		frame := make([]byte, n)
		if _, err := io.ReadFull(br, frame); err != nil {
			return // a partial frame: lost in the cut
		}
		if a, ok := parseCEFFrame(string(frame)); ok {
			got(a)
		}
	}
}

func parseCEFFrame(f string) (sink.Alert, bool) {
	d, r, id := cefDevice.FindStringSubmatch(f), cefReport.FindStringSubmatch(f), cefID.FindStringSubmatch(f)
	if d == nil || r == nil || id == nil {
		return sink.Alert{}, false
	}
	report, _ := strconv.ParseInt(r[1], 10, 64)
	return sink.Alert{DeviceID: d[1], ReportID: report, AlertID: id[1]}, true
}

const sinkFaultConfig = `
source:
  type: kafka
  kafka:
    brokers: ["{{BROKER}}"]
    topics: [defender]
    group: fault
    max_wait: 200ms
feeds:
  - {name: sample, path: "{{FEED}}", format: text}
exclusions_files: ["{{EXCLUSIONS}}"]
suppression: {window: 0s}
sinks:
{{SINK}}
metrics: {enabled: false}
`

// streamScenario starts a broker and a producer, runs one watcher with
// cfgSink as its only sink, calls during(t) while the stream flows, then
// waits for cond and stops the watcher gracefully.
type streamScenario struct {
	b     *embedded.Broker
	ps    *plantedStream
	stop  chan struct{}
	w     *faultProc
	cfg   string
	began time.Time
}

func startStreamScenario(t *testing.T, cfgSink string, seed int64) *streamScenario {
	t.Helper()
	return startStreamScenarioWithFeed(t, assetPath(t, "sample-feed.txt"), cfgSink, seed)
}

// startStreamScenarioWithFeed is startStreamScenario with the sample
// feed's indicators read from feedPath.
func startStreamScenarioWithFeed(t *testing.T, feedPath, cfgSink string, seed int64) *streamScenario {
	t.Helper()
	b, err := embedded.Start(embedded.BrokerOptions{Topics: []embedded.Topic{{Name: "defender", Partitions: 4}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, sinkFaultConfig, map[string]string{
		"BROKER": b.Addr(), "FEED": feedPath, "EXCLUSIONS": assetPath(t, "exclusions.yaml"),
		"SINK": cfgSink,
	})
	sc := &streamScenario{b: b, stop: make(chan struct{}), cfg: cfg}
	sc.ps = produceUntil(t, sampleGenerator(t, seed), sc.stop, func(ctx context.Context, group int, msgs [][]byte) error {
		for i, m := range msgs {
			if err := b.Produce(ctx, "defender", int32((group*len(msgs)+i)%4), m); err != nil {
				return err
			}
		}
		return nil
	})
	t.Cleanup(sc.stopProducing)
	iocwatchBinary(t)
	sc.began = time.Now()
	sc.w = startIocwatch(t, nil, "run", "-c", cfg)
	return sc
}

func (sc *streamScenario) stopProducing() {
	select {
	case <-sc.stop:
	default:
		close(sc.stop)
	}
	<-sc.ps.done
}

// finish stops producing, waits until box holds every planted hit (or d
// passes: the caller checks what is missing), and stops the watcher with
// SIGTERM, which must succeed.
func (sc *streamScenario) finish(t *testing.T, box *alertBox, d time.Duration) {
	t.Helper()
	sc.finishCommitted(t, box, d, false)
}

// finishCommitted is finish that, with committed, also waits (within d)
// until every offset is committed before the stop, and checks that the
// graceful stop leaves them so.
func (sc *streamScenario) finishCommitted(t *testing.T, box *alertBox, d time.Duration, committed bool) {
	t.Helper()
	sc.stopProducing()
	if sc.ps.err != nil {
		t.Fatal(sc.ps.err)
	}
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && !sc.w.exited() {
		if ok, _ := sc.ps.allAlerted(box.all()); ok {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if committed {
		waitAllCommitted(t, sc.b, "fault", "defender", time.Until(deadline)+5*time.Second)
	}
	if code := sc.w.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("the watcher exited with %d", code)
	}
}

var cutModes = []struct {
	name  string
	reset bool
}{
	{"closed by the peer", false},
	{"reset", true},
}

// A webhook whose network path is cut twice for two seconds mid-stream:
// retries and back-pressure hold the stream, nothing is lost, and the
// duplicates are the batches re-sent after a cut.
func TestAWebhookBehindACutNetworkLosesNoAlert(t *testing.T) {
	for _, mode := range cutModes {
		t.Run(mode.name, func(t *testing.T) {
			box := &alertBox{}
			srv := webhookReceiver(t, box, nil)
			proxy := startCutProxy(t, strings.TrimPrefix(srv.URL, "http://"), mode.reset)
			sc := startStreamScenario(t, fmt.Sprintf(`  - name: soar
    type: webhook
    webhook: {url: "http://%s/alerts", batch: true, timeout: 2s}
    retry: {initial: 50ms, max: 500ms}`, proxy.Addr()), 7)
			faultWait(t, 20*time.Second, "the first alerts", func() (bool, string) { n := len(box.all()); return n >= 20, fmt.Sprint(n) })
			for range 2 {
				proxy.Cut()
				time.Sleep(2 * time.Second)
				proxy.Restore(t)
				time.Sleep(time.Second)
			}
			stopped := time.Now()
			sc.finish(t, box, 25*time.Second)
			r := checkAlerts(t, sc.ps, box.all())
			t.Logf("FAULT webhook network %s 2×2s; caught up %s after the stream stopped: %d messages (%d records), %d planted hits, %d alerts, %d unique, %d duplicates, %d missing",
				mode.name, time.Since(stopped).Round(time.Millisecond), sc.ps.messages, sc.ps.records, r.planted, r.alerts, r.unique, r.duplicates, r.missing)
		})
	}
}

// The same cuts in front of a syslog collector. Syslog has no
// acknowledgement: an alert counts as delivered once written to the
// socket. When the collector closes, the sink sees it before its next
// write and nothing is lost. When the path is reset, the frames in flight
// are lost — by the network, after iocwatch handed them over. The test
// checks that every alert the collector lacks is one the network dropped
// (the proxy took it from iocwatch and did not forward it; with a reset, at
// most one write per cut can vanish unseen between the proxy's last read
// and the reset), that the sink reconnects after each cut, that everything
// after the last cut arrives, and reports the loss.
func TestASyslogCollectorBehindACutNetworkLosesOnlyFramesInFlight(t *testing.T) {
	for _, mode := range cutModes {
		t.Run(mode.name, func(t *testing.T) {
			box := &alertBox{}
			proxy := startCutProxy(t, syslogReceiver(t, box), mode.reset)
			sc := startStreamScenario(t, fmt.Sprintf(`  - name: siem
    type: syslog
    syslog: {address: "%s"}
    retry: {initial: 50ms, max: 500ms}`, proxy.Addr()), 8)
			faultWait(t, 20*time.Second, "the first alerts", func() (bool, string) { n := len(box.all()); return n >= 20, fmt.Sprint(n) })
			const cuts = 3
			var afterCuts int64 // planted ReportIds above this were produced after the last cut
			for range cuts {
				proxy.Cut()
				time.Sleep(1500 * time.Millisecond)
				proxy.Restore(t)
				time.Sleep(time.Second)
			}
			sc.ps.mu.Lock()
			for k := range sc.ps.real {
				afterCuts = max(afterCuts, k.report)
			}
			sc.ps.mu.Unlock()
			time.Sleep(time.Second)
			sc.finish(t, box, 5*time.Second) // the frames lost in flight never come

			got := box.all()
			seen := map[hitKey]bool{}
			for _, a := range got {
				seen[hitKey{a.DeviceID, a.ReportID}] = true
			}
			droppedByNet := map[hitKey]bool{}
			for _, a := range proxy.lostFrames() {
				droppedByNet[hitKey{a.DeviceID, a.ReportID}] = true
			}
			sc.ps.mu.Lock()
			var missing, unseen, late int
			for k := range sc.ps.real {
				if seen[k] {
					continue
				}
				missing++
				if !droppedByNet[k] {
					unseen++
				}
				if k.report > afterCuts {
					late++
				}
			}
			planted := len(sc.ps.real)
			sc.ps.mu.Unlock()
			byID := map[string]int{}
			for _, a := range got {
				byID[a.AlertID]++
			}
			t.Logf("FAULT syslog network %s %d×1.5s: %d planted hits, %d frames received, %d duplicates, %d lost: %d seen dropped in flight by the network, %d unseen",
				mode.name, cuts, planted, len(got), len(got)-len(byID), missing, missing-unseen, unseen)
			if late > 0 {
				t.Errorf("%d planted hits produced after the last cut never arrived: the sink did not recover", late)
			}
			proxy.mu.Lock()
			perWrite := proxy.maxFrames
			proxy.mu.Unlock()
			// A clean close between two writes loses nothing: the sink sees
			// it before writing. A close that crosses a write (the FIN on its
			// way while the frames are) loses that write: TCP syslog has no
			// acknowledgement. So at most one write per close, and only
			// frames the network saw arrive after the close.
			if !mode.reset && (unseen > 0 || missing > cuts*perWrite) {
				t.Errorf("%d alerts lost although the collector closed cleanly (%d not seen by the network; at most one write of %d frames per close may cross the close)", missing, unseen, perWrite)
			}
			if mode.reset && unseen > cuts*perWrite {
				t.Errorf("%d planted hits missing that the network was not seen to drop (more than one write of at most %d frames per reset): lost inside iocwatch", unseen, perWrite)
			}
		})
	}
}
