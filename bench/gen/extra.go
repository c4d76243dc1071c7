package gen

import (
	"math/rand/v2"
	"strconv"
)

// benignTLDs are the suffixes of generated benign hosts.
var benignTLDs = []string{"com", "net", "org", "io", "de", "co.uk", "fr", "nl", "com.au", "cloud"}

// benignHostName returns a random host such as "img3.k2v9xq.com" or
// "a7yfoq.net".
func benignHostName(r *rand.Rand) string {
	h := randLabel(r, 4, 12) + "." + benignTLDs[r.IntN(len(benignTLDs))]
	switch r.IntN(3) {
	case 0:
		h = []string{"www", "cdn", "api", "img", "static", "login", "eu", "s3"}[r.IntN(8)] + strconv.Itoa(r.IntN(10)) + "." + h
	case 1:
		h = "www." + h
	}
	return h
}

// randLabel returns a DNS label of minLen to maxLen lower-case letters and
// digits, starting with a letter.
func randLabel(r *rand.Rand, minLen, maxLen int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	const alphabet = letters + "0123456789"
	b := make([]byte, minLen+r.IntN(maxLen-minLen+1))
	b[0] = letters[r.IntN(len(letters))]
	for i := 1; i < len(b); i++ {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// extraColumnSet is a record's worth of Defender columns iocwatch does not
// read, as they appear in DeviceNetworkEvents and DeviceEvents.
var extraColumnSet = [][2]string{
	{"InitiatingProcessVersionInfoCompanyName", `"Microsoft Corporation"`},
	{"InitiatingProcessVersionInfoProductName", `"Microsoft® Windows® Operating System"`},
	{"InitiatingProcessVersionInfoProductVersion", `"10.0.22621.3527"`},
	{"InitiatingProcessVersionInfoInternalFileName", `"svchost.exe"`},
	{"InitiatingProcessVersionInfoOriginalFileName", `"svchost.exe"`},
	{"InitiatingProcessVersionInfoFileDescription", `"Host Process for Windows Services"`},
	{"InitiatingProcessIntegrityLevel", `"System"`},
	{"InitiatingProcessTokenElevation", `"TokenElevationTypeDefault"`},
	{"InitiatingProcessFileSize", `57360`},
	{"InitiatingProcessParentCreationTime", `"2026-11-26T07:58:12.4410000Z"`},
	{"InitiatingProcessSessionId", `0`},
	{"InitiatingProcessUniqueId", `"1971"`},
	{"InitiatingProcessRemoteSessionDeviceName", `null`},
	{"InitiatingProcessRemoteSessionIP", `null`},
	{"InitiatingProcessLogonId", `"999"`},
	{"AppGuardContainerId", `""`},
	{"Signer", `"Microsoft Windows"`},
	{"SignerHash", `"b2d4f0e5c5b8f0e1a3c2d4e5f6a7b8c9d0e1f2a3"`},
	{"IsAzureInfoProtectionApplied", `false`},
	{"SensitivityLabel", `null`},
	{"SensitivitySubLabel", `null`},
}

// extraColumns returns about n bytes of `"Column":value,` pairs: the set
// above, then numbered copies of it until n is reached.
func extraColumns(n int) []byte {
	var b []byte
	for round := 0; len(b) < n; round++ {
		for _, c := range extraColumnSet {
			if len(b) >= n {
				break
			}
			b = append(b, '"')
			b = append(b, c[0]...)
			if round > 0 {
				b = strconv.AppendInt(b, int64(round), 10)
			}
			b = append(b, `":`...)
			b = append(b, c[1]...)
			b = append(b, ',')
		}
	}
	return b
}
