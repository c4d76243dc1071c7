package embedded_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/goleak"

	"github.com/iocwatch/iocwatch/stream/kafka/embedded"
	"github.com/iocwatch/iocwatch/stream/kafka/internal/testpki"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var quiet = slog.New(slog.DiscardHandler)

func start(t *testing.T, opt embedded.BrokerOptions) *embedded.Broker {
	t.Helper()
	if opt.Logger == nil {
		opt.Logger = quiet
	}
	b, err := embedded.Start(opt)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("Addr() = %q: %v", addr, err)
	}
	return p
}

func TestStartListens(t *testing.T) {
	// Reserve a port, free it, and ask for it: it is almost surely free.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := ln.Addr().String()
	ln.Close()

	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()

	tests := []struct {
		name    string
		addr    string
		check   func(t *testing.T, got string)
		wantErr string
	}{
		{name: "an empty address listens on loopback at a free port", addr: "",
			check: func(t *testing.T, got string) {
				if !strings.HasPrefix(got, "127.0.0.1:") || port(t, got) == "0" {
					t.Errorf("Addr() = %q, want 127.0.0.1:<real port>", got)
				}
			}},
		{name: "port 0 is replaced by the real port", addr: "127.0.0.1:0",
			check: func(t *testing.T, got string) {
				if port(t, got) == "0" {
					t.Errorf("Addr() = %q, want a real port", got)
				}
			}},
		{name: "a free port is used as given", addr: free,
			check: func(t *testing.T, got string) {
				if got != free {
					t.Errorf("Addr() = %q, want %q", got, free)
				}
			}},
		{name: "a taken port falls back to another free port", addr: taken.Addr().String(),
			check: func(t *testing.T, got string) {
				if got == taken.Addr().String() || port(t, got) == "0" {
					t.Errorf("Addr() = %q, want another real port than the taken %q", got, taken.Addr())
				}
			}},
		{name: "an address without a port is refused", addr: "127.0.0.1", wantErr: `addr "127.0.0.1"`},
		{name: "a port out of range is refused", addr: "127.0.0.1:70000", wantErr: "port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := embedded.Start(embedded.BrokerOptions{Addr: tt.addr, Logger: quiet, Topics: []embedded.Topic{{Name: "t", Partitions: 2}}})
			if tt.wantErr != "" {
				if err == nil {
					b.Close()
					t.Fatalf("Start(%q) succeeded, want error containing %q", tt.addr, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Start(%q) error = %v, want it to contain %q", tt.addr, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Start(%q): %v", tt.addr, err)
			}
			defer b.Close()
			tt.check(t, b.Addr())
			// The broker answers on the reported address.
			if err := b.Produce(context.Background(), "t", 1, []byte("x")); err != nil {
				t.Fatalf("Produce on %s: %v", b.Addr(), err)
			}
			if got := b.HighWatermarks("t"); got[0] != 0 || got[1] != 1 {
				t.Errorf("HighWatermarks = %v, want map[0:0 1:1]", got)
			}
		})
	}
}

func TestStartRefusesBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opt  embedded.BrokerOptions
		want []string
	}{
		{name: "a topic without a name is refused", opt: embedded.BrokerOptions{Topics: []embedded.Topic{{Partitions: 3}}}, want: []string{"topics[0]: name is empty"}},
		{name: "an unknown SASL mechanism is refused", opt: embedded.BrokerOptions{Users: []embedded.User{{Mechanism: "gssapi", Name: "a"}}}, want: []string{"users[0]", "gssapi"}},
		{name: "a user without a name is refused", opt: embedded.BrokerOptions{Users: []embedded.User{{Mechanism: "plain"}}}, want: []string{"users[0]: name is empty"}},
		{name: "a negative retention is refused", opt: embedded.BrokerOptions{RetentionBytes: -1}, want: []string{"retention bytes -1"}},
		{name: "every problem is reported at once", opt: embedded.BrokerOptions{
			Topics: []embedded.Topic{{}}, Users: []embedded.User{{Mechanism: "x", Name: "a"}}},
			want: []string{"topics[0]", "users[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opt.Logger = quiet
			b, err := embedded.Start(tt.opt)
			if err == nil {
				b.Close()
				t.Fatal("Start succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestKafkaGoConsumerGroup pins that kfake coordinates kafka-go consumer
// groups: two group readers split the partitions, every message arrives
// once, and commits are visible through OffsetFetch.
func TestKafkaGoConsumerGroup(t *testing.T) {
	b := start(t, embedded.BrokerOptions{Topics: []embedded.Topic{{Name: "events", Partitions: 4}}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const perPartition = 25
	for p := range int32(4) {
		var vals [][]byte
		for i := range perPartition {
			vals = append(vals, fmt.Appendf(nil, "p%d-%d", p, i))
		}
		if err := b.Produce(ctx, "events", p, vals...); err != nil {
			t.Fatal(err)
		}
	}
	newReader := func() *kafka.Reader {
		return kafka.NewReader(kafka.ReaderConfig{
			Brokers: []string{b.Addr()}, GroupID: "g", Topic: "events",
			HeartbeatInterval: 100 * time.Millisecond, MaxWait: 100 * time.Millisecond,
		})
	}
	r1, r2 := newReader(), newReader()
	defer r1.Close()
	defer r2.Close()
	// Wait for both members before reading, so the split is observable.
	if _, err := b.Cluster().WaitGroupStable(ctx, "g", 2); err != nil {
		t.Fatalf("group never stable with 2 members: %v", err)
	}
	seen := make(map[string]int)
	partsOf := map[*kafka.Reader]map[int]bool{r1: {}, r2: {}}
	msgs := make(chan struct {
		r *kafka.Reader
		m kafka.Message
	}, 8)
	for _, r := range []*kafka.Reader{r1, r2} {
		go func() {
			for {
				m, err := r.FetchMessage(ctx)
				if err != nil {
					return
				}
				if err := r.CommitMessages(ctx, m); err != nil {
					return
				}
				select {
				case msgs <- struct {
					r *kafka.Reader
					m kafka.Message
				}{r, m}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	for len(seen) < 4*perPartition {
		select {
		case x := <-msgs:
			seen[string(x.m.Value)]++
			partsOf[x.r][x.m.Partition] = true
		case <-ctx.Done():
			t.Fatalf("got %d distinct messages, want %d", len(seen), 4*perPartition)
		}
	}
	for v, n := range seen {
		if n != 1 {
			t.Errorf("message %s delivered %d times", v, n)
		}
	}
	if len(partsOf[r1]) == 0 || len(partsOf[r2]) == 0 {
		t.Errorf("partitions not split: reader 1 had %v, reader 2 had %v", partsOf[r1], partsOf[r2])
	}
	committed, err := b.Committed(ctx, "g", "events")
	if err != nil {
		t.Fatal(err)
	}
	for p := range int32(4) {
		if committed[p] != perPartition {
			t.Errorf("committed[%d] = %d, want %d", p, committed[p], perPartition)
		}
	}
	cancel()
}

func TestTLSAndSASL(t *testing.T) {
	pki, err := testpki.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(pki.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	clientTLS := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}

	plainUser := embedded.User{Mechanism: "plain", Name: "$ConnectionString", Password: "Endpoint=sb://ns.example/;SharedAccessKeyName=k;SharedAccessKey=s"}
	scramUser := embedded.User{Mechanism: "SCRAM-SHA-512", Name: "ana", Password: "s3cret"}
	b := start(t, embedded.BrokerOptions{
		Topics: []embedded.Topic{{Name: "secure", Partitions: 1}},
		TLS:    pki.Server,
		Users:  []embedded.User{plainUser, scramUser},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := b.Produce(ctx, "secure", 0, []byte("one"), []byte("two")); err != nil {
		t.Fatalf("Produce through TLS+SASL: %v", err)
	}
	sha512, err := scram.Mechanism(scram.SHA512, scramUser.Name, scramUser.Password)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		dialer *kafka.Dialer
		ok     bool
	}{
		{"PLAIN over TLS with the right password reads", &kafka.Dialer{TLS: clientTLS, SASLMechanism: plain.Mechanism{Username: plainUser.Name, Password: plainUser.Password}}, true},
		{"SCRAM-SHA-512 over TLS with the right password reads", &kafka.Dialer{TLS: clientTLS, SASLMechanism: sha512}, true},
		{"a wrong password is refused", &kafka.Dialer{TLS: clientTLS, SASLMechanism: plain.Mechanism{Username: plainUser.Name, Password: "wrong"}}, false},
		{"no SASL is refused", &kafka.Dialer{TLS: clientTLS}, false},
		{"plaintext is refused", &kafka.Dialer{SASLMechanism: plain.Mechanism{Username: plainUser.Name, Password: plainUser.Password}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.dialer.Timeout = 2 * time.Second
			dctx, dcancel := context.WithTimeout(ctx, 3*time.Second)
			defer dcancel()
			conn, err := tt.dialer.DialLeader(dctx, "tcp", b.Addr(), "secure", 0)
			if err == nil {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(3 * time.Second))
				var first, last int64
				first, last, err = conn.ReadOffsets()
				if err == nil && (first != 0 || last != 2) {
					t.Errorf("offsets = %d..%d, want 0..2", first, last)
				}
			}
			if tt.ok && err != nil {
				t.Fatalf("want success, got %v", err)
			}
			if !tt.ok && err == nil {
				t.Fatal("want refusal, got success")
			}
		})
	}
}

func TestCloseTwice(t *testing.T) {
	b, err := embedded.Start(embedded.BrokerOptions{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	b.Close()
	if _, err := net.DialTimeout("tcp", b.Addr(), time.Second); err == nil {
		t.Error("the broker still accepts connections after Close")
	}
}

func TestCreateTopicAndCommittedOfUnknownTopic(t *testing.T) {
	b := start(t, embedded.BrokerOptions{})
	ctx := context.Background()
	if _, err := b.Committed(ctx, "g", "nope"); err == nil || !strings.Contains(err.Error(), `unknown topic "nope"`) {
		t.Errorf("Committed on an unknown topic: err = %v, want unknown topic", err)
	}
	if err := b.CreateTopic("late", 3); err != nil {
		t.Fatal(err)
	}
	if err := b.Produce(ctx, "late", 2, []byte("a")); err != nil {
		t.Fatal(err)
	}
	got, err := b.Committed(ctx, "g", "late")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("Committed of a group that never committed = %v, want empty", got)
	}
	if hw := b.HighWatermarks("late"); len(hw) != 3 || hw[2] != 1 {
		t.Errorf("HighWatermarks = %v, want 3 partitions with [2]=1", hw)
	}
}

func TestRetentionBytesDropsTheOldestSegments(t *testing.T) {
	const retain = 4 << 20
	b := start(t, embedded.BrokerOptions{Topics: []embedded.Topic{{Name: "t"}}, RetentionBytes: retain})
	value := make([]byte, 64<<10)
	var values [][]byte
	for range 256 { // 16 MiB
		values = append(values, value)
	}
	if err := b.Produce(context.Background(), "t", 0, values...); err != nil {
		t.Fatal(err)
	}
	var info kfake.PartitionInfo
	deadline := time.Now().Add(10 * embedded.RetentionInterval)
	for {
		info = *b.Cluster().PartitionInfos("t")[0]
		// A tick may have come while Produce was still adding: wait for
		// one after it.
		if (info.LogStartOffset > 0 && info.NumBytes <= retain) || time.Now().After(deadline) {
			break
		}
		time.Sleep(embedded.RetentionInterval / 5)
	}
	if info.HighWatermark != 256 {
		t.Fatalf("high watermark %d, want 256", info.HighWatermark)
	}
	if info.LogStartOffset == 0 {
		t.Fatalf("log start offset still 0 after %v: nothing of %d bytes was dropped", 10*embedded.RetentionInterval, info.NumBytes)
	}
	if info.NumBytes > retain || info.NumBytes < retain*7/8-(64<<10) {
		t.Errorf("partition keeps %d bytes, want between 7/8 of %d and all of it", info.NumBytes, retain)
	}
}

func TestDataDirKeepsTheLogInFilesWithinItsRetention(t *testing.T) {
	const retain = 4 << 20
	dir := t.TempDir()
	b := start(t, embedded.BrokerOptions{Topics: []embedded.Topic{{Name: "t"}}, RetentionBytes: retain, DataDir: dir})
	value := make([]byte, 64<<10)
	var values [][]byte
	for i := range 256 { // 16 MiB
		v := slices.Clone(value)
		binary.BigEndian.PutUint32(v, uint32(i))
		values = append(values, v)
	}
	if err := b.Produce(context.Background(), "t", 0, values...); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * embedded.RetentionInterval)
	var inFiles int64
	for {
		inFiles = 0
		err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // retention deleted it while the walk ran
			}
			if err != nil || d.IsDir() {
				return err
			}
			info, err := d.Info()
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err == nil {
				inFiles += info.Size()
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if inFiles <= retain+(1<<20) || time.Now().After(deadline) {
			break
		}
		time.Sleep(embedded.RetentionInterval / 5)
	}
	if inFiles < retain*7/8-(64<<10) || inFiles > retain+(1<<20) {
		t.Fatalf("%d bytes in %s, want the retained log, about %d", inFiles, dir, retain)
	}
	conn, err := kafka.DialLeader(context.Background(), "tcp", b.Addr(), "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Seek(255, kafka.SeekAbsolute); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	m, err := conn.ReadMessage(1 << 20)
	if err != nil {
		t.Fatalf("reading the last record back: %v", err)
	}
	if m.Offset != 255 || !bytes.Equal(m.Value, values[255]) {
		t.Fatalf("read offset %d, %d bytes starting %x; want offset 255, the last value produced", m.Offset, len(m.Value), m.Value[:4])
	}
}
