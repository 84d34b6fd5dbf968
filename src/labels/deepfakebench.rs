//! DeepfakeBench dataset JSON:
//! `{<Dataset>: {<label name>: {train|val|test: {[<compression>:] {<video>:
//! {"label": ..., "frames": [...]}}}}}}`.
//!
//! Video names are file stems. When a stem names several videos (FF++ fakes
//! share names across methods and compressions) the one whose folders best
//! fit the entry's first frame path, compression and label name is taken;
//! a tie leaves the entry unused. Label names containing `real` are real,
//! the others fake with the label name as method. Invalid JSON is left to the
//! sidecar adapter, which reports it.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::util::{self, VideoIndex};
use super::{DatasetFiles, Label, LabelInfo, LabelOutcome};

/// Format name recorded in `layouts`.
const LAYOUT: &str = "deepfakebench";
/// Extension of the dataset JSON files.
const JSON_EXTENSION: &str = "json";
/// Keys that mark an object as one video's entry.
const ENTRY_KEYS: &[&str] = &["frames", "label"];
/// Key of an entry's frame list.
const FRAMES_KEY: &str = "frames";
/// Label names containing this (any case) are real.
const REAL_MARKER: &str = "real";
/// Folder names hinted by DeepfakeBench's FF++ label names.
const LABEL_FOLDER_HINTS: &[(&str, &str)] = &[
    ("FF-DF", "Deepfakes"),
    ("FF-F2F", "Face2Face"),
    ("FF-FS", "FaceSwap"),
    ("FF-NT", "NeuralTextures"),
    ("FF-FH", "FaceShifter"),
    ("FF-real", "youtube"),
    ("DFD_fake", "DeepFakeDetection"),
    ("DFD_real", "actors"),
];

/// One video entry of the JSON.
struct Entry<'v> {
    /// Top-level dataset name.
    dataset: &'v str,
    /// Label name (`FF-DF`, `CelebDFv2_real`, ...).
    label_name: &'v str,
    /// Canonical split.
    split: String,
    /// Compression level key, when the JSON has one.
    compression: Option<&'v str>,
    /// Video name (a file stem).
    name: &'v str,
    /// Path of the first frame, a hint to the video's folder.
    first_frame: Option<&'v str>,
}

/// Label videos from DeepfakeBench dataset JSON files.
pub(super) fn apply(files: DatasetFiles<'_>, out: &mut LabelOutcome) {
    let mut index = None;
    for rel in files.metadata {
        if !util::extension(rel).eq_ignore_ascii_case(JSON_EXTENSION) || util::is_claimed(out, rel)
        {
            continue;
        }
        let Ok(value) = util::read_json(files.root, rel) else {
            continue;
        };
        let entries = collect_entries(&value);
        if entries.is_empty() {
            continue;
        }
        let index = index.get_or_insert_with(|| VideoIndex::new(files.videos));
        apply_entries(index, rel, &entries, out);
    }
}

/// Label the videos `entries` (from file `rel`) name.
fn apply_entries(index: &VideoIndex<'_>, rel: &str, entries: &[Entry<'_>], out: &mut LabelOutcome) {
    let source = util::metadata_source(rel);
    let mut matched = 0usize;
    for entry in entries {
        let Some(video) = find_video(index, entry) else {
            continue;
        };
        matched += 1;
        let real = entry.label_name.to_ascii_lowercase().contains(REAL_MARKER);
        let mut info = LabelInfo {
            label: if real { Label::Real } else { Label::Fake },
            label_source: source.clone(),
            method: (!real).then(|| entry.label_name.to_string()),
            split: Some(entry.split.clone()),
            ..LabelInfo::default()
        };
        info.attrs
            .insert("dataset".to_string(), entry.dataset.to_string());
        if let Some(compression) = entry.compression {
            info.attrs
                .insert("compression".to_string(), compression.to_ascii_lowercase());
        }
        out.merge(video, info);
    }
    if matched > 0 {
        util::note_used(out, LAYOUT, Some(rel));
    }
}

/// Whether `value` is one video's entry.
fn is_entry(value: &Value) -> bool {
    value
        .as_object()
        .is_some_and(|m| ENTRY_KEYS.iter().any(|k| m.contains_key(*k)))
}

/// The objects inside `value`, when it is an object.
fn objects(value: &Value) -> impl Iterator<Item = (&String, &Map<String, Value>)> {
    value
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k, v.as_object()?)))
}

/// Every video entry of a DeepfakeBench JSON; empty when `value` has another
/// shape.
fn collect_entries(value: &Value) -> Vec<Entry<'_>> {
    let mut entries = Vec::new();
    for (dataset, labels) in objects(value) {
        for (label_name, splits) in labels.iter() {
            for (split_key, content) in objects(splits) {
                let Some(split) = util::normalize_split(split_key) else {
                    continue;
                };
                for (key, item) in content {
                    if is_entry(item) {
                        entries.push(entry(dataset, label_name, &split, None, key, item));
                    } else if let Some(inner) = item.as_object() {
                        for (name, item) in inner.iter().filter(|(_, v)| is_entry(v)) {
                            entries.push(entry(dataset, label_name, &split, Some(key), name, item));
                        }
                    }
                }
            }
        }
    }
    entries
}

