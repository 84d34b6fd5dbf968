//! Tests of [`super::assign_labels`] on a root mixing several datasets:
//! adapter priority (metadata beats layout) and fallbacks.

use super::util::testing::{info, Tree};
use super::{assign_labels, Label};

const FF_000: &str = "FaceForensics++/original_sequences/youtube/c23/videos/000.mp4";
const FF_001: &str = "FaceForensics++/original_sequences/youtube/c23/videos/001.mp4";
const FF_FAKE: &str = "FaceForensics++/manipulated_sequences/Deepfakes/c23/videos/000_001.mp4";
const DFDC_REAL: &str = "dfdc/dfdc_train_part_3/aaa.mp4";
const DFDC_FAKE: &str = "dfdc/dfdc_train_part_3/bbb.mp4";
const CDF_REAL: &str = "Celeb-DF-v2/Celeb-real/id0_0000.mp4";
const CDF_FAKE: &str = "Celeb-DF-v2/Celeb-synthesis/id0_id1_0000.mp4";
const DFO_FAKE: &str = "DeeperForensics-1.0/manipulated_videos/end_to_end/000_M004.mp4";
const HOME_FAKE: &str = "home/fake/x.mp4";
const HOME_REAL: &str = "home/real/y.mp4";
const LOOSE: &str = "other/z.mp4";

