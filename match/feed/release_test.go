package feed

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/match"
)

// Release files as signing and SBOM tools write them beside a release's
// files (cosign, GoReleaser, the SLSA generator, syft, CycloneDX tools).
var (
	cosignPub = zipEntry{name: "cosign.pub", content: "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE3d9m5Jm6p0pE9d7l8m3k1c0b2a4Z\n-----END PUBLIC KEY-----\n"}
	signCert  = zipEntry{name: "ips.txt.crt", content: "-----BEGIN CERTIFICATE-----\nMIIC1jCCAlygAwIBAgIUQ2tY0m3e4k5m6n7o8p9q0r1s2t0wCgYIKoZIzj0EAwMw\n-----END CERTIFICATE-----\n"}
	gpgSig    = zipEntry{name: "SHA256SUMS.gpg", content: "\x88\x75\x04\x00\x16\x0a\x00\x1d\x16\x21\x04"}
	intoto    = zipEntry{name: "multiple.intoto.jsonl", content: `{"payloadType":"application/vnd.in-toto+json","payload":"eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjAuMSJ9","signatures":[{"keyid":"","sig":"MEUCIQDp1Zq0"}]}` + "\n"}
	spdxJSON  = zipEntry{name: "iocs.spdx.json", content: `{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"iocs","documentNamespace":"https://feeds.example/spdx/iocs"}` + "\n"}
	cdxJSON   = zipEntry{name: "iocs.cdx.json", content: `{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"component":{"name":"iocs","externalReferences":[{"url":"https://feeds.example/","type":"website"}]}}}` + "\n"}
)

// releaseBundle is an archive of feeds as a release tool ships it: the
// feeds (a text list, a STIX bundle, JSON lines that are a feed), with
// keys, certificates, signatures, an attestation and SBOMs beside them.
func releaseBundle(t *testing.T) []byte {
	return zipOf(t,
		zipEntry{name: "ips.txt", content: "203.0.113.7\n198.51.100.9\n"},
		zipEntry{name: "indicators.json", content: `{"type": "bundle", "id": "bundle--1", "objects": [
			{"type": "indicator", "spec_version": "2.1", "id": "indicator--6f1e5c2a-3f3c-4c39-9d86-1f7b1d8c9e01",
			 "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "valid_from": "2026-01-01T00:00:00Z",
			 "pattern_type": "stix", "pattern": "[url:value = 'http://bad.example/gate.php']"}]}`},
		cosignPub, signCert, gpgSig, intoto, spdxJSON, cdxJSON,
	)
}

var (
	releaseBundleValues = []string{"203.0.113.7", "198.51.100.9", "http://bad.example/gate.php"}
	releaseBundleSums   = []string{"cosign.pub", "ips.txt.crt", "SHA256SUMS.gpg", "multiple.intoto.jsonl"}
	releaseBundleDocs   = []string{"iocs.spdx.json", "iocs.cdx.json"}
)

// checkReleaseBundle checks a feed's status and index after loading
// releaseBundle: its feeds loaded, nothing refused, the SBOMs counted as
// documentation, the keys, certificates, signatures and attestation as
// checksum or signature files.
func checkReleaseBundle(t *testing.T, st Status, ix *match.Index) {
	t.Helper()
	if st.Total != len(releaseBundleValues) || len(st.Refused) != 0 {
		t.Fatalf("status: %d indicators, error %v, refused %v; want %d, none refused", st.Total, st.LastError, st.Refused, len(releaseBundleValues))
	}
	wantMatches(t, ix, releaseBundleValues)
	if matches(ix, "feeds.example", time.Time{}) {
		t.Error("the SBOM's website loaded")
	}
	if st.Skipped != len(releaseBundleSums)+len(releaseBundleDocs) || st.SkippedReasons[skipChecksum] != len(releaseBundleSums) ||
		st.SkippedReasons[skipDocumentation] != len(releaseBundleDocs) {
		t.Errorf("skipped %d %v; want %d %s, %d %s", st.Skipped, st.SkippedReasons, len(releaseBundleSums), skipChecksum, len(releaseBundleDocs), skipDocumentation)
	}
	for _, note := range []string{
		"2 documentation files of the archive not read as feeds: iocs.spdx.json, iocs.cdx.json",
		"4 checksum or signature files of the archive not read as feeds: cosign.pub, ips.txt.crt, SHA256SUMS.gpg, multiple.intoto.jsonl",
	} {
		if !slices.Contains(st.Notes, note) {
			t.Errorf("notes %q, want %q", st.Notes, note)
		}
	}
}

