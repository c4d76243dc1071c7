package config

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"

	"github.com/iocwatch/iocwatch/internal/tlsfile"
)

// minFeedReloadCPU is the smallest feed_reload_cpu: the pacer's floor,
// feed.MinReloadCPU. At a hundredth of a core a reload takes about 100
// times its work (minutes for millions of indicators) and each pause
// lasts up to a second; at a thousandth a reload of millions of
// indicators would take most of an hour.
const minFeedReloadCPU = 0.01

// checker collects the problems of a Config with their key paths and, when
// the Config came from a file, the line of the key.
type checker struct {
	m    *meta
	errs errorList
	// skipFiles leaves out the checks that read files (TLS files): for a
	// configuration read on another machine, such as the shipped examples.
	skipFiles bool
	// unread holds the key paths that could not be read (their problem is
	// in errs), and notRule the paths of exclusion rules that are not a
	// mapping, so that checks after a reading problem do not report it
	// again as a missing value.
	unread  []string
	notRule map[string]bool
}

// add records a problem at path. A value that came from the environment
// is not shown (docs/configuration.md): every value a message names is
// given as ck.val(its key path, value), which shows the ${…} text in its
// place. A value of path that came from the environment and is quoted
// whole all the same is replaced by its ${…} text too.
func (ck *checker) add(path, format string, args ...any) {
	file, line := ck.where(path)
	ck.errs.add(file, line, path, ck.hide(path, fmt.Errorf(format, args...), false))
}

// addChecked records the problem a check made outside this package found
// at path (see KeyCheck). Its text is not this package's: a value of path
// that came from the environment is replaced by its ${…} text wherever
// it appears whole, quoted or not (when it is 4 characters or longer:
// a shorter one would replace parts of words).
func (ck *checker) addChecked(path string, err error) {
	file, line := ck.where(path)
	ck.errs.add(file, line, path, ck.hide(path, fmt.Errorf("%w", err), true))
}

// addPlaced records a problem at path whose message names its place itself
// (`rule "name": key: …`): its text is "file:line: message". It holds the
// words of another package (match's, about the value of item, an item of
// path's list), which checkRule gives without a value from the
// environment: should that value appear in them all the same, it is
// replaced as addChecked replaces it. The other items' values are left
// alone: a value written in the file is shown even where it holds the
// text of another that came from the environment.
func (ck *checker) addPlaced(path, item string, err error) {
	file, line := ck.where(path)
	ck.errs.add(file, line, "", ck.hide(item, err, true))
}

// hide replaces in err the value of path that came from the environment
// (that of its list when path is the only item of a list written as a
// single value) by its ${…} text: quoted whole, and with unquoted also
// where it appears unquoted (4 characters or longer).
func (ck *checker) hide(path string, err error, unquoted bool) error {
	if ck.m == nil {
		return err
	}
	msg := err.Error()
	hidden := msg
	for _, p := range slices.Sorted(maps.Keys(ck.m.expanded)) {
		e := ck.m.expanded[p]
		if !e.env || e.value == "" || p != path && p+"[0]" != path {
			continue
		}
		hidden = strings.ReplaceAll(hidden, strconv.Quote(e.value), fmt.Sprintf("%q (expanded)", e.raw))
		if unquoted && len(e.value) >= 4 {
			hidden = strings.ReplaceAll(hidden, e.value, "(the expanded value)")
		}
	}
	if hidden != msg {
		return errors.New(hidden)
	}
	return err
}

// envText returns the text as written of the value of the key at path,
// and true, when a ${…} reference was expanded in it: the value came from
// the environment. An item of a list written as a single value
// (brokers: ${BROKER}) is its list's value.
func (ck *checker) envText(path string) (string, bool) {
	if ck.m == nil {
		return "", false
	}
	e, ok := ck.m.expanded[path]
	if !ok {
		if list, item := strings.CutSuffix(path, "[0]"); item {
			e, ok = ck.m.expanded[list]
		}
	}
	return e.raw, ok && e.env
}

// val returns v, the value of the key at path (or the part of it
// a message names, such as formatDuration of it), for a message: it
// prints as fmt prints v, or, when the value came from the environment,
// as its ${…} text, "${NAME}" (expanded), whatever the verb.
func (ck *checker) val(path string, v any) shownValue {
	raw, env := ck.envText(path)
	return shownValue{v: v, raw: raw, env: env}
}

// fromEnv reports whether the value of the key at path came from the
// environment: a message must name no part of it.
func (ck *checker) fromEnv(path string) bool {
	_, env := ck.envText(path)
	return env
}

// shownValue is a value in a message (see checker.val).
type shownValue struct {
	v   any
	raw string // the text as written, when env
	env bool
}

// Format prints the value as fmt would, or its ${…} text.
func (s shownValue) Format(f fmt.State, verb rune) {
	if s.env {
		fmt.Fprintf(f, "%q (expanded)", s.raw)
		return
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), s.v)
}

// unreadAt reports whether path, or a key under it, could not be read.
func (ck *checker) unreadAt(path string) bool {
	for _, u := range ck.unread {
		if u == path || strings.HasPrefix(u, path+".") || strings.HasPrefix(u, path+"[") {
			return true
		}
	}
	return false
}

