package tlsfile_test

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iocwatch/iocwatch/internal/tlsfile"
)

// A key file KeyPair refuses before the pair is compared — not PEM, no
// private key block, a certificate in its place, a key block that does
// not parse or holds a key type TLS cannot use — is blamed alone: its
// error names key_file and the key file, not cert_file. A key that parses
// but does not go with the certificate is blamed with it ("with cert_file
// <file>"). Either way KeyPair refuses what tls.LoadX509KeyPair refuses.
func TestKeyPairBlamesKeyAlone(t *testing.T) {
	f := writeFiles(t)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edDER, err := x509.MarshalPKCS8PrivateKey(edKey)
	if err != nil {
		t.Fatal(err)
	}
	xKey, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	xDER, err := x509.MarshalPKCS8PrivateKey(xKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"garbled-key": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte("x")}),
		"params-only": pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: p256OID}),
		"x25519":      pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: xDER}),
		"ed25519":     pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: edDER}),
		"empty":       nil,
	} {
		f[name] = filepath.Join(dir, name+".pem")
		if err := os.WriteFile(f[name], data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, key string
		pair      bool   // the pair was compared: the error names cert_file too
		want      string // in the error, after the key file
	}{
		{"not PEM", "text", false, "tls: failed to find any PEM data in key input"},
		{"empty", "empty", false, "tls: failed to find any PEM data in key input"},
		{"a certificate in its place", "cert", false, "tls: found a certificate rather than a key"},
		{"other blocks only", "params-only", false, "EC PARAMETERS"},
		{"a key block that does not parse", "garbled-key", false, "tls: failed to parse private key"},
		{"a key type TLS cannot use", "x25519", false, "tls: found unknown private key type in PKCS#8 wrapping"},
		{"another key of the same type", "other", true, "tls: private key does not match public key"},
		{"a key of another type", "ed25519", true, "tls: private key type does not match public key type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkKeyPair(t, f, "cert", tc.key, "key_file", nil)
			_, err := tlsfile.KeyPair(f["cert"], f[tc.key])
			var fe *tlsfile.Error
			if !errors.As(err, &fe) {
				t.Fatalf("KeyPair = %v, want an *Error", err)
			}
			prefix := "key_file " + f[tc.key] + ": "
			if tc.pair {
				prefix += "with cert_file " + f["cert"] + ": "
			}
			if msg := err.Error(); !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, tc.want) {
				t.Errorf("KeyPair = %q, want %q followed by %q", msg, prefix, tc.want)
			}
			if !tc.pair && strings.Contains(err.Error(), "cert_file") {
				t.Errorf("KeyPair = %q, which blames the certificate for the key alone", err)
			}
		})
	}
}
