//! Per-frame tells of a manipulated face, measured on a face against its
//! own surroundings and against the next frame, and identity drift over a
//! video's frames. [`super::summary`] turns them into the per-video measures
//! ([`super::summary::VIDEO_MEASURES`]) that the fake catalog compares
//! between fakes and their originals.
//!
//! Geometry: every measure works on two rectangles made from the detector's
//! face box by scaling it about its centre, clipped to the frame:
//! * the **core**, [`CORE_SCALE`] of the box: cheeks, eyes, nose and mouth,
//!   little hair or background (a detector box is tight, brow to chin and
//!   cheek to cheek, and an oval face leaves its corners to the background);
//! * the **ring**, between [`RING_INNER_SCALE`] and [`RING_OUTER_SCALE`] of
//!   the box: a band across the box edge, where a face-swap's blending mask
//!   ends (FaceForensics++'s DeepFakes and FaceSwap blend the landmarks'
//!   convex hull, brow to chin, which lies just inside the box; a pasted
//!   rectangle or ellipse a little larger than the face lies just outside),
//!   and the surrounding skin, hair and background. Blending-boundary
//!   energy looks there for the seam: the line, parallel to the box edge,
//!   with the strongest gradient across it.
//!
//! Luma is BT.601 from RGB as in [`super::summary`]; chroma is full-range
//! BT.601 Cb/Cr (JPEG's), in 8-bit levels.

use super::{iou, Face};

/// Side of the core rectangle as a share of the face box's side: 0.6 keeps
/// the central face (eyes to mouth, the cheeks between) and leaves the box's
/// corners, which an oval face does not fill, and the hairline out.
pub const CORE_SCALE: f32 = 0.6;
/// Inner edge of the boundary ring, as a share of the face box's side: 0.9
/// reaches 5% of the box inside its edge, where a landmark-hull mask ends.
pub const RING_INNER_SCALE: f32 = 0.9;
/// Outer edge of the boundary ring: 1.3, 15% of the box outside its edge on
/// every side, covers masks a little larger than the face (an ellipse or
/// rectangle around it) and the skin and background next to the face.
pub const RING_OUTER_SCALE: f32 = 1.3;
/// Regularisation, in luma levels, added to both mean gradient magnitudes of
/// the boundary-energy ratio, as [`crate::stats::BLOCKINESS_REG_LEVELS`]
/// does for blockiness: a flat core gives a finite ratio and one level is
/// below visible noise in 8-bit video.
pub const GRADIENT_REG_LEVELS: f64 = 1.0;
/// Share of the face box's side over which a seam line of the
/// blending-boundary energy is averaged, centred on the side: 0.5, the
/// middle half, where a landmark-hull or elliptical mask's edge runs most
/// nearly parallel to the box edge (cheeks at eye-to-mouth height, brow,
/// chin); towards the box corners it curves away and would smear across
/// lines.
pub const SEAM_SPAN_SCALE: f32 = 0.5;
/// Smallest background change (mean |ΔY|, luma levels) a face change is
/// divided by: below half a level most background pixels did not change by
/// a single level (a still shot), and dividing by less turns quantisation
/// noise into large ratios.
pub const CHANGE_FLOOR_LEVELS: f64 = 0.5;
/// Smallest frame Laplacian variance (squared levels) a face's is divided
/// by: one level², the variance of ±1-level noise, below anything a real
/// frame with texture has.
pub const SHARPNESS_FLOOR: f64 = 1.0;
/// A face in the next frame is the same face when its box overlaps the
/// main face's by at least this IoU: a head moving half its width between
/// two consecutive frames (far faster than a talking head) still overlaps
/// by about 0.33, while another person's face overlaps by nothing.
pub const JITTER_MATCH_MIN_IOU: f32 = 0.3;
/// Regularisation, in luma levels, of the 8×8 blockiness ratios, the same
/// as the frame pass's [`crate::stats::BLOCKINESS_REG_LEVELS`].
pub const BLOCK_REG_LEVELS: f64 = crate::stats::BLOCKINESS_REG_LEVELS;

