//! Typed errors of the face pass: [`FaceSetupError`] while loading (registry,
//! files, checksums, runtime library), [`FaceError`] while detecting.

use std::path::PathBuf;

use thiserror::Error;

/// What to run when a pinned file is missing or differs.
pub const SETUP_HINT: &str = "run `make models` (models/setup.sh) to fetch and verify it";

/// Why the face pass could not be set up. Every variant names the file and
/// says what to run; the engine reports it and lists the face axes as gaps.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FaceSetupError {
    /// `models.toml` is missing or unreadable.
    #[error("cannot read the model registry {path}: {reason}; {SETUP_HINT}")]
    RegistryUnreadable {
        /// The registry file.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// `models.toml` is not valid TOML or lacks required fields.
    #[error("invalid model registry {path}: {reason}")]
    RegistryInvalid {
        /// The registry file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A model file the registry lists is not there.
    #[error("model file {path} ({name}) is missing; {SETUP_HINT}")]
    ModelMissing {
        /// The registry entry's name.
        name: String,
        /// Where the file should be.
        path: PathBuf,
    },
    /// A file's sha256 differs from the registry's pin.
    #[error(
        "checksum mismatch for {path} ({name}): sha256 {actual}, models.toml pins {expected}; \
         delete it and run `make models` (models/setup.sh) to fetch it again"
    )]
    ChecksumMismatch {
        /// The registry entry's name.
        name: String,
        /// The file.
        path: PathBuf,
        /// The pinned sha256 (hex).
        expected: String,
        /// The file's sha256 (hex).
        actual: String,
    },
    /// A file exists but could not be read.
    #[error("cannot read {path}: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// The ONNX Runtime shared library is not at the expected path.
    #[error(
        "ONNX Runtime library {path} is missing; {SETUP_HINT} \
         (or set ORT_DYLIB_PATH to an existing libonnxruntime.so)"
    )]
    RuntimeMissing {
        /// Where the library should be.
        path: PathBuf,
    },
    /// The library exists but ONNX Runtime could not be loaded or initialised.
    #[error("cannot load ONNX Runtime from {path}: {reason}")]
    RuntimeLoad {
        /// The library.
        path: PathBuf,
        /// ort's error.
        reason: String,
    },
    /// ONNX Runtime could not open a model file.
    #[error("cannot open model {path} with ONNX Runtime: {reason}")]
    ModelLoad {
        /// The model file.
        path: PathBuf,
        /// ort's error.
        reason: String,
    },
    /// A model's inputs or outputs are not what its decoder expects.
    #[error("model {path} has an unexpected signature: {reason}")]
    ModelSignature {
        /// The model file.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// `[detector] kind` names a detector this build does not implement.
    #[error("detector kind {kind:?} in {path} is not implemented (implemented: {implemented})")]
    UnsupportedDetector {
        /// The registry file.
        path: PathBuf,
        /// The configured kind.
        kind: String,
        /// The kinds this build implements.
        implemented: String,
    },
}

/// Why detection (or an optional model) failed on one image.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FaceError {
    /// The RGB buffer does not match the stated size.
    #[error("image buffer has {actual} bytes, {width}x{height} RGB24 needs {expected}")]
    BadImage {
        /// Stated width.
        width: u32,
        /// Stated height.
        height: u32,
        /// `width * height * 3`.
        expected: usize,
        /// The buffer's length.
        actual: usize,
    },
    /// ONNX Runtime failed while running a model.
    #[error("inference failed in {stage}: {reason}")]
    Inference {
        /// The model (stage) that failed.
        stage: String,
        /// ort's error.
        reason: String,
    },
    /// A model returned a tensor of an unexpected shape.
    #[error("{stage} returned an unexpected output: {reason}")]
    Output {
        /// The model (stage).
        stage: String,
        /// What differs.
        reason: String,
    },
}

impl FaceError {
    pub(crate) fn inference(stage: &str, e: impl std::fmt::Display) -> FaceError {
        FaceError::Inference {
            stage: stage.to_string(),
            reason: e.to_string(),
        }
    }

    pub(crate) fn output(stage: &str, reason: impl Into<String>) -> FaceError {
        FaceError::Output {
            stage: stage.to_string(),
            reason: reason.into(),
        }
    }
}