/// One [`Entry`].
fn entry<'v>(
    dataset: &'v str,
    label_name: &'v str,
    split: &str,
    compression: Option<&'v str>,
    name: &'v str,
    item: &'v Value,
) -> Entry<'v> {
    let first_frame = item
        .get(FRAMES_KEY)
        .and_then(Value::as_array)
        .and_then(|frames| frames.first())
        .and_then(Value::as_str);
    Entry {
        dataset,
        label_name,
        split: split.to_string(),
        compression,
        name,
        first_frame,
    }
}

/// The video an entry names: the only video with that stem (or file name),
/// else the one whose folders share the most names with the entry's hints.
fn find_video<'a>(index: &VideoIndex<'a>, entry: &Entry<'_>) -> Option<&'a str> {
    let mut candidates = index.stemmed("", entry.name);
    if candidates.is_empty() {
        candidates = index.named("", entry.name);
    }
    if candidates.len() <= 1 {
        return candidates.first().copied();
    }
    let mut hints: HashSet<String> = HashSet::new();
    if let Some(frame) = entry.first_frame {
        hints.extend(
            util::components(frame)
                .iter()
                .map(|c| c.to_ascii_lowercase()),
        );
    }
    if let Some(compression) = entry.compression {
        hints.insert(compression.to_ascii_lowercase());
    }
    for (label, folder) in LABEL_FOLDER_HINTS {
        if label.eq_ignore_ascii_case(entry.label_name) {
            hints.insert(folder.to_ascii_lowercase());
        }
    }
    let score = |video: &str| {
        util::components(util::parent(video))
            .iter()
            .filter(|c| hints.contains(&c.to_ascii_lowercase()))
            .count()
    };
    let best = candidates.iter().map(|v| score(v)).max()?;
    let mut top = candidates.iter().filter(|v| score(v) == best);
    match (top.next(), top.next()) {
        (Some(video), None) if best > 0 => Some(video),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::{info, Tree};
    use super::*;

    const DF: &str = "FaceForensics++/manipulated_sequences/Deepfakes/c23/videos/071_054.mp4";
    const F2F: &str = "FaceForensics++/manipulated_sequences/Face2Face/c23/videos/071_054.mp4";
    const DF40: &str = "FaceForensics++/manipulated_sequences/Deepfakes/c40/videos/071_054.mp4";
    const REAL: &str = "FaceForensics++/original_sequences/youtube/c23/videos/071.mp4";
    const CDF: &str = "Celeb-DF-v2/Celeb-real/id0_0000.mp4";

    fn tree(json: &str) -> Tree {
        let mut tree = Tree::with_videos(&[DF, F2F, DF40, REAL, CDF]);
        tree.write("dataset_json/FaceForensics++.json", json.as_bytes());
        tree
    }

    #[test]
    fn labels_splits_and_disambiguation() {
        let json = r#"{"FaceForensics++": {
            "FF-DF": {"train": {"c23": {"071_054": {"label": "FF-DF",
                "frames": ["FaceForensics++/manipulated_sequences/Deepfakes/c23/frames/071_054/000.png"]}}}},
            "FF-F2F": {"test": {"c23": {"071_054": {"label": "FF-F2F", "frames": []}}}},
            "FF-real": {"val": {"c23": {"071": {"label": "FF-real", "frames": []}}}},
            "CelebDFv2_real": {"test": {"id0_0000": {"label": "CelebDFv2_real", "frames": []}}},
            "junk": 5, "FF-NT": {"train": [1, 2], "bogus": {}}
        }}"#;
        let out = tree(json).run(apply);
        assert!(out.concerns.is_empty());
        assert_eq!(out.layouts, vec!["deepfakebench"]);
        assert_eq!(out.used_metadata, vec!["dataset_json/FaceForensics++.json"]);
        let df = info(&out, DF);
        assert_eq!(df.label, Label::Fake);
        assert_eq!(df.method.as_deref(), Some("FF-DF"));
        assert_eq!(df.split.as_deref(), Some("train"));
        assert_eq!(df.attrs["compression"], "c23");
        assert_eq!(df.attrs["dataset"], "FaceForensics++");
        assert_eq!(
            df.label_source,
            "metadata:dataset_json/FaceForensics++.json"
        );
        let f2f = info(&out, F2F);
        assert_eq!(f2f.method.as_deref(), Some("FF-F2F"));
        assert_eq!(f2f.split.as_deref(), Some("test"));
        assert!(!out.labels.contains_key(DF40));
        let real = info(&out, REAL);
        assert_eq!(real.label, Label::Real);
        assert_eq!(real.method, None);
        assert_eq!(real.split.as_deref(), Some("val"));
        assert_eq!(info(&out, CDF).label, Label::Real);
    }

    #[test]
    fn ambiguous_names_are_left_out() {
        let json = r#"{"X": {"Fake": {"train": {"071_054": {"frames": []}}}}}"#;
        let out = tree(json).run(apply);
        assert!(out.labels.is_empty());
        assert!(out.used_metadata.is_empty());
    }

    #[test]
    fn other_json_is_ignored_silently() {
        for json in [
            r#"{"FaceForensics++": {"FF-DF": {"train": "#,
            r#"[{"file": "071.mp4", "label": "real"}]"#,
            r#"{"071.mp4": {"label": "real"}}"#,
            "null",
            "",
        ] {
            let out = tree(json).run(apply);
            assert!(out.labels.is_empty(), "{json}");
            assert!(out.concerns.is_empty(), "{json}");
            assert!(out.layouts.is_empty(), "{json}");
        }
    }
}
