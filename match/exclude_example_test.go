package match_test

import (
	"fmt"
	"time"

	"github.com/iocwatch/iocwatch/match"
)

func ExampleExclusions_Match() {
	x, err := match.CompileExclusions([]match.RuleSpec{{
		Name:   "rdp-client",
		Reason: "Admins connect to servers with Remote Desktop",
		When: map[string][]string{
			"process_name": {"mstsc.exe", "rdpclip.exe"},
			"process_path": {`c:\windows\system32\*`},
		},
		Origin: "exclusions.yaml:2",
	}})
	if err != nil {
		panic(err)
	}
	hit := match.Hit{Indicator: match.Indicator{Kind: match.KindIP, Value: "198.51.100.7"}, Field: match.FieldRemoteIP}
	for _, path := range []string{`C:\Windows\System32\mstsc.exe`, `C:\Users\ana\AppData\Local\Temp\mstsc.exe`} {
		s := &match.Subject{ProcessName: "mstsc.exe", ProcessPath: path}
		if r := x.Match(s, hit, time.Now()); r != nil {
			fmt.Printf("%s: excluded by %s\n", path, r.Name)
		} else {
			fmt.Printf("%s: alert\n", path)
		}
	}
	// Output:
	// C:\Windows\System32\mstsc.exe: excluded by rdp-client
	// C:\Users\ana\AppData\Local\Temp\mstsc.exe: alert
}
