package config

import (
	"strings"
	"testing"
)

// A fragment is never sent to a server: a SAS token written after '#' in
// checkpoint.container_url would be dropped, and the source would fall back
// to the Azure default credential. It is refused at the key, with its line,
// and the fragment is not shown (it may be the SAS).
func TestValidateContainerURLRefusesAFragment(t *testing.T) {
	const sig = "SasSig-Pq4Wz7Lk2Jd9"
	for _, tc := range []struct {
		name, url string
		want      string // "" when the URL is taken
	}{
		{"a SAS after #", "https://a.blob.core.windows.net/cc1#sv=2022-11-02&sig=" + sig, "v.yaml:4: source.eventhubs.checkpoint.container_url: must not hold a #fragment"},
		{"an empty fragment", "https://a.blob.core.windows.net/cc1#", "v.yaml:4: source.eventhubs.checkpoint.container_url: must not hold a #fragment"},
		{"a fragment after a trailing slash", "https://a.blob.core.windows.net/cc1/#x", "v.yaml:4: source.eventhubs.checkpoint.container_url: must not hold a #fragment"},
		{"an escaped # in the path is not a fragment", "https://a.blob.core.windows.net/cc1%23", `"cc1#" is not a valid container name`},
		{"no fragment", "https://a.blob.core.windows.net/cc1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yaml := "source:\n  type: eventhubs\n  eventhubs: {auth: default_credential, namespace: ns.servicebus.windows.net, hub: h,\n    checkpoint: {container_url: '" + tc.url + "'}}\nfeeds: [{name: f, path: f}]\n"
			c, err := Parse([]byte(yaml), "v.yaml")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			err = c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want no problem", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v\nwant a message containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), sig) {
				t.Errorf("Validate() = %v: shows the fragment", err)
			}
		})
	}
}
