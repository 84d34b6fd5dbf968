//! Generic sidecar JSON: any `.json` no other adapter used or reported that
//! holds
//!
//! * a list of objects with a file key (`file`, `filename`, `path`, `video`,
//!   `name`) and a `label` (also when wrapped: `{"videos": [...]}`),
//! * an object keyed by file name whose values are objects with a `label`, or
//! * an object keyed by file name whose values are labels themselves (only
//!   keys that name a video count).
//!
//! Labels: `real`/`fake` in any case, `0` real / `1` fake, `original`,
//! `pristine` (real), `manipulated`, `synthetic`, `deepfake` (fake). `method`,
//! `split` (`set`), `identity` and `original` fill their fields; every other
//! short string, small integer or bool becomes an attribute. File names are
//! paths relative to the JSON's folder, else unique names in its subtree.
//!
//! Invalid JSON is a concern. Valid JSON of another shape is left alone,
//! unless its name (`metadata.json`, `labels.json`) says it holds labels.

use serde_json::{Map, Value};

use super::util::{self, VideoIndex};
use super::{DatasetFiles, LabelInfo, LabelOutcome};

/// Format name recorded in `layouts`.
const LAYOUT: &str = "sidecar";
/// Extension of the files looked at.
const JSON_EXTENSION: &str = "json";
/// Keys naming the file of an entry in a list.
const FILE_KEYS: &[&str] = &["file", "filename", "path", "video", "name"];
/// Key of the label.
const LABEL_KEY: &str = "label";
/// Keys of the manipulation method.
const METHOD_KEYS: &[&str] = &["method", "manipulation"];
/// Keys of the split.
const SPLIT_KEYS: &[&str] = &["split", "set", "subset"];
/// Keys of the identity shown.
const IDENTITY_KEYS: &[&str] = &["identity", "person", "actor", "subject"];
/// Keys of the original of a fake.
const ORIGINAL_KEYS: &[&str] = &["original", "original_video"];
/// File names that say a JSON holds labels: not using one is a concern.
const LABEL_FILE_NAMES: &[&str] = &["metadata.json", "labels.json", "label.json"];

/// One entry: the file it names and what it says.
struct Entry<'v> {
    /// The file, as written.
    file: &'v str,
    /// The key the file name came from (not an attribute), if inside the entry.
    file_key: Option<&'v str>,
    /// The label value.
    label: &'v Value,
    /// The other fields, when the entry is an object.
    fields: Option<&'v Map<String, Value>>,
}

/// Label videos from generic sidecar JSON files.
pub(super) fn apply(files: DatasetFiles<'_>, out: &mut LabelOutcome) {
    let mut index = None;
    for rel in files.metadata {
        if !util::extension(rel).eq_ignore_ascii_case(JSON_EXTENSION) || util::is_claimed(out, rel)
        {
            continue;
        }
        let value = match util::read_json(files.root, rel) {
            Ok(value) => value,
            Err(reason) => {
                out.concern(rel, reason);
                continue;
            }
        };
        let index = index.get_or_insert_with(|| VideoIndex::new(files.videos));
        let folder = util::parent(rel);
        let entries = entries_of(&value, |file| index.locate(folder, file).is_some());
        if entries.is_empty() {
            let name = util::file_name(rel);
            if LABEL_FILE_NAMES
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name))
            {
                out.concern(
                    rel,
                    "valid JSON but not a label file: expected a list of objects with a file \
                     name and a `label`, or an object keyed by file name",
                );
            }
            continue;
        }
        apply_entries(index, rel, &entries, out);
    }
}

/// The entries of a sidecar JSON; empty when it has another shape.
/// `names_video` says whether a key names a video (for bare-label maps).
fn entries_of<'v>(value: &'v Value, names_video: impl Fn(&str) -> bool) -> Vec<Entry<'v>> {
    match value {
        Value::Array(items) => list_entries(items),
        Value::Object(map) => {
            let keyed: Vec<Entry<'v>> = map
                .iter()
                .filter_map(|(file, v)| {
                    let fields = v.as_object()?;
                    Some(Entry {
                        file,
                        file_key: None,
                        label: fields.get(LABEL_KEY)?,
                        fields: Some(fields),
                    })
                })
                .collect();
            if !keyed.is_empty() {
                return keyed;
            }
            let bare: Vec<Entry<'v>> = map
                .iter()
                .filter(|(file, v)| util::label_from_value(v).is_some() && names_video(file))
                .map(|(file, label)| Entry {
                    file,
                    file_key: None,
                    label,
                    fields: None,
                })
                .collect();
            if !bare.is_empty() {
                return bare;
            }
            map.values()
                .filter_map(Value::as_array)
                .map(|items| list_entries(items))
                .find(|entries| !entries.is_empty())
                .unwrap_or_default()
        }
        _ => Vec::new(),
    }
}

