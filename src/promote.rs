//! `engine promote MANIFEST --into DIR`: append a clip manifest to the
//! append-only ledger of a training-data store.
//!
//! The store directory holds:
//!
//! * `ledger.jsonl` ([`LEDGER_FILE`]): every promoted clip, one
//!   [`ManifestEntry`] a line. Lines are only ever appended: never rewritten,
//!   truncated, reordered or deleted.
//! * `promotions.jsonl` ([`PROMOTIONS_FILE`]): one line per successful
//!   promotion (manifest path and sha256, counts, ledger size after).
//! * `.lock` ([`LOCK_FILE`]): held exclusively (flock) for the whole of a
//!   promotion, so concurrent promotes into one store run one after another.
//!
//! A promotion is all-or-nothing. The manifest is checked line by line
//! ([`ManifestEntry::validate`]); an entry whose sha256 is already in the
//! ledger with every field equal is skipped; an identical repeat within the
//! manifest counts once. Conflicts refuse the whole manifest: the same
//! sha256 with any other field different (a clip must never change split or
//! label: that would leak it across train/val/test), or the same `clip_id`
//! with another sha256.
//!
//! Durability: the new lines go to the ledger in one `write` followed by
//! `fsync` (and an `fsync` of the directory when the ledger is created). A
//! process killed in the middle of that write can leave a torn last line
//! without its newline. The next promote keeps it (append-only), terminates
//! it with a newline in the same write as its own entries, and reports it; a
//! torn line that is not a complete entry is then an invalid line, ignored
//! (and counted) by every later read, and the entries it held are appended
//! again because they are not present. A torn segment that happens to hold a
//! complete entry (the kill fell just before its newline) counts as present.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::manifest::{EntryError, FieldDiff, ManifestEntry};

/// File name of the ledger inside the store directory.
pub const LEDGER_FILE: &str = "ledger.jsonl";

/// File name of the promotions log inside the store directory.
pub const PROMOTIONS_FILE: &str = "promotions.jsonl";

/// File name of the lock file inside the store directory. It is never
/// removed: removing a lock file lets two processes lock different files.
pub const LOCK_FILE: &str = ".lock";

/// At most this many problems are listed in one message (and line numbers
/// kept in a summary); the rest are counted.
pub const MAX_LISTED: usize = 20;

/// Read buffer for the streaming scan of the ledger.
const LEDGER_READ_BUF: usize = 1 << 20;

/// UTF-8 byte-order mark, tolerated at the start of a manifest (Windows
/// editors write it).
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// What one successful [`promote`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromoteSummary {
    /// The manifest, as given.
    pub manifest: PathBuf,
    /// SHA-256 of the manifest file (lowercase hex).
    pub manifest_sha256: String,
    /// Entries appended to the ledger by this promotion.
    pub added: usize,
    /// Entries skipped because the ledger already holds an identical entry
    /// with their sha256.
    pub skipped_present: usize,
    /// Manifest lines that repeat an earlier line of the same manifest
    /// exactly (each distinct entry is counted once, in `added` or
    /// `skipped_present`).
    pub duplicates_in_manifest: usize,
    /// The ledger, `DIR/ledger.jsonl`.
    pub ledger: PathBuf,
    /// Valid entry lines in the ledger after the promotion.
    pub ledger_entries: usize,
    /// Size of the ledger in bytes after the promotion.
    pub ledger_bytes: u64,
    /// A torn last line (no newline: a promote killed mid-write) that this
    /// promotion found and terminated with a newline; `None` if the ledger
    /// ended cleanly.
    pub torn_line_terminated: Option<TornLine>,
    /// Ledger lines ignored because they are not valid entries: torn lines
    /// terminated by this or an earlier promote, or damage. They stay in the
    /// ledger (it is append-only).
    pub invalid_lines_ignored: usize,
    /// Line numbers of the first [`MAX_LISTED`] ignored ledger lines.
    pub invalid_line_numbers: Vec<usize>,
    /// Why the promotions log could not be written, if it could not. The
    /// ledger, the source of truth, is complete and synced all the same.
    pub log_error: Option<String>,
}

