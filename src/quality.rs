//! Per-video quality: the sampled frames' statistics aggregated (10th
//! percentile, median, 90th percentile) and three plain categories, lighting,
//! sharpness and motion, for the diversity axes.
//!
//! Every statistic the categories read is resolution-independent by
//! construction (fractions of pixels, luma levels, and blur and motion measured
//! on a fixed-height analysis image; see [`crate::stats`]), so a 1080p video and
//! its 360p copy fall in the same classes. The thresholds live in
//! [`crate::policy`].

use serde::{Deserialize, Serialize};

use crate::policy::{
    BLURRY_LAPLACIAN_VAR, BRIGHT_MEAN, HIGH_CONTRAST_STD, HIGH_MOTION_PER_S, LOW_LIGHT_MEAN,
    SOFT_LAPLACIAN_VAR, STATIC_MOTION_PER_S,
};
use crate::stats::FrameStats;

/// 10th percentile, median and 90th percentile of one statistic over a
/// video's sampled frames.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// 10th percentile.
    pub p10: f64,
    /// Median.
    pub median: f64,
    /// 90th percentile.
    pub p90: f64,
}

/// Lighting category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lighting {
    /// Dark or underexposed.
    LowLight,
    /// Ordinary exposure.
    Normal,
    /// Bright or overexposed.
    Bright,
    /// Normal mean level but very wide spread (backlight, stage light).
    HighContrast,
}

/// Sharpness category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sharpness {
    /// Plenty of fine detail.
    Sharp,
    /// Some detail lost (defocus, heavy compression).
    Soft,
    /// Little detail left.
    Blurry,
}

/// Motion category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Motion {
    /// Practically no change between frames.
    Static,
    /// Talking heads, slow movement.
    Low,
    /// Camera motion, fast action.
    High,
}

/// The `quality` object of a video.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoQuality {
    /// Frames the statistics come from.
    pub frames_sampled: usize,
    /// Luma mean (levels 0–255).
    pub luma_mean: Spread,
    /// Luma standard deviation (levels).
    pub luma_std: Spread,
    /// Luma 1st percentile (levels).
    pub luma_p01: Spread,
    /// Luma 99th percentile (levels).
    pub luma_p99: Spread,
    /// Share of near-black pixels.
    pub clipped_black_frac: Spread,
    /// Share of near-white pixels.
    pub clipped_white_frac: Spread,
    /// Laplacian variance on the analysis image (blur: lower is blurrier).
    pub laplacian_var: Spread,
    /// Motion per second: mean absolute luma change to the next decoded
    /// frame divided by the time between them (levels per second); None if
    /// no frame had a successor.
    pub motion_per_s: Option<Spread>,
    /// Seconds between a sampled frame and the next decoded one that motion
    /// was measured against (1/fps when every frame is decoded; the I/P
    /// spacing when B-frames are skipped).
    pub motion_gap_s: Option<Spread>,
    /// Hasler–Süsstrunk colorfulness.
    pub colorfulness: Spread,
    /// 8×8 block-boundary discontinuity ratio (≈1 clean, higher blockier).
    pub blockiness: Spread,
    /// Noise σ on the flat areas of the analysis image (luma levels; see
    /// [`FrameStats::noise_sigma`]); None if no frame had flat areas.
    #[serde(default)]
    pub noise_sigma: Option<Spread>,
    /// Lighting category.
    pub lighting: Lighting,
    /// Sharpness category.
    pub sharpness: Sharpness,
    /// Motion category (`static` when motion could not be measured and the
    /// video has a single frame).
    pub motion: Motion,
}