fn mixed_root() -> Tree {
    let mut tree = Tree::with_videos(&[
        FF_000, FF_001, FF_FAKE, DFDC_REAL, DFDC_FAKE, CDF_REAL, CDF_FAKE, DFO_FAKE, HOME_FAKE,
        HOME_REAL, LOOSE,
    ]);
    tree.write("FaceForensics++/splits/train.json", br#"[["000", "001"]]"#);
    tree.write(
        "FaceForensics++/labels.json",
        br#"[{"file": "original_sequences/youtube/c23/videos/001.mp4", "label": "fake", "method": "reupload"}]"#,
    );
    tree.write(
        "dfdc/dfdc_train_part_3/metadata.json",
        br#"{"aaa.mp4": {"label": "REAL", "split": "train"},
             "bbb.mp4": {"label": "FAKE", "split": "train", "original": "aaa.mp4"}}"#,
    );
    tree.write(
        "Celeb-DF-v2/List_of_testing_videos.txt",
        b"1 Celeb-real/id0_0000.mp4\n",
    );
    tree.write("home/metadata.json", br#"{"fake/x.mp4": {"label": "re"#);
    tree.write("misc/config.json", br#"{"fps": 30}"#);
    tree
}

#[test]
fn mixed_root_priority_and_fallbacks() {
    let tree = mixed_root();
    let out = assign_labels(tree.files());
    assert_eq!(
        out.layouts,
        vec![
            "celebdf",
            "deeperforensics",
            "dfdc",
            "ffpp",
            "folder",
            "sidecar"
        ]
    );
    assert_eq!(
        out.used_metadata,
        vec![
            "Celeb-DF-v2/List_of_testing_videos.txt",
            "FaceForensics++/labels.json",
            "FaceForensics++/splits/train.json",
            "dfdc/dfdc_train_part_3/metadata.json",
        ]
    );
    // The truncated JSON is reported once; its folder's videos fall back to folder names.
    assert_eq!(out.concerns.len(), 1, "{:?}", out.concerns);
    assert_eq!(out.concerns[0].rel_path, "home/metadata.json");
    assert!(out.concerns[0]
        .reason
        .starts_with("invalid JSON at line 1 column"));
    assert_eq!(info(&out, HOME_FAKE).label, Label::Fake);
    assert_eq!(info(&out, HOME_FAKE).label_source, "layout:folder");
    assert_eq!(info(&out, HOME_REAL).label, Label::Real);
    assert!(!out.labels.contains_key(LOOSE));

    // Metadata beats layout: the sidecar calls an FF++ original fake.
    let overridden = info(&out, FF_001);
    assert_eq!(overridden.label, Label::Fake);
    assert_eq!(
        overridden.label_source,
        "metadata:FaceForensics++/labels.json"
    );
    assert_eq!(overridden.method.as_deref(), Some("reupload"));
    // ... while the layout and the splits still fill the gaps.
    assert_eq!(overridden.identity.as_deref(), Some("001"));
    assert_eq!(overridden.split.as_deref(), Some("train"));
    assert_eq!(overridden.attrs["compression"], "c23");

    let real = info(&out, FF_000);
    assert_eq!(
        (real.label, real.label_source.as_str()),
        (Label::Real, "layout:ffpp")
    );
    assert_eq!(real.split.as_deref(), Some("train"));
    let fake = info(&out, FF_FAKE);
    assert_eq!(fake.label, Label::Fake);
    assert_eq!(fake.original.as_deref(), Some(FF_000));
    assert_eq!(fake.split.as_deref(), Some("train"));

    let dfdc = info(&out, DFDC_FAKE);
    assert_eq!(
        dfdc.label_source,
        "metadata:dfdc/dfdc_train_part_3/metadata.json"
    );
    assert_eq!(dfdc.original.as_deref(), Some(DFDC_REAL));
    assert_eq!(info(&out, DFDC_REAL).label, Label::Real);

    let cdf_real = info(&out, CDF_REAL);
    assert_eq!(
        cdf_real.label_source,
        "metadata:Celeb-DF-v2/List_of_testing_videos.txt"
    );
    assert_eq!(cdf_real.split.as_deref(), Some("test"));
    let cdf_fake = info(&out, CDF_FAKE);
    assert_eq!(
        (cdf_fake.label, cdf_fake.label_source.as_str()),
        (Label::Fake, "layout:celebdf")
    );
    assert_eq!(cdf_fake.split.as_deref(), Some("train"));
    assert_eq!(cdf_fake.original.as_deref(), Some(CDF_REAL));

    let dfo = info(&out, DFO_FAKE);
    assert_eq!(dfo.label, Label::Fake);
    assert_eq!(dfo.identity.as_deref(), Some("M004"));
    assert_eq!(dfo.original.as_deref(), Some(FF_000));
    assert_eq!(dfo.attrs["gender"], "male");
}

#[test]
fn empty_root() {
    let tree = Tree::new(&[]);
    let out = assign_labels(tree.files());
    assert!(out.labels.is_empty() && out.concerns.is_empty() && out.layouts.is_empty());
}

#[test]
fn metadata_listed_but_missing_on_disk() {
    let mut tree = Tree::with_videos(&["a/fake/x.mp4"]);
    for rel in [
        "a/metadata.json",
        "a/labels.csv",
        "a/meta_data.csv",
        "a/List_of_testing_videos.txt",
    ] {
        tree.metadata.push(rel.to_string());
    }
    let out = assign_labels(tree.files());
    assert_eq!(out.concerns.len(), 4, "{:?}", out.concerns);
    assert!(out
        .concerns
        .iter()
        .all(|c| c.reason.starts_with("cannot be read")));
    assert_eq!(info(&out, "a/fake/x.mp4").label, Label::Fake);
}

// ---------------------------------------------------------------------------
// Trees laid out like each raw dataset (issue 17; issue 15 item 1): what
// `assign_labels` says must agree with the datasets' own documentation.

use super::{LabelInfo, LabelOutcome, VideoKind};

/// (label, method, split, official_split, kind) of one video.
type Facts<'a> = (
    Label,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    VideoKind,
);

/// The [`Facts`] of `rel`, for compact asserts.
fn facts<'a>(out: &'a LabelOutcome, rel: &str) -> Facts<'a> {
    let l: &LabelInfo = info(out, rel);
    (
        l.label,
        l.method.as_deref(),
        l.split.as_deref(),
        l.official_split.as_deref(),
        l.kind,
    )
}

const V: VideoKind = VideoKind::Video;