// where finds the line of path, or of the nearest enclosing key written
// in the file, with or without a value.
func (ck *checker) where(path string) (string, int) {
	if ck.m == nil {
		return "", 0
	}
	for p := path; p != ""; p = parentPath(p) {
		if line := ck.m.lines[p]; line > 0 {
			return ck.m.file, line
		}
		if line := ck.m.nulls[p]; line > 0 {
			return ck.m.file, line
		}
	}
	return ck.m.file, 0
}

func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

// join returns the problems in file order, joined.
func (ck *checker) join() error {
	return errorList(ck.sorted()).join()
}

// sorted orders the problems by line, keeping the order found for equal
// lines; problems without a line come last.
func (ck *checker) sorted() []error {
	lineOf := func(e error) int {
		var ce *Error
		if errors.As(e, &ce) && ce.Line > 0 {
			return ce.Line
		}
		return int(^uint(0) >> 1)
	}
	slices.SortStableFunc(ck.errs, func(a, b error) int { return cmp.Compare(lineOf(a), lineOf(b)) })
	return ck.errs
}

// Validate checks the whole configuration and reports every problem, each
// an *Error prefixed with its key path and, when the Config was loaded from
// a file, file:line; they are joined with errors.Join in file order.
// Validate reads no files but the TLS files named (ca_file, cert_file,
// key_file), which it parses as a run does, and opens no connections; it
// never shows a secret. The problems of checks, made outside this package, are reported
// with its own (see KeyCheck).
func (c *Config) Validate(checks ...KeyCheck) error {
	ck := &checker{m: c.meta}
	c.validate(ck, true)
	ck.keyChecks(checks)
	return ck.join()
}

// validateShape is Validate without the checks that read files.
func (c *Config) validateShape() error {
	ck := &checker{m: c.meta, skipFiles: true}
	c.validate(ck, true)
	return ck.join()
}

// ValidateWithoutSource is Validate for a command that does not read the
// configured source (replay reads the files it is given, lookup and hunt
// no events): the source block is neither required nor checked, so a
// configuration of feeds, exclusions and sinks alone will do.
func (c *Config) ValidateWithoutSource(checks ...KeyCheck) error {
	ck := &checker{m: c.meta}
	c.validate(ck, false)
	ck.keyChecks(checks)
	return ck.join()
}

// A KeyCheck is a check of one key's value that this package cannot make,
// such as the check a sink's package makes of the sink's settings
// (sink.ValidateHECURL), given to Validate or ValidateWithoutSource so
// that its problem is reported with theirs: an *Error placed as theirs
// are, at the file and line of the key (or of the nearest enclosing key
// written) when the Config was loaded from a file, in file order. A
// check whose key, or a key under it, already has a problem of
// Validate's own is not run: the value is not faulted twice.
type KeyCheck struct {
	// Path is the key path of the value checked: "sinks[1].splunk_hec.url".
	Path string
	// Check returns the value's problem, or nil. Its error must name
	// neither a secret nor the value itself, which may have come from the
	// environment (the key path names it); a value of Path from the
	// environment that it does quote whole is shown as its ${…} text.
	Check func() error
}

// keyChecks runs checks after the checks of this package (see KeyCheck).
func (ck *checker) keyChecks(checks []KeyCheck) {
	faulted := func(path string) bool {
		for _, e := range ck.errs {
			if ce, ok := e.(*Error); ok && (ce.Path == path || strings.HasPrefix(ce.Path, path+".") || strings.HasPrefix(ce.Path, path+"[")) {
				return true
			}
		}
		return false
	}
	for _, kc := range checks {
		if faulted(kc.Path) {
			continue
		}
		if err := kc.Check(); err != nil {
			ck.addChecked(kc.Path, err)
		}
	}
}

func (c *Config) validate(ck *checker, source bool) {
	var lines map[string]int
	if c.meta != nil {
		lines = c.meta.lines
	}
	checkTags(ck, reflect.ValueOf(c).Elem(), "", lines)

	if source {
		c.Source.validate(ck, "source")
	}
	if len(c.Feeds) == 0 {
		ck.add("feeds", "at least one feed is required")
	}
	feedNames := map[string]int{}
	for i := range c.Feeds {
		p := indexPath("feeds", i)
		c.Feeds[i].validate(ck, p)
		uniqueName(ck, feedNames, c.Feeds[i].Name, "feeds", i)
	}
	nonEmptyItems(ck, "allowlist", c.Allowlist)
	nonEmptyItems(ck, "allowlist_files", c.AllowlistFiles)
	checkRules(ck, c.Exclusions, "exclusions")
	nonEmptyItems(ck, "exclusions_files", c.ExclusionsFiles)
	// Written so that NaN, which fails every comparison, is out of range.
	if !(c.ShrinkGuard >= 0 && c.ShrinkGuard <= 1) {
		ck.add("shrink_guard", "must be between 0 and 1 (a fraction); found %v", ck.val("shrink_guard", c.ShrinkGuard))
	}
	if !(c.FeedReloadCPU >= minFeedReloadCPU && c.FeedReloadCPU <= 1) {
		ck.add("feed_reload_cpu", "must be at least %v and at most 1 (a share of one core; 1 does not pace); found %v", minFeedReloadCPU, ck.val("feed_reload_cpu", c.FeedReloadCPU))
	}
	atLeast(ck, "match.pattern_warn", c.Match.PatternWarn, 0)
	c.Pipeline.validate(ck, "pipeline")
	durationAtLeast(ck, "suppression.window", c.Suppression.Window, 0)
	atLeast(ck, "suppression.capacity", c.Suppression.Capacity, 1)
	if c.Sinks != nil && len(c.Sinks) == 0 {
		ck.add("sinks", "at least one sink is required (leave the key out for a stdout sink)")
	}
	sinkNames := map[string]int{}
	for i := range c.Sinks {
		p := indexPath("sinks", i)
		c.Sinks[i].validate(ck, p)
		uniqueName(ck, sinkNames, c.Sinks[i].Name, "sinks", i)
	}
	c.Metrics.validate(ck, "metrics")
	if c.History.Enabled {
		required(ck, "history.path", c.History.Path, "when history is enabled")
		durationAtLeast(ck, "history.retention", c.History.Retention, time.Second)
		atLeast(ck, "history.max_mib", c.History.MaxMiB, 1)
	}
}

