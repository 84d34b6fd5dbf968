//! Per-frame face-region measurements ([`FrameFaces::measure`]) and the
//! per-video summary ([`summarise`]).
//!
//! Region measurements compare each face's box with the whole frame, on
//! BT.601 luma computed from the RGB frame (`Y = (77 R + 150 G + 29 B + 128) >> 8`,
//! full range), at the frame's native size:
//! * mean luma inside the box vs the frame's (a backlit face is darker than
//!   its frame);
//! * sharpness: variance of the 4-neighbour Laplacian `4c − n − s − e − w`
//!   over the box's pixels vs over the frame's (the same kernel as the
//!   quality pass, but native size, so the two numbers here compare like with
//!   like; a blurred face-swap region scores below its frame);
//! * temporal change: mean |ΔY| to the next frame inside the face box vs
//!   outside every face box (a swapped face that flickers changes more than
//!   its background);
//! * the artifact measures of [`super::artifacts`]: blending-boundary
//!   energy, face/surround colour mismatch and 8×8 blockiness inside the box;
//!   landmark jitter to the next frame is added by
//!   [`FrameFaces::track_into_next`] once the next frame's faces are known.
//!
//! Per video ([`summarise_with`]) each becomes one number, the median over
//! the face frames of the main face's value ([`VIDEO_MEASURES`] lists them
//! with their units), written only for videos that mostly show a face
//! (`face_count` not `none`): on a video with a face in one frame of eight
//! the "face" is as likely a false detection as a person.

use serde::{Deserialize, Serialize};

use super::artifacts::{self, CHANGE_FLOOR_LEVELS, SHARPNESS_FLOOR};
use super::error::FaceError;
use super::optional::{AgeGroup, Demographics, Gender};
use super::{Face, RgbImage};

/// `face_count` is `none` when fewer than this fraction of the sampled
/// frames have a face: the category says what a video mostly shows
/// (`frames_with_face_ratio` is reported beside it).
pub const FACE_PRESENT_MIN_RATIO: f64 = 0.5;
/// `face_count` is `multi` when at least this fraction of the frames with a
/// face have two or more.
pub const MULTI_FACE_MIN_RATIO: f64 = 0.5;
/// `face_size` is `small` below this median face-height / frame-height:
/// 0.15 of 720p is 108 px, about the 112 px crop face-recognition and many
/// deepfake detectors work at; smaller faces are upsampled by them.
pub const FACE_SIZE_SMALL_MAX: f64 = 0.15;
/// `face_size` is `large` from this ratio up (a close-up / talking head: the
/// face is over a third of the frame's height), `medium` in between.
pub const FACE_SIZE_MEDIUM_MAX: f64 = 0.35;
/// `pose` is `turned` from this median |yaw| or |pitch| (degrees) up; below
/// both it is `frontal`. 20° is where the far eye starts to be foreshortened
/// noticeably (cos 20° ≈ 0.94) and the nose leaves the eye–mouth midline.
pub const POSE_TURNED_MIN_DEG: f64 = 20.0;
/// `pose` is `profile` from this median |yaw| (degrees) up: half-way to a
/// full profile, where the far eye and mouth corner approach the face edge.
/// The landmark estimate saturates beyond ~60°, and MTCNN rarely finds full
/// profiles, so `profile` means "strongly turned".
pub const POSE_PROFILE_MIN_DEG: f64 = 45.0;

/// An estimated demographic category is used as a balancing signal only when
/// its confidence reaches this: for gender the mean probability of the chosen
/// class over the face frames, for age the share of face frames whose age
/// group agrees with the median age's. Below it the video counts as unknown
/// on that axis (0.7 leaves out faces the model is unsure about, e.g.
/// children and profile views, where such models are least accurate).
pub const DEMOGRAPHIC_MIN_CONFIDENCE: f64 = 0.7;

/// An estimate from an optional model, with its confidence (0–1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate<T> {
    /// The estimated category.
    pub value: T,
    /// How sure the estimate is (see [`DEMOGRAPHIC_MIN_CONFIDENCE`]).
    pub confidence: f64,
}

/// What the optional models add to a video's [`FaceSummary`], from the
/// largest face of each face frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OptionalEstimates {
    /// Identity embedding per frame (L2-normalised).
    pub embeddings: Vec<Vec<f32>>,
    /// Age/gender estimate per frame.
    pub demographics: Vec<Demographics>,
    /// Ethnicity class probabilities per frame (optional model).
    pub ethnicity: Vec<Vec<f32>>,
    /// Names of the ethnicity classes.
    pub ethnicity_labels: Vec<String>,
}

