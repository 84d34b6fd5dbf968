//! The one record per video that flows through the stages
//! (scan → probe → frames → faces → dedup → sample → report), and the
//! per-file concerns the run reports.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::labels::LabelInfo;
use crate::probe::ProbeInfo;
use crate::quality::VideoQuality;

/// One video file and everything the stages learned about it.
#[derive(Debug, Clone)]
pub struct VideoRecord {
    /// Dataset name (the root's last path component).
    pub dataset: String,
    /// Path as the root was given plus the `/`-joined relative parts.
    pub path: String,
    /// Path relative to the root, `/`-joined.
    pub rel_path: String,
    /// Where to read the file on this machine.
    pub fs_path: PathBuf,
    /// Catalog key: the canonical path of the file on this machine.
    pub key: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Whether the scan saw a regular file.
    pub is_regular: bool,
    /// Labels from metadata or layout.
    pub labels: LabelInfo,
    /// The original's displayed path, for fakes whose metadata names one.
    pub original_path: Option<String>,
    /// Container and stream facts, once probed.
    pub probe: Option<ProbeInfo>,
    /// What the sampled frames look like, once the frame pass ran.
    pub frames: Option<FrameSummary>,
    /// Keyframe-level evidence, for a video that gets the keyframe pass
    /// instead of the frame pass (a fake outside the `--fake-sample` sample).
    pub keyframes: Option<KeyframeEvidence>,
    /// Near-duplicate cluster this video belongs to, if any.
    pub cluster_id: Option<usize>,
    /// The kept member's path, when this video is a duplicate not kept.
    pub duplicate_of: Option<String>,
    /// Same-recording-session group (alike videos of the same people that
    /// share no frames), if any: kept, but planned into one split.
    pub session_id: Option<usize>,
    /// Why the file could not be read, if it could not.
    pub error: Option<String>,
}

/// The frame pass's result for one video.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameSummary {
    /// Aggregated statistics and categories.
    pub quality: VideoQuality,
    /// Times of the sampled frames, seconds from the start.
    pub frame_times_s: Vec<f64>,
    /// One unit-length embedding per sampled frame (see [`crate::stats::FrameStats::embedding`]).
    pub embeddings: Vec<Vec<f32>>,
    /// Faces in the face subset of the frames; None when the face pass did not run.
    pub faces: Option<crate::faces::FaceSummary>,
    /// The middle sampled frame as a small JPEG, base64 (see
    /// [`crate::frames::thumbnail_jpeg_base64`]), for the human report.
    #[serde(default)]
    pub thumbnail_jpeg_b64: Option<String>,
    /// What the scene looks like: light colour, background, camera motion,
    /// indoor/outdoor from pixel cues ([`crate::scene::summarise`]).
    #[serde(default)]
    pub scene: Option<crate::scene::SceneSummary>,
}

/// Which pass over its frames a video gets (planned before probing, from
/// labels only, so every shard of a sharded run plans the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FramePass {
    /// The frame and face pass: statistics, categories, faces, embeddings.
    Full,
    /// Keyframes only: embeddings for fake→original links, nothing else.
    Keyframes,
}

impl FramePass {
    /// The name written to `inventory.jsonl` (`frame_pass`).
    pub fn as_str(self) -> &'static str {
        match self {
            FramePass::Full => "full",
            FramePass::Keyframes => "keyframes",
        }
    }
}

/// The keyframe pass's result for one video: link evidence only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyframeEvidence {
    /// Times of the keyframes, seconds from the start.
    pub frame_times_s: Vec<f64>,
    /// One embedding per keyframe (the frame pass's definition: unit length,
    /// shorter on low-texture frames, which dedup ignores).
    pub embeddings: Vec<Vec<f32>>,
}

impl VideoRecord {
    /// Frame times and embeddings for near-duplicate and fake→original
    /// search: the frame pass's, else the keyframe pass's.
    pub fn frame_embeddings(&self) -> Option<(&[f64], &[Vec<f32>])> {
        if let Some(f) = &self.frames {
            return Some((&f.frame_times_s, &f.embeddings));
        }
        self.keyframes
            .as_ref()
            .map(|k| (k.frame_times_s.as_slice(), k.embeddings.as_slice()))
    }

    /// Which pass produced this record's frame results, if any ran.
    pub fn frame_pass(&self) -> Option<FramePass> {
        if self.frames.is_some() {
            Some(FramePass::Full)
        } else if self.keyframes.is_some() {
            Some(FramePass::Keyframes)
        } else {
            None
        }
    }

    /// The video's identity embedding (the mean embedding of its main face),
    /// where the face pass made one.
    pub fn identity_embedding(&self) -> Option<&[f32]> {
        self.frames
            .as_ref()?
            .faces
            .as_ref()?
            .identity_embedding
            .as_deref()
    }

    /// A readable video: probed without error.
    pub fn is_readable(&self) -> bool {
        self.error.is_none() && self.probe.is_some()
    }

    /// A mask video (the manipulated pixels of a fake, as FF++ ships them):
    /// inventoried, never footage: not a candidate, not deduplicated.
    pub fn is_mask(&self) -> bool {
        self.labels.kind == crate::labels::VideoKind::Mask
    }
}

/// What kind of problem a concern reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConcernKind {
    /// A video file that could not be read (empty, truncated, not a video...).
    UnreadableVideo,
    /// A metadata file that is malformed or does not fit its format.
    MalformedMetadata,
    /// A symlink pointing back to an ancestor directory.
    SymlinkLoop,
    /// A symlink whose target does not exist.
    BrokenSymlink,
    /// A directory that could not be listed.
    UnreadableDirectory,
    /// The face pass failed on some sampled frames of a readable video (the
    /// rest of its face summary stands).
    FaceDetectionFailed,
}

/// One problem found in the input, named by its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Concern {
    /// Dataset the file belongs to.
    pub dataset: String,
    /// Displayed path of the file or directory.
    pub path: String,
    /// What kind of problem.
    pub kind: ConcernKind,
    /// The cause, in words.
    pub reason: String,
}