// The keys, certificates, signatures, attestations and SBOMs a release
// tool ships beside the feeds are not read as feeds: a file feed, a
// download, and a restart from its cached copy alike.
func TestReleaseFilesInAZipArchiveAreNotFeeds(t *testing.T) {
	for _, src := range archiveSources(releaseBundle(t)) {
		t.Run(src.name, func(t *testing.T) {
			h, u := newHarness(t, Options{Feeds: []Spec{src.spec(t)}})
			st := h.status("bundle")
			if st.LastError != nil {
				t.Fatal(st.LastError)
			}
			checkReleaseBundle(t, st, u.Index)
		})
	}
	t.Run("a restart from the cache", func(t *testing.T) {
		st, u := restartFromCache(t, releaseBundle(t), match.LoadOptions{})
		if !st.FromCache {
			t.Fatalf("not from the cache: error %v", st.LastError)
		}
		checkReleaseBundle(t, st, u.Index)
	})
}

// Which files of an archive are left out, and as what, by their names
// alone: an SBOM is documentation; a key, certificate, binary signature
// or attestation a checksum or signature file; a JSON (a STIX bundle), a
// JSON lines or a text list by any other name is a feed.
func TestDecodeBodyLeavesReleaseFilesOut(t *testing.T) {
	const (
		feed = "feed"
		doc  = "documentation"
		sum  = "checksum or signature"
	)
	tests := []struct {
		name string
		want string
	}{
		// Keys and certificates a signature is checked with.
		{"cosign.pub", sum}, {"keys/cosign.pub", sum}, {"minisign.pub", sum}, {"RELEASE-KEY.PUB", sum},
		{"signing.crt", sum}, {"ips.txt.crt", sum}, {"ca.cer", sum}, {"signing.der", sum}, {"chain.p7b", sum}, {"chain.p7c", sum},
		{`certs\signing.crt`, sum},
		// Signatures: GnuPG's binary ones, and those told apart before.
		{"ips.txt.gpg", sum}, {"SHA256SUMS.gpg", sum}, {"ips.txt.sig", sum}, {"ips.txt.p7s", sum}, {"signing.pem", sum},
		// in-toto attestations (SLSA provenance).
		{"multiple.intoto.jsonl", sum}, {"iocs-v2.INTOTO.JSONL", sum}, {"provenance/iocs.intoto.jsonl", sum}, {"iocs.intoto.json", sum},
		// SBOMs: SPDX, CycloneDX, and as GoReleaser and syft name them.
		{"iocs.sbom", doc}, {"iocs.zip.sbom.json", doc}, {"iocs.spdx.json", doc}, {"iocs.spdx", doc}, {"iocs.spdx.xml", doc},
		{"iocs.spdx.yaml", doc}, {"iocs.spdx.rdf.xml", doc}, {"iocs.cdx.json", doc}, {"bom.cdx.xml", doc}, {"bom.json", doc},
		{"bom.xml", doc}, {"sbom.json", doc}, {"SBOM.SPDX.JSON", doc}, {"sbom/iocs.cdx.json", doc},
		// Feeds, whatever words their names hold.
		{"indicators.json", feed}, {"bundle.json", feed}, {"stix/c2.json", feed}, {"iocs.jsonl", feed}, {"events.jsonl", feed},
		{"intoto-ips.jsonl", feed}, {"ips.txt", feed}, {"pub.txt", feed}, {"public-ips.txt", feed}, {"crt.sh-domains.txt", feed},
		{"certs.csv", feed}, {"sbom-c2.txt", feed}, {"spdx.txt", feed}, {"bom.csv", feed}, {"iocs.pub.txt", feed},
		{"pub", feed}, {".pub", feed}, {"keys.txt", feed}, {"c2.json.txt", feed}, {"spdx/ips.txt", feed}, {"sbom.json/ips.txt", feed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := decoded(t, zipOf(t, zipEntry{name: "c2.txt", content: "203.0.113.7\n"}, zipEntry{name: tt.name, content: "x\n"}))
			got := feed
			switch {
			case slices.Equal(c.docs, []string{tt.name}) && c.sums == nil && c.files == nil:
				got = doc
			case slices.Equal(c.sums, []string{tt.name}) && c.docs == nil && c.files == nil:
				got = sum
			case c.docs != nil || c.sums != nil || !slices.Equal(partNames(c), []string{"c2.txt", tt.name}):
				t.Fatalf("files %q, documentation %q, checksums %q", partNames(c), c.docs, c.sums)
			}
			if got != tt.want {
				t.Errorf("%q read as a %s, want a %s", tt.name, got, tt.want)
			}
		})
	}
}