/// FaceForensics++ with DeepFakeDetection and FaceShifter, c23 and c40,
/// masks of every method and the official split files.
fn ffpp_tree(prefix: &str) -> Tree {
    let mut videos: Vec<String> = Vec::new();
    for comp in ["c23", "c40"] {
        for id in ["000", "001", "002", "003"] {
            videos.push(format!(
                "{prefix}original_sequences/youtube/{comp}/videos/{id}.mp4"
            ));
        }
        for method in [
            "Deepfakes",
            "Face2Face",
            "FaceSwap",
            "NeuralTextures",
            "FaceShifter",
        ] {
            for pair in ["000_001", "002_003"] {
                videos.push(format!(
                    "{prefix}manipulated_sequences/{method}/{comp}/videos/{pair}.mp4"
                ));
            }
        }
    }
    videos.push(format!(
        "{prefix}original_sequences/actors/c23/videos/01__talking_angry_couch.mp4"
    ));
    videos.push(format!(
        "{prefix}manipulated_sequences/DeepFakeDetection/c23/videos/01_02__talking_angry_couch__YVGY8LOK.mp4"
    ));
    for method in ["Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures"] {
        videos.push(format!(
            "{prefix}manipulated_sequences/{method}/masks/videos/000_001.mp4"
        ));
    }
    videos.push(format!(
        "{prefix}manipulated_sequences/DeepFakeDetection/masks/videos/01_02__talking_angry_couch__YVGY8LOK.mp4"
    ));
    let refs: Vec<&str> = videos.iter().map(String::as_str).collect();
    let mut tree = Tree::with_videos(&refs);
    tree.write(
        &format!("{prefix}splits/train.json"),
        br#"[["000", "001"]]"#,
    );
    tree.write(&format!("{prefix}splits/val.json"), br#"[["004", "005"]]"#);
    tree.write(&format!("{prefix}splits/test.json"), br#"[["003", "002"]]"#);
    tree
}

#[test]
fn ffpp_masks_are_masks_for_every_method() {
    let p = "FaceForensics++/";
    let out = assign_labels(ffpp_tree(p).files());
    assert!(out.concerns.is_empty(), "{:?}", out.concerns);
    for method in [
        "Deepfakes",
        "Face2Face",
        "FaceSwap",
        "NeuralTextures",
        "DeepFakeDetection",
    ] {
        let rel = if method == "DeepFakeDetection" {
            format!("{p}manipulated_sequences/{method}/masks/videos/01_02__talking_angry_couch__YVGY8LOK.mp4")
        } else {
            format!("{p}manipulated_sequences/{method}/masks/videos/000_001.mp4")
        };
        let mask = info(&out, &rel);
        assert_eq!(mask.label, Label::Unknown, "{rel}");
        assert_eq!(mask.kind, VideoKind::Mask, "{rel}");
        assert_eq!(mask.label_source, "layout:ffpp_masks", "{rel}");
        assert_eq!(mask.method.as_deref(), Some(method), "{rel}");
        assert_eq!(
            (mask.split.as_deref(), mask.official_split.as_deref()),
            (None, None)
        );
    }
}

#[test]
fn ffpp_split_files_are_official_for_every_method_and_compression() {
    let p = "FaceForensics++/";
    let out = assign_labels(ffpp_tree(p).files());
    for comp in ["c23", "c40"] {
        for method in [
            "Deepfakes",
            "Face2Face",
            "FaceSwap",
            "NeuralTextures",
            "FaceShifter",
        ] {
            let train = format!("{p}manipulated_sequences/{method}/{comp}/videos/000_001.mp4");
            let test = format!("{p}manipulated_sequences/{method}/{comp}/videos/002_003.mp4");
            assert_eq!(
                facts(&out, &train),
                (Label::Fake, Some(method), Some("train"), Some("train"), V),
                "{train}"
            );
            assert_eq!(
                facts(&out, &test),
                (Label::Fake, Some(method), Some("test"), Some("test"), V),
                "{test}"
            );
        }
        let orig = format!("{p}original_sequences/youtube/{comp}/videos/002.mp4");
        assert_eq!(
            facts(&out, &orig),
            (Label::Real, None, Some("test"), Some("test"), V)
        );
    }
    // DeepFakeDetection has no official split (FF++ splits list YouTube ids only).
    let dfd = format!(
        "{p}manipulated_sequences/DeepFakeDetection/c23/videos/01_02__talking_angry_couch__YVGY8LOK.mp4"
    );
    assert_eq!(
        facts(&out, &dfd),
        (Label::Fake, Some("DeepFakeDetection"), None, None, V)
    );
    let actor = format!("{p}original_sequences/actors/c23/videos/01__talking_angry_couch.mp4");
    assert_eq!(facts(&out, &actor), (Label::Real, None, None, None, V));
}

#[test]
fn celebdf_v1_and_v2_test_lists_are_the_official_split() {
    let mut tree = Tree::with_videos(&[
        "Celeb-DF/Celeb-real/id0_0000.mp4",
        "Celeb-DF/Celeb-real/id1_0001.mp4",
        "Celeb-DF/Celeb-synthesis/id0_id1_0000.mp4",
        "Celeb-DF/YouTube-real/00001.mp4",
        "Celeb-DF-v2/Celeb-real/id2_0000.mp4",
        "Celeb-DF-v2/Celeb-real/id3_0000.mp4",
        "Celeb-DF-v2/YouTube-real/00000.mp4",
        "Celeb-DF-v2/YouTube-real/00002.mp4",
        "Celeb-DF-v2/Celeb-synthesis/id2_id3_0000.mp4",
        "Celeb-DF-v2/Celeb-synthesis/id3_id2_0000.mp4",
    ]);
    tree.write(
        "Celeb-DF/List_of_testing_videos.txt",
        b"1 Celeb-real/id0_0000.mp4\n0 Celeb-synthesis/id0_id1_0000.mp4\n",
    );
    tree.write(
        "Celeb-DF-v2/List_of_testing_videos.txt",
        b"1 YouTube-real/00000.mp4\n1 Celeb-real/id2_0000.mp4\n0 Celeb-synthesis/id2_id3_0000.mp4\n",
    );
    let out = assign_labels(tree.files());
    assert!(out.concerns.is_empty(), "{:?}", out.concerns);
    let syn = Some("Celeb-synthesis");
    for (rel, label, method, split) in [
        (
            "Celeb-DF/Celeb-real/id0_0000.mp4",
            Label::Real,
            None,
            "test",
        ),
        (
            "Celeb-DF/Celeb-real/id1_0001.mp4",
            Label::Real,
            None,
            "train",
        ),
        (
            "Celeb-DF/YouTube-real/00001.mp4",
            Label::Real,
            None,
            "train",
        ),
        (
            "Celeb-DF/Celeb-synthesis/id0_id1_0000.mp4",
            Label::Fake,
            syn,
            "test",
        ),
        (
            "Celeb-DF-v2/Celeb-real/id2_0000.mp4",
            Label::Real,
            None,
            "test",
        ),
        (
            "Celeb-DF-v2/Celeb-real/id3_0000.mp4",
            Label::Real,
            None,
            "train",
        ),
        (
            "Celeb-DF-v2/YouTube-real/00000.mp4",
            Label::Real,
            None,
            "test",
        ),
        (
            "Celeb-DF-v2/YouTube-real/00002.mp4",
            Label::Real,
            None,
            "train",
        ),
        (
            "Celeb-DF-v2/Celeb-synthesis/id2_id3_0000.mp4",
            Label::Fake,
            syn,
            "test",
        ),
        (
            "Celeb-DF-v2/Celeb-synthesis/id3_id2_0000.mp4",
            Label::Fake,
            syn,
            "train",
        ),
    ] {
        assert_eq!(
            facts(&out, rel),
            (label, method, Some(split), Some(split), V),
            "{rel}"
        );
    }
}

/// DFDC: a training part with its metadata.json, the test release with its labels.csv.
fn dfdc_tree() -> Tree {
    let mut tree = Tree::with_videos(&[
        "DFDC/train/dfdc_train_part_0/aaa.mp4",
        "DFDC/train/dfdc_train_part_0/bbb.mp4",
        "DFDC/test/videos/ccc.mp4",
        "DFDC/test/videos/ddd.mp4",
    ]);
    tree.write(
        "DFDC/train/dfdc_train_part_0/metadata.json",
        br#"{"aaa.mp4": {"label": "REAL", "split": "train", "original": null},
             "bbb.mp4": {"label": "FAKE", "split": "train", "original": "aaa.mp4"}}"#,
    );
    tree.write(
        "DFDC/test/labels.csv",
        b"filename,label\nccc.mp4,0\nddd.mp4,1\n",
    );
    tree
}

#[test]
fn dfdc_training_parts_split_is_official() {
    let out = assign_labels(dfdc_tree().files());
    assert!(out.concerns.is_empty(), "{:?}", out.concerns);
    let t = Some("train");
    assert_eq!(
        facts(&out, "DFDC/train/dfdc_train_part_0/aaa.mp4"),
        (Label::Real, None, t, t, V)
    );
    assert_eq!(
        facts(&out, "DFDC/train/dfdc_train_part_0/bbb.mp4"),
        (Label::Fake, None, t, t, V)
    );
}

#[test]
fn dfdc_test_release_labels_csv_means_test() {
    let out = assign_labels(dfdc_tree().files());
    // The labels.csv of the test release: test, and officially so.
    let test = Some("test");
    assert_eq!(
        facts(&out, "DFDC/test/videos/ccc.mp4"),
        (Label::Real, None, test, test, V)
    );
    let ddd = info(&out, "DFDC/test/videos/ddd.mp4");
    assert_eq!(
        (
            ddd.label,
            ddd.split.as_deref(),
            ddd.official_split.as_deref()
        ),
        (Label::Fake, test, test)
    );
    assert_eq!(ddd.label_source, "metadata:DFDC/test/labels.csv");
}

#[test]
fn a_home_grown_labels_csv_gives_no_official_split() {
    let mut tree = Tree::with_videos(&["mine/clips/a.mp4", "mine/clips/b.mp4"]);
    tree.write("mine/labels.csv", b"filename,label\na.mp4,0\nb.mp4,1\n");
    let out = assign_labels(tree.files());
    assert_eq!(
        facts(&out, "mine/clips/b.mp4"),
        (Label::Fake, None, None, None, V)
    );
}

#[test]
fn dfdc_preview_methods_from_dataset_json() {
    let a = "DFDCP/method_A/643049/643049_A/1255229_A_001.mp4";
    let b = "DFDCP/method_B/1224068/1224068_C/2135766_B_003.mp4";
    let o = "DFDCP/original_videos/643049/643049_A/1255229_A_001.mp4";
    let mut tree = Tree::with_videos(&[a, b, o]);
    tree.write(
        "DFDCP/dataset.json",
        br#"{"method_A/643049/643049_A/1255229_A_001.mp4": {"label": "fake", "set": "train", "augmentations": "none"},
             "method_B/1224068/1224068_C/2135766_B_003.mp4": {"label": "fake", "set": "test"},
             "original_videos/643049/643049_A/1255229_A_001.mp4": {"label": "real", "set": "train"}}"#,
    );
    let out = assign_labels(tree.files());
    assert!(out.concerns.is_empty(), "{:?}", out.concerns);
    let t = Some("train");
    assert_eq!(facts(&out, a), (Label::Fake, Some("method_A"), t, t, V));
    assert_eq!(
        facts(&out, b),
        (Label::Fake, Some("method_B"), Some("test"), Some("test"), V)
    );
    assert_eq!(facts(&out, o), (Label::Real, None, t, t, V));
    assert_eq!(info(&out, a).label_source, "metadata:DFDCP/dataset.json");
}