// checkTags checks what the schema tags say: a key with an enum holds one
// of its values, and a key set in a block that the block's type does not
// use (a url on a file feed) is reported, without looking inside it. When
// the type itself is not a valid value, only that is reported.
func checkTags(ck *checker, v reflect.Value, path string, lines map[string]int) {
	for _, f := range fieldsOf(v.Type()) {
		fv := v.Field(f.index)
		sub := joinPath(path, f.name)
		if !f.allowed(v) {
			disc, valid := f.discriminator(v)
			if valid && isSet(fv, &f, sub, lines) {
				shown := disc // a bool
				if d := findField(fieldsOf(v.Type()), f.onlyKey); v.Field(d.index).Kind() == reflect.String {
					shown = showValue(disc)
				}
				ck.add(sub, "not used when %s is %s (only when it is %s)", f.onlyKey, ck.val(joinPath(path, f.onlyKey), shown), orList(f.onlyVals))
			}
			continue
		}
		if f.enum != nil {
			oneOf(ck, sub, fv.String(), f.enum...)
		}
		switch {
		case fv.Kind() == reflect.Struct:
			checkTags(ck, fv, sub, lines)
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct && fv.Type().Elem() != ruleType:
			for i := range fv.Len() {
				checkTags(ck, fv.Index(i), indexPath(sub, i), lines)
			}
		}
	}
}

// showValue quotes a value for a message, hiding the user information and
// query of a URL (they may hold credentials).
func showValue(s string) string {
	if s == "" {
		return "empty"
	}
	if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Host != "" {
		u.User, u.RawQuery, u.Fragment = nil, "", ""
		return strconv.Quote(u.String())
	}
	return strconv.Quote(s)
}

// orList formats allowed values: "http or taxii", "empty".
func orList(vals []string) string {
	shown := make([]string, len(vals))
	for i, v := range vals {
		shown[i] = v
		if v == "" {
			shown[i] = "empty"
		}
	}
	if len(shown) == 1 {
		return shown[0]
	}
	return strings.Join(shown[:len(shown)-1], ", ") + " or " + shown[len(shown)-1]
}

func (s *Source) validate(ck *checker, path string) {
	switch s.Type {
	case "file":
		if len(s.File.Paths) == 0 {
			ck.add(path+".file.paths", "required: at least one file to read")
		}
		nonEmptyItems(ck, path+".file.paths", s.File.Paths)
	case "kafka":
		s.Kafka.validate(ck, path+".kafka")
	case "eventhubs":
		s.EventHubs.validate(ck, path+".eventhubs")
	}
}

func (k *KafkaSource) validate(ck *checker, path string) {
	brokers(ck, path+".brokers", k.Brokers)
	if len(k.Topics) == 0 {
		ck.add(path+".topics", "required: at least one topic")
	}
	for i, t := range k.Topics {
		topicName(ck, indexPath(path+".topics", i), t)
	}
	required(ck, path+".group", k.Group, "")
	required(ck, path+".client_id", k.ClientID, "")
	atLeast(ck, path+".min_bytes", k.MinBytes, 1)
	if k.MaxBytes < k.MinBytes {
		if ck.m != nil && ck.m.lines[path+".min_bytes"] == 0 {
			ck.add(path+".max_bytes", "must be at least min_bytes (%d, its default: set min_bytes too); found %d", k.MinBytes, ck.val(path+".max_bytes", k.MaxBytes))
		} else {
			ck.add(path+".max_bytes", "must be at least min_bytes (%d); found %d", ck.val(path+".min_bytes", k.MinBytes), ck.val(path+".max_bytes", k.MaxBytes))
		}
	}
	durationAtLeast(ck, path+".max_wait", k.MaxWait, time.Millisecond)
	durationAtLeast(ck, path+".commit_interval", k.CommitInterval, 0)
	atLeast(ck, path+".commit_count", k.CommitCount, 1)
	k.TLS.validate(ck, path+".tls")
	k.SASL.validate(ck, path+".sasl")
	if k.DeadLetterTopic != "" {
		topicName(ck, path+".dead_letter_topic", k.DeadLetterTopic)
	}
	eventHubsKafkaEndpoint(ck, path, k.Brokers, k.TLS, k.SASL)
}

