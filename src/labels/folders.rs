//! Generic folder-name rules for videos nothing else labelled.
//!
//! The deepest folder named (ignoring case) `real`, `reals`, `original(s)`,
//! `pristine`, `genuine` or `authentic` makes a video real; `fake(s)`,
//! `manipulated`, `deepfake(s)`, `synthesis`, `synthetic` or `forged` makes it
//! fake. WildDeepfake-style names joining a label word and a split word
//! (`real_train`, `fake-test`) give both. For fakes laid out DF40-style
//! (`<method>/fake/...`) the parent folder is the method, unless it is a
//! generic name (`train`, `videos`, ...) or the top folder of the root with no
//! sibling of the same kind (then it is more likely the dataset's name). A
//! folder named `train`, `val` or `test` above the video gives the split.

use std::collections::HashSet;

use super::util;
use super::{DatasetFiles, Label, LabelInfo, LabelOutcome, VideoKind};

/// Rule name recorded in `layouts` and `layout:` label sources.
const LAYOUT: &str = "folder";
/// Separators between a label word and a split word in one folder name.
const WORD_SEPARATORS: &[char] = &['_', '-'];
/// Folder names that are never a method name.
const GENERIC_DIRS: &[&str] = &[
    "train",
    "training",
    "val",
    "valid",
    "validation",
    "test",
    "testing",
    "videos",
    "video",
    "clips",
    "data",
    "dataset",
    "datasets",
    "all",
];

/// The label (and split, for `real_train`-style names) a folder name gives.
fn folder_label(name: &str) -> Option<(Label, Option<String>)> {
    if let Some(label) = word_label(name) {
        return Some((label, None));
    }
    let (a, b) = name.split_once(WORD_SEPARATORS)?;
    match (word_label(a), word_label(b)) {
        (Some(label), None) => Some((label, Some(util::normalize_split(b)?))),
        (None, Some(label)) => Some((label, Some(util::normalize_split(a)?))),
        _ => None,
    }
}

/// The label a folder word gives (not the digits `0`/`1`).
fn word_label(word: &str) -> Option<Label> {
    if util::REAL_WORDS
        .iter()
        .any(|w| w.eq_ignore_ascii_case(word))
    {
        Some(Label::Real)
    } else if util::FAKE_WORDS
        .iter()
        .any(|w| w.eq_ignore_ascii_case(word))
    {
        Some(Label::Fake)
    } else {
        None
    }
}

