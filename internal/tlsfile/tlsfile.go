// Package tlsfile reads the PEM files of a TLS client — a CA bundle, a
// client certificate and its key — as the network sinks, the Kafka source
// and the https feeds read them to build their tls.Config, so that a
// configuration check (config.Validate) refuses exactly the files a run
// would refuse, and names the setting at fault.
package tlsfile

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"strings"
)

// ErrNoCertificate is the error of a CA file or certificate file that
// holds no PEM certificate x509 can parse.
var ErrNoCertificate = errors.New("no PEM certificate found")

// ErrEncryptedKey is the error of a key file whose key is encrypted
// (passphrase-protected), which tls.X509KeyPair cannot read either.
var ErrEncryptedKey = errors.New("holds an encrypted (passphrase-protected) private key, which is not supported: give the key unencrypted, for example as written by openssl pkey -in <file> -out <new file>, readable by iocwatch only")

// Error is a problem with one of the files. Key names the setting that
// names the file at fault: "ca_file", "cert_file" or "key_file".
type Error struct {
	Key  string
	File string
	Err  error // an *fs.PathError when the file cannot be read
}

// Error returns "key file: problem", or "key: problem" when the problem
// (a read error) names the file itself.
func (e *Error) Error() string {
	if e.Unreadable() {
		return e.Key + ": " + e.Err.Error()
	}
	return e.Key + " " + e.File + ": " + e.Err.Error()
}

// Unwrap returns the problem.
func (e *Error) Unwrap() error { return e.Err }

// Unreadable reports whether the file could not be read (rather than
// parsed).
func (e *Error) Unreadable() bool {
	var pe *fs.PathError
	return errors.As(e.Err, &pe)
}

// CertPool reads file, a PEM bundle of CA certificates, into a pool. It
// fails, with an *Error, when file cannot be read or holds no certificate
// (the pool would trust nothing).
func CertPool(file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, &Error{Key: "ca_file", File: file, Err: err}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, &Error{Key: "ca_file", File: file, Err: ErrNoCertificate}
	}
	return pool, nil
}

// KeyPair reads a PEM client certificate, with any chain after it, and its
// key. It takes and refuses the files tls.LoadX509KeyPair takes and
// refuses; its *Error names the file at fault: the certificate file when
// it holds no certificate or its first one does not parse (a key in its
// place included), the key file otherwise (no key, a certificate in its
// place, an encrypted key — ErrEncryptedKey —, a key that does not match
// the certificate). Only the last names the certificate file too, as
// "with cert_file <file>: …": the other faults are the key file's alone.
func KeyPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, &Error{Key: "cert_file", File: certFile, Err: err}
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, &Error{Key: "key_file", File: keyFile, Err: err}
	}
	if err := leaf(certPEM); err != nil {
		return tls.Certificate{}, &Error{Key: "cert_file", File: certFile, Err: err}
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		b := keyBlock(keyPEM)
		switch {
		case encrypted(b):
			return tls.Certificate{}, &Error{Key: "key_file", File: keyFile, Err: ErrEncryptedKey}
		case b == nil || !usableKey(b.Bytes):
			// The key file alone is at fault (not PEM, no key, a
			// certificate in its place, a key that does not parse):
			// tls.X509KeyPair never compared it with the certificate.
			return tls.Certificate{}, &Error{Key: "key_file", File: keyFile, Err: err}
		}
		return tls.Certificate{}, &Error{Key: "key_file", File: keyFile, Err: &pairError{certFile, err}}
	}
	return cert, nil
}

// keyBlock returns the first private key block of keyPEM, the one
// tls.X509KeyPair reads (its type is PRIVATE KEY or ends in " PRIVATE
// KEY"), or nil when there is none.
func keyBlock(keyPEM []byte) *pem.Block {
	for {
		var b *pem.Block
		b, keyPEM = pem.Decode(keyPEM)
		if b == nil || b.Type == "PRIVATE KEY" || strings.HasSuffix(b.Type, " PRIVATE KEY") {
			return b
		}
	}
}

// encrypted reports whether the key block b (keyBlock) is encrypted:
// PKCS#8's ENCRYPTED PRIVATE KEY or an OpenSSL legacy block with a
// Proc-Type: 4,ENCRYPTED header.
func encrypted(b *pem.Block) bool {
	return b != nil && (b.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED"))
}

// usableKey reports whether der parses as tls.X509KeyPair parses a key: a
// PKCS#1 RSA key, a PKCS#8 RSA, ECDSA or Ed25519 key, or a SEC 1 EC key.
func usableKey(der []byte) bool {
	if _, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return true
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		switch k.(type) {
		case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
			return true
		}
		return false
	}
	_, err := x509.ParseECPrivateKey(der)
	return err == nil
}

// pairError is a key that tls.X509KeyPair refused with the certificate:
// one that parses but does not go with it.
type pairError struct {
	certFile string
	err      error
}

func (e *pairError) Error() string { return "with cert_file " + e.certFile + ": " + e.err.Error() }
func (e *pairError) Unwrap() error { return e.err }

// leaf checks the first certificate of certPEM as tls.X509KeyPair does:
// there must be one, and it must parse.
func leaf(certPEM []byte) error {
	sawKey := false
	for {
		var b *pem.Block
		b, certPEM = pem.Decode(certPEM)
		if b == nil {
			break
		}
		switch {
		case b.Type == "CERTIFICATE":
			_, err := x509.ParseCertificate(b.Bytes)
			return err
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			sawKey = true
		}
	}
	if sawKey {
		return errors.New("holds a private key, not a certificate (are cert_file and key_file switched?)")
	}
	return ErrNoCertificate
}
