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
	"strings"
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
		checkKeyPair(t, f, tc.cert, tc.key, tc.wantKey, nil)
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

// checkKeyPair checks KeyPair on the files f names cert and key against
// tls.LoadX509KeyPair: both take the pair, keeping as many certificates,
// or both refuse it, KeyPair with an *Error naming the setting wantKey
// and its file, wrapping wantErr when that is not nil, and then without
// blaming the pair for the key alone.
func checkKeyPair(t *testing.T, f map[string]string, cert, key, wantKey string, wantErr error) {
	t.Helper()
	got, err := tlsfile.KeyPair(f[cert], f[key])
	std, stdErr := tls.LoadX509KeyPair(f[cert], f[key])
	if (err == nil) != (stdErr == nil) {
		t.Errorf("KeyPair(%s, %s) = %v, but tls.LoadX509KeyPair = %v", cert, key, err, stdErr)
	}
	wantFile := f[key]
	if wantKey == "cert_file" {
		wantFile = f[cert]
	}
	var fe *tlsfile.Error
	switch {
	case wantKey == "" && err != nil:
		t.Errorf("KeyPair(%s, %s) = %v, want no error", cert, key, err)
	case wantKey == "" && len(got.Certificate) != len(std.Certificate):
		t.Errorf("KeyPair(%s, %s) kept %d certificates, tls.LoadX509KeyPair %d", cert, key, len(got.Certificate), len(std.Certificate))
	case wantKey != "" && (!errors.As(err, &fe) || fe.Key != wantKey || fe.File != wantFile):
		t.Errorf("KeyPair(%s, %s) = %v, want an *Error naming %s %s", cert, key, err, wantKey, wantFile)
	case wantErr != nil && !errors.Is(err, wantErr):
		t.Errorf("KeyPair(%s, %s) = %v, want %v", cert, key, err, wantErr)
	case wantErr != nil && strings.Contains(err.Error(), "with cert_file"):
		t.Errorf("KeyPair(%s, %s) = %v, which blames the pair for the key alone", cert, key, err)
	}
}
