package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/internal/syncbuf"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/iocwatch/iocwatch/bench/gen"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/stream/kafka/embedded"
)

// Fault tests with real processes: the iocwatch binary, built once per test
// run, is started with a config, killed with SIGKILL mid-stream and
// restarted, while the test process hosts the source (the embedded Kafka
// broker) and produces a seeded stream from bench/gen whose planted hits are
// known. Every planted hit must be alerted at least once across both runs;
// the duplicates (the at-least-once window) are counted and logged, and
// docs/reliability.md quotes them.

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// iocwatchBinary builds the command once per test run and returns its path.
func iocwatchBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "iocwatch-fault-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "iocwatch")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// faultProc is a running iocwatch process.
type faultProc struct {
	cmd    *exec.Cmd
	stderr *syncbuf.Buffer
	stdout *syncbuf.Buffer
	done   chan struct{}
	state  *os.ProcessState
}

// startIocwatch runs the binary with args; the process is killed when the
// test ends if it is still running.
func startIocwatch(t *testing.T, env []string, args ...string) *faultProc {
	t.Helper()
	p := &faultProc{cmd: exec.Command(iocwatchBinary(t), args...), stderr: &syncbuf.Buffer{}, stdout: &syncbuf.Buffer{}, done: make(chan struct{})}
	p.cmd.Stderr, p.cmd.Stdout = p.stderr, p.stdout
	p.cmd.Env = append(os.Environ(), env...)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("iocwatch %s stderr:\n%s", strings.Join(args, " "), lastBytes(p.stderr.String(), 4000))
		}
	})
	return p
}

func lastBytes(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// stop sends sig and waits (at most 30 s) for the process to end; it
// returns the exit code (-1 for a signal).
func (p *faultProc) stop(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("iocwatch did not stop within 30 s of %v", sig)
	}
	return p.state.ExitCode()
}

// exited reports whether the process has ended.
func (p *faultProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// readAlertFile parses a JSON-lines alert file; a partial or broken line
// fails the test.
func readAlertFile(t *testing.T, path string) []sink.Alert {
	t.Helper()
	return parseAlertFile(t, path, false)
}

// readAlertFileLive is readAlertFile for polling a file a running watcher
// writes to: the alerts of its complete lines. A write in progress may be
// seen in part (Linux does not make a write to a regular file atomic for
// a concurrent reader), so bytes after the last newline are left for the
// next poll; a complete line that is broken still fails the test.
func readAlertFileLive(t *testing.T, path string) []sink.Alert {
	t.Helper()
	return parseAlertFile(t, path, true)
}

func parseAlertFile(t *testing.T, path string, live bool) []sink.Alert {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if live {
		data = data[:bytes.LastIndexByte(data, '\n')+1]
	}
	var out []sink.Alert
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 16<<20)
	for n := 1; sc.Scan(); n++ {
		var a sink.Alert
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("%s:%d is not a whole alert (%v): %.120s", path, n, err, sc.Text())
		}
		out = append(out, a)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatalf("%s ends with a partial line", path)
	}
	return out
}

type hitKey struct {
	device string
	report int64
}

// plantedStream produces a seeded stream, in groups of messages spread
// over the partitions, until stop is closed, and remembers the planted hits.
type plantedStream struct {
	mu       sync.Mutex
	real     map[hitKey]bool
	excluded map[hitKey]bool
	messages int
	records  int64
	done     chan struct{}
	err      error
}

// sampleIndicators are the shipped sample feed's indicators, which the
// configs below load from assets/sample-feed.txt.
func sampleGenerator(t *testing.T, seed int64) *gen.Generator {
	t.Helper()
	inds, err := genIndicators(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	return gen.New(gen.Options{Seed: seed, HitRatio: 0.02, ExcludedRatio: 0.2, Indicators: inds, RecordsPerMessage: 8,
		Start: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)})
}

