package history

import (
	"net/netip"
	"time"

	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/stream"
)

// Observation is one recorded network observation: the fields of a
// stream.Event that matching, exclusions and an alert need, and nothing
// else. The zero value is an observation with no field set.
//
// Observations handed to a Scan callback alias the segment buffer being
// read: they are valid only during the callback; copy what you keep.
type Observation struct {
	// Timestamp is the event time (Defender's Timestamp), UTC; zero when
	// the event had none.
	Timestamp time.Time
	Table     stream.Table

	TenantID     string
	DeviceID     string
	DeviceName   string
	MachineGroup string
	ActionType   string
	ReportID     int64

	// RemoteIP is invalid when the event had none.
	RemoteIP   netip.Addr
	RemotePort uint16
	// RemoteURL is the event's RemoteURL (RemoteUrl, or the inspected
	// host); empty when it had none.
	RemoteURL string

	ProcessFileName   string // InitiatingProcessFileName
	ProcessFolderPath string // InitiatingProcessFolderPath
	ProcessSHA256     string // InitiatingProcessSHA256
	AccountName       string // InitiatingProcessAccountName
}

// observable reports whether an event can ever match an indicator: only
// those with a remote address or URL are recorded.
func observable(e *stream.Event) bool {
	return e.RemoteIP.IsValid() || e.RemoteURL != ""
}

// Event returns the observation as a stream.Event. The columns the history
// does not keep (LocalIP, LocalPort, Protocol, the command line, the
// account domain, the DeviceEvents FileName) are absent. The strings are
// shared with o.
func (o *Observation) Event() stream.Event {
	return stream.Event{
		Table:             o.Table,
		Timestamp:         o.Timestamp,
		TenantID:          o.TenantID,
		DeviceID:          o.DeviceID,
		DeviceName:        o.DeviceName,
		ActionType:        o.ActionType,
		MachineGroup:      o.MachineGroup,
		ReportID:          o.ReportID,
		RemoteIP:          o.RemoteIP,
		RemotePort:        o.RemotePort,
		RemoteURL:         o.RemoteURL,
		ProcessFileName:   o.ProcessFileName,
		ProcessFolderPath: o.ProcessFolderPath,
		ProcessSHA256:     o.ProcessSHA256,
		AccountName:       o.AccountName,
	}
}

// query is the match.Query the pipeline would make for the observation.
func (o *Observation) query(at time.Time) match.Query {
	return match.Query{RemoteIP: o.RemoteIP, RemoteURL: o.RemoteURL, At: at}
}
