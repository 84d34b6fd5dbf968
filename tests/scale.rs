//! Issue 13 on real decoded video: the frame pass decodes only I and P
//! frames and records the time to the frame it pairs each sample with;
//! seeks are planned by GOP; the keyframe pass decodes only keyframes;
//! motion is per second; `--fake-sample` measures a stratified sample of
//! the fakes and links the rest by their keyframes; three shards merged by
//! `engine merge` write the bytes one run writes. ffprobe is the oracle for
//! frame types and times.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{make_video, read_json, read_jsonl};
use engine::frames::{sample_full, sample_keyframes, target_times};
use engine::probe;

/// (time, picture type, keyframe) of every frame, in presentation order.
fn ffprobe_frames(path: &Path) -> Vec<(f64, char, bool)> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .args(["frame=best_effort_timestamp_time,pict_type,key_frame"])
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut frames: Vec<(f64, char, bool)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            // key_frame, best_effort_timestamp_time, pict_type (ffprobe's order)
            let key = f[0] == "1";
            let t: f64 = f[1].parse().unwrap();
            (t, f[2].chars().next().unwrap(), key)
        })
        .collect();
    frames.sort_by(|a, b| a.0.total_cmp(&b.0));
    frames
}

fn info(path: &Path) -> probe::ProbeInfo {
    probe::probe(path, std::fs::metadata(path).unwrap().len()).unwrap()
}

/// x264 with up to 3 B-frames between references.
fn with_b_frames(path: &Path, source: &str, seconds: f64, gop: u32) {
    make_video(
        path,
        source,
        seconds,
        &[
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-bf",
            "3",
            "-g",
            &gop.to_string(),
            "-pix_fmt",
            "yuv420p",
        ],
    );
}

#[test]
fn frame_pass_decodes_only_i_and_p_frames_and_records_the_gap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.mp4");
    with_b_frames(&path, "testsrc2=s=320x240:r=30", 10.0, 250);
    let truth = ffprobe_frames(&path);
    let ip: Vec<f64> = truth
        .iter()
        .filter(|f| f.1 == 'I' || f.1 == 'P')
        .map(|f| f.0)
        .collect();
    let b = truth.iter().filter(|f| f.1 == 'B').count();
    assert!(
        b > truth.len() / 2,
        "the clip has B-frames: {b} of {}",
        truth.len()
    );
    let s = sample_full(&path, &info(&path), 16, 4).unwrap();
    // Only I and P frames come out of the decoder, and not all of them.
    assert!(
        s.decoded_frames <= ip.len(),
        "decoded {} frames, the clip has {} I/P frames",
        s.decoded_frames,
        ip.len()
    );
    assert_eq!(s.frames.len(), 16);
    let targets = target_times(10.0, 16);
    let near = |a: f64, b: f64| (a - b).abs() < 1e-3;
    for (f, target) in s.frames.iter().zip(&targets) {
        // The sample is the first I/P frame at or after its time...
        let want = ip.iter().copied().find(|&t| t + 1e-6 >= *target).unwrap();
        assert!(
            near(f.t_s, want),
            "sample {} for {target}: want {want}",
            f.t_s
        );
        // ...paired with the next I/P frame, and the gap says how far that is.
        let next = ip.iter().copied().find(|&t| t > f.t_s + 1e-6).unwrap();
        let gap = f.next_gap_s.expect("a next frame");
        assert!(near(gap, next - f.t_s), "gap {gap}, want {}", next - f.t_s);
        assert!(
            gap > 1.5 / 30.0,
            "B-frames skipped: the gap spans them ({gap})"
        );
        assert!(f.next_luma.is_some());
    }
    assert_eq!(s.frames.iter().filter(|f| f.face.is_some()).count(), 4);
}

