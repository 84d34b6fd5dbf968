//! End-to-end: `engine analyze --no-faces` on a small tree of real encoded
//! videos laid out like the raw datasets (FaceForensics++ with masks and
//! split files, Celeb-DF-v2, the DFDC test release, the DFDC preview, UADFV)
//! with DeepfakeBench dataset JSON files inside; `inventory.jsonl` must carry
//! the label, method, split, official split and kind the datasets' own
//! documentation gives (issue 17, issue 15 item 1).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{engine, make_x264, read_jsonl};
use serde_json::{json, Value};

/// Every video of the tree, relative to the root.
const VIDEOS: &[&str] = &[
    "FaceForensics++/original_sequences/youtube/c23/videos/000.mp4",
    "FaceForensics++/original_sequences/youtube/c23/videos/002.mp4",
    "FaceForensics++/manipulated_sequences/Deepfakes/c23/videos/000_001.mp4",
    "FaceForensics++/manipulated_sequences/Deepfakes/c23/videos/002_003.mp4",
    "FaceForensics++/manipulated_sequences/Face2Face/c40/videos/000_001.mp4",
    "FaceForensics++/manipulated_sequences/Deepfakes/masks/videos/000_001.mp4",
    "FaceForensics++/manipulated_sequences/Face2Face/masks/videos/000_001.mp4",
    "Celeb-DF-v2/Celeb-real/id0_0000.mp4",
    "Celeb-DF-v2/Celeb-real/id1_0000.mp4",
    "Celeb-DF-v2/Celeb-synthesis/id0_id1_0000.mp4",
    "DFDC/test/videos/aaaaaaaaaa.mp4",
    "DFDC/test/videos/bbbbbbbbbb.mp4",
    "DFDCP/method_A/643049/643049_A/1255229_A_001.mp4",
    "DFDCP/method_B/1224068/1224068_C/2135766_B_003.mp4",
    "DFDCP/original_videos/1224068/1224068_C/2135766_B_003.mp4",
    "UADFV/real/0000.mp4",
    "UADFV/fake/0000_fake.mp4",
];

/// A DeepfakeBench entry with one frame path.
fn entry(class: &str, frame: &str) -> Value {
    json!({"label": class, "frames": [frame]})
}

/// Write `text` to `root/rel`.
fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The datasets' own metadata, and DeepfakeBench JSON files as its
/// `preprocessing/rearrange.py` writes them.
fn write_metadata(root: &Path) {
    write(
        root,
        "FaceForensics++/splits/train.json",
        r#"[["000", "001"]]"#,
    );
    write(
        root,
        "FaceForensics++/splits/test.json",
        r#"[["002", "003"]]"#,
    );
    write(
        root,
        "Celeb-DF-v2/List_of_testing_videos.txt",
        "1 Celeb-real/id0_0000.mp4\n0 Celeb-synthesis/id0_id1_0000.mp4\n",
    );
    write(
        root,
        "DFDC/test/labels.csv",
        "filename,label\naaaaaaaaaa.mp4,0\nbbbbbbbbbb.mp4,1\n",
    );
    write(
        root,
        "DFDCP/dataset.json",
        &json!({
            "method_A/643049/643049_A/1255229_A_001.mp4": {"label": "fake", "set": "train"},
            "method_B/1224068/1224068_C/2135766_B_003.mp4": {"label": "fake", "set": "test"},
            "original_videos/1224068/1224068_C/2135766_B_003.mp4": {"label": "real", "set": "test"}
        })
        .to_string(),
    );
    let ff = "FaceForensics++";
    let fr = |id: &str| {
        entry(
            "FF-real",
            &format!("{ff}/original_sequences/youtube/c23/frames/{id}/000.png"),
        )
    };
    let df = |id: &str| {
        entry(
            "FF-DF",
            &format!("{ff}/manipulated_sequences/Deepfakes/c23/frames/{id}/000.png"),
        )
    };
    let ff_df = json!({"FF-DF": {
        "FF-real": {"train": {"c23": {"000": fr("000")}}, "test": {"c23": {"002": fr("002")}}, "val": {"c23": {}}},
        "FF-DF": {"train": {"c23": {"000_001": df("000_001")}}, "test": {"c23": {"002_003": df("002_003")}}, "val": {"c23": {}}}
    }});
    // A Celeb-DF JSON that disagrees with the official list: the listed fake
    // filed under train only, and the listed real under val only.
    let cdf = json!({"Celeb-DF-v2": {
        "CelebDFv2_real": {"train": {}, "val": {"id0_0000": entry("CelebDFv2_real", "Celeb-DF-v2/Celeb-real/frames/id0_0000/000.png")}, "test": {}},
        "CelebDFv2_fake": {"train": {"id0_id1_0000": entry("CelebDFv2_fake", "Celeb-DF-v2/Celeb-synthesis/frames/id0_id1_0000/000.png")}, "val": {}, "test": {}}
    }});
    let ur = entry("UADFV_Real", "UADFV/real/frames/0000/000.png");
    let uf = entry("UADFV_Fake", "UADFV/fake/frames/0000_fake/000.png");
    let uadfv = json!({"UADFV": {
        "UADFV_Real": {"train": {"0000": ur}, "test": {"0000": ur}, "val": {"0000": ur}},
        "UADFV_Fake": {"train": {"0000_fake": uf}, "test": {"0000_fake": uf}, "val": {"0000_fake": uf}}
    }});
    write(root, "dataset_json/FF-DF.json", &ff_df.to_string());
    write(root, "dataset_json/Celeb-DF-v2.json", &cdf.to_string());
    write(root, "dataset_json/UADFV.json", &uadfv.to_string());
}

