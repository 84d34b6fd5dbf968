//! FaceForensics++ and DeepFakeDetection (DFD).
//!
//! Layout: `original_sequences/{youtube,actors}/<comp>/videos/<name>` (real)
//! and `manipulated_sequences/<Method>/<comp>/videos/<name>` (fake), at any
//! depth, folder names matched ignoring case; `<comp>` is `raw`/`c0`, `c23` or
//! `c40`. Masks (`manipulated_sequences/<Method>/masks/videos/<name>`) are
//! [`VideoKind::Mask`] with no label, whatever other rules say (see
//! [`apply_masks`]).
//! Names: originals `071`, fakes `<target>_<source>` (`071_054`); DFD
//! originals `<actor>__<scene>`, DFD fakes `<target>_<source>__<scene>__<id>`.
//!
//! Metadata: the splits files `train.json`, `val.json`, `test.json` (lists of
//! `[a, b]` pairs: originals `a`, `b` and fakes `a_b`, `b_a` are in that split;
//! the official split, `official_split`)
//! and `conversion_dict.json` (`{"000": "<youtube id> <segment>"}`, giving the
//! `youtube_id` attribute: originals sharing it come from one source video).

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::util::{self, VideoIndex};
use super::{DatasetFiles, Label, LabelInfo, LabelOutcome, VideoKind};

/// Format name recorded in `layouts` and `layout:` label sources.
const LAYOUT: &str = "ffpp";
/// Rule name recorded as the `label_source` of masks.
const MASKS_RULE: &str = "ffpp_masks";
/// Folder of the real videos.
const ORIGINALS_DIR: &str = "original_sequences";
/// Folder of the fake videos (one folder per method).
const MANIPULATED_DIR: &str = "manipulated_sequences";
/// Folder of the manipulation masks inside a method folder.
const MASKS_DIR: &str = "masks";
/// Folder holding the video files.
const VIDEOS_DIR: &str = "videos";
/// Originals from YouTube (FF++ proper).
const YOUTUBE: &str = "youtube";
/// Originals recorded with actors (DFD).
const ACTORS: &str = "actors";
/// Compression folder names and the level each stands for.
const COMPRESSIONS: &[(&str, &str)] = &[
    ("raw", "raw"),
    ("c0", "raw"),
    ("c23", "c23"),
    ("c40", "c40"),
];
/// Order in which compressions are preferred when looking for an original.
const PREFERRED_COMPRESSIONS: &[&str] = &["c23", "raw", "c40"];
/// Separator of the parts of a DFD name.
const DFD_SEPARATOR: &str = "__";
/// Splits files and the split each gives.
const SPLIT_FILES: &[(&str, &str)] = &[
    ("train.json", "train"),
    ("val.json", "val"),
    ("validation.json", "val"),
    ("test.json", "test"),
];
/// Map from original id to YouTube id.
const CONVERSION_DICT: &str = "conversion_dict.json";
/// Extension used for a conventional path when none is known.
const DEFAULT_EXTENSION: &str = "mp4";

/// What an FF++ video path says.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct FfppVideo<'a> {
    /// The path before the sequences folder (`""` or e.g. `FaceForensics++`).
    prefix: &'a str,
    /// Real, fake or mask.
    kind: Kind<'a>,
    /// `raw`, `c23` or `c40`.
    compression: Option<&'static str>,
    /// File stem.
    stem: &'a str,
    /// File extension.
    extension: &'a str,
}

/// The kind of an FF++ video.
#[derive(Debug, Clone, PartialEq)]
enum Kind<'a> {
    /// An original; `source` is `youtube` or `actors` (as written).
    Original {
        /// The collection folder.
        source: &'a str,
    },
    /// A fake made by `method`.
    Fake {
        /// The method folder.
        method: &'a str,
    },
    /// A mask of `method`'s fakes.
    Mask {
        /// The method folder.
        method: &'a str,
    },
}