/// Aggregate per-frame statistics into a video's quality. `None` for no frames.
pub fn aggregate(frames: &[FrameStats]) -> Option<VideoQuality> {
    if frames.is_empty() {
        return None;
    }
    let spread = |f: &dyn Fn(&FrameStats) -> f64| spread_of(frames.iter().map(f).collect());
    let motions: Vec<f64> = frames.iter().filter_map(|f| f.motion_per_s).collect();
    let motion_per_s = (!motions.is_empty()).then(|| spread_of(motions));
    let gaps: Vec<f64> = frames.iter().filter_map(|f| f.motion_gap_s).collect();
    let motion_gap_s = (!gaps.is_empty()).then(|| spread_of(gaps));
    let noises: Vec<f64> = frames.iter().filter_map(|f| f.noise_sigma).collect();
    let noise_sigma = (!noises.is_empty()).then(|| spread_of(noises));
    let luma_mean = spread(&|f| f.mean_luma);
    let luma_std = spread(&|f| f.std_luma);
    let laplacian_var = spread(&|f| f.laplacian_var);
    Some(VideoQuality {
        frames_sampled: frames.len(),
        lighting: classify_lighting(luma_mean.median, luma_std.median),
        sharpness: classify_sharpness(laplacian_var.median),
        motion: classify_motion(motion_per_s.map(|m| m.median).unwrap_or(0.0)),
        luma_mean,
        luma_std,
        luma_p01: spread(&|f| f.p01),
        luma_p99: spread(&|f| f.p99),
        clipped_black_frac: spread(&|f| f.clipped_black_frac),
        clipped_white_frac: spread(&|f| f.clipped_white_frac),
        laplacian_var,
        motion_per_s,
        motion_gap_s,
        colorfulness: spread(&|f| f.colorfulness),
        blockiness: spread(&|f| f.blockiness),
        noise_sigma,
    })
}

/// Lighting from the median luma mean and standard deviation.
pub fn classify_lighting(mean: f64, std: f64) -> Lighting {
    if mean < LOW_LIGHT_MEAN {
        Lighting::LowLight
    } else if mean > BRIGHT_MEAN {
        Lighting::Bright
    } else if std > HIGH_CONTRAST_STD {
        Lighting::HighContrast
    } else {
        Lighting::Normal
    }
}

/// Sharpness from the median Laplacian variance.
pub fn classify_sharpness(laplacian_var: f64) -> Sharpness {
    if laplacian_var < BLURRY_LAPLACIAN_VAR {
        Sharpness::Blurry
    } else if laplacian_var < SOFT_LAPLACIAN_VAR {
        Sharpness::Soft
    } else {
        Sharpness::Sharp
    }
}

/// Motion from the median change per second.
pub fn classify_motion(per_s: f64) -> Motion {
    if per_s < STATIC_MOTION_PER_S {
        Motion::Static
    } else if per_s < HIGH_MOTION_PER_S {
        Motion::Low
    } else {
        Motion::High
    }
}

/// Percentiles by linear interpolation between closest ranks.
fn spread_of(mut v: Vec<f64>) -> Spread {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let pos = q * (v.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        let x = v[lo] + (v[hi] - v[lo]) * (pos - lo as f64);
        (x * 1e4).round() / 1e4
    };
    Spread {
        p10: at(0.1),
        median: at(0.5),
        p90: at(0.9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate() {
        let s = spread_of(vec![5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!(s.median, 3.0);
        assert!((s.p10 - 1.4).abs() < 1e-9);
        assert!((s.p90 - 4.6).abs() < 1e-9);
        assert_eq!(spread_of(vec![7.0]).median, 7.0);
    }

    #[test]
    fn classes_follow_the_thresholds() {
        assert_eq!(classify_lighting(20.0, 10.0), Lighting::LowLight);
        assert_eq!(classify_lighting(120.0, 50.0), Lighting::Normal);
        assert_eq!(classify_lighting(120.0, 90.0), Lighting::HighContrast);
        assert_eq!(classify_lighting(200.0, 90.0), Lighting::Bright);
        assert_eq!(classify_sharpness(1.0), Sharpness::Blurry);
        assert_eq!(classify_sharpness(80.0), Sharpness::Soft);
        assert_eq!(classify_sharpness(500.0), Sharpness::Sharp);
        assert_eq!(classify_motion(2.5), Motion::Static);
        assert_eq!(classify_motion(50.0), Motion::Low);
        assert_eq!(classify_motion(500.0), Motion::High);
    }
}
