//! Celeb-DF (v1 and v2).
//!
//! Layout: `Celeb-real/id<N>_<NNNN>.mp4` and `YouTube-real/<NNNNN>.mp4` (real),
//! `Celeb-synthesis/id<target>_id<source>_<NNNN>.mp4` (fake, original
//! `Celeb-real/id<target>_<NNNN>.mp4`), at any depth, folder names matched
//! ignoring case, possibly with a further folder (e.g. `videos/`) inside.
//!
//! Metadata: `List_of_testing_videos.txt`, lines `<flag> <folder>/<file>` with
//! **1 = real, 0 = fake**. Listed videos are split `test`; the other Celeb-DF
//! videos under the list's folder are `train` when the list is well formed.
//! Both are the official split (`official_split`): the list is the test set
//! the dataset's authors publish (README of github.com/yuezunli/celeb-deepfakeforensics;
//! Li et al., CVPR 2020, §5 "the testing set"), and the rest is what they
//! leave for training.

use std::collections::HashSet;

use super::util::{self, VideoIndex};
use super::{DatasetFiles, Label, LabelInfo, LabelOutcome};

/// Format name recorded in `layouts` and `layout:` label sources.
const LAYOUT: &str = "celebdf";
/// The list of test videos.
const TEST_LIST: &str = "List_of_testing_videos.txt";
/// Flag of a real video in the test list.
const REAL_FLAG: &str = "1";
/// Flag of a fake video in the test list.
const FAKE_FLAG: &str = "0";
/// Folder of the celebrity interviews (real).
const CELEB_REAL_DIR: &str = "Celeb-real";
/// Folder of the extra YouTube videos (real).
const YOUTUBE_REAL_DIR: &str = "YouTube-real";
/// Folder of the synthesised videos (fake).
const SYNTHESIS_DIR: &str = "Celeb-synthesis";
/// Method recorded for the fakes.
pub(super) const METHOD: &str = "Celeb-synthesis";
/// Split of the listed videos.
const TEST_SPLIT: &str = "test";
/// Split of the other videos when a test list exists.
const TRAIN_SPLIT: &str = "train";
/// Prefix of a celebrity id.
const ID_PREFIX: &str = "id";
/// Extension used for a conventional path when none is known.
const DEFAULT_EXTENSION: &str = "mp4";

/// The folders of a Celeb-DF tree.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Folder {
    /// `Celeb-real`: celebrity interviews.
    CelebReal,
    /// `YouTube-real`: extra YouTube videos.
    YoutubeReal,
    /// `Celeb-synthesis`: the fakes.
    Synthesis,
}

/// What a Celeb-DF video path says.
#[derive(Debug, Clone, Copy, PartialEq)]
struct CelebVideo<'a> {
    /// The path before the Celeb-DF folder (`""` or e.g. `Celeb-DF-v2`).
    prefix: &'a str,
    /// The Celeb-DF folder holding the video.
    folder: Folder,
    /// File stem.
    stem: &'a str,
    /// File extension.
    extension: &'a str,
}

/// Parse a Celeb-DF video path; `None` outside the Celeb-DF folders.
fn parse(rel: &str) -> Option<CelebVideo<'_>> {
    let comps = util::components(rel);
    let dirs = &comps[..comps.len().saturating_sub(1)];
    let (at, folder) = dirs.iter().enumerate().rev().find_map(|(i, c)| {
        let folder = if c.eq_ignore_ascii_case(CELEB_REAL_DIR) {
            Folder::CelebReal
        } else if c.eq_ignore_ascii_case(YOUTUBE_REAL_DIR) {
            Folder::YoutubeReal
        } else if c.eq_ignore_ascii_case(SYNTHESIS_DIR) {
            Folder::Synthesis
        } else {
            return None;
        };
        Some((i, folder))
    })?;
    let prefix_len = comps[..at].iter().map(|c| c.len() + 1).sum::<usize>();
    let name = util::file_name(rel);
    Some(CelebVideo {
        prefix: rel.get(..prefix_len.saturating_sub(1)).unwrap_or(""),
        folder,
        stem: util::stem(name),
        extension: util::extension(name),
    })
}

/// A celebrity id (`id12`) when `s` is one.
fn celeb_id(s: &str) -> Option<&str> {
    let digits = s.strip_prefix(ID_PREFIX)?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(s)
}

