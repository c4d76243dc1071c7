package feed

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"

	"github.com/iocwatch/iocwatch/internal/decompress"
)

// errTooLarge marks a body over Spec.MaxBytes, compressed or not.
var errTooLarge = errors.New("larger than max_bytes")

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zipMagic  = []byte("PK\x03\x04")
)

// content is a feed's content, unpacked: its bytes, and, when they are
// the files of a zip archive of more than one, the archive's files in
// order, whose contents are data back to back. Each file is then a feed of
// its own to the loader: its own format, its own line numbers. docs names
// the archive's documentation (isDocumentation) and sums its checksum and
// signature files (isChecksumOrSignature), in archive order, left out of
// data and files: the loader counts them and names them (noteLeftOut).
type content struct {
	data  []byte
	files []archived // nil: data is one feed
	docs  []string
	sums  []string
}

// archived is one file of a zip archive: its name in the archive and
// the length of its content.
type archived struct {
	name string
	size int
}

// parts calls yield with the name (empty for content of one feed) and
// the bytes of every feed of c, in order, until yield returns false.
func (c content) parts(yield func(name string, data []byte) bool) {
	if c.files == nil {
		yield("", c.data)
		return
	}
	at := 0
	for _, f := range c.files {
		if !yield(f.name, c.data[at:at+f.size]) {
			return
		}
		at += f.size
	}
}

