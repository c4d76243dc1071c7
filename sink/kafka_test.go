package sink_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

const kafkaTestTopic = "iocwatch-alerts"

// newKfake starts an in-process single-broker cluster with the alerts topic
// (3 partitions); it is closed by t.Cleanup.
func newKfake(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(3, kafkaTestTopic)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// readTopic reads every message of every partition of the alerts topic
// with kafka-go, up to each partition's high-water mark.
func readTopic(t testing.TB, addr string, d *kafka.Dialer) map[int][]kafka.Message {
	t.Helper()
	if d == nil {
		d = &kafka.Dialer{Timeout: 10 * time.Second}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := map[int][]kafka.Message{}
	for p := 0; p < 3; p++ {
		conn, err := d.DialLeader(ctx, "tcp", addr, kafkaTestTopic, p)
		if err != nil {
			t.Fatalf("dial partition %d: %v", p, err)
		}
		last, err := conn.ReadLastOffset()
		if err != nil {
			conn.Close()
			t.Fatalf("partition %d: last offset: %v", p, err)
		}
		if last > 0 {
			if _, err := conn.Seek(0, kafka.SeekAbsolute); err != nil {
				conn.Close()
				t.Fatalf("partition %d: seek: %v", p, err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			batch := conn.ReadBatch(1, 64<<20)
			for int64(len(out[p])) < last {
				m, err := batch.ReadMessage()
				if err != nil {
					if errors.Is(err, io.EOF) && int64(len(out[p])) < last {
						batch.Close()
						batch = conn.ReadBatch(1, 64<<20)
						continue
					}
					batch.Close()
					conn.Close()
					t.Fatalf("partition %d offset %d: %v", p, len(out[p]), err)
				}
				out[p] = append(out[p], m)
			}
			batch.Close()
		}
		conn.Close()
	}
	return out
}

// kafkaAlerts decodes messages into alerts, checking key and headers.
func kafkaAlerts(t testing.TB, msgs map[int][]kafka.Message) []sink.Alert {
	t.Helper()
	var out []sink.Alert
	for p, ms := range msgs {
		for _, m := range ms {
			var a sink.Alert
			if err := json.Unmarshal(m.Value, &a); err != nil {
				t.Fatalf("partition %d offset %d: %v", p, m.Offset, err)
			}
			if string(m.Key) != a.DeviceID {
				t.Errorf("partition %d offset %d: key %q, want the DeviceId %q", p, m.Offset, m.Key, a.DeviceID)
			}
			hdr := map[string]string{}
			for _, h := range m.Headers {
				hdr[h.Key] = string(h.Value)
			}
			if hdr["alert_id"] != a.AlertID || hdr["content-type"] != "application/json" {
				t.Errorf("partition %d offset %d: headers %v, want alert_id %s", p, m.Offset, hdr, a.AlertID)
			}
			out = append(out, a)
		}
	}
	return out
}

func TestKafkaConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) (sink.Sink, func() []sink.Alert) {
		c := newKfake(t)
		addr := c.ListenAddrs()[0]
		k, err := sink.NewKafka(sink.KafkaOptions{Brokers: []string{addr}, Topic: kafkaTestTopic})
		if err != nil {
			t.Fatal(err)
		}
		return k, func() []sink.Alert { return kafkaAlerts(t, readTopic(t, addr, nil)) }
	})
}

func TestKafkaKeepsEachDevicesAlertsInOrderOnOnePartition(t *testing.T) {
	c := newKfake(t)
	addr := c.ListenAddrs()[0]
	k, err := sink.NewKafka(sink.KafkaOptions{Brokers: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close(context.Background())
	devices := []string{"dev-a", "dev-b", "dev-c", "dev-d", "dev-e", "dev-f"}
	alerts := sinktest.Alerts(60, 31)
	for i := range alerts {
		alerts[i].DeviceID = devices[i%len(devices)]
	}
	for i := 0; i < len(alerts); i += 7 { // several Writes
		if err := k.Write(context.Background(), alerts[i:min(i+7, len(alerts))]); err != nil {
			t.Fatal(err)
		}
	}
	msgs := readTopic(t, addr, nil)
	partOf := map[string]int{}
	order := map[string][]string{}
	used := map[int]bool{}
	for p, ms := range msgs {
		for _, m := range ms {
			dev := string(m.Key)
			if q, ok := partOf[dev]; ok && q != p {
				t.Errorf("device %s on partitions %d and %d", dev, q, p)
			}
			partOf[dev] = p
			used[p] = true
			for _, h := range m.Headers {
				if h.Key == "alert_id" {
					order[dev] = append(order[dev], string(h.Value))
				}
			}
		}
	}
	if len(used) < 2 {
		t.Errorf("6 devices all went to %d partition(s): the key does not spread", len(used))
	}
	for _, dev := range devices {
		var want []string
		for i := range alerts {
			if alerts[i].DeviceID == dev {
				want = append(want, alerts[i].AlertID)
			}
		}
		if fmt.Sprint(order[dev]) != fmt.Sprint(want) {
			t.Errorf("device %s: alerts in order %v, want %v", dev, order[dev], want)
		}
	}
}

func TestKafkaAuthenticatesOverTLS(t *testing.T) {
	pki := newNetPKI(t)
	for _, tc := range []struct {
		name      string
		mechanism string // kfake's name
		sasl      sink.KafkaSASL
		refuse    bool // the broker answers SaslAuthenticate with SASL_AUTHENTICATION_FAILED
	}{
		{"SASL PLAIN", "PLAIN", sink.KafkaSASL{Mechanism: "plain", Username: "ioc", Password: "pw"}, false},
		{"SASL SCRAM-SHA-256", "SCRAM-SHA-256", sink.KafkaSASL{Mechanism: "SCRAM-SHA-256", Username: "ioc", Password: "pw"}, false},
		{"SASL SCRAM-SHA-512", "SCRAM-SHA-512", sink.KafkaSASL{Mechanism: "scram-sha-512", Username: "ioc", Password: "pw"}, false},
		{"refused credentials are a permanent error", "PLAIN", sink.KafkaSASL{Mechanism: "plain", Username: "ioc", Password: "pw-rotated-away"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newKfake(t, kfake.EnableSASL(), kfake.Superuser(tc.mechanism, "ioc", "pw"), kfake.TLS(pki.ServerTLS(false)))
			if tc.refuse {
				// kfake drops the connection on bad credentials; a real
				// broker answers error 58 first. Inject that answer.
				c.ControlKey(int16(kmsg.SASLAuthenticate), func(req kmsg.Request) (kmsg.Response, error, bool) {
					c.KeepControl()
					resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
					resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
					msg := "Authentication failed: Invalid username or password"
					resp.ErrorMessage = &msg
					return resp, nil, true
				})
			}
			addr := c.ListenAddrs()[0]
			k, err := sink.NewKafka(sink.KafkaOptions{Brokers: []string{addr}, TLS: &sink.TLSOptions{CAFile: pki.CAFile}, SASL: tc.sasl})
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close(context.Background())
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			alerts := sinktest.Alerts(5, 41)
			err = k.Write(ctx, alerts)
			if tc.refuse {
				if err == nil || !sink.IsPermanent(err) {
					t.Fatalf("Write with refused credentials = %v, want a permanent error", err)
				}
				if strings.Contains(err.Error(), "rotated") {
					t.Errorf("error %q leaks the password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			d := &kafka.Dialer{Timeout: 10 * time.Second, TLS: &tls.Config{RootCAs: pki.CAPool}}
			switch tc.mechanism {
			case "PLAIN":
				d.SASLMechanism = plain.Mechanism{Username: "ioc", Password: "pw"}
			case "SCRAM-SHA-256":
				d.SASLMechanism, err = scram.Mechanism(scram.SHA256, "ioc", "pw")
			case "SCRAM-SHA-512":
				d.SASLMechanism, err = scram.Mechanism(scram.SHA512, "ioc", "pw")
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := len(kafkaAlerts(t, readTopic(t, addr, d))); got != len(alerts) {
				t.Errorf("read back %d alerts, want %d", got, len(alerts))
			}
		})
	}
}

func TestKafkaClassifiesErrors(t *testing.T) {
	t.Run("a message over the broker's limit is permanent", func(t *testing.T) {
		c := newKfake(t, kfake.BrokerConfigs(map[string]string{"message.max.bytes": "2000"}))
		k, err := sink.NewKafka(sink.KafkaOptions{Brokers: c.ListenAddrs()})
		if err != nil {
			t.Fatal(err)
		}
		defer k.Close(context.Background())
		a := sinktest.Alerts(1, 51)
		a[0].CommandLine = strings.Repeat("x", 5000)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		err = k.Write(ctx, a)
		if err == nil || !sink.IsPermanent(err) {
			t.Fatalf("Write of an oversized message = %v, want a permanent error", err)
		}
		if !strings.Contains(err.Error(), kafkaTestTopic) {
			t.Errorf("error %q does not name the topic", err)
		}
	})
	t.Run("only the refused alerts are reported; the others are delivered", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			size int
			opts []kfake.Opt
		}{
			{"too large for the writer's batch", 2 << 20, nil},
			{"too large for the broker", 50000, []kfake.Opt{kfake.BrokerConfigs(map[string]string{"message.max.bytes": "20000"})}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := newKfake(t, tc.opts...)
				k, err := sink.NewKafka(sink.KafkaOptions{Brokers: c.ListenAddrs()})
				if err != nil {
					t.Fatal(err)
				}
				defer k.Close(context.Background())
				a := sinktest.Alerts(12, 54)
				a[5].CommandLine = strings.Repeat("x", tc.size)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				err = k.Write(ctx, a)
				re, ok := errors.AsType[*sink.RefusedError](err)
				if !ok || !sink.IsPermanent(err) || !slices.Contains(re.Alerts, 5) || len(re.Alerts) == len(a) {
					t.Fatalf("Write = %v, want a permanent RefusedError naming alert 5 and not all", err)
				}
				got := map[string]bool{}
				for _, b := range kafkaAlerts(t, readTopic(t, c.ListenAddrs()[0], nil)) {
					got[b.AlertID] = true
				}
				for i := range a {
					if refused := slices.Contains(re.Alerts, i); refused == got[a[i].AlertID] {
						t.Errorf("alert %d: refused %v, delivered %v", i, refused, got[a[i].AlertID])
					}
				}
			})
		}
	})
	t.Run("an unreachable broker is retryable", func(t *testing.T) {
		k, err := sink.NewKafka(sink.KafkaOptions{Brokers: []string{refusedAddr(t)}, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer k.Close(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		err = k.Write(ctx, sinktest.Alerts(1, 52))
		if err == nil || sink.IsPermanent(err) {
			t.Fatalf("Write to a refused broker = %v, want a retryable error", err)
		}
	})
	t.Run("a missing topic is retryable (it may be created)", func(t *testing.T) {
		c := newKfake(t)
		k, err := sink.NewKafka(sink.KafkaOptions{Brokers: c.ListenAddrs(), Topic: "not-yet"})
		if err != nil {
			t.Fatal(err)
		}
		defer k.Close(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = k.Write(ctx, sinktest.Alerts(1, 53))
		if err == nil || sink.IsPermanent(err) {
			t.Fatalf("Write to a missing topic = %v, want a retryable error", err)
		}
	})
}

// A broker refuses a produce request's record batch whole — over its
// message.max.bytes (a limit on the batch, not on one message), or for one
// invalid record in it — and kafka-go reports that refusal against every
// message of the batch. Only the alerts refused on their own are refused,
// at once (no retry cures them); the others are delivered. All the alerts
// here are one device's, so they share one partition and one batch.
func TestKafkaRefusesOnlyTheAlertsTheBrokerRefuses(t *testing.T) {
	big := func(n int) string { return strings.Repeat("x", n) }
	for _, tc := range []struct {
		name     string
		maxBytes string // the broker's message.max.bytes; "" the default
		// prepare shapes the alerts and returns the indexes that must be
		// refused (in order).
		prepare func(a []sink.Alert) []int
		// poison, when set, is the error the broker refuses every batch
		// holding alert 5 with, as Kafka does for a record it rejects.
		poison *kerr.Error
	}{
		{"one message over the broker's limit", "20000", func(a []sink.Alert) []int {
			a[5].CommandLine = big(50000)
			return []int{5}
		}, nil},
		{"two messages over the broker's limit", "20000", func(a []sink.Alert) []int {
			a[2].CommandLine, a[9].CommandLine = big(30000), big(50000)
			return []int{2, 9}
		}, nil},
		{"a batch over the broker's limit whose messages each fit", "20000", func(a []sink.Alert) []int {
			for i := range a {
				a[i].CommandLine = big(3000)
			}
			return nil
		}, nil},
		{"an invalid record", "", func(a []sink.Alert) []int { return []int{5} }, kerr.InvalidRecord},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []kfake.Opt
			if tc.maxBytes != "" {
				opts = append(opts, kfake.BrokerConfigs(map[string]string{"message.max.bytes": tc.maxBytes}))
			}
			c := newKfake(t, opts...)
			a := sinktest.Alerts(12, 55)
			for i := range a {
				a[i].DeviceID = "one-device"
			}
			want := tc.prepare(a)
			if tc.poison != nil {
				poison := []byte(a[5].AlertID)
				c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
					c.KeepControl()
					pr := req.(*kmsg.ProduceRequest)
					hit := false
					for _, rt := range pr.Topics {
						for _, rp := range rt.Partitions {
							hit = hit || bytes.Contains(rp.Records, poison)
						}
					}
					if !hit {
						return nil, nil, false // let the broker append it
					}
					// kafka-go sends one partition per request: refuse it all.
					return refuseProduce(pr, tc.poison, "One or more records have been rejected due to 1 record errors in total"), nil, true
				})
			}
			k, err := sink.NewKafka(sink.KafkaOptions{Brokers: c.ListenAddrs()})
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close(context.Background())
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err = k.Write(ctx, a)
			var got []int
			if err != nil {
				re, ok := errors.AsType[*sink.RefusedError](err)
				if !ok || !sink.IsPermanent(err) {
					t.Fatalf("Write = %v, want nil or a permanent RefusedError", err)
				}
				got = slices.Sorted(slices.Values(re.Alerts))
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("refused alerts %v, want %v (Write: %v)", got, want, err)
			}
			delivered := map[string]bool{}
			for _, b := range kafkaAlerts(t, readTopic(t, c.ListenAddrs()[0], nil)) {
				if delivered[b.AlertID] {
					t.Errorf("alert %s delivered twice", b.AlertID)
				}
				delivered[b.AlertID] = true
			}
			for i := range a {
				if refused := slices.Contains(want, i); refused == delivered[a[i].AlertID] {
					t.Errorf("alert %d: refused %v, delivered %v", i, refused, delivered[a[i].AlertID])
				}
			}
		})
	}
}

// Some broker refusals of a record batch are never caused by some of its
// records only, so no resend, whole or in halves, can fare better: the
// alerts of the batch are refused at once, in the one produce request, and
// filed in the dead-letter file with an error saying what to check, not
// retried (WithRetry's default budget is unbounded) nor split (for a
// 1000-alert Write, some 1000 produce requests that could only be refused
// alike). kfake checks none of these, so each refusal is injected, for
// every batch, as a broker in that state answers.
//
//   - INVALID_TIMESTAMP: a topic with message.timestamp.difference.max.ms
//     (or .before/.after.max.ms since Kafka 3.6) refuses a batch stamped
//     too far from the broker's clock; the writer stamps every record of a
//     request with the one time it encodes the request at (the alerts'
//     messages carry none of their own).
//   - UNSUPPORTED_VERSION, INVALID_REQUEST: the broker refuses the produce
//     request itself.
//   - UNSUPPORTED_FOR_MESSAGE_FORMAT: a topic whose message format
//     predates Kafka 0.11 cannot carry the headers every message has.
func TestKafkaRefusesABatchRefusedWholeAtOnce(t *testing.T) {
	for _, tc := range []struct {
		code    *kerr.Error
		message string // the broker's error message
		want    error  // what every alert's reason wraps
		hint    string // what the reason says to check; "" none
	}{
		{kerr.InvalidTimestamp, "One or more records have been rejected due to invalid timestamp", kafka.InvalidTimestamp, ""},
		{kerr.UnsupportedVersion, "The version of API is not supported.", kafka.UnsupportedVersion, "check the broker's Kafka version"},
		{kerr.InvalidRequest, "This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker. See the broker logs for more details.", kafka.InvalidRequest, "check the broker's Kafka version"},
		{kerr.UnsupportedForMessageFormat, "The message format version on the broker does not support the request.", kafka.UnsupportedForMessageFormat, "message.format.version"},
	} {
		t.Run(tc.code.Message, func(t *testing.T) {
			c := newKfake(t)
			var produces atomic.Int64
			c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
				c.KeepControl()
				produces.Add(1)
				return refuseProduce(req.(*kmsg.ProduceRequest), tc.code, tc.message), nil, true
			})
			k, err := sink.NewKafka(sink.KafkaOptions{Brokers: c.ListenAddrs()})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "dead.jsonl")
			dl, err := sink.OpenDeadLetter(path)
			if err != nil {
				t.Fatal(err)
			}
			tap := &errTap{Sink: k}
			s := sink.WithDeadLetter(tap, "alerts-topic", dl)
			defer s.Close(context.Background())
			// One device: one partition, one batch, one produce request.
			a := sinktest.Alerts(16, 57)
			for i := range a {
				a[i].DeviceID = "one-device"
			}
			ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
			defer cancel()
			if err := s.Write(ctx, a); err != nil {
				t.Errorf("Write through the dead-letter file = %v, want nil (filed)", err)
			}
			re, ok := errors.AsType[*sink.RefusedError](tap.err)
			if !ok || !sink.IsPermanent(tap.err) {
				t.Fatalf("Kafka Write = %v, want a permanent RefusedError", tap.err)
			}
			want := make([]int, len(a))
			for i := range want {
				want[i] = i
			}
			if !slices.Equal(re.Alerts, want) {
				t.Errorf("refused alerts %v, want all %v", re.Alerts, want)
			}
			for i := range re.Alerts {
				r := re.Reason(i)
				if !errors.Is(r, tc.want) || !strings.Contains(r.Error(), a[re.Alerts[i]].AlertID) || !strings.Contains(r.Error(), tc.hint) {
					t.Errorf("alert %d refused with %q, want %v naming the alert and saying %q", re.Alerts[i], r, tc.want, tc.hint)
				}
			}
			if n := produces.Load(); n != 1 {
				t.Errorf("%d produce requests for one batch refused whole, want 1 (no retry, no halving)", n)
			}
			if err := dl.Close(); err != nil {
				t.Fatal(err)
			}
			dead := readDeadLetters(t, path)
			if len(dead) != len(a) {
				t.Fatalf("%d dead letters, want %d", len(dead), len(a))
			}
			for i, d := range dead {
				if !strings.Contains(d.Error, a[i].AlertID) || !strings.Contains(d.Error, tc.hint) {
					t.Errorf("dead letter %d: error %q, want one naming alert %s and saying %q", i, d.Error, a[i].AlertID, tc.hint)
				}
			}
		})
	}
}

// errTap is a Sink that keeps the last error its Sink's Write returned.
// Not safe for concurrent Writes.
type errTap struct {
	sink.Sink
	err error
}

func (e *errTap) Write(ctx context.Context, alerts []sink.Alert) error {
	e.err = e.Sink.Write(ctx, alerts)
	return e.err
}

// refuseProduce answers a produce request by refusing every partition's
// record batch in it with code and the broker's message, as a broker
// refuses a batch whole.
func refuseProduce(pr *kmsg.ProduceRequest, code *kerr.Error, message string) *kmsg.ProduceResponse {
	resp := pr.ResponseKind().(*kmsg.ProduceResponse)
	for _, rt := range pr.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.ErrorCode = code.Code
			sp.ErrorMessage = &message
			sp.BaseOffset = -1
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

func TestNewKafkaRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  sink.KafkaOptions
		want string
	}{
		{"no brokers", sink.KafkaOptions{}, "at least one"},
		{"a broker without a port", sink.KafkaOptions{Brokers: []string{"kafka"}}, "missing port"},
		{"an unknown SASL mechanism", sink.KafkaOptions{Brokers: []string{"k:9092"}, SASL: sink.KafkaSASL{Mechanism: "GSSAPI"}}, "want plain, scram-sha-256 or scram-sha-512"},
		{"an unknown format", sink.KafkaOptions{Brokers: []string{"k:9092"}, Format: "avro"}, "format"},
		{"a missing CA file", sink.KafkaOptions{Brokers: []string{"k:9093"}, TLS: &sink.TLSOptions{CAFile: "/nonexistent/ca.pem"}}, "ca_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sink.NewKafka(tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewKafka = %v, want an error about %q", err, tc.want)
			}
		})
	}
}

