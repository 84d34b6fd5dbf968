//! Scene measurements from the frame pass's per-frame sums: the colour of
//! the light (correlated colour temperature of near-neutral pixels), the
//! global (camera) motion between a sampled frame and the frame after it
//! (phase correlation of their 32×32 luma grids), and the pure functions
//! that turn them into categories. The per-pixel sums come from the
//! backends ([`crate::stats`]); everything here is shared host code, so the
//! GPU and CPU paths give the same numbers.

use std::f64::consts::PI;

use serde::{Deserialize, Serialize};

use crate::faces::summary::median;

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

/// ITU-T P.910 spatial information (std of the Sobel magnitude) of the
/// background, at the 180-row analysis size, below which the background is
/// `plain`. Measured on the planted pairs of `tests/scene.rs`: a flat
/// canvas behind a talking head reads 0–5 (compression noise is smoothed
/// away by the area downscale); textured walls with soft shading 10–25.
pub const PLAIN_MAX_SI: f64 = 25.0;
/// Above this the background is `cluttered`: the gravel texture of the
/// planted pair reads ≈ 105, street and interior scenes with furniture and
/// shelves 65–160; a cat on a plain blanket or a rocket against the sky
/// 50–60 (`moderate`, between the two).
pub const CLUTTERED_MIN_SI: f64 = 60.0;
/// The person region left out of the background, relative to the union of
/// the face boxes: this share of the box width added on either side
/// (shoulders are about three face widths across)...
pub const PERSON_SIDE_MARGIN: f64 = 1.0;
/// ...this share of the box height above it (hair), and everything below
/// it down to the bottom of the frame (neck, torso).
pub const PERSON_TOP_MARGIN: f64 = 0.35;
/// A frame pair's global shift counts only when its phase-correlation peak
/// reaches this height: below it no single shift explains the change
/// (independent motion, a cut, noise), and the pair says nothing about the
/// camera. 0.1 is about ten times the peak of unrelated 32×32 grids (their
/// correlation spreads over the 1024 cells).
pub const SHIFT_MIN_PEAK: f64 = 0.1;
/// The camera is `moving` when the median global motion reaches this many
/// analysis-image pixels per second (180 rows): 12 px/s is 7% of the frame
/// height a second, a slow pan. Fixed-camera footage reads 0–8 (sub-cell
/// noise of the phase correlation, pulled by a talking head's own motion:
/// the carphone clip 4, a talking head on a flat canvas 5.5, city traffic
/// filmed from a fixed point 7.8); the planted shaken copy reads ~790.
pub const MOVING_MIN_PX_PER_S: f64 = 12.0;
/// Sky cue: a median sky-like share of the top band at least this reads
/// outdoor (open sky above a person fills a quarter or more of that band;
/// a blue studio backdrop does too, which is why one cue never decides)...
pub const SKY_OUTDOOR_MIN_SHARE: f64 = 0.25;
/// ...and at most this reads indoor (a few sky-like pixels are a window, a
/// white lamp or a blue object).
pub const SKY_INDOOR_MAX_SHARE: f64 = 0.05;
/// Daylight cue: a light at or above this temperature with a bright frame
/// (mean luma ≥ [`DAYLIGHT_MIN_LUMA`]) reads outdoor: overcast daylight,
/// shade and blue sky are 6000–10000 K. Direct sun (5000–5800 K) is left
/// out: cameras white-balance interiors to that range too.
pub const DAYLIGHT_MIN_K: f64 = COOL_MIN_K;
/// Mean luma (levels) of a daylight frame: outdoor daylight scenes sit far
/// above dim interiors (which [`crate::policy`] calls low-light below 60).
pub const DAYLIGHT_MIN_LUMA: f64 = 100.0;
/// Dynamic-range cue: a 1st-to-99th percentile span below this many levels
/// reads indoor (flat, evenly lit interiors; daylight scenes span most of
/// the range). A wide span says nothing: studio lighting is wide too.
pub const INDOOR_MAX_SPAN_LEVELS: f64 = 140.0;

/// How busy the background is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Background {
    /// Below [`PLAIN_MAX_SI`].
    Plain,
    /// Between.
    Moderate,
    /// Above [`CLUTTERED_MIN_SI`].
    Cluttered,
}

/// Whether the camera moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CameraMotion {
    /// Below [`MOVING_MIN_PX_PER_S`].
    Static,
    /// At or above it.
    Moving,
}

/// Indoor or outdoor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Setting {
    /// Indoors.
    Indoor,
    /// Outdoors.
    Outdoor,
    /// The cues do not agree, or too few speak.
    Unknown,
}

