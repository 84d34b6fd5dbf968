//! DeepfakeBench dataset JSON:
//! `{<Dataset>: {<label name>: {train|val|test: {[<compression>:] {<video>:
//! {"label": ..., "frames": [...]}}}}}}`, as written by DeepfakeBench's
//! `preprocessing/rearrange.py` (github.com/SCLBD/DeepfakeBench; Yan et al.,
//! NeurIPS 2023 Datasets and Benchmarks).
//!
//! Video names are file stems. When a stem names several videos (FF++ fakes
//! share names across methods and compressions) the one whose folders best
//! fit the entry's first frame path, compression and label name is taken;
//! a tie leaves the entry unused. FF++ masks are never an entry's video.
//! Label names containing `real` are real, the others fake; a fake's method
//! is the layout adapters' name for the class ([`CLASS_METHODS`]), the class
//! name kept in `method_source`. Invalid JSON is left to the sidecar adapter,
//! which reports it.
//!
//! Splits: the splits a video is filed under, over all the JSON files of the
//! root, are read together ([`combined_split`]). The JSON is derived from the
//! datasets' own lists, which run first in [`super::assign_labels`] and so
//! outrank it where they disagree.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value};

use super::util::{self, VideoIndex};
use super::{celebdf, deeperforensics};
use super::{DatasetFiles, Label, LabelInfo, LabelOutcome, VideoKind};

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
/// DeepfakeBench's fake class names and the method the layout adapters give
/// the same videos, so one method has one name whichever source labelled it;
/// `None`: a class that stands for every fake of a dataset and names no
/// method. Classes from `rearrange.py` (its `ff_dict` and per-dataset
/// classes) and `training/config/train_config.yaml` (`label_dict`).
pub(super) const CLASS_METHODS: &[(&str, Option<&str>)] = &[
    // FF++ method folders (`manipulated_sequences/<method>/`).
    ("FF-DF", Some("Deepfakes")),
    ("FF-F2F", Some("Face2Face")),
    ("FF-FS", Some("FaceSwap")),
    ("FF-NT", Some("NeuralTextures")),
    ("FF-FH", Some("FaceShifter")),
    ("FF-SH", Some("FaceShifter")),
    ("DFD_fake", Some("DeepFakeDetection")),
    // DFDC preview: `method_A/`, `method_B/` (see the dfdc adapter).
    ("DFDCP_FakeA", Some("method_A")),
    ("DFDCP_FakeB", Some("method_B")),
    // Celeb-DF `Celeb-synthesis/`, DeeperForensics DF-VAE.
    ("CelebDFv1_fake", Some(celebdf::METHOD)),
    ("CelebDFv2_fake", Some(celebdf::METHOD)),
    ("DF_fake", Some(deeperforensics::METHOD)),
    // Whole-dataset fake classes.
    ("DFDC_Fake", None),
    ("UADFV_Fake", None),
];
/// Folder names hinted by DeepfakeBench's real label names (a fake class
/// hints its method's folder, see [`CLASS_METHODS`]).
const REAL_FOLDER_HINTS: &[(&str, &str)] = &[("FF-real", "youtube"), ("DFD_real", "actors")];
/// Split bits: a video's splits as a set.
const TRAIN: u8 = 1;
/// See [`TRAIN`].
const VAL: u8 = 2;
/// See [`TRAIN`].
const TEST: u8 = 4;

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

/// What the JSON files say of one video: the first entry's labels, and every
/// split it is filed under.
struct Found {
    /// Labels from the first entry naming the video.
    info: LabelInfo,
    /// The split bits of all entries naming it.
    splits: u8,
}

/// The method for fake class `class` and the class name kept beside it:
/// a known class maps to its method ([`CLASS_METHODS`]); any other class is
/// its own method name.
fn class_method(class: &str) -> (Option<String>, Option<String>) {
    match CLASS_METHODS
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(class))
    {
        Some((_, method)) => (method.map(str::to_string), Some(class.to_string())),
        None => (Some(class.to_string()), None),
    }
}

