package sink

// ExclusionAudit is an append-only JSON-lines file of the hits that an
// exclusion rule suppressed, one line per hit, so that an exclusion is
// never silent:
//
//	{"time":"…","rule":"rdp-client","reason":"Admins connect …","alert":{…the alert it would have been…}}
//
// Lines are appended with one write(2) each to a file opened with
// O_APPEND and mode 0600; Sync and Close fsync it. Open one with
// OpenExclusionAudit. An ExclusionAudit is safe for concurrent use.
type ExclusionAudit struct {
	log *alertLog
}

// OpenExclusionAudit opens path for appending, creating it with mode 0600
// (the directory must exist). An existing file is appended to.
func OpenExclusionAudit(path string) (*ExclusionAudit, error) {
	l, err := openAlertLog("exclusion audit file", path)
	if err != nil {
		return nil, err
	}
	return &ExclusionAudit{log: l}, nil
}

// Write appends the line of one suppressed hit: the rule's name and
// reason, and the alert it would have been.
func (a *ExclusionAudit) Write(rule, reason string, alert *Alert) error {
	return a.log.write([]Alert{*alert}, func(w *jw, _ int) {
		w.str("rule", rule)
		w.str("reason", reason)
	})
}

// Sync fsyncs the file: every line written before it is durable.
func (a *ExclusionAudit) Sync() error { return a.log.sync() }

// Close fsyncs and closes the file. It is safe to call twice; Write after
// Close returns ErrClosed.
func (a *ExclusionAudit) Close() error { return a.log.close() }