impl OptionalEstimates {
    /// Set `identity_embedding`, `gender` and `age_group` of `summary`:
    /// the normalised mean of the frame embeddings; the gender whose mean
    /// probability over the frames is higher, with that probability; the age
    /// group of the median age, with the share of frames in that group.
    pub fn apply(&self, summary: &mut FaceSummary) {
        if !self.embeddings.is_empty() {
            let dim = self.embeddings[0].len();
            let mut mean = vec![0f32; dim];
            for e in self.embeddings.iter().filter(|e| e.len() == dim) {
                for (m, v) in mean.iter_mut().zip(e) {
                    *m += v;
                }
            }
            let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt();
            if norm > 0.0 {
                summary.identity_embedding = Some(
                    mean.iter()
                        .map(|v| ((v / norm) * 1e4).round() / 1e4)
                        .collect(),
                );
            }
        }
        let d = &self.demographics;
        if !d.is_empty() {
            let n = d.len() as f64;
            let p_male = d
                .iter()
                .map(|x| {
                    let c = f64::from(x.gender_confidence);
                    if x.gender == Gender::Male {
                        c
                    } else {
                        1.0 - c
                    }
                })
                .sum::<f64>()
                / n;
            let (gender, confidence) = if p_male >= 0.5 {
                (Gender::Male, p_male)
            } else {
                (Gender::Female, 1.0 - p_male)
            };
            summary.gender = Some(Estimate {
                value: gender,
                confidence: round4(confidence),
            });
            let age =
                median(d.iter().map(|x| f64::from(x.age_years)).collect()).expect("non-empty");
            let group = AgeGroup::of(age as f32);
            let agree = d.iter().filter(|x| x.age_group == group).count() as f64 / n;
            summary.age_group = Some(Estimate {
                value: group,
                confidence: round4(agree),
            });
            summary.age_years_median = Some(round4(age));
        }
        if summary.face_count != FaceCount::None {
            summary.identity_drift_cosine_distance =
                artifacts::identity_drift(&self.embeddings).map(round4);
        }
        let n = self.ethnicity_labels.len();
        let frames: Vec<&Vec<f32>> = self.ethnicity.iter().filter(|p| p.len() == n).collect();
        if n > 0 && !frames.is_empty() {
            let mean: Vec<f64> = (0..n)
                .map(|k| frames.iter().map(|p| f64::from(p[k])).sum::<f64>() / frames.len() as f64)
                .collect();
            let best = (0..n)
                .max_by(|&a, &b| mean[a].total_cmp(&mean[b]).then(b.cmp(&a)))
                .expect("n > 0");
            summary.ethnicity = Some(Estimate {
                value: self.ethnicity_labels[best].clone(),
                confidence: round4(mean[best]),
            });
        }
    }
}

/// Round to 4 decimals (face-pass numbers are written rounded so reruns
/// that differ in the last float bits still write the same bytes).
pub fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// Measurements of one face's box in one frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FaceRegion {
    /// Mean luma inside the box (0–255).
    pub luma_mean: f32,
    /// Laplacian variance over the box's pixels; `None` when the box and the
    /// frame's interior share no pixel.
    pub sharpness: Option<f32>,
    /// Mean |ΔY| inside the box to the next frame; `None` without a next frame.
    pub temporal_change: Option<f32>,
    /// Blending-boundary energy: the strongest line of gradient across the
    /// ring on each side of the box (the seam), over the mean gradient in
    /// the box's core ([`artifacts::boundary_gradient_ratio`]).
    #[serde(default)]
    pub boundary_gradient_ratio: Option<f32>,
    /// Colour mismatch: distance between the core's and the ring's mean
    /// (Cb, Cr), 8-bit levels ([`artifacts::chroma_distance`]).
    #[serde(default)]
    pub chroma_distance: Option<f32>,
    /// 8×8 blockiness of the box's pixels, block grid anchored at the
    /// frame's top-left ([`artifacts::blockiness`]); meaningful only when
    /// the image is the decoded picture at its own size.
    #[serde(default)]
    pub blockiness: Option<f32>,
}