/// A torn last ledger line found and terminated by a promotion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TornLine {
    /// Its 1-based line number in the ledger.
    pub line: usize,
    /// Whether it held a complete, valid entry (the write was cut just before
    /// its newline): it then counts as present rather than ignored.
    pub was_entry: bool,
}

/// Why a promotion was refused or failed. Nothing of the manifest has been
/// appended when any of these is returned.
#[derive(Debug, Error)]
pub enum PromoteError {
    /// A file or directory could not be read, created, locked or written.
    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        /// What was being done (`read manifest`, `lock`, …).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Lines of the manifest are not valid entries.
    #[error("{}", malformed_message(.manifest, .errors))]
    Malformed {
        /// The manifest.
        manifest: PathBuf,
        /// Every invalid line: 1-based line number and what is wrong.
        errors: Vec<(usize, EntryError)>,
    },
    /// Entries of the manifest conflict with the ledger or with each other;
    /// the whole manifest is refused.
    #[error("{}", conflicts_message(.manifest, .ledger, .conflicts))]
    Conflicts {
        /// The manifest.
        manifest: PathBuf,
        /// The ledger.
        ledger: PathBuf,
        /// Every conflicting manifest line, in line order.
        conflicts: Vec<Conflict>,
    },
    /// The ledger itself holds two entries that contradict each other where
    /// this manifest needs them (only a hand edit can cause this); nothing is
    /// appended until a person resolves it.
    #[error(
        "{} line {line}: contradicts line {earlier_line} of the same ledger ({message}); refusing to promote into an inconsistent ledger",
        .ledger.display()
    )]
    LedgerInconsistent {
        /// The ledger.
        ledger: PathBuf,
        /// The later of the two lines.
        line: usize,
        /// The earlier of the two lines.
        earlier_line: usize,
        /// How they contradict each other.
        message: String,
    },
}

/// One refused manifest line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// 1-based line number in the manifest.
    pub line: usize,
    /// The entry's clip id.
    pub clip_id: String,
    /// The entry's sha256.
    pub sha256: String,
    /// What it conflicts with.
    pub kind: ConflictKind,
}

/// Where the entry a conflicting line clashes with is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// At this 1-based line of the ledger.
    Ledger(usize),
    /// At this earlier 1-based line of the same manifest.
    Manifest(usize),
}

/// The kinds of conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConflictKind {
    /// The sha256 is already recorded with other field values.
    ShaRedefined {
        /// Where it is recorded.
        at: Recorded,
        /// The fields that differ, recorded value first.
        fields: Vec<FieldDiff>,
    },
    /// The clip id is already recorded with another sha256.
    ClipIdRehashed {
        /// Where it is recorded.
        at: Recorded,
        /// The sha256 it is recorded with.
        recorded_sha256: String,
    },
}

impl fmt::Display for Recorded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recorded::Ledger(line) => write!(f, "in the ledger at line {line}"),
            Recorded::Manifest(line) => write!(f, "at line {line} of this manifest"),
        }
    }
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let here = match self.kind {
            ConflictKind::ShaRedefined {
                at: Recorded::Ledger(_),
                ..
            }
            | ConflictKind::ClipIdRehashed {
                at: Recorded::Ledger(_),
                ..
            } => "in the ledger",
            _ => "there",
        };
        match &self.kind {
            ConflictKind::ShaRedefined { at, fields } => {
                write!(
                    f,
                    "clip {}: sha256 {} is already recorded {at} with a different ",
                    self.clip_id, self.sha256
                )?;
                let names: Vec<&str> = fields.iter().map(|d| d.field).collect();
                write!(f, "{} (", names.join(", "))?;
                for (i, d) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{}: {} {here}, {} here", d.field, d.existing, d.new)?;
                }
                f.write_str(")")?;
                if names.contains(&"split") || names.contains(&"label") {
                    f.write_str(
                        "; a clip never changes split or label (that would leak it across train/val/test)",
                    )?;
                }
                Ok(())
            }
            ConflictKind::ClipIdRehashed {
                at,
                recorded_sha256,
            } => write!(
                f,
                "clip_id {} is already recorded {at} with sha256 {recorded_sha256}, here with sha256 {}; a clip id is never reused for other content",
                self.clip_id, self.sha256
            ),
        }
    }
}

