package embedded

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
	"github.com/twmb/franz-go/pkg/kfake"
)

// DefaultAddr is the listen address used when BrokerOptions.Addr is empty:
// loopback, any free port.
const DefaultAddr = "127.0.0.1:0"

// maxProduceBytes caps the values sent in one produce request by Produce,
// below the broker's default message.max.bytes (1 MiB).
const maxProduceBytes = 512 << 10

// Topic is a topic created when the broker starts. The zero value has no
// name and is refused by Start.
type Topic struct {
	// Name of the topic. Required.
	Name string
	// Partitions is the number of partitions; 0 or less means 1.
	Partitions int32
}

// User is a SASL user the broker accepts. The zero value has no mechanism
// and is refused by Start.
type User struct {
	// Mechanism is "plain", "scram-sha-256" or "scram-sha-512" (any case).
	Mechanism string
	// Name and Password are the credentials.
	Name     string
	Password string
}

// BrokerOptions configure Start. The zero value starts a plaintext broker on
// 127.0.0.1 at a free port with no topics. Start reads them and does not
// keep them.
type BrokerOptions struct {
	// Addr is the listen address, host:port. Default: DefaultAddr. Port 0,
	// or a port that is taken, picks a free port.
	Addr string
	// Topics are created before Start returns.
	Topics []Topic
	// TLS, when set, makes the broker serve TLS only with this server
	// configuration (it needs Certificates).
	TLS *tls.Config
	// Users, when set, make the broker require SASL authentication as one of
	// them.
	Users []User
	// Logger receives a warning when the requested port was taken.
	// Default: slog.Default().
	Logger *slog.Logger
	// RetentionBytes, when above 0, bounds each partition's log: about
	// every RetentionInterval the oldest segments beyond this many bytes
	// are deleted, as Kafka's retention.bytes does. Segments are then
	// RetentionBytes/8 (at least 1 MiB, at most 100 MiB), so that a
	// partition keeps between 7/8 and all of RetentionBytes. A consumer
	// that falls further behind gets an offset-out-of-range error. 0 keeps
	// everything (the broker's memory grows with every record produced).
	RetentionBytes int64
	// DataDir, when set, keeps the log in files under this directory (the
	// operating system's page cache) instead of the process's memory.
	DataDir string
}

// RetentionInterval is how often a broker with RetentionBytes applies it.
const RetentionInterval = 250 * time.Millisecond

// Broker is a running in-process Kafka broker. It is safe for concurrent use.
// The zero value is not usable: call Start.
type Broker struct {
	c         *kfake.Cluster
	addr      string
	transport *kafka.Transport
	client    *kafka.Client
	closeOnce sync.Once
	stop      chan struct{} // closed by Close
	stopped   chan struct{} // closed when the retention loop returned
}

