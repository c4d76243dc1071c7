// Package config reads iocwatch's YAML configuration: the schema as
// documented structs, defaults, ${ENV} expansion for secrets, and
// validation with messages that name the file, line and key.
//
// Load (or Parse) decodes a file into a Config with its defaults filled in;
// Validate then checks it. cmd/ turns the Config into the constructors of
// the stream, match and sink packages; this package depends on none of
// them but match, whose CheckExclusionValue checks the values of exclusion
// rules so that every problem of a rule file is reported in one run. The
// reference of every key, with its default, is docs/configuration.md.
//
//	cfg, err := config.Load("iocwatch.yaml")
//	if err == nil {
//		err = cfg.Validate()
//	}
//	if w := config.WarnWorldReadable("iocwatch.yaml"); w != "" {
//		log.Warn(w)
//	}
//
// # Environment expansion
//
// String values — never keys — may refer to the environment: ${NAME} is
// the variable's value and an unset variable is an error that names the
// file, line and variable; ${NAME:-default} falls back to default when the
// variable is unset or empty (the default is literal text: ${A:-${B}} is an
// error). $$ is one literal '$', so $${ is a literal "${". A '$' followed
// by anything else is literal: $ConnectionString (the Event Hubs Kafka
// user name) and $Default (the Event Hubs consumer group) are written as
// they are. Numbers, booleans and durations may come from
// the environment too: the expanded text is converted to the key's type.
//
// # Errors
//
// Every problem is an *Error whose text is "file:line: key.path: message";
// a bad value of an exclusion condition reads, as match words it,
// "file:line: rule "name": key: "value": message".
// Load and Parse report every reading problem of the file at once — YAML
// syntax, unknown keys, keys written twice, YAML tags other than the
// standard ones (!env, !!binary), wrong types, bad durations, unset
// variables, bytes that are not UTF-8; Validate then reports every problem
// of the values at once. Both join them with errors.Join, in file order. No message ever
// shows a secret, nor a value that came from the environment or a part of
// it: such a value is named by its text as written, "${NAME}" (expanded),
// also where match's words about an exclusion value quote it, and what
// they quote of a part of it is left out. Only an exclusions file whose
// name came from the environment is still named as the place of the
// problems in it ("file:line: …").
//
// # Defaults and paths
//
// A key left out takes its default; a key written with an empty or zero
// value keeps it (gzip: false stays false). A block that its type does not
// select (kafka under source type file, webhook under a stdout sink) gets
// no defaults and must not be set. Relative paths — event files, feed
// files, allowlist and exclusions files, dead-letter files, the cache
// directory, TLS files, the history database — are resolved against the
// directory of the configuration file.
//
// # Secrets
//
// Passwords, tokens, connection strings, HMAC keys and header values have
// type Secret, which prints as "[redacted]" everywhere (fmt, slog, JSON,
// YAML) and yields its value only through Reveal. Redacted renders the
// effective configuration for `iocwatch check` with secrets hidden.
// WarnWorldReadable warns when a file readable by every user holds a secret
// in clear.
//
// # Exclusions
//
// Exclusion rules are written inline (exclusions) or in files
// (exclusions_files, read by LoadExclusions or AllExclusions). Each has a
// name, a reason, an optional expiry and conditions: AND across keys, OR
// within a list. This package checks their shape and keys; the match
// package checks the values and applies them.
//
// # Concurrency
//
// Load, Parse and LoadExclusions are safe to call concurrently. A Config
// is plain data: safe for concurrent reads, not for mutation.
package config