impl PromoteSummary {
    /// Things the user should hear about on stderr: a torn line terminated,
    /// invalid ledger lines ignored, a promotions log that could not be
    /// written. Empty when all is clean.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let ledger = self.ledger.display();
        if let Some(torn) = self.torn_line_terminated {
            out.push(format!(
                "{ledger} line {}: terminated a torn last line left by an interrupted promote; it is kept (the ledger is append-only) and {}",
                torn.line,
                if torn.was_entry {
                    "counts as present: it held a complete entry"
                } else {
                    "ignored; the entries it held were appended again if this manifest has them"
                }
            ));
        }
        if self.invalid_lines_ignored > 0 {
            let mut lines: Vec<String> = self
                .invalid_line_numbers
                .iter()
                .map(usize::to_string)
                .collect();
            if self.invalid_lines_ignored > lines.len() {
                lines.push("…".into());
            }
            out.push(format!(
                "{ledger}: torn_lines_ignored={}: line(s) {} are not valid entries (torn by interrupted promotes, or damaged); kept, as the ledger is append-only, and ignored",
                self.invalid_lines_ignored,
                lines.join(", ")
            ));
        }
        if let Some(e) = &self.log_error {
            out.push(format!(
                "the ledger is complete, but the promotion was not logged: {e}"
            ));
        }
        out
    }
}

impl fmt::Display for PromoteSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "promoted {}: {} added, {} already present",
            self.manifest.display(),
            self.added,
            self.skipped_present
        )?;
        if self.duplicates_in_manifest > 0 {
            write!(
                f,
                ", {} duplicate lines counted once",
                self.duplicates_in_manifest
            )?;
        }
        write!(
            f,
            "; {} holds {} entries",
            self.ledger.display(),
            self.ledger_entries
        )
    }
}

