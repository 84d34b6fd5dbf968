//! DFDC: `metadata.json` in each training part (`{"<name>.mp4": {"label":
//! "REAL"|"FAKE", "split": ..., "original": ...}}`), the preview release's
//! `dataset.json` (`{"<path>": {"label": "real"|"fake", "set": ...}}`) and the
//! test release's `labels.csv` (`filename,label`, 0 real, 1 fake).
//!
//! Keys and file names are paths relative to the metadata file's folder (in
//! practice bare file names of that folder). A JSON file whose entries carry
//! no `real`/`fake` label is left for the generic sidecar adapter.
//!
//! Splits: DFDC publishes separate training, validation and test sets
//! (Dolhansky et al., "The DeepFake Detection Challenge (DFDC) Dataset",
//! arXiv:2006.07397, §3), and the preview its own train/test split
//! (Dolhansky et al., "The Deepfake Detection Challenge (DFDC) Preview
//! Dataset", arXiv:1910.08854, §2: the `set` of `dataset.json`). So an
//! entry's `split`/`set`, the test release's `labels.csv` (test) and, for an
//! entry that names none, a `test`/`validation` folder holding the DFDC
//! metadata file, are the official split.
//!
//! Methods: the preview's fakes come from two face-swap methods it calls A
//! and B (arXiv:1910.08854, §2), filed under `method_A/` and `method_B/`; a
//! fake there gets that folder's name as its method. The full DFDC names no
//! method per video.

use serde_json::{Map, Value};

use super::util::{self, VideoIndex};
use super::{DatasetFiles, Label, LabelInfo, LabelOutcome};

/// Format name recorded in `layouts`.
const LAYOUT: &str = "dfdc";
/// Per-part metadata of the training set.
const METADATA_NAME: &str = "metadata.json";
/// Metadata of the preview release.
const PREVIEW_NAME: &str = "dataset.json";
/// Labels of the test release.
const LABELS_CSV_NAME: &str = "labels.csv";
/// Header names accepted for the file-name column of `labels.csv`.
const FILE_COLUMNS: &[&str] = &["filename", "file", "path", "video", "name"];
/// Header name of the label column of `labels.csv`.
const LABEL_COLUMN: &str = "label";
/// Keys holding the split of an entry.
const SPLIT_KEYS: &[&str] = &["split", "set"];
/// Key holding the original of a fake.
const ORIGINAL_KEY: &str = "original";
/// A folder whose name contains this is a DFDC part (`dfdc_train_part_7`).
const PART_MARKER: &str = "part";
/// Attribute naming the part folder.
const PART_ATTR: &str = "part";
/// Labels as the training set's `metadata.json` writes them.
const TRAINING_LABELS: &[&str] = &["REAL", "FAKE"];
/// A metadata path containing this (any case) is taken to be DFDC's.
const DFDC_MARKER: &str = "dfdc";
/// Prefix of the preview's method folders (`method_A`, `method_B`).
const PREVIEW_METHOD_PREFIX: &str = "method_";
/// Split of the videos the test release's `labels.csv` lists.
const TEST_SPLIT: &str = "test";

/// Label videos from DFDC `metadata.json`, `dataset.json` and `labels.csv`.
pub(super) fn apply(files: DatasetFiles<'_>, out: &mut LabelOutcome) {
    let candidates: Vec<&String> = files
        .metadata
        .iter()
        .filter(|rel| {
            let name = util::file_name(rel);
            [METADATA_NAME, PREVIEW_NAME, LABELS_CSV_NAME]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name))
        })
        .collect();
    if candidates.is_empty() {
        return;
    }
    let index = VideoIndex::new(files.videos);
    for rel in candidates {
        if util::file_name(rel).eq_ignore_ascii_case(LABELS_CSV_NAME) {
            apply_csv(files, &index, rel, out);
        } else {
            apply_json(files, &index, rel, out);
        }
    }
}

/// Whether `entry` is an object whose `label` is `real` or `fake` in any case.
fn has_dfdc_label(entry: &Value) -> bool {
    entry
        .get(LABEL_COLUMN)
        .and_then(Value::as_str)
        .is_some_and(|l| l.eq_ignore_ascii_case("real") || l.eq_ignore_ascii_case("fake"))
}

