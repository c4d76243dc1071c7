package config

import "time"

// Every type of the schema is plain data: safe for concurrent reads, not
// for concurrent writes. Its zero value has no defaults: Default, Load and
// Parse fill them.
//
// Struct tags used by this package besides yaml:
//
//	default:"…"        the value a key takes when the file leaves it out
//	only:"field=a,b"   the key may be set only when the sibling key field is a or b;
//	                   its defaults apply only then
//	path:""            a file or directory path, resolved against the config file's directory
//	enum:"a,b"         the values the key may take (checked by Validate)

// Config is the whole iocwatch configuration, read from one YAML file.
//
// The zero value has no defaults filled in: get a Config from Default, Load
// or Parse. Load and Parse do not validate; call Validate. A Config is not
// safe for concurrent mutation; once loaded it is only read, and concurrent
// reads are safe.
type Config struct {
	// Source is where Defender events come from.
	Source Source `yaml:"source"`
	// Feeds are the indicator feeds. At least one is required; names are unique.
	Feeds []Feed `yaml:"feeds"`
	// Allowlist holds values in indicator syntax (IP, CIDR, domain, URL) that
	// must never alert, whatever a feed says. Default: empty.
	Allowlist []string `yaml:"allowlist"`
	// AllowlistFiles are files of allowlist values, one a line. Default: none.
	AllowlistFiles []string `yaml:"allowlist_files" path:""`
	// Exclusions are inline exclusion rules (the same shape as an exclusions
	// file's list). Default: none.
	Exclusions []ExclusionRule `yaml:"exclusions"`
	// ExclusionsFiles are files of exclusion rules (see LoadExclusions).
	// Default: none.
	ExclusionsFiles []string `yaml:"exclusions_files" path:""`
	// ExclusionsAudit is a JSON-lines file that receives every hit an
	// exclusion rule suppressed, with the rule's name and reason and the
	// alert it would have been. Default: "" (such hits are counted per
	// rule only).
	ExclusionsAudit string `yaml:"exclusions_audit" path:""`
	// FeedCacheDir keeps the last good copy of every remote feed, used when a
	// refresh fails at start-up. Default: "" (no cache).
	FeedCacheDir string `yaml:"feed_cache_dir" path:""`
	// ShrinkGuard holds back a feed refresh that shrinks the feed by more than
	// this fraction (0–1) of its previous size; the old copy stays in use.
	// 0 disables the guard. Default: 0.5.
	ShrinkGuard float64 `yaml:"shrink_guard" default:"0.5"`
	// FeedReloadCPU is the share of one core (at least 0.01, at most 1)
	// that reloading feeds while events are processed may use: parsing and
	// comparing are paced so that the pipeline keeps the cores it needs,
	// and a reload takes about 1/FeedReloadCPU times longer. 1 does not
	// pace. The first load at start-up is never paced. Default: 1.
	FeedReloadCPU float64 `yaml:"feed_reload_cpu" default:"1"`
	// Match tunes the indicator index.
	Match Match `yaml:"match"`
	// Pipeline tunes decoding and flow control.
	Pipeline Pipeline `yaml:"pipeline"`
	// Suppression de-duplicates alerts per device and indicator.
	Suppression Suppression `yaml:"suppression"`
	// Sinks receive alerts. Names are unique. Default: when the key is
	// absent, one sink {name: stdout, type: stdout}; an explicit empty list
	// is an error.
	Sinks []Sink `yaml:"sinks"`
	// DeadLetterAlerts is a JSON-lines file for alerts that a sink refused
	// permanently. Default: "" (such a refusal stops the pipeline: the
	// alerts are neither delivered nor lost).
	DeadLetterAlerts string `yaml:"dead_letter_alerts" path:""`
	// Metrics is the Prometheus endpoint.
	Metrics Metrics `yaml:"metrics"`
	// History keeps recent network observations on disk for retro-hunts and
	// `iocwatch hunt`.
	History History `yaml:"history"`
	// Log sets the process log.
	Log Log `yaml:"log"`

	meta *meta // where the configuration was read from; nil when built in code
}