#[test]
fn deeperforensics_split_lists_are_official() {
    let src = "DeeperForensics-1.0/source_videos/M004/M004_light_uniform_angry_camera_front.mp4";
    let f_train = "DeeperForensics-1.0/manipulated_videos/end_to_end/000_M004.mp4";
    let f_val = "DeeperForensics-1.0/manipulated_videos/end_to_end/001_W101.mp4";
    let f_test = "DeeperForensics-1.0/manipulated_videos/end_to_end/002_M004.mp4";
    let mut tree = Tree::with_videos(&[src, f_train, f_val, f_test]);
    tree.write(
        "DeeperForensics-1.0/lists/splits/train.txt",
        b"000_M004.mp4\n",
    );
    tree.write(
        "DeeperForensics-1.0/lists/splits/val.txt",
        b"001_W101.mp4\n",
    );
    tree.write(
        "DeeperForensics-1.0/lists/splits/test.txt",
        b"002_M004.mp4\n",
    );
    let out = assign_labels(tree.files());
    assert!(out.concerns.is_empty(), "{:?}", out.concerns);
    let m = Some("DF-VAE");
    for (rel, split) in [(f_train, "train"), (f_val, "val"), (f_test, "test")] {
        assert_eq!(
            facts(&out, rel),
            (Label::Fake, m, Some(split), Some(split), V),
            "{rel}"
        );
    }
    // Source videos are in no split list.
    assert_eq!(facts(&out, src), (Label::Real, None, None, None, V));
}