/// Parse an FF++ video path; `None` when it is not in the FF++ layout.
pub(super) fn parse(rel: &str) -> Option<FfppVideo<'_>> {
    let comps = util::components(rel);
    let at = comps.iter().rposition(|c| {
        c.eq_ignore_ascii_case(ORIGINALS_DIR) || c.eq_ignore_ascii_case(MANIPULATED_DIR)
    })?;
    if comps.len() < at + 3 {
        return None; // Needs a source or method folder, then the file.
    }
    let second = comps[at + 1];
    let middle = &comps[at + 2..comps.len() - 1];
    let kind = if comps[at].eq_ignore_ascii_case(ORIGINALS_DIR) {
        Kind::Original { source: second }
    } else if middle.iter().any(|c| c.eq_ignore_ascii_case(MASKS_DIR)) {
        Kind::Mask { method: second }
    } else {
        Kind::Fake { method: second }
    };
    let compression = middle.iter().find_map(|c| {
        COMPRESSIONS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(c))
            .map(|(_, level)| *level)
    });
    let prefix_len = comps[..at].iter().map(|c| c.len() + 1).sum::<usize>();
    let name = util::file_name(rel);
    Some(FfppVideo {
        prefix: rel.get(..prefix_len.saturating_sub(1)).unwrap_or(""),
        kind,
        compression,
        stem: util::stem(name),
        extension: util::extension(name),
    })
}

/// Target and source ids of a fake's stem, and the DFD scene when present.
fn split_fake_stem(stem: &str) -> Option<(&str, &str, Option<&str>)> {
    let mut parts = stem.split(DFD_SEPARATOR);
    let pair = parts.next()?;
    let scene = parts.next();
    let (target, source) = pair.split_once('_')?;
    let is_id = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    (is_id(target) && is_id(source)).then_some((target, source, scene))
}

/// Label videos from the FF++ splits files and `conversion_dict.json`.
pub(super) fn apply_metadata(files: DatasetFiles<'_>, out: &mut LabelOutcome) {
    let mut splits = SplitMap::default();
    let mut youtube_ids: HashMap<String, String> = HashMap::new();
    let mut dict_file = None;
    for rel in files.metadata {
        let name = util::file_name(rel);
        if let Some((_, split)) = SPLIT_FILES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            read_splits(files, rel, split, &mut splits, out);
        } else if name.eq_ignore_ascii_case(CONVERSION_DICT)
            && dict_file.is_none()
            && read_conversion_dict(files, rel, &mut youtube_ids, out)
        {
            dict_file = Some(rel.as_str());
        }
    }
    if splits.ids.is_empty() && youtube_ids.is_empty() {
        return;
    }
    let mut used: HashSet<&str> = HashSet::new();
    for video in files.videos {
        let Some(parsed) = parse(video) else {
            continue;
        };
        let (id, pair) = match parsed.kind {
            Kind::Original { source } if source.eq_ignore_ascii_case(YOUTUBE) => {
                (parsed.stem, None)
            }
            Kind::Fake { .. } => match split_fake_stem(parsed.stem) {
                Some((target, _, None)) => (target, Some(parsed.stem)),
                _ => continue,
            },
            _ => continue,
        };
        let found = match pair {
            Some(pair) => splits.pairs.get(pair),
            None => splits.ids.get(id),
        };
        let mut info = LabelInfo::default();
        if let Some((split, rel)) = found {
            // The benchmark split the FF++ authors publish (Rössler et al.,
            // ICCV 2019, §4: 720/140/140 videos; dataset/splits/ of
            // github.com/ondyari/FaceForensics): official.
            info.split = Some(split.to_string());
            info.official_split = Some(split.to_string());
            used.insert(rel);
        }
        if let Some(youtube_id) = youtube_ids.get(id) {
            info.attrs
                .insert("youtube_id".to_string(), youtube_id.clone());
            used.extend(dict_file);
        }
        if info.split.is_some() || !info.attrs.is_empty() {
            out.merge(video, info);
        }
    }
    let mut used: Vec<&str> = used.into_iter().collect();
    used.sort_unstable();
    for rel in used {
        util::note_used(out, LAYOUT, Some(rel));
    }
}