// meta remembers where a Config came from, for messages.
type meta struct {
	file     string               // the name given to Load or Parse
	lines    map[string]int       // key path ("sinks[1].webhook.url") → line of its key
	nulls    map[string]int       // key path → line of a key written without a value (it took its default)
	expanded map[string]expansion // key path → a value that came from the environment
}

// Source selects and configures the event source. Only the block named by
// Type may be set.
//
// The zero value has no defaults: Type "" is invalid.
type Source struct {
	// Type is file, stdin, kafka or eventhubs. Default: file.
	Type string `yaml:"type" default:"file" enum:"file,stdin,kafka,eventhubs"`
	// File reads JSON-lines or CSV files (type file).
	File FileSource `yaml:"file" only:"type=file"`
	// Stdin reads events from standard input (type stdin).
	Stdin StdinSource `yaml:"stdin" only:"type=stdin"`
	// Kafka consumes a topic with a consumer group (type kafka).
	Kafka KafkaSource `yaml:"kafka" only:"type=kafka"`
	// EventHubs consumes an event hub with checkpoints in Azure Blob storage
	// (type eventhubs).
	EventHubs EventHubsSource `yaml:"eventhubs" only:"type=eventhubs"`
}

// FileSource reads events from files. The zero value has no paths.
type FileSource struct {
	// Paths are the files to read, in order; glob patterns are allowed.
	// Required.
	Paths []string `yaml:"paths" path:""`
	// Format is auto, jsonl, csv (an Advanced Hunting CSV export) or avro
	// (an Event Hubs Capture file); auto decides from the first bytes of
	// each file. Default: auto.
	Format string `yaml:"format" default:"auto" enum:"auto,jsonl,csv,avro"`
	// Follow keeps reading as the files grow, like tail -f. Default: false.
	Follow bool `yaml:"follow"`
}

// StdinSource reads events from standard input.
//
// The zero value (format "") is invalid; Load fills auto.
type StdinSource struct {
	// Format is auto, jsonl, csv or avro. Default: auto.
	Format string `yaml:"format" default:"auto" enum:"auto,jsonl,csv,avro"`
}

// KafkaSource consumes Kafka topics (including the Event Hubs Kafka
// endpoint) as a consumer group.
//
// The zero value has no brokers, topics or defaults; Load fills the defaults
// when the source type is kafka.
type KafkaSource struct {
	// Brokers are the seed brokers, host:port. Required.
	Brokers []string `yaml:"brokers"`
	// Topics are the topics to consume. Required.
	Topics []string `yaml:"topics"`
	// Group is the consumer group; replicas sharing it share the partitions.
	// Default: iocwatch.
	Group string `yaml:"group" default:"iocwatch"`
	// StartOffset is where a new group starts, and where a partition
	// whose position is past the end of its log restarts: earliest or
	// latest.
	// Default: earliest.
	StartOffset string `yaml:"start_offset" default:"earliest" enum:"earliest,latest"`
	// ClientID is sent to the brokers. Default: iocwatch.
	ClientID string `yaml:"client_id" default:"iocwatch"`
	// MinBytes is the least data a fetch waits for, in bytes (at most
	// MaxWait). Default: 65536 (64 KiB: fetches batch under load).
	MinBytes int `yaml:"min_bytes" default:"65536"`
	// MaxBytes is the most data one fetch of one partition returns, in
	// bytes (a larger message still comes, alone). Default: 1048576 (1 MiB).
	MaxBytes int `yaml:"max_bytes" default:"1048576"`
	// MaxWait is how long a fetch waits for MinBytes: the most latency
	// batching adds. Default: 10ms.
	MaxWait time.Duration `yaml:"max_wait" default:"10ms"`
	// CommitInterval batches offset commits in time; 0 commits at every
	// acknowledgement. Default: 1s.
	CommitInterval time.Duration `yaml:"commit_interval" default:"1s"`
	// CommitCount commits early once this many messages are acknowledged
	// since the last commit. Default: 1000.
	CommitCount int `yaml:"commit_count" default:"1000"`
	// TLS secures the broker connections. Default: off.
	TLS TLS `yaml:"tls"`
	// SASL authenticates to the brokers. Default: none.
	SASL SASL `yaml:"sasl"`
	// DeadLetterTopic receives undecodable messages (with their error) before
	// they are acknowledged. Default: "" (use pipeline.dead_letter).
	DeadLetterTopic string `yaml:"dead_letter_topic"`
}