/// The split of a video filed under the split bits `splits`, by how
/// `rearrange.py` files videos:
/// * one split: that split;
/// * all three: none. It files the videos of datasets without an official
///   split (UADFV, DeepFakeDetection, DeeperForensics source videos) under
///   every split, and Celeb-DF's test videos under train as well;
/// * test and val: test. It copies the test set into val (Celeb-DF's
///   `List_of_testing_videos.txt`, the DFDC preview's `val = test`);
/// * train and val: train. It files the DFDC training parts under both;
/// * train and test: none (contradictory; not written by `rearrange.py`).
fn combined_split(splits: u8) -> Option<&'static str> {
    match splits {
        TRAIN => Some("train"),
        VAL => Some("val"),
        TEST => Some("test"),
        s if s == VAL | TEST => Some("test"),
        s if s == TRAIN | VAL => Some("train"),
        _ => None,
    }
}

/// The split bit of a canonical split name.
fn split_bit(split: &str) -> u8 {
    match split {
        "train" => TRAIN,
        "val" => VAL,
        _ => TEST,
    }
}

/// Label videos from DeepfakeBench dataset JSON files.
pub(super) fn apply(files: DatasetFiles<'_>, out: &mut LabelOutcome) {
    let jsons: Vec<(&String, Value)> = files
        .metadata
        .iter()
        .filter(|rel| {
            util::extension(rel).eq_ignore_ascii_case(JSON_EXTENSION) && !util::is_claimed(out, rel)
        })
        .filter_map(|rel| Some((rel, util::read_json(files.root, rel).ok()?)))
        .collect();
    let parsed: Vec<(&String, Vec<Entry<'_>>)> = jsons
        .iter()
        .map(|(rel, value)| (*rel, collect_entries(value)))
        .filter(|(_, entries)| !entries.is_empty())
        .collect();
    if parsed.is_empty() {
        return;
    }
    // Masks share their fake's name: never an entry's video.
    let videos: Vec<String> = files
        .videos
        .iter()
        .filter(|v| {
            out.labels
                .get(v.as_str())
                .is_none_or(|l| l.kind != VideoKind::Mask)
        })
        .cloned()
        .collect();
    let index = VideoIndex::new(&videos);
    let mut found: BTreeMap<&str, Found> = BTreeMap::new();
    let mut used: Vec<&str> = Vec::new();
    for (rel, entries) in &parsed {
        let source = util::metadata_source(rel);
        let mut matched = false;
        for entry in entries {
            let Some(video) = find_video(&index, entry) else {
                continue;
            };
            matched = true;
            let bit = split_bit(&entry.split);
            found
                .entry(video)
                .and_modify(|f| f.splits |= bit)
                .or_insert_with(|| Found {
                    info: entry_info(entry, &source),
                    splits: bit,
                });
        }
        if matched {
            used.push(rel);
        }
    }
    for (video, Found { mut info, splits }) in found {
        let split = combined_split(splits).map(str::to_string);
        info.official_split.clone_from(&split);
        info.split = split;
        out.merge(video, info);
    }
    for rel in used {
        util::note_used(out, LAYOUT, Some(rel));
    }
}

/// What one entry (from the file whose `label_source` is `source`) says,
/// split aside.
fn entry_info(entry: &Entry<'_>, source: &str) -> LabelInfo {
    let real = entry.label_name.to_ascii_lowercase().contains(REAL_MARKER);
    let (method, method_source) = if real {
        (None, None)
    } else {
        class_method(entry.label_name)
    };
    let mut info = LabelInfo {
        label: if real { Label::Real } else { Label::Fake },
        label_source: source.to_string(),
        method,
        method_source,
        ..LabelInfo::default()
    };
    info.attrs
        .insert("dataset".to_string(), entry.dataset.to_string());
    if let Some(compression) = entry.compression {
        info.attrs
            .insert("compression".to_string(), compression.to_ascii_lowercase());
    }
    info
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
    for (label, folder) in REAL_FOLDER_HINTS {
        if label.eq_ignore_ascii_case(entry.label_name) {
            hints.insert(folder.to_ascii_lowercase());
        }
    }
    if let (Some(method), _) = class_method(entry.label_name) {
        hints.insert(method.to_ascii_lowercase());
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
        assert_eq!(df.method.as_deref(), Some("Deepfakes"));
        assert_eq!(df.method_source.as_deref(), Some("FF-DF"));
        assert_eq!(df.split.as_deref(), Some("train"));
        assert_eq!(df.official_split.as_deref(), Some("train"));
        assert_eq!(df.attrs["compression"], "c23");
        assert_eq!(df.attrs["dataset"], "FaceForensics++");
        assert_eq!(
            df.label_source,
            "metadata:dataset_json/FaceForensics++.json"
        );
        let f2f = info(&out, F2F);
        assert_eq!(f2f.method.as_deref(), Some("Face2Face"));
        assert_eq!(f2f.split.as_deref(), Some("test"));
        assert!(!out.labels.contains_key(DF40));
        let real = info(&out, REAL);
        assert_eq!(real.label, Label::Real);
        assert_eq!(real.method, None);
        assert_eq!(real.split.as_deref(), Some("val"));
        assert_eq!(info(&out, CDF).label, Label::Real);
    }

    #[test]
    fn splits_filed_together() {
        assert_eq!(combined_split(TRAIN), Some("train"));
        assert_eq!(combined_split(VAL), Some("val"));
        assert_eq!(combined_split(TEST), Some("test"));
        assert_eq!(combined_split(TRAIN | VAL | TEST), None);
        assert_eq!(combined_split(VAL | TEST), Some("test"));
        assert_eq!(combined_split(TRAIN | VAL), Some("train"));
        assert_eq!(combined_split(TRAIN | TEST), None);
    }

    #[test]
    fn class_names_and_methods() {
        let s = |s: &str| Some(s.to_string());
        assert_eq!(class_method("FF-DF"), (s("Deepfakes"), s("FF-DF")));
        assert_eq!(class_method("ff-fh"), (s("FaceShifter"), s("ff-fh")));
        assert_eq!(
            class_method("DFDCP_FakeB"),
            (s("method_B"), s("DFDCP_FakeB"))
        );
        assert_eq!(
            class_method("CelebDFv2_fake"),
            (s("Celeb-synthesis"), s("CelebDFv2_fake"))
        );
        assert_eq!(class_method("DFDC_Fake"), (None, s("DFDC_Fake")));
        assert_eq!(class_method("simswap"), (s("simswap"), None));
    }

    #[test]
    fn a_video_in_several_files_and_splits() {
        // DFDC training parts: rearrange.py files them under train and val.
        let mut tree = Tree::with_videos(&["DFDC/train/dfdc_train_part_0/aaa.mp4"]);
        let json = |split: &str| {
            format!(
                r#"{{"DFDC": {{"DFDC_Fake": {{"{split}": {{"aaa": {{"label": "DFDC_Fake", "frames": []}}}}}}}}}}"#
            )
        };
        tree.write("dataset_json/a.json", json("train").as_bytes());
        tree.write("dataset_json/b.json", json("val").as_bytes());
        let out = tree.run(apply);
        let aaa = info(&out, "DFDC/train/dfdc_train_part_0/aaa.mp4");
        assert_eq!(aaa.label, Label::Fake);
        assert_eq!(aaa.official_split.as_deref(), Some("train"));
        assert_eq!(aaa.method, None);
        assert_eq!(aaa.method_source.as_deref(), Some("DFDC_Fake"));
        assert_eq!(aaa.label_source, "metadata:dataset_json/a.json");
        assert_eq!(
            out.used_metadata,
            vec!["dataset_json/a.json", "dataset_json/b.json"]
        );
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