// eventHubsDomains are the host suffixes of Event Hubs namespaces in the
// Azure clouds.
var eventHubsDomains = []string{
	".servicebus.windows.net", ".servicebus.chinacloudapi.cn", ".servicebus.usgovcloudapi.net",
}

// eventHubsKafkaEndpoint checks the settings the Event Hubs Kafka endpoint
// insists on when a broker is an Event Hubs namespace.
func eventHubsKafkaEndpoint(ck *checker, path string, brokers []string, tls TLS, sasl SASL) {
	isEH := false
	for i, b := range brokers {
		host, port, err := net.SplitHostPort(b)
		if err != nil || !hasAnySuffix(strings.ToLower(host), eventHubsDomains) {
			continue
		}
		isEH = true
		if p := indexPath(path+".brokers", i); port != "9093" {
			if ck.fromEnv(p) {
				ck.add(p, "the Event Hubs Kafka endpoint listens on port 9093; %v has another", ck.val(p, b))
			} else {
				ck.add(p, "the Event Hubs Kafka endpoint listens on port 9093; found %s", port)
			}
		}
	}
	if !isEH {
		return
	}
	if !tls.Enabled {
		ck.add(path+".tls.enabled", "the Event Hubs Kafka endpoint needs TLS: set true")
	}
	if sasl.Mechanism != "plain" {
		ck.add(path+".sasl.mechanism", "the Event Hubs Kafka endpoint needs plain (with a connection string); found %s", ck.val(path+".sasl.mechanism", showValue(sasl.Mechanism)))
		return
	}
	if sasl.Username != "$ConnectionString" {
		ck.add(path+".sasl.username", "the Event Hubs Kafka endpoint needs the literal $ConnectionString (a bare $word is not expanded); found %s", ck.val(path+".sasl.username", showValue(sasl.Username)))
	}
}

func hasAnySuffix(s string, suffixes []string) bool {
	for _, suf := range suffixes {
		if strings.HasSuffix(s, suf) {
			return true
		}
	}
	return false
}

func (t *TLS) validate(ck *checker, path string) {
	if t.Enabled {
		certPair(ck, path, t.CertFile, t.KeyFile)
		tlsFiles(ck, path, t.CAFile, t.CertFile, t.KeyFile)
	}
}

// tlsFiles checks that the TLS files named can be read and parse as a run
// parses them (internal/tlsfile: a CA bundle with a certificate, a
// certificate and the key that matches it), so that a typo or a wrong file
// stops the start, or check, naming its key rather than the first
// connection.
func tlsFiles(ck *checker, path, ca, cert, key string) {
	if ck.skipFiles {
		return
	}
	// unreadable reports a file that cannot be read, naming it as
	// ck.val does (it may have come from the environment).
	unreadable := func(key string, err error) {
		p := path + "." + key
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
			ck.add(p, "cannot be read: %s %v: %v", pe.Op, ck.val(p, pe.Path), pe.Err)
		} else {
			ck.add(p, "cannot be read: %v", err)
		}
	}
	readable := func(key, file string) bool {
		if file == "" {
			return false
		}
		fh, err := os.Open(file)
		if err != nil {
			unreadable(key, err)
			return false
		}
		fh.Close()
		return true
	}
	report := func(err error) {
		var fe *tlsfile.Error
		switch {
		case !errors.As(err, &fe): // cannot happen: tlsfile's errors are *Error
			ck.add(path, "%v", err)
		case fe.Unreadable(): // read since it was opened
			unreadable(fe.Key, fe.Err)
		default:
			// A key that does not go with the certificate names
			// cert_file's file too ("with cert_file <file>: …").
			msg := fe.Err.Error()
			if inner := errors.Unwrap(fe.Err); inner != nil && fe.Key == "key_file" && msg == "with cert_file "+cert+": "+inner.Error() {
				msg = fmt.Sprintf("with cert_file %v: %v", ck.val(path+".cert_file", cert), inner)
			}
			ck.add(path+"."+fe.Key, "%v: %s", ck.val(path+"."+fe.Key, fe.File), msg)
		}
	}
	if readable("ca_file", ca) {
		if _, err := tlsfile.CertPool(ca); err != nil {
			report(err)
		}
	}
	// Each file that cannot be read is reported; a pair is parsed (and
	// matched) when both can, one without the other is certPair's report.
	certOK, keyOK := readable("cert_file", cert), readable("key_file", key)
	if certOK && keyOK {
		if _, err := tlsfile.KeyPair(cert, key); err != nil {
			report(err)
		}
	}
}

func certPair(ck *checker, path, cert, key string) {
	if cert != "" && key == "" {
		ck.add(path+".key_file", "required with cert_file")
	}
	if key != "" && cert == "" {
		ck.add(path+".cert_file", "required with key_file")
	}
}

