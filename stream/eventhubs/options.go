package eventhubs

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
)

// Defaults applied by New to zero fields of Options.
const (
	DefaultConsumerGroup      = "$Default"
	DefaultStartPosition      = "latest"
	DefaultLoadBalancing      = "balanced"
	DefaultCheckpointInterval = 5 * time.Second
	DefaultCheckpointCount    = 1000
	DefaultMaxBatchEvents     = 500

	// maxPrefetch is the SDK's cap on Prefetch (its session window).
	maxPrefetch = 5000
	// maxBatchEvents is the SDK's cap on one receive (its credit window).
	maxBatchEvents = 5000
	// namespaceSuffix completes a short namespace name ("contoso-sec").
	namespaceSuffix = ".servicebus.windows.net"
)

// Options configure a Source. The zero value is not usable: Hub (or an
// EntityPath in the connection string), a namespace or connection string, and
// a checkpoint container are required; every other field has a default.
//
// Options is a plain value: New copies it, and later changes have no
// effect. It holds secrets: its String, GoString and LogValue methods redact
// them, so printing or logging an Options is safe.
type Options struct {
	// Namespace is the Event Hubs namespace: "contoso-sec" (completed with
	// .servicebus.windows.net) or a fully qualified host name. Required with
	// a Credential; with a ConnectionString it is taken from the string's
	// Endpoint and, if set here too, must agree with it.
	Namespace string
	// Hub is the event hub the Defender streaming API exports to. It may be
	// left empty when ConnectionString has an EntityPath.
	Hub string
	// ConsumerGroup that the Source's replicas share. Default "$Default";
	// give iocwatch a consumer group of its own in production.
	ConsumerGroup string

	// ConnectionString authenticates to Event Hubs with a shared access
	// key or signature. When empty, Credential is used. Never logged.
	ConnectionString string
	// Credential authenticates to Event Hubs (when ConnectionString is
	// empty) and to the storage account (when the checkpoint store is given
	// by CheckpointContainerURL without a SAS). Nil means
	// azidentity.DefaultAzureCredential (environment, workload identity,
	// managed identity, Azure CLI). New asks it once for a token for each
	// of these uses, and fails when Microsoft Entra ID refuses it (400 or
	// 401) or no credential is available.
	Credential azcore.TokenCredential

	// CheckpointConnectionString and CheckpointContainer name the blob
	// container holding checkpoints and partition ownership, authenticated
	// by the storage account's connection string. Never logged.
	CheckpointConnectionString string
	CheckpointContainer        string
	// CheckpointContainerURL is the container's URL
	// ("https://acct.blob.core.windows.net/iocwatch"), used instead of a
	// connection string: with a SAS in its query, or with Credential.
	// Its query is never logged. A #fragment is refused: it is never sent,
	// so a SAS written after '#' would not reach the storage account.
	CheckpointContainerURL string

	// StartPosition is where a partition without a checkpoint is read from:
	// "latest" (default: only events enqueued from now on) or "earliest"
	// (everything the hub retains). With "latest" the replica that first
	// claims such a partition writes that start as its checkpoint, so later
	// owners resume from it.
	StartPosition string
	// LoadBalancing is how replicas share partitions: "balanced" (default:
	// claim one partition per update interval) or "greedy" (claim the whole
	// fair share at once; faster start, more partition moves).
	LoadBalancing string
	// Prefetch is how many events the client keeps buffered per partition.
	// 0 means the SDK default (300); negative disables prefetching; at most
	// 5000.
	Prefetch int32

	// CheckpointInterval is the longest an acknowledged event waits before
	// its partition's checkpoint is written. Default 5s.
	CheckpointInterval time.Duration
	// CheckpointCount writes a partition's checkpoint as soon as this many
	// acknowledged events wait for it. Default 1000.
	CheckpointCount int
	// MaxBatchEvents caps the messages of one batch returned by Read.
	// Default 500.
	MaxBatchEvents int

	// UpdateInterval is how often a replica renews its partition claims and
	// looks for partitions to take. 0 means the SDK default (10s).
	UpdateInterval time.Duration
	// PartitionExpiration is how long a claim lasts without renewal: after
	// it a crashed replica's partitions are taken over. 0 means the SDK
	// default (60s). Must exceed UpdateInterval.
	PartitionExpiration time.Duration

	// Logger receives one record per state change (partition claimed or
	// lost, start recorded, checkpoint failures, each failed attempt to
	// reach the checkpoint store, a partition that cannot be opened), never
	// one per event. Nil discards.
	Logger *slog.Logger

	// lagRefresh is how often Lag's last enqueued sequence numbers are
	// fetched; tests shorten it. 0 means 10s.
	lagRefresh time.Duration
	// storeRetryMin and storeRetryMax bound the back-off between attempts
	// when the checkpoint store fails the processor; tests shorten them.
	// 0 means 1s and 30s.
	storeRetryMin, storeRetryMax time.Duration
	// wrapStore, if set, wraps the checkpoint store (tests inject faults).
	wrapStore func(azeventhubs.CheckpointStore) azeventhubs.CheckpointStore
	// afterHubCheck, if set, is called once New has asked the hub for its
	// properties (tests count the management links the SDK opens).
	afterHubCheck func()
	// credentialCheck bounds New's token requests that check Credential;
	// tests shorten it. 0 means credentialCheckTimeout.
	credentialCheck time.Duration
}

