//! Helpers shared by the label adapters: pieces of `/`-joined relative paths,
//! reading metadata files (read-only, with clear error messages), label words,
//! and finding the video file that a metadata entry names.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Read;
use std::path::Path;

use serde_json::Value;

use super::{Label, LabelOutcome};

/// Largest metadata file read, in bytes; a bigger one becomes a concern.
pub(super) const MAX_METADATA_BYTES: u64 = 1 << 30;

/// Longest string kept as an attribute value; longer ones are not categories.
pub(super) const MAX_ATTR_LEN: usize = 256;

/// Largest absolute integer kept as an attribute value.
pub(super) const MAX_ATTR_INT: i64 = 1_000_000;

/// Words (folder names or label values) that mean real footage.
pub(super) const REAL_WORDS: &[&str] = &[
    "real",
    "reals",
    "original",
    "originals",
    "pristine",
    "genuine",
    "authentic",
];

/// Words (folder names or label values) that mean manipulated footage.
pub(super) const FAKE_WORDS: &[&str] = &[
    "fake",
    "fakes",
    "manipulated",
    "deepfake",
    "deepfakes",
    "synthesis",
    "synthetic",
    "forged",
];

/// The last component of a relative path.
pub(super) fn file_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

/// The folder part of a relative path (`""` at the root).
pub(super) fn parent(rel: &str) -> &str {
    rel.rfind('/').map_or("", |i| &rel[..i])
}

/// A file name without its last extension (`a.b.mp4` → `a.b`).
pub(super) fn stem(name: &str) -> &str {
    match name.rfind('.') {
        Some(i) if i > 0 => &name[..i],
        _ => name,
    }
}

/// The last extension of a file name, without the dot (`""` when none).
pub(super) fn extension(name: &str) -> &str {
    match name.rfind('.') {
        Some(i) if i > 0 => &name[i + 1..],
        _ => "",
    }
}

/// The non-empty components of a relative path.
pub(super) fn components(rel: &str) -> Vec<&str> {
    rel.split('/').filter(|c| !c.is_empty()).collect()
}

/// A path as written in a metadata file, tidied: surrounding spaces, `.`
/// components and leading `/` removed, `..` applied where it can be.
pub(super) fn clean_entry(entry: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in entry.trim().split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    parts.join("/")
}

/// `dir` and `entry` joined with `/` (either may be empty).
pub(super) fn join(dir: &str, entry: &str) -> String {
    let entry = clean_entry(entry);
    match (dir.is_empty(), entry.is_empty()) {
        (true, _) => entry,
        (false, true) => dir.to_string(),
        (false, false) => format!("{dir}/{entry}"),
    }
}

/// Whether `rel` lies inside folder `dir` (every path lies inside `""`).
pub(super) fn is_under(dir: &str, rel: &str) -> bool {
    dir.is_empty()
        || (rel.len() > dir.len() && rel.starts_with(dir) && rel.as_bytes()[dir.len()] == b'/')
}

/// `rel` relative to folder `dir`, when it lies inside it.
pub(super) fn strip_dir<'a>(dir: &str, rel: &'a str) -> Option<&'a str> {
    if dir.is_empty() {
        Some(rel)
    } else if is_under(dir, rel) {
        Some(&rel[dir.len() + 1..])
    } else {
        None
    }
}

/// `label_source` for a label read from the metadata file `rel`.
pub(super) fn metadata_source(rel: &str) -> String {
    format!("metadata:{rel}")
}

/// `label_source` for a label given by the layout rule `name`.
pub(super) fn layout_source(name: &str) -> String {
    format!("layout:{name}")
}

/// Whether an adapter already used or complained about metadata file `rel`.
pub(super) fn is_claimed(out: &LabelOutcome, rel: &str) -> bool {
    out.used_metadata.iter().any(|m| m == rel) || out.concerns.iter().any(|c| c.rel_path == rel)
}

/// Record that format `layout` was recognised, with metadata file `rel` used.
pub(super) fn note_used(out: &mut LabelOutcome, layout: &str, rel: Option<&str>) {
    out.layouts.push(layout.to_string());
    if let Some(rel) = rel {
        out.used_metadata.push(rel.to_string());
    }
}

