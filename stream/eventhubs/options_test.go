package eventhubs

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
)

var update = flag.Bool("update", false, "rewrite golden files")

// Secrets used by the option tests; none is real.
const (
	testKey    = "c2VjcmV0LWtleS1ub3QtcmVhbC0xMjM0NTY3ODkwYWJjZA=="
	testConn   = "Endpoint=sb://contoso-sec.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=" + testKey
	testBlobKy = "YmxvYi1rZXktbm90LXJlYWwtMDk4NzY1NDMyMWFiY2RlZg=="
	testBlob   = "DefaultEndpointsProtocol=https;AccountName=contosock;AccountKey=" + testBlobKy + ";EndpointSuffix=core.windows.net"
	testSAS    = "sv=2024-08-04&sr=c&sp=racwdl&se=2030-01-01T00%3A00%3A00Z&sig=c2FzLXNpZ25hdHVyZS1ub3QtcmVhbA%3D%3D"
)

func TestResolve(t *testing.T) {
	base := Options{Hub: "defender", ConnectionString: testConn, CheckpointConnectionString: testBlob, CheckpointContainer: "iocwatch"}
	with := func(f func(*Options)) Options {
		o := base
		f(&o)
		return o
	}
	tests := []struct {
		name    string
		opt     Options
		wantErr []string // substrings, all required; nil means success
		check   func(t *testing.T, r resolved)
	}{
		{
			name: "a connection string, a hub and a checkpoint container are enough; the rest defaults",
			opt:  base,
			check: func(t *testing.T, r resolved) {
				if r.namespace != "contoso-sec.servicebus.windows.net" || r.hub != "defender" || r.ConsumerGroup != "$Default" ||
					r.StartPosition != "latest" || r.strategy != azeventhubs.ProcessorStrategyBalanced ||
					r.CheckpointInterval != 5*time.Second || r.CheckpointCount != 1000 || r.MaxBatchEvents != 500 ||
					r.UpdateInterval != 10*time.Second || r.PartitionExpiration != time.Minute || r.needsCredential || r.Logger == nil {
					t.Errorf("defaults not applied: %+v", r)
				}
			},
		},
		{
			name: "the hub may come from the connection string's EntityPath",
			opt:  with(func(o *Options) { o.Hub = ""; o.ConnectionString = testConn + ";EntityPath=defender" }),
			check: func(t *testing.T, r resolved) {
				if r.hub != "defender" {
					t.Errorf("hub %q, want defender", r.hub)
				}
			},
		},
		{
			name:    "a hub that differs from the EntityPath is refused",
			opt:     with(func(o *Options) { o.ConnectionString = testConn + ";EntityPath=other" }),
			wantErr: []string{`hub: "defender" differs from the connection string's EntityPath "other"`},
		},
		{
			name:    "a namespace that differs from the connection string's endpoint is refused",
			opt:     with(func(o *Options) { o.Namespace = "fabrikam" }),
			wantErr: []string{`namespace: "fabrikam.servicebus.windows.net" differs`},
		},
		{
			name: "with a credential a short namespace is completed with the public cloud's suffix",
			opt:  with(func(o *Options) { o.ConnectionString = ""; o.Namespace = "contoso-sec" }),
			check: func(t *testing.T, r resolved) {
				if r.namespace != "contoso-sec.servicebus.windows.net" || !r.needsCredential {
					t.Errorf("namespace %q needsCredential %v", r.namespace, r.needsCredential)
				}
			},
		},
		{
			name: "a namespace pasted as a URL keeps only its host",
			opt: with(func(o *Options) {
				o.ConnectionString = ""
				o.Namespace = "sb://contoso-sec.servicebus.usgovcloudapi.net/"
			}),
			check: func(t *testing.T, r resolved) {
				if r.namespace != "contoso-sec.servicebus.usgovcloudapi.net" {
					t.Errorf("namespace %q", r.namespace)
				}
			},
		},
		{
			name: "a namespace pasted with a path (the hub's endpoint) keeps only its host",
			opt: with(func(o *Options) {
				o.ConnectionString = ""
				o.Namespace = "sb://contoso-sec.servicebus.windows.net/defender"
			}),
			check: func(t *testing.T, r resolved) {
				if r.namespace != "contoso-sec.servicebus.windows.net" {
					t.Errorf("namespace %q, want contoso-sec.servicebus.windows.net", r.namespace)
				}
			},
		},
		{
			name: "a namespace pasted with a path agrees with the connection string's endpoint",
			opt:  with(func(o *Options) { o.Namespace = "sb://contoso-sec.servicebus.windows.net/defender" }),
			check: func(t *testing.T, r resolved) {
				if r.namespace != "contoso-sec.servicebus.windows.net" {
					t.Errorf("namespace %q, want contoso-sec.servicebus.windows.net", r.namespace)
				}
			},
		},
		{
			name:    "without a connection string the namespace is required",
			opt:     with(func(o *Options) { o.ConnectionString = "" }),
			wantErr: []string{"namespace: required when no connection string is given"},
		},
		{
			name:    "a hub is required",
			opt:     with(func(o *Options) { o.Hub = "" }),
			wantErr: []string{"hub: required"},
		},
		{
			name:    "a malformed connection string is reported without its content",
			opt:     with(func(o *Options) { o.ConnectionString = "SharedAccessKey=" + testKey }),
			wantErr: []string{"connection_string:", `"Endpoint" must not be empty`},
		},
		{
			name:    "a checkpoint store is required",
			opt:     with(func(o *Options) { o.CheckpointConnectionString = "" }),
			wantErr: []string{"checkpoint: a checkpoint container is required"},
		},
		{
			name:    "a checkpoint connection string needs a container name",
			opt:     with(func(o *Options) { o.CheckpointContainer = "" }),
			wantErr: []string{"checkpoint.container: required with checkpoint.connection_string"},
		},
		{
			name: "a checkpoint connection string and a container URL are not both allowed",
			opt: with(func(o *Options) {
				o.CheckpointContainerURL = "https://contosock.blob.core.windows.net/iocwatch"
			}),
			wantErr: []string{"checkpoint: set either"},
		},
		{
			name: "a container URL without a SAS uses the credential",
			opt: with(func(o *Options) {
				o.CheckpointConnectionString, o.CheckpointContainer = "", ""
				o.CheckpointContainerURL = "https://contosock.blob.core.windows.net/iocwatch"
			}),
			check: func(t *testing.T, r resolved) {
				if !r.needsCredential || r.containerURLSAS || r.checkpointTarget != "container https://contosock.blob.core.windows.net/iocwatch" {
					t.Errorf("needsCredential %v sas %v target %q", r.needsCredential, r.containerURLSAS, r.checkpointTarget)
				}
			},
		},
		{
			name: "a container URL with a SAS needs no credential and never names the SAS",
			opt: with(func(o *Options) {
				o.CheckpointConnectionString, o.CheckpointContainer = "", ""
				o.CheckpointContainerURL = "https://contosock.blob.core.windows.net/iocwatch?" + testSAS
			}),
			check: func(t *testing.T, r resolved) {
				if r.needsCredential || !r.containerURLSAS || strings.Contains(r.checkpointTarget, "sig") {
					t.Errorf("needsCredential %v sas %v target %q", r.needsCredential, r.containerURLSAS, r.checkpointTarget)
				}
			},
		},
		{
			name: "a SAS written after # in the container URL is refused without showing it",
			opt: with(func(o *Options) {
				o.CheckpointConnectionString, o.CheckpointContainer = "", ""
				o.CheckpointContainerURL = "https://contosock.blob.core.windows.net/iocwatch#" + testSAS
			}),
			wantErr: []string{"checkpoint.container_url: must not hold a #fragment: it is never sent to the storage account (a SAS token after # is not a SAS)"},
		},
		{
			name: "a SAS query followed by a fragment is refused",
			opt: with(func(o *Options) {
				o.CheckpointConnectionString, o.CheckpointContainer = "", ""
				o.CheckpointContainerURL = "https://contosock.blob.core.windows.net/iocwatch?" + testSAS + "#x"
			}),
			wantErr: []string{"checkpoint.container_url: must not hold a #fragment"},
		},
		{
			name: "a plain fragment in the container URL is refused",
			opt: with(func(o *Options) {
				o.CheckpointConnectionString, o.CheckpointContainer = "", ""
				o.CheckpointContainerURL = "https://contosock.blob.core.windows.net/iocwatch#frag"
			}),
			wantErr: []string{"checkpoint.container_url: must not hold a #fragment"},
		},
		{
			name: "an empty fragment in the container URL is refused",
			opt: with(func(o *Options) {
				o.CheckpointConnectionString, o.CheckpointContainer = "", ""
				o.CheckpointContainerURL = "https://contosock.blob.core.windows.net/iocwatch#"
			}),
			wantErr: []string{"checkpoint.container_url: must not hold a #fragment"},
		},
		{
			name: "a fragment before the container's path is refused as a fragment",
			opt: with(func(o *Options) {
				o.CheckpointConnectionString, o.CheckpointContainer = "", ""
				o.CheckpointContainerURL = "https://contosock.blob.core.windows.net#/iocwatch?" + testSAS
			}),
			wantErr: []string{"checkpoint.container_url: must not hold a #fragment"},
		},
		{
			name: "a container URL without a container is refused",
			opt: with(func(o *Options) {
				o.CheckpointConnectionString, o.CheckpointContainer = "", ""
				o.CheckpointContainerURL = "https://contosock.blob.core.windows.net/?" + testSAS
			}),
			wantErr: []string{"checkpoint.container_url: want https://"},
		},
		{
			name: "a container name that contradicts the container URL is refused",
			opt: with(func(o *Options) {
				o.CheckpointConnectionString = ""
				o.CheckpointContainerURL = "https://contosock.blob.core.windows.net/other"
			}),
			wantErr: []string{`checkpoint.container: "iocwatch" is not the container of container_url`},
		},
		{
			name: "start position and load balancing are case-insensitive words",
			opt:  with(func(o *Options) { o.StartPosition = "Earliest"; o.LoadBalancing = "GREEDY" }),
			check: func(t *testing.T, r resolved) {
				if !r.startEarliest || r.strategy != azeventhubs.ProcessorStrategyGreedy {
					t.Errorf("earliest %v strategy %v", r.startEarliest, r.strategy)
				}
			},
		},
		{
			name:    "an unknown start position is refused",
			opt:     with(func(o *Options) { o.StartPosition = "middle" }),
			wantErr: []string{`start_position: "middle": want earliest or latest`},
		},
		{
			name:    "an unknown load-balancing strategy is refused",
			opt:     with(func(o *Options) { o.LoadBalancing = "random" }),
			wantErr: []string{`load_balancing: "random": want balanced or greedy`},
		},
		{
			name:    "prefetch above the client's session window is refused",
			opt:     with(func(o *Options) { o.Prefetch = 5001 }),
			wantErr: []string{"prefetch: 5001 exceeds the client's limit of 5000"},
		},
		{
			name:    "batches above the client's credit window are refused",
			opt:     with(func(o *Options) { o.MaxBatchEvents = 5001 }),
			wantErr: []string{"max_batch_events: 5001 exceeds"},
		},
		{
			name:    "a partition expiration not above the update interval is refused",
			opt:     with(func(o *Options) { o.UpdateInterval = 30 * time.Second; o.PartitionExpiration = 20 * time.Second }),
			wantErr: []string{"partition_expiration: 20s must exceed update_interval 30s"},
		},
		{
			name: "every problem is reported at once, each with its key",
			opt: with(func(o *Options) {
				o.Hub = ""
				o.StartPosition = "x"
				o.CheckpointCount = -1
				o.CheckpointInterval = -time.Second
				o.MaxBatchEvents = -1
			}),
			wantErr: []string{"hub: required", "start_position:", "checkpoint_count: -1 is negative", "checkpoint_interval: -1s is negative", "max_batch_events: -1 is negative"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			red := newRedactor(tt.opt.ConnectionString, tt.opt.CheckpointConnectionString, tt.opt.CheckpointContainerURL)
			r, err := tt.opt.resolve()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("resolve: %v", err)
				}
				if tt.check != nil {
					tt.check(t, r)
				}
				return
			}
			if err == nil {
				t.Fatalf("resolve succeeded, want an error with %q", tt.wantErr)
			}
			msg := red.Err(err).Error()
			for _, w := range tt.wantErr {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			for _, sec := range []string{testKey, testBlobKy, "c2FzLXNpZ25hdHVyZS1ub3QtcmVhbA"} {
				if strings.Contains(msg, sec) {
					t.Errorf("error %q contains a secret", msg)
				}
			}
			if strings.Contains(tt.opt.CheckpointContainerURL, "#") && strings.Contains(msg, "contosock") {
				t.Errorf("error %q shows the container URL, which holds a fragment", msg)
			}
		})
	}
}

