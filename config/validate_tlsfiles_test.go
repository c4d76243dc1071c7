package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tlsTestFiles writes, in a new directory, a CA certificate, a client
// certificate with its key, another key, and files that are not what a
// TLS setting wants, and returns their paths by name.
func tlsTestFiles(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	newKey := func() (*ecdsa.PrivateKey, []byte) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return k, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	caKey, _ := newKey()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	clientKey, clientKeyPEM := newKey()
	client := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "iocwatch"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	clientDER, err := x509.CreateCertificate(rand.Reader, client, ca, &clientKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKeyPEM := newKey()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	clientPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: clientDER})
	files := map[string][]byte{
		"ca.pem":         caPEM,
		"client.pem":     clientPEM,
		"client-key.pem": clientKeyPEM,
		"other-key.pem":  otherKeyPEM,
		"not-pem.txt":    []byte("this is not PEM\n"),
		"key-only.pem":   clientKeyPEM,
		"garbled.pem":    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")}),
		"encrypted.pem":  pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("not decrypted")}),
	}
	paths := map[string]string{}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		paths[name] = p
	}
	return paths
}

// Validate parses the TLS files a configuration names as a run parses them
// to build its tls.Config — a CA bundle must hold a certificate, a client
// certificate must parse and match its key — not only opens them, so that
// check refuses what run would refuse, at the key and its line.
func TestValidateParsesTLSFiles(t *testing.T) {
	f := tlsTestFiles(t)
	for _, tc := range []struct {
		name          string
		ca, cert, key string
		want          []string // the problems' keys (after "….tls.") and text; none when valid
	}{
		{"good files", "ca.pem", "client.pem", "client-key.pem", nil},
		{"a CA alone", "ca.pem", "", "", nil},
		{"a CA file that is not PEM", "not-pem.txt", "", "", []string{"ca_file: " + f["not-pem.txt"] + ": no PEM certificate found"}},
		{"a CA file with a key and no certificate", "client-key.pem", "", "", []string{"ca_file: " + f["client-key.pem"] + ": no PEM certificate found"}},
		{"a CA file with a certificate that does not parse", "garbled.pem", "", "", []string{"ca_file: " + f["garbled.pem"] + ": no PEM certificate found"}},
		{"a certificate file that is not PEM", "", "not-pem.txt", "client-key.pem", []string{"cert_file: " + f["not-pem.txt"] + ": no PEM certificate found"}},
		{"a certificate file holding a key", "", "key-only.pem", "client-key.pem", []string{"cert_file: " + f["key-only.pem"] + ": holds a private key, not a certificate"}},
		{"a certificate that does not parse", "", "garbled.pem", "client-key.pem", []string{"cert_file: " + f["garbled.pem"] + ": x509:"}},
		{"a certificate and key that do not match", "", "client.pem", "other-key.pem", []string{"key_file: " + f["other-key.pem"] + ": with cert_file " + f["client.pem"] + ": tls: private key does not match public key"}},
		{"a key file holding a certificate", "", "client.pem", "ca.pem", []string{"key_file: " + f["ca.pem"] + ": tls: found a certificate rather than a key"}},
		{"a key file that is not PEM", "", "client.pem", "not-pem.txt", []string{"key_file: " + f["not-pem.txt"] + ": tls: failed to find any PEM data in key input"}},
		{"an encrypted key", "", "client.pem", "encrypted.pem", []string{"key_file: " + f["encrypted.pem"] + ": holds an encrypted (passphrase-protected) private key"}},
		{"a missing key file", "", "client.pem", "nope.pem", []string{"key_file: cannot be read:"}},
		{"a bad CA and a mismatched key, both reported", "not-pem.txt", "client.pem", "other-key.pem", []string{"ca_file: " + f["not-pem.txt"], "key_file: " + f["other-key.pem"]}},
	} {
		path := func(name string) string {
			if name == "nope.pem" {
				return filepath.Join(filepath.Dir(f["ca.pem"]), name)
			}
			return f[name]
		}
		tls := "      enabled: true\n"
		for _, s := range []struct{ key, name string }{{"ca_file", tc.ca}, {"cert_file", tc.cert}, {"key_file", tc.key}} {
			if s.name != "" {
				tls += "      " + s.key + ": '" + path(s.name) + "'\n"
			}
		}
		httpTLS := strings.ReplaceAll(tls, "      enabled: true\n", "")
		for _, place := range []struct{ name, key, yaml string }{
			{"the Kafka source", "source.kafka.tls",
				"source:\n  type: kafka\n  kafka:\n    brokers: ['k:9093']\n    topics: [t]\n    tls:\n" + tls + "feeds: [{name: f, path: f}]\n"},
			{"a syslog sink", "sinks[0].syslog.tls",
				"source: {type: file, file: {paths: [e.jsonl]}}\nfeeds: [{name: f, path: f}]\nsinks:\n- name: s\n  type: syslog\n  syslog:\n    address: 'siem:6514'\n    tls:\n" + tls},
			{"a Kafka sink", "sinks[0].kafka.tls",
				"source: {type: file, file: {paths: [e.jsonl]}}\nfeeds: [{name: f, path: f}]\nsinks:\n- name: k\n  type: kafka\n  kafka:\n    brokers: ['k:9093']\n    topic: alerts\n    tls:\n" + tls},
			{"a webhook sink", "sinks[0].webhook.tls",
				"source: {type: file, file: {paths: [e.jsonl]}}\nfeeds: [{name: f, path: f}]\nsinks:\n- name: w\n  type: webhook\n  webhook:\n    url: 'https://soar.example/hook'\n    tls:\n" + httpTLS},
			{"a Splunk HEC sink", "sinks[0].splunk_hec.tls",
				"source: {type: file, file: {paths: [e.jsonl]}}\nfeeds: [{name: f, path: f}]\nsinks:\n- name: h\n  type: splunk_hec\n  splunk_hec:\n    url: 'https://splunk:8088'\n    token: t\n    tls:\n" + httpTLS},
		} {
			t.Run(tc.name+"/"+place.name, func(t *testing.T) {
				c, err := Parse([]byte(place.yaml), "v.yaml")
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				err = c.Validate()
				if len(tc.want) == 0 {
					if err != nil {
						t.Fatalf("Validate() = %v, want no problem", err)
					}
					return
				}
				if err == nil {
					t.Fatalf("Validate() = nil, want %q", tc.want)
				}
				got := err.Error()
				for _, w := range tc.want {
					k, _, _ := strings.Cut(w, ":")
					want := "v.yaml:" + strconv.Itoa(keyLine(t, place.yaml, "      "+k+": ")) + ": " + place.key + "." + w
					if !strings.Contains(got, want) {
						t.Errorf("Validate() = %v\nwant a problem containing %q", got, want)
					}
				}
				if n := strings.Count(got, "\n") + 1; n != len(tc.want) {
					t.Errorf("Validate() = %v\nwant %d problem(s)", got, len(tc.want))
				}
			})
		}
	}
}

// keyLine returns the number of the line of yaml that starts with prefix.
func keyLine(t *testing.T, yaml, prefix string) int {
	t.Helper()
	for i, l := range strings.Split(yaml, "\n") {
		if strings.HasPrefix(l, prefix) {
			return i + 1
		}
	}
	t.Fatalf("no line starts with %q in\n%s", prefix, yaml)
	return 0
}