// resolved is Options after defaults and validation.
type resolved struct {
	Options
	namespace        string // fully qualified
	hub              string
	containerURLSAS  bool // CheckpointContainerURL carries a SAS
	needsCredential  bool // Credential (or DefaultAzureCredential) is used
	startEarliest    bool // StartPosition == "earliest"
	strategy         azeventhubs.ProcessorStrategy
	checkpointTarget string // for messages: container name, or URL without query or credentials
}

// resolve applies defaults and checks every field, returning all problems
// at once, each prefixed with its field name.
func (o Options) resolve() (resolved, error) {
	r := resolved{Options: o}
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}

	r.hub = o.Hub
	r.namespace = qualify(o.Namespace)
	if o.ConnectionString != "" {
		props, err := azeventhubs.ParseConnectionString(o.ConnectionString)
		switch {
		case err != nil:
			// The parser's messages name keys, never their values.
			bad("connection_string", "%v", err)
		default:
			if props.EntityPath != nil && *props.EntityPath != "" {
				if r.hub != "" && r.hub != *props.EntityPath {
					bad("hub", "%q differs from the connection string's EntityPath %q", r.hub, *props.EntityPath)
				}
				r.hub = *props.EntityPath
			}
			if r.namespace != "" && !strings.EqualFold(r.namespace, props.FullyQualifiedNamespace) {
				bad("namespace", "%q differs from the connection string's endpoint %q", r.namespace, props.FullyQualifiedNamespace)
			}
			r.namespace = props.FullyQualifiedNamespace
		}
	} else {
		r.needsCredential = true
		if r.namespace == "" {
			bad("namespace", "required when no connection string is given")
		}
	}
	if r.hub == "" {
		bad("hub", "required (or an EntityPath in the connection string)")
	}
	if r.ConsumerGroup == "" {
		r.ConsumerGroup = DefaultConsumerGroup
	}

	switch {
	case o.CheckpointConnectionString != "" && o.CheckpointContainerURL != "":
		bad("checkpoint", "set either connection_string with container, or container_url, not both")
	case o.CheckpointConnectionString != "":
		if o.CheckpointContainer == "" {
			bad("checkpoint.container", "required with checkpoint.connection_string")
		}
		r.checkpointTarget = "container " + o.CheckpointContainer
	case o.CheckpointContainerURL != "":
		u, problem := containerURL(o.CheckpointContainerURL)
		if problem != "" {
			bad("checkpoint.container_url", "%s", problem)
			break
		}
		if o.CheckpointContainer != "" && strings.Trim(u.Path, "/") != o.CheckpointContainer &&
			!strings.HasSuffix(strings.Trim(u.Path, "/"), "/"+o.CheckpointContainer) {
			bad("checkpoint.container", "%q is not the container of container_url", o.CheckpointContainer)
		}
		r.containerURLSAS = u.Query().Get("sig") != ""
		if !r.containerURLSAS {
			r.needsCredential = true
		}
		// Messages name the container by its URL without what may be
		// secret in it: a query (a SAS), credentials. (A fragment was
		// refused above.)
		u.RawQuery, u.ForceQuery = "", false
		u.User = nil
		r.checkpointTarget = "container " + u.String()
	default:
		bad("checkpoint", "a checkpoint container is required (connection_string with container, or container_url)")
	}

	switch strings.ToLower(o.StartPosition) {
	case "", "latest":
		r.StartPosition = "latest"
	case "earliest":
		r.StartPosition = "earliest"
		r.startEarliest = true
	default:
		bad("start_position", "%q: want earliest or latest", o.StartPosition)
	}
	switch strings.ToLower(o.LoadBalancing) {
	case "", "balanced":
		r.LoadBalancing, r.strategy = "balanced", azeventhubs.ProcessorStrategyBalanced
	case "greedy":
		r.LoadBalancing, r.strategy = "greedy", azeventhubs.ProcessorStrategyGreedy
	default:
		bad("load_balancing", "%q: want balanced or greedy", o.LoadBalancing)
	}
	if o.Prefetch > maxPrefetch {
		bad("prefetch", "%d exceeds the client's limit of %d", o.Prefetch, maxPrefetch)
	}
	switch {
	case o.CheckpointInterval < 0:
		bad("checkpoint_interval", "%s is negative", o.CheckpointInterval)
	case o.CheckpointInterval == 0:
		r.CheckpointInterval = DefaultCheckpointInterval
	}
	switch {
	case o.CheckpointCount < 0:
		bad("checkpoint_count", "%d is negative", o.CheckpointCount)
	case o.CheckpointCount == 0:
		r.CheckpointCount = DefaultCheckpointCount
	}
	switch {
	case o.MaxBatchEvents < 0:
		bad("max_batch_events", "%d is negative", o.MaxBatchEvents)
	case o.MaxBatchEvents == 0:
		r.MaxBatchEvents = DefaultMaxBatchEvents
	case o.MaxBatchEvents > maxBatchEvents:
		bad("max_batch_events", "%d exceeds the client's limit of %d", o.MaxBatchEvents, maxBatchEvents)
	}
	if o.UpdateInterval < 0 {
		bad("update_interval", "%s is negative", o.UpdateInterval)
	}
	if o.PartitionExpiration < 0 {
		bad("partition_expiration", "%s is negative", o.PartitionExpiration)
	}
	update, expire := o.UpdateInterval, o.PartitionExpiration
	if update == 0 {
		update = 10 * time.Second
	}
	if expire == 0 {
		expire = time.Minute
	}
	if update > 0 && expire > 0 && expire <= update {
		bad("partition_expiration", "%s must exceed update_interval %s", expire, update)
	}
	r.UpdateInterval, r.PartitionExpiration = update, expire
	if r.lagRefresh <= 0 {
		r.lagRefresh = 10 * time.Second
	}
	if r.credentialCheck <= 0 {
		r.credentialCheck = credentialCheckTimeout
	}
	if r.storeRetryMin <= 0 {
		r.storeRetryMin = time.Second
	}
	if r.storeRetryMax <= 0 {
		r.storeRetryMax = 30 * time.Second
	}
	r.storeRetryMax = max(r.storeRetryMax, r.storeRetryMin)
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	if len(errs) > 0 {
		return resolved{}, fmt.Errorf("eventhubs: invalid options: %w", errors.Join(errs...))
	}
	return r, nil
}

