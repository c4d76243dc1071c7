package tlsfile_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/internal/tlsfile"
)

// writeFiles writes a self-signed certificate with its key, another key,
// and files that are not what a TLS setting wants.
func writeFiles(t *testing.T) map[string]string {
	t.Helper()
	newKey := func() (*ecdsa.PrivateKey, []byte) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return k, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	}
	key, keyPEM := newKey()
	_, otherPEM := newKey()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "c"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	dir := t.TempDir()
	paths := map[string]string{"missing": filepath.Join(dir, "missing.pem")}
	for name, data := range map[string][]byte{
		"cert": certPEM, "key": keyPEM, "other": otherPEM,
		"text":    []byte("not PEM"),
		"garbled": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("x")}),
		"both":    append(append([]byte{}, keyPEM...), certPEM...),
	} {
		paths[name] = filepath.Join(dir, name+".pem")
		if err := os.WriteFile(paths[name], data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return paths
}

// KeyPair takes and refuses what tls.LoadX509KeyPair takes and refuses,
// and names the file at fault; CertPool refuses a file from which
// AppendCertsFromPEM takes no certificate.
func TestKeyPairAndCertPool(t *testing.T) {
	f := writeFiles(t)
	for _, tc := range []struct {
		cert, key, wantKey string // wantKey: the setting at fault, "" when valid
	}{
		{"cert", "key", ""},
		{"both", "key", ""},
		{"cert", "both", ""},
		{"text", "key", "cert_file"},
		{"key", "key", "cert_file"},
		{"garbled", "key", "cert_file"},
		{"missing", "key", "cert_file"},
		{"cert", "other", "key_file"},
		{"cert", "cert", "key_file"},
		{"cert", "text", "key_file"},
		{"cert", "missing", "key_file"},
		{"text", "text", "cert_file"},
	} {
		_, err := tlsfile.KeyPair(f[tc.cert], f[tc.key])
		_, stdErr := tls.LoadX509KeyPair(f[tc.cert], f[tc.key])
		if (err == nil) != (stdErr == nil) {
			t.Errorf("KeyPair(%s, %s) = %v, but tls.LoadX509KeyPair = %v", tc.cert, tc.key, err, stdErr)
		}
		var fe *tlsfile.Error
		switch {
		case tc.wantKey == "" && err != nil:
			t.Errorf("KeyPair(%s, %s) = %v, want no error", tc.cert, tc.key, err)
		case tc.wantKey != "" && (!errors.As(err, &fe) || fe.Key != tc.wantKey):
			t.Errorf("KeyPair(%s, %s) = %v, want an *Error naming %s", tc.cert, tc.key, err, tc.wantKey)
		}
	}
	for _, tc := range []struct {
		name string
		ok   bool
	}{{"cert", true}, {"both", true}, {"key", false}, {"text", false}, {"garbled", false}, {"missing", false}} {
		_, err := tlsfile.CertPool(f[tc.name])
		var fe *tlsfile.Error
		switch {
		case tc.ok && err != nil:
			t.Errorf("CertPool(%s) = %v, want no error", tc.name, err)
		case !tc.ok && (!errors.As(err, &fe) || fe.Key != "ca_file"):
			t.Errorf("CertPool(%s) = %v, want an *Error naming ca_file", tc.name, err)
		}
	}
}
