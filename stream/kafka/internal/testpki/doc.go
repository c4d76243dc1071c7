// Package testpki makes a throw-away certificate authority for tests: a CA,
// a server certificate for 127.0.0.1 and localhost, and a client
// certificate, written as PEM files. Certificates are generated at run time
// (ECDSA P-256, valid for one hour), so nothing expires in testdata.
//
// It is for tests only. The functions are safe for concurrent use.
package testpki
