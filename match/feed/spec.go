package feed

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/iocwatch/iocwatch/internal/tlsfile"
	"github.com/iocwatch/iocwatch/internal/urlcred"
	"github.com/iocwatch/iocwatch/match"
)

// The feed types (Spec.Type).
const (
	TypeFile  = "file"  // a local file, watched for changes
	TypeHTTP  = "http"  // an http(s) URL, polled with conditional GETs
	TypeTAXII = "taxii" // a TAXII 2.1 collection, polled with added_after
)

// Defaults applied to a Spec's zero fields.
const (
	DefaultInterval = time.Hour              // Spec.Interval of http and taxii feeds
	DefaultTimeout  = 30 * time.Second       // Spec.Timeout
	DefaultMaxBytes = int64(256 << 20)       // Spec.MaxBytes (256 MiB)
	DefaultDebounce = 200 * time.Millisecond // Options.Debounce
	DefaultFilePoll = time.Minute            // Options.FilePoll
	DefaultRetryMin = 30 * time.Second       // Options.RetryMin
	// DefaultShrinkGuard is the fraction by which a feed may shrink in one
	// fetch before the fetch is held back (Options.ShrinkGuard).
	DefaultShrinkGuard = 0.5
)

// Spec describes one feed: where its bytes come from and how they are read.
// The zero value is a file feed without a path, which New refuses. A Spec
// is plain data; the Manager copies it and never changes it.
type Spec struct {
	// Name identifies the feed in reports, logs and the cache directory.
	// Required, unique within a Manager.
	Name string
	// Type is TypeFile (also when empty), TypeHTTP or TypeTAXII.
	Type string
	// Path is the file of a file feed.
	Path string
	// URL is the http(s) URL of an http feed, or the TAXII 2.1 API root
	// ("https://taxii.example/api1/") of a taxii feed.
	URL string
	// Load says how the content is read: Format, CSV, Defaults and Guard.
	// Name is replaced by the path or URL, Now by the Manager's clock and
	// TTL by Spec.TTL (applied by the Manager, see "TTL and expiry" in the
	// package documentation). A taxii feed is always read as "stix2".
	Load match.LoadOptions
	// TTL, when > 0, makes every indicator of the feed expire TTL after
	// it was last seen in the feed (unless the feed gives an earlier
	// valid_until), and keeps an indicator that the feed no longer lists
	// until then. 0: indicators live while the feed lists them.
	TTL time.Duration
	// Interval is the refresh period of http and taxii feeds; 0 means
	// DefaultInterval. File feeds are reloaded when they change.
	Interval time.Duration
	// Headers are sent with every request of http and taxii feeds (values
	// already resolved; they are never logged). An empty value is left out.
	Headers map[string]string
	// Timeout bounds one whole download (every page of a TAXII poll); 0
	// means DefaultTimeout.
	Timeout time.Duration
	// MaxBytes refuses a download (each TAXII page) larger than this, and
	// a decompressed body larger than this; 0 means DefaultMaxBytes.
	MaxBytes int64
	// TLS configures https:// connections. The zero value verifies the
	// server against the system roots.
	TLS TLSOptions
	// TAXII names the collection and the credentials of a taxii feed.
	TAXII TAXIIOptions
}

// TLSOptions configures the TLS client of an https feed. The zero value
// verifies the server certificate against the system roots. Plain data.
type TLSOptions struct {
	CAFile             string // PEM bundle of CAs to trust instead of the system roots
	CertFile, KeyFile  string // PEM client certificate and key
	InsecureSkipVerify bool   // accept any server certificate (tests only)
	ServerName         string // name checked in the certificate; "" means the URL's host
}

// TAXIIOptions names a TAXII 2.1 collection and the credentials to read
// it: Username and Password (HTTP basic) or Token (bearer). The zero value
// names no collection. Plain data; the secrets are never logged.
type TAXIIOptions struct {
	Collection string
	Username   string
	Password   string
	Token      string
}

func (s *Spec) typ() string {
	if s.Type == "" {
		return TypeFile
	}
	return s.Type
}

func (s *Spec) interval() time.Duration {
	if s.Interval > 0 {
		return s.Interval
	}
	return DefaultInterval
}

func (s *Spec) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return DefaultTimeout
}

func (s *Spec) maxBytes() int64 {
	if s.MaxBytes > 0 {
		return s.MaxBytes
	}
	return DefaultMaxBytes
}

// location is the path or URL, without URL credentials, for reports.
func (s *Spec) location() string {
	if s.typ() == TypeFile {
		return s.Path
	}
	return redactURL(s.URL)
}

// redactURL replaces the credentials written in a URL — its password,
// credential-like query values (auth-key=, …) and path segments that
// look like a key (urlcred.Redact) — by "[redacted]".
func redactURL(raw string) string { return urlcred.Redact(raw, "[redacted]") }

// validate checks one spec; the errors name the feed.
func (s *Spec) validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if s.Name == "" {
		add("a feed has no name")
	}
	switch s.typ() {
	case TypeFile:
		if s.Path == "" {
			add("feed %q: file feed without a path", s.Name)
		}
	case TypeHTTP, TypeTAXII:
		u, err := url.Parse(s.URL)
		switch {
		case err != nil:
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // its text repeats the URL
			}
			add("feed %q: url: %w", s.Name, err)
		case u.Scheme != "http" && u.Scheme != "https":
			add("feed %q: url %q: want http:// or https://", s.Name, redactURL(s.URL))
		case u.Host == "":
			add("feed %q: url %q: no host", s.Name, redactURL(s.URL))
		}
		if s.typ() == TypeTAXII {
			if s.TAXII.Collection == "" {
				add("feed %q: taxii feed without a collection", s.Name)
			}
			if s.TAXII.Token != "" && (s.TAXII.Username != "" || s.TAXII.Password != "") {
				add("feed %q: taxii: a token and a username/password are exclusive", s.Name)
			}
			if f := strings.ToLower(s.Load.Format); f != "" && f != match.FormatAuto && f != match.FormatSTIX2 {
				add("feed %q: a taxii feed is read as stix2, not %q", s.Name, s.Load.Format)
			}
		}
	default:
		add("feed %q: unknown type %q (want file, http or taxii)", s.Name, s.Type)
	}
	if s.TTL < 0 || s.Interval < 0 || s.Timeout < 0 || s.MaxBytes < 0 {
		add("feed %q: negative ttl, interval, timeout or max_bytes", s.Name)
	}
	return errors.Join(errs...)
}

// tlsConfig builds the client TLS configuration of an https feed.
func (o TLSOptions) tlsConfig() (*tls.Config, error) {
	c := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: o.InsecureSkipVerify, //nolint:gosec // opt-in, documented as for tests only
		ServerName:         o.ServerName,
	}
	// The files are read as config.Validate reads them (internal/tlsfile),
	// so that check refuses what a run would refuse.
	if o.CAFile != "" {
		pool, err := tlsfile.CertPool(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls %w", err)
		}
		c.RootCAs = pool
	}
	if o.CertFile != "" || o.KeyFile != "" {
		cert, err := tlsfile.KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// cacheName maps a feed name to a file name: letters, digits, '.', '_'
// and '-' are kept, anything else becomes '_', and a leading '.' too.
func cacheName(name string) string {
	b := []byte(name)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' && i > 0
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}