/// Integer pixel rectangle `[x0, x1) × [y0, y1)`.
pub type Rect = (usize, usize, usize, usize);

/// The face box scaled by `s` about its centre, clipped to a `w`×`h` frame.
pub fn scaled_rect(face: &Face, s: f32, w: usize, h: usize) -> Rect {
    let [x, y, bw, bh] = face.bbox;
    let (cx, cy) = (x + bw / 2.0, y + bh / 2.0);
    let (hw, hh) = (bw * s / 2.0, bh * s / 2.0);
    let clip = |v: f32, max: usize| v.max(0.0).min(max as f32) as usize;
    (
        clip((cx - hw).round(), w),
        clip((cx + hw).round(), w),
        clip((cy - hh).round(), h),
        clip((cy + hh).round(), h),
    )
}

fn inside(r: Rect, x: usize, y: usize) -> bool {
    x >= r.0 && x < r.1 && y >= r.2 && y < r.3
}

/// Central differences `(|L(x+1,y) − L(x−1,y)|, |L(x,y+1) − L(x,y−1)|)`
/// at an interior pixel.
fn gradient(l: &[u8], w: usize, x: usize, y: usize) -> (u64, u64) {
    (
        u64::from(l[y * w + x + 1].abs_diff(l[y * w + x - 1])),
        u64::from(l[(y + 1) * w + x].abs_diff(l[(y - 1) * w + x])),
    )
}

/// Mean over `n` values, `None` for none.
fn mean_of(sum: u64, n: usize) -> Option<f64> {
    (n > 0).then(|| sum as f64 / n as f64)
}

/// Blending-boundary energy of one face, a ratio. Per side of the face box,
/// the ring's band on that side (between [`RING_INNER_SCALE`] and
/// [`RING_OUTER_SCALE`] of the box) is scanned line by line parallel to the
/// box edge (columns on the left and right, rows above and below); each
/// line's mean gradient across it (|ΔL| along x for a column, along y for a
/// row), over the middle [`SEAM_SPAN_SCALE`] of the box's side, and the
/// strongest line of the band is that side's seam energy. The ratio is (the
/// mean of the sides' seam energies + [`GRADIENT_REG_LEVELS`]) / (the
/// core's mean gradient across the same direction + the same): in the core
/// each pixel's |ΔL| along x where it is further from the centre sideways
/// than up or down (as a share of the box's width and height), else along
/// y. A mask's edge is a line of large gradient across it, all along one
/// offset from the box edge: a hard-edged paste puts its whole step on one
/// or two lines; a feathered one spreads it over the ramp's width, each
/// line a small share; texture (hair, background) averages out along a
/// line. Sides whose band lies outside the frame are left out; `None` when
/// all are, or the core is empty.
pub fn boundary_gradient_ratio(l: &[u8], w: usize, h: usize, face: &Face) -> Option<f32> {
    if w < 3 || h < 3 {
        return None;
    }
    let ring = scaled_rect(face, RING_OUTER_SCALE, w, h);
    let hole = scaled_rect(face, RING_INNER_SCALE, w, h);
    let span = scaled_rect(face, SEAM_SPAN_SCALE, w, h);
    let core = scaled_rect(face, CORE_SCALE, w, h);
    let interior_x = |x: &usize| *x >= 1 && *x + 1 < w;
    let interior_y = |y: &usize| *y >= 1 && *y + 1 < h;
    let strongest = |lines: Vec<Option<f64>>| lines.into_iter().flatten().reduce(f64::max);
    let column = |x: usize| {
        let ys: Vec<usize> = (span.2..span.3).filter(interior_y).collect();
        mean_of(ys.iter().map(|&y| gradient(l, w, x, y).0).sum(), ys.len())
    };
    let row = |y: usize| {
        let xs: Vec<usize> = (span.0..span.1).filter(interior_x).collect();
        mean_of(xs.iter().map(|&x| gradient(l, w, x, y).1).sum(), xs.len())
    };
    let sides: Vec<f64> = [
        strongest((ring.0..hole.0).filter(interior_x).map(column).collect()),
        strongest((hole.1..ring.1).filter(interior_x).map(column).collect()),
        strongest((ring.2..hole.2).filter(interior_y).map(row).collect()),
        strongest((hole.3..ring.3).filter(interior_y).map(row).collect()),
    ]
    .into_iter()
    .flatten()
    .collect();
    if sides.is_empty() {
        return None;
    }
    let seam = sides.iter().sum::<f64>() / sides.len() as f64;
    let [bx, by, bw, bh] = face.bbox;
    let (cx, cy) = (bx + bw / 2.0, by + bh / 2.0);
    let (mut sum, mut n) = (0u64, 0usize);
    for y in (core.2..core.3).filter(interior_y) {
        for x in (core.0..core.1).filter(interior_x) {
            let (gx, gy) = gradient(l, w, x, y);
            let sideways = (x as f32 + 0.5 - cx).abs() / bw.max(1.0)
                >= (y as f32 + 0.5 - cy).abs() / bh.max(1.0);
            sum += if sideways { gx } else { gy };
            n += 1;
        }
    }
    let across_core = mean_of(sum, n)?;
    Some(((seam + GRADIENT_REG_LEVELS) / (across_core + GRADIENT_REG_LEVELS)) as f32)
}

