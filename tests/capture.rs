//! The capture device from the file itself: a `.mov` tagged as an iPhone and
//! stored sideways with a display rotation reads `phone`; the same real
//! footage as a 25-fps 720p file without device tags does not; the capture
//! device becomes a selection axis. Sensor noise: the same real clip as an
//! untagged 4:3 VGA file reads `webcam` with a small sensor's grain and not
//! without it, and the grainy copy measures the higher noise level.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::ffmpeg;
use serde_json::Value;

/// `engine analyze ROOT --cpu --no-faces` into `out`: its inventory rows by
/// relative path.
fn inventory_of(root: &Path, out: &Path) -> BTreeMap<String, Value> {
    common::analyze_inventory(&[root], out, &["--cpu", "--no-faces"])
}

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
    let inv = inventory_of(&root, &dir.path().join("out"));
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

#[test]
fn grain_on_a_vga_clip_reads_webcam_and_the_clean_clip_does_not() {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/assets");
    let bikes = assets.join("bikes.mp4");
    let carphone = assets.join("carphone_pristine.mp4");
    assert!(
        bikes.is_file() && carphone.is_file(),
        "run `make models` first"
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("webcams");
    std::fs::create_dir_all(&root).unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    // Real footage (a street scene, a man in a car) as untagged 640x480 30
    // fps H.264 at x264's default quality, without and with FFmpeg's
    // temporal grain (strength 12, on every plane).
    let vga = |src: &Path, grain: bool, name: &str| {
        let filter = if grain {
            "scale=640:480,setsar=1,noise=alls=12:allf=t"
        } else {
            "scale=640:480,setsar=1"
        };
        ffmpeg(&[
            "-i",
            &s(src),
            "-vf",
            filter,
            "-r",
            "30",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "23",
            "-pix_fmt",
            "yuv420p",
            "-an",
            &s(&root.join(name)),
        ]);
    };
    vga(&bikes, false, "bikes_clean.mp4");
    vga(&bikes, true, "bikes_grain.mp4");
    vga(&carphone, false, "carphone_clean.mp4");
    vga(&carphone, true, "carphone_grain.mp4");
    let inv = inventory_of(&root, &dir.path().join("out"));
    let noise = |name: &str| {
        inv[name]["capture"]["noise_sigma_levels"]
            .as_f64()
            .unwrap_or_else(|| panic!("{name}: {}", inv[name]))
    };
    for clip in ["bikes", "carphone"] {
        let (clean, grain) = (format!("{clip}_clean.mp4"), format!("{clip}_grain.mp4"));
        assert!(
            noise(&grain) > 1.5 * noise(&clean),
            "{clip}: grain {} vs clean {}",
            noise(&grain),
            noise(&clean)
        );
        assert_eq!(
            inv[&grain]["capture"]["device"], "webcam",
            "{}",
            inv[&grain]["capture"]
        );
        assert!(inv[&grain]["capture"]["reason"]
            .as_str()
            .unwrap()
            .contains("noise"));
        assert_eq!(
            inv[&clean]["capture"]["device"], "unknown",
            "{}",
            inv[&clean]["capture"]
        );
    }
}
