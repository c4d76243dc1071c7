// Package feed keeps indicator feeds fresh while iocwatch runs: it reads
// local files, http(s) URLs and TAXII 2.1 collections, parses them with
// match.Load, and builds the next match.Index off the hot path whenever a
// feed changes, handing it over through a callback so that the caller
// swaps one atomic pointer. Package match stays pure; the I/O lives here.
//
// A Manager is built with New from one Spec per feed (and the allow-list),
// loaded once with Load — enough for one-shot commands such as `check` and
// `lookup` — and kept fresh by Run, with Reload for SIGHUP and Confirm for
// an operator's go-ahead. Status reports every feed.
//
// # Sources
//
//   - file: the directory holding the file is watched (fsnotify), not the
//     file, so an editor's atomic rename, `mv` over the file and a
//     ConfigMap symlink swap are seen; a burst of events is read once it
//     has been quiet for Options.Debounce (200ms), and the files are also
//     re-checked every Options.FilePoll (a stat, and a read only when it
//     changed). A path through symlinks is followed: the directory of
//     every link on the way (for a link being swapped) and that of the
//     file it resolves to (for that file being changed) are watched, and
//     the path is resolved again before each read the watcher makes, so a
//     swapped link is followed to its new target. A watched directory
//     removed or renamed away and replaced (rsync, a deployment tool) is
//     watched again, and the feed read from it. Only events naming the
//     feed's file, one of its links, the file it resolves to or a watched
//     directory itself count; a
//     file that failed is not read again until its stat changes (or
//     Reload). A gzip, zstd or zip file is unpacked (see Archives).
//   - http: fetched every Spec.Interval with a conditional GET (ETag,
//     Last-Modified); a 304, or a body identical to the one in use, costs
//     no parse and no rebuild. Spec.Headers (an Auth-Key) are sent with
//     every request, Spec.Timeout bounds the whole download and
//     Spec.MaxBytes its size, compressed and uncompressed: a larger body
//     is an error, never truncated. gzip and zstd Content-Encoding, gzip and zstd files and
//     zip archives are unpacked. TLS verification is on
//     unless TLSOptions.InsecureSkipVerify; TLSOptions.CAFile trusts a
//     private CA. At most 10 redirects are followed, never from https to
//     http, and to another host without Spec.Headers and Authorization. A failed fetch is retried after Options.RetryMin,
//     doubling up to the interval.
//   - taxii: the collection's objects endpoint of a TAXII 2.1 API root,
//     asked with Accept "application/taxii+json;version=2.1", HTTP basic
//     or bearer authentication, and added_after set to the
//     X-TAXII-Date-Added-Last of the previous poll. Pages are followed
//     with `next` while the server gives one, else with added_after. A
//     poll returns only what was added, so the objects are accumulated per
//     collection, the latest version of each id kept: a revoked version
//     replaces the live one, and the indicator is gone. The accumulated
//     objects are read as one STIX 2.1 bundle.
//
// # Archives
//
// A zip archive, file or download, is unpacked, and every regular file in
// it is read as a feed of its own: in the feed's format, or, for "auto",
// the format its own name and first bytes say, with origins
// "<archive>!<file>:<line>". Their indicators together are the feed's;
// Status.Format lists the formats used ("csv,text"). A file that cannot
// be read fails the whole fetch, naming the file: a feed is never loaded
// short of one. Documentation, told by its name (README*, LICENSE*,
// NOTICE*, COPYING*, CHANGELOG*, and .md, .markdown, .rst, .pdf, .html,
// .htm, .rtf, .doc, .docx, .odt files, and SBOMs: *.spdx.json,
// *.cdx.json, *.sbom, …; see isDocumentation), is not read:
// Status.Skipped counts it ("zip documentation file") and a note names
// it. Nor are checksum and signature files read, told by their name
// (SHA256SUMS, SHASUMS256.txt or CHECKSUMS as a word of it, *.sha256,
// *.md5, *.asc, *.sig, *.gpg, *.minisig, the keys and certificates
// *.pem, *.pub, *.crt, …, and attestations, *.intoto.jsonl; see
// isChecksumOrSignature): they are counted apart ("zip checksum or
// signature file"), named in a note of their own, and not checked. A cached copy written before a
// file was told apart is read as the archive is now. Directories,
// symlinks and macOS metadata (__MACOSX/, .DS_Store) are skipped; an
// archive with no other entry (or only files left out), or more than 1000
// files, is an error. Spec.MaxBytes bounds
// the archive and its files' content together. An archive of one file
// (besides those left out) is read as the feed itself: its origins and
// format detection go by the feed's path or URL.
// One level is unpacked: a zip archive, gzip or zstd file in the archive
// fails the fetch, naming it, rather than be read as lines of binary; so
// do two entries of one name (an unzip keeps the last: which is the feed
// is not known).
//
// # Reload semantics
//
// A fetch that gives new content replaces the feed's indicators: a
// deleted line stops matching at the next build (unlike Zeek's intel
// reader, which never removes a deleted line, or Logstash's translate
// filter, which keeps deleted keys by default). The next indexes are built
// with match.Build beside the current ones and handed to Options.OnUpdate;
// the caller stores them in its atomic.Pointer, so events in flight finish
// on the old index and the pipeline never pauses. Builds are serialised
// and coalesced: feeds that change together give one build. An allow-list
// change rebuilds only the allow-list index, and the reverse.
//
// A feed that fails — an HTTP error, a timeout, a truncated or corrupt
// body, a body over MaxBytes, content the loader cannot read, or content
// in which every entry is refused (an HTML login page) — keeps its last
// good indicators and reports the error in Status. A transient error
// never empties the index.
//
// Update.Added lists the indicators whose value (kind and canonical
// value) no feed had in the previous build, for a retro-hunt over recent
// history; a value another feed already had is not added. The first build
// adds everything. The list is built when Added is called (AddedCount
// counts it without building it): until then the indicators stay in the
// feeds' match.Lists, without a pointer each for the collector to trace.
//
// The manager keeps each feed's indicators in match.Lists and gives them
// to match.BuildLists, which keeps them without copying: a reload of one
// feed makes a new list for that feed only, and indexes share the rest.
//
// # Pacing
//
// A reload shares the machine with the pipeline it feeds. After the first
// Load, its CPU-heavy work — parsing a changed feed (match.Load), hashing
// and sorting the feed's values, and working out what was added and
// removed — runs in slices of 5 ms of wall time, each followed by a sleep,
// so that it uses at most Options.ReloadCPU of one core: at 0.5 it works
// 5 ms and sleeps 5 ms. The default, 1, does not pace. Only one parse or
// rebuild runs at a time. match.Build is paced through
// BuildOptions.Yield; STIX and MISP content is read whole by match.Load
// before it is parsed, so only its reading is paced. A reload therefore takes
// about 1/ReloadCPU times as long. A context that ends during a pause
// stops the work: the feed keeps its indicators in use (the error is in
// Status), and a stopped rebuild is redone by the next one.
// Update.Paced says how long the work slept.
//
// # Shrink guard
//
// New content with fewer than (1 − Options.ShrinkGuard) times the
// indicators in use (by default: less than half) is held back as
// suspicious: the feed keeps its indicators and Status.Held says so. It is
// accepted when the next fetch gives the same or a similar count (within
// 10%) — for http the next interval, whose 304 to the held copy's ETag
// counts; for a file the next change of the file or a Reload — or by
// Manager.Confirm. Content back to the size in use drops the held copy. A
// stat that shows an unchanged file does not confirm. The guard does not
// apply to a feed's first content (an http feed's cached copy counts as
// content: a first download at Load that shrank from it is held back, the
// feed starting from the copy), nor to TAXII collections (they only
// shrink by revocation and expiry, which are the point).
//
// # Cache
//
// With Options.CacheDir, the last good copy of every http feed (the bytes
// and its ETag and Last-Modified) and the accumulated objects of every
// TAXII collection (with the cursor) are kept on disk, written atomically
// (a temporary file, synced, renamed). At Load the cached validators are
// sent, so a 304 confirms the copy; when the server cannot be reached the
// cached copy is used (Status.FromCache) and the feed starts with
// indicators. A TAXII feed asks only for what was added after the cached
// cursor. A cache file that is cut short or does not match its SHA-256 is
// ignored.
//
// With Options.CacheReadOnly the cache is read as above but never
// written: no cache or retained file is written, renamed, touched or
// removed, and no temporary file is made in CacheDir. A one-shot load
// beside the service that owns the directory (`check`, `lookup`) thus
// starts from the service's state and leaves it as it was: the values a
// TTL feed keeps, which a load under a stricter guard or a shorter TTL
// would drop from the retained file, and the cached copies, which a newer
// download would replace. Whatever it reports — a kept value its guard
// refuses — it reports again at the next such load.
//
// # TTL and expiry
//
// An indicator's own validity (valid_from, valid_until) is honoured at
// match time by match.Index.Match. Spec.TTL adds a per-feed expiry: every
// indicator of the feed expires TTL after the feed last listed it, unless
// the feed gives an earlier valid_until.
//
//   - "Listed" means a fetch whose content holds the value: new content,
//     a 304, an unchanged file found by a read or a stat. A value the
//     feed keeps listing never expires.
//   - A value the feed stops listing is not dropped at once: it is kept
//     (Status.Retained) until TTL after the feed last listed it. This is
//     for append-only and "recent additions" feeds, whose entries fall off
//     the list while still bad; without a TTL a dropped value goes at once.
//   - A value the new content names but its publisher withdrew (revoked,
//     deleted, to_ids=false, Allowed, expired: match.LoadResult.Withdrawn,
//     asked for with match.LoadOptions.Withdrawn) is not kept, and one
//     already kept is dropped, unless another entry of the content lists it.
//   - A TAXII indicator expires TTL after a poll last returned its object
//     (a collection never deletes); expired objects are pruned. A
//     revocation replaces its object in the accumulated collection, so no
//     value of it is kept.
//   - Expiry is a valid_until computed into each indicator, so it takes
//     effect at match time without a rebuild. Because indicators are
//     immutable once indexed, extending it costs a rebuild; fetches that
//     confirm unchanged content extend it only when more than half the TTL
//     went by, and a failing feed gets it set to exactly TTL after its
//     last listing.
//   - The last-seen time of retained values survives a restart in
//     CacheDir; listed values of a cached copy count as seen when the copy
//     was downloaded.
//   - A retained value is held to the rules a listed one goes through in
//     the run that keeps it, not those it was loaded under: one read back
//     after a restart that the feed's Spec.Load.Guard refuses now is
//     dropped and, unless it has expired anyway, reported in
//     Status.Refused; its expiry is at most TTL
//     (as configured now) after it was last listed; and it is dropped at
//     the next change of the feed once that expiry or its own valid_until
//     has passed, as match.Load skips an expired value. The allow-list
//     (Update.Allow) is a second index, applied to every hit at match
//     time: to retained and listed values alike.
//
// # Allow-list
//
// Options.Allow feeds and Options.AllowValues are values that must never
// alert. They are read, watched and reloaded like indicator feeds and
// built into a second index (Update.Allow, for stream.Rules.Allow), which
// matches with the same semantics as indicators.
//
// # Concurrency
//
// A Manager is safe for concurrent use. Each feed is fetched by one
// goroutine at a time; builds are serialised, and OnUpdate calls never
// overlap and come in build order. Options.Now is the clock of every
// timestamp and expiry, so tests can drive it. Run ends every goroutine it
// started before it returns.
package feed