// Start starts a single-broker cluster as opt describes and returns once it
// accepts connections and its topics exist.
func Start(opt BrokerOptions) (*Broker, error) {
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	addr := opt.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("embedded kafka: addr %q: %w", addr, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return nil, fmt.Errorf("embedded kafka: addr %q: port %q is not a number from 0 to 65535", addr, port)
	}
	var problems []error
	for i, t := range opt.Topics {
		if t.Name == "" {
			problems = append(problems, fmt.Errorf("embedded kafka: topics[%d]: name is empty", i))
		}
	}
	if opt.RetentionBytes < 0 {
		problems = append(problems, fmt.Errorf("embedded kafka: retention bytes %d: want 0 (keep everything) or more", opt.RetentionBytes))
	}
	var saslUser *User
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.ListenFn(listenFn(host, port, log))}
	for i, u := range opt.Users {
		m, err := kfakeMechanism(u.Mechanism)
		if err != nil {
			problems = append(problems, fmt.Errorf("embedded kafka: users[%d]: %w", i, err))
			continue
		}
		if u.Name == "" {
			problems = append(problems, fmt.Errorf("embedded kafka: users[%d]: name is empty", i))
			continue
		}
		opts = append(opts, kfake.Superuser(m, u.Name, u.Password))
		if saslUser == nil {
			saslUser = &opt.Users[i]
		}
	}
	if err := errors.Join(problems...); err != nil {
		return nil, err
	}
	if saslUser != nil {
		opts = append(opts, kfake.EnableSASL())
	}
	if opt.TLS != nil {
		opts = append(opts, kfake.TLS(opt.TLS))
	}
	if opt.RetentionBytes > 0 {
		segment := min(max(opt.RetentionBytes/8, 1<<20), 100<<20)
		opts = append(opts, kfake.BrokerConfigs(map[string]string{
			"log.retention.bytes": strconv.FormatInt(opt.RetentionBytes, 10),
			"log.segment.bytes":   strconv.FormatInt(segment, 10),
		}))
	}
	if opt.DataDir != "" {
		opts = append(opts, kfake.DataDir(opt.DataDir))
	}
	for _, t := range opt.Topics {
		p := t.Partitions
		if p < 1 {
			p = 1
		}
		opts = append(opts, kfake.SeedTopics(p, t.Name))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("embedded kafka: listen on %s: %w", addr, err)
	}
	addrs := c.ListenAddrs()
	if len(addrs) != 1 {
		c.Close()
		return nil, fmt.Errorf("embedded kafka: expected 1 listener, got %d", len(addrs))
	}
	tr := &kafka.Transport{ClientID: "iocwatch-embedded", DialTimeout: 5 * time.Second}
	if opt.TLS != nil {
		// The helpers talk to this process's own broker.
		tr.TLS = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12} //nolint:gosec // own in-process broker
	}
	if saslUser != nil {
		tr.SASL, err = clientMechanism(saslUser.Mechanism, saslUser.Name, saslUser.Password)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("embedded kafka: %w", err)
		}
	}
	b := &Broker{
		c:         c,
		addr:      addrs[0],
		transport: tr,
		client:    &kafka.Client{Addr: kafka.TCP(addrs[0]), Timeout: 10 * time.Second, Transport: tr},
		stop:      make(chan struct{}),
		stopped:   make(chan struct{}),
	}
	if opt.RetentionBytes > 0 {
		go b.retain()
	} else {
		close(b.stopped)
	}
	return b, nil
}

// retain applies the retention limits every RetentionInterval until Close.
func (b *Broker) retain() {
	defer close(b.stopped)
	t := time.NewTicker(RetentionInterval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			b.c.ApplyRetention()
		}
	}
}

// listenFn listens on host:port, falling back to a free port on host when
// port is taken.
func listenFn(host, port string, log *slog.Logger) func(network, _ string) (net.Listener, error) {
	return func(network, _ string) (net.Listener, error) {
		want := net.JoinHostPort(host, port)
		ln, err := net.Listen(network, want)
		if err == nil || port == "0" || !errors.Is(err, syscall.EADDRINUSE) {
			return ln, err
		}
		ln, err2 := net.Listen(network, net.JoinHostPort(host, "0"))
		if err2 != nil {
			return nil, fmt.Errorf("%w; and no free port: %w", err, err2)
		}
		log.Warn("embedded kafka: port taken, listening on a free port", "wanted", want, "addr", ln.Addr().String())
		return ln, nil
	}
}

// kfakeMechanism maps a mechanism name to kfake's spelling.
func kfakeMechanism(m string) (string, error) {
	switch strings.ToLower(m) {
	case "plain":
		return "PLAIN", nil
	case "scram-sha-256":
		return "SCRAM-SHA-256", nil
	case "scram-sha-512":
		return "SCRAM-SHA-512", nil
	default:
		return "", fmt.Errorf("mechanism %q: want plain, scram-sha-256 or scram-sha-512", m)
	}
}

