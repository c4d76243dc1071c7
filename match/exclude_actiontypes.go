package match

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/iocwatch/iocwatch/internal/editdist"
)

// watchedTables are the tables iocwatch reads, in the order of
// actionTypesByTable and of a tableSet's bits.
var watchedTables = [...]string{"DeviceNetworkEvents", "DeviceEvents"}

// tableSet is a set of watchedTables: bit i stands for watchedTables[i].
type tableSet uint8

// watchedTable returns the watched table named t, ignoring case, or 0.
func watchedTable(t string) tableSet {
	for i, w := range watchedTables {
		if strings.EqualFold(w, t) {
			return 1 << i
		}
	}
	return 0
}

// names lists the tables of s, in the order of watchedTables.
func (s tableSet) names() []string {
	var out []string
	for i, w := range watchedTables {
		if s&(1<<i) != 0 {
			out = append(out, w)
		}
	}
	return out
}

// actionTypesByTable are the ActionType values Defender reports in each of
// watchedTables (DeviceNetworkEvents, then DeviceEvents), each in
// alphabetical order. An action type Defender reports in both tables is
// listed under both. They come from Microsoft's Advanced Hunting schema
// reference; Microsoft adds action types from time to time, so a value
// missing here is only warned about, never refused.
var actionTypesByTable = [len(watchedTables)][]string{{
	// DeviceNetworkEvents
	"ConnectionAcknowledged", "ConnectionAttempt", "ConnectionFailed", "ConnectionFound",
	"ConnectionRequest", "ConnectionSuccess", "DnsConnectionInspected", "FtpConnectionInspected",
	"HttpConnectionInspected", "IcmpConnectionInspected", "InboundConnectionAccepted",
	"InboundInternetScanInspected", "KerberosConnectionInspected", "ListeningConnectionCreated",
	"NetworkSignatureInspected", "NtlmAuthenticationInspected", "SmtpConnectionInspected",
	"SshConnectionInspected", "SslConnectionInspected",
}, {
	// DeviceEvents
	"AccountCheckedForBlankPassword", "AntivirusDefinitionsUpdateFailed",
	"AntivirusDefinitionsUpdated", "AntivirusDetection", "AntivirusEmergencyUpdatesInstalled",
	"AntivirusError", "AntivirusMalwareActionFailed", "AntivirusMalwareBlocked",
	"AntivirusScanCancelled", "AntivirusScanCompleted", "AntivirusScanFailed",
	"AntivirusTroubleshootModeEvent", "AppControlAppInstallationAudited",
	"AppControlAppInstallationBlocked", "AppControlCIScriptAudited", "AppControlCIScriptBlocked",
	"AppControlCodeIntegrityDriverRevoked", "AppControlCodeIntegrityImageAudited",
	"AppControlCodeIntegrityImageRevoked", "AppControlCodeIntegrityOriginAllowed",
	"AppControlCodeIntegrityOriginAudited", "AppControlCodeIntegrityOriginBlocked",
	"AppControlCodeIntegrityPolicyAudited", "AppControlCodeIntegrityPolicyBlocked",
	"AppControlCodeIntegrityPolicyLoaded", "AppControlCodeIntegritySigningInformation",
	"AppControlExecutableAudited", "AppControlExecutableBlocked", "AppControlPackagedAppAudited",
	"AppControlPackagedAppBlocked", "AppControlPolicyApplied", "AppControlScriptAudited",
	"AppControlScriptBlocked", "AppGuardBrowseToUrl", "AppGuardCreateContainer",
	"AppGuardLaunchedWithUrl", "AppGuardResumeContainer", "AppGuardStopContainer",
	"AppGuardSuspendContainer", "AppLockerBlockExecutable", "AppLockerBlockPackagedApp",
	"AppLockerBlockPackagedAppInstallation", "AppLockerBlockScript",
	"AsrAdobeReaderChildProcessAudited", "AsrAdobeReaderChildProcessBlocked",
	"AsrExecutableEmailContentAudited", "AsrExecutableEmailContentBlocked",
	"AsrExecutableOfficeContentAudited", "AsrExecutableOfficeContentBlocked",
	"AsrLsassCredentialTheftAudited", "AsrLsassCredentialTheftBlocked", "AsrObfuscatedScriptAudited",
	"AsrObfuscatedScriptBlocked", "AsrOfficeChildProcessAudited", "AsrOfficeChildProcessBlocked",
	"AsrOfficeCommAppChildProcessAudited", "AsrOfficeCommAppChildProcessBlocked",
	"AsrOfficeMacroWin32ApiCallsAudited", "AsrOfficeMacroWin32ApiCallsBlocked",
	"AsrOfficeProcessInjectionAudited", "AsrOfficeProcessInjectionBlocked",
	"AsrPersistenceThroughWmiAudited", "AsrPersistenceThroughWmiBlocked",
	"AsrPsexecWmiChildProcessAudited", "AsrPsexecWmiChildProcessBlocked", "AsrRansomwareAudited",
	"AsrRansomwareBlocked", "AsrScriptExecutableDownloadAudited",
	"AsrScriptExecutableDownloadBlocked", "AsrUntrustedExecutableAudited",
	"AsrUntrustedExecutableBlocked", "AsrUntrustedUsbProcessAudited", "AsrUntrustedUsbProcessBlocked",
	"AsrVulnerableSignedDriverAudited", "AsrVulnerableSignedDriverBlocked", "AuditPolicyModification",
	"BitLockerAuditCompleted", "BluetoothPolicyTriggered", "BrowserLaunchedToOpenUrl",
	"ControlFlowGuardViolation", "ControlledFolderAccessViolationAudited",
	"ControlledFolderAccessViolationBlocked", "CreateRemoteThreadApiCall", "CredentialsBackup",
	"DeviceBootAttestationInfo", "DirectoryServiceObjectCreated", "DirectoryServiceObjectModified",
	"DlpPocPrintJob", "DnsQueryRequest", "DnsQueryResponse", "DpapiAccessed", "DriverLoad",
	"ExploitGuardAcgAudited", "ExploitGuardAcgEnforced", "ExploitGuardChildProcessAudited",
	"ExploitGuardChildProcessBlocked", "ExploitGuardEafViolationAudited",
	"ExploitGuardEafViolationBlocked", "ExploitGuardIafViolationAudited",
	"ExploitGuardIafViolationBlocked", "ExploitGuardLowIntegrityImageAudited",
	"ExploitGuardLowIntegrityImageBlocked", "ExploitGuardNetworkProtectionAudited",
	"ExploitGuardNetworkProtectionBlocked", "ExploitGuardNonMicrosoftSignedAudited",
	"ExploitGuardNonMicrosoftSignedBlocked", "ExploitGuardRopExploitAudited",
	"ExploitGuardRopExploitBlocked", "ExploitGuardSharedBinaryAudited",
	"ExploitGuardSharedBinaryBlocked", "ExploitGuardWin32SystemCallAudited",
	"ExploitGuardWin32SystemCallBlocked", "FileTimestampModificationEvent",
	"FirewallInboundConnectionBlocked", "FirewallInboundConnectionToAppBlocked",
	"FirewallOutboundConnectionBlocked", "FirewallServiceStopped", "GetAsyncKeyStateApiCall",
	"GetClipboardData", "LdapSearch", "LogonRightsSettingEnabled", "MemoryRemoteProtect",
	"NamedPipeEvent", "NetworkProtectionUserBypassEvent", "NetworkShareObjectAccessChecked",
	"NetworkShareObjectAdded", "NetworkShareObjectDeleted", "NetworkShareObjectModified",
	"NtAllocateVirtualMemoryApiCall", "NtAllocateVirtualMemoryRemoteApiCall",
	"NtMapViewOfSectionRemoteApiCall", "NtProtectVirtualMemoryApiCall", "OpenProcessApiCall",
	"PTraceDetected", "PasswordChangeAttempt", "PlistPropertyModified", "PnpDeviceAllowed",
	"PnpDeviceBlocked", "PnpDeviceConnected", "PowerShellCommand", "PrintJobBlocked",
	"ProcessCreatedUsingWmiQuery", "ProcessPrimaryTokenModified", "QueueUserApcRemoteApiCall",
	"ReadProcessMemoryApiCall", "RemoteDesktopConnection", "RemoteWmiOperation",
	"RemovableStorageFileEvent", "RemovableStoragePolicyTriggered", "SafeDocFileScan",
	"ScheduledTaskCreated", "ScheduledTaskDeleted", "ScheduledTaskDisabled", "ScheduledTaskEnabled",
	"ScheduledTaskUpdated", "ScreenshotTaken", "SecurityGroupCreated", "SecurityGroupDeleted",
	"SecurityLogCleared", "SensitiveFileRead", "ServiceInstalled", "SetThreadContextRemoteApiCall",
	"ShellLinkCreateFileEvent", "SmartScreenAppWarning", "SmartScreenExploitWarning",
	"SmartScreenUrlWarning", "SmartScreenUserOverride", "TamperingAttempt", "UntrustedWifiConnection",
	"UsbDriveDriveLetterChanged", "UsbDriveMount", "UsbDriveMounted", "UsbDriveUnmount",
	"UsbDriveUnmounted", "UserAccountAddedToLocalGroup", "UserAccountCreated", "UserAccountDeleted",
	"UserAccountModified", "UserAccountRemovedFromLocalGroup", "WmiBindEventFilterToConsumer",
	"WriteProcessMemoryApiCall", "WriteToLsassProcessMemory",
}}