/// Read metadata file `rel` under `root` as UTF-8 text (a leading byte-order
/// mark is dropped). The error says what is wrong, ready for a concern.
pub(super) fn read_text(root: &Path, rel: &str) -> Result<String, String> {
    let file = fs::File::open(root.join(rel)).map_err(|e| format!("cannot be read: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_METADATA_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot be read: {e}"))?;
    if bytes.len() as u64 > MAX_METADATA_BYTES {
        return Err(format!("larger than {MAX_METADATA_BYTES} bytes, not read"));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        format!(
            "not valid UTF-8 (first bad byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// Parse JSON text; the error names line and column.
pub(super) fn parse_json(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| {
        let full = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let what = full.strip_suffix(&suffix).unwrap_or(&full);
        format!(
            "invalid JSON at line {} column {}: {what}",
            e.line(),
            e.column()
        )
    })
}

/// Read and parse the JSON metadata file `rel`.
pub(super) fn read_json(root: &Path, rel: &str) -> Result<Value, String> {
    parse_json(&read_text(root, rel)?)
}

/// CSV text as rows of trimmed fields, each with its 1-based line number.
/// Rows may differ in length; callers check the counts they need.
pub(super) fn csv_rows(text: &str) -> Result<Vec<(u64, Vec<String>)>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("invalid CSV: {e}"))?;
        let line = record.position().map_or(0, |p| p.line());
        let fields: Vec<String> = record.iter().map(|f| f.trim().to_string()).collect();
        if fields.iter().all(|f| f.is_empty()) {
            continue;
        }
        rows.push((line, fields));
    }
    Ok(rows)
}

/// The label a word means (`real`, `FAKE`, `pristine`, `0`, `1`, ...).
pub(super) fn label_from_word(word: &str) -> Option<Label> {
    let word = word.trim();
    if word == "0" {
        return Some(Label::Real);
    }
    if word == "1" {
        return Some(Label::Fake);
    }
    if REAL_WORDS.iter().any(|w| w.eq_ignore_ascii_case(word)) {
        Some(Label::Real)
    } else if FAKE_WORDS.iter().any(|w| w.eq_ignore_ascii_case(word)) {
        Some(Label::Fake)
    } else {
        None
    }
}

/// The label a JSON value means: a label word, or the integer 0 (real) or 1 (fake).
pub(super) fn label_from_value(value: &Value) -> Option<Label> {
    match value {
        Value::String(s) => label_from_word(s),
        Value::Number(n) => match n.as_u64() {
            Some(0) => Some(Label::Real),
            Some(1) => Some(Label::Fake),
            _ => None,
        },
        _ => None,
    }
}

