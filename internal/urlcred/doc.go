// Package urlcred finds the credentials written in a URL: its password
// and the values of its credential-like query parameters (key=, token=,
// sig=, code=, …). A URL in a config is not a secret as a whole, but
// these parts are, and every place that shows or echoes a URL — the
// config's redacted form, the log, a sink's scrubbing of a peer's answer —
// needs the same list.
package urlcred
