//! DeeperForensics-1.0.
//!
//! Layout: `source_videos/<actor id>/.../<name>` (real) and
//! `manipulated_videos/<variant>/<target>_<actor id>.mp4` (fake, method
//! `DF-VAE`), at any depth, folder names matched ignoring case. An actor id
//! (`M004`, `W101`) gives gender (M male, W female) and ethnicity (first digit
//! 1 Asian, 0 other). Source names `<id>_light_<dir>_<emotion>_camera_<dir>`
//! give lighting, emotion and camera. The real counterparts of the fakes are
//! FF++ c23 originals, not shipped: `original` is set only when the root holds
//! that FF++ file.
//!
//! Metadata: `lists/splits/{train,val,test}.txt` (one video per line; a bare
//! name applies to that name in every variant folder; the official split:
//! the dataset README, github.com/EndlessSora/DeeperForensics-1.0
//! `dataset/README.md`, "Lists", gives `train.txt`, `val.txt`, `test.txt` as
//! the data splits, each line a manipulated video's name) and
//! `lists/manipulated_videos_distortions_meta/*` (`<path> <type>:<level> ...`,
//! the `distortions` attribute).

use super::util::{self, VideoIndex};
use super::{ffpp, DatasetFiles, Label, LabelInfo, LabelOutcome};

/// Format name recorded in `layouts` and `layout:` label sources.
const LAYOUT: &str = "deeperforensics";
/// Folder of the real videos, one folder per actor.
const SOURCE_DIR: &str = "source_videos";
/// Folder of the fakes, one folder per variant.
const MANIPULATED_DIR: &str = "manipulated_videos";
/// Folder of the lists.
const LISTS_DIR: &str = "lists";
/// Folder of the split lists inside [`LISTS_DIR`].
const SPLITS_DIR: &str = "splits";
/// Folder of the distortion lists inside [`LISTS_DIR`].
const DISTORTIONS_DIR: &str = "manipulated_videos_distortions_meta";
/// Method of all fakes.
pub(super) const METHOD: &str = "DF-VAE";
/// Token before the lighting direction in a source name.
const LIGHT_TOKEN: &str = "light";
/// Token before the camera direction in a source name.
const CAMERA_TOKEN: &str = "camera";
/// Length of an actor id (`M004`).
const ACTOR_ID_LEN: usize = 4;

/// Gender and ethnicity an actor id (`M004`, `W101`) encodes; `None` when
/// `id` is not an actor id.
fn actor(id: &str) -> Option<(&'static str, Option<&'static str>)> {
    let bytes = id.as_bytes();
    if bytes.len() != ACTOR_ID_LEN || !bytes[1..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let gender = match bytes[0].to_ascii_uppercase() {
        b'M' => "male",
        b'W' => "female",
        _ => return None,
    };
    let ethnicity = match bytes[1] {
        b'1' => Some("asian"),
        b'0' => Some("other"),
        _ => None,
    };
    Some((gender, ethnicity))
}

/// What a DeeperForensics video path says.
#[derive(Debug, Clone, PartialEq)]
enum DfVideo<'a> {
    /// A source video of `actor`; `detail` are the components below the
    /// actor folder (folders, then the file stem).
    Source {
        /// Actor id.
        actor: &'a str,
        /// Components below the actor folder.
        detail: Vec<&'a str>,
    },
    /// A fake of `actor` on FF++ video `target`, in `variant` (when foldered).
    Fake {
        /// Actor id (the face shown).
        actor: &'a str,
        /// FF++ id of the video the face was put on.
        target: &'a str,
        /// Variant folder (`end_to_end`, ...).
        variant: Option<&'a str>,
    },
}