// TLS configures a TLS client for Kafka and syslog. The zero value is TLS
// off.
type TLS struct {
	// Enabled turns TLS on. Default: false.
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM bundle of CAs to trust instead of the system pool.
	// Default: "" (system pool).
	CAFile string `yaml:"ca_file" path:"" only:"enabled=true"`
	// CertFile is a PEM client certificate; needs KeyFile. Default: "".
	CertFile string `yaml:"cert_file" path:"" only:"enabled=true"`
	// KeyFile is the PEM key of CertFile. Default: "".
	KeyFile string `yaml:"key_file" path:"" only:"enabled=true"`
	// InsecureSkipVerify accepts any server certificate. For tests only.
	// Default: false.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify" only:"enabled=true"`
	// ServerName overrides the name checked in the server certificate.
	// Default: "" (the host dialled).
	ServerName string `yaml:"server_name" only:"enabled=true"`
}

// HTTPTLS configures the TLS client of HTTP(S) connections (feeds,
// webhook, Splunk HEC); TLS is on when the URL is https://. The zero value
// trusts the system pool.
type HTTPTLS struct {
	// CAFile is a PEM bundle of CAs to trust instead of the system pool.
	// Default: "" (system pool).
	CAFile string `yaml:"ca_file" path:""`
	// CertFile is a PEM client certificate; needs KeyFile. Default: "".
	CertFile string `yaml:"cert_file" path:""`
	// KeyFile is the PEM key of CertFile. Default: "".
	KeyFile string `yaml:"key_file" path:""`
	// InsecureSkipVerify accepts any server certificate. For tests only.
	// Default: false.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// ServerName overrides the name checked in the server certificate.
	// Default: "" (the URL's host).
	ServerName string `yaml:"server_name"`
}

// SASL configures Kafka authentication. The zero value is no SASL.
type SASL struct {
	// Mechanism is "" (none), plain, scram-sha-256 or scram-sha-512.
	// Default: "".
	Mechanism string `yaml:"mechanism" enum:",plain,scram-sha-256,scram-sha-512"`
	// Username. For the Event Hubs Kafka endpoint: $ConnectionString.
	// Default: "".
	Username string `yaml:"username" only:"mechanism=plain,scram-sha-256,scram-sha-512"`
	// Password. For the Event Hubs Kafka endpoint: the connection string.
	// Default: "".
	Password Secret `yaml:"password" only:"mechanism=plain,scram-sha-256,scram-sha-512"`
}

// EventHubsSource consumes an event hub with the azeventhubs Processor and
// keeps checkpoints in an Azure Blob container.
//
// The zero value has no defaults; Load fills them when the source type is
// eventhubs.
type EventHubsSource struct {
	// Auth is connection_string or default_credential (the Azure default
	// credential chain: environment, workload or managed identity, Azure CLI).
	// Default: connection_string.
	Auth string `yaml:"auth" default:"connection_string" enum:"connection_string,default_credential"`
	// Namespace is the fully qualified namespace,
	// <ns>.servicebus.windows.net; required with auth default_credential.
	// Default: "".
	Namespace string `yaml:"namespace" only:"auth=default_credential"`
	// ConnectionString is the namespace or hub connection string
	// (Endpoint=sb://…;SharedAccessKeyName=…;SharedAccessKey=…[;EntityPath=…]);
	// required with auth connection_string. Default: "".
	ConnectionString Secret `yaml:"connection_string" only:"auth=connection_string"`
	// Hub is the event hub name; required unless the connection string has
	// EntityPath, and then it must be empty. Default: "".
	Hub string `yaml:"hub"`
	// ConsumerGroup is the event hub consumer group. Default: $Default.
	ConsumerGroup string `yaml:"consumer_group" default:"$Default"`
	// Checkpoint is the blob container holding checkpoints and partition
	// ownership. Required.
	Checkpoint Checkpoint `yaml:"checkpoint"`
	// StartPosition is where a partition without a checkpoint starts:
	// earliest or latest. Default: latest.
	StartPosition string `yaml:"start_position" default:"latest" enum:"earliest,latest"`
	// LoadBalancing is the partition claiming strategy: balanced or greedy.
	// Default: balanced.
	LoadBalancing string `yaml:"load_balancing" default:"balanced" enum:"balanced,greedy"`
	// Prefetch is the number of events buffered per partition; -1 disables
	// prefetching. Default: 300.
	Prefetch int `yaml:"prefetch" default:"300"`
	// CheckpointInterval batches checkpoint writes in time; 0 writes at every
	// acknowledgement. Default: 5s.
	CheckpointInterval time.Duration `yaml:"checkpoint_interval" default:"5s"`
	// CheckpointCount writes a checkpoint early once this many events are
	// acknowledged since the last one. Default: 1000.
	CheckpointCount int `yaml:"checkpoint_count" default:"1000"`
}