/// What the layout says about one parsed video (label from the folder).
fn layout_info(index: &VideoIndex<'_>, v: &CelebVideo<'_>) -> LabelInfo {
    let mut info = LabelInfo {
        label_source: util::layout_source(LAYOUT),
        ..LabelInfo::default()
    };
    match v.folder {
        Folder::CelebReal => {
            info.label = Label::Real;
            info.identity = v
                .stem
                .split('_')
                .next()
                .and_then(celeb_id)
                .map(str::to_string);
            info.attrs.insert("source".to_string(), "celeb".to_string());
        }
        Folder::YoutubeReal => {
            info.label = Label::Real;
            info.attrs
                .insert("source".to_string(), "youtube".to_string());
        }
        Folder::Synthesis => {
            info.label = Label::Fake;
            info.method = Some(METHOD.to_string());
            let parts: Vec<&str> = v.stem.split('_').collect();
            if let [target, source, number] = parts.as_slice() {
                if let (Some(target), Some(source)) = (celeb_id(target), celeb_id(source)) {
                    info.identity = Some(target.to_string());
                    info.attrs
                        .insert("source_identity".to_string(), source.to_string());
                    info.original = Some(find_original(index, v, &format!("{target}_{number}")));
                }
            }
        }
    }
    info
}

/// The real video `stem` of the same tree, else its conventional path.
fn find_original(index: &VideoIndex<'_>, fake: &CelebVideo<'_>, stem: &str) -> String {
    let found = index.stemmed(fake.prefix, stem).into_iter().find(|o| {
        parse(o).is_some_and(|o| o.prefix == fake.prefix && o.folder == Folder::CelebReal)
    });
    match found {
        Some(video) => video.to_string(),
        None => {
            let extension = if fake.extension.is_empty() {
                DEFAULT_EXTENSION
            } else {
                fake.extension
            };
            util::join(fake.prefix, &format!("{CELEB_REAL_DIR}/{stem}.{extension}"))
        }
    }
}

/// Label videos from Celeb-DF's `List_of_testing_videos.txt`.
pub(super) fn apply_metadata(files: DatasetFiles<'_>, out: &mut LabelOutcome) {
    let lists: Vec<&String> = files
        .metadata
        .iter()
        .filter(|rel| util::file_name(rel).eq_ignore_ascii_case(TEST_LIST))
        .collect();
    if lists.is_empty() {
        return;
    }
    let index = VideoIndex::new(files.videos);
    for rel in lists {
        apply_list(files, &index, rel, out);
    }
}

/// One test list.
fn apply_list(files: DatasetFiles<'_>, index: &VideoIndex<'_>, rel: &str, out: &mut LabelOutcome) {
    let text = match util::read_text(files.root, rel) {
        Ok(text) => text,
        Err(reason) => return out.concern(rel, reason),
    };
    let folder = util::parent(rel);
    let source = util::metadata_source(rel);
    let mut entries = 0usize;
    let mut listed: HashSet<&str> = HashSet::new();
    let mut problems: Vec<String> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (flag, path) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let label = match flag {
            REAL_FLAG => Label::Real,
            FAKE_FLAG => Label::Fake,
            _ => {
                problems.push(format!(
                    "line {} is not `<1|0> <folder>/<file>`: {line:?}",
                    i + 1
                ));
                continue;
            }
        };
        if path.trim().is_empty() {
            problems.push(format!("line {} names no file: {line:?}", i + 1));
            continue;
        }
        entries += 1;
        let Some(video) = index.locate(folder, path.trim()) else {
            continue;
        };
        listed.insert(video);
        let mut info = match parse(video) {
            Some(v) => layout_info(index, &v),
            None => LabelInfo::default(),
        };
        info.label = label;
        info.label_source = source.clone();
        info.split = Some(TEST_SPLIT.to_string());
        info.official_split = Some(TEST_SPLIT.to_string());
        out.merge(video, info);
    }
    if let Some(first) = problems.first() {
        out.concern(
            rel,
            format!("{} malformed lines skipped; first: {first}", problems.len()),
        );
    }
    if entries == 0 {
        if problems.is_empty() {
            out.concern(rel, "no entries: expected lines `<1|0> <folder>/<file>`");
        }
        return;
    }
    if listed.is_empty() {
        return out.concern(
            rel,
            format!("none of its {entries} entries names a video file here"),
        );
    }
    util::note_used(out, LAYOUT, Some(rel));
    if !problems.is_empty() {
        return; // Unsure which videos the bad lines meant: no `train` split.
    }
    for video in files.videos {
        if util::is_under(folder, video)
            && !listed.contains(video.as_str())
            && parse(video).is_some()
        {
            out.merge(
                video,
                LabelInfo {
                    split: Some(TRAIN_SPLIT.to_string()),
                    official_split: Some(TRAIN_SPLIT.to_string()),
                    ..LabelInfo::default()
                },
            );
        }
    }
}