/// Full-range BT.601 (JPEG) Cb and Cr of an RGB pixel, 8-bit levels.
fn cbcr(p: &[u8]) -> (f64, f64) {
    let (r, g, b) = (f64::from(p[0]), f64::from(p[1]), f64::from(p[2]));
    (
        128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b,
        128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b,
    )
}

/// Colour mismatch of one face: the distance between the mean (Cb, Cr) of
/// the core and the mean (Cb, Cr) of the ring, in 8-bit chroma levels. A
/// swapped face whose colour was not transferred to the target's skin and
/// light stands apart from its surroundings.
pub fn chroma_distance(rgb: &[u8], w: usize, h: usize, face: &Face) -> Option<f32> {
    let ring = scaled_rect(face, RING_OUTER_SCALE, w, h);
    let hole = scaled_rect(face, RING_INNER_SCALE, w, h);
    let core = scaled_rect(face, CORE_SCALE, w, h);
    let mean = |outer: Rect, hole: Option<Rect>| -> Option<(f64, f64)> {
        let (mut cb, mut cr, mut n) = (0f64, 0f64, 0u64);
        for y in outer.2..outer.3 {
            for x in outer.0..outer.1 {
                if hole.is_some_and(|r| inside(r, x, y)) {
                    continue;
                }
                let (b, r) = cbcr(&rgb[(y * w + x) * 3..(y * w + x) * 3 + 3]);
                cb += b;
                cr += r;
                n += 1;
            }
        }
        (n > 0).then(|| (cb / n as f64, cr / n as f64))
    };
    let (a, b) = (mean(core, None)?, mean(ring, Some(hole))?);
    Some(((a.0 - b.0).hypot(a.1 - b.1)) as f32)
}