// Checkpoint locates the checkpoint container: either ContainerURL (used
// with the Azure default credential) or ConnectionString and Container.
//
// The zero value names no container.
type Checkpoint struct {
	// ContainerURL is https://<account>.blob.core.windows.net/<container>,
	// reached with the Azure default credential. Default: "".
	ContainerURL string `yaml:"container_url"`
	// ConnectionString is the storage account connection string; not with
	// ContainerURL. Default: "".
	ConnectionString Secret `yaml:"connection_string" only:"container_url="`
	// Container is the container name, with ConnectionString; not with
	// ContainerURL. Default: iocwatch-checkpoints.
	Container string `yaml:"container" default:"iocwatch-checkpoints" only:"container_url="`
}

// Feed is one indicator feed. Only the keys that belong to its Type (and
// csv only with format csv) may be set.
//
// The zero value has no name and no defaults; Load fills the defaults of
// each feed.
type Feed struct {
	// Name identifies the feed in alerts, metrics and the cache; letters,
	// digits, '.', '_' and '-'. Required, unique.
	Name string `yaml:"name"`
	// Type is file, http or taxii. Default: file.
	Type string `yaml:"type" default:"file" enum:"file,http,taxii"`
	// Path is the feed file (type file). Required for type file.
	Path string `yaml:"path" path:"" only:"type=file"`
	// URL is the http(s) URL (type http) or the TAXII 2.1 API root (type
	// taxii). Required for those types.
	URL string `yaml:"url" only:"type=http,taxii"`
	// Format is auto, text, csv, feodo, urlhaus, threatfox, defender-csv,
	// stix2 or misp. Default: auto.
	Format string `yaml:"format" default:"auto" enum:"auto,text,csv,feodo,urlhaus,threatfox,defender-csv,stix2,misp"`
	// CSV maps the columns of a generic CSV feed (format csv).
	CSV CSVFormat `yaml:"csv" only:"format=csv"`
	// Source is the default source name of the feed's indicators.
	// Default: "" (the feed name).
	Source string `yaml:"source"`
	// Severity is the default severity (free text). Default: "".
	Severity string `yaml:"severity"`
	// Confidence is the default confidence, 0–100; 0 means unknown.
	// Default: 0.
	Confidence int `yaml:"confidence"`
	// Tags are added to every indicator of the feed. Default: none.
	Tags []string `yaml:"tags"`
	// TTL keeps each indicator until this long after the feed last listed
	// it (for append-only feeds that never delete); 0 drops it as soon as
	// the feed stops listing it or its own expiry passes (docs/feeds-live.md).
	// Default: 0s.
	TTL time.Duration `yaml:"ttl"`
	// Allow relaxes the checks that refuse dangerous indicators.
	Allow Allow `yaml:"allow"`
	// Interval is the refresh period of http and taxii feeds; at least 1m.
	// Default: 1h.
	Interval time.Duration `yaml:"interval" default:"1h" only:"type=http,taxii"`
	// Headers are sent with every request (http, taxii); values are secrets.
	// A header whose value is empty (an unset ${KEY:-}) is left out.
	// Default: none.
	Headers map[string]Secret `yaml:"headers" only:"type=http,taxii"`
	// Timeout bounds one whole download. Default: 30s.
	Timeout time.Duration `yaml:"timeout" default:"30s" only:"type=http,taxii"`
	// MaxBytes refuses a download larger than this, in bytes.
	// Default: 268435456 (256 MiB).
	MaxBytes int64 `yaml:"max_bytes" default:"268435456" only:"type=http,taxii"`
	// TAXII selects the collection and credentials (type taxii).
	TAXII TAXII `yaml:"taxii" only:"type=taxii"`
	// TLS configures the HTTPS client (http, taxii with an https:// URL).
	TLS HTTPTLS `yaml:"tls" only:"type=http,taxii"`
}