#[test]
fn uadfv_folders_give_labels_but_no_split() {
    let tree = Tree::with_videos(&["UADFV/real/0000.mp4", "UADFV/fake/0000_fake.mp4"]);
    let out = assign_labels(tree.files());
    assert_eq!(
        facts(&out, "UADFV/real/0000.mp4"),
        (Label::Real, None, None, None, V)
    );
    assert_eq!(
        facts(&out, "UADFV/fake/0000_fake.mp4"),
        (Label::Fake, None, None, None, V)
    );
}

/// A DeepfakeBench entry: `{"label": <class>, "frames": [<frame path>]}`.
fn dfb_entry(class: &str, frame: &str) -> serde_json::Value {
    serde_json::json!({"label": class, "frames": [frame]})
}

/// Raw FF++, Celeb-DF-v2, DFD, DFDC preview (without its dataset.json) and
/// UADFV, with the dataset JSON files DeepfakeBench's
/// `preprocessing/rearrange.py` writes for them under `dataset_json/`.
fn deepfakebench_tree() -> Tree {
    use serde_json::json;
    let ff = "FaceForensics++/";
    let mut tree = ffpp_tree(ff);
    for rel in [
        "Celeb-DF-v2/Celeb-real/id0_0000.mp4",
        "Celeb-DF-v2/Celeb-real/id1_0000.mp4",
        "Celeb-DF-v2/YouTube-real/00000.mp4",
        "Celeb-DF-v2/Celeb-synthesis/id0_id1_0000.mp4",
        "Celeb-DF-v2/Celeb-synthesis/id1_id0_0000.mp4",
        "DFDCP/method_A/643049/643049_A/1255229_A_001.mp4",
        "DFDCP/method_B/1224068/1224068_C/2135766_B_003.mp4",
        "DFDCP/original_videos/643049/643049_A/1255229_A_001.mp4",
        "UADFV/real/0000.mp4",
        "UADFV/fake/0000_fake.mp4",
    ] {
        tree.write(rel, b"");
    }
    tree.write(
        "Celeb-DF-v2/List_of_testing_videos.txt",
        b"1 Celeb-real/id0_0000.mp4\n0 Celeb-synthesis/id0_id1_0000.mp4\n",
    );
    // FF-DF.json as rearrange.py writes it: {label: {FF-real, label}}, per split and compression.
    let fr = |id: &str| {
        dfb_entry(
            "FF-real",
            &format!("{ff}original_sequences/youtube/c23/frames/{id}/000.png"),
        )
    };
    let df = |id: &str| {
        dfb_entry(
            "FF-DF",
            &format!("{ff}manipulated_sequences/Deepfakes/c23/frames/{id}/000.png"),
        )
    };
    let ff_df = json!({"FF-DF": {
        "FF-real": {
            "train": {"c23": {"000": fr("000"), "001": fr("001")}},
            "test": {"c23": {"002": fr("002"), "003": fr("003")}},
            "val": {"c23": {}}},
        "FF-DF": {
            "train": {"c23": {"000_001": df("000_001")}},
            "test": {"c23": {"002_003": df("002_003")}},
            "val": {"c23": {}}}}});
    // DFD: rearrange.py files every DFD video under all three splits.
    let dfd_name = "01_02__talking_angry_couch__YVGY8LOK";
    let dfd = dfb_entry(
        "DFD_fake",
        &format!("{ff}manipulated_sequences/DeepFakeDetection/c23/frames/{dfd_name}/000.png"),
    );
    let dfd_json = json!({"DeepFakeDetection": {"DFD_fake": {
        "train": {"c23": {dfd_name: dfd.clone()}},
        "test": {"c23": {dfd_name: dfd.clone()}},
        "val": {"c23": {dfd_name: dfd}}}}});
    // Celeb-DF-v2: every video under train, the listed ones under test and val
    // too; the real class is reset per folder, so Celeb-real's training
    // videos are lost (YouTube-real comes second).
    let cr = |n: &str| {
        dfb_entry(
            "CelebDFv2_real",
            &format!("Celeb-DF-v2/Celeb-real/frames/{n}/000.png"),
        )
    };
    let yr = |n: &str| {
        dfb_entry(
            "CelebDFv2_real",
            &format!("Celeb-DF-v2/YouTube-real/frames/{n}/000.png"),
        )
    };
    let cs = |n: &str| {
        dfb_entry(
            "CelebDFv2_fake",
            &format!("Celeb-DF-v2/Celeb-synthesis/frames/{n}/000.png"),
        )
    };
    let cdf = json!({"Celeb-DF-v2": {
        "CelebDFv2_real": {
            "train": {"00000": yr("00000")},
            "val": {"id0_0000": cr("id0_0000")},
            "test": {"id0_0000": cr("id0_0000")}},
        "CelebDFv2_fake": {
            "train": {"id0_id1_0000": cs("id0_id1_0000"), "id1_id0_0000": cs("id1_id0_0000")},
            "val": {"id0_id1_0000": cs("id0_id1_0000")},
            "test": {"id0_id1_0000": cs("id0_id1_0000")}}}});
    // DFDCP: `set` from dataset.json, and val a copy of test.
    let a = dfb_entry("DFDCP_FakeA", "DFDCP/method_A/frames/1255229_A_001/000.png");
    let b = dfb_entry("DFDCP_FakeB", "DFDCP/method_B/frames/2135766_B_003/000.png");
    let r = dfb_entry(
        "DFDCP_Real",
        "DFDCP/original_videos/frames/1255229_A_001/000.png",
    );
    let dfdcp = json!({"DFDCP": {
        "DFDCP_Real": {"train": {}, "test": {"1255229_A_001": r.clone()}, "val": {"1255229_A_001": r}},
        "DFDCP_FakeA": {"train": {"1255229_A_001": a}, "test": {}, "val": {}},
        "DFDCP_FakeB": {"train": {}, "test": {"2135766_B_003": b.clone()}, "val": {"2135766_B_003": b}}}});
    // UADFV: no official split, every video under all three.
    let ur = dfb_entry("UADFV_Real", "UADFV/real/frames/0000/000.png");
    let uf = dfb_entry("UADFV_Fake", "UADFV/fake/frames/0000_fake/000.png");
    let uadfv = json!({"UADFV": {
        "UADFV_Real": {"train": {"0000": ur.clone()}, "test": {"0000": ur.clone()}, "val": {"0000": ur}},
        "UADFV_Fake": {"train": {"0000_fake": uf.clone()}, "test": {"0000_fake": uf.clone()}, "val": {"0000_fake": uf}}}});
    for (name, value) in [
        ("FF-DF", ff_df),
        ("DeepFakeDetection", dfd_json),
        ("Celeb-DF-v2", cdf),
        ("DFDCP", dfdcp),
        ("UADFV", uadfv),
    ] {
        tree.write(
            &format!("dataset_json/{name}.json"),
            value.to_string().as_bytes(),
        );
    }
    tree
}