func TestKafkaAsksForAcknowledgementFromAllReplicas(t *testing.T) {
	c := newKfake(t)
	var acks, produces atomic.Int64
	acks.Store(99)
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		produces.Add(1)
		acks.Store(int64(req.(*kmsg.ProduceRequest).Acks))
		return nil, nil, false // let the broker handle it
	})
	k, err := sink.NewKafka(sink.KafkaOptions{Brokers: c.ListenAddrs()})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close(context.Background())
	if err := k.Write(context.Background(), sinktest.Alerts(3, 71)); err != nil {
		t.Fatal(err)
	}
	if produces.Load() == 0 || acks.Load() != -1 {
		t.Errorf("%d produce requests with acks=%d, want acks=-1 (all in-sync replicas)", produces.Load(), acks.Load())
	}
}

// BenchmarkKafkaWrite measures synchronous Write of 100 alerts (acks=all)
// to an in-process kfake broker.
func BenchmarkKafkaWrite(b *testing.B) {
	c := newKfake(b)
	k, err := sink.NewKafka(sink.KafkaOptions{Brokers: c.ListenAddrs()})
	if err != nil {
		b.Fatal(err)
	}
	defer k.Close(context.Background())
	alerts := sinktest.Alerts(100, 1)
	n := 0
	for b.Loop() {
		if err := k.Write(context.Background(), alerts); err != nil {
			b.Fatal(err)
		}
		n += len(alerts)
	}
	b.ReportAllocs()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "alerts/s")
}