/// 8×8 blockiness of the pixels of `r` (the frame pass's definition, on
/// pairs whose two pixels are both in `r`): (mean |p[8k+7] − p[8k+8]| + 1) /
/// (mean |p[8k+3] − p[8k+4]| + 1) over horizontal and vertical pairs, the
/// block grid anchored at the frame's top-left pixel. `None` when `r` holds
/// no pair of either kind.
pub fn blockiness(l: &[u8], w: usize, r: Rect) -> Option<f32> {
    let (mut edge, mut ne, mut mid, mut nm) = (0u64, 0u64, 0u64, 0u64);
    for y in r.2..r.3 {
        for x in r.0..r.1 {
            let p = l[y * w + x];
            let mut pair = |q: u8, at: usize| match at % 8 {
                7 => {
                    edge += u64::from(p.abs_diff(q));
                    ne += 1;
                }
                3 => {
                    mid += u64::from(p.abs_diff(q));
                    nm += 1;
                }
                _ => {}
            };
            if x + 1 < r.1 {
                pair(l[y * w + x + 1], x);
            }
            if y + 1 < r.3 {
                pair(l[(y + 1) * w + x], y);
            }
        }
    }
    if ne == 0 || nm == 0 {
        return None;
    }
    Some(
        ((edge as f64 / ne as f64 + BLOCK_REG_LEVELS) / (mid as f64 / nm as f64 + BLOCK_REG_LEVELS))
            as f32,
    )
}

/// Landmark jitter of `face` to the next frame: the mean displacement of
/// its five landmarks to those of the face in `next` that overlaps it most
/// (IoU at least [`JITTER_MATCH_MIN_IOU`]), divided by `face`'s box height:
/// face heights per frame. `None` when no face in `next` matches.
pub fn landmark_jitter(face: &Face, next: &[Face]) -> Option<f32> {
    let m = next
        .iter()
        .map(|n| (iou(&face.bbox, &n.bbox), n))
        .filter(|(o, _)| *o >= JITTER_MATCH_MIN_IOU)
        .max_by(|a, b| a.0.total_cmp(&b.0))?
        .1;
    let height = face.bbox[3];
    if height <= 0.0 {
        return None;
    }
    let shift: f32 = face
        .landmarks
        .iter()
        .zip(&m.landmarks)
        .map(|(a, b)| (a[0] - b[0]).hypot(a[1] - b[1]))
        .sum::<f32>()
        / 5.0;
    Some(shift / height)
}