// knownActionTypes are the action types of actionTypesByTable, each once
// (ignoring case), in list order; actionTypeTables maps each of them, in
// lower case, to the tables that report it.
var (
	knownActionTypes = unionActionTypes(actionTypesByTable[:])
	actionTypeTables = indexActionTypes(actionTypesByTable[:])
)

// unionActionTypes returns the action types of byTable each once,
// ignoring case, in list order.
func unionActionTypes(byTable [][]string) []string {
	var out []string
	seen := make(map[string]bool)
	for _, types := range byTable {
		for _, a := range types {
			if la := strings.ToLower(a); !seen[la] {
				seen[la] = true
				out = append(out, a)
			}
		}
	}
	return out
}

// indexActionTypes maps each action type of byTable, the lists of
// watchedTables in order, in lower case, to the tables listing it.
func indexActionTypes(byTable [][]string) map[string]tableSet {
	idx := make(map[string]tableSet)
	for i, types := range byTable {
		for _, a := range types {
			idx[strings.ToLower(a)] |= 1 << i
		}
	}
	return idx
}

// tableActionTypeWarning says why a rule with the table values tables and
// the action_type values actions never matches, or "": when every action
// type is known (in index, from indexActionTypes) and none is reported in
// a watched table the rule names. An unknown action type (Microsoft adds
// them) or a rule naming no watched table (warned about on its own) is
// left unjudged.
func tableActionTypeWarning(tables, actions []string, index map[string]tableSet) string {
	var named tableSet
	var written []string
	for _, t := range tables {
		if w := watchedTable(t); w != 0 {
			named |= w
			written = append(written, t)
		}
	}
	if named == 0 || len(actions) == 0 {
		return ""
	}
	var theirs tableSet
	for _, a := range actions {
		in, ok := index[strings.ToLower(a)]
		if !ok || in&named != 0 {
			return ""
		}
		theirs |= in
	}
	what := fmt.Sprintf("a %s action type", strings.Join(theirs.names(), " and "))
	if len(actions) > 1 {
		what = fmt.Sprintf("%s action types", strings.Join(theirs.names(), " and "))
	}
	return fmt.Sprintf("table %s never reports action_type %s (%s), so the rule never matches", quoteOr(written), quoteOr(actions), what)
}