// containerURL parses a checkpoint container URL, or says what is wrong
// with it without quoting it: it may hold a SAS.
func containerURL(s string) (*url.URL, string) {
	const want = "want https://<account>.blob.core.windows.net/<container>"
	u, err := url.Parse(s)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return nil, want
	case strings.Contains(s, "#"):
		// Everything after the first '#' (the fragment, even an empty
		// one) stays on this host: a SAS written there would never
		// reach the storage account.
		return nil, "must not hold a #fragment: it is never sent to the storage account (a SAS token after # is not a SAS); " +
			want + ", with a SAS in its query or with the credential, or use a checkpoint connection string and container"
	case strings.Trim(u.Path, "/") == "":
		return nil, want
	}
	return u, ""
}

// qualify completes a short namespace name with the public cloud's suffix
// and strips a scheme or path someone pasted. A port is kept: the emulator
// and private endpoints may need one.
func qualify(ns string) string {
	ns = strings.TrimSpace(ns)
	if ns == "" {
		return ""
	}
	if i := strings.Index(ns, "://"); i >= 0 {
		ns = ns[i+3:]
	}
	if i := strings.IndexByte(ns, '/'); i >= 0 {
		ns = ns[:i]
	}
	if !strings.Contains(ns, ".") && !strings.Contains(ns, ":") {
		ns += namespaceSuffix
	}
	return ns
}

const redactedMark = "[REDACTED]"

func redactIfSet(s string) string {
	if s == "" {
		return ""
	}
	return redactedMark
}

// redactedURL drops the query (a SAS) of a container URL, and any
// signature pasted without one.
func redactedURL(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s = s[:i] + "?" + redactedMark
	}
	return (*redactor)(nil).String(s)
}

// LogValue lets slog print Options without their secrets. Every printed
// field is also scrubbed of the secrets' values, wherever they appear.
func (o Options) LogValue() slog.Value {
	cred := "default_credential"
	if o.ConnectionString != "" {
		cred = "connection_string"
	}
	red := newRedactor(o.ConnectionString, o.CheckpointConnectionString, o.CheckpointContainerURL)
	return slog.GroupValue(
		slog.String("namespace", red.String(o.Namespace)),
		slog.String("hub", red.String(o.Hub)),
		slog.String("consumer_group", red.String(o.ConsumerGroup)),
		slog.String("auth", cred),
		slog.String("connection_string", redactIfSet(o.ConnectionString)),
		slog.String("checkpoint_connection_string", redactIfSet(o.CheckpointConnectionString)),
		slog.String("checkpoint_container", red.String(o.CheckpointContainer)),
		slog.String("checkpoint_container_url", red.String(redactedURL(o.CheckpointContainerURL))),
		slog.String("start_position", red.String(o.StartPosition)),
		slog.String("load_balancing", red.String(o.LoadBalancing)),
		slog.Int("prefetch", int(o.Prefetch)),
		slog.Duration("checkpoint_interval", o.CheckpointInterval),
		slog.Int("checkpoint_count", o.CheckpointCount),
		slog.Int("max_batch_events", o.MaxBatchEvents),
	)
}

// String formats Options with secrets redacted.
func (o Options) String() string {
	var b strings.Builder
	b.WriteString("eventhubs.Options{")
	for i, a := range o.LogValue().Group() {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(a.Key)
		b.WriteString("=")
		b.WriteString(a.Value.String())
	}
	b.WriteString("}")
	return b.String()
}

// GoString formats Options for %#v with secrets redacted.
func (o Options) GoString() string { return o.String() }