#[test]
fn deepfakebench_class_names_map_to_the_layouts_method_names() {
    let out = assign_labels(deepfakebench_tree().files());
    assert!(out.concerns.is_empty(), "{:?}", out.concerns);
    let ff = "FaceForensics++/";
    // One method, one name: FF-DF is Deepfakes, its class name kept beside it.
    let df = info(
        &out,
        &format!("{ff}manipulated_sequences/Deepfakes/c23/videos/000_001.mp4"),
    );
    assert_eq!(df.method.as_deref(), Some("Deepfakes"));
    assert_eq!(df.method_source.as_deref(), Some("FF-DF"));
    assert_eq!(
        (df.label, df.official_split.as_deref()),
        (Label::Fake, Some("train"))
    );
    // The c40 copy the JSON does not list: same method name, no class name.
    let df40 = info(
        &out,
        &format!("{ff}manipulated_sequences/Deepfakes/c40/videos/000_001.mp4"),
    );
    assert_eq!(df40.method.as_deref(), Some("Deepfakes"));
    assert_eq!(df40.method_source, None);
    // DFD under all three splits in the JSON: no split.
    let dfd = info(
        &out,
        &format!("{ff}manipulated_sequences/DeepFakeDetection/c23/videos/01_02__talking_angry_couch__YVGY8LOK.mp4"),
    );
    assert_eq!(dfd.method.as_deref(), Some("DeepFakeDetection"));
    assert_eq!(dfd.method_source.as_deref(), Some("DFD_fake"));
    assert_eq!(
        (dfd.split.as_deref(), dfd.official_split.as_deref()),
        (None, None)
    );
    // Masks stay masks even with a JSON naming their stem.
    let mask = info(
        &out,
        &format!("{ff}manipulated_sequences/Deepfakes/masks/videos/000_001.mp4"),
    );
    assert_eq!((mask.kind, mask.label), (VideoKind::Mask, Label::Unknown));
}

