package feed

import (
	"github.com/iocwatch/iocwatch/match"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// Digests as sha256sum and md5sum print them, and as a feed may also hold
// one by mistake.
const (
	hexIPs     = "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4"
	hexDomains = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
	hexMD5     = "d41d8cd98f00b204e9800998ecf8427e"
)

// sumBundle is an archive as publishers that sign their lists ship it:
// the feeds, with checksums and signatures beside them. ips.txt holds a
// digest line by mistake: it is a feed all the same, its line refused.
func sumBundle(t *testing.T) []byte {
	return zipOf(t,
		zipEntry{name: "ips.txt", content: "203.0.113.7\n" + hexIPs + "\n198.51.100.9\n"},
		zipEntry{name: "lists/domains.csv", content: "domain,description\nevil.example,c2 panel\n"},
		zipEntry{name: "SHA256SUMS", content: hexIPs + "  ips.txt\n" + hexDomains + "  lists/domains.csv\n" + hexMD5 + "  c2-feed.zip\n"},
		zipEntry{name: "SHA256SUMS.asc", content: "-----BEGIN PGP SIGNATURE-----\nComment: https://keys.feeds.example/c2.asc\n\n" +
			"iHUEABYKAB0WIQTbV2hBy4f1pE1D7Zq0qYQ3c7u6EwUCZ0m8xAAKCRC0qYQ3c7u6\nE7o2AQCkq4u7m6D+9a1Yt8d7r0Kp0mV2Cj9hRkq0Vd3w4bQAAP9l\n=Vq3c\n-----END PGP SIGNATURE-----\n"},
		zipEntry{name: "lists/domains.csv.sha256", content: hexDomains + "  domains.csv\n"},
		zipEntry{name: "lists/domains.csv.minisig", content: "untrusted comment: signature from minisign secret key\n" +
			"RUQf6LRCGA9i559r3g7V1qNyJDApGip8MfqcadIgT9CuhV3EMhHoN1mGTkUidF/z7SrlQgXdy8ofjb7bNJJylDOocrCo8KLzZwo=\n" +
			"trusted comment: timestamp:1732900000\tfile:domains.csv\thashed\nq6dyDprTOqTmQsxXxzpNXyKzCB9GGvsd2FdFxQvKomOMGTn6Xw1HPv6GQcTyfqhnDMBOvfU8UP2UmwQ8mLCDDw==\n"},
		zipEntry{name: "iocs_2026.11.29_checksums.txt", content: hexIPs + "  iocs_2026.11.29_ips.txt\n"},
		zipEntry{name: "ips.txt.sig", content: "MEUCIQDp1Zq0rW3mYk1l0Qb2m3XH9b0cZ1sU3f6j7k8l9m0n1AIgXy2z3A4b5C6d7E8f9G0h1I2j3K4l5M6n7O8p9Q0r1S4=\n"},
		zipEntry{name: "signing.pem", content: "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE3d9m5Jm6p0pE9d7l8m3k1c0b2a4Z\n-----END PUBLIC KEY-----\n"},
	)
}

// sumBundleFiles are the checksum and signature files of sumBundle, in
// archive order.
var sumBundleFiles = []string{"SHA256SUMS", "SHA256SUMS.asc", "lists/domains.csv.sha256", "lists/domains.csv.minisig",
	"iocs_2026.11.29_checksums.txt", "ips.txt.sig", "signing.pem"}

// sumBundleValues are the indicators of sumBundle's feeds.
var sumBundleValues = []string{"203.0.113.7", "198.51.100.9", "evil.example"}

// checkSumBundle checks a feed's status and index after loading
// sumBundle: its feeds loaded, the digest line in ips.txt refused as
// before, the checksum and signature files counted and named, none of
// their lines read.
func checkSumBundle(t *testing.T, st Status, ix *match.Index) {
	t.Helper()
	if st.Total != len(sumBundleValues) {
		t.Fatalf("status: %d indicators, error %v, refused %v; want %d", st.Total, st.LastError, st.Refused, len(sumBundleValues))
	}
	wantMatches(t, ix, sumBundleValues)
	for _, v := range []string{"keys.feeds.example", "c2-feed.zip", "https://keys.feeds.example/c2.asc"} {
		if matches(ix, v, time.Time{}) {
			t.Errorf("%s, from a checksum or signature file, loaded", v)
		}
	}
	// The feed's own digest line is read and refused as it always was:
	// a file is told by its name, never by lines that look like digests.
	if len(st.Refused) != 1 || !strings.HasSuffix(st.Refused[0].Origin, "!ips.txt:2") || st.Refused[0].Value != hexIPs {
		t.Errorf("refused %v, want only ips.txt:2, %s", st.Refused, hexIPs)
	}
	if st.Skipped != len(sumBundleFiles) || st.SkippedReasons["zip checksum or signature file"] != len(sumBundleFiles) {
		t.Errorf("skipped %d %v, want %d zip checksum or signature files", st.Skipped, st.SkippedReasons, len(sumBundleFiles))
	}
	note := "7 checksum or signature files of the archive not read as feeds: SHA256SUMS, SHA256SUMS.asc, lists/domains.csv.sha256, lists/domains.csv.minisig and 3 more"
	if !slices.Contains(st.Notes, note) {
		t.Errorf("notes %q, want %q", st.Notes, note)
	}
}

// The checksums and signatures in an archive are not read as feeds:
// their lines (digests, PGP armour, base64) would be refused one by one,
// or, a name or URL in them, load. A file feed and a download alike.
func TestChecksumAndSignatureFilesInAZipArchiveAreNotFeeds(t *testing.T) {
	for _, src := range archiveSources(sumBundle(t)) {
		t.Run(src.name, func(t *testing.T) {
			h, u := newHarness(t, Options{Feeds: []Spec{src.spec(t)}})
			st := h.status("bundle")
			if st.LastError != nil {
				t.Fatal(st.LastError)
			}
			checkSumBundle(t, st, u.Index)
		})
	}
}

// The count and the note survive a restart from the cached copy of a
// download.
func TestTheChecksumsOfACachedZipArchiveAreStillLeftOut(t *testing.T) {
	st, u := restartFromCache(t, sumBundle(t), match.LoadOptions{})
	if !st.FromCache {
		t.Fatalf("not from the cache: error %v", st.LastError)
	}
	checkSumBundle(t, st, u.Index)
}

// A cached copy written before checksum and signature files were told
// apart holds them among the archive's files: a copy from before
// documentation was told apart too (no Docs), or one from after (Docs
// set). When the server confirms the copy (304) or is down, they must not
// be read as feeds, and the copy is the content a download of the
// archive is now, sum included: a 200 of the same archive is no change.
func TestACacheWrittenBeforeChecksumsWereToldApartLeavesThemOut(t *testing.T) {
	readme := zipEntry{name: "README.txt", content: "feeds.example\n"}
	ips := zipEntry{name: "ips.txt", content: "203.0.113.7\n"}
	domains := zipEntry{name: "domains.txt", content: "evil.example\n"}
	sums := zipEntry{name: "SHA256SUMS", content: hexIPs + "  ips.txt\n" + hexMD5 + "  c2-feed.zip\n"}
	sig := zipEntry{name: "SHA256SUMS.asc", content: "-----BEGIN PGP SIGNATURE-----\nComment: https://keys.feeds.example/c2.asc\n\niHUEABYKAB0WIQTbV2hBy4f1pE1D7Zq0\n=Vq3c\n-----END PGP SIGNATURE-----\n"}
	down := func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) }
	tests := []struct {
		name     string
		archive  []zipEntry // in archive order
		docsKnew bool       // the copy was written when documentation was told apart
		served   http.HandlerFunc
		loaded   []string
		docs     int
		sums     int
	}{
		{"a 304 to a copy from before documentation, two feeds", []zipEntry{readme, ips, sums, domains, sig}, false, serve("", `"v1"`), []string{"203.0.113.7", "evil.example"}, 1, 2},
		{"a 304 to a copy from before documentation, one feed", []zipEntry{ips, sums, sig}, false, serve("", `"v1"`), []string{"203.0.113.7"}, 0, 2},
		{"a 304 to a copy with documentation, two feeds", []zipEntry{readme, ips, sums, domains, sig}, true, serve("", `"v1"`), []string{"203.0.113.7", "evil.example"}, 1, 2},
		{"a 304 to a copy with documentation, one feed", []zipEntry{ips, readme, sig}, true, serve("", `"v1"`), []string{"203.0.113.7"}, 1, 1},
		{"the server down, a copy with documentation", []zipEntry{readme, sums, ips, domains}, true, down, []string{"203.0.113.7", "evil.example"}, 1, 1},
		{"the server down, a copy from before documentation", []zipEntry{sig, ips, domains, readme}, false, down, []string{"203.0.113.7", "evil.example"}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The copy as the version before wrote it: every file of the
			// archive, but, when it told documentation apart, the
			// documentation, which Docs names.
			var docs []string
			if tt.docsKnew {
				docs = []string{readme.name}
			}
			spec, cache := oldZipCache(t, tt.served, tt.archive, docs)
			h, u := newHarness(t, Options{Feeds: []Spec{spec}, CacheDir: cache})
			st := h.status("bundle")
			if st.Total != len(tt.loaded) || len(st.Refused) != 0 ||
				st.SkippedReasons["zip documentation file"] != tt.docs || st.SkippedReasons["zip checksum or signature file"] != tt.sums {
				t.Fatalf("%d indicators, refused %v, skipped %v, notes %q; want %d, none refused, %d documentation files, %d checksum or signature files",
					st.Total, st.Refused, st.SkippedReasons, st.Notes, len(tt.loaded), tt.docs, tt.sums)
			}
			wantMatches(t, u.Index, tt.loaded)
			for _, v := range []string{"feeds.example", "c2-feed.zip"} {
				if matches(u.Index, v, time.Time{}) {
					t.Errorf("%s, from a file left out, loaded", v)
				}
			}
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

// isChecksumOrSignature tells checksum and signature files by their name
// alone: by a checksum's or signature's extension, or by a checksum
// list's name as a word of theirs. A list of hashes named for its
// content is a feed.
func TestIsChecksumOrSignature(t *testing.T) {
	tests := []struct {
		name string
		sum  bool
	}{
		// Checksum lists, as coreutils, release tools and distributions name them.
		{"SHA256SUMS", true}, {"sha256sums.txt", true}, {"SHA1SUMS", true}, {"SHA512SUMS", true}, {"MD5SUMS", true},
		{"B2SUMS", true}, {"sha256sum.txt", true}, {"md5sum.txt", true}, {"CHECKSUMS", true}, {"checksums.txt", true},
		{"CHECKSUM", true}, {"iocs_1.4.2_checksums.txt", true}, {"feeds-2026-11-29-SHA256SUMS", true},
		{"Fedora-39-1.5-x86_64-CHECKSUM", true}, {"lists/SHA256SUMS", true}, {`lists\SHA256SUMS`, true},
		// Node.js's layout, which other release tools copy: the list and
		// its signature alike.
		{"SHASUMS256.txt", true}, {"SHASUMS256.txt.asc", true}, {"SHASUMS256.txt.sig", true}, {"shasums512.txt", true},
		{"SHASUMS.txt", true}, {"iocs-v2-SHASUMS256.txt", true},
		// A digest of one file.
		{"ips.txt.sha256", true}, {"IPS.TXT.SHA256", true}, {"ips.txt.sha1", true}, {"ips.txt.md5", true},
		{"ips.txt.sha512", true}, {"ips.txt.sha256sum", true}, {"domains.csv.sha384", true}, {"c2.sha224", true},
		// Signatures, and the key a signature is checked with.
		{"SHA256SUMS.asc", true}, {"SHA256SUMS.sig", true}, {"ips.txt.asc", true}, {"ips.txt.sig", true},
		{"ips.txt.minisig", true}, {"ips.txt.p7s", true}, {"ips.txt.sigstore", true}, {"ips.txt.sigstore.json", true},
		{"signing.pem", true}, {"keys/cosign.PEM", true},
		// Feeds, whatever their names or lines hold: lists of hashes
		// named for their content, and names with such words inside others.
		{"ips.txt", false}, {"md5.txt", false}, {"sha256.txt", false}, {"sha1.csv", false}, {"hashes.txt", false},
		{"sha256-iocs.csv", false}, {"ips.sha256.txt", false}, {"checksummed-ips.txt", false}, {"signatures.txt", false},
		{"sig.txt", false}, {"asc", false}, {".sig", false}, {"sums.txt", false}, {"bundle.json", false},
		{"checksums/ips.txt", false}, {`sha256sums\ips.txt`, false}, {"c2-sigs.csv", false}, {"pem-c2.txt", false},
		{"ipsum.txt", false}, {"shasums256/ips.txt", false}, {"shasum-ips.txt", false},
	}
	for _, tt := range tests {
		if got := isChecksumOrSignature(tt.name); got != tt.sum {
			t.Errorf("isChecksumOrSignature(%q) = %v, want %v", tt.name, got, tt.sum)
		}
	}
}

// decodeBody leaves the checksum and signature files out of an archive's
// files and names them apart from its documentation; an archive of one
// feed beside them is that feed, and one with nothing else has no feed.
func TestDecodeBodyLeavesTheChecksumsOut(t *testing.T) {
	got := decoded(t, sumBundle(t))
	names := partNames(got)
	if !slices.Equal(names, []string{"ips.txt", "lists/domains.csv"}) || !slices.Equal(got.sums, sumBundleFiles) || got.docs != nil {
		t.Fatalf("files %q, checksums %q, documentation %q", names, got.sums, got.docs)
	}

	one := decoded(t, zipOf(t, zipEntry{name: "README.md", content: "# c2\n"}, zipEntry{name: "c2.txt", content: "203.0.113.7\n"},
		zipEntry{name: "c2.txt.sha256", content: hexIPs + "  c2.txt\n"}, zipEntry{name: "LICENSE.asc", content: "-----BEGIN PGP SIGNATURE-----\n"}))
	// LICENSE.asc is both: documentation, as isDocumentation is asked first.
	if one.files != nil || string(one.data) != "203.0.113.7\n" || !slices.Equal(one.docs, []string{"README.md", "LICENSE.asc"}) ||
		!slices.Equal(one.sums, []string{"c2.txt.sha256"}) {
		t.Fatalf("one feed: %q in files %v, documentation %q, checksums %q", one.data, one.files, one.docs, one.sums)
	}

	for _, tt := range []struct {
		files []zipEntry
		err   string
	}{
		{[]zipEntry{{name: "SHA256SUMS", content: "x"}, {name: "SHA256SUMS.asc", content: "y"}},
			"archive holds no feed, only checksum or signature files: SHA256SUMS, SHA256SUMS.asc"},
		{[]zipEntry{{name: "SHA256SUMS", content: "x"}, {name: "README.md", content: "y"}, {name: "SHA256SUMS.asc", content: "z"}},
			"archive holds no feed, only documentation and checksum or signature files: SHA256SUMS, README.md, SHA256SUMS.asc"},
		{[]zipEntry{{name: "README.md", content: "x"}, {name: "LICENSE", content: "y"}},
			"archive holds no feed, only documentation: README.md, LICENSE"},
	} {
		if _, err := decodeBody(zipOf(t, tt.files...), "", 1<<20); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("err %v, want %q", err, tt.err)
		}
	}

	// The files left out are part of what the content is, and what each
	// one is: the same name as documentation or as a checksum is other
	// content (the note says another thing).
	data := content{data: []byte("203.0.113.7\n")}
	asDoc, asSum := data, data
	asDoc.docs = []string{"c2.sig"}
	asSum.sums = []string{"c2.sig"}
	if asDoc.sum() == asSum.sum() || asSum.sum() == data.sum() || asDoc.sum() == data.sum() {
		t.Error("the same feed with other files left out has the same sum")
	}
}

// noteChecksums adds the checksum and signature files to what a parse
// skipped, under their own reason, and names them.
func TestNoteChecksums(t *testing.T) {
	tests := []struct {
		sums []string
		note string
	}{
		{nil, ""},
		{[]string{"SHA256SUMS"}, "1 checksum or signature file of the archive not read as a feed: SHA256SUMS"},
		{[]string{"SHA256SUMS", "SHA256SUMS.asc"}, "2 checksum or signature files of the archive not read as feeds: SHA256SUMS, SHA256SUMS.asc"},
		{[]string{"a.sig", "b.sig", "c.sig", "d.sig", "e.sig"}, "5 checksum or signature files of the archive not read as feeds: a.sig, b.sig, c.sig, d.sig and 1 more"},
	}
	for _, tt := range tests {
		res := &match.LoadResult{Skipped: 1, SkippedReasons: map[string]int{skipDocumentation: 1}, Notes: []string{"1 documentation file of the archive not read as a feed: README"}}
		noteChecksums(res, tt.sums)
		wantNotes := []string{"1 documentation file of the archive not read as a feed: README"}
		if tt.note != "" {
			wantNotes = append(wantNotes, tt.note)
		}
		if res.Skipped != 1+len(tt.sums) || res.SkippedReasons[skipDocumentation] != 1 || res.SkippedReasons[skipChecksum] != len(tt.sums) ||
			!slices.Equal(res.Notes, wantNotes) {
			t.Errorf("%q: skipped %d %v, notes %q; want notes %q", tt.sums, res.Skipped, res.SkippedReasons, res.Notes, wantNotes)
		}
	}
}
