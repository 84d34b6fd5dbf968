//! The capture device from the file itself: a `.mov` tagged as an iPhone and
//! stored sideways with a display rotation reads `phone`; the same real
//! footage as a 25-fps 720p file without device tags does not; the capture
//! device becomes a selection axis.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{ffmpeg, read_jsonl};
use serde_json::Value;

#[test]
fn an_iphone_clip_reads_phone_and_a_pal_file_does_not() {
    let carphone =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models/assets/carphone_pristine.mp4");
    assert!(carphone.is_file(), "run `make models` first");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("phones");
    std::fs::create_dir_all(&root).unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    // Stored sideways (transposed), then remuxed with a 90° display rotation
    // and QuickTime's device tags, as an iPhone writes them.
    let sideways = dir.path().join("sideways.mp4");
    ffmpeg(&[
        "-i",
        &s(&carphone),
        "-vf",
        "scale=640:360,transpose=1",
        "-r",
        "30",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        &s(&sideways),
    ]);
    ffmpeg(&[
        "-i",
        &s(&sideways),
        "-c",
        "copy",
        "-metadata:s:v:0",
        "rotate=90",
        "-metadata",
        "com.apple.quicktime.make=Apple",
        "-metadata",
        "com.apple.quicktime.model=iPhone 12",
        "-metadata",
        "com.apple.quicktime.software=16.4",
        "-movflags",
        "use_metadata_tags",
        &s(&root.join("IMG_0001.mov")),
    ]);
    // The same footage at 25 fps, 1280x720, as FFmpeg writes it (no device tags).
    ffmpeg(&[
        "-i",
        &s(&carphone),
        "-vf",
        "scale=1280:720",
        "-r",
        "25",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        &s(&root.join("clip_720p25.mp4")),
    ]);
    let out = dir.path().join("out");
    let o = common::engine(&[
        "analyze",
        &s(&root),
        "--out",
        &s(&out),
        "--cpu",
        "--no-faces",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let inv: BTreeMap<String, Value> = read_jsonl(&out.join("inventory.jsonl"))
        .into_iter()
        .map(|l| (l["rel_path"].as_str().unwrap().to_string(), l))
        .collect();
    let phone = &inv["IMG_0001.mov"];
    assert_eq!(phone["rotation_deg"], 90, "{phone}");
    assert_eq!(phone["capture"]["device"], "phone", "{phone}");
    assert_eq!(phone["capture"]["make"], "Apple");
    assert_eq!(phone["capture"]["model"], "iPhone 12");
    assert_eq!(phone["capture"]["software"], "16.4");
    let pal = &inv["clip_720p25.mp4"];
    assert_ne!(pal["capture"]["device"], "phone", "{pal}");
    assert!(pal["capture"]["make"].is_null(), "{pal}");
    assert!(
        pal["capture"]["reason"]
            .as_str()
            .unwrap()
            .contains("25 fps"),
        "{pal}"
    );
}
