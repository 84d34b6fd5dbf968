//! The detector seam: any face detector that gives a box, a score and the 5
//! standard landmarks plugs in behind [`FaceDetector`].
//!
//! Implemented: YuNet ([`super::yunet::Yunet`], `[detector] kind = "yunet"`
//! in `models.toml`, the default) and MTCNN ([`super::mtcnn::Mtcnn`],
//! `kind = "mtcnn"`). Another ONNX detector with 5 landmarks (SCRFD,
//! RetinaFace, CenterFace) is added by implementing this
//! trait for its decoder, giving it a `kind` and its `[[model]]` roles, and
//! matching that kind in [`super::FacePass::load_with`]; the rest of the face
//! pass (pose, region measurements, summaries) only sees [`Detection`]s.
//! A caller can also hand any implementation to [`super::FacePass::with_detector`].

use super::error::FaceError;
use super::RgbImage;

/// One detected face, before pose estimation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// x, y, width, height in pixels, clipped to the image.
    pub bbox: [f32; 4],
    /// Detector confidence, 0–1.
    pub score: f32,
    /// Left eye, right eye, nose tip, mouth left corner, mouth right corner,
    /// in image coordinates ("left" = on the image's left side).
    pub landmarks: [[f32; 2]; 5],
}

/// A face detector with 5 landmarks. Implementations must be usable from
/// several threads at once (`&self`, `Send + Sync`).
pub trait FaceDetector: Send + Sync {
    /// Short description: detector, models, device, e.g. for `describe()`.
    fn describe(&self) -> String;

    /// Short, stable name for the catalog's stage name (results are
    /// recomputed when the detector changes).
    fn tag(&self) -> String {
        "custom".into()
    }

    /// Faces in one RGB24 image, highest score first.
    fn detect(&self, image: RgbImage<'_>) -> Result<Vec<Detection>, FaceError>;
}