/// Entries of a list of objects with a file key and a `label`.
fn list_entries(items: &[Value]) -> Vec<Entry<'_>> {
    items
        .iter()
        .filter_map(|item| {
            let fields = item.as_object()?;
            let (key, file) = FILE_KEYS
                .iter()
                .find_map(|k| Some((*k, fields.get(*k)?.as_str()?)))?;
            Some(Entry {
                file,
                file_key: Some(key),
                label: fields.get(LABEL_KEY)?,
                fields: Some(fields),
            })
        })
        .collect()
}

/// Label the videos `entries` (from file `rel`) name.
fn apply_entries(index: &VideoIndex<'_>, rel: &str, entries: &[Entry<'_>], out: &mut LabelOutcome) {
    let folder = util::parent(rel);
    let source = util::metadata_source(rel);
    let mut matched = 0usize;
    let mut bad: Vec<String> = Vec::new();
    for entry in entries {
        let Some(label) = util::label_from_value(entry.label) else {
            bad.push(format!("{:?} has label {}", entry.file, entry.label));
            continue;
        };
        let Some(video) = index.locate(folder, entry.file) else {
            continue;
        };
        matched += 1;
        let mut info = LabelInfo {
            label,
            label_source: source.clone(),
            ..LabelInfo::default()
        };
        if let Some(fields) = entry.fields {
            fill_fields(index, folder, entry.file_key, fields, &mut info);
        }
        out.merge(video, info);
    }
    if let Some(first) = bad.first() {
        out.concern(
            rel,
            format!(
                "{} of {} entries have an unrecognised label (first: {first})",
                bad.len(),
                entries.len()
            ),
        );
    }
    if matched > 0 {
        util::note_used(out, LAYOUT, Some(rel));
    } else if bad.len() < entries.len() {
        out.concern(
            rel,
            format!(
                "none of its {} entries names a video file here",
                entries.len()
            ),
        );
    }
}