func (s *SASL) validate(ck *checker, path string) {
	switch s.Mechanism {
	case "plain", "scram-sha-256", "scram-sha-512":
	default:
		return // none, or reported by the enum check
	}
	required(ck, path+".username", s.Username, "with a SASL mechanism")
	if !s.Password.IsSet() {
		ck.add(path+".password", "required with a SASL mechanism")
	}
}

func (e *EventHubsSource) validate(ck *checker, path string) {
	switch e.Auth {
	case "connection_string":
		e.validateConnectionString(ck, path)
	case "default_credential":
		if required(ck, path+".namespace", e.Namespace, "with auth default_credential") {
			namespace(ck, path+".namespace", e.Namespace)
		}
		required(ck, path+".hub", e.Hub, "")
	}
	required(ck, path+".consumer_group", e.ConsumerGroup, "")
	e.Checkpoint.validate(ck, path+".checkpoint")
	if e.Prefetch != -1 && e.Prefetch < 1 {
		ck.add(path+".prefetch", "must be at least 1, or -1 to disable prefetching; found %d", ck.val(path+".prefetch", e.Prefetch))
	}
	durationAtLeast(ck, path+".checkpoint_interval", e.CheckpointInterval, 0)
	atLeast(ck, path+".checkpoint_count", e.CheckpointCount, 1)
}

func (e *EventHubsSource) validateConnectionString(ck *checker, path string) {
	cs := e.ConnectionString.Reveal()
	if cs == "" {
		ck.add(path+".connection_string", "required with auth connection_string")
		return
	}
	props := connStringProps(cs)
	endpoint, ok := props["endpoint"]
	u, err := url.Parse(endpoint)
	if !ok || err != nil || u.Scheme != "sb" || u.Host == "" {
		ck.add(path+".connection_string", "not an Event Hubs connection string: want Endpoint=sb://<namespace>.servicebus.windows.net/;SharedAccessKeyName=…;SharedAccessKey=…")
		return
	}
	if _, ok := props["sharedaccesssignature"]; !ok {
		if props["sharedaccesskeyname"] == "" || props["sharedaccesskey"] == "" {
			ck.add(path+".connection_string", "lacks SharedAccessKeyName and SharedAccessKey (or SharedAccessSignature)")
		}
	}
	entity := props["entitypath"]
	switch {
	case entity != "" && e.Hub != "":
		ck.add(path+".hub", "must be empty: the connection string names the hub (EntityPath)")
	case entity == "" && e.Hub == "":
		ck.add(path+".hub", "required: the connection string has no EntityPath")
	}
}

