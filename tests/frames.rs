//! The frame pass end to end on real encoded video: planted dark, blurry and
//! static videos get those classes, a normal one gets none of them, and a
//! rescaled, re-encoded copy gets the same classes as its source.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::make_x264;
use serde_json::Value;

/// A camera-like scene: moving test card, light sensor noise.
const SCENE: &str = "testsrc2=s=640x360:r=25";
const SCENE_FILTER: &str = "noise=alls=6:allf=t:all_seed=1";

fn analyse(root: &Path, out: &Path, extra: &[&str]) -> BTreeMap<String, Value> {
    common::analyze_inventory(&[root], out, extra)
}

fn classes(line: &Value) -> (String, String, String) {
    let q = &line["quality"];
    assert!(q.is_object(), "no quality for {line}");
    let s = |k: &str| q[k].as_str().unwrap().to_string();
    (s("lighting"), s("sharpness"), s("motion"))
}

#[test]
fn planted_dark_blurry_static_videos_are_classified_so_and_copies_agree() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("planted");
    make_x264(&root.join("normal.mp4"), SCENE, 4.0, SCENE_FILTER);
    make_x264(
        &root.join("dark.mp4"),
        SCENE,
        4.0,
        &format!("{SCENE_FILTER},eq=brightness=-0.45:contrast=0.4"),
    );
    make_x264(
        &root.join("blurry.mp4"),
        SCENE,
        4.0,
        &format!("{SCENE_FILTER},gblur=sigma=6"),
    );
    // A still image looped: nothing moves but codec noise.
    let still = dir.path().join("still.png");
    let ok = std::process::Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            SCENE,
            "-frames:v",
            "1",
        ])
        .arg(&still)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let status = std::process::Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-loglevel",
            "error",
            "-loop",
            "1",
            "-framerate",
            "25",
            "-i",
        ])
        .arg(&still)
        .args([
            "-t",
            "4",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ])
        .arg(root.join("static.mp4"))
        .status()
        .unwrap();
    assert!(status.success());
    // Rescaled, re-encoded copies of the normal and the dark video.
    for (src, dst, size) in [
        ("normal.mp4", "normal_1080p.mkv", "1920:1080"),
        ("normal.mp4", "normal_180p.mp4", "320:180"),
        ("dark.mp4", "dark_720p.mp4", "1280:720"),
        ("blurry.mp4", "blurry_1080p.mp4", "1920:1080"),
    ] {
        let status = std::process::Command::new("ffmpeg")
            .args(["-nostdin", "-loglevel", "error", "-i"])
            .arg(root.join(src))
            .args([
                "-vf",
                &format!("scale={size}"),
                "-c:v",
                "libx264",
                "-crf",
                "30",
                "-preset",
                "ultrafast",
            ])
            .arg(root.join(dst))
            .status()
            .unwrap();
        assert!(status.success());
    }

    let lines = analyse(&root, &dir.path().join("out"), &["--cpu"]);
    let (light, sharp, motion) = classes(&lines["normal.mp4"]);
    assert_ne!(light, "low_light");
    assert_ne!(sharp, "blurry");
    assert_ne!(motion, "static");
    assert_eq!(classes(&lines["dark.mp4"]).0, "low_light");
    assert_eq!(classes(&lines["blurry.mp4"]).1, "blurry");
    assert_eq!(classes(&lines["static.mp4"]).2, "static");
    for (copy, src) in [
        ("normal_1080p.mkv", "normal.mp4"),
        ("normal_180p.mp4", "normal.mp4"),
        ("dark_720p.mp4", "dark.mp4"),
        ("blurry_1080p.mp4", "blurry.mp4"),
    ] {
        assert_eq!(
            classes(&lines[copy]),
            classes(&lines[src]),
            "{copy} vs {src}"
        );
    }
    // 16 frames by default, each summarised with a spread.
    let q = &lines["normal.mp4"]["quality"];
    assert_eq!(q["frames_sampled"], 16);
    let lap = &q["laplacian_var"];
    assert!(
        lap["p10"].as_f64() <= lap["median"].as_f64()
            && lap["median"].as_f64() <= lap["p90"].as_f64()
    );
}

#[test]
fn gpu_path_on_lavapipe_matches_cpu_path_through_the_whole_run() {
    if engine::stats::list_adapters().is_empty() {
        // CI installs lavapipe through `make test`: there a skip would hide a broken setup.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI has no Vulkan adapter: is mesa-vulkan-drivers installed?"
        );
        eprintln!("SKIPPED: no Vulkan adapter (install mesa-vulkan-drivers: make test does)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("r");
    make_x264(&root.join("a.mp4"), SCENE, 3.0, SCENE_FILTER);
    make_x264(
        &root.join("b.mp4"),
        "mandelbrot=s=320x240:r=25",
        3.0,
        "null",
    );
    let cpu = analyse(&root, &dir.path().join("cpu"), &["--cpu"]);
    // --gpu with the software adapter allowed: the real shaders on lavapipe.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_engine"))
        .args([
            "analyze",
            root.to_str().unwrap(),
            "--quiet",
            "--gpu",
            "--out",
        ])
        .arg(dir.path().join("gpu"))
        .env(engine::stats::ALLOW_SOFTWARE_GPU_ENV, "1")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let gpu = common::inventory_by_rel_path(&dir.path().join("gpu"));
    for (k, line) in &cpu {
        assert!(line["quality"].is_object());
        // Integer reductions are identical on both paths, so the JSON is too.
        assert_eq!(line["quality"], gpu[k]["quality"], "{k}");
    }
}

#[test]
fn gpu_flag_without_a_gpu_fails_naming_the_adapters_found() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_engine"))
        .args(["analyze", root.to_str().unwrap(), "--gpu", "--out"])
        .arg(dir.path().join("out"))
        .env_remove(engine::stats::ALLOW_SOFTWARE_GPU_ENV)
        .output()
        .unwrap();
    let adapters = engine::stats::list_adapters();
    if adapters.iter().any(|a| !a.contains("[Cpu")) {
        eprintln!("SKIPPED: this machine has a GPU: {adapters:?}");
        return;
    }
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no GPU adapter found"), "{err}");
    let named = if adapters.is_empty() {
        "none".to_string()
    } else {
        adapters[0].clone()
    };
    assert!(err.contains(&named), "{err} should name {named}");
}