// sum identifies the content: the SHA-256 of its bytes, which for files
// of an archive follow their names and sizes (the same bytes cut in other
// files are other content), and the names of the files left out of it,
// documentation and checksums apart, when it has any (the same feed with
// other files beside it is reported otherwise: its notes name other
// files). Content without files left out keeps the sum it had before
// archives had any.
func (c content) sum() [32]byte {
	if c.files == nil && c.docs == nil && c.sums == nil {
		return sha256.Sum256(c.data)
	}
	h := sha256.New()
	var b []byte
	b = binary.AppendUvarint(b, uint64(len(c.files)))
	for _, f := range c.files {
		b = binary.AppendUvarint(b, uint64(len(f.name)))
		b = append(b, f.name...)
		b = binary.AppendUvarint(b, uint64(f.size))
	}
	if c.docs != nil || c.sums != nil {
		for _, names := range [][]string{c.docs, c.sums} {
			b = binary.AppendUvarint(b, uint64(len(names)))
			for _, d := range names {
				b = binary.AppendUvarint(b, uint64(len(d)))
				b = append(b, d...)
			}
		}
	}
	h.Write(b)
	h.Write(c.data)
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// decodeBody turns a downloaded body into the feed's content: it undoes a
// gzip or zstd Content-Encoding, then unpacks a gzip or zstd file (a
// ".gz" or ".zst" feed) or the regular files of a zip archive (see
// unzip), detected by their magic bytes. Nothing larger than max bytes is
// produced; a truncated or corrupt archive is an error, never a shorter
// feed. decodeBody never panics on input.
func decodeBody(raw []byte, contentEncoding string, max int64) (content, error) {
	body := raw
	switch ce := strings.ToLower(strings.TrimSpace(contentEncoding)); ce {
	case "", "identity":
	case "gzip", "x-gzip":
		var err error
		if body, err = gunzip(body, max); err != nil {
			return content{}, fmt.Errorf("Content-Encoding gzip: %w", err)
		}
	case "zstd":
		var err error
		if body, err = unzstd(body, max); err != nil {
			return content{}, fmt.Errorf("Content-Encoding zstd: %w", err)
		}
	default:
		return content{}, fmt.Errorf("unsupported Content-Encoding %q", contentEncoding)
	}
	// A .gz or .zip feed, possibly also gzip-encoded in transit. One level
	// each: an archive inside a .gz is returned as is, and one inside a
	// zip archive is an error (unzip).
	var err error
	switch {
	case bytes.HasPrefix(body, gzipMagic):
		if body, err = gunzip(body, max); err != nil {
			return content{}, fmt.Errorf("gzip body: %w", err)
		}
	case bytes.HasPrefix(body, zipMagic):
		c, err := unzip(body, max)
		if err != nil {
			return content{}, fmt.Errorf("zip body: %w", err)
		}
		return c, nil
	case decompress.Sniff(body) == decompress.Zstd:
		if body, err = unzstd(body, max); err != nil {
			return content{}, fmt.Errorf("zstd body: %w", err)
		}
	}
	return content{data: body}, nil
}

// gunzip decompresses every member of a gzip stream, refusing more than
// max bytes of output.
func gunzip(b []byte, max int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return readLimited(zr, max, inflateHint(gzipSize(b), int64(len(b))))
}

// unzstd decompresses every frame of a zstd stream, refusing more than
// max bytes of output.
func unzstd(b []byte, max int64) ([]byte, error) {
	zr, err := decompress.NewReader(bytes.NewReader(b), decompress.Zstd)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	var stated int64
	var h zstd.Header
	if h.Decode(b) == nil && h.HasFCS {
		stated = int64(min(h.FrameContentSize, uint64(max)))
	}
	return readLimited(zr, max, inflateHint(stated, int64(len(b))))
}

// maxInflateHint bounds the size hint of compressed content to this many
// times its compressed size: the stated size is the sender's word, and a
// few bytes claiming gigabytes must not reserve max_bytes up front. Feeds
// compress 5–20 times; content that inflates further grows its buffer as
// it is read.
const maxInflateHint = 64

// inflateHint is the readLimited size hint for content said to inflate
// to stated bytes from compressed ones.
func inflateHint(stated, compressed int64) int64 {
	return min(stated, maxInflateHint*compressed)
}

// gzipSize is the uncompressed size a gzip stream's trailer states (ISIZE:
// modulo 2³², of the last member only): a hint for readLimited, 0 when b
// is too short to hold one.
func gzipSize(b []byte) int64 {
	if len(b) < 18 {
		return 0
	}
	t := b[len(b)-4:]
	return int64(uint32(t[0]) | uint32(t[1])<<8 | uint32(t[2])<<16 | uint32(t[3])<<24)
}

// maxZipFiles bounds the files of a zip archive read as feeds: each is
// parsed on its own, and an archive of thousands of tiny files is not a
// feed but a way to make a reload cost thousands of parses.
const maxZipFiles = 1000

// skipZip reports whether an archive entry is not a feed: a directory, a
// symlink or other non-regular file, or macOS metadata (the AppleDouble
// files under __MACOSX/ and .DS_Store, which Finder's "Compress" adds).
func skipZip(f *zip.File) bool {
	return !f.Mode().IsRegular() || strings.HasPrefix(f.Name, "__MACOSX/") || path.Base(f.Name) == ".DS_Store"
}

// docNames are the names of a project's documents, lower-cased, as
// isDocumentation compares the start of a file's name with them.
var docNames = map[string]bool{"readme": true, "license": true, "licence": true, "notice": true, "copying": true, "changelog": true}

// docExts are the extensions of documents, never those of a feed.
var docExts = map[string]bool{
	".md": true, ".markdown": true, ".rst": true, ".pdf": true, ".html": true, ".htm": true,
	".rtf": true, ".doc": true, ".docx": true, ".odt": true,
}

// isDocumentation reports whether an archive entry is documentation by
// its name, in any folder and any case: a name that starts with README,
// LICENSE (or LICENCE), NOTICE, COPYING or CHANGELOG followed by nothing,
// an extension or a suffix after '-' or '_' (README.txt, LICENSE-MIT,
// README_FIRST.txt; not readmes.txt), a document's extension (.md,
// .markdown, .rst, .pdf, .html, .htm, .rtf, .doc, .docx, .odt), or a
// software bill of materials (isSBOM). A feed publisher ships these
// beside the feeds; read as feeds, their lines are refused as junk, or, a
// bare domain or URL in them (the publisher's site), load as indicators,
// and an SBOM's JSON, neither STIX nor MISP, fails the archive. A
// notes.txt is a feed: a text file is told from a feed by its name only.
// A folder may end in '\' too, as Windows PowerShell's Compress-Archive
// writes it.
func isDocumentation(name string) bool {
	base := strings.ToLower(name[strings.LastIndexAny(name, `/\`)+1:])
	if ext := path.Ext(base); ext != base && docExts[ext] {
		return true
	}
	if isSBOM(base) {
		return true
	}
	stem := base
	if i := strings.IndexAny(base, ".-_"); i >= 0 {
		stem = base[:i]
	}
	return docNames[stem]
}

// sbomExts are the extensions of SBOM documents, before the extension of
// their syntax (sbomSyntaxes) if they have one: SPDX's .spdx
// (iocs.spdx, iocs.spdx.json), CycloneDX's .cdx (iocs.cdx.json), and
// .sbom (iocs.sbom, GoReleaser's iocs.zip.sbom.json).
var sbomExts = map[string]bool{".spdx": true, ".cdx": true, ".sbom": true}

// sbomSyntaxes are the extensions of the syntaxes an SBOM is written in.
var sbomSyntaxes = map[string]bool{".json": true, ".xml": true, ".yaml": true, ".yml": true, ".rdf": true}

// isSBOM reports whether base, a lower-cased file name without its
// folder, is a software bill of materials: an SBOM document's extension
// (sbomExts), after which up to two syntax extensions may follow
// (iocs.spdx.json, iocs.spdx.rdf.xml), or the names CycloneDX and SBOM
// tools give one, bom and sbom, with a syntax extension (bom.json,
// sbom.json). A publisher's release tool writes one beside the files it
// ships. Any other .json is not told by its name: a STIX bundle is a feed.
func isSBOM(base string) bool {
	name := base
	for range 2 {
		if ext := path.Ext(name); ext != name && sbomSyntaxes[ext] {
			name = strings.TrimSuffix(name, ext)
		}
	}
	if name != base && (name == "bom" || name == "sbom") {
		return true
	}
	ext := path.Ext(name)
	return ext != name && sbomExts[ext]
}

// sumExts are the extensions of checksum and signature files: a digest
// of one file (ips.txt.sha256, as sha256sum writes it), a detached
// signature (PGP's armoured .asc and .sig, GnuPG's binary .gpg,
// minisign's .minisig, S/MIME's .p7s, Sigstore's .sigstore bundle), and
// the key or certificate a signature is checked with: PEM's .pem, a
// public key's .pub (cosign.pub, minisign.pub), a certificate's .crt,
// .cer and .der, a PKCS #7 chain's .p7b and .p7c.
var sumExts = map[string]bool{
	".md5": true, ".sha1": true, ".sha224": true, ".sha256": true, ".sha384": true, ".sha512": true,
	".md5sum": true, ".sha1sum": true, ".sha224sum": true, ".sha256sum": true, ".sha384sum": true, ".sha512sum": true,
	".asc": true, ".sig": true, ".gpg": true, ".minisig": true, ".p7s": true, ".sigstore": true,
	".pem": true, ".pub": true, ".crt": true, ".cer": true, ".der": true, ".p7b": true, ".p7c": true,
}

// sumSuffixes end the names of signature files whose last extension is
// that of other files too: a Sigstore bundle's .sigstore.json, an in-toto
// attestation's .intoto.jsonl (as the SLSA generator writes its
// provenance, multiple.intoto.jsonl) and .intoto.json. Any other .json
// or .jsonl is a feed.
var sumSuffixes = []string{".sigstore.json", ".intoto.jsonl", ".intoto.json"}

// sumWords are the names of checksum lists, lower-cased: GNU coreutils'
// SHA256SUMS and the like (md5sum, sha1sum, …, b2sum), Node.js's
// SHASUMS256.txt (and SHASUMS, SHASUMS512), and CHECKSUM(S).
// isChecksumOrSignature looks for them as words of a file's name, which
// release tools prefix with a project and version
// (iocs_1.4.2_checksums.txt).
var sumWords = map[string]bool{
	"checksum": true, "checksums": true,
	"md5sum": true, "sha1sum": true, "sha224sum": true, "sha256sum": true, "sha384sum": true, "sha512sum": true, "b2sum": true,
	"md5sums": true, "sha1sums": true, "sha224sums": true, "sha256sums": true, "sha384sums": true, "sha512sums": true, "b2sums": true,
	"shasums": true, "shasums256": true, "shasums512": true,
}

// isChecksumOrSignature reports whether an archive entry is a checksum
// or signature file by its name, in any folder and any case: a name with
// the extension of one (see sumExts: ips.txt.sha256, SHA256SUMS.asc,
// domains.csv.minisig, ips.txt.sig, SHA256SUMS.gpg, signing.pem,
// cosign.pub, signing.crt; and sumSuffixes: .sigstore.json,
// multiple.intoto.jsonl), or with a checksum list's name as one of its
// words, split at '.', '-' and '_' (SHA256SUMS, sha256sums.txt,
// iocs_1.4.2_checksums.txt, MD5SUMS, SHASUMS256.txt, Fedora's
// …-CHECKSUM). A publisher ships these beside the feeds to verify them;
// read as feeds, their lines (digests, PGP armour, base64) are refused one
// by one, and an attestation's JSON, neither STIX nor MISP, fails the
// archive. A list of file hashes named for its content (md5.txt,
// sha256.txt, hashes.csv) is a feed, and so is a feed's line that looks
// like a digest: only the name tells. A name that is also
// documentation's (README.md.asc) is documentation: isDocumentation is
// asked first.
func isChecksumOrSignature(name string) bool {
	base := strings.ToLower(name[strings.LastIndexAny(name, `/\`)+1:])
	if ext := path.Ext(base); ext != base && sumExts[ext] {
		return true
	}
	for _, suffix := range sumSuffixes {
		if strings.HasSuffix(base, suffix) {
			return true
		}
	}
	for _, w := range strings.FieldsFunc(base, func(r rune) bool { return r == '.' || r == '-' || r == '_' }) {
		if sumWords[w] {
			return true
		}
	}
	return false
}

// someNames lists names for a message: the first few, then how many more.
func someNames(names []string) string {
	const most = 4
	if len(names) <= most {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:most], ", ") + " and " + strconv.Itoa(len(names)-most) + " more"
}

// zipName is the name of an archive entry as errors and origins show it:
// quoted when it holds control characters or is not UTF-8, as the name
// comes from the archive and ends up in logs and on terminals.
func zipName(f *zip.File) string {
	if !utf8.ValidString(f.Name) || strings.IndexFunc(f.Name, unicode.IsControl) >= 0 {
		return strconv.Quote(f.Name)
	}
	return f.Name
}

// packed names the kind of a file that decodeBody would unpack (a zip
// archive, a gzip or zstd file), by its first bytes; "" for any other.
func packed(data []byte) string {
	if bytes.HasPrefix(data, zipMagic) {
		return "zip archive"
	}
	switch decompress.Sniff(data) {
	case decompress.Gzip:
		return "gzip file"
	case decompress.Zstd:
		return "zstd file"
	}
	return ""
}

// unzip returns the regular files of a zip archive (skipZip) but its
// documentation (isDocumentation, named in content.docs, not read) and
// its checksum and signature files (isChecksumOrSignature, named in
// content.sums, not read): the content of its one file, or the files in
// archive order, each a feed of its own. Their content together is at
// most max bytes; an archive without a file (or with only files left
// out), with more than maxZipFiles (those left out included), with two
// entries of one name (an
// unzip keeps the last, a feed would load both under one origin) or with
// a file that is itself packed (one level is unpacked: its bytes are not
// lines of a feed) is an error.
func unzip(b []byte, max int64) (content, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // names are only shown, never extracted
		return content{}, err
	}
	var files []*zip.File
	var docs, sums, left []string // left: docs and sums, in archive order
	names := map[string]bool{}
	var stated uint64 // the sizes the archive states, checked before anything is inflated
	for _, f := range zr.File {
		if skipZip(f) {
			continue
		}
		if len(files)+len(left) == maxZipFiles {
			return content{}, fmt.Errorf("more than %d files: not read as feeds", maxZipFiles)
		}
		switch {
		case isDocumentation(f.Name):
			docs = append(docs, zipName(f))
			left = append(left, zipName(f))
			continue
		case isChecksumOrSignature(f.Name):
			sums = append(sums, zipName(f))
			left = append(left, zipName(f))
			continue
		}
		if names[f.Name] {
			return content{}, fmt.Errorf("%s: two entries of that name in the archive", zipName(f))
		}
		names[f.Name] = true
		files = append(files, f)
		if f.UncompressedSize64 > uint64(max) {
			return content{}, fmt.Errorf("%s: %d bytes uncompressed: %w (%d)", zipName(f), f.UncompressedSize64, errTooLarge, max)
		}
		if stated += f.UncompressedSize64; stated > uint64(max) {
			return content{}, fmt.Errorf("%d files of %d bytes uncompressed together: %w (%d)", len(files), stated, errTooLarge, max)
		}
	}
	if len(files) == 0 {
		switch {
		case len(sums) == 0 && len(docs) > 0:
			return content{}, fmt.Errorf("archive holds no feed, only documentation: %s", someNames(docs))
		case len(docs) == 0 && len(sums) > 0:
			return content{}, fmt.Errorf("archive holds no feed, only checksum or signature files: %s", someNames(sums))
		case len(left) > 0:
			return content{}, fmt.Errorf("archive holds no feed, only documentation and checksum or signature files: %s", someNames(left))
		}
		return content{}, errors.New("archive holds no file")
	}
	var buf bytes.Buffer
	if hint := inflateHint(int64(stated), int64(len(b))); hint > 0 {
		buf.Grow(int(hint))
	}
	c := content{files: make([]archived, 0, len(files)), docs: docs, sums: sums}
	for _, f := range files {
		rc, err := f.Open()
		if err != nil {
			return content{}, fmt.Errorf("%s: %w", zipName(f), err)
		}
		// archive/zip refuses a file that inflates past the size it
		// states, and the sizes were checked: max is a guard only.
		at := buf.Len()
		err = readAppend(&buf, rc, max)
		rc.Close()
		if err != nil {
			return content{}, fmt.Errorf("%s: %w", zipName(f), err)
		}
		if kind := packed(buf.Bytes()[at:]); kind != "" {
			return content{}, fmt.Errorf("%s: a %s inside the archive is not unpacked: extract it, or zip its content", zipName(f), kind)
		}
		c.files = append(c.files, archived{name: zipName(f), size: buf.Len() - at})
	}
	c.data = buf.Bytes()
	if len(files) == 1 {
		c.files = nil // one feed, as a file of its own would be
	}
	return c, nil
}

// readLimited reads r to the end, failing with errTooLarge past max bytes.
// io.ErrUnexpectedEOF (a truncated stream) is reported as "truncated".
// size, when above 0, is the length r is expected to have (a file's size,
// a Content-Length): the buffer is sized for it up front (up to max), so
// that a large feed is not copied from buffer to doubled buffer as it is
// read, leaving the smaller ones behind as garbage.
func readLimited(r io.Reader, max, size int64) ([]byte, error) {
	var buf bytes.Buffer
	if size > 0 {
		buf.Grow(int(min(size, max)) + bytes.MinRead)
	}
	if err := readAppend(&buf, r, max); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// readAppend reads r to the end into buf, failing with errTooLarge when
// buf would hold more than max bytes, as readLimited does.
func readAppend(buf *bytes.Buffer, r io.Reader, max int64) error {
	_, err := buf.ReadFrom(io.LimitReader(r, max-int64(buf.Len())+1))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("truncated: %w", err)
		}
		return err
	}
	if int64(buf.Len()) > max {
		return fmt.Errorf("%w (%d bytes)", errTooLarge, max)
	}
	return nil
}