/// A JSON value as a category attribute: a short string, a small integer or
/// a bool. Anything else is not a category.
pub(super) fn attr_from_value(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() && s.len() <= MAX_ATTR_LEN => {
            Some(s.trim().to_string())
        }
        Value::Number(n) => n
            .as_i64()
            .filter(|i| i.abs() <= MAX_ATTR_INT)
            .map(|i| i.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The canonical split name (`train`, `val`, `test`) for a split word.
pub(super) fn normalize_split(word: &str) -> Option<String> {
    let split = match word.trim().to_ascii_lowercase().as_str() {
        "train" | "training" => "train",
        "val" | "valid" | "validation" | "dev" => "val",
        "test" | "testing" => "test",
        _ => return None,
    };
    Some(split.to_string())
}

/// `male` or `female` for the usual spellings; otherwise the word lowercased.
pub(super) fn normalize_gender(word: &str) -> String {
    let lower = word.trim().to_ascii_lowercase();
    match lower.as_str() {
        "m" | "man" | "men" | "male" | "males" => "male".to_string(),
        "f" | "w" | "woman" | "women" | "female" | "females" => "female".to_string(),
        _ => lower,
    }
}

/// Whether each of `needles` appears, in order, among `hay` (case-insensitive).
fn is_subsequence_ci(needles: &[&str], hay: &[&str]) -> bool {
    let mut hay = hay.iter();
    needles
        .iter()
        .all(|n| hay.any(|h| h.eq_ignore_ascii_case(n)))
}

/// The video files of a root, indexed for the lookups metadata entries need.
pub(super) struct VideoIndex<'a> {
    /// Every path as given.
    exact: HashSet<&'a str>,
    /// Paths by their lowercased form.
    lower: HashMap<String, Vec<&'a str>>,
    /// Paths by lowercased file name.
    by_name: HashMap<String, Vec<&'a str>>,
    /// Paths by lowercased file stem.
    by_stem: HashMap<String, Vec<&'a str>>,
}

impl<'a> VideoIndex<'a> {
    /// Index `videos` (relative, `/`-joined paths).
    pub(super) fn new(videos: &'a [String]) -> Self {
        let mut index = VideoIndex {
            exact: HashSet::with_capacity(videos.len()),
            lower: HashMap::with_capacity(videos.len()),
            by_name: HashMap::with_capacity(videos.len()),
            by_stem: HashMap::with_capacity(videos.len()),
        };
        for video in videos {
            let name = file_name(video);
            index.exact.insert(video.as_str());
            index
                .lower
                .entry(video.to_lowercase())
                .or_default()
                .push(video);
            index
                .by_name
                .entry(name.to_lowercase())
                .or_default()
                .push(video);
            index
                .by_stem
                .entry(stem(name).to_lowercase())
                .or_default()
                .push(video);
        }
        index
    }

    /// Whether `rel` is one of the videos.
    pub(super) fn contains(&self, rel: &str) -> bool {
        self.exact.contains(rel)
    }

    /// Videos inside folder `dir` whose file name is `name` (case-insensitive).
    pub(super) fn named(&self, dir: &str, name: &str) -> Vec<&'a str> {
        Self::under(self.by_name.get(&name.to_lowercase()), dir)
    }

    /// Videos inside folder `dir` whose file stem is `stem` (case-insensitive).
    pub(super) fn stemmed(&self, dir: &str, stem: &str) -> Vec<&'a str> {
        Self::under(self.by_stem.get(&stem.to_lowercase()), dir)
    }

    /// The `paths` inside folder `dir`.
    fn under(paths: Option<&Vec<&'a str>>, dir: &str) -> Vec<&'a str> {
        paths
            .map(|v| v.iter().copied().filter(|p| is_under(dir, p)).collect())
            .unwrap_or_default()
    }

    /// The one video that metadata entry `entry` (a path relative to folder
    /// `dir`) names: the exact path, else the path ignoring case, else the
    /// only video in `dir`'s subtree that matches by [`Self::locate_all`].
    pub(super) fn locate(&self, dir: &str, entry: &str) -> Option<&'a str> {
        let all = self.locate_all(dir, entry);
        match all.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// Every video that metadata entry `entry` may name: the exact path (or
    /// the same path ignoring case) when it exists; else videos in `dir`'s
    /// subtree with the entry's file name (or, failing that, its stem) whose
    /// folders contain the entry's folders in order.
    pub(super) fn locate_all(&self, dir: &str, entry: &str) -> Vec<&'a str> {
        let entry = clean_entry(entry);
        if entry.is_empty() {
            return Vec::new();
        }
        let full = join(dir, &entry);
        if let Some(hit) = self.exact.get(full.as_str()) {
            return vec![*hit];
        }
        if let Some(hits) = self.lower.get(&full.to_lowercase()) {
            return hits.clone();
        }
        let name = file_name(&entry);
        let mut found = self.named(dir, name);
        if found.is_empty() {
            found = self.stemmed(dir, stem(name));
        }
        let wanted = components(parent(&entry));
        found.retain(|p| {
            let inner = strip_dir(dir, p).unwrap_or(p);
            is_subsequence_ci(&wanted, &components(parent(inner)))
        });
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_pieces() {
        assert_eq!(file_name("a/b/c.mp4"), "c.mp4");
        assert_eq!(file_name("c.mp4"), "c.mp4");
        assert_eq!(parent("a/b/c.mp4"), "a/b");
        assert_eq!(parent("c.mp4"), "");
        assert_eq!(stem("a.b.mp4"), "a.b");
        assert_eq!(stem(".hidden"), ".hidden");
        assert_eq!(extension("x.AVI"), "AVI");
        assert_eq!(extension("x"), "");
        assert_eq!(join("", "./a//b.mp4"), "a/b.mp4");
        assert_eq!(join("d", "/x/../y.mp4"), "d/y.mp4");
        assert!(is_under("", "a"));
        assert!(is_under("a", "a/b"));
        assert!(!is_under("a", "ab/c"));
        assert_eq!(strip_dir("a", "a/b/c"), Some("b/c"));
    }

    #[test]
    fn label_words_and_values() {
        assert_eq!(label_from_word("REAL"), Some(Label::Real));
        assert_eq!(label_from_word("Pristine"), Some(Label::Real));
        assert_eq!(label_from_word("deepfake"), Some(Label::Fake));
        assert_eq!(label_from_word("1"), Some(Label::Fake));
        assert_eq!(label_from_word("maybe"), None);
        assert_eq!(label_from_value(&serde_json::json!(0)), Some(Label::Real));
        assert_eq!(label_from_value(&serde_json::json!(2)), None);
        assert_eq!(label_from_value(&serde_json::json!(-1)), None);
        assert_eq!(label_from_value(&serde_json::json!(1e300)), None);
        assert_eq!(attr_from_value(&serde_json::json!(12)), Some("12".into()));
        assert_eq!(attr_from_value(&serde_json::json!(u64::MAX)), None);
        assert_eq!(attr_from_value(&serde_json::json!([1])), None);
    }

    #[test]
    fn json_errors_name_line_and_column() {
        let err = parse_json("{\n  \"a\": [1,\n").unwrap_err();
        assert!(
            err.starts_with("invalid JSON at line 3 column 0: EOF"),
            "{err}"
        );
    }

    #[test]
    fn non_utf8_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("m.json"), b"{\"a\xff\": 1}").unwrap();
        let err = read_text(dir.path(), "m.json").unwrap_err();
        assert_eq!(err, "not valid UTF-8 (first bad byte at offset 3)");
        let err = read_text(dir.path(), "missing.json").unwrap_err();
        assert!(err.starts_with("cannot be read"), "{err}");
    }

    #[test]
    fn locate_by_path_name_and_stem() {
        let videos: Vec<String> = [
            "ds/Celeb-real/videos/id0_0000.mp4",
            "ds/Celeb-synthesis/id0_id1_0000.mp4",
            "ds/a/x.mp4",
            "ds/b/x.mp4",
            "ds/c/Y.AVI",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let index = VideoIndex::new(&videos);
        assert_eq!(index.locate("ds", "a/x.mp4"), Some("ds/a/x.mp4"));
        assert_eq!(index.locate("ds", "x.mp4"), None);
        assert_eq!(index.locate_all("ds", "x.mp4").len(), 2);
        assert_eq!(
            index.locate("ds", "celeb-real/id0_0000.mp4"),
            Some("ds/Celeb-real/videos/id0_0000.mp4")
        );
        assert_eq!(index.locate("ds", "Y.mp4"), Some("ds/c/Y.AVI"));
        assert_eq!(index.locate("ds", "c/y"), Some("ds/c/Y.AVI"));
        assert_eq!(index.locate("other", "a/x.mp4"), None);
        assert_eq!(index.locate("ds", ""), None);
    }
}