// CSVFormat maps the columns of a generic CSV feed. A column is named by
// its header (matched case-insensitively) or by its 1-based number. The
// zero value reads the indicator from the first column and infers its kind.
type CSVFormat struct {
	// Value is the column holding the indicator. Default: "" (the first column).
	Value string `yaml:"value"`
	// Kind is the column holding ip, cidr, domain, url or pattern.
	// Default: "" (inferred from the value).
	Kind string `yaml:"kind"`
	// Source is the column holding the indicator's source. Default: "".
	Source string `yaml:"source"`
	// Severity is the column holding the severity. Default: "".
	Severity string `yaml:"severity"`
	// Confidence is the column holding the confidence (0–100). Default: "".
	Confidence string `yaml:"confidence"`
	// Tags is the column holding tags, separated by ',' ';' or '|'.
	// Default: "".
	Tags string `yaml:"tags"`
	// Description is the column holding a description. Default: "".
	Description string `yaml:"description"`
	// Reference is the column holding a reference link. Default: "".
	Reference string `yaml:"reference"`
	// ValidFrom is the column holding the start of validity (RFC 3339 or
	// date). Default: "".
	ValidFrom string `yaml:"valid_from"`
	// ValidUntil is the column holding the expiry (RFC 3339 or date).
	// Default: "".
	ValidUntil string `yaml:"valid_until"`
	// Comment starts a comment line; "" means no comments. Default: "#".
	Comment string `yaml:"comment" default:"#"`
	// HeaderInComment takes the header from the last comment line before the
	// data (URLhaus style). Default: false.
	HeaderInComment bool `yaml:"header_in_comment"`
	// Delimiter is the field separator, one character. Default: "",
	// guessed from the header line: ',', ';', tab or '|' (the one that
	// splits it into the value column's name, else into the most fields).
	Delimiter string `yaml:"delimiter"`
}

// Allow relaxes the indicator checks of a feed. The zero value refuses
// private and broad indicators.
type Allow struct {
	// Private accepts private, loopback and link-local addresses, loopback
	// names (localhost.localdomain, names under .localhost), internal names
	// (.local, .corp, .internal, …) and names under a top-level domain the
	// public suffix list does not know (match.Guard.AllowPrivate).
	// Default: false.
	Private bool `yaml:"private"`
	// Broad accepts prefixes shorter than the minimums below. Default: false.
	Broad bool `yaml:"broad"`
	// PublicSuffix accepts public suffixes (com, co.uk) as domain indicators.
	// Default: false.
	PublicSuffix bool `yaml:"public_suffix"`
	// MinPrefixV4 is the shortest IPv4 prefix accepted without broad, 0–32.
	// Default: 8.
	MinPrefixV4 int `yaml:"min_prefix_v4" default:"8"`
	// MinPrefixV6 is the shortest IPv6 prefix accepted without broad, 0–128.
	// Default: 32.
	MinPrefixV6 int `yaml:"min_prefix_v6" default:"32"`
}

// TAXII selects a TAXII 2.1 collection and its credentials: Username and
// Password (HTTP basic) or Token (bearer), not both.
//
// The zero value names no collection and has no credentials.
type TAXII struct {
	// Collection is the collection id. Required.
	Collection string `yaml:"collection"`
	// Username for HTTP basic authentication. Default: "".
	Username string `yaml:"username"`
	// Password for HTTP basic authentication. Default: "".
	Password Secret `yaml:"password"`
	// Token is a bearer token. Default: "".
	Token Secret `yaml:"token"`
}