// produceUntil runs send(msgs) with groups of 16 generated messages every
// 25 ms (about 5000 records/s) until stop is closed.
func produceUntil(t *testing.T, g *gen.Generator, stop <-chan struct{}, send func(ctx context.Context, group int, msgs [][]byte) error) *plantedStream {
	t.Helper()
	ps := &plantedStream{real: map[hitKey]bool{}, excluded: map[hitKey]bool{}, done: make(chan struct{})}
	go func() {
		defer close(ps.done)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		for group := 0; ; group++ {
			select {
			case <-stop:
				return
			case <-time.After(25 * time.Millisecond):
			}
			msgs := make([][]byte, 16)
			ps.mu.Lock()
			for i := range msgs {
				var planted []gen.Planted
				msgs[i], planted = g.Next(nil)
				for _, p := range planted {
					k := hitKey{p.DeviceID, p.ReportID}
					if p.Excluded {
						ps.excluded[k] = true
					} else {
						ps.real[k] = true
					}
				}
			}
			ps.messages += len(msgs)
			ps.records = g.Records()
			ps.mu.Unlock()
			// The producer is not under test: while the broker refuses it
			// (a fault test), it retries.
			for {
				err := send(ctx, group, msgs)
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					ps.err = err
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}()
	return ps
}

// faultReport is what one fault test measured, for docs/reliability.md.
type faultReport struct {
	planted, excluded, alerts, unique, duplicates, missing int
}

// checkAlerts checks the alerts against the planted hits: every real hit
// alerted at least once, no excluded look-alike alerted, nothing else
// alerted; it counts duplicates by alert_id.
func checkAlerts(t *testing.T, ps *plantedStream, alerts []sink.Alert) faultReport {
	t.Helper()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	byID := map[string]int{}
	seen := map[hitKey]bool{}
	for _, a := range alerts {
		byID[a.AlertID]++
		k := hitKey{a.DeviceID, a.ReportID}
		seen[k] = true
		if ps.excluded[k] {
			t.Errorf("excluded look-alike %v was alerted", k)
		} else if !ps.real[k] {
			t.Errorf("alert %v is not a planted hit", k)
		}
	}
	r := faultReport{planted: len(ps.real), excluded: len(ps.excluded), alerts: len(alerts), unique: len(byID)}
	for _, n := range byID {
		r.duplicates += n - 1
	}
	for k := range ps.real {
		if !seen[k] {
			r.missing++
			if r.missing <= 10 {
				t.Errorf("planted hit %v was never alerted", k)
			}
		}
	}
	return r
}

// allAlerted reports whether every planted hit so far is in alerts.
func (ps *plantedStream) allAlerted(alerts []sink.Alert) (bool, int) {
	seen := map[hitKey]bool{}
	for _, a := range alerts {
		seen[hitKey{a.DeviceID, a.ReportID}] = true
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	missing := 0
	for k := range ps.real {
		if !seen[k] {
			missing++
		}
	}
	return missing == 0, missing
}

// waitFor polls cond every 50 ms until it holds, failing after d.
func faultWait(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s (%s)", d, what, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitAllCommitted waits until group has committed, on every partition of
// topic, the offset after its last message: the watcher consumed and
// acknowledged everything.
func waitAllCommitted(t *testing.T, b *embedded.Broker, group, topic string, d time.Duration) {
	t.Helper()
	faultWait(t, d, "every offset committed", func() (bool, string) {
		committed, err := b.Committed(t.Context(), group, topic)
		if err != nil {
			return false, err.Error()
		}
		hw := b.HighWatermarks(topic)
		for p, h := range hw {
			if committed[p] != h {
				return false, fmt.Sprintf("committed %v of %v", committed, hw)
			}
		}
		return true, ""
	})
}

// writeConfig writes a config file from a template whose {{KEY}} markers
// are replaced by vars.
func writeConfig(t *testing.T, dir, tmpl string, vars map[string]string) string {
	t.Helper()
	for k, v := range vars {
		tmpl = strings.ReplaceAll(tmpl, "{{"+k+"}}", v)
	}
	p := filepath.Join(dir, "iocwatch.yaml")
	if err := os.WriteFile(p, []byte(tmpl), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func assetPath(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("assets", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const kafkaFaultConfig = `
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
  - name: alerts
    type: file
    file: {path: "{{ALERTS}}"}
pipeline: {dead_letter: "{{DEAD}}"}
metrics: {enabled: false}
`

var memberRE = regexp.MustCompile(`member=(\S+)`)

// evictMembers sends the group coordinator a LeaveGroup for every member
// id a killed watcher logged: what the coordinator does by itself once the
// session timeout (30 s by default) passes without a heartbeat. The test
// does it at once so that it takes seconds.
func evictMembers(t *testing.T, b *embedded.Broker, group, stderr string) {
	t.Helper()
	ids := map[string]bool{}
	for _, m := range memberRE.FindAllStringSubmatch(stderr, -1) {
		ids[m[1]] = true
	}
	if len(ids) == 0 {
		t.Fatalf("the killed watcher never logged its member id:\n%s", stderr)
	}
	req := &kafkago.LeaveGroupRequest{GroupID: group}
	for id := range ids {
		req.Members = append(req.Members, kafkago.LeaveGroupRequestMember{ID: id})
	}
	c := &kafkago.Client{Addr: kafkago.TCP(b.Addr()), Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.LeaveGroup(ctx, req); err != nil {
		t.Fatalf("evicting %v: %v", ids, err)
	}
}

// A watcher consuming Kafka is stopped mid-stream — by SIGKILL (no final
// commit, no flush) or by SIGTERM (graceful) — and restarted with the same
// config while the stream goes on: every planted hit is alerted at least
// once across the two runs. After SIGTERM nothing is alerted twice; after
// SIGKILL the alerts of the messages delivered but not yet committed (at
// most commit_interval, 1 s, of stream) are alerted again.
func TestAKafkaWatcherStoppedMidStreamAndRestartedAlertsEveryPlantedHit(t *testing.T) {
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
	}{
		{"killed with SIGKILL", syscall.SIGKILL},
		{"stopped with SIGTERM", syscall.SIGTERM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := embedded.Start(embedded.BrokerOptions{Topics: []embedded.Topic{{Name: "defender", Partitions: 4}}})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			dir := t.TempDir()
			alerts := filepath.Join(dir, "alerts.jsonl")
			cfg := writeConfig(t, dir, kafkaFaultConfig, map[string]string{
				"BROKER": b.Addr(), "FEED": assetPath(t, "sample-feed.txt"), "EXCLUSIONS": assetPath(t, "exclusions.yaml"),
				"ALERTS": alerts, "DEAD": filepath.Join(dir, "dead.jsonl"),
			})
			stop := make(chan struct{})
			ps := produceUntil(t, sampleGenerator(t, 42), stop, func(ctx context.Context, group int, msgs [][]byte) error {
				for i, m := range msgs {
					if err := b.Produce(ctx, "defender", int32((group*len(msgs)+i)%4), m); err != nil {
						return err
					}
				}
				return nil
			})
			defer func() {
				select {
				case <-stop:
				default:
					close(stop)
				}
				<-ps.done
			}()

			iocwatchBinary(t) // built before the clock starts
			began := time.Now()
			w1 := startIocwatch(t, nil, "run", "-c", cfg)
			// Stop it once it has alerted for a while: past several commit
			// intervals, so that some offsets are committed and some not.
			var firstAlert time.Time
			faultWait(t, 20*time.Second, "the first watcher's alerts", func() (bool, string) {
				n := len(readAlertFileLive(t, alerts))
				if n > 0 && firstAlert.IsZero() {
					firstAlert = time.Now()
				}
				return (n >= 40 && time.Since(firstAlert) > 2500*time.Millisecond) || w1.exited(), fmt.Sprintf("%d alerts", n)
			})
			t.Logf("first alert %s after start; stopping at %s", firstAlert.Sub(began).Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
			if w1.exited() {
				t.Fatalf("the first watcher exited on its own: %v", w1.state)
			}
			code := w1.stop(t, tc.sig)
			before := len(readAlertFile(t, alerts))
			if tc.sig == syscall.SIGTERM && code != 0 {
				t.Fatalf("SIGTERM: exit code %d, want 0", code)
			}
			if tc.sig == syscall.SIGKILL {
				evictMembers(t, b, "fault", w1.stderr.String())
			}

			restarted := time.Now()
			w2 := startIocwatch(t, nil, "run", "-c", cfg)
			time.Sleep(1500 * time.Millisecond) // the stream goes on across the restart
			close(stop)
			<-ps.done
			if ps.err != nil {
				t.Fatal(ps.err)
			}
			faultWait(t, 25*time.Second, "every planted hit after the restart", func() (bool, string) {
				ok, missing := ps.allAlerted(readAlertFileLive(t, alerts))
				return ok || w2.exited(), fmt.Sprintf("%d planted hits not alerted yet", missing)
			})
			t.Logf("every planted hit alerted %s after the restart", time.Since(restarted).Round(time.Millisecond))
			waitAllCommitted(t, b, "fault", "defender", 15*time.Second)
			if code := w2.stop(t, syscall.SIGTERM); code != 0 {
				t.Fatalf("the second watcher exited with %d", code)
			}
			all := readAlertFile(t, alerts)
			r := checkAlerts(t, ps, all)
			if tc.sig == syscall.SIGTERM && r.duplicates != 0 {
				t.Errorf("%d duplicates after a graceful restart, want 0", r.duplicates)
			}
			t.Logf("FAULT kafka %s: %d messages (%d records), %d planted hits (+%d excluded look-alikes), %d alerts before the stop, %d alerts in all, %d unique, %d duplicates, %d missing",
				tc.name, ps.messages, ps.records, r.planted, r.excluded, before, r.alerts, r.unique, r.duplicates, r.missing)
		})
	}
}