/// Append the entries of `manifest` (JSONL of [`ManifestEntry`]) to the
/// ledger `into/ledger.jsonl`, creating `into` if missing.
///
/// All-or-nothing: a refused manifest ([`PromoteError::Malformed`],
/// [`PromoteError::Conflicts`], [`PromoteError::LedgerInconsistent`]) appends
/// nothing (one that is malformed or contradicts itself does not even create
/// `into`). Only an I/O error in the append itself (disk full, or a kill) can
/// leave part of the write, as a torn last line that the next promote
/// terminates and completes. Entries already present
/// identically are skipped, so promoting the same manifest twice leaves the
/// ledger byte-identical. Concurrent promotes into one `into` are serialised
/// by an exclusive lock on `into/.lock`; the appended lines are written with
/// one `write` and synced before this returns. See the module docs for the
/// conflict rules and torn-line recovery.
pub fn promote(manifest: &Path, into: &Path) -> Result<PromoteSummary, PromoteError> {
    let bytes = fs::read(manifest).map_err(|e| io_error("read manifest", manifest, e))?;
    let manifest_sha256 = sha256_hex(&bytes);
    let lines = parse_manifest(manifest, &bytes)?;
    let ledger = into.join(LEDGER_FILE);
    let (unique, duplicates_in_manifest) =
        dedup_manifest(lines).map_err(|conflicts| PromoteError::Conflicts {
            manifest: manifest.to_path_buf(),
            ledger: ledger.clone(),
            conflicts,
        })?;

    create_store_dir(into)?;
    let lock_path = into.join(LOCK_FILE);
    let lock = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|e| io_error("open lock file", &lock_path, e))?;
    lock.lock().map_err(|e| io_error("lock", &lock_path, e))?;

    let (file, created) = open_ledger(&ledger)?;
    if created {
        sync_dir(into).map_err(|e| io_error("sync directory", into, e))?;
    }
    let wanted_sha: HashSet<&str> = unique.iter().map(|(_, e)| e.sha256.as_str()).collect();
    let wanted_clip: HashSet<&str> = unique.iter().map(|(_, e)| e.clip_id.as_str()).collect();
    let scan = scan_ledger(&file, &ledger, &wanted_sha, &wanted_clip)?;

    let mut conflicts = Vec::new();
    let mut new = Vec::new();
    let mut skipped_present = 0;
    for (line, entry) in &unique {
        if let Some((ledger_line, recorded)) = scan.by_sha.get(&entry.sha256) {
            if recorded.same_clip(entry) {
                skipped_present += 1;
            } else {
                conflicts.push(Conflict {
                    line: *line,
                    clip_id: entry.clip_id.clone(),
                    sha256: entry.sha256.clone(),
                    kind: ConflictKind::ShaRedefined {
                        at: Recorded::Ledger(*ledger_line),
                        fields: recorded.differences(entry),
                    },
                });
            }
        } else if let Some((ledger_line, recorded_sha256)) = scan.by_clip.get(&entry.clip_id) {
            // The sha256 is not in the ledger, so it differs from the one
            // recorded for this clip id.
            conflicts.push(Conflict {
                line: *line,
                clip_id: entry.clip_id.clone(),
                sha256: entry.sha256.clone(),
                kind: ConflictKind::ClipIdRehashed {
                    at: Recorded::Ledger(*ledger_line),
                    recorded_sha256: recorded_sha256.clone(),
                },
            });
        } else {
            new.push(entry);
        }
    }
    if !conflicts.is_empty() {
        return Err(PromoteError::Conflicts {
            manifest: manifest.to_path_buf(),
            ledger,
            conflicts,
        });
    }

    // One write: the newline that terminates a torn last line, then the new
    // entries; then fsync.
    let mut buf = Vec::new();
    if scan.torn.is_some() {
        buf.push(b'\n');
    }
    for entry in &new {
        buf.extend_from_slice(entry.to_json_line().as_bytes());
    }
    if !buf.is_empty() {
        (&file)
            .write_all(&buf)
            .map_err(|e| io_error("append to", &ledger, e))?;
        file.sync_all().map_err(|e| io_error("sync", &ledger, e))?;
    }

    let mut summary = PromoteSummary {
        manifest: manifest.to_path_buf(),
        manifest_sha256,
        added: new.len(),
        skipped_present,
        duplicates_in_manifest,
        ledger_entries: scan.entries + new.len(),
        ledger_bytes: scan.bytes + buf.len() as u64,
        torn_line_terminated: scan.torn,
        invalid_lines_ignored: scan.invalid_lines,
        invalid_line_numbers: scan.invalid_line_numbers,
        log_error: None,
        ledger,
    };
    summary.log_error = log_promotion(into, &summary, unique.len()).err();
    drop(lock);
    Ok(summary)
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// A [`PromoteError::Io`] for `action` on `path`.
fn io_error(action: &'static str, path: &Path, source: io::Error) -> PromoteError {
    PromoteError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// The message of [`PromoteError::Malformed`]: one `FILE line N: why` per
/// invalid line (the first [`MAX_LISTED`]).
fn malformed_message(manifest: &Path, errors: &[(usize, EntryError)]) -> String {
    let mut msg = String::new();
    if errors.len() > 1 {
        msg.push_str(&format!(
            "{}: {} invalid lines; nothing was promoted\n",
            manifest.display(),
            errors.len()
        ));
    }
    for (i, (line, error)) in errors.iter().take(MAX_LISTED).enumerate() {
        if i > 0 {
            msg.push('\n');
        }
        msg.push_str(&format!("{} line {line}: {error}", manifest.display()));
    }
    if errors.len() > MAX_LISTED {
        msg.push_str(&format!("\n… and {} more", errors.len() - MAX_LISTED));
    }
    msg
}

/// The message of [`PromoteError::Conflicts`]: a headline, then one
/// `FILE line N: conflict` per refused line (the first [`MAX_LISTED`]).
fn conflicts_message(manifest: &Path, ledger: &Path, conflicts: &[Conflict]) -> String {
    let n = conflicts.len();
    let mut msg = format!(
        "refused {}: {n} conflicting {}; nothing was appended to {}",
        manifest.display(),
        if n == 1 { "entry" } else { "entries" },
        ledger.display()
    );
    for c in conflicts.iter().take(MAX_LISTED) {
        msg.push_str(&format!("\n{} line {}: {c}", manifest.display(), c.line));
    }
    if n > MAX_LISTED {
        msg.push_str(&format!("\n… and {} more", n - MAX_LISTED));
    }
    msg
}

/// Every entry of the manifest with its 1-based line number; blank lines are
/// skipped. Fails listing every invalid line.
fn parse_manifest(manifest: &Path, bytes: &[u8]) -> Result<Vec<NumberedEntry>, PromoteError> {
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match ManifestEntry::from_json_bytes(raw) {
            Ok(entry) => entries.push((i + 1, entry)),
            Err(e) => errors.push((i + 1, e)),
        }
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(PromoteError::Malformed {
            manifest: manifest.to_path_buf(),
            errors,
        })
    }
}