/// Whether a JSON object with these entries is DFDC's: some entry has a
/// `real`/`fake` label, and the path names DFDC, or a label is written as the
/// training set writes it (`REAL`/`FAKE`), or (preview) an entry has a `set`.
fn is_dfdc(rel: &str, entries: &Map<String, Value>) -> bool {
    let labelled = || entries.values().filter(|e| has_dfdc_label(e));
    labelled().next().is_some()
        && (rel.to_ascii_lowercase().contains(DFDC_MARKER)
            || labelled().any(|e| {
                let label = e.get(LABEL_COLUMN).and_then(Value::as_str);
                label.is_some_and(|l| TRAINING_LABELS.contains(&l))
            })
            || (util::file_name(rel).eq_ignore_ascii_case(PREVIEW_NAME)
                && labelled().any(|e| e.get("set").is_some())))
}

/// One DFDC JSON file (`metadata.json` or `dataset.json`).
fn apply_json(files: DatasetFiles<'_>, index: &VideoIndex<'_>, rel: &str, out: &mut LabelOutcome) {
    let value = match util::read_json(files.root, rel) {
        Ok(value) => value,
        Err(reason) => return out.concern(rel, reason),
    };
    let Some(entries) = value.as_object().filter(|m| is_dfdc(rel, m)) else {
        return; // Not DFDC: perhaps a generic sidecar file.
    };
    let folder = util::parent(rel);
    let source = util::metadata_source(rel);
    let folder_split = folder_split(folder);
    let mut matched = 0usize;
    let mut bad: Vec<&str> = Vec::new();
    for (key, entry) in entries {
        let Some(entry) = entry.as_object().filter(|_| has_dfdc_label(entry)) else {
            bad.push(key);
            continue;
        };
        let Some(video) = index.locate(folder, key) else {
            continue;
        };
        matched += 1;
        let mut info = entry_info(index, folder, video, entry, &source);
        if info.official_split.is_none() {
            info.official_split.clone_from(&folder_split);
            info.split.clone_from(&folder_split);
        }
        out.merge(video, info);
    }
    if let Some(first) = bad.first() {
        out.concern(
            rel,
            format!(
                "{} of {} entries have no REAL/FAKE label (first: {first:?})",
                bad.len(),
                entries.len()
            ),
        );
    }
    if matched > 0 {
        util::note_used(out, LAYOUT, Some(rel));
    } else {
        out.concern(
            rel,
            format!(
                "none of its {} entries names a video file here",
                entries.len()
            ),
        );
    }
}

/// What one DFDC JSON entry says about `video`.
fn entry_info(
    index: &VideoIndex<'_>,
    folder: &str,
    video: &str,
    entry: &Map<String, Value>,
    source: &str,
) -> LabelInfo {
    let label = entry
        .get(LABEL_COLUMN)
        .and_then(Value::as_str)
        .and_then(util::label_from_word)
        .unwrap_or(Label::Unknown);
    let split = SPLIT_KEYS
        .iter()
        .filter_map(|k| entry.get(*k).and_then(Value::as_str))
        .find_map(util::normalize_split);
    let original = entry
        .get(ORIGINAL_KEY)
        .and_then(Value::as_str)
        .filter(|o| !o.trim().is_empty())
        .map(|o| {
            let sibling = util::join(util::parent(video), o);
            if index.contains(&sibling) {
                sibling
            } else {
                index.locate(folder, o).map_or(sibling, str::to_string)
            }
        });
    // Fakes of the preview: the method folder they are filed under.
    let method = (label == Label::Fake)
        .then(|| {
            let inner = util::strip_dir(folder, video).unwrap_or(video);
            util::components(util::parent(inner))
                .into_iter()
                .find(|c| {
                    c.len() > PREVIEW_METHOD_PREFIX.len()
                        && c.get(..PREVIEW_METHOD_PREFIX.len())
                            .is_some_and(|p| p.eq_ignore_ascii_case(PREVIEW_METHOD_PREFIX))
                })
                .map(str::to_string)
        })
        .flatten();
    let mut info = LabelInfo {
        label,
        label_source: source.to_string(),
        method,
        official_split: split.clone(),
        split,
        original,
        ..LabelInfo::default()
    };
    for (key, value) in entry {
        let known =
            key == LABEL_COLUMN || key == ORIGINAL_KEY || SPLIT_KEYS.contains(&key.as_str());
        if let Some(attr) = util::attr_from_value(value).filter(|_| !known) {
            info.attrs.insert(key.clone(), attr);
        }
    }
    let part = util::file_name(util::parent(video));
    if part.to_ascii_lowercase().contains(PART_MARKER) {
        info.attrs.insert(PART_ATTR.to_string(), part.to_string());
    }
    info
}