// Match tunes the indicator index.
//
// The zero value has no defaults (ip_index "" is invalid).
type Match struct {
	// IPIndex is the IP prefix index: bart or cidranger. Default: bart.
	IPIndex string `yaml:"ip_index" default:"bart" enum:"bart,cidranger"`
	// PatternWarn warns when the substring patterns exceed this count (the
	// Aho-Corasick automaton grows fast); 0 never warns. Default: 5000.
	PatternWarn int `yaml:"pattern_warn" default:"5000"`
}

// Pipeline tunes decoding and flow control.
//
// The zero value has no defaults (batch_lines 0 is invalid).
type Pipeline struct {
	// Workers decode and match in parallel; 0 means GOMAXPROCS. Default: 0.
	Workers int `yaml:"workers"`
	// BatchLines is the number of lines per batch of the file and stdin
	// sources. Default: 1024.
	BatchLines int `yaml:"batch_lines" default:"1024"`
	// MaxMessageBytes dead-letters larger messages, in bytes.
	// Default: 1048576 (1 MiB).
	MaxMessageBytes int `yaml:"max_message_bytes" default:"1048576"`
	// MaxRecordsPerMessage: the records of a message past this many are not
	// decoded and the message is dead-lettered (the records before them
	// are matched). Default: 100000.
	MaxRecordsPerMessage int `yaml:"max_records_per_message" default:"100000"`
	// InFlight caps the batches read but not yet acknowledged. Default: 64.
	InFlight int `yaml:"in_flight" default:"64"`
	// DeadLetter is a JSON-lines file for undecodable messages.
	// Default: "" (log and count only).
	DeadLetter string `yaml:"dead_letter" path:""`
	// DeadLetterFailure is what happens when a dead-letter entry cannot be
	// written (disk full): stop (the batch is not acknowledged and run exits
	// with the error) or continue (the message is counted, logged once per
	// change of state and acknowledged: its dead-letter entry is lost).
	// Default: stop.
	DeadLetterFailure string `yaml:"dead_letter_failure" default:"stop" enum:"stop,continue"`
}

// Suppression de-duplicates alerts per device and indicator.
//
// The zero value alerts on every hit and remembers nothing (capacity 0 is
// invalid).
type Suppression struct {
	// Window suppresses repeats of one device × indicator for this long;
	// 0 alerts on every hit. Default: 10m.
	Window time.Duration `yaml:"window" default:"10m"`
	// Summaries sends one summary alert with the repeat count when a window
	// that suppressed repeats ends. Default: true.
	Summaries bool `yaml:"summaries" default:"true"`
	// Capacity is the most device × indicator pairs remembered; the oldest
	// are forgotten first. Default: 1000000.
	Capacity int `yaml:"capacity" default:"1000000"`
}

// Sink is one alert destination. Only the block named by Type may be set.
//
// The zero value has no name or type and is invalid.
type Sink struct {
	// Name identifies the sink in logs and metrics; letters, digits, '.',
	// '_' and '-'. Required, unique.
	Name string `yaml:"name"`
	// Type is stdout, file, webhook, kafka, syslog or splunk_hec. Required.
	Type string `yaml:"type" enum:"stdout,file,webhook,kafka,syslog,splunk_hec"`
	// BestEffort: when true, alerts this sink fails to deliver are dropped
	// and counted, and never hold back acknowledgement; when false, a
	// failing sink stops the pipeline (back-pressure). Default: false.
	BestEffort bool `yaml:"best_effort"`
	// Format is the alert encoding: native or ocsf for JSON sinks (stdout,
	// file, webhook, kafka, splunk_hec); cef or json for syslog.
	// Default: native (syslog: cef).
	Format string `yaml:"format" default:"native"`
	// Queue is the number of alerts buffered for this sink. Default: 1024.
	Queue int `yaml:"queue" default:"1024"`
	// Retry sets the back-off between delivery attempts.
	Retry Retry `yaml:"retry"`
	// Stdout writes to standard output (type stdout).
	Stdout StdoutSink `yaml:"stdout" only:"type=stdout"`
	// File appends JSON lines to a file (type file).
	File FileSink `yaml:"file" only:"type=file"`
	// Webhook POSTs JSON to a URL (type webhook).
	Webhook WebhookSink `yaml:"webhook" only:"type=webhook"`
	// Kafka produces to a topic (type kafka).
	Kafka KafkaSink `yaml:"kafka" only:"type=kafka"`
	// Syslog sends RFC 5424 messages (type syslog).
	Syslog SyslogSink `yaml:"syslog" only:"type=syslog"`
	// SplunkHEC sends events to a Splunk HTTP Event Collector (type
	// splunk_hec).
	SplunkHEC SplunkHECSink `yaml:"splunk_hec" only:"type=splunk_hec"`
}