/// A manifest entry with its 1-based line number.
type NumberedEntry = (usize, ManifestEntry);

/// The distinct entries of the manifest (first occurrence, in line order) and
/// how many lines repeated an earlier one exactly; or every line that
/// contradicts an earlier one.
fn dedup_manifest(lines: Vec<NumberedEntry>) -> Result<(Vec<NumberedEntry>, usize), Vec<Conflict>> {
    let mut unique: Vec<NumberedEntry> = Vec::with_capacity(lines.len());
    let mut by_sha: HashMap<String, usize> = HashMap::new();
    let mut by_clip: HashMap<String, usize> = HashMap::new();
    let mut duplicates = 0;
    let mut conflicts = Vec::new();
    for (line, entry) in lines {
        if let Some(&i) = by_sha.get(&entry.sha256) {
            let (first_line, first) = &unique[i];
            if first.same_clip(&entry) {
                duplicates += 1;
            } else {
                conflicts.push(Conflict {
                    line,
                    clip_id: entry.clip_id.clone(),
                    sha256: entry.sha256.clone(),
                    kind: ConflictKind::ShaRedefined {
                        at: Recorded::Manifest(*first_line),
                        fields: first.differences(&entry),
                    },
                });
            }
            continue;
        }
        if let Some(&i) = by_clip.get(&entry.clip_id) {
            let (first_line, first) = &unique[i];
            conflicts.push(Conflict {
                line,
                clip_id: entry.clip_id.clone(),
                sha256: entry.sha256.clone(),
                kind: ConflictKind::ClipIdRehashed {
                    at: Recorded::Manifest(*first_line),
                    recorded_sha256: first.sha256.clone(),
                },
            });
            continue;
        }
        by_sha.insert(entry.sha256.clone(), unique.len());
        by_clip.insert(entry.clip_id.clone(), unique.len());
        unique.push((line, entry));
    }
    if conflicts.is_empty() {
        Ok((unique, duplicates))
    } else {
        Err(conflicts)
    }
}

