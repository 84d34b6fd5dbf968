//! Scene measurements from the frame pass's per-frame sums: the colour of
//! the light (correlated colour temperature of near-neutral pixels), the
//! global (camera) motion between a sampled frame and the frame after it
//! (phase correlation of their 32×32 luma grids), and the pure functions
//! that turn them into categories. The per-pixel sums come from the
//! backends ([`crate::stats`]); everything here is shared host code, so the
//! GPU and CPU paths give the same numbers.

use std::f64::consts::PI;

use serde::{Deserialize, Serialize};

/// Below this correlated colour temperature the light is `warm`: tungsten
/// and halogen lamps sit at 2700–3300 K, warm-white LEDs at 3000 K (CIE
/// illuminant A is 2856 K).
pub const WARM_MAX_K: f64 = 4000.0;

/// Above this the light is `cool`: overcast daylight and shade sit at
/// 6500–8000 K (CIE D65 is 6504 K); direct sun and flash at 5000–5800 K
/// count as `neutral`.
pub const COOL_MIN_K: f64 = 6000.0;

/// McCamy's approximation holds from about 2000 K to 12500 K; outside it
/// the light is not a blackbody-like illuminant and no temperature is given.
pub const CCT_RANGE_K: (f64, f64) = (1500.0, 15000.0);

/// The colour of the light.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LightColor {
    /// Below [`WARM_MAX_K`].
    Warm,
    /// Between the two.
    Neutral,
    /// Above [`COOL_MIN_K`].
    Cool,
}

