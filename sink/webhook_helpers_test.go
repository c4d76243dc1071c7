package sink_test

// Test helpers shared by the network sinks' tests (webhook, HEC, syslog,
// Kafka): a throw-away PKI, and a concurrency-safe alert recorder.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/sink"
)

// netPKI is a CA with a server certificate for localhost/127.0.0.1/::1 and
// a client certificate, as PEM files in a test's temp dir.
type netPKI struct {
	CAFile             string
	ClientCert         string
	ClientKey          string
	Server             tls.Certificate
	CAPool             *x509.CertPool
	OtherCAFile        string // a CA that signed nothing here
	serverCertDER, key []byte
}

// newNetPKI makes the certificates; they are valid for an hour.
func newNetPKI(t testing.TB) *netPKI {
	t.Helper()
	dir := t.TempDir()
	p := &netPKI{CAPool: x509.NewCertPool()}
	caKey, caCert, caDER := netMakeCA(t, "iocwatch test CA")
	p.CAFile = netWritePEM(t, dir, "ca.pem", "CERTIFICATE", caDER)
	p.CAPool.AddCert(caCert)
	_, _, otherDER := netMakeCA(t, "unrelated CA")
	p.OtherCAFile = netWritePEM(t, dir, "other-ca.pem", "CERTIFICATE", otherDER)

	srvKey, srvDER := netMakeLeaf(t, caKey, caCert, "localhost", x509.ExtKeyUsageServerAuth)
	p.Server = tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}
	cliKey, cliDER := netMakeLeaf(t, caKey, caCert, "iocwatch client", x509.ExtKeyUsageClientAuth)
	p.ClientCert = netWritePEM(t, dir, "client.pem", "CERTIFICATE", cliDER)
	keyDER, err := x509.MarshalECPrivateKey(cliKey)
	if err != nil {
		t.Fatal(err)
	}
	p.ClientKey = netWritePEM(t, dir, "client-key.pem", "EC PRIVATE KEY", keyDER)
	return p
}

// ServerTLS is a server config presenting the server certificate; with
// mutual set it requires a client certificate signed by the CA.
func (p *netPKI) ServerTLS(mutual bool) *tls.Config {
	c := &tls.Config{Certificates: []tls.Certificate{p.Server}, MinVersion: tls.VersionTLS12}
	if mutual {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = p.CAPool
	}
	return c
}

var netSerial atomic.Int64

func netMakeCA(t testing.TB, name string) (*ecdsa.PrivateKey, *x509.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(netSerial.Add(1)),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert, der
}

func netMakeLeaf(t testing.TB, caKey *ecdsa.PrivateKey, ca *x509.Certificate, name string, usage x509.ExtKeyUsage) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(netSerial.Add(1)),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	if usage == x509.ExtKeyUsageServerAuth {
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

func netWritePEM(t testing.TB, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// alertRecorder collects received alerts; safe for concurrent use.
type alertRecorder struct {
	mu     sync.Mutex
	alerts []sink.Alert
}

func (r *alertRecorder) add(a ...sink.Alert) {
	r.mu.Lock()
	r.alerts = append(r.alerts, a...)
	r.mu.Unlock()
}

// all returns a copy of what was received so far.
func (r *alertRecorder) all() []sink.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sink.Alert(nil), r.alerts...)
}

// ids returns the received AlertIDs with their counts.
func (r *alertRecorder) ids() map[string]int {
	m := map[string]int{}
	for _, a := range r.all() {
		m[a.AlertID]++
	}
	return m
}