/// Identity drift of a video: the mean over its frame embeddings (each
/// L2-normalised) of 1 − cos to their normalised mean; `None` with fewer
/// than two embeddings of one length.
pub fn identity_drift(embeddings: &[Vec<f32>]) -> Option<f64> {
    let dim = embeddings.first()?.len();
    let es: Vec<&Vec<f32>> = embeddings.iter().filter(|e| e.len() == dim).collect();
    if es.len() < 2 || dim == 0 {
        return None;
    }
    let mut mean = vec![0f64; dim];
    for e in &es {
        for (m, v) in mean.iter_mut().zip(e.iter()) {
            *m += f64::from(*v);
        }
    }
    let norm = mean.iter().map(|v| v * v).sum::<f64>().sqrt();
    if norm == 0.0 {
        return None;
    }
    let drift = es
        .iter()
        .map(|e| {
            let en = e.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt();
            let dot: f64 = e.iter().zip(&mean).map(|(a, m)| f64::from(*a) * m).sum();
            if en > 0.0 {
                1.0 - dot / (en * norm)
            } else {
                1.0
            }
        })
        .sum::<f64>()
        / es.len() as f64;
    Some(drift.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: f32, y: f32, w: f32, h: f32) -> Face {
        Face {
            bbox: [x, y, w, h],
            score: 0.9,
            landmarks: [
                [x + 0.3 * w, y + 0.4 * h],
                [x + 0.7 * w, y + 0.4 * h],
                [x + 0.5 * w, y + 0.6 * h],
                [x + 0.35 * w, y + 0.8 * h],
                [x + 0.65 * w, y + 0.8 * h],
            ],
            yaw_deg: 0.0,
            pitch_deg: 0.0,
            roll_deg: 0.0,
        }
    }

    /// 64x64 frame: background 40, a 40x40 patch of 200 at (12, 12),
    /// either hard-edged or ramped over `feather` pixels.
    fn pasted(feather: usize) -> Vec<u8> {
        let mut l = vec![40u8; 64 * 64];
        for y in 0..64 {
            for x in 0..64 {
                let d = [x as i32 - 12, 51 - x as i32, y as i32 - 12, 51 - y as i32]
                    .into_iter()
                    .min()
                    .unwrap();
                let a = if feather == 0 {
                    f32::from(d >= 0)
                } else {
                    ((d as f32 + 0.5) / feather as f32 + 0.5).clamp(0.0, 1.0)
                };
                l[y * 64 + x] = (40.0 + 160.0 * a).round() as u8;
            }
        }
        l
    }

    #[test]
    fn hard_edge_has_more_boundary_energy_than_feathered() {
        let f = face(16.0, 16.0, 32.0, 32.0);
        let hard = boundary_gradient_ratio(&pasted(0), 64, 64, &f).unwrap();
        let soft = boundary_gradient_ratio(&pasted(12), 64, 64, &f).unwrap();
        // Flat core (ratio denominators 1): the hard step puts 160 levels on
        // the two columns (rows) beside it, (160 + 1) / 1; the 12-px ramp
        // 2 × 160 / 12 ≈ 27 on each of its lines, (27 + 1) / 1: hard ≈ 6×.
        assert!(hard > 4.0 * soft, "hard {hard} soft {soft}");
        // A flat frame: both means 0, ratio exactly 1.
        assert_eq!(
            boundary_gradient_ratio(&[7u8; 64 * 64], 64, 64, &f),
            Some(1.0)
        );
    }

    #[test]
    fn chroma_distance_sees_a_tinted_face() {
        let f = face(16.0, 16.0, 32.0, 32.0);
        let grey = vec![120u8; 64 * 64 * 3];
        assert_eq!(chroma_distance(&grey, 64, 64, &f), Some(0.0));
        let mut tinted = grey.clone();
        let core = scaled_rect(&f, CORE_SCALE, 64, 64);
        for y in core.2..core.3 {
            for x in core.0..core.1 {
                tinted[(y * 64 + x) * 3] = 180;
            }
        }
        // +60 in R: Cr + 30, Cb − 10.1: distance 31.7.
        let d = chroma_distance(&tinted, 64, 64, &f).unwrap();
        assert!((d - 31.65).abs() < 0.1, "{d}");
    }

    #[test]
    fn blockiness_on_the_grid() {
        // 8x8 blocks of alternating 0/80: every boundary pair differs by 80.
        let l: Vec<u8> = (0..32 * 32)
            .map(|i| {
                if (i % 32 / 8 + i / 32 / 8) % 2 == 0 {
                    0
                } else {
                    80
                }
            })
            .collect();
        assert_eq!(blockiness(&l, 32, (0, 32, 0, 32)), Some(81.0));
        assert_eq!(blockiness(&l, 32, (4, 20, 4, 20)), Some(81.0));
        assert_eq!(blockiness(&l, 32, (0, 3, 0, 3)), None);
    }

    #[test]
    fn jitter_follows_the_same_face() {
        let a = face(10.0, 10.0, 50.0, 50.0);
        let moved = face(15.0, 10.0, 50.0, 50.0);
        let other = face(200.0, 10.0, 50.0, 50.0);
        assert_eq!(landmark_jitter(&a, &[other, moved]), Some(0.1));
        assert_eq!(landmark_jitter(&a, &[other]), None);
        assert_eq!(landmark_jitter(&a, &[]), None);
    }

    #[test]
    fn drift_is_zero_for_one_identity() {
        let e = vec![vec![0.6f32, 0.8], vec![0.6, 0.8]];
        assert!(identity_drift(&e).unwrap().abs() < 1e-12);
        let d = identity_drift(&[vec![1.0, 0.0], vec![0.0, 1.0]]).unwrap();
        // Each is 45° from the mean: 1 − cos 45°.
        assert!((d - (1.0 - 0.5f64.sqrt())).abs() < 1e-6, "{d}");
        assert_eq!(identity_drift(&e[..1]), None);
    }
}
