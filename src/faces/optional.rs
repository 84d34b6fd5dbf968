//! Optional models a user places in `models/`: a face-embedding model
//! (identity; ArcFace / SFace style) and an age/gender model (InsightFace
//! `genderage.onnx` style). Both are `[[model]]` entries with
//! `optional = true` (roles [`ROLE_IDENTITY`], [`ROLE_GENDERAGE`]); the face
//! pass runs without them, and loads them when their file is present (and
//! matches its `sha256`, when the entry pins one).
//!
//! Preprocessing follows InsightFace (`model_zoo/arcface_onnx.py`,
//! `attribute.py`), with the entry's `input_width/height`, `pixel_mean`,
//! `pixel_std`, `color_order` and `layout` overriding the defaults:
//! * identity: the face is aligned by the least-squares similarity transform
//!   of its 5 landmarks onto the ArcFace template ([`ARCFACE_TEMPLATE`],
//!   scaled to the input size), bilinear warp, black outside the frame;
//!   RGB, `(x − 127.5) / 127.5`, NCHW 1×3×112×112. Output: the first row of
//!   the (1×D) output, L2-normalised.
//! * age/gender: a crop centred on the box, `1.5 ×` its longer side, scaled
//!   to 96×96 (bilinear); RGB, raw 0–255 (`mean 0, std 1`), NCHW. Output
//!   1×3: two gender logits (female, male) and age / 100.
//!
//! Estimated demographics are aggregate balancing signals with their
//! confidence, never per-person labels.

use std::path::Path;
use std::sync::Mutex;

use ndarray::Array4;
use ort::session::Session;
use ort::value::TensorRef;
use serde::{Deserialize, Serialize};

use super::error::{FaceError, FaceSetupError};
use super::registry::{Device, Entry, Runtime};
use super::{Face, RgbImage};

/// Registry role of the face-embedding model.
pub const ROLE_IDENTITY: &str = "identity";
/// Registry role of the age/gender model.
pub const ROLE_GENDERAGE: &str = "genderage";

/// ArcFace 5-point alignment template for a 112×112 crop (InsightFace
/// `face_align.arcface_dst`): left eye, right eye, nose, mouth left, right.
pub const ARCFACE_TEMPLATE: [[f32; 2]; 5] = [
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [41.5493, 92.3655],
    [70.7299, 92.2041],
];
/// Side the ArcFace template is defined for.
pub const ARCFACE_SIDE: f32 = 112.0;
/// Age/gender crop side over the face box's longer side (`attribute.py`: `scale = input / (max(w, h) * 1.5)`).
pub const GENDERAGE_CROP_SCALE: f32 = 1.5;

/// Age groups for balancing (years): the boundaries follow common
/// demographic bands (minors, young adults, adults, middle-aged, seniors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgeGroup {
    /// Under 18.
    #[serde(rename = "0-17")]
    Minor,
    /// 18–29.
    #[serde(rename = "18-29")]
    YoungAdult,
    /// 30–44.
    #[serde(rename = "30-44")]
    Adult,
    /// 45–59.
    #[serde(rename = "45-59")]
    MiddleAged,
    /// 60 and over.
    #[serde(rename = "60+")]
    Senior,
}

impl AgeGroup {
    /// The group of an age in years.
    pub fn of(age_years: f32) -> AgeGroup {
        match age_years {
            a if a < 18.0 => AgeGroup::Minor,
            a if a < 30.0 => AgeGroup::YoungAdult,
            a if a < 45.0 => AgeGroup::Adult,
            a if a < 60.0 => AgeGroup::MiddleAged,
            _ => AgeGroup::Senior,
        }
    }
}

/// Estimated gender (the model's two classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    /// Class 0 of the model.
    Female,
    /// Class 1 of the model.
    Male,
}

/// An age/gender estimate with its confidence.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Demographics {
    /// The more likely class.
    pub gender: Gender,
    /// Softmax probability of that class, 0.5–1.
    pub gender_confidence: f32,
    /// Estimated age, years.
    pub age_years: f32,
    /// [`AgeGroup::of`] the age.
    pub age_group: AgeGroup,
}

