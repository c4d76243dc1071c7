package kafka

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go/sasl"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	fsasl "github.com/twmb/franz-go/pkg/sasl"
)

// A topic deleted and created again under the same name gets a new topic
// id (Kafka 2.8 and later report it in Metadata v10+). kafka-go neither
// sends nor reads topic ids, so the source asks for them with a franz-go
// client of its own: when a partition's fetcher connects, every
// topicCheckInterval, and before every offset commit. A partition whose
// topic changed its id is restarted from StartOffset, as one whose
// position is past the end of its log; until then no offset of it is
// committed (it would be an offset of the old topic on the new one).
// Brokers that report no ids (older Kafka, some Kafka-compatible
// services) leave only the past-the-end check.

// defaultTopicCheck is how often the ids of a generation's topics are
// checked when Options.topicCheck is 0.
const defaultTopicCheck = 5 * time.Second

// checkTimeout bounds one check of the topic ids, retries included: a
// commit, or a fetcher that connects, waits no longer for one.
const checkTimeout = 5 * time.Second

// topicID is a Kafka topic id; the zero value is "not known".
type topicID [16]byte

// String formats id as Kafka's tools do (URL-safe base64, no padding).
func (id topicID) String() string { return base64.RawURLEncoding.EncodeToString(id[:]) }

// topicClient builds the franz-go client that asks for topic ids, with the
// brokers, client id, TLS and SASL of o. It dials nothing before the first
// request.
func (o *Options) topicClient() (*kgo.Client, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(o.Brokers...),
		kgo.ClientID(o.ClientID),
		kgo.DialTimeout(10 * time.Second),
	}
	if o.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(o.TLS.Clone()))
	}
	if o.SASL != nil {
		opts = append(opts, kgo.SASL(saslAdapter{o.SASL}))
	}
	return kgo.NewClient(opts...)
}

// saslAdapter drives a kafka-go SASL mechanism (what Options.SASL holds)
// from franz-go.
type saslAdapter struct{ m sasl.Mechanism }

// Name is the mechanism's name, as sent in the SASL handshake.
func (a saslAdapter) Name() string { return a.m.Name() }

// Authenticate starts a session with the broker at host (host:port),
// passing the broker's address to the mechanism as kafka-go's dialer does.
func (a saslAdapter) Authenticate(ctx context.Context, host string) (fsasl.Session, []byte, error) {
	md := &sasl.Metadata{Host: host}
	if h, p, err := net.SplitHostPort(host); err == nil {
		md.Host = h
		md.Port, _ = strconv.Atoi(p)
	}
	ctx = sasl.WithMetadata(ctx, md)
	sm, ir, err := a.m.Start(ctx)
	if err != nil {
		return nil, nil, err
	}
	return &saslSession{ctx: ctx, sm: sm}, ir, nil
}

// saslSession is one kafka-go SASL exchange seen as a franz-go session.
type saslSession struct {
	ctx context.Context
	sm  sasl.StateMachine
}

// Challenge answers the broker's challenge. kafka-go sends nothing more once
// a mechanism says it is done; franz-go would send what came with it.
func (s *saslSession) Challenge(challenge []byte) (bool, []byte, error) {
	done, resp, err := s.sm.Next(s.ctx, challenge)
	if err != nil {
		return false, nil, err
	}
	if done {
		return true, nil, nil
	}
	return false, resp, nil
}

// topicIDs asks the brokers for the current ids of topics. A topic that
// does not exist (deleted, not created again yet) or whose id the broker
// does not report is absent.
func (s *Source) topicIDs(ctx context.Context, topics []string) (map[string]topicID, error) {
	req := kmsg.NewPtrMetadataRequest()
	req.AllowAutoTopicCreation = false
	for _, t := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, s.ids)
	if err != nil {
		return nil, fmt.Errorf("kafka: topic ids of %s: metadata request: %w", strings.Join(topics, ", "), err)
	}
	out := make(map[string]topicID, len(resp.Topics))
	for _, rt := range resp.Topics {
		if rt.Topic == nil || rt.ErrorCode != 0 || rt.TopicID == (topicID{}) {
			continue
		}
		out[*rt.Topic] = rt.TopicID
	}
	return out, nil
}