/// Label videos nothing else labelled by their folder names.
pub(super) fn apply(files: DatasetFiles<'_>, out: &mut LabelOutcome) {
    let pending: Vec<&String> = files
        .videos
        .iter()
        .filter(|v| {
            // Masks (FF++ `<method>/masks/`) are never labelled, even under
            // a folder named like a label word (`Deepfakes`).
            out.labels
                .get(v.as_str())
                .is_none_or(|l| l.label == Label::Unknown && l.kind != VideoKind::Mask)
        })
        .collect();
    // Top folders holding a label folder directly: methods when there are several.
    let top_with_label: HashSet<&str> = files
        .videos
        .iter()
        .filter_map(|v| {
            let comps = util::components(v);
            (comps.len() > 2 && folder_label(comps[1]).is_some()).then_some(comps[0])
        })
        .collect();
    let mut labelled = false;
    for video in pending {
        let comps = util::components(video);
        let dirs = &comps[..comps.len().saturating_sub(1)];
        let Some((at, (label, split))) = dirs
            .iter()
            .enumerate()
            .rev()
            .find_map(|(i, d)| Some((i, folder_label(d)?)))
        else {
            continue;
        };
        let method = (label == Label::Fake && at > 0)
            .then(|| dirs[at - 1])
            .filter(|p| {
                !GENERIC_DIRS.iter().any(|g| g.eq_ignore_ascii_case(p))
                    && folder_label(p).is_none()
                    && (at > 1 || top_with_label.len() > 1)
            });
        let split = split.or_else(|| dirs.iter().rev().find_map(|d| util::normalize_split(d)));
        out.merge(
            video,
            LabelInfo {
                label,
                label_source: util::layout_source(LAYOUT),
                method: method.map(str::to_string),
                split,
                ..LabelInfo::default()
            },
        );
        labelled = true;
    }
    if labelled {
        util::note_used(out, LAYOUT, None);
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::{info, Tree};
    use super::*;

    #[test]
    fn label_words_methods_and_splits() {
        let tree = Tree::with_videos(&[
            "DF40/simswap/fake/a.mp4",
            "DF40/simswap/real/b.mp4",
            "DF40/train/fake/c.mp4",
            "WildDeepfake/fake_train/f.mp4",
            "WildDeepfake/real-test/g.mp4",
            "mine/test/Pristine/h.mkv",
            "mine/fakes/real/i.mp4",
            "mine/unsorted/j.mp4",
            "k.mp4",
            "mine/synthetic",
        ]);
        let out = tree.run(apply);
        assert_eq!(out.layouts, vec!["folder"]);
        let a = info(&out, "DF40/simswap/fake/a.mp4");
        assert_eq!(a.label, Label::Fake);
        assert_eq!(a.label_source, "layout:folder");
        assert_eq!(a.method.as_deref(), Some("simswap"));
        let b = info(&out, "DF40/simswap/real/b.mp4");
        assert_eq!((b.label, b.method.as_deref()), (Label::Real, None));
        let c = info(&out, "DF40/train/fake/c.mp4");
        assert_eq!(
            (c.method.as_deref(), c.split.as_deref()),
            (None, Some("train"))
        );
        let f = info(&out, "WildDeepfake/fake_train/f.mp4");
        assert_eq!((f.label, f.split.as_deref()), (Label::Fake, Some("train")));
        let g = info(&out, "WildDeepfake/real-test/g.mp4");
        assert_eq!((g.label, g.split.as_deref()), (Label::Real, Some("test")));
        let h = info(&out, "mine/test/Pristine/h.mkv");
        assert_eq!((h.label, h.split.as_deref()), (Label::Real, Some("test")));
        // The deepest label folder wins.
        assert_eq!(info(&out, "mine/fakes/real/i.mp4").label, Label::Real);
        assert_eq!(out.labels.len(), 7);
    }

    #[test]
    fn a_lone_top_folder_is_not_a_method() {
        let tree = Tree::with_videos(&["UADFV/fake/d.mp4", "UADFV/Real/e.mp4"]);
        let out = tree.run(apply);
        let d = info(&out, "UADFV/fake/d.mp4");
        assert_eq!((d.label, d.method.as_deref()), (Label::Fake, None));
        assert_eq!(info(&out, "UADFV/Real/e.mp4").label, Label::Real);
    }

    #[test]
    fn methods_at_the_top_need_siblings() {
        let tree = Tree::with_videos(&[
            "simswap/fake/a.mp4",
            "uniface/fake/b.mp4",
            "uniface/real/c.mp4",
        ]);
        let out = tree.run(apply);
        assert_eq!(
            info(&out, "simswap/fake/a.mp4").method.as_deref(),
            Some("simswap")
        );
        assert_eq!(
            info(&out, "uniface/fake/b.mp4").method.as_deref(),
            Some("uniface")
        );
    }

    #[test]
    fn labelled_videos_are_left_alone() {
        let tree = Tree::with_videos(&["x/fake/a.mp4", "x/fake/b.mp4"]);
        let mut out = LabelOutcome::default();
        out.merge(
            "x/fake/a.mp4",
            LabelInfo {
                label: Label::Real,
                label_source: "metadata:m.json".to_string(),
                ..LabelInfo::default()
            },
        );
        apply(tree.files(), &mut out);
        assert_eq!(info(&out, "x/fake/a.mp4").label, Label::Real);
        assert_eq!(info(&out, "x/fake/a.mp4").method, None);
        assert_eq!(info(&out, "x/fake/b.mp4").label, Label::Fake);
    }

    #[test]
    fn folder_names() {
        assert_eq!(folder_label("AUTHENTIC"), Some((Label::Real, None)));
        assert_eq!(
            folder_label("train_fake"),
            Some((Label::Fake, Some("train".into())))
        );
        assert_eq!(folder_label("fake_stuff"), None);
        assert_eq!(folder_label("real_fake"), None);
        assert_eq!(folder_label("1"), None);
    }
}