/// Split of each original id and each fake pair, with the file that said so.
#[derive(Default)]
struct SplitMap {
    /// Original id → (split, splits file).
    ids: HashMap<String, (&'static str, String)>,
    /// Fake stem `a_b` → (split, splits file).
    pairs: HashMap<String, (&'static str, String)>,
}

/// An FF++ id from a splits file: a string, or a number written with three digits.
fn split_id(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => n.as_u64().filter(|n| *n < 1000).map(|n| format!("{n:03}")),
        _ => None,
    }
}

/// Read one splits file into `splits`. Invalid JSON is a concern; valid JSON
/// that is not a list of pairs is left alone (it may be another tool's file).
fn read_splits(
    files: DatasetFiles<'_>,
    rel: &str,
    split: &'static str,
    splits: &mut SplitMap,
    out: &mut LabelOutcome,
) {
    let items = match util::read_json(files.root, rel) {
        Ok(Value::Array(items)) => items,
        Ok(_) => return,
        Err(reason) => return out.concern(rel, reason),
    };
    let mut bad = Vec::new();
    let mut pairs = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_array().map(Vec::as_slice) {
            Some([a, b]) => match (split_id(a), split_id(b)) {
                (Some(a), Some(b)) => pairs.push((a, b)),
                _ => bad.push(i),
            },
            _ => bad.push(i),
        }
    }
    if pairs.is_empty() {
        return; // Not an FF++ splits file.
    }
    if let Some(first) = bad.first() {
        out.concern(
            rel,
            format!(
                "{} of {} items are not [a, b] id pairs (first: item {first})",
                bad.len(),
                items.len()
            ),
        );
    }
    for (a, b) in pairs {
        let entry = (split, rel.to_string());
        splits
            .pairs
            .entry(format!("{a}_{b}"))
            .or_insert_with(|| entry.clone());
        splits
            .pairs
            .entry(format!("{b}_{a}"))
            .or_insert_with(|| entry.clone());
        splits.ids.entry(a).or_insert_with(|| entry.clone());
        splits.ids.entry(b).or_insert(entry);
    }
}

/// Read `conversion_dict.json` into `youtube_ids`; whether it was usable.
fn read_conversion_dict(
    files: DatasetFiles<'_>,
    rel: &str,
    youtube_ids: &mut HashMap<String, String>,
    out: &mut LabelOutcome,
) -> bool {
    let value = match util::read_json(files.root, rel) {
        Ok(value) => value,
        Err(reason) => {
            out.concern(rel, reason);
            return false;
        }
    };
    let map = value.as_object().into_iter().flatten();
    let found: Vec<(String, String)> = map
        .filter_map(|(id, v)| {
            let youtube = v.as_str()?.split_whitespace().next()?;
            Some((id.clone(), youtube.to_string()))
        })
        .collect();
    if found.is_empty() {
        out.concern(
            rel,
            "expected an object mapping ids to \"<youtube id> <segment>\" strings",
        );
        return false;
    }
    youtube_ids.extend(found);
    true
}

/// Mark FF++ masks: every video under `manipulated_sequences/<method>/masks/`
/// is a [`VideoKind::Mask`], never real or fake, for every method alike. The
/// FF++ dataset README (github.com/ondyari/FaceForensics `dataset/README.md`,
/// download script `-t masks`) calls them "a binary mask indicating the
/// manipulated pixels" of each fake: not footage to train on or select.
/// Runs before every other adapter; `LabelOutcome::merge` keeps a mask's
/// label unknown.
pub(super) fn apply_masks(files: DatasetFiles<'_>, out: &mut LabelOutcome) {
    let mut found = false;
    for video in files.videos {
        let Some(FfppVideo {
            kind: Kind::Mask { method },
            ..
        }) = parse(video)
        else {
            continue;
        };
        out.merge(video, mask_info(method));
        found = true;
    }
    if found {
        util::note_used(out, LAYOUT, None);
    }
}

/// What the layout says about a mask of `method`'s fakes.
fn mask_info(method: &str) -> LabelInfo {
    LabelInfo {
        kind: VideoKind::Mask,
        label_source: util::layout_source(MASKS_RULE),
        method: Some(method.to_string()),
        ..LabelInfo::default()
    }
}

