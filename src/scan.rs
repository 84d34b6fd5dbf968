//! Scan: walk each root (read-only), find video and metadata files.
//!
//! Symlinks are followed; a link that points back to one of its ancestors is
//! reported as a loop and not entered. Unreadable directories and dangling links
//! are reported, never fatal. Entries are visited in file-name order so a scan
//! of an unchanged tree always lists the same files in the same order.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use walkdir::WalkDir;

use crate::paths::{extension_lower, rel_string};
use crate::record::{Concern, ConcernKind};

/// File extensions (lowercase) taken as video files.
pub const VIDEO_EXTENSIONS: &[&str] = &[
    "mp4", "m4v", "mov", "avi", "mkv", "webm", "flv", "wmv", "mpg", "mpeg", "ts", "mts", "m2ts",
    "3gp",
];

/// File extensions (lowercase) taken as candidate metadata files.
pub const METADATA_EXTENSIONS: &[&str] = &["json", "csv", "txt"];

/// One video file found under a root.
#[derive(Debug, Clone)]
pub struct FoundFile {
    /// Path relative to the root, `/`-joined.
    pub rel_path: String,
    /// Path on disk, as reached from the root (symlinks not resolved).
    pub fs_path: PathBuf,
    /// Size in bytes (of the link target for symlinks).
    pub size_bytes: u64,
    /// Modification time in nanoseconds since the Unix epoch (0 if unknown).
    pub mtime_ns: i64,
    /// Whether the entry is a regular file (after following links).
    pub is_regular: bool,
}

/// What a scan of one root found.
#[derive(Debug, Clone, Default)]
pub struct RootScan {
    /// Video files, in walk order (file-name order within each directory).
    pub videos: Vec<FoundFile>,
    /// Metadata files (json, csv, txt), relative to the root, `/`-joined.
    pub metadata: Vec<String>,
    /// Number of other files seen (neither video nor metadata).
    pub other_files: u64,
    /// Loops, unreadable directories, dangling links.
    pub concerns: Vec<Concern>,
}

/// Walk `root` (read-only). `dataset` and `display_root` only label the
/// concerns. `on_file` is called once per file seen, for progress display.
pub fn scan_root(
    root: &Path,
    dataset: &str,
    display_root: &str,
    mut on_file: impl FnMut(),
) -> RootScan {
    let mut out = RootScan::default();
    let walker = WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter();
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                out.concerns
                    .push(walk_concern(&err, root, dataset, display_root));
                continue;
            }
        };
        if entry.file_type().is_dir() {
            continue;
        }
        on_file();
        let rel = rel_string(root, entry.path());
        let ext = extension_lower(&rel);
        match ext.as_deref() {
            Some(e) if VIDEO_EXTENSIONS.contains(&e) => {
                let meta = entry.metadata().ok();
                let mtime_ns = meta
                    .as_ref()
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map(|d| d.as_nanos() as i64)
                    .unwrap_or(0);
                out.videos.push(FoundFile {
                    rel_path: rel,
                    fs_path: entry.path().to_path_buf(),
                    size_bytes: meta.as_ref().map(|m| m.len()).unwrap_or(0),
                    mtime_ns,
                    is_regular: entry.file_type().is_file(),
                });
            }
            Some(e) if METADATA_EXTENSIONS.contains(&e) && entry.file_type().is_file() => {
                out.metadata.push(rel)
            }
            _ => out.other_files += 1,
        }
    }
    out
}

fn walk_concern(err: &walkdir::Error, root: &Path, dataset: &str, display_root: &str) -> Concern {
    let path = err
        .path()
        .map(|p| crate::paths::display_join(display_root, &rel_string(root, p)))
        .unwrap_or_else(|| display_root.to_string());
    let (kind, reason) = if let Some(ancestor) = err.loop_ancestor() {
        (
            ConcernKind::SymlinkLoop,
            format!(
                "symlink loop: points back to its ancestor {}; not followed",
                crate::paths::display_join(display_root, &rel_string(root, ancestor))
            ),
        )
    } else if let Some(io) = err.io_error() {
        match io.kind() {
            std::io::ErrorKind::NotFound => (
                ConcernKind::BrokenSymlink,
                "dangling symlink: its target does not exist".to_string(),
            ),
            std::io::ErrorKind::PermissionDenied => (
                ConcernKind::UnreadableDirectory,
                "permission denied: directory could not be listed".to_string(),
            ),
            _ => (
                ConcernKind::UnreadableDirectory,
                format!("could not be read: {io}"),
            ),
        }
    } else {
        (ConcernKind::UnreadableDirectory, err.to_string())
    };
    Concern {
        dataset: dataset.to_string(),
        path,
        kind,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn finds_videos_any_case_and_reports_loops() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("a b/ü")).unwrap();
        fs::write(root.join("a b/ü/clip é.MP4"), b"x").unwrap();
        fs::write(root.join("a b/meta.json"), b"{}").unwrap();
        fs::write(root.join("notes.md"), b"x").unwrap();
        std::os::unix::fs::symlink("..", root.join("a b/loop")).unwrap();
        std::os::unix::fs::symlink("missing.mp4", root.join("dangling.mp4")).unwrap();
        let scan = scan_root(root, "ds", "X:/ds", || {});
        let rels: Vec<_> = scan.videos.iter().map(|v| v.rel_path.as_str()).collect();
        assert_eq!(rels, vec!["a b/ü/clip é.MP4"]);
        assert_eq!(scan.videos[0].size_bytes, 1);
        assert_eq!(scan.metadata, vec!["a b/meta.json"]);
        assert_eq!(scan.other_files, 1);
        let kinds: Vec<_> = scan.concerns.iter().map(|c| c.kind).collect();
        assert!(
            kinds.contains(&ConcernKind::SymlinkLoop),
            "{:?}",
            scan.concerns
        );
        assert!(
            kinds.contains(&ConcernKind::BrokenSymlink),
            "{:?}",
            scan.concerns
        );
        let looped = scan
            .concerns
            .iter()
            .find(|c| c.kind == ConcernKind::SymlinkLoop)
            .unwrap();
        assert_eq!(looped.path, "X:/ds/a b/loop");
    }
}
