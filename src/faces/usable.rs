//! Whether a real video can be a source for face-swap and reenactment
//! generators: a dominant face in most of the sampled frames, large enough at
//! the video's own resolution that the generators do not have to invent it.
//!
//! [`usability`] is the rule; the selection excludes the videos it rejects
//! (with the [`UnusableReason::code`] counted) unless `--allow-faceless`.

use serde::Serialize;

use super::summary::FaceSummary;

/// A usable video shows a face in at least this share of its sampled
/// frames: 6 of the default 8. The selection cuts up to 3 clips spread over
/// the video, and a swap or reenactment generator needs the source face in
/// the clip it works on; a face in only half the frames leaves whole clips
/// without one.
pub const USABLE_MIN_FACE_FRAMES_RATIO: f64 = 0.75;

/// A usable video's main face is at least this many pixels high (median box
/// height over its face frames, at the video's displayed resolution). The
/// common generators work on aligned crops of 112–256 px: InsightFace's
/// inswapper at 128, SimSwap at 224, FaceShifter and reenactment models
/// (FOMM, LivePortrait) at 256; the ArcFace-style alignment these use puts
/// the detector's box at about 0.75 of the crop's side, so a 96-px box
/// fills inswapper's 128-px crop without upsampling. Smaller faces are
/// upsampled by every one of them, and the swap shows it.
pub const USABLE_MIN_FACE_HEIGHT_PX: f64 = 96.0;

/// The detector failed on more than this share of the sampled frames: the
/// face summary does not describe the video.
pub const USABLE_MAX_FACE_ERROR_RATIO: f64 = 0.25;

/// Why a video is not a usable fake-generation source.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum UnusableReason {
    /// No face in any sampled frame.
    NoFace,
    /// Faces in too few of the sampled frames.
    FaceTooRare {
        /// Share of the sampled frames with a face.
        frames_with_face_ratio: f64,
    },
    /// The main face is too small at the video's resolution.
    FaceTooSmall {
        /// Median height of the main face, pixels at the displayed resolution.
        face_height_px: f64,
    },
    /// The face pass failed on too many frames to tell.
    FaceDetectionFailed {
        /// Frames it failed on.
        failed_frames: u32,
        /// The first failure.
        first_error: String,
    },
}

impl UnusableReason {
    /// Short stable code, for counting reasons in `diversity_balance.json`.
    pub fn code(&self) -> &'static str {
        match self {
            UnusableReason::NoFace => "no_face",
            UnusableReason::FaceTooRare { .. } => "face_too_rare",
            UnusableReason::FaceTooSmall { .. } => "face_too_small",
            UnusableReason::FaceDetectionFailed { .. } => "face_detection_failed",
        }
    }
}

impl std::fmt::Display for UnusableReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnusableReason::NoFace => write!(f, "no face in any sampled frame"),
            UnusableReason::FaceTooRare {
                frames_with_face_ratio,
            } => write!(
                f,
                "a face in {:.0}% of the sampled frames (needs {:.0}%)",
                frames_with_face_ratio * 100.0,
                USABLE_MIN_FACE_FRAMES_RATIO * 100.0
            ),
            UnusableReason::FaceTooSmall { face_height_px } => write!(
                f,
                "main face {face_height_px:.0} px high (needs {USABLE_MIN_FACE_HEIGHT_PX:.0} px)"
            ),
            UnusableReason::FaceDetectionFailed {
                failed_frames,
                first_error,
            } => write!(
                f,
                "face detection failed on {failed_frames} frames: {first_error}"
            ),
        }
    }
}

/// The displayed height of a video whose coded size is `width` × `height`
/// with display rotation `rotation_deg` (`ProbeInfo` fields): a quarter turn
/// swaps the sides.
pub fn display_height(width: u32, height: u32, rotation_deg: i32) -> u32 {
    if rotation_deg.rem_euclid(180) == 90 {
        width
    } else {
        height
    }
}

/// Whether the video summarised by `faces`, displayed `display_height`
/// pixels high (rotation applied), can be a face-swap / reenactment source.
pub fn usability(faces: &FaceSummary, display_height: u32) -> Result<(), UnusableReason> {
    let attempted = faces.frames_sampled + faces.face_errors;
    if faces.face_errors > 0
        && f64::from(faces.face_errors) > USABLE_MAX_FACE_ERROR_RATIO * f64::from(attempted)
    {
        return Err(UnusableReason::FaceDetectionFailed {
            failed_frames: faces.face_errors,
            first_error: faces.first_face_error.clone().unwrap_or_default(),
        });
    }
    if faces.max_faces == 0 || faces.frames_with_face_ratio <= 0.0 {
        return Err(UnusableReason::NoFace);
    }
    if faces.frames_with_face_ratio + 1e-9 < USABLE_MIN_FACE_FRAMES_RATIO {
        return Err(UnusableReason::FaceTooRare {
            frames_with_face_ratio: faces.frames_with_face_ratio,
        });
    }
    let px = faces.face_size_ratio_median.unwrap_or(0.0) * f64::from(display_height);
    if px < USABLE_MIN_FACE_HEIGHT_PX {
        return Err(UnusableReason::FaceTooSmall {
            face_height_px: (px * 10.0).round() / 10.0,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faces::summary::summarise;

    fn summary(ratio: f64, max_faces: u32, size: Option<f64>) -> FaceSummary {
        let mut s = summarise(&[]);
        s.frames_sampled = 8;
        s.frames_with_face_ratio = ratio;
        s.max_faces = max_faces;
        s.face_size_ratio_median = size;
        s
    }

    #[test]
    fn rules() {
        assert_eq!(usability(&summary(1.0, 1, Some(0.4)), 360), Ok(()));
        assert_eq!(
            usability(&summary(0.0, 0, None), 360),
            Err(UnusableReason::NoFace)
        );
        let rare = usability(&summary(0.5, 1, Some(0.4)), 360).unwrap_err();
        assert_eq!(rare.code(), "face_too_rare");
        assert_eq!(usability(&summary(0.75, 1, Some(0.4)), 360), Ok(()));
        // 0.2 of 360 rows = 72 px: too small; the same ratio at 720p is 144 px.
        let small = usability(&summary(1.0, 1, Some(0.2)), 360).unwrap_err();
        assert_eq!(
            small,
            UnusableReason::FaceTooSmall {
                face_height_px: 72.0
            }
        );
        assert!(small.to_string().contains("72 px"), "{small}");
        assert_eq!(usability(&summary(1.0, 1, Some(0.2)), 720), Ok(()));
        assert_eq!(display_height(640, 360, 270), 640);
        assert_eq!(display_height(640, 360, 180), 360);
        let mut failed = summary(1.0, 1, Some(0.4));
        failed.frames_sampled = 2;
        failed.face_errors = 6;
        failed.first_face_error = Some("inference failed in YuNet: boom".into());
        let e = usability(&failed, 360).unwrap_err();
        assert_eq!(e.code(), "face_detection_failed");
        assert!(e.to_string().contains("boom"));
    }
}