#[test]
fn deepfakebench_json_does_not_outrank_the_celebdf_test_list() {
    let out = assign_labels(deepfakebench_tree().files());
    // The official list outranks the JSON, which files the listed fake under
    // train as well.
    let listed_fake = info(&out, "Celeb-DF-v2/Celeb-synthesis/id0_id1_0000.mp4");
    assert_eq!(
        (
            listed_fake.split.as_deref(),
            listed_fake.official_split.as_deref()
        ),
        (Some("test"), Some("test"))
    );
    assert_eq!(
        listed_fake.label_source,
        "metadata:Celeb-DF-v2/List_of_testing_videos.txt"
    );
    assert_eq!(listed_fake.method.as_deref(), Some("Celeb-synthesis"));
    assert_eq!(listed_fake.method_source.as_deref(), Some("CelebDFv2_fake"));
    assert_eq!(
        facts(&out, "Celeb-DF-v2/Celeb-real/id0_0000.mp4"),
        (Label::Real, None, Some("test"), Some("test"), V)
    );
    // The Celeb-real training video DeepfakeBench drops: still real, train.
    assert_eq!(
        facts(&out, "Celeb-DF-v2/Celeb-real/id1_0000.mp4"),
        (Label::Real, None, Some("train"), Some("train"), V)
    );
    assert_eq!(
        info(&out, "Celeb-DF-v2/Celeb-real/id1_0000.mp4").label_source,
        "layout:celebdf"
    );
}