// topicsOf returns the topics of g's partitions, sorted, each once.
func topicsOf(g *generation) []string {
	var out []string
	for _, p := range g.parts {
		if !slices.Contains(out, p.tp.Topic) {
			out = append(out, p.tp.Topic)
		}
	}
	slices.Sort(out)
	return out
}

// checkTopics asks for the current ids of topics (of every topic of g when
// nil) and notes them on g's partitions.
func (s *Source) checkTopics(ctx context.Context, g *generation, topics []string) error {
	if topics == nil {
		topics = topicsOf(g)
	}
	if len(topics) == 0 {
		return nil
	}
	ids, err := s.topicIDs(ctx, topics)
	if err != nil {
		return err
	}
	s.noteTopicIDs(ctx, g, ids)
	return nil
}

// noteTopicIDs compares the current ids of topics with those g's
// partitions were read under. The first id a partition sees in a
// generation is its own; a partition of a topic whose id changed since is
// marked recreated — its fetcher restarts it from StartOffset, and its
// offsets are not committed until then — and the change is logged once per
// topic, naming its partitions. The ids a topic had before are retired:
// metadata requests go to one broker after another, and one that is behind
// may still report the old id; that is not another recreation.
func (s *Source) noteTopicIDs(ctx context.Context, g *generation, ids map[string]topicID) {
	type change struct {
		old, cur topicID
		parts    []string
	}
	var changes map[string]*change
	s.mu.Lock()
	for _, p := range g.parts {
		id, ok := ids[p.tp.Topic]
		if !ok || slices.Contains(s.retiredIDs[p.tp.Topic], id) {
			continue
		}
		switch {
		case p.topicID == (topicID{}):
			p.topicID = id
		case p.topicID != id && p.nextID != id:
			s.retireIDs(p.tp.Topic, p.topicID, p.nextID)
			p.nextID = id
			p.recreated.Store(true)
			if changes == nil {
				changes = make(map[string]*change)
			}
			c := changes[p.tp.Topic]
			if c == nil {
				c = &change{old: p.topicID, cur: id}
				changes[p.tp.Topic] = c
			}
			c.parts = append(c.parts, p.tp.String())
		}
	}
	s.mu.Unlock()
	for _, t := range slices.Sorted(maps.Keys(changes)) {
		c := changes[t]
		s.log.WarnContext(ctx, "kafka: the topic was deleted and created again (its topic id changed); restarting its partitions from start_offset",
			"topic", t, "partitions", strings.Join(c.parts, " "), "previous_topic_id", c.old.String(), "topic_id", c.cur.String(),
			"start_offset", s.opt.StartOffset)
	}
}

// retireIDs notes ids (zero ones aside) as ids topic had before it was
// created again. Under s.mu.
func (s *Source) retireIDs(topic string, ids ...topicID) {
	for _, id := range ids {
		if id == (topicID{}) || slices.Contains(s.retiredIDs[topic], id) {
			continue
		}
		if s.retiredIDs == nil {
			s.retiredIDs = make(map[string][]topicID)
		}
		s.retiredIDs[topic] = append(s.retiredIDs[topic], id)
	}
}

// topicLoop checks the ids of g's topics every topicCheckInterval until g
// ends, so that a recreation is noticed by a partition that fetches without
// an error (the new topic already holds its position) or waits at an
// offset the new topic has not reached. The first failure of a run is
// logged at Warn (while the ids cannot be checked, a recreation is noticed
// only by a position past the end of the new log), the rest at Debug.
func (s *Source) topicLoop(ctx context.Context, g *generation) {
	t := time.NewTicker(s.opt.topicCheckInterval())
	defer t.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, checkTimeout)
		err := s.checkTopics(cctx, g, nil)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			failures++
			level := slog.LevelWarn
			if failures > 1 {
				level = slog.LevelDebug
			}
			s.log.Log(ctx, level, "kafka: checking the topic ids failed; retrying (a topic deleted and created again may go unnoticed meanwhile)",
				"generation", g.kgen.ID, "attempts", failures, "err", err)
		case failures > 0:
			s.log.Info("kafka: checking the topic ids works again", "generation", g.kgen.ID, "failed_attempts", failures)
			failures = 0
		}
	}
}