// connStringProps splits "Key=value;Key=value" with lower-case keys.
func connStringProps(cs string) map[string]string {
	props := map[string]string{}
	for part := range strings.SplitSeq(cs, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok {
			props[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	return props
}

func namespace(ck *checker, path, ns string) {
	if strings.Contains(ns, "://") || strings.ContainsAny(ns, "/:") || !strings.Contains(ns, ".") || !validHost(ns) {
		ck.add(path, "want the fully qualified namespace host, like myns.servicebus.windows.net; found %s", ck.val(path, showValue(ns)))
	}
}

func (cp *Checkpoint) validate(ck *checker, path string) {
	switch {
	case cp.ContainerURL == "" && !cp.ConnectionString.IsSet():
		ck.add(path, "required: set container_url (with the Azure default credential), or connection_string and container")
	case cp.ContainerURL != "":
		u, err := url.Parse(cp.ContainerURL)
		switch {
		case err != nil || u.Scheme != "https" || u.Host == "":
			ck.add(path+".container_url", "want https://<account>.blob.core.windows.net/<container>")
		case u.RawQuery != "" || u.User != nil:
			ck.add(path+".container_url", "must not hold credentials (a SAS token?): it is used with the Azure default credential; use connection_string and container otherwise")
		case strings.Contains(cp.ContainerURL, "#"): // url.Parse took the first '#' as the fragment's
			ck.add(path+".container_url", "must not hold a #fragment: it is never sent to the storage account (a SAS token after # is not a SAS); want https://<account>.blob.core.windows.net/<container>, with the Azure default credential, or use connection_string and container")
		default:
			if name := strings.Trim(u.Path, "/"); strings.Contains(name, "/") || name == "" {
				ck.add(path+".container_url", "want https://<account>.blob.core.windows.net/<container>: the path must be the container name")
			} else {
				containerName(ck, path+".container_url", name, true)
			}
		}
	default:
		props := connStringProps(cp.ConnectionString.Reveal())
		if props["accountname"] == "" && props["blobendpoint"] == "" && !strings.EqualFold(props["usedevelopmentstorage"], "true") {
			ck.add(path+".connection_string", "not a storage connection string: want DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…;EndpointSuffix=core.windows.net")
		}
		if required(ck, path+".container", cp.Container, "with connection_string") {
			containerName(ck, path+".container", cp.Container, false)
		}
	}
}

var containerRE = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)

// containerName checks the name of a blob container: the value of the
// key at path, or with inURL the path of the URL that is.
func containerName(ck *checker, path, name string, inURL bool) {
	if len(name) < 3 || len(name) > 63 || !containerRE.MatchString(name) {
		var shown any = ck.val(path, name)
		if inURL && ck.fromEnv(path) {
			shown = fmt.Sprintf("the container of %v", shown)
		} else {
			shown = fmt.Sprintf("%q", shown)
		}
		ck.add(path, "%s is not a valid container name: 3–63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit", shown)
	}
}

func (f *Feed) validate(ck *checker, path string) {
	validName(ck, path+".name", f.Name)
	switch f.Type {
	case "file":
		required(ck, path+".path", f.Path, "for a file feed")
	case "http", "taxii":
		if httpURL(ck, path+".url", f.URL) {
			httpTLS(ck, path+".tls", f.URL, f.TLS)
		}
		durationAtLeast(ck, path+".interval", f.Interval, time.Minute)
		durationAtLeast(ck, path+".timeout", f.Timeout, time.Millisecond)
		if f.MaxBytes < 1 {
			ck.add(path+".max_bytes", "must be at least 1; found %d", ck.val(path+".max_bytes", f.MaxBytes))
		}
		headers(ck, path+".headers", f.Headers)
	}
	if f.Type == "taxii" {
		required(ck, path+".taxii.collection", f.TAXII.Collection, "for a taxii feed")
		basicOrToken(ck, path+".taxii", f.TAXII.Username, f.TAXII.Password, f.TAXII.Token, "token")
		if f.Format != "auto" && f.Format != "stix2" {
			ck.add(path+".format", "a TAXII collection serves STIX 2.1: use auto or stix2; found %q", ck.val(path+".format", f.Format))
		}
	}
	if f.Format == "csv" {
		f.CSV.validate(ck, path+".csv")
	}
	if f.Confidence < 0 || f.Confidence > 100 {
		ck.add(path+".confidence", "must be between 0 and 100; found %d", ck.val(path+".confidence", f.Confidence))
	}
	nonEmptyItems(ck, path+".tags", f.Tags)
	durationAtLeast(ck, path+".ttl", f.TTL, 0)
	if f.Allow.MinPrefixV4 < 0 || f.Allow.MinPrefixV4 > 32 {
		ck.add(path+".allow.min_prefix_v4", "must be between 0 and 32; found %d", ck.val(path+".allow.min_prefix_v4", f.Allow.MinPrefixV4))
	}
	if f.Allow.MinPrefixV6 < 0 || f.Allow.MinPrefixV6 > 128 {
		ck.add(path+".allow.min_prefix_v6", "must be between 0 and 128; found %d", ck.val(path+".allow.min_prefix_v6", f.Allow.MinPrefixV6))
	}
}

func (c *CSVFormat) validate(ck *checker, path string) {
	r, size := utf8.DecodeRuneInString(c.Delimiter)
	switch {
	case c.Delimiter == "":
		// Guessed from the header line.
	case size != len(c.Delimiter):
		ck.add(path+".delimiter", "must be one character; found %q", ck.val(path+".delimiter", c.Delimiter))
	case r == '"' || r == '\r' || r == '\n' || r == utf8.RuneError:
		ck.add(path+".delimiter", "cannot be %q", ck.val(path+".delimiter", c.Delimiter))
	case c.Comment != "" && strings.HasPrefix(c.Comment, c.Delimiter):
		ck.add(path+".comment", "cannot start with the delimiter %q", ck.val(path+".delimiter", c.Delimiter))
	}
	if c.HeaderInComment && c.Comment == "" {
		ck.add(path+".header_in_comment", "needs a comment prefix (csv.comment is empty)")
	}
}

func (s *Sink) validate(ck *checker, path string) {
	validName(ck, path+".name", s.Name)
	switch s.Type {
	case "syslog":
		oneOf(ck, path+".format", s.Format, "cef", "json")
	case "stdout", "file", "webhook", "kafka", "splunk_hec":
		oneOf(ck, path+".format", s.Format, "native", "ocsf")
	}
	atLeast(ck, path+".queue", s.Queue, 1)
	durationAtLeast(ck, path+".retry.initial", s.Retry.Initial, time.Millisecond)
	if s.Retry.Max < s.Retry.Initial {
		ck.add(path+".retry.max", "must be at least retry.initial (%s); found %s", ck.val(path+".retry.initial", formatDuration(s.Retry.Initial)), ck.val(path+".retry.max", formatDuration(s.Retry.Max)))
	}
	switch s.Type {
	case "file":
		p := path + ".file"
		required(ck, p+".path", s.File.Path, "for a file sink")
		if s.File.MaxBytes < 0 {
			ck.add(p+".max_bytes", "must be 0 (no rotation) or more; found %d", ck.val(p+".max_bytes", s.File.MaxBytes))
		}
		atLeast(ck, p+".keep", s.File.Keep, 1) // the file sink reads 0 as its default, 5
	case "webhook":
		p := path + ".webhook"
		if httpURL(ck, p+".url", s.Webhook.URL) {
			httpTLS(ck, p+".tls", s.Webhook.URL, s.Webhook.TLS)
		}
		headers(ck, p+".headers", s.Webhook.Headers)
		durationAtLeast(ck, p+".timeout", s.Webhook.Timeout, time.Millisecond)
	case "kafka":
		p := path + ".kafka"
		brokers(ck, p+".brokers", s.Kafka.Brokers)
		if required(ck, p+".topic", s.Kafka.Topic, "") {
			topicName(ck, p+".topic", s.Kafka.Topic)
		}
		s.Kafka.TLS.validate(ck, p+".tls")
		s.Kafka.SASL.validate(ck, p+".sasl")
		eventHubsKafkaEndpoint(ck, p, s.Kafka.Brokers, s.Kafka.TLS, s.Kafka.SASL)
	case "syslog":
		s.Syslog.validate(ck, path+".syslog")
	case "splunk_hec":
		p := path + ".splunk_hec"
		if httpURL(ck, p+".url", s.SplunkHEC.URL) {
			httpTLS(ck, p+".tls", s.SplunkHEC.URL, s.SplunkHEC.TLS)
		}
		if !s.SplunkHEC.Token.IsSet() {
			ck.add(p+".token", "required")
		} else if !httpguts.ValidHeaderFieldValue(s.SplunkHEC.Token.Reveal()) {
			// It is sent as "Authorization: Splunk <token>": the sink
			// refuses it at start-up.
			ck.add(p+".token", "holds a control character")
		}
		atLeast(ck, p+".batch_bytes", s.SplunkHEC.BatchBytes, 1)
	}
}

func (s *SyslogSink) validate(ck *checker, path string) {
	if required(ck, path+".address", s.Address, "") {
		hostPort(ck, path+".address", s.Address, false)
	}
	if s.AppName == "" || len(s.AppName) > 48 || !printASCII(s.AppName) {
		ck.add(path+".app_name", "must be 1–48 printable ASCII characters without spaces; found %q", ck.val(path+".app_name", s.AppName))
	}
	if len(s.Hostname) > 255 || !printASCII(s.Hostname) {
		ck.add(path+".hostname", "must be at most 255 printable ASCII characters without spaces; found %q", ck.val(path+".hostname", s.Hostname))
	}
	if s.Network == "tcp" {
		s.TLS.validate(ck, path+".tls")
	}
	if s.Network == "udp" && (s.MaxUDPBytes < 480 || s.MaxUDPBytes > 65507) {
		ck.add(path+".max_udp_bytes", "must be between 480 and 65507; found %d", ck.val(path+".max_udp_bytes", s.MaxUDPBytes))
	}
}

func printASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 33 || s[i] > 126 {
			return false
		}
	}
	return true
}