// clientMechanism builds the kafka-go SASL mechanism for the helpers.
func clientMechanism(m, user, pass string) (sasl.Mechanism, error) {
	switch strings.ToLower(m) {
	case "plain":
		return plain.Mechanism{Username: user, Password: pass}, nil
	case "scram-sha-256":
		return scram.Mechanism(scram.SHA256, user, pass)
	case "scram-sha-512":
		return scram.Mechanism(scram.SHA512, user, pass)
	default:
		return nil, fmt.Errorf("mechanism %q: want plain, scram-sha-256 or scram-sha-512", m)
	}
}

// Addr returns the host:port the broker listens on.
func (b *Broker) Addr() string { return b.addr }

// Cluster returns the underlying kfake cluster, for fault injection
// (Cluster.Fault, Cluster.ControlKey) and group inspection in tests.
func (b *Broker) Cluster() *kfake.Cluster { return b.c }

// CreateTopic creates a topic with the given number of partitions (0 or less
// means 1).
func (b *Broker) CreateTopic(name string, partitions int32) error {
	if partitions < 1 {
		partitions = 1
	}
	if err := b.c.CreateTopic(name, partitions, nil); err != nil {
		return fmt.Errorf("embedded kafka: create topic %q: %w", name, err)
	}
	return nil
}

// Produce appends values, in order, to one partition of topic and returns
// once the broker stored them. Large inputs are sent in several requests of
// at most 512 KiB of values each.
func (b *Broker) Produce(ctx context.Context, topic string, partition int32, values ...[]byte) error {
	for len(values) > 0 {
		n, size := 0, 0
		for n < len(values) && (n == 0 || size+len(values[n]) <= maxProduceBytes) {
			size += len(values[n])
			n++
		}
		recs := make([]kafka.Record, n)
		for i, v := range values[:n] {
			recs[i] = kafka.Record{Value: kafka.NewBytes(v)}
		}
		resp, err := b.client.Produce(ctx, &kafka.ProduceRequest{
			Topic:        topic,
			Partition:    int(partition),
			RequiredAcks: kafka.RequireAll,
			Records:      kafka.NewRecordReader(recs...),
		})
		if err == nil {
			err = resp.Error
		}
		if err != nil {
			return fmt.Errorf("embedded kafka: produce to %s[%d]: %w", topic, partition, err)
		}
		values = values[n:]
	}
	return nil
}

// Committed returns the offsets that group has committed on topic, by
// partition, read with an OffsetFetch request. Partitions without a commit
// are absent.
func (b *Broker) Committed(ctx context.Context, group, topic string) (map[int32]int64, error) {
	infos := b.c.PartitionInfos(topic)
	if len(infos) == 0 {
		return nil, fmt.Errorf("embedded kafka: committed offsets of %q: unknown topic %q", group, topic)
	}
	parts := make([]int, len(infos))
	for i, pi := range infos {
		parts[i] = int(pi.Partition)
	}
	resp, err := b.client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err == nil {
		err = resp.Error
	}
	out := make(map[int32]int64)
	if errors.Is(err, kafka.GroupIdNotFound) {
		return out, nil // a group that never committed
	}
	if err != nil {
		return nil, fmt.Errorf("embedded kafka: committed offsets of %q on %s: %w", group, topic, err)
	}
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("embedded kafka: committed offset of %q on %s[%d]: %w", group, topic, p.Partition, p.Error)
		}
		if p.CommittedOffset >= 0 {
			out[int32(p.Partition)] = p.CommittedOffset
		}
	}
	return out, nil
}

// HighWatermarks returns the high watermark (the offset the next message
// will get) of every partition of topic.
func (b *Broker) HighWatermarks(topic string) map[int32]int64 {
	out := make(map[int32]int64)
	for _, pi := range b.c.PartitionInfos(topic) {
		out[pi.Partition] = pi.HighWatermark
	}
	return out
}

// Close stops the broker and closes the helpers' connections. Safe to call
// twice.
func (b *Broker) Close() {
	b.closeOnce.Do(func() {
		close(b.stop)
		<-b.stopped
		b.transport.CloseIdleConnections()
		b.c.Close()
	})
}