/// One sampled frame's faces and their measurements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameFaces {
    /// Frame width, pixels.
    pub width: u32,
    /// Frame height, pixels.
    pub height: u32,
    /// Faces found, highest score first.
    pub faces: Vec<Face>,
    /// One per face, same order.
    pub regions: Vec<FaceRegion>,
    /// Mean luma of the whole frame.
    pub frame_luma_mean: f32,
    /// Laplacian variance of the whole frame; `None` below 3×3.
    pub frame_sharpness: Option<f32>,
    /// Mean |ΔY| to the next frame outside every face box; `None` without a
    /// next frame, or with no pixel outside the boxes.
    pub background_temporal_change: Option<f32>,
    /// 8×8 blockiness of the whole frame (the same definition as the face
    /// box's).
    #[serde(default)]
    pub frame_blockiness: Option<f32>,
    /// Landmark jitter of the largest face to the next frame, face heights
    /// per frame ([`artifacts::landmark_jitter`]); set by
    /// [`FrameFaces::track_into_next`], `None` until then or when the next
    /// frame shows no matching face.
    #[serde(default)]
    pub landmark_jitter: Option<f32>,
}

fn luma_plane(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(3)
        .map(|p| {
            ((77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2]) + 128) >> 8) as u8
        })
        .collect()
}

/// Integer pixel rectangle [x0, x1) × [y0, y1) of a face box, clipped.
fn rect(face: &Face, w: u32, h: u32) -> (usize, usize, usize, usize) {
    let [x, y, bw, bh] = face.bbox;
    let clip = |v: f32, max: u32| v.max(0.0).min(max as f32);
    (
        clip(x.floor(), w) as usize,
        clip((x + bw).ceil(), w) as usize,
        clip(y.floor(), h) as usize,
        clip((y + bh).ceil(), h) as usize,
    )
}

/// Laplacian variance over pixels of `[x0,x1)×[y0,y1)` inside the frame's
/// 1-pixel-inset interior.
fn laplacian_var(l: &[u8], w: usize, h: usize, r: (usize, usize, usize, usize)) -> Option<f32> {
    if w < 3 || h < 3 {
        return None;
    }
    let (x0, x1) = (r.0.max(1), r.1.min(w - 1));
    let (y0, y1) = (r.2.max(1), r.3.min(h - 1));
    if x0 >= x1 || y0 >= y1 {
        return None;
    }
    let (mut s, mut sq) = (0i64, 0u64);
    for y in y0..y1 {
        let (up, row, down) = (
            &l[(y - 1) * w..y * w],
            &l[y * w..(y + 1) * w],
            &l[(y + 1) * w..(y + 2) * w],
        );
        for x in x0..x1 {
            let v = 4 * i32::from(row[x])
                - i32::from(row[x - 1])
                - i32::from(row[x + 1])
                - i32::from(up[x])
                - i32::from(down[x]);
            s += i64::from(v);
            sq += (v * v) as u64;
        }
    }
    let n = ((x1 - x0) * (y1 - y0)) as f64;
    let mean = s as f64 / n;
    Some((sq as f64 / n - mean * mean).max(0.0) as f32)
}