/// Small dataset trees on disk for the adapters' tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::fs;

    use tempfile::TempDir;

    use super::super::{DatasetFiles, LabelInfo, LabelOutcome};

    /// Extensions the test trees treat as video files.
    const VIDEO_EXTENSIONS: &[&str] = &["mp4", "avi", "mov", "mkv", "webm"];

    /// An adapter entry point.
    pub(crate) type Adapter = fn(DatasetFiles<'_>, &mut LabelOutcome);

    /// A temporary root with its video and metadata lists.
    pub(crate) struct Tree {
        /// The temporary root folder.
        pub(crate) dir: TempDir,
        /// Video files, relative.
        pub(crate) videos: Vec<String>,
        /// Metadata files, relative.
        pub(crate) metadata: Vec<String>,
    }

    impl Tree {
        /// A tree of empty video files (by extension) and metadata files
        /// holding the given text.
        pub(crate) fn new(entries: &[(&str, &str)]) -> Tree {
            let mut tree = Tree {
                dir: tempfile::tempdir().expect("temp dir"),
                videos: Vec::new(),
                metadata: Vec::new(),
            };
            for (rel, text) in entries {
                tree.write(rel, text.as_bytes());
            }
            tree
        }

        /// Empty video files at `rels`.
        pub(crate) fn with_videos(rels: &[&str]) -> Tree {
            let entries: Vec<(&str, &str)> = rels.iter().map(|r| (*r, "")).collect();
            Tree::new(&entries)
        }

        /// Write one file and list it as a video or a metadata file.
        pub(crate) fn write(&mut self, rel: &str, bytes: &[u8]) {
            let path = self.dir.path().join(rel);
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(&path, bytes).expect("write");
            let ext = super::extension(rel).to_ascii_lowercase();
            let list = if VIDEO_EXTENSIONS.contains(&ext.as_str()) {
                &mut self.videos
            } else {
                &mut self.metadata
            };
            if !list.iter().any(|r| r == rel) {
                list.push(rel.to_string());
                list.sort();
            }
        }

        /// The tree as the scanner would hand it over.
        pub(crate) fn files(&self) -> DatasetFiles<'_> {
            DatasetFiles {
                root: self.dir.path(),
                videos: &self.videos,
                metadata: &self.metadata,
            }
        }

        /// Run one adapter on a fresh outcome.
        pub(crate) fn run(&self, adapter: Adapter) -> LabelOutcome {
            let mut out = LabelOutcome::default();
            adapter(self.files(), &mut out);
            out
        }
    }

    /// The label recorded for `rel`, panicking with the outcome when absent.
    pub(crate) fn info<'a>(out: &'a LabelOutcome, rel: &str) -> &'a LabelInfo {
        out.labels
            .get(rel)
            .unwrap_or_else(|| panic!("no label for {rel}: {:#?}", out.labels))
    }
}