// Retry is an exponential back-off with jitter.
//
// The zero value has no delays and is invalid.
type Retry struct {
	// Initial is the first delay. Default: 200ms.
	Initial time.Duration `yaml:"initial" default:"200ms"`
	// Max caps the delay. Default: 30s.
	Max time.Duration `yaml:"max" default:"30s"`
}

// StdoutSink writes alerts to standard output.
//
// The zero value writes JSON.
type StdoutSink struct {
	// Human prints one readable line per alert instead of JSON.
	// Default: false.
	Human bool `yaml:"human"`
}

// FileSink appends alerts to a JSON-lines file.
//
// The zero value names no file.
type FileSink struct {
	// Path is the file. Required.
	Path string `yaml:"path" path:""`
	// Sync is always (fsync before a write is acknowledged) or never (leave
	// it to the OS). Default: always.
	Sync string `yaml:"sync" default:"always" enum:"always,never"`
	// MaxBytes rotates the file when it would grow past this size, in
	// bytes; 0 never rotates. Default: 0.
	MaxBytes int64 `yaml:"max_bytes"`
	// Keep is the number of rotated files kept, at least 1. Default: 5.
	Keep int `yaml:"keep" default:"5"`
}

// WebhookSink POSTs alerts as JSON.
//
// The zero value has no URL.
type WebhookSink struct {
	// URL is the http:// or https:// endpoint. Required. Shown only as
	// scheme://host and a first path segment (see Config.Redacted): the
	// URL itself may be the credential, as a Slack, Teams or Discord
	// webhook's is.
	URL string `yaml:"url" endpoint:""`
	// Batch sends one JSON array per write instead of one request per alert.
	// Default: false.
	Batch bool `yaml:"batch"`
	// Headers are added to every request; values are secrets. A header whose
	// value is empty is left out. Default: none.
	Headers map[string]Secret `yaml:"headers"`
	// HMACSecret signs each body with HMAC-SHA256 (header
	// X-Iocwatch-Signature). Default: "" (unsigned).
	HMACSecret Secret `yaml:"hmac_secret"`
	// Timeout bounds one request. Default: 10s.
	Timeout time.Duration `yaml:"timeout" default:"10s"`
	// TLS configures the HTTPS client (https:// URLs only).
	TLS HTTPTLS `yaml:"tls"`
}

// KafkaSink produces alerts to a Kafka topic.
//
// The zero value has no brokers.
type KafkaSink struct {
	// Brokers are the seed brokers, host:port. Required.
	Brokers []string `yaml:"brokers"`
	// Topic receives the alerts. Default: iocwatch-alerts.
	Topic string `yaml:"topic" default:"iocwatch-alerts"`
	// TLS secures the broker connections. Default: off.
	TLS TLS `yaml:"tls"`
	// SASL authenticates to the brokers. Default: none.
	SASL SASL `yaml:"sasl"`
}