// A cached copy written before release files were told apart holds them
// among the archive's files. When the server confirms the copy (304) or is
// down, they are left out as a download of the archive leaves them out.
func TestACacheWrittenBeforeReleaseFilesWereToldApartLeavesThemOut(t *testing.T) {
	readme := zipEntry{name: "README.md", content: "# c2\nhttps://feeds.example/\n"}
	ips := zipEntry{name: "ips.txt", content: "203.0.113.7\n"}
	domains := zipEntry{name: "domains.txt", content: "evil.example\n"}
	down := func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) }
	tests := []struct {
		name    string
		archive []zipEntry // in archive order
		docs    []string   // the documentation the copy's header names
		served  http.HandlerFunc
		loaded  []string
		nDocs   int
		nSums   int
	}{
		{"a 304, two feeds", []zipEntry{readme, ips, cosignPub, spdxJSON, domains, intoto}, []string{readme.name}, serve("", `"v1"`),
			[]string{"203.0.113.7", "evil.example"}, 2, 2},
		{"a 304, one feed", []zipEntry{ips, signCert, gpgSig, cdxJSON}, nil, serve("", `"v1"`), []string{"203.0.113.7"}, 1, 2},
		{"the server down, two feeds", []zipEntry{intoto, ips, domains, cdxJSON, cosignPub}, nil, down,
			[]string{"203.0.113.7", "evil.example"}, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, cache := oldZipCache(t, tt.served, tt.archive, tt.docs)
			h, u := newHarness(t, Options{Feeds: []Spec{spec}, CacheDir: cache})
			st := h.status("bundle")
			if st.Total != len(tt.loaded) || len(st.Refused) != 0 ||
				st.SkippedReasons[skipDocumentation] != tt.nDocs || st.SkippedReasons[skipChecksum] != tt.nSums {
				t.Fatalf("%d indicators, error %v, refused %v, skipped %v, notes %q; want %d, none refused, %d documentation files, %d checksum or signature files",
					st.Total, st.LastError, st.Refused, st.SkippedReasons, st.Notes, len(tt.loaded), tt.nDocs, tt.nSums)
			}
			wantMatches(t, u.Index, tt.loaded)
			e, err := readCache(cache, spec.Name)
			if err != nil {
				t.Fatal(err)
			}
			got := decoded(t, zipOf(t, tt.archive...))
			if c := e.content(); e.hash != got.sum() || !slices.Equal(c.docs, got.docs) || !slices.Equal(c.sums, got.sums) {
				t.Errorf("the copy's sum %x, documentation %q, checksums %q; a download of the archive has %x, %q, %q",
					e.hash, c.docs, c.sums, got.sum(), got.docs, got.sums)
			}
		})
	}
}
