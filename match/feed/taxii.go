package feed

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// taxiiMediaType is the TAXII 2.1 media type sent in Accept.
const taxiiMediaType = "application/taxii+json;version=2.1"

// maxTAXIIPages bounds one poll, against a server that never says "no more".
const maxTAXIIPages = 10000

// taxiiEnvelope is the body of a TAXII 2.1 "Get Objects" response.
type taxiiEnvelope struct {
	More    bool              `json:"more"`
	Next    string            `json:"next"`
	Objects []json.RawMessage `json:"objects"`
}

// parseEnvelope decodes a TAXII envelope; an empty body is an empty
// envelope. It never panics on input.
func parseEnvelope(data []byte) (*taxiiEnvelope, error) {
	var env taxiiEnvelope
	if len(bytes.TrimSpace(data)) == 0 {
		return &env, nil
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("not a TAXII envelope: %w", err)
	}
	return &env, nil
}

// stixHead is what the store needs of a STIX object.
type stixHead struct {
	Type     string `json:"type"`
	ID       string `json:"id"`
	Modified string `json:"modified"`
}

// taxiiObject is one STIX object kept for a collection: its latest version
// and when a poll last returned it.
type taxiiObject struct {
	raw      json.RawMessage
	typ      string
	modified time.Time
	seen     time.Time
}

// taxiiStore is the accumulated content of a collection: a TAXII poll
// returns only what was added since the cursor, so the objects are kept,
// one (the latest) version per id. Not safe for concurrent mutation.
type taxiiStore struct {
	objects    map[string]*taxiiObject
	addedAfter string // the cursor: X-TAXII-Date-Added-Last of the last poll
}

// merge returns a new store: s plus objs (seen at now), a newer or equal
// version replacing an older one (a revoked version too, which the loader
// then skips), and, when ttl > 0, without the indicators not seen for ttl.
// Objects without an id are counted in bad; changed counts the objects
// added, replaced by different text or pruned (an object returned again
// as it was is only seen again).
func (s *taxiiStore) merge(objs []json.RawMessage, now time.Time, ttl time.Duration, cursor string) (next *taxiiStore, bad, changed int) {
	next = &taxiiStore{objects: make(map[string]*taxiiObject, len(s.objects)+len(objs)), addedAfter: s.addedAfter}
	for id, o := range s.objects {
		next.objects[id] = o
	}
	if cursor != "" {
		next.addedAfter = cursor
	}
	for _, raw := range objs {
		var h stixHead
		if err := json.Unmarshal(raw, &h); err != nil || h.ID == "" || h.Type == "" {
			bad++
			continue
		}
		mod, _ := time.Parse(time.RFC3339Nano, h.Modified)
		old, ok := next.objects[h.ID]
		if ok && !mod.IsZero() && mod.Before(old.modified) {
			continue // an older version than the one kept
		}
		if ok && bytes.Equal(old.raw, raw) {
			// The same object again (a server that does not move the
			// cursor): only seen again.
			o := *old
			o.seen = now
			next.objects[h.ID] = &o
			continue
		}
		next.objects[h.ID] = &taxiiObject{raw: slices.Clone(raw), typ: h.Type, modified: mod, seen: now}
		changed++
	}
	changed += next.prune(now, ttl)
	return next, bad, changed
}

// prune drops indicators last seen ttl or more before now.
func (s *taxiiStore) prune(now time.Time, ttl time.Duration) (n int) {
	if ttl <= 0 {
		return 0
	}
	for id, o := range s.objects {
		if o.typ == "indicator" && !now.Before(o.seen.Add(ttl)) {
			delete(s.objects, id)
			n++
		}
	}
	return n
}

// bundle serialises the store as a STIX 2.1 bundle, objects sorted by id.
func (s *taxiiStore) bundle() []byte {
	ids := make([]string, 0, len(s.objects))
	size := 64
	for id, o := range s.objects {
		ids = append(ids, id)
		size += len(o.raw) + 1
	}
	slices.Sort(ids)
	b := bytes.NewBuffer(make([]byte, 0, size))
	b.WriteString(`{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[`)
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(s.objects[id].raw)
	}
	b.WriteString("]}")
	return b.Bytes()
}

// taxiiLine is one object of the store in the cache file.
type taxiiLine struct {
	Seen   time.Time       `json:"seen"`
	Object json.RawMessage `json:"object"`
}