/// Preprocessing of one optional model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prep {
    pub(crate) width: usize,
    pub(crate) height: usize,
    /// Per channel, R G B.
    mean: [f32; 3],
    /// Per channel, R G B.
    std: [f32; 3],
    bgr: bool,
    nhwc: bool,
}

impl Prep {
    pub(crate) fn from_entry(
        e: &Entry,
        path: &Path,
        default_side: u32,
        mean: f32,
        std: f32,
    ) -> Result<Prep, FaceSetupError> {
        let bad = |reason: String| FaceSetupError::ModelSignature {
            path: path.to_path_buf(),
            reason,
        };
        let bgr = match e
            .color_order
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            None | Some("RGB") => false,
            Some("BGR") => true,
            Some(o) => return Err(bad(format!("color_order {o:?} in models.toml: RGB or BGR"))),
        };
        let nhwc = match e.layout.as_deref().map(str::to_ascii_uppercase).as_deref() {
            None | Some("NCHW") => false,
            Some("NHWC") => true,
            Some(l) => return Err(bad(format!("layout {l:?} in models.toml: NCHW or NHWC"))),
        };
        let per_channel = |v: &Option<Vec<f32>>, scalar: f32, what: &str| match v.as_deref() {
            None => Ok([scalar; 3]),
            Some(&[r, g, b]) => Ok([r, g, b]),
            Some(other) => Err(bad(format!(
                "{what} in models.toml has {} values, expected 3 (R, G, B)",
                other.len()
            ))),
        };
        let mean = per_channel(
            &e.channel_mean,
            e.pixel_mean.unwrap_or(mean),
            "channel_mean",
        )?;
        let std = per_channel(&e.channel_std, e.pixel_std.unwrap_or(std), "channel_std")?;
        if std.contains(&0.0) {
            return Err(bad("a pixel std of 0 in models.toml".into()));
        }
        let side = |v: Option<u32>, axis: usize| {
            v.or_else(|| {
                e.input_shape
                    .as_deref()
                    .filter(|d| d.len() == 4)
                    .and_then(|d| u32::try_from(d[if nhwc { axis - 1 } else { axis }]).ok())
            })
            .unwrap_or(default_side)
            .max(1) as usize
        };
        Ok(Prep {
            width: side(e.input_width, 3),
            height: side(e.input_height, 2),
            mean,
            std,
            bgr,
            nhwc,
        })
    }

    /// Tensor from an RGB crop (`width × height × 3`, f32 0–255).
    pub(crate) fn tensor(&self, crop: &[f32]) -> Array4<f32> {
        let (w, h) = (self.width, self.height);
        let mut t = if self.nhwc {
            Array4::zeros((1, h, w, 3))
        } else {
            Array4::zeros((1, 3, h, w))
        };
        for y in 0..h {
            for x in 0..w {
                for c in 0..3 {
                    let src = if self.bgr { 2 - c } else { c };
                    let v = (crop[(y * w + x) * 3 + src] - self.mean[src]) / self.std[src];
                    if self.nhwc {
                        t[[0, y, x, c]] = v;
                    } else {
                        t[[0, c, y, x]] = v;
                    }
                }
            }
        }
        t
    }
}

/// Similarity transform `dst = c · src + t` in complex form: `(c.re, c.im, t.x, t.y)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    /// Real part of the scale-rotation `c`.
    pub a: f32,
    /// Imaginary part of `c`.
    pub b: f32,
    /// Translation x.
    pub tx: f32,
    /// Translation y.
    pub ty: f32,
}

impl Similarity {
    /// Least-squares similarity (rotation, uniform scale, translation; no
    /// reflection) taking `src` points onto `dst` points (Umeyama's estimate).
    pub fn estimate(src: &[[f32; 2]], dst: &[[f32; 2]]) -> Similarity {
        let n = src.len().min(dst.len()).max(1) as f64;
        let mean = |p: &[[f32; 2]]| {
            let (sx, sy) = p.iter().fold((0.0, 0.0), |(x, y), q| {
                (x + f64::from(q[0]), y + f64::from(q[1]))
            });
            (sx / n, sy / n)
        };
        let (mx, my) = mean(src);
        let (nx, ny) = mean(dst);
        let (mut re, mut im, mut norm) = (0.0f64, 0.0f64, 0.0f64);
        for (p, q) in src.iter().zip(dst) {
            let (zx, zy) = (f64::from(p[0]) - mx, f64::from(p[1]) - my);
            let (wx, wy) = (f64::from(q[0]) - nx, f64::from(q[1]) - ny);
            // w · conj(z)
            re += wx * zx + wy * zy;
            im += wy * zx - wx * zy;
            norm += zx * zx + zy * zy;
        }
        let (a, b) = if norm > 0.0 {
            (re / norm, im / norm)
        } else {
            (1.0, 0.0)
        };
        Similarity {
            a: a as f32,
            b: b as f32,
            tx: (nx - (a * mx - b * my)) as f32,
            ty: (ny - (b * mx + a * my)) as f32,
        }
    }