impl Setting {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Setting::Indoor => "indoor",
            Setting::Outdoor => "outdoor",
            Setting::Unknown => "unknown",
        }
    }
}

/// One pixel cue's vote on the setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingCue {
    /// `sky`, `daylight` or `dynamic_range`.
    pub cue: String,
    /// What it says (`indoor`, `outdoor`); cues that say nothing are not listed.
    pub says: Setting,
}

/// What the frame pass measured about the scene of one video.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SceneSummary {
    /// Correlated colour temperature of the light (median over frames of
    /// the near-neutral pixels' colour), kelvin; `None` with no
    /// near-neutral pixel or a colour outside [`CCT_RANGE_K`].
    pub light_color_k: Option<f64>,
    /// [`light_color`] of `light_color_k`.
    pub light_color: Option<LightColor>,
    /// ITU-T P.910 spatial information (std of the Sobel magnitude, levels)
    /// of the background (outside the person region around the face boxes,
    /// [`PERSON_SIDE_MARGIN`]), at the 180-row analysis size; median over
    /// frames. `None` when the person fills the frame.
    pub background_si: Option<f64>,
    /// Class of `background_si`.
    pub background: Option<Background>,
    /// Global (camera) motion, analysis-image pixels per second at the
    /// 180-row analysis size: median over frame pairs of the phase-correlation
    /// shift divided by the pair's time gap. `None` without a usable pair.
    pub camera_motion_px: Option<f64>,
    /// Class of `camera_motion_px`.
    pub camera_motion: Option<CameraMotion>,
    /// Frame pairs the motion rests on (peak ≥ [`SHIFT_MIN_PEAK`]).
    pub camera_motion_pairs: u32,
    /// Indoor/outdoor from the pixel cues (`unknown` unless at least two
    /// cues agree and none disagrees).
    pub setting: Setting,
    /// Share of the three cues that agree with `setting` (0 for `unknown`).
    pub setting_confidence: f64,
    /// Where `setting` comes from: `pixels`, or `metadata:<key>` when the
    /// dataset says (then `setting_confidence` is 1).
    #[serde(default = "pixels")]
    pub setting_source: String,
    /// The pixel cues that spoke (kept when metadata decides, so the two
    /// can be compared).
    pub setting_cues: Vec<SettingCue>,
    /// Median share of the top band's pixels that look like sky.
    pub sky_share: f64,
}

/// One sampled frame's inputs to [`summarise`]: its statistics and the time
/// to the frame its `shift_px` was measured against.
#[derive(Debug, Clone, Copy)]
pub struct SceneFrame<'a> {
    /// The frame's statistics.
    pub stats: &'a crate::stats::FrameStats,
    /// Seconds from this frame to the next one (`None`: no next frame).
    pub next_gap_s: Option<f64>,
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Background cells (row major, [`crate::stats::SI_CELLS`] per side) that
/// the person region of `face_area` (union of face boxes as fractions of
/// the frame: x0, y0, x1, y1) does not touch; every cell without one.
pub fn background_cells(face_area: Option<[f64; 4]>) -> Vec<bool> {
    let n = crate::stats::SI_CELLS as usize;
    let Some([x0, y0, x1, y1]) = face_area else {
        return vec![true; n * n];
    };
    let (w, h) = (x1 - x0, y1 - y0);
    let (px0, px1) = (x0 - PERSON_SIDE_MARGIN * w, x1 + PERSON_SIDE_MARGIN * w);
    let py0 = y0 - PERSON_TOP_MARGIN * h;
    (0..n * n)
        .map(|c| {
            let (cx, cy) = ((c % n) as f64, (c / n) as f64);
            let (c0, c1) = (cx / n as f64, (cx + 1.0) / n as f64);
            let r1 = (cy + 1.0) / n as f64;
            // Outside when entirely left, right or above the region.
            c1 <= px0 || c0 >= px1 || r1 <= py0
        })
        .collect()
}

/// ITU-T P.910 spatial information over the cells marked in `keep`: the
/// population std of the Sobel magnitude over their pixels. `None` for no
/// pixel.
pub fn spatial_information(cells: &[[u64; 3]], keep: &[bool]) -> Option<f64> {
    let (mut s, mut sq, mut n) = (0u128, 0u128, 0u128);
    for (c, _) in cells.iter().zip(keep).filter(|(_, &k)| k) {
        s += u128::from(c[0]);
        sq += u128::from(c[1]);
        n += u128::from(c[2]);
    }
    if n == 0 {
        return None;
    }
    let var = (n * sq).saturating_sub(s * s) as f64 / (n as f64 * n as f64);
    Some(var.sqrt())
}