/// Create the store directory (and missing parents), syncing each new
/// directory's parent so the new names survive a crash.
fn create_store_dir(into: &Path) -> Result<(), PromoteError> {
    if into.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut p = into;
    while !p.as_os_str().is_empty() && !p.exists() {
        missing.push(p);
        match p.parent() {
            Some(parent) => p = parent,
            None => break,
        }
    }
    fs::create_dir_all(into).map_err(|e| io_error("create directory", into, e))?;
    for dir in missing {
        let parent = match dir.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        sync_dir(parent).map_err(|e| io_error("sync directory", parent, e))?;
    }
    Ok(())
}

/// Open the ledger for reading and appending; `true` if it was created.
fn open_ledger(ledger: &Path) -> Result<(File, bool), PromoteError> {
    match OpenOptions::new().read(true).append(true).open(ledger) {
        Ok(file) => Ok((file, false)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .open(ledger)
            .map(|file| (file, true))
            .map_err(|e| io_error("create ledger", ledger, e)),
        Err(e) => Err(io_error("open ledger", ledger, e)),
    }
}

/// `fsync` a directory, making entries created in it durable (Unix; other
/// systems journal directory metadata themselves).
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// What a streaming read of the ledger found.
struct LedgerScan {
    /// Valid entry lines (all of them, not only the indexed ones).
    entries: usize,
    /// Indexed entries by sha256: ledger line, entry. Only entries whose
    /// sha256 or clip id the manifest has are kept.
    by_sha: HashMap<String, (usize, ManifestEntry)>,
    /// Indexed entries by clip id: ledger line, sha256.
    by_clip: HashMap<String, (usize, String)>,
    /// Lines that are not valid entries.
    invalid_lines: usize,
    /// The first [`MAX_LISTED`] of them.
    invalid_line_numbers: Vec<usize>,
    /// The last line, if it lacks its newline.
    torn: Option<TornLine>,
    /// Size of the ledger in bytes.
    bytes: u64,
}

/// Read the ledger line by line, indexing the entries that bear on the
/// manifest (their sha256 or clip id is wanted).
fn scan_ledger(
    file: &File,
    ledger: &Path,
    wanted_sha: &HashSet<&str>,
    wanted_clip: &HashSet<&str>,
) -> Result<LedgerScan, PromoteError> {
    let mut scan = LedgerScan {
        entries: 0,
        by_sha: HashMap::new(),
        by_clip: HashMap::new(),
        invalid_lines: 0,
        invalid_line_numbers: Vec::new(),
        torn: None,
        bytes: 0,
    };
    let mut reader = BufReader::with_capacity(LEDGER_READ_BUF, file);
    let mut buf = Vec::new();
    let mut line_no = 0;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| io_error("read ledger", ledger, e))?;
        if n == 0 {
            break;
        }
        scan.bytes += n as u64;
        line_no += 1;
        let terminated = buf.last() == Some(&b'\n');
        let content = if terminated {
            &buf[..buf.len() - 1]
        } else {
            &buf[..]
        };
        let parsed = if content.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            Some(ManifestEntry::from_json_bytes(content))
        };
        if !terminated {
            scan.torn = Some(TornLine {
                line: line_no,
                was_entry: matches!(parsed, Some(Ok(_))),
            });
        }
        let entry = match parsed {
            None => continue,
            Some(Err(_)) => {
                scan.invalid_lines += 1;
                if scan.invalid_line_numbers.len() < MAX_LISTED {
                    scan.invalid_line_numbers.push(line_no);
                }
                continue;
            }
            Some(Ok(entry)) => entry,
        };
        scan.entries += 1;
        if !wanted_sha.contains(entry.sha256.as_str())
            && !wanted_clip.contains(entry.clip_id.as_str())
        {
            continue;
        }
        let inconsistent =
            |earlier_line: usize, message: String| PromoteError::LedgerInconsistent {
                ledger: ledger.to_path_buf(),
                line: line_no,
                earlier_line,
                message,
            };
        if let Some((earlier_line, earlier)) = scan.by_sha.get(&entry.sha256) {
            if !earlier.same_clip(&entry) {
                let fields: Vec<&str> = earlier
                    .differences(&entry)
                    .iter()
                    .map(|d| d.field)
                    .collect();
                return Err(inconsistent(
                    *earlier_line,
                    format!(
                        "sha256 {} recorded twice with different {}",
                        entry.sha256,
                        fields.join(", ")
                    ),
                ));
            }
        }
        if let Some((earlier_line, earlier_sha)) = scan.by_clip.get(&entry.clip_id) {
            if *earlier_sha != entry.sha256 {
                return Err(inconsistent(
                    *earlier_line,
                    format!(
                        "clip_id {} recorded with sha256 {earlier_sha} and {}",
                        entry.clip_id, entry.sha256
                    ),
                ));
            }
        }
        scan.by_clip
            .entry(entry.clip_id.clone())
            .or_insert_with(|| (line_no, entry.sha256.clone()));
        scan.by_sha
            .entry(entry.sha256.clone())
            .or_insert((line_no, entry));
    }
    Ok(scan)
}