// The printed forms of Options are pinned by a golden file; none may show a
// secret.
func TestOptionsPrintRedacted(t *testing.T) {
	opt := Options{
		Namespace: "contoso-sec", Hub: "defender", ConsumerGroup: "iocwatch",
		ConnectionString: testConn, CheckpointConnectionString: testBlob, CheckpointContainer: "iocwatch",
		CheckpointContainerURL: "https://contosock.blob.core.windows.net/iocwatch?" + testSAS,
		StartPosition:          "earliest", LoadBalancing: "greedy", Prefetch: 1000,
		CheckpointInterval: 10 * time.Second, CheckpointCount: 5000, MaxBatchEvents: 1000,
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})).Info("config", "eventhubs", opt)
	got := fmt.Sprintf("String: %s\n%%v: %v\n%%+v: %+v\n%%#v: %#v\nslog: %s", opt.String(), opt, opt, opt, logged.String())
	for _, sec := range []string{testKey, testBlobKy, "c2FzLXNpZ25hdHVyZS1ub3QtcmVhbA", "SharedAccessKey", "AccountKey"} {
		if strings.Contains(got, sec) {
			t.Errorf("printed Options contain %q:\n%s", sec, got)
		}
	}
	golden := filepath.Join("testdata", "options_print.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("printed Options differ from %s:\ngot:\n%s\nwant:\n%s", golden, got, want)
	}
}
