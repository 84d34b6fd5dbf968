//! Path spelling: roots as the user typed them (Windows `X:\dataset_3` too),
//! written back with forward slashes.

use std::path::Path;

/// The root as the user gave it, with `\` turned into `/` and trailing
/// separators removed (`X:\dataset_3\` → `X:/dataset_3`). A bare drive or `/`
/// keeps its separator.
pub fn display_root(root: &str) -> String {
    let slashed = root.replace('\\', "/");
    let trimmed = slashed.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".to_string();
    }
    if trimmed.len() == 2 && trimmed.ends_with(':') {
        return format!("{trimmed}/");
    }
    trimmed.to_string()
}

/// The dataset name of a root: its last path component, whichever separator
/// the user typed (`X:\dataset_3` → `dataset_3`). Falls back to the whole
/// spelling for a root such as `/` or `X:\`.
pub fn dataset_name(root: &str) -> String {
    let shown = display_root(root);
    shown
        .rsplit('/')
        .find(|part| !part.is_empty() && !part.ends_with(':') && *part != "." && *part != "..")
        .map(str::to_string)
        .unwrap_or(shown)
}

/// Join a displayed root and a `/`-joined relative path.
pub fn display_join(display_root: &str, rel_path: &str) -> String {
    if rel_path.is_empty() {
        display_root.to_string()
    } else if display_root.ends_with('/') {
        format!("{display_root}{rel_path}")
    } else {
        format!("{display_root}/{rel_path}")
    }
}

/// A path relative to `root` as `/`-joined text. Non-UTF-8 bytes are replaced
/// with U+FFFD for display; the file itself is always opened by its real path.
pub fn rel_string(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The lowercase extension of a `/`-joined path, if any.
pub fn extension_lower(rel_path: &str) -> Option<String> {
    let name = rel_path.rsplit('/').next()?;
    let (stem, ext) = name.rsplit_once('.')?;
    if stem.is_empty() {
        return None;
    }
    Some(ext.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_roots_are_written_with_forward_slashes() {
        assert_eq!(display_root(r"X:\dataset_3"), "X:/dataset_3");
        assert_eq!(display_root(r"X:\dataset_3\"), "X:/dataset_3");
        assert_eq!(display_root(r"X:\"), "X:/");
        assert_eq!(display_root("/data/ff++/"), "/data/ff++");
        assert_eq!(
            display_join(&display_root(r"X:\dataset_3"), "indoor/a.mp4"),
            "X:/dataset_3/indoor/a.mp4"
        );
        assert_eq!(display_join("X:/", "a.mp4"), "X:/a.mp4");
        assert_eq!(display_join("X:/dataset_3", ""), "X:/dataset_3");
    }

    #[test]
    fn dataset_name_is_the_last_component() {
        assert_eq!(dataset_name(r"X:\dataset_3"), "dataset_3");
        assert_eq!(dataset_name(r"X:\DEEPFAKE_DATASETS\"), "DEEPFAKE_DATASETS");
        assert_eq!(dataset_name("/mnt/data/dataset2/"), "dataset2");
        assert_eq!(dataset_name(r"X:\"), "X:/");
    }

    #[test]
    fn extensions_are_case_insensitive() {
        assert_eq!(extension_lower("a/CLIP.MP4").as_deref(), Some("mp4"));
        assert_eq!(extension_lower("a/.hidden"), None);
        assert_eq!(extension_lower("a.b/noext"), None);
    }
}
