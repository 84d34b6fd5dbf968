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