// SyslogSink sends alerts as RFC 5424 syslog messages.
//
// The zero value has no address or defaults.
type SyslogSink struct {
	// Network is tcp (RFC 6587 octet counting; RFC 5425 with tls) or udp.
	// Default: tcp.
	Network string `yaml:"network" default:"tcp" enum:"tcp,udp"`
	// Address is the collector, host:port. Required.
	Address string `yaml:"address"`
	// Facility is kern, user, mail, daemon, auth, syslog, lpr, news, uucp,
	// cron, authpriv, ftp or local0–local7. Default: local4.
	Facility string `yaml:"facility" default:"local4" enum:"kern,user,mail,daemon,auth,syslog,lpr,news,uucp,cron,authpriv,ftp,local0,local1,local2,local3,local4,local5,local6,local7"`
	// AppName is the APP-NAME field, at most 48 printable ASCII characters.
	// Default: iocwatch.
	AppName string `yaml:"app_name" default:"iocwatch"`
	// Hostname is the HOSTNAME field. Default: "" (the machine's name).
	Hostname string `yaml:"hostname"`
	// TLS secures the connection (network tcp only). Default: off.
	TLS TLS `yaml:"tls" only:"network=tcp"`
	// MaxUDPBytes truncates UDP datagrams to this size, in bytes (network
	// udp only), 480–65507. Default: 1400.
	MaxUDPBytes int `yaml:"max_udp_bytes" default:"1400" only:"network=udp"`
}

// SplunkHECSink sends alerts to a Splunk HTTP Event Collector.
//
// The zero value has no URL or token.
type SplunkHECSink struct {
	// URL is the collector endpoint,
	// https://<host>:8088/services/collector/event. Required. Shown as a
	// webhook's URL is, Splunk's own paths whole.
	URL string `yaml:"url" endpoint:""`
	// Token is the HEC token. Required.
	Token Secret `yaml:"token"`
	// Index is the target index. Default: "" (the token's default index).
	Index string `yaml:"index"`
	// Sourcetype of the events. Default: iocwatch:alert.
	Sourcetype string `yaml:"sourcetype" default:"iocwatch:alert"`
	// Source of the events. Default: iocwatch.
	Source string `yaml:"source" default:"iocwatch"`
	// BatchBytes caps the body of one request, in bytes (before gzip).
	// Default: 1000000.
	BatchBytes int `yaml:"batch_bytes" default:"1000000"`
	// Gzip compresses request bodies. Default: true.
	Gzip bool `yaml:"gzip" default:"true"`
	// TLS configures the HTTPS client (https:// URLs only).
	TLS HTTPTLS `yaml:"tls"`
}

// Metrics is the Prometheus /metrics endpoint.
//
// The zero value serves nothing.
type Metrics struct {
	// Enabled serves the endpoint. Default: true.
	Enabled bool `yaml:"enabled" default:"true"`
	// Listen is the host:port to serve on. Default: 127.0.0.1:9464.
	Listen string `yaml:"listen" default:"127.0.0.1:9464"`
	// BasicAuth protects the endpoint with HTTP basic authentication.
	// Default: none.
	BasicAuth BasicAuth `yaml:"basic_auth"`
	// BearerToken protects the endpoint with a bearer token; not with
	// basic_auth. Default: "" (none).
	BearerToken Secret `yaml:"bearer_token"`
	// HideIdentities hides device and account names on the status page
	// (metric labels never hold them).
	// Default: false.
	HideIdentities bool `yaml:"hide_identities"`
}

// BasicAuth is an HTTP basic authentication pair; both or neither.
//
// The zero value is no authentication.
type BasicAuth struct {
	// Username. Default: "".
	Username string `yaml:"username"`
	// Password. Default: "".
	Password Secret `yaml:"password"`
}

// History keeps recent network observations in a directory of segment
// files, for retro-hunts when indicators are added and for `iocwatch hunt`.
//
// The zero value keeps no history.
type History struct {
	// Enabled records recent network observations for retro-hunts.
	// Default: false.
	Enabled bool `yaml:"enabled"`
	// Path is the history directory (segment files); required when
	// enabled. Default: "".
	Path string `yaml:"path" path:""`
	// Retention drops observations recorded longer ago than this.
	// Default: 24h.
	Retention time.Duration `yaml:"retention" default:"24h"`
	// MaxMiB caps the history on disk, in MiB; the oldest segments go
	// first. Default: 256.
	MaxMiB int `yaml:"max_mib" default:"256"`
}

// Log configures the process log (log/slog).
//
// The zero value has no defaults (level "" is invalid).
type Log struct {
	// Level is debug, info, warn or error. Default: info.
	Level string `yaml:"level" default:"info" enum:"debug,info,warn,error"`
	// Format is text or json. Default: text.
	Format string `yaml:"format" default:"text" enum:"text,json"`
}