/// Label videos by the Celeb-DF folder layout.
pub(super) fn apply_layout(files: DatasetFiles<'_>, out: &mut LabelOutcome) {
    let parsed: Vec<(&String, CelebVideo<'_>)> = files
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

#[cfg(test)]
mod tests {
    use super::super::util::testing::{info, Tree};
    use super::*;

    const REAL: &str = "Celeb-DF-v2/Celeb-real/id0_0000.mp4";
    const REAL2: &str = "Celeb-DF-v2/Celeb-real/id1_0003.mp4";
    const YT: &str = "Celeb-DF-v2/YouTube-real/00170.mp4";
    const FAKE: &str = "Celeb-DF-v2/Celeb-synthesis/id0_id16_0000.mp4";
    const FAKE2: &str = "Celeb-DF-v2/Celeb-synthesis/id9_id1_0007.mp4";

    fn tree() -> Tree {
        Tree::with_videos(&[REAL, REAL2, YT, FAKE, FAKE2])
    }

    #[test]
    fn layout() {
        let out = tree().run(apply_layout);
        assert_eq!(out.layouts, vec!["celebdf"]);
        let real = info(&out, REAL);
        assert_eq!(real.label, Label::Real);
        assert_eq!(real.label_source, "layout:celebdf");
        assert_eq!(real.identity.as_deref(), Some("id0"));
        assert_eq!(real.split, None);
        let yt = info(&out, YT);
        assert_eq!(yt.label, Label::Real);
        assert_eq!(yt.identity, None);
        assert_eq!(yt.attrs["source"], "youtube");
        let fake = info(&out, FAKE);
        assert_eq!(fake.label, Label::Fake);
        assert_eq!(fake.method.as_deref(), Some("Celeb-synthesis"));
        assert_eq!(fake.identity.as_deref(), Some("id0"));
        assert_eq!(fake.original.as_deref(), Some(REAL));
        assert_eq!(fake.attrs["source_identity"], "id16");
        assert_eq!(
            info(&out, FAKE2).original.as_deref(),
            Some("Celeb-DF-v2/Celeb-real/id9_0007.mp4")
        );
    }

    #[test]
    fn test_list_uses_inverted_flags() {
        let mut tree = tree();
        tree.write(
            "Celeb-DF-v2/List_of_testing_videos.txt",
            b"1 YouTube-real/00170.mp4\n0 Celeb-synthesis/id0_id16_0000.mp4\n1 Celeb-real/id0_0000.mp4\n\n0 Celeb-synthesis/gone.mp4\n",
        );
        let out = tree.run(apply_metadata);
        assert!(out.concerns.is_empty(), "{:?}", out.concerns);
        assert_eq!(
            out.used_metadata,
            vec!["Celeb-DF-v2/List_of_testing_videos.txt"]
        );
        let yt = info(&out, YT);
        assert_eq!(yt.label, Label::Real);
        assert_eq!(
            yt.label_source,
            "metadata:Celeb-DF-v2/List_of_testing_videos.txt"
        );
        assert_eq!(yt.split.as_deref(), Some("test"));
        let fake = info(&out, FAKE);
        assert_eq!(fake.label, Label::Fake);
        assert_eq!(fake.split.as_deref(), Some("test"));
        assert_eq!(fake.original.as_deref(), Some(REAL));
        assert_eq!(info(&out, REAL).label, Label::Real);
        // Unlisted videos: train, label left to the layout.
        let rest = info(&out, REAL2);
        assert_eq!(rest.label, Label::Unknown);
        assert_eq!(rest.split.as_deref(), Some("train"));
        assert_eq!(info(&out, FAKE2).split.as_deref(), Some("train"));
    }

    #[test]
    fn extra_videos_folder_and_case() {
        let mut tree = Tree::with_videos(&["cdf/celeb-real/videos/id3_0001.mp4"]);
        tree.write(
            "cdf/list_of_testing_videos.txt",
            b"1 Celeb-real/id3_0001.mp4\n",
        );
        let out = tree.run(apply_metadata);
        assert_eq!(
            info(&out, "cdf/celeb-real/videos/id3_0001.mp4")
                .identity
                .as_deref(),
            Some("id3")
        );
    }

    #[test]
    fn malformed_lists() {
        for (bytes, reason) in [
            (&b""[..], "no entries"),
            (
                &b"2 YouTube-real/00170.mp4\n1 Celeb-real/id0_0000.mp4\n"[..],
                "1 malformed lines skipped; first: line 1 is not",
            ),
            (&b"1\n"[..], "line 1 names no file"),
            (&b"1 YouTube-real/\xff.mp4\n"[..], "not valid UTF-8"),
        ] {
            let mut tree = tree();
            tree.write("Celeb-DF-v2/List_of_testing_videos.txt", bytes);
            let out = tree.run(apply_metadata);
            assert_eq!(out.concerns.len(), 1, "{:?}", out.concerns);
            assert!(
                out.concerns[0].reason.contains(reason),
                "{:?}",
                out.concerns
            );
            // No `train` guesses from a list with bad lines.
            assert!(out
                .labels
                .values()
                .all(|l| l.split.as_deref() != Some("train")));
        }
    }
}
