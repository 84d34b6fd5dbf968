//! Helpers shared by the integration tests and benches: real videos made with
//! the `ffmpeg` CLI, the engine binary, ffprobe as an independent oracle.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Run the `ffmpeg` CLI quietly with `args` (overwriting outputs); panics
/// naming the arguments when it fails.
pub fn ffmpeg(args: &[&str]) {
    let ok = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-y"])
        .args(args)
        .status()
        .expect("ffmpeg runs")
        .success();
    assert!(ok, "ffmpeg {args:?}");
}

/// Encode `seconds` of the lavfi `source` (e.g. `testsrc2=s=320x240:r=25`)
/// to `path` with extra output arguments (codec etc.; libx264 by default).
pub fn make_video(path: &Path, source: &str, seconds: f64, out_args: &[&str]) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    let mut cmd = Command::new("ffmpeg");
    cmd.args([
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        source,
    ])
    .args(["-t", &seconds.to_string()]);
    if out_args.is_empty() {
        cmd.args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ]);
    } else {
        cmd.args(out_args);
    }
    let status = cmd.arg(path).status().expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg failed to make {}", path.display());
}

/// Encode `seconds` of the lavfi `source` through the filter `vf` with
/// libx264 (ultrafast, yuv420p).
pub fn make_x264(path: &Path, source: &str, seconds: f64, vf: &str) {
    make_video(
        path,
        source,
        seconds,
        &[
            "-vf",
            vf,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ],
    );
}

/// Run the `engine` binary with `args`.
pub fn engine(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_engine"))
        .args(args)
        .output()
        .expect("engine runs")
}

/// Read a JSONL file into values.
pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("valid JSON line"))
        .collect()
}

/// Read a JSON file.
pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

/// What ffprobe says of a file: (codec, width, height, duration_s), or None if
/// ffprobe cannot read a video stream from it.
pub fn ffprobe(path: &Path) -> Option<(String, u32, u32, f64)> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .args([
            "stream=codec_name,width,height:format=duration",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    if !out.status.success() {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let s = v["streams"].get(0)?;
    Some((
        s["codec_name"].as_str()?.to_string(),
        s["width"].as_u64()? as u32,
        s["height"].as_u64()? as u32,
        v["format"]["duration"].as_str()?.parse().ok()?,
    ))
}

/// Build the demo corpus with the project's fixture script into `dir`.
pub fn demo_corpus(dir: &Path) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/make_demo_corpus.sh");
    let status = Command::new("bash")
        .arg(script)
        .arg(dir)
        .status()
        .expect("fixture script runs");
    assert!(status.success(), "fixture script failed");
    dir.to_path_buf()
}

/// The demo corpus's three roots, in the order `make demo` passes them.
pub const DEMO_ROOTS: [&str; 3] = ["dataset_3", "dataset2", "DEEPFAKE_DATASETS"];

/// `engine analyze` of the demo corpus at `demo` into `out`, quiet, with
/// `extra` flags.
pub fn analyze_demo(demo: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_engine"))
        .arg("analyze")
        .args(DEMO_ROOTS.iter().map(|r| demo.join(r)))
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(extra)
        .output()
        .expect("engine runs")
}

/// sha256 of every file under `root` (links followed once, loops skipped),
/// keyed by relative path. Directories are listed too (value "dir") so a new
/// empty directory is noticed.
pub fn tree_digest(root: &Path) -> BTreeMap<String, String> {
    use sha2::{Digest, Sha256};
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
    {
        let Ok(entry) = entry else { continue };
        let rel = entry
            .path()
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if entry.file_type().is_dir() {
            out.insert(rel, "dir".into());
        } else if let Ok(bytes) = std::fs::read(entry.path()) {
            out.insert(rel, format!("{:x}", Sha256::digest(&bytes)));
        } else {
            out.insert(rel, "unreadable".into());
        }
    }
    out
}