impl FrameFaces {
    /// Measure `faces` (found in `image`) against the frame; `next` is the
    /// following frame at the same size, for the temporal measurements (a
    /// `next` of another size is ignored: temporal values are `None`).
    pub fn measure(
        image: RgbImage<'_>,
        next: Option<RgbImage<'_>>,
        faces: Vec<Face>,
    ) -> Result<FrameFaces, FaceError> {
        image.check()?;
        if let Some(n) = next {
            n.check()?;
        }
        let (w, h) = (image.width as usize, image.height as usize);
        let luma = luma_plane(image.rgb);
        let next_luma = next
            .filter(|n| n.width == image.width && n.height == image.height)
            .map(|n| luma_plane(n.rgb));
        let rects: Vec<_> = faces
            .iter()
            .map(|f| rect(f, image.width, image.height))
            .collect();
        let regions = rects
            .iter()
            .map(|&(x0, x1, y0, y1)| {
                let n = (x1 - x0) * (y1 - y0);
                let (mut sum, mut diff) = (0u64, 0u64);
                for y in y0..y1 {
                    let row = &luma[y * w + x0..y * w + x1];
                    sum += row.iter().map(|&v| u64::from(v)).sum::<u64>();
                    if let Some(nl) = &next_luma {
                        let nrow = &nl[y * w + x0..y * w + x1];
                        diff += row
                            .iter()
                            .zip(nrow)
                            .map(|(&a, &b)| u64::from(a.abs_diff(b)))
                            .sum::<u64>();
                    }
                }
                FaceRegion {
                    luma_mean: if n > 0 {
                        (sum as f64 / n as f64) as f32
                    } else {
                        0.0
                    },
                    sharpness: laplacian_var(&luma, w, h, (x0, x1, y0, y1)),
                    temporal_change: next_luma
                        .as_ref()
                        .filter(|_| n > 0)
                        .map(|_| (diff as f64 / n as f64) as f32),
                    boundary_gradient_ratio: None,
                    chroma_distance: None,
                    blockiness: artifacts::blockiness(&luma, w, (x0, x1, y0, y1)),
                }
            })
            .collect::<Vec<FaceRegion>>();
        let regions = regions
            .into_iter()
            .zip(&faces)
            .map(|(r, face)| FaceRegion {
                boundary_gradient_ratio: artifacts::boundary_gradient_ratio(&luma, w, h, face),
                chroma_distance: artifacts::chroma_distance(image.rgb, w, h, face),
                ..r
            })
            .collect();
        let n_all = (w * h).max(1) as f64;
        let frame_luma_mean =
            (luma.iter().map(|&v| u64::from(v)).sum::<u64>() as f64 / n_all) as f32;
        let background_temporal_change = next_luma.as_ref().and_then(|nl| {
            let (mut diff, mut n) = (0u64, 0u64);
            for y in 0..h {
                for x in 0..w {
                    if rects
                        .iter()
                        .any(|&(x0, x1, y0, y1)| x >= x0 && x < x1 && y >= y0 && y < y1)
                    {
                        continue;
                    }
                    diff += u64::from(luma[y * w + x].abs_diff(nl[y * w + x]));
                    n += 1;
                }
            }
            (n > 0).then(|| (diff as f64 / n as f64) as f32)
        });
        Ok(FrameFaces {
            width: image.width,
            height: image.height,
            faces,
            regions,
            frame_luma_mean,
            frame_sharpness: laplacian_var(&luma, w, h, (0, w, 0, h)),
            background_temporal_change,
            frame_blockiness: artifacts::blockiness(&luma, w, (0, w, 0, h)),
            landmark_jitter: None,
        })
    }

    /// Set [`FrameFaces::landmark_jitter`] from the faces found in the next
    /// frame (the same size): the largest face's landmark displacement to
    /// the face there that overlaps it most.
    pub fn track_into_next(&mut self, next_faces: &[Face]) {
        self.landmark_jitter = self
            .largest()
            .and_then(|i| artifacts::landmark_jitter(&self.faces[i], next_faces));
    }

    /// Index of the largest face (by box area), if any.
    pub fn largest(&self) -> Option<usize> {
        self.faces
            .iter()
            .enumerate()
            .max_by(|a, b| (a.1.bbox[2] * a.1.bbox[3]).total_cmp(&(b.1.bbox[2] * b.1.bbox[3])))
            .map(|(i, _)| i)
    }
}

/// How many faces a video shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaceCount {
    /// Faces on fewer than [`FACE_PRESENT_MIN_RATIO`] of the frames.
    None,
    /// Mostly one face.
    Single,
    /// Two or more faces on at least [`MULTI_FACE_MIN_RATIO`] of the frames with faces.
    Multi,
}

/// How large the (largest) face is: median box height / frame height against
/// [`FACE_SIZE_SMALL_MAX`] and [`FACE_SIZE_MEDIUM_MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaceSize {
    /// Below [`FACE_SIZE_SMALL_MAX`].
    Small,
    /// Between the two thresholds.
    Medium,
    /// From [`FACE_SIZE_MEDIUM_MAX`] up.
    Large,
}

/// Head pose class from the median |yaw| and |pitch| of the largest face.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PoseClass {
    /// |yaw| and |pitch| below [`POSE_TURNED_MIN_DEG`].
    Frontal,
    /// Turned or tilted, |yaw| below [`POSE_PROFILE_MIN_DEG`].
    Turned,
    /// |yaw| from [`POSE_PROFILE_MIN_DEG`] up.
    Profile,
}

