package match

import (
	"fmt"
	"strings"
)

// knownActionTypes are the ActionType values Defender reports in the
// tables iocwatch watches: first DeviceNetworkEvents, then DeviceEvents,
// each in alphabetical order. They come from Microsoft's Advanced Hunting
// schema reference; Microsoft adds action types from time to time, so a
// value missing here is only warned about, never refused.
var knownActionTypes = []string{
	// DeviceNetworkEvents
	"ConnectionAcknowledged", "ConnectionAttempt", "ConnectionFailed", "ConnectionFound",
	"ConnectionRequest", "ConnectionSuccess", "DnsConnectionInspected", "FtpConnectionInspected",
	"HttpConnectionInspected", "IcmpConnectionInspected", "InboundConnectionAccepted",
	"InboundInternetScanInspected", "KerberosConnectionInspected", "ListeningConnectionCreated",
	"NetworkSignatureInspected", "NtlmAuthenticationInspected", "SmtpConnectionInspected",
	"SshConnectionInspected", "SslConnectionInspected",
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
	lv := []rune(strings.ToLower(v))
	best := maxActionTypeEdits + 1
	for _, a := range knownActionTypes {
		if strings.EqualFold(a, v) {
			return true, nil
		}
		la := []rune(strings.ToLower(a))
		if d := len(la) - len(lv); d > maxActionTypeEdits || -d > maxActionTypeEdits {
			continue
		}
		switch d := editDistance(lv, la); {
		case d < best:
			best, near = d, []string{a}
		case d == best:
			near = append(near, a)
		}
	}
	return false, near
}

// editDistance is the optimal string alignment distance between a and b:
// the insertions, deletions, substitutions and swaps of two adjacent
// characters that turn one into the other.
func editDistance(a, b []rune) int {
	// Three rows of the table: two back, one back, this one.
	prev2, prev, cur := make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// quoteOr quotes the values and joins them with "or": "a" or "b".
func quoteOr(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, " or ")
}