#[test]
fn gop_planned_seeks_bound_the_decoding_of_long_videos() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.mp4");
    // 120 s, a keyframe every 2 s.
    with_b_frames(&path, "testsrc2=s=160x120:r=30", 120.0, 60);
    let truth = ffprobe_frames(&path);
    let ip = truth.iter().filter(|f| f.1 != 'B').count();
    let keys: Vec<f64> = truth.iter().filter(|f| f.2).map(|f| f.0).collect();
    assert!(keys.len() >= 55, "{} keyframes", keys.len());
    let s = sample_full(&path, &info(&path), 16, 0).unwrap();
    assert_eq!(s.frames.len(), 16);
    // Each sample costs at most the I/P frames of its GOP up to it, plus
    // the frame after it: far below decoding every I/P frame.
    let per_gop = ip as f64 / keys.len() as f64;
    let bound = (16.0 * (per_gop + 2.0)) as usize;
    assert!(
        s.decoded_frames <= bound && s.decoded_frames * 4 < ip,
        "decoded {} (bound {bound}, {ip} I/P frames)",
        s.decoded_frames
    );
    for (f, target) in s.frames.iter().zip(target_times(120.0, 16)) {
        assert!(
            f.t_s + 1e-6 >= target && f.t_s < target + 0.5,
            "{} for {target}",
            f.t_s
        );
    }
}

#[test]
fn keyframe_pass_decodes_only_the_keyframes_nearest_the_sample_times() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.mp4");
    with_b_frames(&path, "testsrc2=s=160x120:r=30", 40.0, 90);
    let keys: Vec<f64> = ffprobe_frames(&path)
        .iter()
        .filter(|f| f.2)
        .map(|f| f.0)
        .collect();
    let s = sample_keyframes(&path, &info(&path), 8).unwrap();
    assert_eq!(
        s.decoded_frames,
        s.frames.len(),
        "one decode per keyframe kept"
    );
    let mut want: Vec<f64> = target_times(40.0, 8)
        .iter()
        .map(|t| {
            *keys
                .iter()
                .min_by(|a, b| (*a - t).abs().total_cmp(&(*b - t).abs()))
                .unwrap()
        })
        .collect();
    want.dedup();
    let got: Vec<f64> = s.frames.iter().map(|f| f.t_s).collect();
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-3, "{got:?} vs {want:?}");
    }
    assert!(s
        .frames
        .iter()
        .all(|f| f.next_luma.is_none() && f.face.is_none()));
}

/// `engine analyze --cpu` of `roots` into `out` with `extra` flags;
/// inventory lines by relative path.
fn analyse(roots: &[&Path], out: &Path, extra: &[&str]) -> BTreeMap<String, serde_json::Value> {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut flags = vec!["--cpu", "--models", models.to_str().unwrap()];
    flags.extend_from_slice(extra);
    common::analyze_inventory(roots, out, &flags)
}

#[test]
fn motion_is_per_second_whatever_the_gap() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("m");
    // One slow pan, encoded with B-frames (the pass pairs P with the next
    // P, several frames on) and without (every frame decoded).
    let pan = "testsrc2=s=960x360:r=30,crop=320:240:'t*60':60";
    with_b_frames(&root.join("with_b.mp4"), pan, 8.0, 250);
    make_video(
        &root.join("no_b.mp4"),
        pan,
        8.0,
        &[
            "-c:v", "libx264", "-preset", "veryfast", "-bf", "0", "-pix_fmt", "yuv420p",
        ],
    );
    let inv = analyse(&[&root], &dir.path().join("o"), &["--no-faces"]);
    let q = |n: &str| inv[n]["quality"].clone();
    let gap = |n: &str| q(n)["motion_gap_s"]["median"].as_f64().unwrap();
    let rate = |n: &str| q(n)["motion_per_s"]["median"].as_f64().unwrap();
    assert!(
        (gap("no_b.mp4") - 1.0 / 30.0).abs() < 1e-3,
        "{}",
        gap("no_b.mp4")
    );
    assert!(
        gap("with_b.mp4") >= 2.0 / 30.0 - 1e-3,
        "{}",
        gap("with_b.mp4")
    );
    let (a, b) = (rate("with_b.mp4"), rate("no_b.mp4"));
    assert!(b > 10.0, "the pan moves: {b}/s");
    assert!(
        (a / b - 1.0).abs() < 0.35,
        "per second: {a} with B-frames, {b} without"
    );
    assert_eq!(q("with_b.mp4")["motion"], q("no_b.mp4")["motion"]);
}