/// The face pass's per-video summary. Angles and per-face values describe the
/// largest face of each frame; "frame" values are taken over the same frames
/// (those with a face) so the pairs compare like with like. `None` where not
/// measurable (no face, no next frame).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaceSummary {
    /// Frames summarised.
    pub frames_sampled: u32,
    /// Fraction of frames with at least one face (0 with no frames).
    pub frames_with_face_ratio: f64,
    /// Most faces in one frame.
    pub max_faces: u32,
    /// Median of (largest face box height / frame height).
    pub face_size_ratio_median: Option<f64>,
    /// Median yaw, degrees (positive: nose toward the image's right).
    pub yaw_deg_median: Option<f64>,
    /// Median pitch, degrees (positive: face tilted up).
    pub pitch_deg_median: Option<f64>,
    /// Median roll, degrees (positive: clockwise on screen).
    pub roll_deg_median: Option<f64>,
    /// none / single / multi.
    pub face_count: FaceCount,
    /// small / medium / large; `None` without faces.
    pub face_size: Option<FaceSize>,
    /// frontal / turned / profile; `None` without faces.
    pub pose: Option<PoseClass>,
    /// Median mean luma inside the face box.
    pub face_luma_mean_median: Option<f64>,
    /// Median mean luma of the frames with a face.
    pub frame_luma_mean_median: Option<f64>,
    /// Median Laplacian variance inside the face box.
    pub face_sharpness_median: Option<f64>,
    /// Median Laplacian variance of the frames with a face.
    pub frame_sharpness_median: Option<f64>,
    /// Median mean |ΔY| to the next frame inside the face box.
    pub face_temporal_change_median: Option<f64>,
    /// Median mean |ΔY| to the next frame outside the face boxes.
    pub background_temporal_change_median: Option<f64>,
    /// Identity embedding of the main face (an identity model is installed):
    /// the normalised mean over the face frames. Groups videos of one person
    /// for the identity cap and identity-disjoint splits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_embedding: Option<Vec<f32>>,
    /// Estimated gender of the main face, with confidence (an age/gender
    /// model is installed). An aggregate balancing signal, never a label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<Estimate<Gender>>,
    /// Estimated age group of the main face, with confidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_group: Option<Estimate<AgeGroup>>,
    /// Median estimated age of the main face, years (an aggregate balancing
    /// signal like `age_group`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_years_median: Option<f64>,
    /// Estimated ethnicity of the main face, with confidence (the mean
    /// probability of that class over the face frames); only with the
    /// optional ethnicity model. An aggregate balancing signal, never a label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ethnicity: Option<Estimate<String>>,
    /// Frames the detector or an estimator failed on (the detector's are
    /// left out of the summary); 0 is not written.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub face_errors: u32,
    /// The first of those failures, with the model that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_face_error: Option<String>,
    /// Where the faces are: the union of every frame's face boxes as
    /// fractions of the frame (x0, y0, x1, y1); `None` without a face. The
    /// scene's background measure leaves the person around it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub face_area: Option<[f64; 4]>,
    /// Temporal consistency: median over the face frames of the main face's
    /// mean |ΔY| to the next frame over the background's (floored at
    /// [`CHANGE_FLOOR_LEVELS`]); a ratio, about 1 when face and background
    /// change alike. The per-frame form of `face_temporal_change_median`
    /// over `background_temporal_change_median`. Written (here and below)
    /// only when `face_count` is not `none`.
    #[serde(default)]
    pub face_to_background_change_ratio: Option<f64>,
    /// Temporal consistency: median over the face frames of the main face's
    /// mean five-landmark displacement to the frame after it, in face-box
    /// heights (0.01 on a 100-px face is 1 px). "Per frame" is per sampled
    /// pair: the frame after is the next decoded reference frame (1 to 4
    /// frames later in H.264 with B-frames, which the frame pass skips), so
    /// smooth head motion reads larger than over one frame while jitter,
    /// which does not grow with the gap, reads the same.
    #[serde(default)]
    pub landmark_jitter_face_heights_per_frame: Option<f64>,
    /// Temporal consistency: mean over the face frames of 1 − cos between
    /// the frame's identity embedding and the video's mean
    /// (`identity_embedding`); 0 when every frame shows the same identity
    /// to the model. Needs the identity model and two face frames.
    #[serde(default)]
    pub identity_drift_cosine_distance: Option<f64>,
    /// Artifact: blending-boundary energy, median over the face frames of
    /// the gradient on the strongest line across the ring around the
    /// face-box edge (per side, averaged over the four) over the mean
    /// gradient in the face's core (a ratio; regularised by
    /// [`artifacts::GRADIENT_REG_LEVELS`]; see
    /// [`artifacts::boundary_gradient_ratio`]).
    #[serde(default)]
    pub boundary_gradient_ratio: Option<f64>,
    /// Artifact: colour mismatch, median over the face frames of the
    /// distance between the mean (Cb, Cr) of the face's core and of the ring
    /// around it, in 8-bit chroma levels.
    #[serde(default)]
    pub face_ring_chroma_distance_levels: Option<f64>,
    /// Artifact: median over the face frames of the face box's Laplacian
    /// variance over the frame's (floored at [`SHARPNESS_FLOOR`]); below 1
    /// the face is softer than its frame.
    #[serde(default)]
    pub face_to_frame_sharpness_ratio: Option<f64>,
    /// Artifact: median over the face frames of the face box's 8×8
    /// blockiness over the frame's; `null` unless the face images were the
    /// decoded pictures at their own size (at most
    /// [`crate::frames::FACE_MAX_HEIGHT`] rows and no display rotation),
    /// because a rescaled or rotated image moves the codec's block grid.
    #[serde(default)]
    pub face_to_frame_blockiness_ratio: Option<f64>,
}