    /// Map a point.
    pub fn apply(&self, p: [f32; 2]) -> [f32; 2] {
        [
            self.a * p[0] - self.b * p[1] + self.tx,
            self.b * p[0] + self.a * p[1] + self.ty,
        ]
    }

    /// The inverse transform.
    pub fn inverse(&self) -> Similarity {
        let d = self.a * self.a + self.b * self.b;
        let (a, b) = (self.a / d, -self.b / d);
        Similarity {
            a,
            b,
            tx: -(a * self.tx - b * self.ty),
            ty: -(b * self.tx + a * self.ty),
        }
    }
}

/// Warp `image` by `to_crop` (image → crop coordinates) into a `w × h` RGB
/// f32 crop, bilinear, black outside the image (`cv2.warpAffine` with
/// `borderValue=0`).
pub fn warp(image: RgbImage<'_>, to_crop: &Similarity, w: usize, h: usize) -> Vec<f32> {
    let inv = to_crop.inverse();
    let (iw, ih) = (image.width as i64, image.height as i64);
    let px = |x: i64, y: i64, c: usize| -> f32 {
        if x < 0 || y < 0 || x >= iw || y >= ih {
            0.0
        } else {
            f32::from(image.rgb[((y * iw + x) * 3) as usize + c])
        }
    };
    let mut out = vec![0f32; w * h * 3];
    for v in 0..h {
        for u in 0..w {
            let [sx, sy] = inv.apply([u as f32, v as f32]);
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as i64, y0 as i64);
            for c in 0..3 {
                let top = px(x0, y0, c) * (1.0 - fx) + px(x0 + 1, y0, c) * fx;
                let bot = px(x0, y0 + 1, c) * (1.0 - fx) + px(x0 + 1, y0 + 1, c) * fx;
                out[(v * w + u) * 3 + c] = top * (1.0 - fy) + bot * fy;
            }
        }
    }
    out
}

/// The ArcFace-aligned RGB crop (`w × h`, f32 0–255) of a face: similarity
/// from its landmarks onto [`ARCFACE_TEMPLATE`] scaled from 112 to `w`.
pub fn aligned_crop(image: RgbImage<'_>, face: &Face, w: usize, h: usize) -> Vec<f32> {
    let (sx, sy) = (w as f32 / ARCFACE_SIDE, h as f32 / ARCFACE_SIDE);
    let dst = ARCFACE_TEMPLATE.map(|p| [p[0] * sx, p[1] * sy]);
    warp(image, &Similarity::estimate(&face.landmarks, &dst), w, h)
}

/// The age/gender crop (`w × h`, f32 0–255): centred on the face box,
/// [`GENDERAGE_CROP_SCALE`] × its longer side.
pub fn box_crop(image: RgbImage<'_>, face: &Face, w: usize, h: usize) -> Vec<f32> {
    let [x, y, bw, bh] = face.bbox;
    let (cx, cy) = (x + bw / 2.0, y + bh / 2.0);
    let side = bw.max(bh).max(1.0) * GENDERAGE_CROP_SCALE;
    let s = w.max(h) as f32 / side;
    let t = Similarity {
        a: s,
        b: 0.0,
        tx: w as f32 / 2.0 - s * cx,
        ty: h as f32 / 2.0 - s * cy,
    };
    warp(image, &t, w, h)
}

