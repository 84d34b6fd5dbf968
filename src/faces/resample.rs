//! Area resampling of interleaved 3-channel f32 images, the Rust counterpart
//! of OpenCV's `cv2.resize(..., interpolation=cv2.INTER_AREA)` that the MTCNN
//! Python source uses for its image pyramid and its 24×24 / 48×48 crops.
//!
//! Each output pixel is the average of the source pixels its footprint covers,
//! weighted by the covered area. For a pure downscale that is what OpenCV's
//! INTER_AREA computes; for a pure upscale it is OpenCV's INTER_AREA upscale
//! (a pixel is copied, or blended with its neighbour by the fraction of the
//! output pixel that falls past their boundary). OpenCV switches to a
//! bilinear-like kernel when one axis shrinks and the other grows; this
//! resampler stays area-weighted on both axes there (a small, documented
//! departure, only for non-square crops, which MTCNN does not produce inside
//! the image).

/// Taps of one axis: for output index `d`, source indices `start[d]..start[d]+len[d]`
/// with weights `w[off[d]..off[d]+len[d]]` (summing to 1).
struct Taps {
    start: Vec<usize>,
    len: Vec<usize>,
    off: Vec<usize>,
    w: Vec<f32>,
}

fn taps(src: usize, dst: usize) -> Taps {
    let ratio = src as f64 / dst as f64;
    let mut t = Taps {
        start: Vec::with_capacity(dst),
        len: Vec::with_capacity(dst),
        off: Vec::with_capacity(dst),
        w: Vec::with_capacity(dst * (ratio.ceil() as usize + 1)),
    };
    for d in 0..dst {
        let f0 = d as f64 * ratio;
        let f1 = ((d + 1) as f64 * ratio).min(src as f64);
        let i0 = (f0.floor() as usize).min(src - 1);
        let i1 = (f1.ceil() as usize).clamp(i0 + 1, src);
        t.start.push(i0);
        t.off.push(t.w.len());
        let mut n = 0;
        for i in i0..i1 {
            let cover = (f1.min((i + 1) as f64) - f0.max(i as f64)).max(0.0);
            t.w.push((cover / (f1 - f0)) as f32);
            n += 1;
        }
        t.len.push(n);
    }
    t
}

/// Resize `src` (`sw`×`sh`, 3 interleaved channels, row-major) to `dw`×`dh`.
/// All sizes must be non-zero.
pub(crate) fn resize_area(src: &[f32], sw: usize, sh: usize, dw: usize, dh: usize) -> Vec<f32> {
    debug_assert_eq!(src.len(), sw * sh * 3);
    debug_assert!(sw > 0 && sh > 0 && dw > 0 && dh > 0);
    let tx = taps(sw, dw);
    let ty = taps(sh, dh);
    // Horizontal pass: sh rows of dw pixels.
    let mut tmp = vec![0f32; sh * dw * 3];
    for y in 0..sh {
        let row = &src[y * sw * 3..(y + 1) * sw * 3];
        let out = &mut tmp[y * dw * 3..(y + 1) * dw * 3];
        for d in 0..dw {
            let (s, n, o) = (tx.start[d], tx.len[d], tx.off[d]);
            let mut acc = [0f32; 3];
            for k in 0..n {
                let w = tx.w[o + k];
                let p = &row[(s + k) * 3..(s + k) * 3 + 3];
                acc[0] += w * p[0];
                acc[1] += w * p[1];
                acc[2] += w * p[2];
            }
            out[d * 3..d * 3 + 3].copy_from_slice(&acc);
        }
    }
    // Vertical pass: dh rows, each a weighted sum of whole tmp rows.
    let mut out = vec![0f32; dh * dw * 3];
    for d in 0..dh {
        let (s, n, o) = (ty.start[d], ty.len[d], ty.off[d]);
        let dst = &mut out[d * dw * 3..(d + 1) * dw * 3];
        for k in 0..n {
            let w = ty.w[o + k];
            let row = &tmp[(s + k) * dw * 3..(s + k + 1) * dw * 3];
            for (a, b) in dst.iter_mut().zip(row) {
                *a += w * b;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_and_means() {
        let src: Vec<f32> = (0..4 * 2 * 3).map(|v| v as f32).collect();
        assert_eq!(resize_area(&src, 4, 2, 4, 2), src);
        // 4x2 -> 2x1: each output is the mean of a 2x2 block.
        let out = resize_area(&src, 4, 2, 2, 1);
        let mean = |xs: [usize; 4], c: usize| xs.iter().map(|&i| src[i * 3 + c]).sum::<f32>() / 4.0;
        assert!((out[0] - mean([0, 1, 4, 5], 0)).abs() < 1e-4);
        assert!((out[5] - mean([2, 3, 6, 7], 2)).abs() < 1e-4);
    }

    #[test]
    fn fractional_downscale_weights_by_area() {
        // 3 px -> 2 px: out0 = (p0 + 0.5 p1) / 1.5, out1 = (0.5 p1 + p2) / 1.5.
        let src = [0.0, 0.0, 0.0, 3.0, 3.0, 3.0, 6.0, 6.0, 6.0];
        let out = resize_area(&src, 3, 1, 2, 1);
        assert!((out[0] - 1.0).abs() < 1e-5);
        assert!((out[3] - 5.0).abs() < 1e-5);
    }

    #[test]
    fn upscale_copies_and_blends_at_boundaries() {
        // 2 px -> 3 px: out1 straddles the boundary half and half.
        let src = [0.0, 0.0, 0.0, 6.0, 6.0, 6.0];
        let out = resize_area(&src, 2, 1, 3, 1);
        assert_eq!(out[0], 0.0);
        assert!((out[3] - 3.0).abs() < 1e-5);
        assert!((out[6] - 6.0).abs() < 1e-5);
    }
}