/// A small DFDC-style root: 3 originals and 2 fakes of each (the DfdcClip
/// footage at 320x180: a face photo panned slowly, the fakes recoloured or
/// softened where the face is; 10 s, B-frames, a keyframe every 2 s), plus a
/// zero-byte file.
fn small_dfdc(root: &Path) {
    let part = root.join("dfdc_train_part_0");
    let mut meta = common::dfdc_part(
        &part,
        &["grace_hopper.jpg", "astronaut.png", "camera.png"],
        6,
        2,
    );
    std::fs::write(part.join("empty.mp4"), b"").unwrap();
    meta.insert("empty.mp4".into(), serde_json::json!({"label": "REAL"}));
    common::write_json_object(&part.join("metadata.json"), meta);
}

/// A second root, folder layout: two reals (one a mirrored copy of the
/// first DFDC original, so dedup sees it across roots) and one fake.
fn small_folders(root: &Path, dfdc: &Path) {
    with_b_frames(
        &root.join("real/pan.mp4"),
        "testsrc2=s=320x240:r=25,hflip",
        6.0,
        50,
    );
    std::fs::create_dir_all(root.join("real")).unwrap();
    std::fs::copy(
        dfdc.join("dfdc_train_part_0/real_1.mp4"),
        root.join("real/copy_of_real_1.mp4"),
    )
    .unwrap();
    with_b_frames(
        &root.join("fake/f.mp4"),
        "mandelbrot=s=320x240:r=25,hue=h=40",
        6.0,
        50,
    );
}

/// Every output of a run (the merge writes the same set).
const OUTPUTS: &[&str] = engine::report::OUTPUT_FILES;

