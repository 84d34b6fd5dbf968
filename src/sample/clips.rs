//! Where the 10-second clips of a selected video go.

use serde::Serialize;

use crate::policy::{CLIP_LENGTH_S, CLIP_MARGIN_S};

/// A planned clip.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClipSpan {
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
}

/// Plan up to `max_clips` clips of [`CLIP_LENGTH_S`] in a video of
/// `duration_s`: start times spread evenly over the video, avoiding
/// [`CLIP_MARGIN_S`] at each end (less for a video barely longer than a clip).
pub fn plan_clips(duration_s: f64, max_clips: usize) -> Vec<ClipSpan> {
    let fit = (duration_s / CLIP_LENGTH_S).floor() as usize;
    if fit == 0 || max_clips == 0 {
        return Vec::new();
    }
    let margin = CLIP_MARGIN_S
        .min((duration_s - CLIP_LENGTH_S) / 2.0)
        .max(0.0);
    let usable = duration_s - 2.0 * margin;
    let n = ((usable / CLIP_LENGTH_S).floor() as usize)
        .clamp(1, fit)
        .min(max_clips);
    let slack = usable - n as f64 * CLIP_LENGTH_S;
    // Equal gaps before, between and after the clips.
    let gap = slack / (n as f64 + 1.0);
    (0..n)
        .map(|i| {
            let start = margin + gap * (i as f64 + 1.0) + CLIP_LENGTH_S * i as f64;
            let r = |x: f64| (x * 1000.0).round() / 1000.0;
            ClipSpan {
                start_s: r(start),
                end_s: r(start + CLIP_LENGTH_S),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_fit_inside_the_video_away_from_its_ends() {
        assert!(plan_clips(9.9, 3).is_empty());
        let one = plan_clips(10.4, 3);
        assert_eq!(one.len(), 1);
        assert!(one[0].start_s >= 0.0 && one[0].end_s <= 10.4);
        let many = plan_clips(125.0, 3);
        assert_eq!(many.len(), 3);
        assert!(many[0].start_s >= CLIP_MARGIN_S && many[2].end_s <= 125.0 - CLIP_MARGIN_S);
        assert!(many.windows(2).all(|w| w[1].start_s >= w[0].end_s));
        assert_eq!(plan_clips(35.0, 10).len(), 3);
    }
}
