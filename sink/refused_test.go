package sink_test

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/sink"
)

// poisonReceiver accepts every alert but those whose alert_id starts with
// "poison" (a 400 for the request holding one); it records the accepted
// ids. hold, when set, makes the request for alert "first" wait on it.
func poisonReceiver(t *testing.T, hold chan struct{}) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ids []string
		for _, part := range strings.Split(string(body), `"alert_id":"`)[1:] {
			id, _, _ := strings.Cut(part, `"`)
			ids = append(ids, id)
		}
		if hold != nil && slices.Contains(ids, "first") {
			<-hold
		}
		for _, id := range ids {
			if strings.HasPrefix(id, "poison") {
				http.Error(w, `{"text":"Invalid data format in `+id+`","code":6}`, http.StatusBadRequest)
				return
			}
		}
		mu.Lock()
		got = append(got, ids...)
		mu.Unlock()
		w.Write([]byte(`{"text":"Success","code":0}`))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Sorted(slices.Values(got))
	}
}

// openTestDeadLetter opens a dead-letter file in a temporary directory,
// closed when the test ends.
func openTestDeadLetter(t *testing.T) (*sink.DeadLetter, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dead.jsonl")
	dl, err := sink.OpenDeadLetter(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dl.Close() })
	return dl, path
}

func idAlerts(ids ...string) []sink.Alert {
	out := make([]sink.Alert, len(ids))
	for i, id := range ids {
		out[i] = sink.Alert{AlertID: id, DetectedAt: time.Unix(1700000000, 0), Timestamp: time.Unix(1700000000, 0)}
	}
	return out
}

func deadLetteredIDs(t *testing.T, path string) []string {
	var ids []string
	for _, d := range readDeadLetters(t, path) {
		var a struct {
			ID string `json:"alert_id"`
		}
		if err := json.Unmarshal(d.Alert, &a); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	slices.Sort(ids)
	return ids
}

// One alert a receiver refuses for good is dead-lettered alone: the others
// of the same Write — and of other Writes the queue merged with it — are
// delivered, not filed with it.
func TestARefusedAlertIsDeadLetteredAloneAndItsNeighboursDelivered(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(url string) (sink.Sink, error)
	}{
		{"webhook one alert per request", func(url string) (sink.Sink, error) { return sink.NewWebhook(sink.WebhookOptions{URL: url}) }},
		{"webhook batches of 2", func(url string) (sink.Sink, error) {
			return sink.NewWebhook(sink.WebhookOptions{URL: url, Batch: true, MaxBatch: 2})
		}},
		{"splunk_hec requests of 2", func(url string) (sink.Sink, error) {
			return sink.NewHEC(sink.HECOptions{URL: url, Token: "t", MaxBatchBytes: 700})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hold := make(chan struct{})
			srv, delivered := poisonReceiver(t, hold)
			s, err := tc.open(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			dl, dlPath := openTestDeadLetter(t)
			q := sink.WithQueue(sink.WithDeadLetter(sink.WithRetry(s, sink.RetryPolicy{}), "soar", dl), 1024)
			// The first Write holds the receiver while two more queue up
			// and are merged into one downstream Write.
			var wg sync.WaitGroup
			errs := make([]error, 3)
			wg.Go(func() { errs[0] = q.Write(context.Background(), idAlerts("first", "first-b")) })
			time.Sleep(100 * time.Millisecond)
			wg.Go(func() { errs[1] = q.Write(context.Background(), idAlerts("good1", "poison1")) })
			wg.Go(func() { errs[2] = q.Write(context.Background(), idAlerts("good2", "good3")) })
			time.Sleep(100 * time.Millisecond)
			close(hold)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("Write %d: %v", i, err)
				}
			}
			if err := q.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			got, dead := delivered(), deadLetteredIDs(t, dlPath)
			// In batches, a refused request takes its batch-mate with it.
			wantDead := []string{"poison1"}
			if tc.name != "webhook one alert per request" {
				wantDead = []string{"good1", "poison1"}
			}
			if !slices.Equal(dead, wantDead) {
				t.Errorf("dead-lettered %v, want %v", dead, wantDead)
			}
			for _, id := range []string{"first", "first-b", "good2", "good3"} {
				if !slices.Contains(got, id) {
					t.Errorf("%s not delivered (delivered %v)", id, got)
				}
			}
		})
	}
}

// Every dead-lettered alert carries the error of its own request, not a
// summary of the Write it was part of.
func TestEachRefusedAlertIsDeadLetteredWithItsOwnReason(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(url string) (sink.Sink, error)
		want map[string]string // dead-lettered alert -> the id its error names
	}{
		{"webhook one alert per request", func(url string) (sink.Sink, error) { return sink.NewWebhook(sink.WebhookOptions{URL: url}) },
			map[string]string{"poison1": "poison1", "poison2": "poison2"}},
		{"webhook batches of 2", func(url string) (sink.Sink, error) {
			return sink.NewWebhook(sink.WebhookOptions{URL: url, Batch: true, MaxBatch: 2})
		}, map[string]string{"poison1": "poison1", "good1": "poison1", "poison2": "poison2", "good2": "poison2"}},
		{"splunk_hec requests of 2", func(url string) (sink.Sink, error) {
			return sink.NewHEC(sink.HECOptions{URL: url, Token: "t", MaxBatchBytes: 700})
		}, map[string]string{"poison1": "poison1", "good1": "poison1", "poison2": "poison2", "good2": "poison2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, delivered := poisonReceiver(t, nil)
			s, err := tc.open(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			dl, dlPath := openTestDeadLetter(t)
			out := sink.WithDeadLetter(s, "soar", dl)
			if err := out.Write(context.Background(), idAlerts("good1", "poison1", "good2", "poison2", "good3")); err != nil {
				t.Fatal(err)
			}
			if err := out.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, d := range readDeadLetters(t, dlPath) {
				var a struct {
					ID string `json:"alert_id"`
				}
				if err := json.Unmarshal(d.Alert, &a); err != nil {
					t.Fatal(err)
				}
				names := ""
				for _, id := range []string{"poison1", "poison2"} {
					if strings.Contains(d.Error, "in "+id) {
						names += id
					}
				}
				if strings.Contains(d.Error, "alerts refused") {
					t.Errorf("%s: error %q summarises the Write", a.ID, d.Error)
				}
				got[a.ID] = names
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("dead-lettered alert -> refusal named: %v, want %v", got, tc.want)
			}
			if d := delivered(); !slices.Contains(d, "good3") {
				t.Errorf("good3 not delivered (delivered %v)", d)
			}
		})
	}
}