#[test]
fn deepfakebench_test_and_val_together_are_test() {
    let out = assign_labels(deepfakebench_tree().files());
    // DFDC preview from the JSON alone: class names give method_A/method_B;
    // test and val together are test.
    let a = info(&out, "DFDCP/method_A/643049/643049_A/1255229_A_001.mp4");
    assert_eq!(
        (
            a.label,
            a.method.as_deref(),
            a.method_source.as_deref(),
            a.official_split.as_deref()
        ),
        (
            Label::Fake,
            Some("method_A"),
            Some("DFDCP_FakeA"),
            Some("train")
        )
    );
    assert_eq!(
        facts(&out, "DFDCP/method_B/1224068/1224068_C/2135766_B_003.mp4"),
        (Label::Fake, Some("method_B"), Some("test"), Some("test"), V)
    );
    assert_eq!(
        facts(
            &out,
            "DFDCP/original_videos/643049/643049_A/1255229_A_001.mp4"
        ),
        (Label::Real, None, Some("test"), Some("test"), V)
    );
}

#[test]
fn deepfakebench_all_three_splits_mean_no_split() {
    let out = assign_labels(deepfakebench_tree().files());
    // UADFV under all three splits: labelled, no split; `UADFV_Fake` names no method.
    assert_eq!(
        facts(&out, "UADFV/real/0000.mp4"),
        (Label::Real, None, None, None, V)
    );
    let uf = info(&out, "UADFV/fake/0000_fake.mp4");
    assert_eq!(
        facts(&out, "UADFV/fake/0000_fake.mp4"),
        (Label::Fake, None, None, None, V)
    );
    assert_eq!(uf.method_source.as_deref(), Some("UADFV_Fake"));
    assert_eq!(uf.label_source, "metadata:dataset_json/UADFV.json");
}