/// The background class of a spatial information value.
pub fn background_class(si: f64) -> Background {
    if si < PLAIN_MAX_SI {
        Background::Plain
    } else if si > CLUTTERED_MIN_SI {
        Background::Cluttered
    } else {
        Background::Moderate
    }
}

/// The camera-motion class of a global motion in px/s.
pub fn camera_motion_class(px_per_s: f64) -> CameraMotion {
    if px_per_s >= MOVING_MIN_PX_PER_S {
        CameraMotion::Moving
    } else {
        CameraMotion::Static
    }
}

/// Indoor/outdoor from the pixel cues: sky in the top band, daylight
/// colour temperature in a bright frame (or warm artificial light), a flat
/// dynamic range. `unknown` unless at least two cues agree and none
/// disagrees (a guess is never given as a measurement).
pub fn setting_from_cues(
    sky_share: f64,
    cct_k: Option<f64>,
    mean_luma: f64,
    span_levels: f64,
) -> (Setting, f64, Vec<SettingCue>) {
    let mut cues = Vec::new();
    let mut vote = |cue: &str, says: Option<Setting>| {
        if let Some(says) = says {
            cues.push(SettingCue {
                cue: cue.into(),
                says,
            });
        }
    };
    vote(
        "sky",
        if sky_share >= SKY_OUTDOOR_MIN_SHARE {
            Some(Setting::Outdoor)
        } else if sky_share <= SKY_INDOOR_MAX_SHARE {
            Some(Setting::Indoor)
        } else {
            None
        },
    );
    vote(
        "daylight",
        cct_k.and_then(|k| {
            if k >= DAYLIGHT_MIN_K && mean_luma >= DAYLIGHT_MIN_LUMA {
                Some(Setting::Outdoor)
            } else if k < WARM_MAX_K {
                Some(Setting::Indoor)
            } else {
                None
            }
        }),
    );
    vote(
        "dynamic_range",
        (span_levels < INDOOR_MAX_SPAN_LEVELS).then_some(Setting::Indoor),
    );
    let count = |s: Setting| cues.iter().filter(|c| c.says == s).count();
    let (o, i) = (count(Setting::Outdoor), count(Setting::Indoor));
    let (setting, agree) = match (o, i) {
        (o, 0) if o >= 2 => (Setting::Outdoor, o),
        (0, i) if i >= 2 => (Setting::Indoor, i),
        _ => (Setting::Unknown, 0),
    };
    (setting, round2(agree as f64 / 3.0), cues)
}

