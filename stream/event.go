package stream

import (
	"net/netip"
	"time"
)

// Table identifies the Advanced Hunting table a record came from. The zero
// value, TableOther, is every table iocwatch does not watch.
type Table uint8

// The tables iocwatch watches. Records of every other category decode to
// TableOther and are counted and skipped.
const (
	TableOther Table = iota
	TableDeviceNetworkEvents
	TableDeviceEvents
)

// String returns the Advanced Hunting table name ("DeviceNetworkEvents").
func (t Table) String() string {
	switch t {
	case TableDeviceNetworkEvents:
		return "DeviceNetworkEvents"
	case TableDeviceEvents:
		return "DeviceEvents"
	default:
		return "Other"
	}
}

// ParseTable maps a table name, with or without the "AdvancedHunting-"
// category prefix, to a Table. Unknown names give TableOther.
func ParseTable(s string) Table {
	const prefix = "AdvancedHunting-"
	if len(s) > len(prefix) && s[:len(prefix)] == prefix {
		s = s[len(prefix):]
	}
	switch s {
	case "DeviceNetworkEvents":
		return TableDeviceNetworkEvents
	case "DeviceEvents":
		return TableDeviceEvents
	default:
		return TableOther
	}
}

// Event is one decoded Defender record: the columns that matching,
// exclusions and alerts need, and nothing else.
//
// Absent values (JSON null, "" or a missing key) are the zero value: an
// invalid netip.Addr, 0 for ports and ReportID, "" for strings.
//
// String fields may alias the buffer the event was decoded from, so an Event
// is valid only until that buffer is reused (the end of its Batch). Code that
// keeps data beyond that — alerts, history — copies what it keeps.
type Event struct {
	// Table is the table of the record (from category, or the CSV source).
	Table Table
	// Timestamp is when the event happened: properties.Timestamp, or the
	// envelope's time when Timestamp is missing. UTC.
	Timestamp time.Time

	TenantID     string
	DeviceID     string
	DeviceName   string
	ActionType   string
	MachineGroup string
	// ReportID is Defender's ReportId, an int64 (it exceeds 32 bits).
	ReportID int64

	// RemoteIP is the remote address, with IPv4-mapped IPv6 unmapped to IPv4.
	// Invalid when absent, "-" or unparsable.
	RemoteIP   netip.Addr
	RemotePort uint16
	// RemoteURL is RemoteUrl as sent (a bare host or a URL, any case), or —
	// when RemoteUrl is absent — the host an inspected event carries in
	// AdditionalFields (host, server_name, query) or DnsQueryString.
	RemoteURL string
	LocalIP   netip.Addr
	LocalPort uint16
	Protocol  string

	// The initiating process (both tables).
	ProcessFileName    string // InitiatingProcessFileName
	ProcessFolderPath  string // InitiatingProcessFolderPath, usually ending with the file name
	ProcessCommandLine string // InitiatingProcessCommandLine
	ProcessSHA256      string // InitiatingProcessSHA256
	AccountName        string // InitiatingProcessAccountName
	AccountDomain      string // InitiatingProcessAccountDomain

	// FileName is the DeviceEvents FileName column (empty for network events).
	FileName string

	// pending is 1 + the index of the event's deferred columns in its
	// Decoder (decode_defer.go); 0 when it has none.
	pending int32
}

// AlertFileName is the "FileName" the hunting query projects: the initiating
// process for network events, the FileName column for DeviceEvents (falling
// back to the initiating process when that is empty).
func (e *Event) AlertFileName() string {
	if e.Table == TableDeviceEvents && e.FileName != "" {
		return e.FileName
	}
	return e.ProcessFileName
}
