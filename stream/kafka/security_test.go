package kafka_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go/sasl/plain"

	"github.com/iocwatch/iocwatch/stream/kafka"
	"github.com/iocwatch/iocwatch/stream/kafka/embedded"
	"github.com/iocwatch/iocwatch/stream/kafka/internal/testpki"
)

func newPKI(t *testing.T) *testpki.PKI {
	t.Helper()
	p, err := testpki.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// verifies reports whether cfg's roots accept the PKI's server certificate.
func verifies(t *testing.T, cfg *tls.Config, certFile string) error {
	t.Helper()
	raw, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(raw)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cert.Verify(x509.VerifyOptions{Roots: cfg.RootCAs, DNSName: "localhost"})
	return err
}

func TestTLSConfig(t *testing.T) {
	p := newPKI(t)
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                      string
		ca, cert, key, serverName string
		insecure                  bool
		wantErr                   []string
		check                     func(t *testing.T, c *tls.Config)
	}{
		{name: "no files keeps the system pool and TLS 1.2 as the floor",
			check: func(t *testing.T, c *tls.Config) {
				if c.RootCAs != nil || len(c.Certificates) != 0 || c.InsecureSkipVerify {
					t.Errorf("got RootCAs %v, %d certificates, insecure %v; want system pool, none, false", c.RootCAs, len(c.Certificates), c.InsecureSkipVerify)
				}
				if c.MinVersion != tls.VersionTLS12 {
					t.Errorf("MinVersion = %x, want TLS 1.2", c.MinVersion)
				}
			}},
		{name: "a CA file is the only trusted root", ca: p.CAFile,
			check: func(t *testing.T, c *tls.Config) {
				if err := verifies(t, c, p.ServerCertFile); err != nil {
					t.Errorf("the server certificate does not verify against the CA file: %v", err)
				}
			}},
		{name: "an unrelated CA file does not trust the server", ca: p.OtherCAFile,
			check: func(t *testing.T, c *tls.Config) {
				if err := verifies(t, c, p.ServerCertFile); err == nil {
					t.Error("the server certificate verifies against an unrelated CA")
				}
			}},
		{name: "a client certificate and key are loaded", cert: p.ClientCertFile, key: p.ClientKeyFile,
			check: func(t *testing.T, c *tls.Config) {
				if len(c.Certificates) != 1 {
					t.Errorf("%d certificates, want 1", len(c.Certificates))
				}
			}},
		{name: "server name and insecure skip verify pass through", serverName: "ns.servicebus.windows.net", insecure: true,
			check: func(t *testing.T, c *tls.Config) {
				if c.ServerName != "ns.servicebus.windows.net" || !c.InsecureSkipVerify {
					t.Errorf("ServerName %q insecure %v", c.ServerName, c.InsecureSkipVerify)
				}
			}},
		{name: "a missing CA file is named", ca: filepath.Join(t.TempDir(), "nope.pem"), wantErr: []string{"ca_file", "nope.pem"}},
		{name: "a CA file without PEM is refused", ca: notPEM, wantErr: []string{"ca_file", "no PEM certificate"}},
		{name: "a certificate without its key is refused", cert: p.ClientCertFile, wantErr: []string{"key_file: required"}},
		{name: "a key without its certificate is refused", key: p.ClientKeyFile, wantErr: []string{"cert_file: required"}},
		{name: "a key that does not match the certificate is refused", cert: p.ClientCertFile, key: p.ServerKeyFile, wantErr: []string{"cert_file", "key_file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := kafka.TLSConfig(tt.ca, tt.cert, tt.key, tt.serverName, tt.insecure)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("TLSConfig succeeded, want an error")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("TLSConfig: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestSASLMechanism(t *testing.T) {
	tests := []struct {
		name, mechanism, user, pass string
		wantName                    string // "" means no mechanism
		wantErr                     []string
	}{
		{name: "an empty mechanism means no SASL", mechanism: ""},
		{name: "none means no SASL", mechanism: "none"},
		{name: "plain is PLAIN", mechanism: "plain", user: "$ConnectionString", pass: "Endpoint=sb://ns/;SharedAccessKey=k", wantName: "PLAIN"},
		{name: "names are case-insensitive", mechanism: "SCRAM-SHA-256", user: "u", pass: "p", wantName: "SCRAM-SHA-256"},
		{name: "scram-sha-512 is SCRAM-SHA-512", mechanism: "scram-sha-512", user: "u", pass: "p", wantName: "SCRAM-SHA-512"},
		{name: "an unknown mechanism is named", mechanism: "gssapi", user: "u", pass: "p", wantErr: []string{"sasl mechanism", `"gssapi"`}},
		{name: "a username is required", mechanism: "plain", pass: "p", wantErr: []string{"sasl username"}},
		{name: "an empty password points at its environment variable", mechanism: "plain", user: "$ConnectionString", wantErr: []string{"a password is required", "environment variable"}},
		{name: "both missing are reported together", mechanism: "scram-sha-256", wantErr: []string{"username", "password"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := kafka.SASLMechanism(tt.mechanism, tt.user, tt.pass)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("SASLMechanism succeeded, want an error")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("SASLMechanism: %v", err)
			}
			if tt.wantName == "" {
				if m != nil {
					t.Fatalf("got mechanism %s, want nil", m.Name())
				}
				return
			}
			if m == nil || m.Name() != tt.wantName {
				t.Fatalf("got %v, want %s", m, tt.wantName)
			}
			if pm, ok := m.(plain.Mechanism); ok && (pm.Username != tt.user || pm.Password != tt.pass) {
				t.Errorf("PLAIN credentials = %q/%q, want %q/%q", pm.Username, pm.Password, tt.user, tt.pass)
			}
		})
	}
}

// TestEventHubsStyleConnection runs the Event Hubs Kafka endpoint's
// settings — TLS, SASL PLAIN, user $ConnectionString, the connection string
// as password — against the embedded broker, and pins that refused
// credentials or an untrusted certificate end Read with an error instead of
// retrying for ever.
func TestEventHubsStyleConnection(t *testing.T) {
	p := newPKI(t)
	const connStr = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=c2VjcmV0"
	b, err := embedded.Start(embedded.BrokerOptions{
		Topics: []embedded.Topic{{Name: "defender", Partitions: 2}},
		TLS:    p.Server,
		Users:  []embedded.User{{Mechanism: "plain", Name: "$ConnectionString", Password: connStr}},
		Logger: logger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	produce(t, b, "defender", 0, 0, 5)
	produce(t, b, "defender", 1, 0, 5)

	tests := []struct {
		name     string
		ca, pass string
		wantErr  []string
	}{
		{name: "the right connection string over TLS reads and commits", ca: p.CAFile, pass: connStr},
		{name: "a wrong connection string ends Read with a SASL error", ca: p.CAFile, pass: connStr + "x", wantErr: []string{"SASL", "Authentication"}},
		{name: "an untrusted broker certificate ends Read with a TLS error", ca: p.OtherCAFile, pass: connStr, wantErr: []string{"certificate"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			tlsCfg, err := kafka.TLSConfig(tt.ca, "", "", "", false)
			if err != nil {
				t.Fatal(err)
			}
			mech, err := kafka.SASLMechanism("PLAIN", "$ConnectionString", tt.pass)
			if err != nil {
				t.Fatal(err)
			}
			group := "eh" + itoa(i)
			opt := fastOptions(b, group, "defender")
			opt.TLS, opt.SASL = tlsCfg, mech
			s, err := kafka.New(opt)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(context.Background())
			if len(tt.wantErr) > 0 {
				_, err := s.Read(ctx)
				if err == nil || ctx.Err() != nil {
					t.Fatalf("Read: err = %v, want a refusal", err)
				}
				t.Logf("Read: %v", err)
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			batches := readBatches(t, ctx, s, 10, 0)
			ackAll(t, ctx, batches)
			if err := s.Close(ctx); err != nil {
				t.Fatal(err)
			}
			got, err := b.Committed(ctx, group, "defender")
			if err != nil {
				t.Fatal(err)
			}
			if got[0] != 5 || got[1] != 5 {
				t.Errorf("committed = %s, want [0@5 1@5]", fmtOffsets(got))
			}
		})
	}
}