func (p *Pipeline) validate(ck *checker, path string) {
	atLeast(ck, path+".workers", p.Workers, 0)
	atLeast(ck, path+".batch_lines", p.BatchLines, 1)
	atLeast(ck, path+".max_message_bytes", p.MaxMessageBytes, 1)
	atLeast(ck, path+".max_records_per_message", p.MaxRecordsPerMessage, 1)
	atLeast(ck, path+".in_flight", p.InFlight, 1)
}

func (m *Metrics) validate(ck *checker, path string) {
	if !m.Enabled {
		return
	}
	if required(ck, path+".listen", m.Listen, "when metrics are enabled") {
		hostPort(ck, path+".listen", m.Listen, true)
	}
	basicOrToken(ck, path, m.BasicAuth.Username, m.BasicAuth.Password, m.BearerToken, "bearer_token")
}

// basicOrToken checks a username/password pair against a bearer token.
// The pair lives under basic_auth for metrics and inline for TAXII.
func basicOrToken(ck *checker, path, user string, pass, token Secret, tokenKey string) {
	pp := path
	if tokenKey == "bearer_token" {
		pp = path + ".basic_auth"
	}
	if user != "" && !pass.IsSet() {
		ck.add(pp+".password", "required with username")
	}
	if user == "" && pass.IsSet() {
		ck.add(pp+".username", "required with password")
	}
	if (user != "" || pass.IsSet()) && token.IsSet() {
		ck.add(path+"."+tokenKey, "set either a username and password or %s, not both", tokenKey)
	}
}

// Helpers. Each reports at path and returns whether the value was good.

func required(ck *checker, path, v, when string) bool {
	if strings.TrimSpace(v) != "" {
		return true
	}
	if when != "" {
		ck.add(path, "required %s", when)
	} else {
		ck.add(path, "required")
	}
	return false
}

func oneOf(ck *checker, path, v string, allowed ...string) bool {
	if slices.Contains(allowed, v) {
		return true
	}
	shown := make([]string, len(allowed))
	for i, a := range allowed {
		shown[i] = a
		if a == "" {
			shown[i] = `""`
		}
	}
	ck.add(path, "%q is not one of %s", ck.val(path, v), strings.Join(shown, ", "))
	return false
}

func atLeast(ck *checker, path string, v, min int) bool {
	if v >= min {
		return true
	}
	ck.add(path, "must be at least %d; found %d", min, ck.val(path, v))
	return false
}

func durationAtLeast(ck *checker, path string, v, min time.Duration) bool {
	if v >= min {
		return true
	}
	if min == 0 {
		ck.add(path, "must not be negative; found %s", ck.val(path, formatDuration(v)))
	} else {
		ck.add(path, "must be at least %s; found %s", formatDuration(min), ck.val(path, formatDuration(v)))
	}
	return false
}

