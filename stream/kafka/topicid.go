package kafka

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
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
// A check that cannot answer stops no commit: a commit waits for its
// check at most commitCheckWait and is made without it (the check goes
// on, and a late answer is acted on: see commitCheck), and once a topic's
// last successful check is older than idFreshFor a Warn says that
// recreation detection is impaired (see idChecks). Brokers that report no
// ids (older Kafka, some Kafka-compatible services) leave only the
// past-the-end check.

// defaultTopicCheck is how often the ids of a generation's topics are
// checked when Options.topicCheck is 0.
const defaultTopicCheck = 5 * time.Second

// checkTimeout bounds one check of the topic ids, retries included: a
// fetcher that connects, or the periodic check, waits no longer for one.
const checkTimeout = 5 * time.Second

// commitCheckWait bounds how long a commit waits for its check of the
// topic ids. A broker answers one in milliseconds, and a new connection
// with TLS and SASL takes a few round trips; a commit whose check has not
// answered by then is made without it (see idChecks), so that a check
// that cannot answer neither stops the commits nor holds Close for the
// whole checkTimeout.
const commitCheckWait = time.Second

// uncheckedLogEvery is how often, per topic, commits made without a check
// while its recreation detection is impaired are logged at Warn.
const uncheckedLogEvery = time.Minute

// idFreshFor is how long a successful check of a topic's id stands in for
// a fresh one when a commit's own check cannot answer: the check interval
// plus a margin of two more, 15 s by default. The checks run every
// interval, and one that hangs is given up after checkTimeout, which is
// not longer than the interval (both 5 s): within the window one round of
// checks may fail — even hang for its whole timeout — and the next one
// come late, as a broker restart or a moving leader make them, without
// that counting as an outage. Past it, two rounds in a row went
// unanswered: recreation detection is impaired, and a Warn says so.
func (o *Options) idFreshFor() time.Duration { return 3 * o.topicCheckInterval() }

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
	_, err := s.checkTopicIDs(ctx, g, topics)
	return err
}

// checkTopicIDs is checkTopics, also returning the topics whose id the
// check did not learn: all of them when it failed, those the answer did
// not report an id for (an error for the topic, a topic that does not
// exist) when it did not. The topics it learned are noted as checked now.
func (s *Source) checkTopicIDs(ctx context.Context, g *generation, topics []string) (missing []string, err error) {
	if topics == nil {
		topics = topicsOf(g)
	}
	if len(topics) == 0 {
		return nil, nil
	}
	ids, err := s.topicIDs(ctx, topics)
	if err != nil {
		return topics, err
	}
	s.noteTopicIDs(ctx, g, ids)
	for _, r := range s.checks.answered(topics, ids) {
		s.log.InfoContext(ctx, "kafka: the topic id is checked again; recreation detection works again",
			"topic", r.topic, "unchecked_since", formatSince(r.since), "unchecked_for", roundAge(r.age),
			"commits_without_check", r.commits)
	}
	for _, t := range topics {
		if _, ok := ids[t]; !ok {
			missing = append(missing, t)
		}
	}
	return missing, nil
}