#[test]
fn fake_sample_shards_and_merge() {
    let dir = tempfile::tempdir().unwrap();
    let dfdc = dir.path().join("dfdc");
    small_dfdc(&dfdc);
    let folders = dir.path().join("mixed");
    small_folders(&folders, &dfdc);
    let roots: [&Path; 2] = [&dfdc, &folders];
    let flags = ["--fake-sample", "1", "--frames", "8", "--face-frames", "2"];

    // One machine.
    let single = dir.path().join("single");
    let inv = analyse(&roots, &single, &flags);
    let pass = |rel: &str| inv[rel]["frame_pass"].as_str().map(str::to_string);
    let dfdc_fakes: Vec<String> = inv
        .keys()
        .filter(|k| k.starts_with("dfdc_train_part_0/fake_"))
        .cloned()
        .collect();
    assert_eq!(dfdc_fakes.len(), 6);
    let full: Vec<&String> = dfdc_fakes
        .iter()
        .filter(|f| pass(f).as_deref() == Some("full"))
        .collect();
    assert_eq!(full.len(), 1, "--fake-sample 1: one DFDC fake measured");
    for f in &dfdc_fakes {
        let line = &inv[f.as_str()];
        if pass(f).as_deref() == Some("keyframes") {
            assert!(
                line["quality"].is_null() && line["faces"].is_null(),
                "{line}"
            );
        } else {
            assert!(line["quality"].is_object());
        }
    }
    for r in ["dfdc_train_part_0/real_0.mp4", "real/pan.mp4", "fake/f.mp4"] {
        assert_eq!(pass(r).as_deref(), Some("full"), "{r}");
    }
    assert_eq!(pass("dfdc_train_part_0/empty.mp4"), None);
    let report = read_json(&single.join("report.json"));
    let row = &report["fake_catalog"]["dfdc"]["methods"]["unspecified"];
    assert_eq!(row["count"], 6, "{row}");
    assert_eq!(row["measured_fakes"], 1, "{row}");
    // The keyframe-pass fakes are still linked to their originals by content.
    let dedup = read_json(&single.join("dedup_report.json"));
    let links: BTreeMap<String, (String, String)> = dedup["fake_original_links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["fake"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
                (
                    l["original_by_content"]
                        .as_str()
                        .unwrap()
                        .rsplit('/')
                        .next()
                        .unwrap()
                        .to_string(),
                    l["metadata_check"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect();
    let keyframe_fakes: Vec<&String> = dfdc_fakes
        .iter()
        .filter(|f| pass(f).as_deref() == Some("keyframes"))
        .collect();
    let linked = keyframe_fakes
        .iter()
        .filter(|f| {
            let name = f.rsplit('/').next().unwrap();
            let i = &name[5..6];
            links
                .get(name)
                .is_some_and(|(o, check)| o == &format!("real_{i}.mp4") && check == "agrees")
        })
        .count();
    assert!(
        linked * 5 >= keyframe_fakes.len() * 4,
        "{linked} of {} keyframe-pass fakes linked: {links:?}",
        keyframe_fakes.len()
    );

    // Three shards (one from a Kubernetes-style environment) and a merge.
    let mut shard_dirs: Vec<PathBuf> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for i in 0..3 {
        let out = dir.path().join(format!("shard_{i}"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_engine"));
        cmd.arg("analyze").args(roots).arg("--out").arg(&out);
        cmd.args(["--cpu", "--quiet", "--models"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("models"))
            .args(flags);
        if i == 2 {
            cmd.env("JOB_COMPLETION_INDEX", "2")
                .env("ENGINE_SHARD_COUNT", "3");
        } else {
            cmd.args(["--shard", &format!("{i}/3")]);
        }
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(stdout.contains(&format!("shard {i}/3")), "{stdout}");
        // A shard writes its own inventory and no global output.
        for line in read_jsonl(&out.join("inventory.jsonl")) {
            assert!(seen.insert(line["path"].as_str().unwrap().to_string()));
        }
        assert!(!out.join("report.json").exists());
        assert!(out.join("shard.json").is_file());
        shard_dirs.push(out);
    }
    assert_eq!(seen.len(), inv.len(), "the shards partition the files");
    let merge = |dirs: &[PathBuf], out: &Path| {
        Command::new(env!("CARGO_BIN_EXE_engine"))
            .arg("merge")
            .args(dirs)
            .arg("--out")
            .arg(out)
            .arg("--quiet")
            .output()
            .unwrap()
    };
    let merged = dir.path().join("merged");
    let o = merge(
        &[
            shard_dirs[2].clone(),
            shard_dirs[0].clone(),
            shard_dirs[1].clone(),
        ],
        &merged,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in OUTPUTS {
        let (a, b) = (
            std::fs::read(single.join(f)).unwrap(),
            std::fs::read(merged.join(f)).unwrap(),
        );
        assert!(a == b, "{f} differs between the single run and the merge");
    }
    // The merged catalog holds every result: a rerun of the single-machine
    // command on it analyses nothing again and writes the same bytes.
    let o = Command::new(env!("CARGO_BIN_EXE_engine"))
        .arg("analyze")
        .args(roots)
        .arg("--out")
        .arg(&merged)
        .args(["--cpu", "--quiet", "--models"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("models"))
        .args(flags)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains(" 0 probed now, 0 frame-analysed now, 0 keyframe-analysed now"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read(single.join("report.json")).unwrap(),
        std::fs::read(merged.join("report.json")).unwrap()
    );

    // Refusals: a shard missing, and a shard of another run.
    let o = merge(&shard_dirs[..2], &dir.path().join("m2"));
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("missing: 2/3"), "{err}");
    let other = dir.path().join("other_0");
    let o = Command::new(env!("CARGO_BIN_EXE_engine"))
        .arg("analyze")
        .args(roots)
        .arg("--out")
        .arg(&other)
        .args(["--cpu", "--quiet", "--no-faces", "--shard", "0/3"])
        .args(["--fake-sample", "1", "--frames", "8"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let o = merge(
        &[other, shard_dirs[1].clone(), shard_dirs[2].clone()],
        &dir.path().join("m3"),
    );
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("differ in options"), "{err}");
}
