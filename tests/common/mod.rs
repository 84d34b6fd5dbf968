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

/// The inventory lines of an output folder, by relative path.
pub fn inventory_by_rel_path(out: &Path) -> BTreeMap<String, serde_json::Value> {
    read_jsonl(&out.join("inventory.jsonl"))
        .into_iter()
        .map(|l| (l["rel_path"].as_str().unwrap().to_string(), l))
        .collect()
}

/// `engine analyze ROOTS --out OUT --quiet FLAGS`, which must exit 0; its
/// inventory lines by relative path.
pub fn analyze_inventory(
    roots: &[&Path],
    out: &Path,
    flags: &[&str],
) -> BTreeMap<String, serde_json::Value> {
    let o = Command::new(env!("CARGO_BIN_EXE_engine"))
        .arg("analyze")
        .args(roots)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(flags)
        .output()
        .expect("engine runs");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    inventory_by_rel_path(out)
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

/// A DFDC-like clip: 10 s of a face photo from `models/assets` (after
/// `make models`) panned and zoomed slowly like a hand-held camera, with
/// temporal sensor noise, 30 fps, H.264 High with B-frames (libx264
/// `veryfast`, x264's default GOP of 250 frames), about 3 Mb/s, no audio.
/// `portrait`: 1080x1920 instead of 1920x1080; `mirror` flips it (another
/// "actor" for dedup); `phase` shifts the camera path; `fake`: a face-swap
/// stand-in, the middle of the frame (where the face is) recoloured and
/// softened, so a fake stays close to its original everywhere else.
#[derive(Debug, Clone, Copy)]
pub struct DfdcClip {
    /// File in `models/assets` (`grace_hopper.jpg`, `astronaut.png`).
    pub asset: &'static str,
    /// 1080x1920 instead of 1920x1080.
    pub portrait: bool,
    /// Mirror the picture.
    pub mirror: bool,
    /// Shift of the camera path (radians).
    pub phase: f64,
    /// 0: an original; 1, 2: two fakes of it (different alterations).
    pub fake: u8,
    /// Divide the frame size by this (1: DFDC's 1920x1080; the bitrate
    /// follows the pixel count).
    pub shrink: u32,
    /// Keyframe interval in frames (None: x264's default, 250).
    pub gop: Option<u32>,
}

impl DfdcClip {
    /// A DFDC-size original of `asset`.
    pub fn new(asset: &'static str) -> DfdcClip {
        DfdcClip {
            asset,
            portrait: false,
            mirror: false,
            phase: 0.0,
            fake: 0,
            shrink: 1,
            gop: None,
        }
    }
}

impl DfdcClip {
    /// The ffmpeg filter graph from the looped still (input 0) to `[v]`.
    fn graph(&self) -> String {
        let (w, h) = if self.portrait {
            (1080, 1920)
        } else {
            (1920, 1080)
        };
        // The photo fitted whole (the face stays in view) over a blurred,
        // scaled-up copy of itself, 12% larger than the frame; the frame
        // pans over it along a slow path (a period of ~20 s).
        let (sw, sh) = (w * 112 / 100, h * 112 / 100);
        let p = self.phase;
        let mut g = format!(
            "[0]split[f][b];[b]scale={sw}:{sh}:force_original_aspect_ratio=increase,\
             crop={sw}:{sh},scale=iw/16:-2,scale={sw}:{sh}[bg];\
             [f]scale={sw}:{sh}:force_original_aspect_ratio=decrease[fg];\
             [bg][fg]overlay=(W-w)/2:(H-h)/2,\
             crop={w}:{h}:'(iw-{w})/2*(1+sin(t/3+{p}))':'(ih-{h})/2*(1+cos(t/3.7+{p}))'"
        );
        if self.mirror {
            g.push_str(",hflip");
        }
        g.push_str(",noise=alls=6:allf=t,setsar=1");
        match self.fake {
            0 => g.push_str("[v]"),
            n => {
                let look = if n == 1 {
                    "hue=h=18:s=1.25,eq=brightness=0.03"
                } else {
                    "boxblur=3:1,eq=contrast=1.1"
                };
                g.push_str(&format!(
                    ",split[a][b];[b]crop=iw*0.34:ih*0.3:iw*0.33:ih*0.22,{look}[f];\
                     [a][f]overlay=W*0.33:H*0.22[v]"
                ));
            }
        }
        g
    }

    /// Encode it to `path` (skipped when `path` exists: benches keep their clips).
    pub fn make(&self, path: &Path) {
        if path.is_file() {
            return;
        }
        let asset = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("models/assets")
            .join(self.asset);
        assert!(asset.is_file(), "{}: run `make models`", asset.display());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let tmp = path.with_extension("part.mp4");
        let status = Command::new("ffmpeg")
            .args(["-nostdin", "-loglevel", "error", "-y", "-loop", "1"])
            .args(["-framerate", "30", "-i"])
            .arg(&asset)
            .args(["-filter_complex", &self.graph(), "-map", "[v]", "-t", "10"])
            .args([
                "-c:v",
                "libx264",
                "-profile:v",
                "high",
                "-preset",
                "veryfast",
            ])
            .args(["-b:v", "3M", "-maxrate", "4M", "-bufsize", "6M"])
            .args(["-pix_fmt", "yuv420p", "-an"])
            .arg(&tmp)
            .status()
            .expect("ffmpeg runs");
        assert!(status.success(), "ffmpeg failed to make {}", path.display());
        std::fs::rename(&tmp, path).unwrap();
    }
}

/// A DFDC-style root (`ROOT/dfdc_train_part_0/` with `metadata.json`) of
/// A DFDC training part at `part` (e.g. `dfdc_train_part_0`): per asset `i`
/// one original `real_{i}.mp4` ([`DfdcClip`] at 1/`shrink` of DFDC's size,
/// a keyframe every 60 frames, camera phase `i`) and `fakes_per_real` fakes
/// `fake_{i}_{n}.mp4` of it. Returns their `metadata.json` entries (label,
/// and each fake's original), for [`write_json_object`].
pub fn dfdc_part(
    part: &Path,
    assets: &[&'static str],
    shrink: u32,
    fakes_per_real: u8,
) -> serde_json::Map<String, serde_json::Value> {
    std::fs::create_dir_all(part).unwrap();
    let mut meta = serde_json::Map::new();
    for (i, &asset) in assets.iter().enumerate() {
        let clip = DfdcClip {
            shrink,
            gop: Some(60),
            phase: i as f64,
            ..DfdcClip::new(asset)
        };
        let real = format!("real_{i}.mp4");
        clip.make(&part.join(&real));
        meta.insert(real.clone(), serde_json::json!({"label": "REAL"}));
        for n in 1..=fakes_per_real {
            let fake = format!("fake_{i}_{n}.mp4");
            DfdcClip { fake: n, ..clip }.make(&part.join(&fake));
            meta.insert(fake, serde_json::json!({"label": "FAKE", "original": real}));
        }
    }
    meta
}

/// Write `map` as a JSON object to `path`.
pub fn write_json_object(path: &Path, map: serde_json::Map<String, serde_json::Value>) {
    std::fs::write(
        path,
        serde_json::to_vec(&serde_json::Value::Object(map)).unwrap(),
    )
    .unwrap();
}

/// `reals` originals (of the 8 DfdcClip variants: two photos × landscape /
/// portrait × plain / mirrored) and `fakes_per_real` fakes of each (at most
/// 2), the clips made once under `cache` and hard-linked in. Returns the
/// root; file names are `real_<i>.mp4` and `fake_<i>_<n>.mp4`.
pub fn dfdc_like_root(root: &Path, cache: &Path, reals: usize, fakes_per_real: u8) -> PathBuf {
    let part = root.join("dfdc_train_part_0");
    std::fs::create_dir_all(&part).unwrap();
    let mut meta = serde_json::Map::new();
    for i in 0..reals {
        let base = DfdcClip {
            portrait: i % 4 >= 2,
            mirror: i % 8 >= 4,
            phase: i as f64 * 0.9,
            ..DfdcClip::new(if i % 2 == 0 {
                "grace_hopper.jpg"
            } else {
                "astronaut.png"
            })
        };
        let real = format!("real_{i}.mp4");
        for n in 0..=fakes_per_real.min(2) {
            let name = if n == 0 {
                real.clone()
            } else {
                format!("fake_{i}_{n}.mp4")
            };
            let cached = cache.join(format!("dfdc_{i}_{n}.mp4"));
            DfdcClip { fake: n, ..base }.make(&cached);
            let dest = part.join(&name);
            if !dest.exists() {
                std::fs::hard_link(&cached, &dest)
                    .or_else(|_| std::fs::copy(&cached, &dest).map(|_| ()))
                    .unwrap();
            }
            let entry = if n == 0 {
                serde_json::json!({"label": "REAL", "split": "train"})
            } else {
                serde_json::json!({"label": "FAKE", "split": "train", "original": real})
            };
            meta.insert(name, entry);
        }
    }
    std::fs::write(
        part.join("metadata.json"),
        serde_json::to_vec_pretty(&serde_json::Value::Object(meta)).unwrap(),
    )
    .unwrap();
    root.to_path_buf()
}

/// CPU seconds (user + system) of this process's waited-for children so far.
pub fn children_cpu_s() -> f64 {
    // SAFETY: getrusage writes one plain struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    s(ru.ru_utime) + s(ru.ru_stime)
}

/// CPU seconds (user + system) of this process so far, all threads.
pub fn self_cpu_s() -> f64 {
    // SAFETY: getrusage writes one plain struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    s(ru.ru_utime) + s(ru.ru_stime)
}
