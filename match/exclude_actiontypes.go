package match

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/iocwatch/iocwatch/internal/editdist"
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