// marshal writes the store as JSON lines, sorted by id, for the cache.
func (s *taxiiStore) marshal() ([]byte, error) {
	ids := make([]string, 0, len(s.objects))
	for id := range s.objects {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, id := range ids {
		o := s.objects[id]
		if err := enc.Encode(taxiiLine{Seen: o.seen, Object: o.raw}); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

// parseTAXIIStore reads a store back from its cache lines. It never
// panics on input; a bad line is an error (the cache is then not used).
func parseTAXIIStore(data []byte, addedAfter string) (*taxiiStore, error) {
	s := &taxiiStore{objects: map[string]*taxiiObject{}, addedAfter: addedAfter}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var l taxiiLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		var h stixHead
		if err := json.Unmarshal(l.Object, &h); err != nil || h.ID == "" {
			return nil, fmt.Errorf("line %d: not a STIX object with an id", line)
		}
		mod, _ := time.Parse(time.RFC3339Nano, h.Modified)
		s.objects[h.ID] = &taxiiObject{raw: l.Object, typ: h.Type, modified: mod, seen: l.Seen}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return s, nil
}

// taxiiClient polls one collection.
type taxiiClient struct {
	spec   *Spec
	client *http.Client
}

// objectsURL is <api-root>/collections/<id>/objects/.
func (t *taxiiClient) objectsURL() string {
	return strings.TrimSuffix(t.spec.URL, "/") + "/collections/" + url.PathEscape(t.spec.TAXII.Collection) + "/objects/"
}

// poll fetches every object added after addedAfter ("" for all), page by
// page: with `next` while the server gives one, else with added_after set
// to the X-TAXII-Date-Added-Last of the previous page. It returns the
// objects and the new cursor ("" when the server sent no date header).
func (t *taxiiClient) poll(ctx context.Context, addedAfter string) ([]json.RawMessage, string, error) {
	ctx, cancel := context.WithTimeout(ctx, t.spec.timeout())
	defer cancel()
	var (
		all    []json.RawMessage
		cursor string
		after  = addedAfter
		next   string
		seen   = map[string]bool{}
	)
	for page := 1; ; page++ {
		if page > maxTAXIIPages {
			return nil, "", fmt.Errorf("taxii %s: more than %d pages", t.spec.location(), maxTAXIIPages)
		}
		q := url.Values{}
		if after != "" {
			q.Set("added_after", after)
		}
		if next != "" {
			q.Set("next", next)
		}
		env, last, err := t.page(ctx, q)
		if err != nil {
			return nil, "", fmt.Errorf("taxii %s page %d: %w", t.spec.location(), page, err)
		}
		all = append(all, env.Objects...)
		if last != "" {
			cursor = last
		}
		if !env.More {
			break
		}
		key := next + "\x00" + after
		switch {
		case env.Next != "":
			next = env.Next
		case last != "":
			next, after = "", last
		default:
			return nil, "", fmt.Errorf("taxii %s page %d: more objects, but neither next nor X-TAXII-Date-Added-Last to ask for them", t.spec.location(), page)
		}
		if seen[key] {
			return nil, "", fmt.Errorf("taxii %s page %d: the server repeats the same page", t.spec.location(), page)
		}
		seen[key] = true
	}
	return all, cursor, nil
}

func (t *taxiiClient) page(ctx context.Context, q url.Values) (*taxiiEnvelope, string, error) {
	u := t.objectsURL()
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Accept", taxiiMediaType)
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept-Encoding", "gzip")
	for k, v := range t.spec.Headers {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	switch o := t.spec.TAXII; {
	case o.Token != "":
		req.Header.Set("Authorization", "Bearer "+o.Token)
	case o.Username != "" || o.Password != "":
		req.SetBasicAuth(o.Username, o.Password)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return nil, "", timeoutError(ctx, t.spec.timeout(), unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent {
		return &taxiiEnvelope{}, resp.Header.Get("X-TAXII-Date-Added-Last"), nil
	}
	if resp.StatusCode != http.StatusOK {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		return nil, "", fmt.Errorf("%s%s", resp.Status, bodySnippet(snippet))
	}
	max := t.spec.maxBytes()
	raw, err := readLimited(resp.Body, max, resp.ContentLength)
	if err != nil {
		return nil, "", fmt.Errorf("body: %w", timeoutError(ctx, t.spec.timeout(), err))
	}
	body, err := decodeBody(raw, resp.Header.Get("Content-Encoding"), max)
	if err != nil {
		return nil, "", err
	}
	if body.files != nil {
		return nil, "", fmt.Errorf("a zip archive of %d files, not a TAXII envelope", len(body.files))
	}
	env, err := parseEnvelope(body.data)
	if err != nil {
		return nil, "", err
	}
	return env, resp.Header.Get("X-TAXII-Date-Added-Last"), nil
}