/// Run a single-input model on `input`; the first output as a flat vector.
pub(crate) fn run_first(
    session: &Mutex<Session>,
    stage: &str,
    input: &Array4<f32>,
) -> Result<Vec<f32>, FaceError> {
    let mut s = session.lock().unwrap_or_else(|e| e.into_inner());
    let tensor =
        TensorRef::from_array_view(input.view()).map_err(|e| FaceError::inference(stage, e))?;
    let out = s
        .run(ort::inputs![tensor])
        .map_err(|e| FaceError::inference(stage, e))?;
    let (_, data) = out[0]
        .try_extract_tensor::<f32>()
        .map_err(|e| FaceError::inference(stage, e))?;
    Ok(data.to_vec())
}

fn open(
    runtime: &Runtime,
    entry: &Entry,
    path: &Path,
    device: Device,
) -> Result<Mutex<Session>, FaceSetupError> {
    let s = runtime.session(path, device, 1)?;
    super::registry::check_signature(&s, entry, path)?;
    Ok(Mutex::new(s))
}

/// What both optional models hold: one session behind a mutex (one call per
/// face, far cheaper than detection), the preprocessing, and what identifies
/// the model file.
pub(crate) struct LoadedModel {
    pub(crate) session: Mutex<Session>,
    pub(crate) prep: Prep,
    pub(crate) name: String,
    file_bytes: u64,
}

impl LoadedModel {
    /// Open the model of `entry` at `path`, with the model kind's default
    /// input side, mean and std where the entry gives none.
    pub(crate) fn load(
        runtime: &Runtime,
        entry: &Entry,
        path: &Path,
        device: Device,
        (side, mean, std): (u32, f32, f32),
    ) -> Result<LoadedModel, FaceSetupError> {
        Ok(LoadedModel {
            session: open(runtime, entry, path, device)?,
            prep: Prep::from_entry(entry, path, side, mean, std)?,
            name: entry.name.clone(),
            file_bytes: std::fs::metadata(path).map_or(0, |m| m.len()),
        })
    }

    /// Registry name and file size: part of the catalog's stage name, so
    /// results are recomputed when the model is added, removed or replaced.
    pub(crate) fn tag(&self) -> String {
        format!("{}:{}", self.name, self.file_bytes)
    }
}

/// A face-embedding model.
pub struct IdentityModel(LoadedModel);

impl IdentityModel {
    /// Open the model of `entry` at `path`. Defaults: 112×112, RGB,
    /// `(x − 127.5) / 127.5`, NCHW (ArcFace).
    pub fn load(
        runtime: &Runtime,
        entry: &Entry,
        path: &Path,
        device: Device,
    ) -> Result<IdentityModel, FaceSetupError> {
        LoadedModel::load(runtime, entry, path, device, (112, 127.5, 127.5)).map(IdentityModel)
    }

    /// Registry name of the model.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Registry name and file size, for the catalog's stage name.
    pub fn tag(&self) -> String {
        self.0.tag()
    }

    /// The L2-normalised embedding of `face` (found in `image`).
    pub fn embed(&self, image: RgbImage<'_>, face: &Face) -> Result<Vec<f32>, FaceError> {
        image.check()?;
        let prep = &self.0.prep;
        let crop = aligned_crop(image, face, prep.width, prep.height);
        let mut v = run_first(&self.0.session, "identity model", &prep.tensor(&crop))?;
        if v.is_empty() {
            return Err(FaceError::output("identity model", "empty embedding"));
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if !(norm.is_finite() && norm > 0.0) {
            return Err(FaceError::output(
                "identity model",
                format!("embedding norm {norm}"),
            ));
        }
        v.iter_mut().for_each(|x| *x /= norm);
        Ok(v)
    }
}

/// An age/gender model.
pub struct GenderAgeModel(LoadedModel);

impl GenderAgeModel {
    /// Open the model of `entry` at `path`. Defaults: 96×96, RGB, raw 0–255
    /// (`mean 0, std 1`), NCHW (InsightFace `genderage.onnx`).
    pub fn load(
        runtime: &Runtime,
        entry: &Entry,
        path: &Path,
        device: Device,
    ) -> Result<GenderAgeModel, FaceSetupError> {
        LoadedModel::load(runtime, entry, path, device, (96, 0.0, 1.0)).map(GenderAgeModel)
    }

    /// Registry name of the model.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Registry name and file size, for the catalog's stage name.
    pub fn tag(&self) -> String {
        self.0.tag()
    }