/// The scene of one video from its sampled frames and the union of its
/// face boxes (fractions of the frame), if the face pass found faces.
pub fn summarise(frames: &[SceneFrame<'_>], face_area: Option<[f64; 4]>) -> SceneSummary {
    let rgb: Vec<[f64; 3]> = frames.iter().filter_map(|f| f.stats.neutral_rgb).collect();
    // Median per channel of the frames' neutral colours, then one temperature.
    let channel = |k: usize| median(rgb.iter().map(|c| c[k]).collect());
    let light_color_k = match (channel(0), channel(1), channel(2)) {
        (Some(r), Some(g), Some(b)) => cct_kelvin(r, g, b).map(|k| k.round()),
        _ => None,
    };
    let keep = background_cells(face_area);
    let background_si = median(
        frames
            .iter()
            .filter_map(|f| spatial_information(&f.stats.si_cells, &keep))
            .collect(),
    )
    .map(round2);
    let speeds: Vec<f64> = frames
        .iter()
        .filter_map(|f| {
            let [dx, dy, peak] = f.stats.shift_px?;
            let gap = f.next_gap_s.filter(|g| *g > 0.0)?;
            (peak >= SHIFT_MIN_PEAK).then(|| dx.hypot(dy) / gap)
        })
        .collect();
    let pairs = speeds.len() as u32;
    let camera_motion_px = median(speeds).map(round2);
    let sky_share = median(frames.iter().map(|f| f.stats.sky_share).collect()).unwrap_or(0.0);
    let mean_luma = median(frames.iter().map(|f| f.stats.mean_luma).collect()).unwrap_or(0.0);
    let span = median(frames.iter().map(|f| f.stats.p99 - f.stats.p01).collect()).unwrap_or(0.0);
    let (setting, setting_confidence, setting_cues) =
        setting_from_cues(sky_share, light_color_k, mean_luma, span);
    SceneSummary {
        light_color_k,
        light_color: light_color_k.map(light_color),
        background_si,
        background: background_si.map(background_class),
        camera_motion_px,
        camera_motion: camera_motion_px.map(camera_motion_class),
        camera_motion_pairs: pairs,
        setting,
        setting_confidence,
        setting_source: pixels(),
        setting_cues,
        sky_share: round2(sky_share),
    }
}

fn pixels() -> String {
    "pixels".into()
}

/// A video's scene as reported: the frame pass's [`SceneSummary`] with the
/// setting taken from the dataset's metadata where it gives one. `None`
/// before the frame pass.
pub fn for_record(r: &crate::record::VideoRecord) -> Option<SceneSummary> {
    let mut scene = r.frames.as_ref()?.scene.clone()?;
    if let Some((setting, key)) = setting_from_metadata(&r.labels.attrs) {
        scene.setting = setting;
        scene.setting_confidence = 1.0;
        scene.setting_source = format!("metadata:{key}");
    }
    Some(scene)
}

/// Metadata keys that may say indoor/outdoor, in the order they are trusted.
pub const SETTING_METADATA_KEYS: &[&str] = &[
    "setting",
    "indoor_outdoor",
    "environment",
    "location",
    "scene",
];

/// The setting a dataset's metadata gives (a value naming indoor or
/// outdoor under one of [`SETTING_METADATA_KEYS`]) and the key it came from.
pub fn setting_from_metadata(
    attrs: &std::collections::BTreeMap<String, String>,
) -> Option<(Setting, &'static str)> {
    SETTING_METADATA_KEYS.iter().find_map(|&k| {
        let v = attrs.get(k)?.to_ascii_lowercase();
        if v.contains("outdoor") || v.contains("outside") {
            Some((Setting::Outdoor, k))
        } else if v.contains("indoor") || v.contains("inside") {
            Some((Setting::Indoor, k))
        } else {
            None
        }
    })
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
    fn background_cells_leave_out_the_person_below_and_around_the_face() {
        let all = background_cells(None);
        assert!(all.iter().all(|&k| k));
        // A face in the middle top: cells above it and at the far left and
        // right stay; the face, its sides and everything below go.
        let keep = background_cells(Some([0.4, 0.3, 0.6, 0.5]));
        let n = crate::stats::SI_CELLS as usize;
        let at = |x: usize, y: usize| keep[y * n + x];
        assert!(at(4, 0) && at(0, 7) && at(7, 7));
        assert!(!at(4, 3) && !at(4, 7) && !at(3, 5));
    }

    #[test]
    fn spatial_information_pools_the_kept_cells() {
        // Two cells: magnitudes {0, 0} and {10, 10}; pooled std = 5.
        let cells = [[0, 0, 2], [20, 200, 2]];
        assert_eq!(spatial_information(&cells, &[true, true]), Some(5.0));
        assert_eq!(spatial_information(&cells, &[true, false]), Some(0.0));
        assert_eq!(spatial_information(&cells, &[false, false]), None);
        assert_eq!(background_class(3.0), Background::Plain);
        assert_eq!(background_class(40.0), Background::Moderate);
        assert_eq!(background_class(100.0), Background::Cluttered);
    }

    #[test]
    fn setting_needs_two_agreeing_cues_and_no_dissent() {
        // Sky and daylight agree: outdoor.
        let (s, c, cues) = setting_from_cues(0.5, Some(7000.0), 140.0, 180.0);
        assert_eq!((s, c, cues.len()), (Setting::Outdoor, 0.67, 2));
        // No sky and warm light: indoor.
        assert_eq!(
            setting_from_cues(0.0, Some(3200.0), 90.0, 180.0).0,
            Setting::Indoor
        );
        // Sky says outdoor, warm light says indoor: unknown.
        let (s, c, _) = setting_from_cues(0.5, Some(3200.0), 140.0, 180.0);
        assert_eq!((s, c), (Setting::Unknown, 0.0));
        // One cue alone: unknown.
        assert_eq!(
            setting_from_cues(0.5, None, 80.0, 180.0).0,
            Setting::Unknown
        );
    }

    #[test]
    fn metadata_names_the_setting() {
        let mut attrs = std::collections::BTreeMap::new();
        attrs.insert("scene".to_string(), "Outdoor_Street".to_string());
        assert_eq!(
            setting_from_metadata(&attrs),
            Some((Setting::Outdoor, "scene"))
        );
        attrs.insert("setting".to_string(), "indoor".to_string());
        assert_eq!(
            setting_from_metadata(&attrs),
            Some((Setting::Indoor, "setting"))
        );
        attrs.clear();
        attrs.insert("scene".to_string(), "kitchen".to_string());
        assert_eq!(setting_from_metadata(&attrs), None);
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