// commitCheck checks the ids of topics for a commit of g, waiting for the
// answer at most commitCheckWait. It returns what checkTopicIDs returns, or,
// without an answer by then, all of topics and an error saying so. The
// check goes on in the background until it is answered or checkTimeout
// passes: a late answer that reports a topic deleted and created again
// still marks its partitions, whose fetchers restart them and commit their
// new start over an offset of the old topic committed without the answer.
func (s *Source) commitCheck(g *generation, topics []string) (missing []string, err error) {
	type result struct {
		missing []string
		err     error
	}
	done := make(chan result, 1)
	s.lateChecks.Add(1)
	go func() {
		defer s.lateChecks.Done()
		ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
		defer cancel()
		m, err := s.checkTopicIDs(ctx, g, topics)
		done <- result{m, err}
	}()
	wait := time.NewTimer(commitCheckWait)
	defer wait.Stop()
	select {
	case r := <-done:
		return r.missing, r.err
	case <-wait.C:
		return topics, fmt.Errorf("kafka: topic ids of %s: no answer within %s (still asking, for up to %s)",
			strings.Join(topics, ", "), commitCheckWait, checkTimeout)
	}
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

// idChecks keeps, per topic, when a check last learned its id and how many
// commits were made since without a fresh answer, for the log lines that
// say that recreation detection is impaired and when it works again. Safe
// for concurrent use. New sets fresh and every.
type idChecks struct {
	now   func() time.Time // time.Now when nil
	fresh time.Duration    // a check this recent stands in for a fresh one
	every time.Duration    // impaired warnings, per topic, at most this often

	mu     sync.Mutex
	topics map[string]*idCheck
}

// idCheck is the state of one topic's checks.
type idCheck struct {
	ok       time.Time // the last check that learned the id; zero: none
	warned   time.Time // the last impaired Warn since ok; zero: none
	commits  int64     // commits made without a fresh check since ok
	sinceLog int64     // of those, since the last Warn
}

// idNote is what one topic's line says: a commit made without a fresh
// check of its id, or, from answered, that its checks answer again.
type idNote struct {
	topic   string
	since   time.Time     // the last check that learned the id; zero: none
	age     time.Duration // how long ago that was; 0 when since is zero
	commits int64         // commits without a check the line speaks for
	level   slog.Level    // Warn: impaired, and due to be said; else Debug
}

func (c *idChecks) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

// state returns topic's state, creating it. Under c.mu.
func (c *idChecks) state(topic string) *idCheck {
	st := c.topics[topic]
	if st == nil {
		if c.topics == nil {
			c.topics = make(map[string]*idCheck)
		}
		st = &idCheck{}
		c.topics[topic] = st
	}
	return st
}

// learned reports whether a check learned topic's id before (in any
// generation): the brokers report ids for it.
func (c *idChecks) learned(topic string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.topics[topic]
	return st != nil && !st.ok.IsZero()
}

// answered notes that a check of topics learned the ids in ids. It returns
// the topics whose recreation detection was reported impaired and now
// works again.
func (c *idChecks) answered(topics []string, ids map[string]topicID) []idNote {
	now := c.clock()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []idNote
	for _, t := range topics {
		if _, ok := ids[t]; !ok {
			continue
		}
		st := c.state(t)
		if !st.warned.IsZero() {
			out = append(out, idNote{topic: t, since: st.ok, age: age(now, st.ok), commits: st.commits, level: slog.LevelInfo})
		}
		*st = idCheck{ok: now}
	}
	return out
}

// unchecked notes a commit of topics made without a fresh check of their
// ids, and returns a line per topic: at Warn when its last successful
// check is older than fresh and no Warn was logged for it in the last
// every, else at Debug.
func (c *idChecks) unchecked(topics []string) []idNote {
	now := c.clock()
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]idNote, 0, len(topics))
	for _, t := range topics {
		st := c.state(t)
		st.commits++
		st.sinceLog++
		n := idNote{topic: t, since: st.ok, age: age(now, st.ok), commits: st.commits, level: slog.LevelDebug}
		impaired := st.ok.IsZero() || n.age > c.fresh
		if impaired && (st.warned.IsZero() || now.Sub(st.warned) >= c.every) {
			n.level, n.commits = slog.LevelWarn, st.sinceLog
			st.warned, st.sinceLog = now, 0
		}
		out = append(out, n)
	}
	return out
}

// age is how long before now t was; 0 for a zero t.
func age(now, t time.Time) time.Duration {
	if t.IsZero() {
		return 0
	}
	return now.Sub(t)
}

// roundAge formats a duration for a log line, to a tenth of a second.
func roundAge(d time.Duration) string { return d.Round(100 * time.Millisecond).String() }

// formatSince formats when a topic's id was last checked.
func formatSince(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

// noteUncheckedCommit counts and logs a commit made without a fresh check
// of topics' ids (why: the check's error, or nil when the answer had no
// id for them): at Debug while their last successful check is recent; once
// it is not, at Warn — per topic at most once every uncheckedLogEvery — as
// a topic deleted and created again may go unnoticed, and an offset of the
// old topic be committed on the new one.
func (s *Source) noteUncheckedCommit(g *generation, topics []string, why error) {
	s.nUncheckedCommits.Add(1)
	if why == nil {
		why = errors.New("the answer reported no id for the topic")
	}
	for _, n := range s.checks.unchecked(topics) {
		if n.level == slog.LevelWarn {
			s.log.Warn("kafka: the topic id cannot be checked; offsets are committed without the check and recreation detection is impaired (a topic deleted and created again may go unnoticed)",
				"topic", n.topic, "unchecked_since", formatSince(n.since), "unchecked_for", roundAge(n.age),
				"commits_without_check", n.commits, "generation", g.kgen.ID, "err", why)
			continue
		}
		s.log.Debug("kafka: offsets committed without a fresh check of the topic id",
			"topic", n.topic, "last_checked", formatSince(n.since), "generation", g.kgen.ID, "err", why)
	}
}
