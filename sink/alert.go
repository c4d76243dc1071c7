package sink

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"time"
)

// ErrClosed is returned by Write on a closed sink.
var ErrClosed = errors.New("sink closed")

// Alert is the alert contract: one indicator hit on one Defender event that
// no exclusion suppressed. docs/alerts.md documents every field; the JSON
// names of event columns are Defender's own.
type Alert struct {
	// AlertID is stable for the same event and indicator: see NewAlertID.
	AlertID    string    `json:"alert_id"`
	DetectedAt time.Time `json:"detected_at"`
	// Timestamp is when the event happened (Defender's Timestamp).
	Timestamp time.Time `json:"timestamp"`
	Table     string    `json:"table"`

	DeviceID     string `json:"DeviceId"`
	DeviceName   string `json:"DeviceName"`
	ActionType   string `json:"ActionType"`
	FileName     string `json:"FileName,omitempty"`
	FolderPath   string `json:"InitiatingProcessFolderPath,omitempty"`
	CommandLine  string `json:"InitiatingProcessCommandLine,omitempty"`
	SHA256       string `json:"InitiatingProcessSHA256,omitempty"`
	AccountName  string `json:"InitiatingProcessAccountName,omitempty"`
	RemoteIP     string `json:"RemoteIP,omitempty"`
	RemotePort   int    `json:"RemotePort,omitempty"`
	RemoteURL    string `json:"RemoteUrl,omitempty"`
	LocalIP      string `json:"LocalIP,omitempty"`
	ReportID     int64  `json:"ReportId"`
	TenantID     string `json:"TenantId,omitempty"`
	MachineGroup string `json:"MachineGroup,omitempty"`

	// MatchedField is "RemoteIP", "RemoteUrl" or "RemoteUrl.host".
	MatchedField string `json:"matched_field"`
	// MatchedValue is the event value that matched (the address, host or URL).
	MatchedValue string         `json:"matched_value"`
	Indicator    AlertIndicator `json:"indicator"`

	// Retro marks an alert found by re-checking history against a newly
	// added indicator; ObservedAt is then the event time and
	// IndicatorAddedAt when the indicator arrived.
	Retro            bool      `json:"retro,omitempty"`
	IndicatorAddedAt time.Time `json:"indicator_added_at,omitzero"`

	// Summary fields, set only on a suppression summary alert: how many
	// repeats of this device × indicator × field the window suppressed.
	RepeatCount int       `json:"repeat_count,omitempty"`
	FirstSeen   time.Time `json:"first_seen,omitzero"`
	LastSeen    time.Time `json:"last_seen,omitzero"`
}

// AlertIndicator is the indicator part of an alert.
type AlertIndicator struct {
	Kind        string   `json:"kind"`
	Value       string   `json:"value"`
	Source      string   `json:"source,omitempty"`
	Severity    string   `json:"severity,omitempty"`
	Confidence  int      `json:"confidence,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	Description string   `json:"description,omitempty"`
	Reference   string   `json:"reference,omitempty"`
}

// NewAlertID returns the stable alert identity: the first 16 bytes, in hex,
// of SHA-256 over the event identity (DeviceId, ReportId, Timestamp) and the
// indicator (kind, value). The same event delivered twice yields the same ID.
// An event without a DeviceId (an Advanced Hunting export projected without
// it) is told apart by its DeviceName, after a 0x01 byte, so that two
// devices' events of the same second do not share an ID; deviceName is not
// used when deviceID is set.
func NewAlertID(deviceID, deviceName string, reportID int64, ts time.Time, kind, value string) string {
	return string(AppendAlertID(nil, deviceID, deviceName, reportID, ts, kind, value))
}

// AppendAlertID appends NewAlertID's 32 hex digits to dst. It allocates
// nothing when dst has room and the event's identity is short.
func AppendAlertID(dst []byte, deviceID, deviceName string, reportID int64, ts time.Time, kind, value string) []byte {
	var stack [256]byte
	b := appendDevice(stack[:0], deviceID, deviceName)
	b = append(b, 0)
	b = strconv.AppendInt(b, reportID, 10)
	b = append(b, 0)
	b = ts.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, 0)
	b = append(b, kind...)
	b = append(b, 0)
	b = append(b, value...)
	sum := sha256.Sum256(b)
	return hex.AppendEncode(dst, sum[:16])
}

// appendDevice appends the device's part of an event's identity: its
// DeviceId, or 0x01 and its DeviceName when it has no DeviceId.
func appendDevice(b []byte, deviceID, deviceName string) []byte {
	if deviceID == "" && deviceName != "" {
		b = append(b, 1)
		return append(b, deviceName...)
	}
	return append(b, deviceID...)
}