    /// Age and gender of `face` (found in `image`).
    pub fn estimate(&self, image: RgbImage<'_>, face: &Face) -> Result<Demographics, FaceError> {
        image.check()?;
        let prep = &self.0.prep;
        let crop = box_crop(image, face, prep.width, prep.height);
        let out = run_first(&self.0.session, "age/gender model", &prep.tensor(&crop))?;
        decode_genderage(&out)
    }
}

/// Decode a `[female logit, male logit, age / 100]` output.
pub fn decode_genderage(out: &[f32]) -> Result<Demographics, FaceError> {
    let [f, m, age] = match out {
        [f, m, a, ..] => [*f, *m, *a],
        _ => {
            return Err(FaceError::output(
                "age/gender model",
                format!("{} values, expected 3", out.len()),
            ))
        }
    };
    let p_male = 1.0 / (1.0 + (f - m).exp());
    let (gender, conf) = if p_male > 0.5 {
        (Gender::Male, p_male)
    } else {
        (Gender::Female, 1.0 - p_male)
    };
    let age_years = (age * 100.0).max(0.0);
    Ok(Demographics {
        gender,
        gender_confidence: conf,
        age_years,
        age_group: AgeGroup::of(age_years),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_recovers_a_known_transform() {
        let t = Similarity {
            a: 0.8,
            b: 0.3,
            tx: 5.0,
            ty: -7.0,
        };
        let src = ARCFACE_TEMPLATE;
        let dst = src.map(|p| t.apply(p));
        let e = Similarity::estimate(&src, &dst);
        for (x, y) in [(e.a, t.a), (e.b, t.b), (e.tx, t.tx), (e.ty, t.ty)] {
            assert!((x - y).abs() < 1e-3, "{e:?} vs {t:?}");
        }
        let p = t.inverse().apply(t.apply([3.0, 4.0]));
        assert!((p[0] - 3.0).abs() < 1e-4 && (p[1] - 4.0).abs() < 1e-4);
    }

    #[test]
    fn aligned_crop_puts_landmarks_on_the_template() {
        // Face = template scaled 1.5x and shifted by (20, 30); a white dot on
        // its nose must land on the template's nose in the crop.
        let lm = ARCFACE_TEMPLATE.map(|p| [p[0] * 1.5 + 20.0, p[1] * 1.5 + 30.0]);
        let mut rgb = vec![0u8; 240 * 240 * 3];
        let (nx, ny) = (lm[2][0].round() as usize, lm[2][1].round() as usize);
        for y in ny - 1..=ny + 1 {
            for x in nx - 1..=nx + 1 {
                rgb[(y * 240 + x) * 3..(y * 240 + x) * 3 + 3].fill(255);
            }
        }
        let image = RgbImage {
            width: 240,
            height: 240,
            rgb: &rgb,
        };
        let face = Face {
            bbox: [20.0, 30.0, 168.0, 168.0],
            score: 1.0,
            landmarks: lm,
            yaw_deg: 0.0,
            pitch_deg: 0.0,
            roll_deg: 0.0,
        };
        let crop = aligned_crop(image, &face, 112, 112);
        let (bx, by) = (0..112 * 112)
            .max_by(|&a, &b| crop[a * 3].total_cmp(&crop[b * 3]))
            .map(|i| ((i % 112) as f32, (i / 112) as f32))
            .unwrap();
        let t = ARCFACE_TEMPLATE[2];
        assert!(
            (bx - t[0]).abs() <= 1.0 && (by - t[1]).abs() <= 1.0,
            "dot at ({bx}, {by}), template nose {t:?}"
        );
    }

    #[test]
    fn genderage_decoding() {
        let d = decode_genderage(&[0.2, 0.9, 0.35]).unwrap();
        assert_eq!(d.gender, Gender::Male);
        assert!((d.gender_confidence - 0.668_187_8).abs() < 1e-5);
        assert!((d.age_years - 35.0).abs() < 1e-4);
        assert_eq!(d.age_group, AgeGroup::Adult);
        assert_eq!(
            decode_genderage(&[2.0, 0.0, 0.1]).unwrap().gender,
            Gender::Female
        );
        assert!(decode_genderage(&[1.0]).is_err());
        assert_eq!(serde_json::to_string(&AgeGroup::Senior).unwrap(), "\"60+\"");
    }
}