func nonEmptyItems(ck *checker, path string, items []string) {
	for i, s := range items {
		if strings.TrimSpace(s) == "" {
			ck.add(indexPath(path, i), "empty value")
		}
	}
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func validName(ck *checker, path, name string) {
	if required(ck, path, name, "") && !nameRE.MatchString(name) {
		ck.add(path, "%q is not a valid name: 1–64 letters, digits, '.', '_' and '-', starting with a letter or digit", ck.val(path, name))
	}
}

func uniqueName(ck *checker, seen map[string]int, name, list string, i int) {
	if name == "" {
		return
	}
	if first, dup := seen[name]; dup {
		p := indexPath(list, i) + ".name"
		ck.add(p, "%q is already the name of %s", ck.val(p, name), indexPath(list, first))
		return
	}
	seen[name] = i
}

var topicRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,249}$`)

func topicName(ck *checker, path, t string) {
	if !topicRE.MatchString(t) || t == "." || t == ".." {
		ck.add(path, "%q is not a valid topic name: 1–249 letters, digits, '.', '_' and '-'", ck.val(path, t))
	}
}

func brokers(ck *checker, path string, list []string) {
	if len(list) == 0 {
		ck.add(path, "required: at least one host:port")
	}
	for i, b := range list {
		hostPort(ck, indexPath(path, i), b, false)
	}
}

// CheckListenAddr checks a listen address as metrics.listen is checked
// (host:port; the host may be empty, for all interfaces, and the port 0),
// for a command-line flag that overrides one; the error starts with name.
func CheckListenAddr(name, addr string) error {
	var ck checker
	hostPort(&ck, name, addr, true)
	return ck.join()
}

// CheckEnum checks value against the values the key at path may take
// ("log.level", "feeds[].format"), for a command-line flag that sets the
// key; the error starts with name and the value. A key without a list of
// values takes any.
func CheckEnum(name, path, value string) error {
	t := reflect.TypeFor[Config]()
	var f *field
	for part := range strings.SplitSeq(path, ".") {
		if f != nil {
			if t = t.Field(f.index).Type; t.Kind() == reflect.Slice {
				t = t.Elem()
			}
		}
		if f = findField(fieldsOf(t), strings.TrimSuffix(part, "[]")); f == nil {
			return fmt.Errorf("%s: no configuration key %s", name, path) // a caller's bug
		}
	}
	if f.enum == nil || slices.Contains(f.enum, value) {
		return nil
	}
	return fmt.Errorf("%s %q: want %s", name, value, orList(f.enum))
}

// hostPort checks host:port; the host may be empty (all interfaces) and
// the port 0 (any free port) only for a listen address.
func hostPort(ck *checker, path, s string, listen bool) bool {
	shown := ck.val(path, s)
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		ck.add(path, "%q is not host:port", shown)
		return false
	}
	n, err := strconv.Atoi(port)
	low := 1
	if listen {
		low = 0
	}
	if err != nil || n < low || n > 65535 {
		ck.add(path, "%q: the port must be a number from %d to 65535", shown, low)
		return false
	}
	if (host == "" && !listen) || (host != "" && !validHost(host)) {
		if ck.fromEnv(path) {
			ck.add(path, "%v: the host is not a host name or IP address", shown)
		} else {
			ck.add(path, "%q: %q is not a host name or IP address", s, host)
		}
		return false
	}
	return true
}

func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if len(h) > 253 || h == "" {
		return false
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c == '-' || c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
				return false
			}
		}
	}
	return true
}

// httpURL checks an http(s) URL without echoing it (it may hold a token).
func httpURL(ck *checker, path, s string) bool {
	if strings.TrimSpace(s) == "" {
		ck.add(path, "required")
		return false
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if ck.fromEnv(path) && strings.Contains(err.Error(), `"`) {
			// url's errors quote the part of the URL they refuse.
			ck.add(path, "%v is not a URL", ck.val(path, s))
		} else {
			ck.add(path, "not a URL: %v", err)
		}
		return false
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		ck.add(path, "must be https:// or http://")
		return false
	}
	if u.Host == "" || u.Hostname() == "" {
		ck.add(path, "has no host")
		return false
	}
	return true
}

// httpTLS refuses TLS settings with an http:// URL.
func httpTLS(ck *checker, path, rawURL string, t HTTPTLS) {
	if u, err := url.Parse(rawURL); err == nil && u.Scheme == "http" && t != (HTTPTLS{}) {
		ck.add(path, "not used with an http:// URL")
	}
	certPair(ck, path, t.CertFile, t.KeyFile)
	tlsFiles(ck, path, t.CAFile, t.CertFile, t.KeyFile)
}

func headers(ck *checker, path string, h map[string]Secret) {
	seen := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(h)) {
		sub := path + "[" + strconv.Quote(k) + "]"
		if !httpguts.ValidHeaderFieldName(k) {
			ck.add(sub, "not a valid HTTP header name")
			continue
		}
		if !httpguts.ValidHeaderFieldValue(h[k].Reveal()) {
			ck.add(sub, "the value holds a control character")
		}
		canon := strings.ToLower(k)
		if first, dup := seen[canon]; dup {
			ck.add(sub, "the same header as %q (header names ignore case)", first)
			continue
		}
		seen[canon] = k
	}
}