/// Fill method, split, identity, original and attributes from an entry's fields.
fn fill_fields(
    index: &VideoIndex<'_>,
    folder: &str,
    file_key: Option<&str>,
    fields: &Map<String, Value>,
    info: &mut LabelInfo,
) {
    let is = |keys: &[&str], key: &str| keys.iter().any(|k| k.eq_ignore_ascii_case(key));
    for (key, value) in fields {
        if key == LABEL_KEY || Some(key.as_str()) == file_key {
            continue;
        }
        let text = value.as_str().map(str::trim).filter(|t| !t.is_empty());
        match text {
            Some(t) if is(METHOD_KEYS, key) => info.method = Some(t.to_string()),
            Some(t) if is(SPLIT_KEYS, key) && util::normalize_split(t).is_some() => {
                info.split = util::normalize_split(t);
            }
            Some(t) if is(ORIGINAL_KEYS, key) => {
                info.original = Some(
                    index
                        .locate(folder, t)
                        .map_or_else(|| util::join(folder, t), str::to_string),
                );
            }
            _ if is(IDENTITY_KEYS, key) => info.identity = util::attr_from_value(value),
            _ => {
                if let Some(attr) = util::attr_from_value(value) {
                    info.attrs.insert(key.clone(), attr);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::{info, Tree};
    use super::super::Label;
    use super::*;

    fn tree(json_rel: &str, json: &[u8]) -> Tree {
        let mut tree = Tree::with_videos(&[
            "home/clips/a.mp4",
            "home/clips/b.avi",
            "home/clips/sub/c.mp4",
            "home/other/c.mp4",
        ]);
        tree.write(json_rel, json);
        tree
    }

    #[test]
    fn list_of_objects() {
        let json = br#"[
            {"file": "a.mp4", "label": "REAL", "scene": "kitchen", "lighting": "dim", "take": 3, "hd": true, "source": "phone"},
            {"filename": "b.avi", "label": 1, "method": "SimSwap", "split": "Validation", "original": "a.mp4", "identity": "p7", "frames": [1, 2]},
            {"path": "sub/c.mp4", "label": "manipulated", "original": "missing.mp4"},
            {"video": "gone.mp4", "label": "fake"},
            {"name": "x", "label": "maybe"}
        ]"#;
        let out = tree("home/clips/labels.json", json).run(apply);
        assert_eq!(out.layouts, vec!["sidecar"]);
        assert_eq!(out.used_metadata, vec!["home/clips/labels.json"]);
        assert_eq!(out.concerns.len(), 1);
        assert_eq!(
            out.concerns[0].reason,
            "1 of 5 entries have an unrecognised label (first: \"x\" has label \"maybe\")"
        );
        let a = info(&out, "home/clips/a.mp4");
        assert_eq!(a.label, Label::Real);
        assert_eq!(a.label_source, "metadata:home/clips/labels.json");
        let attrs: Vec<(&str, &str)> = a
            .attrs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            attrs,
            vec![
                ("hd", "true"),
                ("lighting", "dim"),
                ("scene", "kitchen"),
                ("source", "phone"),
                ("take", "3")
            ]
        );
        let b = info(&out, "home/clips/b.avi");
        assert_eq!(b.label, Label::Fake);
        assert_eq!(b.method.as_deref(), Some("SimSwap"));
        assert_eq!(b.split.as_deref(), Some("val"));
        assert_eq!(b.original.as_deref(), Some("home/clips/a.mp4"));
        assert_eq!(b.identity.as_deref(), Some("p7"));
        assert!(b.attrs.is_empty());
        let c = info(&out, "home/clips/sub/c.mp4");
        assert_eq!(c.label, Label::Fake);
        assert_eq!(c.original.as_deref(), Some("home/clips/missing.mp4"));
        assert!(!out.labels.contains_key("home/other/c.mp4"));
    }

    #[test]
    fn object_keyed_by_file_name() {
        let json =
            br#"{"a.mp4": {"label": "pristine", "set": "train"}, "c.mp4": {"label": "deepfake"}}"#;
        let out = tree("home/clips/meta.json", json).run(apply);
        assert!(out.concerns.is_empty(), "{:?}", out.concerns);
        let a = info(&out, "home/clips/a.mp4");
        assert_eq!(a.label, Label::Real);
        assert_eq!(a.split.as_deref(), Some("train"));
        // `c.mp4` is unique under `home/clips`.
        assert_eq!(info(&out, "home/clips/sub/c.mp4").label, Label::Fake);
    }

    #[test]
    fn bare_labels_and_wrapped_lists() {
        let out = tree(
            "home/labels.json",
            br#"{"clips/a.mp4": "real", "clips/b.avi": 1, "version": "1"}"#,
        )
        .run(apply);
        assert!(out.concerns.is_empty(), "{:?}", out.concerns);
        assert_eq!(out.labels.len(), 2);
        assert_eq!(info(&out, "home/clips/b.avi").label, Label::Fake);
        let out = tree(
            "home/x.json",
            br#"{"count": 1, "videos": [{"video": "other/c.mp4", "label": 0}]}"#,
        )
        .run(apply);
        assert_eq!(info(&out, "home/other/c.mp4").label, Label::Real);
    }

    #[test]
    fn invalid_and_unrecognised_json() {
        let out = tree("home/clips/notes.json", br#"{"a.mp4": {"label": "#).run(apply);
        assert!(out.labels.is_empty());
        assert_eq!(out.concerns.len(), 1);
        assert!(out.concerns[0]
            .reason
            .starts_with("invalid JSON at line 1 column"));

        let out = tree("home/clips/notes.json", b"\xef\xbb\xbf{\"\xc0\": 1}").run(apply);
        assert!(out.concerns[0].reason.contains("not valid UTF-8"));

        let out = tree("home/clips/config.json", br#"{"fps": 30, "items": [1, 2]}"#).run(apply);
        assert!(out.concerns.is_empty() && out.labels.is_empty());

        let out = tree("home/clips/metadata.json", br#"[1, {"file": "a.mp4"}]"#).run(apply);
        assert!(out.labels.is_empty());
        assert!(out.concerns[0]
            .reason
            .starts_with("valid JSON but not a label file"));

        let out = tree(
            "home/clips/labels.json",
            br#"[{"file": "zzz.mp4", "label": "real"}]"#,
        )
        .run(apply);
        assert_eq!(
            out.concerns[0].reason,
            "none of its 1 entries names a video file here"
        );
    }

    #[test]
    fn claimed_files_are_skipped() {
        let tree = tree("home/clips/labels.json", br#"{"a.mp4": {"label": "#);
        let mut out = LabelOutcome::default();
        out.used_metadata.push("home/clips/labels.json".to_string());
        apply(tree.files(), &mut out);
        assert!(out.concerns.is_empty());
    }

    #[test]
    fn huge_numbers_and_deep_nesting_do_not_panic() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let out = tree("home/deep.json", deep.as_bytes()).run(apply);
        assert!(
            out.concerns[0].reason.contains("recursion limit"),
            "{:?}",
            out.concerns
        );
        let out = tree(
            "home/clips/l.json",
            br#"[{"file": "a.mp4", "label": 1e999999}]"#,
        )
        .run(apply);
        assert!(
            out.concerns[0].reason.contains("number out of range"),
            "{:?}",
            out.concerns
        );
        let json = br#"[{"file": "a.mp4", "label": 18446744073709551617},
                        {"file": "b.avi", "label": 1, "n": -99999999999999999999, "m": 123456789}]"#;
        let out = tree("home/clips/l.json", json).run(apply);
        assert_eq!(out.labels.len(), 1);
        assert!(info(&out, "home/clips/b.avi").attrs.is_empty());
        assert_eq!(
            out.concerns[0].reason,
            "1 of 2 entries have an unrecognised label (first: \"a.mp4\" has label 1.8446744073709552e+19)"
        );
    }
}