/// sRGB level (0–255) to linear light (IEC 61966-2-1).
fn linear(level: f64) -> f64 {
    let c = (level / 255.0).clamp(0.0, 1.0);
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// Correlated colour temperature (kelvin) of the mean sRGB colour of
/// near-neutral pixels: linear sRGB → CIE XYZ (D65 matrix) → xy chromaticity
/// → McCamy's cubic (McCamy 1992, Color Res. Appl. 17(2)). None for black or
/// a chromaticity outside [`CCT_RANGE_K`].
pub fn cct_kelvin(r: f64, g: f64, b: f64) -> Option<f64> {
    let (r, g, b) = (linear(r), linear(g), linear(b));
    let x = 0.4124 * r + 0.3576 * g + 0.1805 * b;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = 0.0193 * r + 0.1192 * g + 0.9505 * b;
    let sum = x + y + z;
    if sum <= 1e-9 {
        return None;
    }
    let (cx, cy) = (x / sum, y / sum);
    if (0.1858 - cy).abs() < 1e-9 {
        return None;
    }
    let n = (cx - 0.3320) / (0.1858 - cy);
    let cct = 449.0 * n.powi(3) + 3525.0 * n.powi(2) + 6823.3 * n + 5520.33;
    (CCT_RANGE_K.0..=CCT_RANGE_K.1)
        .contains(&cct)
        .then_some(cct)
}

/// The light colour category of a temperature.
pub fn light_color(cct_k: f64) -> LightColor {
    if cct_k < WARM_MAX_K {
        LightColor::Warm
    } else if cct_k > COOL_MIN_K {
        LightColor::Cool
    } else {
        LightColor::Neutral
    }
}

/// In-place radix-2 FFT of `re`/`im` (length a power of two); `inverse`
/// conjugates the twiddles (no scaling).
fn fft(re: &mut [f64], im: &mut [f64], inverse: bool) {
    let n = re.len();
    let mut j = 0;
    for i in 1..n {
        let mut bit = n >> 1;
        while j & bit != 0 {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if i < j {
            re.swap(i, j);
            im.swap(i, j);
        }
    }
    let mut len = 2;
    while len <= n {
        let angle = 2.0 * PI / len as f64 * if inverse { 1.0 } else { -1.0 };
        let (wr, wi) = (angle.cos(), angle.sin());
        for start in (0..n).step_by(len) {
            let (mut cr, mut ci) = (1.0, 0.0);
            for k in 0..len / 2 {
                let (a, b) = (start + k, start + k + len / 2);
                let tr = re[b] * cr - im[b] * ci;
                let ti = re[b] * ci + im[b] * cr;
                re[b] = re[a] - tr;
                im[b] = im[a] - ti;
                re[a] += tr;
                im[a] += ti;
                let next = cr * wr - ci * wi;
                ci = cr * wi + ci * wr;
                cr = next;
            }
        }
        len <<= 1;
    }
}

/// 2-D FFT of a `side`×`side` array (rows then columns).
fn fft2(re: &mut [f64], im: &mut [f64], side: usize, inverse: bool) {
    for row in 0..side {
        let s = row * side..(row + 1) * side;
        fft(&mut re[s.clone()], &mut im[s], inverse);
    }
    let (mut cr, mut ci) = (vec![0.0; side], vec![0.0; side]);
    for col in 0..side {
        for row in 0..side {
            cr[row] = re[row * side + col];
            ci[row] = im[row * side + col];
        }
        fft(&mut cr, &mut ci, inverse);
        for row in 0..side {
            re[row * side + col] = cr[row];
            im[row * side + col] = ci[row];
        }
    }
}

/// The global shift (dx, dy) in grid cells that moves square grid `a` onto
/// `b`, by phase correlation with a Hann window and a parabolic sub-cell
/// peak, and the peak's height (0–1: how much of the image moves as one).
/// None for flat grids.
pub fn global_shift(a: &[u8], b: &[u8], side: usize) -> Option<(f64, f64, f64)> {
    assert!(side.is_power_of_two() && a.len() == side * side && b.len() == side * side);
    let window: Vec<f64> = (0..side)
        .map(|i| 0.5 - 0.5 * (2.0 * PI * i as f64 / side as f64).cos())
        .collect();
    let prepare = |g: &[u8]| -> (Vec<f64>, Vec<f64>) {
        let mean = g.iter().map(|&v| f64::from(v)).sum::<f64>() / g.len() as f64;
        let re = (0..side * side)
            .map(|i| (f64::from(g[i]) - mean) * window[i / side] * window[i % side])
            .collect();
        (re, vec![0.0; side * side])
    };
    let (mut ar, mut ai) = prepare(a);
    let (mut br, mut bi) = prepare(b);
    fft2(&mut ar, &mut ai, side, false);
    fft2(&mut br, &mut bi, side, false);
    // Normalised cross-power spectrum B · conj(A) / |B · conj(A)|.
    let mut energy = 0.0;
    let (mut cr, mut ci) = (vec![0.0; side * side], vec![0.0; side * side]);
    for k in 0..side * side {
        let re = br[k] * ar[k] + bi[k] * ai[k];
        let im = bi[k] * ar[k] - br[k] * ai[k];
        let mag = (re * re + im * im).sqrt();
        energy += mag;
        if mag > 1e-9 {
            cr[k] = re / mag;
            ci[k] = im / mag;
        }
    }
    if energy < 1e-6 {
        return None;
    }
    fft2(&mut cr, &mut ci, side, true);
    let n = (side * side) as f64;
    let at = |x: isize, y: isize| -> f64 {
        let (x, y) = (
            x.rem_euclid(side as isize) as usize,
            y.rem_euclid(side as isize) as usize,
        );
        cr[y * side + x] / n
    };
    let (mut px, mut py, mut peak) = (0isize, 0isize, f64::MIN);
    for y in 0..side as isize {
        for x in 0..side as isize {
            let v = at(x, y);
            if v > peak {
                (px, py, peak) = (x, y, v);
            }
        }
    }
    let sub = |m: f64, c: f64, p: f64| -> f64 {
        let d = m - 2.0 * c + p;
        if d.abs() < 1e-12 {
            0.0
        } else {
            (0.5 * (m - p) / d).clamp(-0.5, 0.5)
        }
    };
    let dx = sub(at(px - 1, py), peak, at(px + 1, py));
    let dy = sub(at(px, py - 1), peak, at(px, py + 1));
    let wrap = |v: isize| {
        if v > side as isize / 2 {
            v - side as isize
        } else {
            v
        }
    };
    Some((wrap(px) as f64 + dx, wrap(py) as f64 + dy, peak))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_temperature_of_standard_illuminants() {
        // D65 white in sRGB is (255, 255, 255): 6500 K within McCamy's error.
        let d65 = cct_kelvin(255.0, 255.0, 255.0).unwrap();
        assert!((d65 - 6504.0).abs() < 100.0, "{d65}");
        // Warm tungsten-like white (255, 180, 110) reads warm; a bluish
        // white (200, 220, 255) reads cool.
        let warm = cct_kelvin(255.0, 180.0, 110.0).unwrap();
        assert!(warm < WARM_MAX_K, "{warm}");
        assert_eq!(light_color(warm), LightColor::Warm);
        let cool = cct_kelvin(200.0, 220.0, 255.0).unwrap();
        assert!(cool > COOL_MIN_K, "{cool}");
        assert_eq!(light_color(cool), LightColor::Cool);
        assert_eq!(cct_kelvin(0.0, 0.0, 0.0), None);
    }

    #[test]
    fn phase_correlation_finds_the_shift() {
        let side = 32;
        // A smooth random-ish texture and the same moved by (3, -2).
        let tex = |x: i32, y: i32| -> u8 {
            let v = (x * 37 + y * 91).rem_euclid(256) as f64;
            let w =
                ((x as f64 * 0.7).sin() * 40.0 + (y as f64 * 0.45).cos() * 50.0 + v * 0.3) + 100.0;
            w.clamp(0.0, 255.0) as u8
        };
        let a: Vec<u8> = (0..side * side)
            .map(|i| tex((i % side) as i32, (i / side) as i32))
            .collect();
        let b: Vec<u8> = (0..side * side)
            .map(|i| tex((i % side) as i32 - 3, (i / side) as i32 + 2))
            .collect();
        let (dx, dy, peak) = global_shift(&a, &b, side).unwrap();
        assert!(
            (dx - 3.0).abs() < 0.5 && (dy + 2.0).abs() < 0.5,
            "{dx} {dy}"
        );
        assert!(peak > 0.2, "{peak}");
        let (sx, sy, _) = global_shift(&a, &a, side).unwrap();
        assert!(sx.abs() < 0.01 && sy.abs() < 0.01);
        assert!(global_shift(&[7; 1024], &[7; 1024], side).is_none());
    }
}
