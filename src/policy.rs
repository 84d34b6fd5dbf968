//! Domain thresholds, in one place: what counts as dark, blurry or static,
//! the tiers of the selection axes, when two videos are copies, when a
//! category is over- or under-represented, how long a clip is. Each constant
//! says where its value comes from; change one here and every stage (and the
//! documents that quote them) follows.
//!
//! Engineering parameters that do not change what a result means (batch
//! sizes, index beam widths, evaluation budgets) stay beside the code they
//! tune.

// ---------------------------------------------------------------- quality --

/// Median luma mean (0–255 levels) below which a video is `low_light`. Night,
/// dim indoor and underexposed footage sits under 25% of full scale (64
/// levels); we take 60 so mid-grey-heavy normal scenes near 70 are not caught.
pub const LOW_LIGHT_MEAN: f64 = 60.0;

/// Median luma mean above which a video is `bright` (overexposed, snow,
/// studio white): 70% of full scale.
pub const BRIGHT_MEAN: f64 = 180.0;

/// Median luma standard deviation (levels) above which a normally exposed video
/// is `high_contrast` (hard backlight, stage lighting). A uniform distribution
/// over 0–255 has a std of 74; ordinary footage sits at 40–60.
pub const HIGH_CONTRAST_STD: f64 = 72.0;

/// Median Laplacian variance (on the 180-row analysis image) below which a
/// video is `blurry`. Measured here: a Gaussian blur of sigma 6 on 320x240
/// content gives 9–35, the same content unblurred 400+; sharp camera-like and
/// synthetic content gives hundreds to thousands. OpenCV's rule of thumb (100)
/// is for native pixels, which this measure deliberately is not.
pub const BLURRY_LAPLACIAN_VAR: f64 = 50.0;

/// Median Laplacian variance below which a (not blurry) video is `soft`: the
/// demo's MPEG-4 and smooth-gradient clips sit at 120–140.
pub const SOFT_LAPLACIAN_VAR: f64 = 110.0;

/// Median motion per second (mean absolute luma change of the analysis image
/// between a sampled frame and the next decoded one, divided by the time
/// between them; levels per second) below which a video is `static`. From the
/// per-frame-pair measurements on the demo corpus's 25-fps clips: a looped
/// still image re-encoded measures 0.0–0.07 levels a pair (codec noise
/// only), a test card with one small moving element already 0.19; the
/// threshold 0.15 levels a pair at 25 fps is 3.75 levels per second. Codec
/// noise does not grow with the gap, so a still video sampled four frames
/// apart (B-frames skipped) reads lower still, never higher.
pub const STATIC_MOTION_PER_S: f64 = 3.75;

/// Median motion per second above which a video has `high` motion (camera
/// pans, fast action): 6 levels a frame pair at 25 fps.
pub const HIGH_MOTION_PER_S: f64 = 150.0;

// ------------------------------------------------------------------ tiers --

/// Short side (pixels) up to which a video is `480p_or_less` (SD: DFDC's
/// 320x240, FF++'s 480p YouTube sources).
pub const SD_MAX_SHORT_SIDE_PX: u32 = 480;
/// Short side up to which a video is `720p` (HD).
pub const HD_MAX_SHORT_SIDE_PX: u32 = 720;
/// Short side up to which a video is `1080p` (Full HD); above is `above_1080p`.
pub const FULL_HD_MAX_SHORT_SIDE_PX: u32 = 1080;

/// Bits per pixel per frame below which a video is `low` bitrate (heavy
/// compression, as FF++ c40); above [`HIGH_BPP`] it is `high` (c23 and better).
pub const LOW_BPP: f64 = 0.05;
/// See [`LOW_BPP`].
pub const HIGH_BPP: f64 = 0.15;

/// Videos shorter than this are `under_30s` (DFDC's 10-s clips, FF++'s
/// shortest sequences): at most two clips each.
pub const SHORT_VIDEO_MAX_S: f64 = 30.0;
/// Videos shorter than this (and not short) are `30s_to_2min`; longer are
/// `over_2min` (interviews, vlogs).
pub const MEDIUM_VIDEO_MAX_S: f64 = 120.0;

/// Height below which a video is called low resolution in the per-dataset
/// recommendations (below 480p, as DFDC's smallest 320x240 videos are).
pub const LOW_RES_HEIGHT_PX: u32 = 480;

/// A fake:real (or real:fake) ratio above this is called out as an imbalance.
/// DFDC ships about 5 fakes per real; a detector trained on that sees mostly fakes.
pub const LABEL_IMBALANCE_RATIO: f64 = 3.0;

// ------------------------------------------------------------------ dedup --

/// Two frames match when the L2 distance of their unit embeddings is at most
/// this (cosine similarity ≥ 1 − d²/2 = 0.92). Measured here: frames of
/// transformed copies (re-encode at CRF 40, 240p, trim, MPEG-4 remux) sit at
/// 0.05–0.17 from their source's; consecutive frames of one zooming shot at
/// 0.19–0.39; one studio background with a different person at 0.76.
pub const FRAME_MATCH_MAX_L2: f32 = 0.4;

/// At least this many frames of one video must match the other.
pub const MIN_MATCHED_FRAMES: usize = 3;

/// ...and at least this share of the informative frames of the covered video,
/// so a copy trimmed to half (covered by its source) still matches.
pub const MIN_MATCHED_FRACTION: f64 = 0.6;