/// Label videos by the FF++ folder layout (masks are [`apply_masks`]'s).
pub(super) fn apply_layout(files: DatasetFiles<'_>, out: &mut LabelOutcome) {
    let parsed: Vec<(&String, FfppVideo<'_>)> = files
        .videos
        .iter()
        .filter_map(|v| Some((v, parse(v)?)))
        .filter(|(_, p)| !matches!(p.kind, Kind::Mask { .. }))
        .collect();
    if parsed.is_empty() {
        return;
    }
    let index = VideoIndex::new(files.videos);
    for (video, p) in &parsed {
        out.merge(video, layout_info(&index, p));
    }
    util::note_used(out, LAYOUT, None);
}

/// What the layout says about one parsed video.
fn layout_info(index: &VideoIndex<'_>, p: &FfppVideo<'_>) -> LabelInfo {
    let mut info = LabelInfo {
        label_source: util::layout_source(LAYOUT),
        ..LabelInfo::default()
    };
    if let Some(compression) = p.compression {
        info.attrs
            .insert("compression".to_string(), compression.to_string());
    }
    match p.kind {
        Kind::Original { source } => {
            info.label = Label::Real;
            info.attrs
                .insert("source".to_string(), source.to_ascii_lowercase());
            match p.stem.split_once(DFD_SEPARATOR) {
                Some((actor, scene)) => {
                    info.identity = Some(actor.to_string());
                    info.attrs.insert("scene".to_string(), scene.to_string());
                }
                None => info.identity = Some(p.stem.to_string()),
            }
        }
        Kind::Fake { method } => {
            info.label = Label::Fake;
            info.method = Some(method.to_string());
            if let Some((target, source, scene)) = split_fake_stem(p.stem) {
                let (collection, original_stem) = match scene {
                    Some(scene) => {
                        info.attrs.insert("scene".to_string(), scene.to_string());
                        (ACTORS, format!("{target}{DFD_SEPARATOR}{scene}"))
                    }
                    None => (YOUTUBE, target.to_string()),
                };
                info.identity = Some(target.to_string());
                info.attrs
                    .insert("source".to_string(), collection.to_string());
                info.attrs
                    .insert("source_identity".to_string(), source.to_string());
                info.original = Some(find_original(index, p, collection, &original_stem));
            }
        }
        Kind::Mask { method } => return mask_info(method),
    }
    info
}

/// The original named `stem` in `collection` for fake `p`: the file of the
/// same compression, else of any compression, else the conventional path.
fn find_original(
    index: &VideoIndex<'_>,
    p: &FfppVideo<'_>,
    collection: &str,
    stem: &str,
) -> String {
    let mut found: Vec<(&str, FfppVideo<'_>)> = index
        .stemmed(p.prefix, stem)
        .into_iter()
        .filter_map(|v| Some((v, parse(v)?)))
        .filter(|(_, o)| {
            o.prefix == p.prefix
                && matches!(o.kind, Kind::Original { source } if source.eq_ignore_ascii_case(collection))
        })
        .collect();
    found.sort_by_key(|(v, o)| (rank(o.compression, p.compression), *v));
    if let Some((video, _)) = found.first() {
        return video.to_string();
    }
    let extension = if p.extension.is_empty() {
        DEFAULT_EXTENSION
    } else {
        p.extension
    };
    let folder = match p.compression {
        Some(compression) => format!("{ORIGINALS_DIR}/{collection}/{compression}/{VIDEOS_DIR}"),
        None => format!("{ORIGINALS_DIR}/{collection}/{VIDEOS_DIR}"),
    };
    util::join(p.prefix, &format!("{folder}/{stem}.{extension}"))
}

/// Preference of an original's compression: the wanted one first, then
/// [`PREFERRED_COMPRESSIONS`] in order, then anything else.
fn rank(compression: Option<&str>, wanted: Option<&str>) -> usize {
    if compression.is_some() && compression == wanted {
        return 0;
    }
    compression
        .and_then(|c| PREFERRED_COMPRESSIONS.iter().position(|p| *p == c))
        .map_or(PREFERRED_COMPRESSIONS.len() + 1, |i| i + 1)
}

/// The FF++ YouTube original with id `id` anywhere under the root, preferring
/// `c23` (used by DeeperForensics, whose fakes are made on FF++ c23 originals).
pub(super) fn find_youtube_original(index: &VideoIndex<'_>, id: &str) -> Option<String> {
    let mut found: Vec<(&str, Option<&str>)> = index
        .stemmed("", id)
        .into_iter()
        .filter_map(|v| {
            let p = parse(v)?;
            matches!(p.kind, Kind::Original { source } if source.eq_ignore_ascii_case(YOUTUBE))
                .then_some((v, p.compression))
        })
        .collect();
    found.sort_by_key(|(v, c)| (rank(*c, None), *v));
    found.first().map(|(v, _)| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::{info, Tree};
    use super::*;

    const ORIG_C23: &str = "FaceForensics++/original_sequences/youtube/c23/videos/071.mp4";
    const ORIG_054: &str = "FaceForensics++/original_sequences/youtube/c23/videos/054.mp4";
    const ORIG_RAW: &str = "FaceForensics++/original_sequences/youtube/raw/videos/071.mp4";
    const FAKE_C23: &str = "FaceForensics++/manipulated_sequences/Deepfakes/c23/videos/071_054.mp4";
    const FAKE_C40: &str = "FaceForensics++/manipulated_sequences/Face2Face/c40/videos/071_054.mp4";
    const FAKE_NO_ORIG: &str =
        "FaceForensics++/manipulated_sequences/FaceSwap/c40/videos/999_998.avi";
    const MASK: &str = "FaceForensics++/manipulated_sequences/Deepfakes/masks/videos/071_054.mp4";
    const DFD_REAL: &str =
        "FaceForensics++/original_sequences/actors/c23/videos/01__talking_angry_couch.mp4";
    const DFD_FAKE: &str =
        "FaceForensics++/manipulated_sequences/DeepFakeDetection/c23/videos/01_02__talking_angry_couch__YVGY8LOK.mp4";

    fn tree() -> Tree {
        Tree::with_videos(&[
            ORIG_C23,
            ORIG_054,
            ORIG_RAW,
            FAKE_C23,
            FAKE_C40,
            FAKE_NO_ORIG,
            MASK,
            DFD_REAL,
            DFD_FAKE,
        ])
    }

    #[test]
    fn layout_labels_identities_and_originals() {
        let out = tree().run(apply_layout);
        assert!(out.concerns.is_empty());
        assert_eq!(out.layouts, vec!["ffpp"]);
        let real = info(&out, ORIG_C23);
        assert_eq!(real.label, Label::Real);
        assert_eq!(real.label_source, "layout:ffpp");
        assert_eq!(real.identity.as_deref(), Some("071"));
        assert_eq!(real.attrs["compression"], "c23");
        assert_eq!(real.attrs["source"], "youtube");
        let fake = info(&out, FAKE_C23);
        assert_eq!(fake.label, Label::Fake);
        assert_eq!(fake.method.as_deref(), Some("Deepfakes"));
        assert_eq!(fake.identity.as_deref(), Some("071"));
        assert_eq!(fake.original.as_deref(), Some(ORIG_C23));
        assert_eq!(fake.attrs["source_identity"], "054");
        // No c40 original: another compression that exists.
        assert_eq!(info(&out, FAKE_C40).original.as_deref(), Some(ORIG_C23));
        assert_eq!(info(&out, FAKE_C40).attrs["compression"], "c40");
        // No original at all: the conventional path.
        assert_eq!(
            info(&out, FAKE_NO_ORIG).original.as_deref(),
            Some("FaceForensics++/original_sequences/youtube/c40/videos/999.avi")
        );
        assert!(!out.labels.contains_key(MASK));
        let masks = tree().run(apply_masks);
        assert_eq!(masks.labels.len(), 1);
        let mask = info(&masks, MASK);
        assert_eq!(mask.label, Label::Unknown);
        assert_eq!(mask.kind, VideoKind::Mask);
        assert_eq!(mask.label_source, "layout:ffpp_masks");
        assert_eq!(mask.method.as_deref(), Some("Deepfakes"));
        let dfd_real = info(&out, DFD_REAL);
        assert_eq!(dfd_real.identity.as_deref(), Some("01"));
        assert_eq!(dfd_real.attrs["scene"], "talking_angry_couch");
        assert_eq!(dfd_real.attrs["source"], "actors");
        let dfd_fake = info(&out, DFD_FAKE);
        assert_eq!(dfd_fake.method.as_deref(), Some("DeepFakeDetection"));
        assert_eq!(dfd_fake.identity.as_deref(), Some("01"));
        assert_eq!(dfd_fake.original.as_deref(), Some(DFD_REAL));
        assert_eq!(dfd_fake.attrs["scene"], "talking_angry_couch");
    }

    #[test]
    fn layout_at_the_root_ignoring_case() {
        let tree = Tree::with_videos(&[
            "Original_Sequences/YouTube/C23/videos/000.mp4",
            "manipulated_sequences/NeuralTextures/c0/videos/000_003.mkv",
            "original_sequences/youtube/c23",
            "unrelated/000.mp4",
        ]);
        let out = tree.run(apply_layout);
        assert_eq!(out.labels.len(), 2);
        let fake = info(
            &out,
            "manipulated_sequences/NeuralTextures/c0/videos/000_003.mkv",
        );
        assert_eq!(fake.attrs["compression"], "raw");
        assert_eq!(
            fake.original.as_deref(),
            Some("Original_Sequences/YouTube/C23/videos/000.mp4")
        );
        assert_eq!(
            info(&out, "Original_Sequences/YouTube/C23/videos/000.mp4").attrs["source"],
            "youtube"
        );
    }

    #[test]
    fn splits_and_conversion_dict() {
        let mut tree = tree();
        tree.write(
            "FaceForensics++/splits/train.json",
            br#"[["071", "054"], ["001", "002"]]"#,
        );
        tree.write("FaceForensics++/splits/test.json", br#"[["999", "998"]]"#);
        tree.write(
            "FaceForensics++/conversion_dict.json",
            br#"{"071": "abcDEF 0", "054": "abcDEF 1"}"#,
        );
        let out = tree.run(apply_metadata);
        assert!(out.concerns.is_empty(), "{:?}", out.concerns);
        assert_eq!(
            out.used_metadata,
            vec![
                "FaceForensics++/conversion_dict.json",
                "FaceForensics++/splits/test.json",
                "FaceForensics++/splits/train.json"
            ]
        );
        let real = info(&out, ORIG_C23);
        assert_eq!(real.label, Label::Unknown);
        assert_eq!(real.split.as_deref(), Some("train"));
        assert_eq!(real.attrs["youtube_id"], "abcDEF");
        assert_eq!(info(&out, ORIG_054).split.as_deref(), Some("train"));
        assert_eq!(info(&out, FAKE_C40).split.as_deref(), Some("train"));
        assert_eq!(info(&out, FAKE_NO_ORIG).split.as_deref(), Some("test"));
        assert_eq!(
            info(&out, FAKE_NO_ORIG).official_split.as_deref(),
            Some("test")
        );
        assert!(!out.labels.contains_key(DFD_FAKE));
        assert!(!out.labels.contains_key(MASK));
    }

    #[test]
    fn malformed_splits() {
        let mut tree = tree();
        tree.write("train.json", br#"[["071", "054"], ["001"], 5, [7, 8]]"#);
        tree.write("val.json", br#"[["071", "054""#);
        tree.write("test.json", br#"{"not": "splits"}"#);
        tree.write("conversion_dict.json", br#"[1, 2]"#);
        let out = tree.run(apply_metadata);
        let reason = |rel: &str| {
            let found: Vec<&str> = out
                .concerns
                .iter()
                .filter(|c| c.rel_path == rel)
                .map(|c| c.reason.as_str())
                .collect();
            found.join("; ")
        };
        assert_eq!(out.concerns.len(), 3, "{:?}", out.concerns);
        assert_eq!(
            reason("train.json"),
            "2 of 4 items are not [a, b] id pairs (first: item 1)"
        );
        assert!(reason("val.json").starts_with("invalid JSON at line 1 column"));
        assert!(reason("conversion_dict.json").starts_with("expected an object mapping ids"));
        assert_eq!(reason("test.json"), "");
        assert_eq!(info(&out, ORIG_C23).split.as_deref(), Some("train"));
        assert_eq!(out.used_metadata, vec!["train.json"]);
    }

    #[test]
    fn parse_rejects_other_paths() {
        assert_eq!(parse("original_sequences/x.mp4"), None);
        assert_eq!(parse("a/b.mp4"), None);
        assert_eq!(split_fake_stem("071"), None);
        assert_eq!(split_fake_stem("071_054"), Some(("071", "054", None)));
        assert_eq!(split_fake_stem("_054"), None);
    }
}
