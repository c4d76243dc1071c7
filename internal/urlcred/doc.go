// Package urlcred finds the credentials written in a URL: its password,
// its user name when that is a key (UserIsKey: no password, and not an
// account's name such as soar or Admin), the values of its
// credential-like query parameters (IsParam: key=, api_key=, token=,
// sig=, sign=, code=, oinkcode=, dbpass=, otp=, pin=, ticket=, SAMLart=,
// …, but not keyword=, country_code=, page_token=, key_id=, token_type=
// or session_state=),
// and the path segments and query values that look like tokens (IsToken:
// an API key some feeds take in the path). A URL in a config is not a
// secret as a whole, but these parts are, and every place that shows or
// echoes a URL — the config's redacted form, a feed's errors, the log, a
// sink's scrubbing of a peer's answer — needs the same list: Values lists
// them, Redact hides them.
//
// Some URLs are the credential themselves: a Slack, Teams or Discord
// webhook carries it in its path, a Logic App trigger in its query. For
// those Endpoint gives the one form that may be shown (scheme, host and
// at most a first plain path segment) and Hidden lists what that form
// leaves out, for the scrubbing of a peer's answer and of the log;
// PeerEchoes adds the forms, however short, in which the peer a URL is
// sent to repeats its path, for the scrubbing of that peer's answers.
package urlcred
