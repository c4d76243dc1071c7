package kafka

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/iocwatch/iocwatch/internal/tlsfile"
)

// TLSConfig builds the client TLS configuration for Options.TLS (TLS 1.2 or
// later).
//
// caFile is a PEM bundle of CAs to trust instead of the system pool ("" keeps
// the system pool). certFile and keyFile are a PEM client certificate and its
// key, for mutual TLS; give both or neither. serverName overrides the name
// checked in the broker's certificate ("" checks the host dialled).
// insecureSkipVerify accepts any broker certificate: for tests only.
func TLSConfig(caFile, certFile, keyFile, serverName string, insecureSkipVerify bool) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         serverName,
		InsecureSkipVerify: insecureSkipVerify, //nolint:gosec // explicit opt-in, documented as tests only
	}
	// The files are read as config.Validate reads them (internal/tlsfile),
	// so that check refuses what a run would refuse.
	if caFile != "" {
		pool, err := tlsfile.CertPool(caFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: tls %w", err)
		}
		cfg.RootCAs = pool
	}
	switch {
	case certFile != "" && keyFile == "":
		return nil, fmt.Errorf("kafka: tls key_file: required with cert_file %s", certFile)
	case certFile == "" && keyFile != "":
		return nil, fmt.Errorf("kafka: tls cert_file: required with key_file %s", keyFile)
	case certFile != "":
		cert, err := tlsfile.KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: tls %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// SASLMechanism builds the SASL mechanism for Options.SASL. mechanism is
// "plain", "scram-sha-256" or "scram-sha-512" (any case); "" or "none"
// returns nil (no SASL). username and password are required otherwise. For
// the Event Hubs Kafka endpoint use "plain" with the username
// "$ConnectionString" and the connection string as password.
func SASLMechanism(mechanism, username, password string) (sasl.Mechanism, error) {
	m := strings.ToLower(strings.TrimSpace(mechanism))
	if m == "" || m == "none" {
		return nil, nil
	}
	var errs []error
	switch m {
	case "plain", "scram-sha-256", "scram-sha-512":
	default:
		return nil, fmt.Errorf("kafka: sasl mechanism %q: want plain, scram-sha-256 or scram-sha-512", mechanism)
	}
	if username == "" {
		errs = append(errs, fmt.Errorf("kafka: sasl username: required for %s", m))
	}
	if password == "" {
		errs = append(errs, fmt.Errorf("kafka: sasl: a password is required for %s (is its environment variable set?)", m))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var (
		mech sasl.Mechanism
		err  error
	)
	switch m {
	case "plain":
		mech = plain.Mechanism{Username: username, Password: password}
	case "scram-sha-256":
		mech, err = scram.Mechanism(scram.SHA256, username, password)
	case "scram-sha-512":
		mech, err = scram.Mechanism(scram.SHA512, username, password)
	}
	if err != nil {
		return nil, fmt.Errorf("kafka: sasl %s: %w", m, err)
	}
	return mech, nil
}