/// (label, method, split, official_split, kind) as inventory.jsonl writes them.
type Row<'a> = (
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    &'a str,
);

#[test]
fn inventory_labels_follow_the_datasets_documentation() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("datasets");
    for (i, rel) in VIDEOS.iter().enumerate() {
        // Tiny distinct clips: 2 s of 64x48, each with its own hue.
        make_x264(
            &root.join(rel),
            "testsrc2=s=64x48:r=10",
            2.0,
            &format!("hue=h={}", i * 20),
        );
    }
    write_metadata(&root);

    let out = dir.path().join("out");
    let o = engine(&[
        "analyze",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--cpu",
        "--no-faces",
        "--quiet",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let lines = read_jsonl(&out.join("inventory.jsonl"));
    assert_eq!(lines.len(), VIDEOS.len());
    let by_rel: BTreeMap<&str, &Value> = lines
        .iter()
        .map(|l| (l["rel_path"].as_str().unwrap(), l))
        .collect();
    let row = |rel: &str| -> Row<'_> {
        let l = by_rel
            .get(rel)
            .unwrap_or_else(|| panic!("{rel} not listed"));
        (
            l["label"].as_str().unwrap(),
            l["method"].as_str(),
            l["split"].as_str(),
            l["official_split"].as_str(),
            l["kind"].as_str().unwrap_or("<no kind>"),
        )
    };
    let (train, test) = (Some("train"), Some("test"));
    let expected: &[(&str, Row<'_>)] = &[
        // FF++: the split files are official; FF-DF and the folder are one method.
        (
            "FaceForensics++/original_sequences/youtube/c23/videos/000.mp4",
            ("real", None, train, train, "video"),
        ),
        (
            "FaceForensics++/original_sequences/youtube/c23/videos/002.mp4",
            ("real", None, test, test, "video"),
        ),
        (
            "FaceForensics++/manipulated_sequences/Deepfakes/c23/videos/000_001.mp4",
            ("fake", Some("Deepfakes"), train, train, "video"),
        ),
        (
            "FaceForensics++/manipulated_sequences/Deepfakes/c23/videos/002_003.mp4",
            ("fake", Some("Deepfakes"), test, test, "video"),
        ),
        (
            "FaceForensics++/manipulated_sequences/Face2Face/c40/videos/000_001.mp4",
            ("fake", Some("Face2Face"), train, train, "video"),
        ),
        // Masks of every method: masks, never fakes.
        (
            "FaceForensics++/manipulated_sequences/Deepfakes/masks/videos/000_001.mp4",
            ("unknown", Some("Deepfakes"), None, None, "mask"),
        ),
        (
            "FaceForensics++/manipulated_sequences/Face2Face/masks/videos/000_001.mp4",
            ("unknown", Some("Face2Face"), None, None, "mask"),
        ),
        // Celeb-DF: the official list outranks the JSON that disagrees.
        (
            "Celeb-DF-v2/Celeb-real/id0_0000.mp4",
            ("real", None, test, test, "video"),
        ),
        (
            "Celeb-DF-v2/Celeb-real/id1_0000.mp4",
            ("real", None, train, train, "video"),
        ),
        (
            "Celeb-DF-v2/Celeb-synthesis/id0_id1_0000.mp4",
            ("fake", Some("Celeb-synthesis"), test, test, "video"),
        ),
        // DFDC test release: labels.csv means test.
        (
            "DFDC/test/videos/aaaaaaaaaa.mp4",
            ("real", None, test, test, "video"),
        ),
        (
            "DFDC/test/videos/bbbbbbbbbb.mp4",
            ("fake", None, test, test, "video"),
        ),
        // DFDC preview: method_A / method_B.
        (
            "DFDCP/method_A/643049/643049_A/1255229_A_001.mp4",
            ("fake", Some("method_A"), train, train, "video"),
        ),
        (
            "DFDCP/method_B/1224068/1224068_C/2135766_B_003.mp4",
            ("fake", Some("method_B"), test, test, "video"),
        ),
        (
            "DFDCP/original_videos/1224068/1224068_C/2135766_B_003.mp4",
            ("real", None, test, test, "video"),
        ),
        // UADFV: filed under all three splits in the JSON, so no split.
        ("UADFV/real/0000.mp4", ("real", None, None, None, "video")),
        (
            "UADFV/fake/0000_fake.mp4",
            ("fake", None, None, None, "video"),
        ),
    ];
    // Every disagreement at once, so a failure shows the whole picture.
    let wrong: Vec<String> = expected
        .iter()
        .filter(|(rel, want)| row(rel) != *want)
        .map(|(rel, want)| format!("{rel}: got {:?}, want {want:?}", row(rel)))
        .collect();
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
    let ff_df = by_rel["FaceForensics++/manipulated_sequences/Deepfakes/c23/videos/000_001.mp4"];
    assert_eq!(ff_df["method_source"], "FF-DF");
    assert_eq!(
        ff_df["label_source"], "metadata:dataset_json/FF-DF.json",
        "the JSON labels it; its method still reads Deepfakes"
    );
    let mask = by_rel["FaceForensics++/manipulated_sequences/Deepfakes/masks/videos/000_001.mp4"];
    assert_eq!(mask["label_source"], "layout:ffpp_masks");
    // Masks are inventoried and counted as masks, never deduplicated (every
    // clip here is one test card in another hue, so the other videos do
    // cluster) and never candidates.
    let masks: Vec<&&Value> = by_rel.values().filter(|l| l["kind"] == "mask").collect();
    assert_eq!(masks.len(), 2);
    assert!(masks.iter().all(|m| m["cluster_id"].is_null()), "{masks:?}");
    assert!(
        lines
            .iter()
            .any(|l| l["kind"] == "video" && l["cluster_id"].is_u64()),
        "the hue-shifted test cards are expected to cluster"
    );
    let report = common::read_json(&out.join("report.json"));
    assert_eq!(report["totals"]["mask_videos"], 2);
    assert_eq!(
        report["totals"]["unknown_label_videos"],
        lines
            .iter()
            .filter(|l| l["label"] == "unknown" && l["kind"] == "video")
            .count()
    );
    let balance = common::read_json(&out.join("diversity_balance.json"));
    assert_eq!(
        balance["excluded"]["mask of manipulated pixels, not footage"],
        2
    );
    let cdf_fake = by_rel["Celeb-DF-v2/Celeb-synthesis/id0_id1_0000.mp4"];
    assert_eq!(
        cdf_fake["label_source"],
        "metadata:Celeb-DF-v2/List_of_testing_videos.txt"
    );
    assert_eq!(
        by_rel["DFDC/test/videos/bbbbbbbbbb.mp4"]["label_source"],
        "metadata:DFDC/test/labels.csv"
    );
    assert_eq!(
        by_rel["UADFV/fake/0000_fake.mp4"]["method_source"],
        "UADFV_Fake"
    );
}