/// What a per-video face measure is, for the fake catalog's comparisons.
#[derive(Debug, Clone, Copy)]
pub struct VideoMeasure {
    /// Field name in the inventory's `faces` object (its unit in the name).
    pub name: &'static str,
    /// What it is, in a reader's words (used in the tells).
    pub words: &'static str,
    /// Unit, in words.
    pub unit: &'static str,
    /// The value of one video.
    pub get: fn(&FaceSummary) -> Option<f64>,
}

/// The per-video measures of temporal consistency and artifacts, in report
/// order (see the fields of [`FaceSummary`]).
pub const VIDEO_MEASURES: &[VideoMeasure] = &[
    VideoMeasure {
        name: "face_to_background_change_ratio",
        words: "face/background flicker",
        unit: "ratio",
        get: |s| s.face_to_background_change_ratio,
    },
    VideoMeasure {
        name: "landmark_jitter_face_heights_per_frame",
        words: "landmark jitter",
        unit: "face heights per frame",
        get: |s| s.landmark_jitter_face_heights_per_frame,
    },
    VideoMeasure {
        name: "identity_drift_cosine_distance",
        words: "identity drift",
        unit: "1 − cos",
        get: |s| s.identity_drift_cosine_distance,
    },
    VideoMeasure {
        name: "boundary_gradient_ratio",
        words: "blending-boundary energy",
        unit: "ratio",
        get: |s| s.boundary_gradient_ratio,
    },
    VideoMeasure {
        name: "face_ring_chroma_distance_levels",
        words: "face/surround colour mismatch",
        unit: "CbCr levels",
        get: |s| s.face_ring_chroma_distance_levels,
    },
    VideoMeasure {
        name: "face_to_frame_sharpness_ratio",
        words: "face/frame sharpness",
        unit: "ratio",
        get: |s| s.face_to_frame_sharpness_ratio,
    },
    VideoMeasure {
        name: "face_to_frame_blockiness_ratio",
        words: "face/frame blockiness",
        unit: "ratio",
        get: |s| s.face_to_frame_blockiness_ratio,
    },
];

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Median of the values (mean of the middle two for an even count).
pub fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Union of every face box of `frames`, as fractions of the frame.
fn face_area(frames: &[FrameFaces]) -> Option<[f64; 4]> {
    let mut area: Option<[f64; 4]> = None;
    for f in frames.iter().filter(|f| f.width > 0 && f.height > 0) {
        let (w, h) = (f64::from(f.width), f64::from(f.height));
        for face in &f.faces {
            let [x, y, bw, bh] = face.bbox.map(f64::from);
            let b = [x / w, y / h, (x + bw) / w, (y + bh) / h].map(|v| v.clamp(0.0, 1.0));
            area = Some(match area {
                None => b,
                Some(a) => [
                    a[0].min(b[0]),
                    a[1].min(b[1]),
                    a[2].max(b[2]),
                    a[3].max(b[3]),
                ],
            });
        }
    }
    area.map(|a| a.map(round4))
}

/// Summarise a video's sampled frames ([`summarise_with`], not at native
/// resolution: no blockiness ratio).
pub fn summarise(frames: &[FrameFaces]) -> FaceSummary {
    summarise_with(frames, false)
}