/// The split of the nearest folder at or above `folder` named like one
/// (`test`, `validation`, `train`, ...).
fn folder_split(folder: &str) -> Option<String> {
    util::components(folder)
        .into_iter()
        .rev()
        .find_map(util::normalize_split)
}

/// The official split of the videos a `labels.csv` lists. The file comes
/// with the DFDC test set (arXiv:2006.07397, §3; DeepfakeBench's
/// `preprocessing/rearrange.py` reads it as `DFDC/test/labels.csv`), so a
/// DFDC one (path naming DFDC) gives the split of its `test`/`validation`
/// folder, else `test`; any other one only when it lies in a `test` folder,
/// as the release unpacks. A home-grown `labels.csv` elsewhere gives none.
fn csv_split(rel: &str) -> Option<String> {
    let dfdc = rel.to_ascii_lowercase().contains(DFDC_MARKER);
    match folder_split(util::parent(rel)) {
        Some(split) if dfdc || split == TEST_SPLIT => Some(split),
        None if dfdc => Some(TEST_SPLIT.to_string()),
        _ => None,
    }
}

/// The test release's `labels.csv` (or any `labels.csv` with a file-name and
/// a `label` column).
fn apply_csv(files: DatasetFiles<'_>, index: &VideoIndex<'_>, rel: &str, out: &mut LabelOutcome) {
    let rows = match util::read_text(files.root, rel).and_then(|t| util::csv_rows(&t)) {
        Ok(rows) => rows,
        Err(reason) => return out.concern(rel, reason),
    };
    let Some(((_, header), rows)) = rows.split_first() else {
        return out.concern(rel, "empty file: expected a `filename,label` header");
    };
    let column = |names: &[&str]| {
        header
            .iter()
            .position(|h| names.iter().any(|n| n.eq_ignore_ascii_case(h)))
    };
    let (Some(file_col), Some(label_col)) = (column(FILE_COLUMNS), column(&[LABEL_COLUMN])) else {
        return out.concern(
            rel,
            format!("header {header:?} has no `filename` and `label` columns"),
        );
    };
    let folder = util::parent(rel);
    let source = util::metadata_source(rel);
    let split = csv_split(rel);
    let mut matched = 0usize;
    let mut problems: Vec<String> = Vec::new();
    for (line, fields) in rows {
        if fields.len() != header.len() {
            problems.push(format!(
                "line {line} has {} fields, expected {}",
                fields.len(),
                header.len()
            ));
            continue;
        }
        let Some(label) = util::label_from_word(&fields[label_col]) else {
            problems.push(format!("line {line} has label {:?}", fields[label_col]));
            continue;
        };
        let Some(video) = index.locate(folder, &fields[file_col]) else {
            continue;
        };
        matched += 1;
        let mut info = LabelInfo {
            label,
            label_source: source.clone(),
            split: split.clone(),
            official_split: split.clone(),
            ..LabelInfo::default()
        };
        for (i, value) in fields.iter().enumerate() {
            if i != file_col
                && i != label_col
                && !value.is_empty()
                && value.len() <= util::MAX_ATTR_LEN
            {
                info.attrs
                    .insert(header[i].to_ascii_lowercase(), value.clone());
            }
        }
        out.merge(video, info);
    }
    if let Some(first) = problems.first() {
        out.concern(
            rel,
            format!("{} malformed rows skipped; first: {first}", problems.len()),
        );
    }
    if matched > 0 {
        util::note_used(out, LAYOUT, Some(rel));
    } else if !rows.is_empty() {
        out.concern(
            rel,
            format!("none of its {} rows names a video file here", rows.len()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::{info, Tree};
    use super::*;

    const PART: &str = "dfdc/dfdc_train_part_0";

    fn part_tree(metadata: &str) -> Tree {
        let mut tree = Tree::with_videos(&[
            "dfdc/dfdc_train_part_0/aaa.mp4",
            "dfdc/dfdc_train_part_0/bbb.mp4",
            "dfdc/dfdc_train_part_0/ccc.mp4",
        ]);
        tree.write(&format!("{PART}/metadata.json"), metadata.as_bytes());
        tree
    }

    #[test]
    fn training_part_metadata() {
        let tree = part_tree(
            r#"{"aaa.mp4": {"label": "REAL", "split": "train", "original": null},
                "bbb.mp4": {"label": "FAKE", "split": "train", "original": "aaa.mp4"},
                "ccc.mp4": {"label": "FAKE", "split": "train", "original": "zzz.mp4"},
                "gone.mp4": {"label": "FAKE", "split": "train", "original": "aaa.mp4"}}"#,
        );
        let out = tree.run(apply);
        assert!(out.concerns.is_empty(), "{:?}", out.concerns);
        assert_eq!(out.layouts, vec!["dfdc"]);
        assert_eq!(out.used_metadata, vec![format!("{PART}/metadata.json")]);
        assert_eq!(out.labels.len(), 3);
        let real = info(&out, "dfdc/dfdc_train_part_0/aaa.mp4");
        assert_eq!(real.label, Label::Real);
        assert_eq!(real.label_source, format!("metadata:{PART}/metadata.json"));
        assert_eq!(real.split.as_deref(), Some("train"));
        assert_eq!(real.original, None);
        assert_eq!(
            real.attrs.get("part").map(String::as_str),
            Some("dfdc_train_part_0")
        );
        let fake = info(&out, "dfdc/dfdc_train_part_0/bbb.mp4");
        assert_eq!(fake.label, Label::Fake);
        assert_eq!(
            fake.original.as_deref(),
            Some("dfdc/dfdc_train_part_0/aaa.mp4")
        );
        // An original not downloaded is still the sibling path.
        let fake = info(&out, "dfdc/dfdc_train_part_0/ccc.mp4");
        assert_eq!(
            fake.original.as_deref(),
            Some("dfdc/dfdc_train_part_0/zzz.mp4")
        );
    }

    #[test]
    fn truncated_metadata_is_a_concern() {
        let tree = part_tree(r#"{"aaa.mp4": {"label": "REAL", "spl"#);
        let out = tree.run(apply);
        assert!(out.labels.is_empty());
        assert!(out.used_metadata.is_empty());
        assert_eq!(out.concerns.len(), 1);
        assert_eq!(out.concerns[0].rel_path, format!("{PART}/metadata.json"));
        assert!(
            out.concerns[0]
                .reason
                .starts_with("invalid JSON at line 1 column"),
            "{}",
            out.concerns[0].reason
        );
    }

    #[test]
    fn non_utf8_metadata_is_a_concern() {
        let mut tree = part_tree("{}");
        tree.write(
            &format!("{PART}/metadata.json"),
            b"{\"aaa.mp4\": {\"label\": \"RE\xc3\x28L\"}}",
        );
        let out = tree.run(apply);
        assert!(out.labels.is_empty());
        assert_eq!(out.concerns.len(), 1);
        assert!(out.concerns[0].reason.contains("not valid UTF-8"));
    }

    #[test]
    fn wrong_types_are_skipped_with_a_concern() {
        let tree = part_tree(
            r#"{"aaa.mp4": {"label": "REAL", "split": 7, "original": 99999999999999999999999},
                "bbb.mp4": {"label": 1},
                "ccc.mp4": "FAKE"}"#,
        );
        let out = tree.run(apply);
        assert_eq!(out.labels.len(), 1);
        let real = info(&out, "dfdc/dfdc_train_part_0/aaa.mp4");
        assert_eq!(real.label, Label::Real);
        assert_eq!(real.split, None);
        assert_eq!(real.original, None);
        assert_eq!(out.concerns.len(), 1);
        assert_eq!(
            out.concerns[0].reason,
            "2 of 3 entries have no REAL/FAKE label (first: \"bbb.mp4\")"
        );
    }

    #[test]
    fn unrelated_metadata_json_is_left_alone() {
        let tree = part_tree(r#"{"aaa.mp4": {"label": 1}, "fps": 30}"#);
        let out = tree.run(apply);
        assert!(out.labels.is_empty());
        assert!(out.concerns.is_empty());
        assert!(out.layouts.is_empty());
    }

    #[test]
    fn home_grown_metadata_json_is_left_to_the_sidecar_adapter() {
        let mut tree = Tree::with_videos(&["clips/a.mp4"]);
        tree.write(
            "clips/metadata.json",
            br#"{"a.mp4": {"label": "fake", "scene": "car"}}"#,
        );
        assert!(tree.run(apply).labels.is_empty());
        // Under a DFDC-named folder, or with DFDC's `FAKE`, it is DFDC's; other
        // scalar fields are kept as attributes.
        tree.write(
            "clips/metadata.json",
            br#"{"a.mp4": {"label": "FAKE", "scene": "car", "n": [1]}}"#,
        );
        let out = tree.run(apply);
        assert_eq!(info(&out, "clips/a.mp4").attrs["scene"], "car");
        assert_eq!(info(&out, "clips/a.mp4").attrs.len(), 1);
    }

    #[test]
    fn test_release_labels_csv() {
        let mut tree = Tree::with_videos(&["test/videos/x1.mp4", "test/videos/x2.mp4"]);
        tree.write(
            "test/labels.csv",
            b"filename,label\nx1.mp4,0\nx2.mp4,1\nx3.mp4,1\n",
        );
        let out = tree.run(apply);
        assert!(out.concerns.is_empty(), "{:?}", out.concerns);
        assert_eq!(info(&out, "test/videos/x1.mp4").label, Label::Real);
        let fake = info(&out, "test/videos/x2.mp4");
        assert_eq!(fake.label, Label::Fake);
        assert_eq!(fake.label_source, "metadata:test/labels.csv");
        assert_eq!(fake.split.as_deref(), Some("test"));
        assert_eq!(fake.official_split.as_deref(), Some("test"));
        assert_eq!(out.used_metadata, vec!["test/labels.csv"]);
    }

    #[test]
    fn labels_csv_split() {
        let s = |s: &str| Some(s.to_string());
        assert_eq!(csv_split("DFDC/test/labels.csv"), s("test"));
        assert_eq!(csv_split("dfdc_test/labels.csv"), s("test"));
        assert_eq!(csv_split("DFDC/validation/labels.csv"), s("val"));
        assert_eq!(csv_split("release/test/labels.csv"), s("test"));
        assert_eq!(csv_split("mine/labels.csv"), None);
        assert_eq!(csv_split("mine/train/labels.csv"), None);
    }

    #[test]
    fn labels_csv_with_bad_rows() {
        let mut tree = Tree::with_videos(&["x1.mp4", "x2.mp4", "x3.mp4"]);
        tree.write(
            "labels.csv",
            b"filename,label\nx1.mp4,0\nx2.mp4\nx3.mp4,maybe\n",
        );
        let out = tree.run(apply);
        assert_eq!(out.labels.len(), 1);
        assert_eq!(info(&out, "x1.mp4").label, Label::Real);
        assert_eq!(
            out.concerns[0].reason,
            "2 malformed rows skipped; first: line 3 has 1 fields, expected 2"
        );
    }

    #[test]
    fn labels_csv_without_columns_or_empty() {
        let mut tree = Tree::with_videos(&["x1.mp4"]);
        tree.write("a/labels.csv", b"");
        tree.write("b/labels.csv", b"id,score\n1,0.5\n");
        let out = tree.run(apply);
        assert!(out.labels.is_empty());
        assert_eq!(out.concerns.len(), 2);
        assert!(out.concerns[0].reason.starts_with("empty file"));
        assert!(out.concerns[1]
            .reason
            .contains("no `filename` and `label` columns"));
    }

    #[test]
    fn preview_dataset_json() {
        let mut tree = Tree::with_videos(&[
            "preview/method_A/1/a.mp4",
            "preview/original_videos/1/b.mp4",
        ]);
        tree.write(
            "preview/dataset.json",
            br#"{"method_A/1/a.mp4": {"label": "fake", "set": "test"},
                 "original_videos/1/b.mp4": {"label": "real", "set": "train"}}"#,
        );
        let out = tree.run(apply);
        assert!(out.concerns.is_empty(), "{:?}", out.concerns);
        let fake = info(&out, "preview/method_A/1/a.mp4");
        assert_eq!(fake.label, Label::Fake);
        assert_eq!(fake.method.as_deref(), Some("method_A"));
        assert_eq!(fake.split.as_deref(), Some("test"));
        assert_eq!(fake.official_split.as_deref(), Some("test"));
        assert!(fake.attrs.is_empty());
        assert_eq!(
            info(&out, "preview/original_videos/1/b.mp4").label,
            Label::Real
        );
    }
}