// actionTypeWarning says why an action_type value may never match, or ""
// for a known one (compared ignoring case): a value within two edits of
// known ones is taken for a misspelling of the nearest, any other for an
// action type iocwatch does not know.
func actionTypeWarning(v string) string {
	known, near := suggestActionType(v)
	switch {
	case known:
		return ""
	case len(near) > 0:
		return fmt.Sprintf("action_type %q is not an action type Defender reports (did you mean %s?), so it never matches", v, quoteOr(near))
	}
	return fmt.Sprintf("action_type %q is not a DeviceNetworkEvents or DeviceEvents action type iocwatch knows: check its spelling (a new action type Microsoft added matches as written)", v)
}

// maxActionTypeEdits is how many edits from a known action type a value
// is taken for its misspelling.
const maxActionTypeEdits = 2

// suggestActionType reports whether v is a known action type, ignoring
// case, and otherwise the known ones nearest to it within
// maxActionTypeEdits edits, in list order.
func suggestActionType(v string) (known bool, near []string) {
	lv := strings.ToLower(v)
	nv := utf8.RuneCountInString(lv)
	best := maxActionTypeEdits + 1
	for _, a := range knownActionTypes {
		if strings.EqualFold(a, v) {
			return true, nil
		}
		la := strings.ToLower(a)
		if d := utf8.RuneCountInString(la) - nv; d > maxActionTypeEdits || -d > maxActionTypeEdits {
			continue
		}
		switch d := editdist.Distance(lv, la); {
		case d < best:
			best, near = d, []string{a}
		case d == best:
			near = append(near, a)
		}
	}
	return false, near
}

// quoteOr quotes the values and joins them with "or": "a" or "b".
func quoteOr(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, " or ")
}