/// Share of the matched frames whose time offset (time in the other video
/// minus time in this one) lies within [`OFFSET_TOLERANCE_SPACINGS`] of the
/// median offset. Copies share frames, so their matches line up on one
/// offset (a trimmed copy: its trim point; a re-encode: zero). Two segments
/// of one recording, or two different videos with bland frames, look alike
/// at scattered times; they are not copies.
pub const MIN_OFFSET_AGREEMENT: f64 = 0.75;

/// The offset tolerance, in sample spacings of the more sparsely sampled
/// video: a copy's frame matches one of the two source samples around it,
/// at most one spacing away.
pub const OFFSET_TOLERANCE_SPACINGS: f64 = 1.0;

/// Below this low-frequency AC energy (the L2 norm of the 64 DCT
/// coefficients of the 32×32 luma grid, in grey levels) a frame's embedding
/// is scaled down instead of normalised to unit length. About 2 levels of
/// grid standard deviation: sensor noise on a flat wall measures ~8 here,
/// a face in front of a plain wall hundreds.
pub const EMBEDDING_ENERGY_FLOOR: f64 = 64.0;

/// Embeddings with a norm below this are flat or low-texture frames (black,
/// one colour, noise on a plain surface; see [`EMBEDDING_ENERGY_FLOOR`]):
/// they say nothing about the content and are neither indexed nor matched.
pub const MIN_EMBEDDING_NORM: f32 = 0.5;

/// Durations within this many seconds count as equal when choosing the
/// cluster member to keep (re-encodes and remuxes differ by a frame or two).
pub const SAME_DURATION_S: f64 = 0.5;

// ------------------------------------------------------------ fake sample --

/// Fakes per dataset × method that get the frame and face pass by default
/// (`--fake-sample`); the others get the keyframe pass only. The fake
/// catalog reports medians (blur, blockiness, face flicker) per dataset and
/// method. From n fakes drawn at random, the order statistics at ranks
/// n/2 ± 0.98·√n bracket the population median with 95% confidence
/// whatever the distribution (the sign test's normal approximation), i.e.
/// the sample median lies between the population's 50 ± 98/√n percentiles.
/// 385 is the smallest n for which that band is within ±5 percentiles
/// (0.98/√385 = 0.0499). At DFDC scale (about 100k fakes, one stratum since
/// DFDC names no method) that is 0.4% of the fakes; a method with fewer
/// than 385 fakes is measured whole.
pub const DEFAULT_FAKE_SAMPLE: usize = 385;

// ------------------------------------------------------------- selection --

/// A category's share above this multiple of its axis's uniform share, or
/// above [`OVER_SHARE_ABS`], marks it over-represented (the balance rule the
/// selection was specified with: "over 2x the uniform share or over 50%").
pub const OVER_FACTOR: f64 = 2.0;
/// A share above this is over-represented whatever the number of categories.
pub const OVER_SHARE_ABS: f64 = 0.5;
/// A share below this fraction of the uniform share marks it under-represented.
pub const UNDER_FACTOR: f64 = 0.5;

/// A quota is met when the selected count is within this many videos of it:
/// integer quotas over interacting axes cannot all be hit exactly.
pub const QUOTA_TOLERANCE: usize = 1;

/// The default total keeps every category of each primary axis within this
/// ratio of its axis's smallest category (2:1, the balance target the
/// selection was specified with).
pub const DEFAULT_BALANCE_RATIO: f64 = 2.0;

/// At most this share of the selection shows one identity (person), where
/// identities are known; at least one video per identity is always allowed.
/// 10%: no one person can dominate what the generators learn from.
pub const IDENTITY_CAP_SHARE: f64 = 0.1;

/// Two candidates without a metadata identity show the same person when the
/// identity embeddings of their main faces reach this cosine similarity.
/// ArcFace-style models separate identities around 0.3–0.4 in 1:1
/// verification; 0.4 errs toward merging, which keeps one person out of two
/// splits at the cost of a coarser identity cap.
pub const IDENTITY_MATCH_MIN_COS: f32 = 0.4;

/// A metadata attribute becomes an axis when it has between 2 and this many
/// categories among the candidates (more is an identifier, not a category).
pub const MAX_METADATA_CATEGORIES: usize = 12;

/// The measured axes a pick's `category` is named from, in this order and
/// joined with `_` (e.g. `indoor_low_light_plain_static`): where the footage
/// was shot, how much light, what is behind the person, whether the camera
/// moves — the scene dimensions the mission's example quotas name
/// (`indoor_low_light`, `outdoor_bright`...). Axes without a value for the
/// pick are left out; a pick with none of them falls back to its primary
/// axes (metadata categories, dataset).
pub const CATEGORY_AXES: &[&str] = &["setting", "lighting", "background", "camera_motion"];

// ------------------------------------------------------------------ clips --

/// Length of one extracted clip: the unit the clip-extraction pipeline
/// consumes (10 s, as DFDC's clips), and the shortest usable real video.
pub const CLIP_LENGTH_S: f64 = 10.0;

/// Seconds skipped at each end of a video when placing clips (intros, fades,
/// encoder start-up); shrunk for videos barely longer than one clip.
pub const CLIP_MARGIN_S: f64 = 1.0;

/// Default cap on clips taken from one video (`--clips-per-video-max`): long
/// videos give at most this many, so no single video dominates the clip set.
pub const DEFAULT_CLIPS_PER_VIDEO_MAX: usize = 3;

/// Default split shares (train, val, test) of the assembly plan: the common
/// 70/15/15 of FF++-style benchmarks.
pub const SPLIT_SHARES: [(&str, f64); 3] = [("train", 0.70), ("val", 0.15), ("test", 0.15)];