/// Summarise a video's sampled frames; `native_resolution`: the frames are
/// the decoded pictures at their own size and orientation, so the 8×8
/// block grid is the codec's and `face_to_frame_blockiness_ratio` is
/// measured.
pub fn summarise_with(frames: &[FrameFaces], native_resolution: bool) -> FaceSummary {
    let with_face: Vec<(&FrameFaces, usize)> = frames
        .iter()
        .filter_map(|f| f.largest().map(|i| (f, i)))
        .collect();
    let ratio = if frames.is_empty() {
        0.0
    } else {
        with_face.len() as f64 / frames.len() as f64
    };
    let max_faces = frames.iter().map(|f| f.faces.len()).max().unwrap_or(0) as u32;
    let over_faces = |g: &dyn Fn(&FrameFaces, usize) -> Option<f64>| {
        median(with_face.iter().filter_map(|&(f, i)| g(f, i)).collect()).map(round4)
    };
    let size = over_faces(&|f, i| {
        (f.height > 0).then(|| f64::from(f.faces[i].bbox[3]) / f64::from(f.height))
    });
    let yaw = over_faces(&|f, i| Some(f64::from(f.faces[i].yaw_deg)));
    let pitch = over_faces(&|f, i| Some(f64::from(f.faces[i].pitch_deg)));
    let roll = over_faces(&|f, i| Some(f64::from(f.faces[i].roll_deg)));
    let abs_yaw = over_faces(&|f, i| Some(f64::from(f.faces[i].yaw_deg.abs())));
    let abs_pitch = over_faces(&|f, i| Some(f64::from(f.faces[i].pitch_deg.abs())));
    let region = |f: &FrameFaces, i: usize| f.regions.get(i).copied();

    let multi_frames = with_face.iter().filter(|(f, _)| f.faces.len() >= 2).count();
    let face_count = if with_face.is_empty() || ratio < FACE_PRESENT_MIN_RATIO {
        FaceCount::None
    } else if multi_frames as f64 >= MULTI_FACE_MIN_RATIO * with_face.len() as f64 {
        FaceCount::Multi
    } else {
        FaceCount::Single
    };
    let face_size = size.map(|s| {
        if s < FACE_SIZE_SMALL_MAX {
            FaceSize::Small
        } else if s < FACE_SIZE_MEDIUM_MAX {
            FaceSize::Medium
        } else {
            FaceSize::Large
        }
    });
    let pose = abs_yaw.zip(abs_pitch).map(|(y, p)| {
        if y >= POSE_PROFILE_MIN_DEG {
            PoseClass::Profile
        } else if y >= POSE_TURNED_MIN_DEG || p >= POSE_TURNED_MIN_DEG {
            PoseClass::Turned
        } else {
            PoseClass::Frontal
        }
    });
    let measured = face_count != FaceCount::None;
    let measure = |g: &dyn Fn(&FrameFaces, usize) -> Option<f64>| {
        if measured {
            over_faces(g)
        } else {
            None
        }
    };
    FaceSummary {
        face_to_background_change_ratio: measure(&|f, i| {
            let face = region(f, i)?.temporal_change?;
            let bg = f.background_temporal_change?;
            Some(f64::from(face) / f64::from(bg).max(CHANGE_FLOOR_LEVELS))
        }),
        landmark_jitter_face_heights_per_frame: measure(&|f, _| f.landmark_jitter.map(f64::from)),
        identity_drift_cosine_distance: None,
        boundary_gradient_ratio: measure(&|f, i| {
            region(f, i)?.boundary_gradient_ratio.map(f64::from)
        }),
        face_ring_chroma_distance_levels: measure(&|f, i| {
            region(f, i)?.chroma_distance.map(f64::from)
        }),
        face_to_frame_sharpness_ratio: measure(&|f, i| {
            let face = region(f, i)?.sharpness?;
            Some(f64::from(face) / f64::from(f.frame_sharpness?).max(SHARPNESS_FLOOR))
        }),
        face_to_frame_blockiness_ratio: if native_resolution {
            measure(&|f, i| {
                let face = region(f, i)?.blockiness?;
                let frame = f.frame_blockiness?;
                (frame > 0.0).then(|| f64::from(face) / f64::from(frame))
            })
        } else {
            None
        },
        frames_sampled: frames.len() as u32,
        frames_with_face_ratio: round4(ratio),
        max_faces,
        face_size_ratio_median: size,
        yaw_deg_median: yaw,
        pitch_deg_median: pitch,
        roll_deg_median: roll,
        face_count,
        face_size,
        pose,
        face_luma_mean_median: over_faces(&|f, i| region(f, i).map(|r| f64::from(r.luma_mean))),
        frame_luma_mean_median: over_faces(&|f, _| Some(f64::from(f.frame_luma_mean))),
        face_sharpness_median: over_faces(&|f, i| {
            region(f, i).and_then(|r| r.sharpness).map(f64::from)
        }),
        frame_sharpness_median: over_faces(&|f, _| f.frame_sharpness.map(f64::from)),
        face_temporal_change_median: over_faces(&|f, i| {
            region(f, i).and_then(|r| r.temporal_change).map(f64::from)
        }),
        background_temporal_change_median: over_faces(&|f, _| {
            f.background_temporal_change.map(f64::from)
        }),
        identity_embedding: None,
        gender: None,
        age_group: None,
        age_years_median: None,
        ethnicity: None,
        face_errors: 0,
        first_face_error: None,
        face_area: face_area(frames),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: f32, y: f32, w: f32, h: f32, yaw: f32) -> Face {
        Face {
            bbox: [x, y, w, h],
            score: 0.99,
            landmarks: [[0.0; 2]; 5],
            yaw_deg: yaw,
            pitch_deg: 0.0,
            roll_deg: 0.0,
        }
    }

    /// 20x20 grey frame with a bright, noisy 8x8 "face" at (6, 6).
    fn frame(seed: u8) -> Vec<u8> {
        let mut rgb = vec![60u8; 20 * 20 * 3];
        for y in 6..14 {
            for x in 6..14 {
                let v = 150 + ((x * 7 + y * 13 + seed as usize) % 40) as u8;
                rgb[(y * 20 + x) * 3..(y * 20 + x) * 3 + 3].fill(v);
            }
        }
        rgb
    }

    #[test]
    fn regions_compare_face_with_frame() {
        let (a, b) = (frame(0), frame(5));
        let img = RgbImage {
            width: 20,
            height: 20,
            rgb: &a,
        };
        let next = RgbImage {
            width: 20,
            height: 20,
            rgb: &b,
        };
        let ff = FrameFaces::measure(img, Some(next), vec![face(6.0, 6.0, 8.0, 8.0, 0.0)]).unwrap();
        let r = ff.regions[0];
        assert!(r.luma_mean > 150.0 && ff.frame_luma_mean < r.luma_mean);
        assert!(r.sharpness.unwrap() > ff.frame_sharpness.unwrap() * 0.5);
        assert!(r.temporal_change.unwrap() > 0.0);
        assert_eq!(ff.background_temporal_change, Some(0.0));
        let s = summarise(&[ff.clone(), ff]);
        assert_eq!(s.face_count, FaceCount::Single);
        assert_eq!(s.face_size, Some(FaceSize::Large));
        assert_eq!(s.background_temporal_change_median, Some(0.0));
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"face_count\":\"single\""), "{json}");
        assert_eq!(serde_json::from_str::<FaceSummary>(&json).unwrap(), s);
    }

    #[test]
    fn categories() {
        let blank = vec![0u8; 100 * 100 * 3];
        let img = RgbImage {
            width: 100,
            height: 100,
            rgb: &blank,
        };
        let mk = |faces: Vec<Face>| FrameFaces::measure(img, None, faces).unwrap();
        let none = summarise(&[
            mk(vec![]),
            mk(vec![]),
            mk(vec![face(0.0, 0.0, 10.0, 10.0, 0.0)]),
        ]);
        assert_eq!(none.face_count, FaceCount::None);
        assert_eq!(none.frames_with_face_ratio, 0.3333, "rounded to 4 decimals");
        assert_eq!(none.face_size, Some(FaceSize::Small));
        assert_eq!(none.face_temporal_change_median, None);
        let two = vec![
            face(0.0, 0.0, 20.0, 20.0, 30.0),
            face(50.0, 0.0, 10.0, 10.0, 0.0),
        ];
        let multi = summarise(&[mk(two.clone()), mk(two)]);
        assert_eq!(multi.face_count, FaceCount::Multi);
        assert_eq!(multi.max_faces, 2);
        assert_eq!(multi.face_size, Some(FaceSize::Medium));
        assert_eq!(multi.pose, Some(PoseClass::Turned));
        assert_eq!(multi.yaw_deg_median, Some(30.0));
        let empty = summarise(&[]);
        assert_eq!(empty.face_count, FaceCount::None);
        assert_eq!(empty.pose, None);
        assert_eq!(median(vec![3.0, 1.0, 2.0, 10.0]), Some(2.5));
    }
}