/// Parse a DeeperForensics video path; `None` outside its layout.
fn parse(rel: &str) -> Option<DfVideo<'_>> {
    let comps = util::components(rel);
    let dirs = &comps[..comps.len().saturating_sub(1)];
    let at = dirs.iter().rposition(|c| {
        c.eq_ignore_ascii_case(SOURCE_DIR) || c.eq_ignore_ascii_case(MANIPULATED_DIR)
    })?;
    let stem = util::stem(util::file_name(rel));
    if comps[at].eq_ignore_ascii_case(SOURCE_DIR) {
        let actor_id = *dirs.get(at + 1)?;
        actor(actor_id)?;
        let mut detail: Vec<&str> = dirs[at + 2..].to_vec();
        detail.push(stem);
        Some(DfVideo::Source {
            actor: actor_id,
            detail,
        })
    } else {
        let (target, actor_id) = stem.split_once('_')?;
        if target.is_empty() || !target.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        actor(actor_id)?;
        Some(DfVideo::Fake {
            actor: actor_id,
            target,
            variant: dirs.get(at + 1).copied(),
        })
    }
}

/// Lighting, emotion and camera from the parts of a source name
/// (`M004_light_uniform_angry_camera_front`); each only when present.
fn capture_conditions(detail: &[&str]) -> [(&'static str, Option<String>); 3] {
    // The file stem is the most specific; fall back to the folder names.
    let stem = detail.last().copied().unwrap_or("");
    let from_stem: Vec<&str> = stem.split('_').collect();
    let has_marks = |t: &[&str]| {
        t.iter()
            .any(|x| x.eq_ignore_ascii_case(LIGHT_TOKEN) || x.eq_ignore_ascii_case(CAMERA_TOKEN))
    };
    let tokens: Vec<&str> = if has_marks(&from_stem) {
        from_stem[1..].to_vec() // Drop the actor id.
    } else {
        detail[..detail.len().saturating_sub(1)]
            .iter()
            .flat_map(|d| d.split('_'))
            .collect()
    };
    let find = |mark: &str| tokens.iter().position(|t| t.eq_ignore_ascii_case(mark));
    let light = find(LIGHT_TOKEN);
    let camera = find(CAMERA_TOKEN);
    let lighting = light
        .and_then(|i| tokens.get(i + 1))
        .map(|t| t.to_ascii_lowercase());
    let camera_dir = camera
        .map(|i| tokens[i + 1..].join("_").to_ascii_lowercase())
        .filter(|c| !c.is_empty());
    let emotion_start = light.map_or(0, |i| i + 2);
    let emotion_end = camera.unwrap_or(tokens.len());
    let emotion = tokens
        .get(emotion_start..emotion_end.max(emotion_start))
        .map(|t| t.join("_").to_ascii_lowercase())
        .filter(|e| !e.is_empty() && (light.is_some() || camera.is_some()));
    [
        ("lighting", lighting),
        ("emotion", emotion),
        ("camera", camera_dir),
    ]
}

/// What the layout says about one parsed video.
fn layout_info(index: &VideoIndex<'_>, v: &DfVideo<'_>) -> LabelInfo {
    let mut info = LabelInfo {
        label_source: util::layout_source(LAYOUT),
        ..LabelInfo::default()
    };
    let actor_id = match v {
        DfVideo::Source { actor, detail } => {
            info.label = Label::Real;
            for (key, value) in capture_conditions(detail) {
                if let Some(value) = value {
                    info.attrs.insert(key.to_string(), value);
                }
            }
            actor
        }
        DfVideo::Fake {
            actor,
            target,
            variant,
        } => {
            info.label = Label::Fake;
            info.method = Some(METHOD.to_string());
            info.original = ffpp::find_youtube_original(index, target);
            info.attrs.insert("target".to_string(), target.to_string());
            if let Some(variant) = variant {
                info.attrs
                    .insert("variant".to_string(), variant.to_string());
            }
            actor
        }
    };
    info.identity = Some(actor_id.to_ascii_uppercase());
    if let Some((gender, ethnicity)) = actor(actor_id) {
        info.attrs.insert("gender".to_string(), gender.to_string());
        if let Some(ethnicity) = ethnicity {
            info.attrs
                .insert("ethnicity".to_string(), ethnicity.to_string());
        }
    }
    info
}

/// Label videos by the DeeperForensics folder layout.
pub(super) fn apply_layout(files: DatasetFiles<'_>, out: &mut LabelOutcome) {
    let parsed: Vec<(&String, DfVideo<'_>)> = files
        .videos
        .iter()
        .filter_map(|v| Some((v, parse(v)?)))
        .collect();
    if parsed.is_empty() {
        return;
    }
    let index = VideoIndex::new(files.videos);
    for (video, v) in &parsed {
        out.merge(video, layout_info(&index, v));
    }
    util::note_used(out, LAYOUT, None);
}

/// The kind of a DeeperForensics list file.
enum List {
    /// A split list giving this split.
    Split(String),
    /// A distortion list.
    Distortions,
}

/// The kind of list `rel` is and the dataset folder (the parent of `lists/`).
fn list_kind(rel: &str) -> Option<(List, String)> {
    let comps = util::components(rel);
    let [.., lists, sub, name] = comps.as_slice() else {
        return None;
    };
    if !lists.eq_ignore_ascii_case(LISTS_DIR) {
        return None;
    }
    let kind = if sub.eq_ignore_ascii_case(SPLITS_DIR) {
        List::Split(util::normalize_split(util::stem(name))?)
    } else if sub.eq_ignore_ascii_case(DISTORTIONS_DIR) {
        List::Distortions
    } else {
        return None;
    };
    Some((kind, comps[..comps.len() - 3].join("/")))
}

/// Label videos from the DeeperForensics split and distortion lists.
pub(super) fn apply_metadata(files: DatasetFiles<'_>, out: &mut LabelOutcome) {
    let lists: Vec<(&String, List, String)> = files
        .metadata
        .iter()
        .filter_map(|rel| {
            let (kind, dataset) = list_kind(rel)?;
            Some((rel, kind, dataset))
        })
        .collect();
    if lists.is_empty() {
        return;
    }
    let index = VideoIndex::new(files.videos);
    for (rel, kind, dataset) in lists {
        let text = match util::read_text(files.root, rel) {
            Ok(text) => text,
            Err(reason) => {
                out.concern(rel, reason);
                continue;
            }
        };
        let mut matched = 0usize;
        let mut problems: Vec<String> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let mut tokens = line.split_whitespace();
            let Some(entry) = tokens.next() else {
                continue;
            };
            let mut info = LabelInfo::default();
            match &kind {
                List::Split(split) => {
                    info.split = Some(split.clone());
                    info.official_split = Some(split.clone());
                }
                List::Distortions => {
                    let distortions: Vec<&str> = tokens.collect();
                    if distortions.is_empty() || !distortions.iter().all(|d| d.contains(':')) {
                        problems.push(format!(
                            "line {} is not `<path> <type>:<level> ...`: {:?}",
                            i + 1,
                            line.trim()
                        ));
                        continue;
                    }
                    info.attrs
                        .insert("distortions".to_string(), distortions.join(" "));
                }
            }
            for video in index.locate_all(&dataset, entry) {
                if parse(video).is_some() {
                    matched += 1;
                    out.merge(video, info.clone());
                }
            }
        }
        if let Some(first) = problems.first() {
            out.concern(
                rel,
                format!("{} malformed lines skipped; first: {first}", problems.len()),
            );
        }
        if matched > 0 {
            util::note_used(out, LAYOUT, Some(rel));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::{info, Tree};
    use super::*;

    const SRC: &str =
        "DeeperForensics-1.0/source_videos/W101/W101_light_uniform_angry_camera_front.mp4";
    const SRC_DIRS: &str =
        "DeeperForensics-1.0/source_videos/M004/light_left/happy/camera_down/clip.mp4";
    const FAKE: &str = "DeeperForensics-1.0/manipulated_videos/end_to_end/000_M004.mp4";
    const FAKE_VAR: &str =
        "DeeperForensics-1.0/manipulated_videos/end_to_end_random_level/000_M004.mp4";
    const FAKE2: &str = "DeeperForensics-1.0/manipulated_videos/end_to_end/001_W101.mp4";
    const FF_ORIG: &str = "ff/original_sequences/youtube/c23/videos/000.mp4";

    fn tree() -> Tree {
        Tree::with_videos(&[
            SRC,
            SRC_DIRS,
            FAKE,
            FAKE_VAR,
            FAKE2,
            FF_ORIG,
            "DeeperForensics-1.0/source_videos/X999/a.mp4",
            "DeeperForensics-1.0/manipulated_videos/end_to_end/notes.mp4",
        ])
    }

    #[test]
    fn layout_with_demographics_and_conditions() {
        let out = tree().run(apply_layout);
        assert_eq!(out.layouts, vec!["deeperforensics"]);
        assert_eq!(out.labels.len(), 5);
        let src = info(&out, SRC);
        assert_eq!(src.label, Label::Real);
        assert_eq!(src.label_source, "layout:deeperforensics");
        assert_eq!(src.identity.as_deref(), Some("W101"));
        assert_eq!(src.attrs["gender"], "female");
        assert_eq!(src.attrs["ethnicity"], "asian");
        assert_eq!(src.attrs["lighting"], "uniform");
        assert_eq!(src.attrs["emotion"], "angry");
        assert_eq!(src.attrs["camera"], "front");
        let dirs = info(&out, SRC_DIRS);
        assert_eq!(dirs.attrs["gender"], "male");
        assert_eq!(dirs.attrs["ethnicity"], "other");
        assert_eq!(dirs.attrs["lighting"], "left");
        assert_eq!(dirs.attrs["emotion"], "happy");
        assert_eq!(dirs.attrs["camera"], "down");
        let fake = info(&out, FAKE);
        assert_eq!(fake.label, Label::Fake);
        assert_eq!(fake.method.as_deref(), Some("DF-VAE"));
        assert_eq!(fake.identity.as_deref(), Some("M004"));
        assert_eq!(fake.original.as_deref(), Some(FF_ORIG));
        assert_eq!(fake.attrs["variant"], "end_to_end");
        assert_eq!(fake.attrs["target"], "000");
        assert_eq!(info(&out, FAKE2).original, None);
    }

    #[test]
    fn split_and_distortion_lists() {
        let mut tree = tree();
        tree.write(
            "DeeperForensics-1.0/lists/splits/train.txt",
            b"000_M004.mp4\n\n",
        );
        tree.write(
            "DeeperForensics-1.0/lists/splits/test.txt",
            b"001_W101.mp4\n",
        );
        tree.write(
            "DeeperForensics-1.0/lists/manipulated_videos_distortions_meta/end_to_end_random_level.txt",
            b"end_to_end_random_level/000_M004.mp4 CS:3 GB:2\n",
        );
        let out = tree.run(apply_metadata);
        assert!(out.concerns.is_empty(), "{:?}", out.concerns);
        assert_eq!(out.used_metadata.len(), 3);
        assert_eq!(info(&out, FAKE).split.as_deref(), Some("train"));
        assert_eq!(info(&out, FAKE_VAR).split.as_deref(), Some("train"));
        assert_eq!(info(&out, FAKE_VAR).attrs["distortions"], "CS:3 GB:2");
        assert!(!info(&out, FAKE).attrs.contains_key("distortions"));
        assert_eq!(info(&out, FAKE2).split.as_deref(), Some("test"));
        assert_eq!(info(&out, FAKE2).label, Label::Unknown);
    }

    #[test]
    fn malformed_lists() {
        let mut tree = tree();
        tree.write("DeeperForensics-1.0/lists/splits/val.txt", b"\xff\xfe\n");
        tree.write(
            "DeeperForensics-1.0/lists/manipulated_videos_distortions_meta/x.txt",
            b"end_to_end/000_M004.mp4 bogus\n",
        );
        let out = tree.run(apply_metadata);
        assert!(out.labels.is_empty());
        assert_eq!(out.concerns.len(), 2);
        assert!(out.concerns[0]
            .reason
            .contains("line 1 is not `<path> <type>:<level> ...`"));
        assert!(out.concerns[1].reason.contains("not valid UTF-8"));
    }

    #[test]
    fn actor_ids() {
        assert_eq!(actor("M004"), Some(("male", Some("other"))));
        assert_eq!(actor("w101"), Some(("female", Some("asian"))));
        assert_eq!(actor("M204"), Some(("male", None)));
        assert_eq!(actor("X004"), None);
        assert_eq!(actor("M04"), None);
        assert_eq!(actor("Mé04"), None);
    }
}