/// One line of `promotions.jsonl`.
#[derive(Serialize)]
struct PromotionRecord<'a> {
    /// Seconds since the Unix epoch.
    unix_time_s: u64,
    /// Absolute path of the manifest.
    manifest: String,
    /// SHA-256 of the manifest file.
    manifest_sha256: &'a str,
    /// Distinct entries in the manifest.
    manifest_entries: usize,
    /// [`PromoteSummary::added`].
    added: usize,
    /// [`PromoteSummary::skipped_present`].
    skipped_present: usize,
    /// [`PromoteSummary::duplicates_in_manifest`].
    duplicates_in_manifest: usize,
    /// Valid entries in the ledger after the promotion.
    ledger_entries: usize,
    /// Ledger size in bytes after the promotion.
    ledger_bytes: u64,
    /// A torn last line terminated by this promotion.
    torn_line_terminated: Option<usize>,
    /// [`PromoteSummary::invalid_lines_ignored`].
    invalid_lines_ignored: usize,
}

/// Append one record to `into/promotions.jsonl` (terminating a torn last
/// line first, as for the ledger) and sync it.
fn log_promotion(
    into: &Path,
    summary: &PromoteSummary,
    manifest_entries: usize,
) -> Result<(), String> {
    let path = into.join(PROMOTIONS_FILE);
    let record = PromotionRecord {
        unix_time_s: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        manifest: std::path::absolute(&summary.manifest)
            .unwrap_or_else(|_| summary.manifest.clone())
            .to_string_lossy()
            .into_owned(),
        manifest_sha256: &summary.manifest_sha256,
        manifest_entries,
        added: summary.added,
        skipped_present: summary.skipped_present,
        duplicates_in_manifest: summary.duplicates_in_manifest,
        ledger_entries: summary.ledger_entries,
        ledger_bytes: summary.ledger_bytes,
        torn_line_terminated: summary.torn_line_terminated.map(|t| t.line),
        invalid_lines_ignored: summary.invalid_lines_ignored,
    };
    let fail = |e: io::Error| format!("{}: {e}", path.display());
    let existed = path.exists();
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(&path)
        .map_err(fail)?;
    let mut line = Vec::new();
    if file.metadata().map_err(fail)?.len() > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::End(-1)).map_err(fail)?;
        file.read_exact(&mut last).map_err(fail)?;
        if last[0] != b'\n' {
            line.push(b'\n');
        }
    }
    serde_json::to_writer(&mut line, &record).map_err(|e| format!("{}: {e}", path.display()))?;
    line.push(b'\n');
    file.write_all(&line).map_err(fail)?;
    file.sync_data().map_err(fail)?;
    if !existed {
        sync_dir(into).map_err(fail)?;
    }
    Ok(())
}
