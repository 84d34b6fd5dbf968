//! Frame statistics: what sampled video frames look like.
//!
//! For every sampled frame this module measures brightness (luma histogram,
//! mean, spread, percentiles, clipping), sharpness (Laplacian variance),
//! motion against the following frame, colourfulness, 8×8 compression
//! blockiness, a 64-value embedding for near-duplicate search, and the
//! per-pixel work of the scene measures ([`crate::scene`]): the colour of the
//! near-neutral pixels, the sky-like share of the top band, Sobel sums per
//! background cell, and the 32×32 motion grids of the frame and the next.
//!
//! The work is split in two so that two backends can give *bit-identical*
//! answers:
//!
//! 1. **Per-frame reductions** ([`StatsBackend::sums`]) turn the pixels into
//!    all-integer partial results, [`FrameSums`]. Integer sums do not depend
//!    on summation order, so the wgpu compute-shader path ([`GpuBackend`]) and
//!    the rayon path ([`CpuBackend`]) produce equal `FrameSums`.
//! 2. **One shared host function**, [`FrameStats::from_sums`], turns sums into
//!    numbers (f64) and computes the embedding's DCT. Both backends use it.
//!
//! Resolution independence: sharpness and motion are measured on the
//! *analysis image*, the native luma area-resampled to a fixed height of
//! [`ANALYSIS_HEIGHT`] rows (see [`analysis_size`] and [`bin_range`]), so a
//! 1080p and a 360p copy of the same video give nearly the same numbers.
//!
//! Backend choice: [`select_backend`] with [`BackendChoice`].

mod cpu;
mod gpu;

use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use std::sync::OnceLock;

pub use cpu::CpuBackend;
pub use gpu::{list_adapters, GpuBackend};

/// Rows of the analysis image (see the module docs). 180 = 360p halved and
/// 1080p divided by 6: every common source height (240…2160) is downsampled,
/// so each analysis pixel is a true area average, and 180 rows still resolve
/// faces and edges. Smaller values make blur/motion more resolution-robust
/// but less sensitive to fine detail.
pub const ANALYSIS_HEIGHT: u32 = 180;
/// Smallest analysis-image width (very tall portrait frames), so the 3×3
/// Laplacian always has interior pixels.
pub const ANALYSIS_MIN_WIDTH: u32 = 32;
/// Largest analysis-image width (very wide frames: 640 = 32:9 at 180 rows).
pub const ANALYSIS_MAX_WIDTH: u32 = 640;
/// Side of the square luma grid the embedding is computed from (32×32 area
/// averages of the native luma, the classic pHash input size).
pub const GRID_SIDE: u32 = 32;
/// Cells of the embedding grid (`GRID_SIDE²`).
pub const GRID_CELLS: usize = (GRID_SIDE * GRID_SIDE) as usize;
/// Number of values in [`FrameStats::embedding`].
pub const EMBEDDING_DIM: usize = 64;
/// Luma histogram bins (one per 8-bit level).
pub const HIST_BINS: usize = 256;
/// Levels at or below this count as clipped black: 16 is the nominal black of
/// limited-range (BT.601/BT.709 "TV range") 8-bit video.
pub const CLIP_BLACK_LEVEL: u8 = 16;
/// Levels at or above this count as clipped white: 235 is the nominal white
/// of limited-range 8-bit video.
pub const CLIP_WHITE_LEVEL: u8 = 235;
/// Block size of the codecs' transform grid (MPEG-2/H.264 8×8 blocks; H.264's
/// 4×4 transforms and HEVC's larger blocks also align to it).
pub const BLOCK_SIZE: u32 = 8;
/// Regularisation added to both blockiness means, in luma levels, so flat
/// frames give exactly 1.0 instead of 0/0 and near-flat noise does not blow up
/// the ratio. One level is below visible noise in 8-bit video.
pub const BLOCKINESS_REG_LEVELS: f64 = 1.0;
/// Weight of the mean term in the Hasler–Süsstrunk colourfulness metric
/// (Hasler & Süsstrunk, "Measuring colourfulness in natural images", 2003).
pub const COLORFULNESS_MEAN_WEIGHT: f64 = 0.3;
/// Near-neutral pixels (the colour of the light, [`is_near_neutral`]): the
/// brightest channel at least this level: below it sensor noise and
/// compression dominate a pixel's chromaticity.
pub const NEUTRAL_MIN_LEVEL: u32 = 32;
/// Near-neutral pixels: the brightest channel at most this level: a
/// clipped channel no longer measures the light's colour.
pub const NEUTRAL_MAX_LEVEL: u32 = 250;
/// Near-neutral pixels: saturation (max − min) / max at most this percent.
/// A grey or white surface takes the colour of the light, and a 2500 K
/// tungsten light recorded with a daylight white balance is about 70%
/// saturated (sRGB (255, 159, 70)), so the bound is loose; the locus test
/// ([`NEUTRAL_MAX_LOCUS_DEVIATION_PCT`]) does the selecting.
pub const NEUTRAL_MAX_SATURATION_PCT: u32 = 75;
/// Near-neutral pixels lie near the blackbody (Planckian) locus, where in
/// sRGB green is close to the mean of red and blue (3000 K: (255, 180, 107);
/// 6500 K: (255, 255, 255); 10000 K: (201, 218, 255)): |2G − R − B| at most
/// this percent of 2·max. Foliage, paint and most clothing fall far off it;
/// skin lies close to it (an orange surface), which leans close-ups warm.
pub const NEUTRAL_MAX_LOCUS_DEVIATION_PCT: u32 = 6;
/// The sky band is the top 1/`SKY_BAND_DIVISOR` of the thumbnail's rows:
/// where sky appears in an upright outdoor shot framed on a person.
pub const SKY_BAND_DIVISOR: u32 = 3;
/// Blue sky ([`is_sky`]): blue above red by at least this many levels
/// (clear sky is blue-dominant; grey walls are not).
pub const SKY_BLUE_MARGIN: u32 = 20;
/// Blue sky: blue channel at least this level (dusk sky still reaches
/// 90–110; a dark blue shirt or a shadow does not).
pub const SKY_BLUE_MIN_LEVEL: u32 = 80;
/// Overcast sky ([`is_sky`]): every channel at least this level (a bright,
/// nearly colourless upper band; a lit white ceiling also passes, which is
/// why sky alone never decides the setting, see [`crate::scene`]).
pub const SKY_WHITE_MIN_LEVEL: u32 = 215;
/// Background-complexity cells per side: the analysis image is cut into
/// `SI_CELLS`×`SI_CELLS` cells (the same [`bin_range`] rule), whose Sobel sums
/// are kept apart so the host can leave out the cells a person covers.
pub const SI_CELLS: u32 = 8;
/// Background cells in all (`SI_CELLS²`).
pub const SI_CELL_COUNT: usize = (SI_CELLS * SI_CELLS) as usize;
/// Noise is measured only where the picture is flat: interior analysis
/// pixels whose Sobel magnitude ⌊√(gx² + gy²)⌋ is at most this. A luma ramp
/// of s levels per pixel gives 8·s, so 32 is a slope of 4 levels per pixel:
/// above the Sobel response of the noise itself at the levels seen on the
/// analysis image (per-pixel σ ≤ 3 levels gives |g| ≈ 3.5·σ per axis, ≤ 31
/// at the 99th percentile), below edges and texture, which would otherwise
/// read as noise (Tai and Yang's edge-excluded variant of Immerkær's
/// estimator, with a fixed threshold so both backends compare integers).
pub const NOISE_FLAT_MAX_SOBEL: u32 = 32;
/// A background cell's noise counts only when at least this share (percent)
/// of its pixels are flat: a cell of fine texture (grass, hair, fabric) has
/// few flat pixels, and those few sit between texture the operator also
/// sees.
pub const NOISE_MIN_FLAT_SHARE_PCT: u64 = 50;
/// The frame's noise is this quantile of its counted cells' noise levels:
/// texture only adds to the operator's response, so the flattest cells
/// give the truest reading (the block-based estimators' rule, e.g. Shin et
/// al. 2005), and a low quantile rather than the minimum keeps one
/// clipped or blown-out cell from deciding.
pub const NOISE_CELL_QUANTILE: f64 = 0.25;
/// Set this environment variable to `1` to let [`select_backend`] use a
/// software Vulkan adapter (device type `Cpu`, e.g. Mesa lavapipe/llvmpipe)
/// as the GPU backend. Meant for tests and CI; it is slower than
/// [`CpuBackend`] on real machines.
pub const ALLOW_SOFTWARE_GPU_ENV: &str = "ENGINE_ALLOW_SOFTWARE_GPU";

/// One sampled frame handed to a backend.
#[derive(Clone, Copy, Debug)]
pub struct FrameInput<'a> {
    /// Native luma width in pixels.
    pub width: u32,
    /// Native luma height in pixels.
    pub height: u32,
    /// Native luma, `width * height` bytes, row-major, no row padding (GRAY8
    /// as produced by swscale).
    pub luma: &'a [u8],
    /// Luma of the following decoded frame (same size), used for motion;
    /// `None` gives `motion: None`.
    pub next_luma: Option<&'a [u8]>,
    /// Seconds between this frame and `next_luma`'s (they need not be
    /// adjacent: with B-frames skipped the next decoded frame is the next I
    /// or P frame). Only the host uses it ([`FrameStats::with_motion_gap`]):
    /// the backends' integer sums do not depend on it.
    pub next_gap_s: Option<f64>,
    /// RGB thumbnail width in pixels (may be 0: colourfulness is then 0).
    pub rgb_width: u32,
    /// RGB thumbnail height in pixels.
    pub rgb_height: u32,
    /// RGB24 thumbnail, `rgb_width * rgb_height * 3` bytes, no row padding.
    pub rgb: &'a [u8],
}

/// All-integer per-frame partial results. Both backends must produce equal
/// values for equal input; [`FrameStats::from_sums`] turns them into numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameSums {
    /// Native luma width.
    pub width: u32,
    /// Native luma height.
    pub height: u32,
    /// Analysis-image width ([`analysis_size`]).
    pub analysis_width: u32,
    /// Analysis-image height ([`analysis_size`]).
    pub analysis_height: u32,
    /// Native luma histogram: `hist[v]` = number of pixels with level `v`.
    pub hist: [u32; HIST_BINS],
    /// Σ |p[8k+7] − p[8k+8]| over horizontal and vertical pairs straddling an
    /// 8×8 block boundary (native luma).
    pub block_edge_sum: u64,
    /// Number of pairs in `block_edge_sum` ([`block_pair_counts`]).
    pub block_edge_pairs: u64,
    /// Σ |p[8k+3] − p[8k+4]| over horizontal and vertical pairs in the middle
    /// of a block (native luma).
    pub block_inner_sum: u64,
    /// Number of pairs in `block_inner_sum` ([`block_pair_counts`]).
    pub block_inner_pairs: u64,
    /// Σ L over interior analysis pixels, L = 4c − n − s − e − w.
    pub lap_sum: i64,
    /// Σ L² over interior analysis pixels.
    pub lap_sq_sum: u64,
    /// Number of interior analysis pixels, (aw − 2)(ah − 2).
    pub lap_count: u64,
    /// Σ |A − A_next| over analysis pixels (A = analysis image of the frame,
    /// A_next of `next_luma`); `None` when there is no next frame.
    pub motion_abs_sum: Option<u64>,
    /// Number of analysis pixels, aw · ah.
    pub motion_count: u64,
    /// Σ rg over the thumbnail, rg = R − G.
    pub rg_sum: i64,
    /// Σ rg².
    pub rg_sq_sum: u64,
    /// Σ yb2 over the thumbnail, yb2 = R + G − 2B = 2·yb (kept doubled so it
    /// stays an integer).
    pub yb2_sum: i64,
    /// Σ yb2².
    pub yb2_sq_sum: u64,
    /// Number of thumbnail pixels.
    pub rgb_count: u64,
    /// The native luma area-resampled to [`GRID_SIDE`]×[`GRID_SIDE`] (row
    /// major, [`GRID_CELLS`] values), same integer rule as the analysis image.
    pub grid: Vec<u8>,
    /// The analysis image area-resampled to 32×32 (same integer rule), the
    /// frame side of the camera-motion phase correlation; from the analysis
    /// image rather than the native luma so the next frame's needs no
    /// second pass over its native pixels.
    pub motion_grid: Vec<u8>,
    /// The next frame's analysis image resampled the same way; `None`
    /// without a next frame.
    pub next_motion_grid: Option<Vec<u8>>,
    /// Σ R, Σ G, Σ B over the thumbnail's near-neutral pixels
    /// ([`is_near_neutral`]).
    pub neutral_rgb_sum: [u64; 3],
    /// Number of near-neutral thumbnail pixels.
    pub neutral_count: u64,
    /// Thumbnail pixels of the sky band ([`SKY_BAND_DIVISOR`]) that look
    /// like sky ([`is_sky`]).
    pub sky_count: u64,
    /// Pixels in the sky band, `rgb_width · ⌊rgb_height / SKY_BAND_DIVISOR⌋`.
    pub sky_band_count: u64,
    /// Per background cell ([`SI_CELLS`]², row major): Σ of the Sobel
    /// magnitude ⌊√(gx² + gy²)⌋ over the cell's interior analysis pixels.
    pub si_mag_sum: Vec<u64>,
    /// Per background cell: Σ of the squared magnitudes ⌊√(gx² + gy²)⌋².
    pub si_mag_sq_sum: Vec<u64>,
    /// Per background cell: Σ |N| over its flat interior analysis pixels
    /// (Sobel magnitude ≤ [`NOISE_FLAT_MAX_SOBEL`]), N = the 3×3 mask
    /// [1 −2 1; −2 4 −2; 1 −2 1] (Immerkær's noise operator: blind to planes
    /// and ramps).
    pub noise_abs_sum: Vec<u64>,
    /// Per background cell: the number of pixels in `noise_abs_sum`.
    pub noise_count: Vec<u64>,
}

/// Per-frame statistics (what `engine analyze` records).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameStats {
    /// Native luma width.
    pub width: u32,
    /// Native luma height.
    pub height: u32,
    /// Mean luma level, Σ v·hist(v) / N (levels 0–255).
    pub mean_luma: f64,
    /// Population standard deviation of luma levels (contrast), levels.
    pub std_luma: f64,
    /// 1st percentile: smallest level whose cumulative count reaches 1 % of
    /// the pixels (integer level).
    pub p01: f64,
    /// 99th percentile: smallest level whose cumulative count reaches 99 %.
    pub p99: f64,
    /// Share of pixels ≤ [`CLIP_BLACK_LEVEL`] (0–1).
    pub clipped_black_frac: f64,
    /// Share of pixels ≥ [`CLIP_WHITE_LEVEL`] (0–1).
    pub clipped_white_frac: f64,
    /// Variance of the 4-neighbour Laplacian L = 4c − n − s − e − w over the
    /// interior of the analysis image, `E[L²] − E[L]²` (levels²). The standard
    /// blur measure (OpenCV/fastdup): low = blurry; measured on the fixed-size
    /// analysis image so it does not depend on the source resolution.
    pub laplacian_var: f64,
    /// Mean absolute difference between the analysis images of this frame and
    /// the next decoded one (levels 0–255); `None` without a next frame. Its
    /// size depends on how far apart the two frames are: compare
    /// [`FrameStats::motion_per_s`] across videos.
    pub motion: Option<f64>,
    /// Seconds between this frame and the next one `motion` was measured
    /// against; `None` without a next frame or a usable time gap.
    #[serde(default)]
    pub motion_gap_s: Option<f64>,
    /// Motion per second: `motion / motion_gap_s` (levels per second).
    #[serde(default)]
    pub motion_per_s: Option<f64>,
    /// Hasler–Süsstrunk colourfulness of the RGB thumbnail:
    /// C = √(σ_rg² + σ_yb²) + 0.3·√(μ_rg² + μ_yb²), rg = R − G,
    /// yb = (R + G)/2 − B (levels). 0 = grey; ~15 slightly colourful, ~60+
    /// very colourful.
    pub colorfulness: f64,
    /// 8×8 blockiness: (mean |boundary diff| + 1) / (mean |mid-block diff| + 1)
    /// on the native luma, horizontal and vertical pairs pooled (see
    /// [`FrameSums::block_edge_sum`], [`BLOCKINESS_REG_LEVELS`]). ≈1 for clean
    /// video, > 1 when compression blocks show.
    pub blockiness: f64,
    /// 64-value embedding for near-duplicate search: the orthonormal 2-D
    /// DCT-II of the 32×32 grid ([`FrameSums::grid`]), its 64
    /// lowest-frequency coefficients in JPEG zig-zag order after skipping DC,
    /// divided by their L2 norm, or by
    /// [`crate::policy::EMBEDDING_ENERGY_FLOOR`] when the norm is smaller (so
    /// a low-texture frame's embedding is shorter than one and dedup ignores
    /// it). Skipping DC and normalising makes it invariant to brightness and
    /// contrast changes; the 32×32 area average makes it survive rescaling
    /// and re-encoding. All zeros for a flat frame. Compare with the dot
    /// product (cosine similarity) or L2 distance.
    pub embedding: Vec<f32>,
    /// Mean (R, G, B) of the near-neutral thumbnail pixels, the light's
    /// colour as the camera recorded it; `None` when no pixel is
    /// near-neutral.
    #[serde(default)]
    pub neutral_rgb: Option<[f64; 3]>,
    /// Share of the thumbnail's pixels that are near-neutral (0–1).
    #[serde(default)]
    pub neutral_share: f64,
    /// Share of the sky band's pixels that look like sky (0–1).
    #[serde(default)]
    pub sky_share: f64,
    /// Per background cell ([`SI_CELLS`]², row major): (Σ magnitude,
    /// Σ magnitude², interior pixels) of the Sobel gradient, for
    /// [`crate::scene::spatial_information`].
    #[serde(default)]
    pub si_cells: Vec<[u64; 3]>,
    /// Global shift from this frame to the next: (dx, dy) in analysis-image
    /// pixels and the phase-correlation peak height (0–1)
    /// ([`crate::scene::global_shift`] on the two 32×32 grids); `None`
    /// without a next frame or for flat grids.
    #[serde(default)]
    pub shift_px: Option<[f64; 3]>,
    /// Noise σ in luma levels on the analysis image's flat areas: per
    /// background cell with at least [`NOISE_MIN_FLAT_SHARE_PCT`]% flat
    /// pixels, Immerkær's estimator √(π/2) · Σ|N| / (6 · count) (see
    /// [`FrameSums::noise_abs_sum`]), and of those the
    /// [`NOISE_CELL_QUANTILE`] quantile. Sensor noise plus whatever the
    /// encoder left of it, at the 180-row analysis size (area averaging
    /// divides independent per-pixel noise by the downscale factor). `None`
    /// without such a cell.
    #[serde(default)]
    pub noise_sigma: Option<f64>,
}

/// Errors of the frame-statistics backends.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// A frame's buffers do not match its declared size.
    #[error("frame {index}: {reason}")]
    InvalidFrame {
        /// Index of the frame in the batch.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// No usable GPU adapter (the adapters seen are listed as
    /// [`list_adapters`] formats them).
    #[error("no GPU adapter found; adapters seen: {}", seen_list(.seen))]
    NoAdapter {
        /// Adapters found, as "name [device type, backend]".
        seen: Vec<String>,
    },
    /// The GPU was explicitly requested but cannot be used.
    #[error("--gpu: {0}")]
    GpuRequired(Box<StatsError>),
    /// A wgpu error (device request, validation, out of memory, readback).
    #[error("GPU error: {0}")]
    Gpu(String),
}

fn seen_list(seen: &[String]) -> String {
    if seen.is_empty() {
        "none".to_string()
    } else {
        seen.join("; ")
    }
}

/// A frame-statistics implementation.
pub trait StatsBackend: Send {
    /// Short human-readable description, e.g. "gpu: NVIDIA H100 (Vulkan)".
    fn name(&self) -> String;

    /// Whether the statistics are computed on the CPU (then each worker
    /// thread measures its own frames; a GPU backend is fed batches by one
    /// thread instead).
    fn on_cpu(&self) -> bool;

    /// Integer per-frame reductions, one [`FrameSums`] per input frame, in
    /// order.
    fn sums(&mut self, frames: &[FrameInput<'_>]) -> Result<Vec<FrameSums>, StatsError>;

    /// Per-frame statistics: [`StatsBackend::sums`] followed by the shared
    /// [`FrameStats::from_sums`] and [`FrameStats::with_motion_gap`].
    fn compute(&mut self, frames: &[FrameInput<'_>]) -> Result<Vec<FrameStats>, StatsError> {
        Ok(self
            .sums(frames)?
            .iter()
            .zip(frames)
            .map(|(s, f)| FrameStats::from_sums(s).with_motion_gap(f.next_gap_s))
            .collect())
    }
}

/// Which backend [`select_backend`] should use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendChoice {
    /// A hardware GPU (discrete, integrated or virtual) if one is found,
    /// otherwise the CPU.
    Auto,
    /// Always the CPU (rayon).
    Cpu,
    /// A hardware GPU, or an error listing the adapters seen.
    Gpu,
}

/// Whether [`ALLOW_SOFTWARE_GPU_ENV`] is set to `1`.
pub fn software_gpu_allowed_by_env() -> bool {
    std::env::var(ALLOW_SOFTWARE_GPU_ENV).is_ok_and(|v| v == "1")
}

/// Creates the backend for `choice` and one line saying which path was taken
/// and why, e.g. "frame statistics on GPU: NVIDIA H100 (Vulkan)" or "frame
/// statistics on CPU (rayon, 2 threads): no GPU adapter found (found:
/// llvmpipe (LLVM 15.0.7, 256 bits) [Cpu, Vulkan])".
///
/// Software adapters (device type `Cpu`) count as GPUs only when
/// [`ALLOW_SOFTWARE_GPU_ENV`]`=1`. Never panics when no adapter exists.
pub fn select_backend(
    choice: BackendChoice,
) -> Result<(Box<dyn StatsBackend>, String), StatsError> {
    let allow_software = software_gpu_allowed_by_env();
    match choice {
        BackendChoice::Cpu => {
            let cpu = CpuBackend::new();
            let line = format!(
                "frame statistics on CPU ({}): CPU requested",
                cpu.describe()
            );
            Ok((Box::new(cpu), line))
        }
        BackendChoice::Gpu => match GpuBackend::new(allow_software) {
            Ok(gpu) => {
                let line = format!("frame statistics on GPU: {}", gpu.adapter_description());
                Ok((Box::new(gpu), line))
            }
            Err(e) => Err(StatsError::GpuRequired(Box::new(e))),
        },
        BackendChoice::Auto => match GpuBackend::new(allow_software) {
            Ok(gpu) => {
                let line = format!("frame statistics on GPU: {}", gpu.adapter_description());
                Ok((Box::new(gpu), line))
            }
            Err(e) => {
                let cpu = CpuBackend::new();
                let why = match &e {
                    StatsError::NoAdapter { seen } => {
                        format!("no GPU adapter found (found: {})", seen_list(seen))
                    }
                    other => format!("GPU unusable: {other}"),
                };
                let line = format!("frame statistics on CPU ({}): {why}", cpu.describe());
                Ok((Box::new(cpu), line))
            }
        },
    }
}

/// Size of the analysis image for a `width`×`height` frame:
/// height [`ANALYSIS_HEIGHT`], width round(ANALYSIS_HEIGHT · width / height)
/// clamped to [[`ANALYSIS_MIN_WIDTH`], [`ANALYSIS_MAX_WIDTH`]].
pub fn analysis_size(width: u32, height: u32) -> (u32, u32) {
    let h = u64::from(height.max(1));
    let w = (2 * u64::from(ANALYSIS_HEIGHT) * u64::from(width) + h) / (2 * h);
    let w = w.clamp(u64::from(ANALYSIS_MIN_WIDTH), u64::from(ANALYSIS_MAX_WIDTH)) as u32;
    (w, ANALYSIS_HEIGHT)
}

/// Native index range `[start, end)` averaged into output index `i` when
/// `native` samples are area-resampled to `out` samples (one axis):
/// start = ⌊i·native/out⌋, end = max(start + 1, ⌊(i+1)·native/out⌋).
/// Downsampling partitions the native axis; upsampling repeats samples. The
/// output pixel is the rounded mean (Σ + n/2) / n of the native rectangle
/// (integer division), which both backends compute exactly.
#[inline]
pub fn bin_range(i: u32, native: u32, out: u32) -> (u32, u32) {
    let start = (u64::from(i) * u64::from(native) / u64::from(out)) as u32;
    let end = ((u64::from(i) + 1) * u64::from(native) / u64::from(out)) as u32;
    (start, end.max(start + 1))
}

/// Numbers of (block-boundary, mid-block) pixel pairs in a `width`×`height`
/// frame, horizontal plus vertical: per row (W − 1)/8 boundary pairs
/// (columns 8k+7, 8k+8 < W) and (W + 3)/8 mid-block pairs (8k+3, 8k+4 < W),
/// likewise per column; integer division.
pub fn block_pair_counts(width: u32, height: u32) -> (u64, u64) {
    let (w, h) = (u64::from(width), u64::from(height));
    let edge = |n: u64| n.saturating_sub(1) / 8;
    let inner = |n: u64| (n + 3) / 8;
    (h * edge(w) + w * edge(h), h * inner(w) + w * inner(h))
}

/// Checks a frame's buffer lengths against its declared sizes.
pub(crate) fn validate(index: usize, f: &FrameInput<'_>) -> Result<(), StatsError> {
    let bad = |reason: String| Err(StatsError::InvalidFrame { index, reason });
    if f.width == 0 || f.height == 0 {
        return bad(format!("empty frame {}x{}", f.width, f.height));
    }
    let n = f.width as usize * f.height as usize;
    if f.luma.len() != n {
        return bad(format!(
            "luma has {} bytes, expected {}x{} = {n}",
            f.luma.len(),
            f.width,
            f.height
        ));
    }
    if let Some(next) = f.next_luma {
        if next.len() != n {
            return bad(format!("next_luma has {} bytes, expected {n}", next.len()));
        }
    }
    let rgb_n = f.rgb_width as usize * f.rgb_height as usize * 3;
    if f.rgb.len() != rgb_n {
        return bad(format!(
            "rgb has {} bytes, expected {}x{}x3 = {rgb_n}",
            f.rgb.len(),
            f.rgb_width,
            f.rgb_height
        ));
    }
    Ok(())
}

/// A near-neutral pixel (a grey surface under some light): brightest
/// channel within [[`NEUTRAL_MIN_LEVEL`], [`NEUTRAL_MAX_LEVEL`]],
/// saturation (max − min)/max at most [`NEUTRAL_MAX_SATURATION_PCT`] percent
/// and near the blackbody locus ([`NEUTRAL_MAX_LOCUS_DEVIATION_PCT`]).
/// Integer rule shared by both backends.
#[inline]
pub fn is_near_neutral(r: u32, g: u32, b: u32) -> bool {
    let mx = r.max(g).max(b);
    let mn = r.min(g).min(b);
    (NEUTRAL_MIN_LEVEL..=NEUTRAL_MAX_LEVEL).contains(&mx)
        && (mx - mn) * 100 <= NEUTRAL_MAX_SATURATION_PCT * mx
        && (2 * g).abs_diff(r + b) * 100 <= NEUTRAL_MAX_LOCUS_DEVIATION_PCT * 2 * mx
}

/// A sky-like pixel: blue sky (blue ≥ [`SKY_BLUE_MIN_LEVEL`], blue ≥ red +
/// [`SKY_BLUE_MARGIN`], blue ≥ green) or overcast sky (every channel ≥
/// [`SKY_WHITE_MIN_LEVEL`]).
#[inline]
pub fn is_sky(r: u32, g: u32, b: u32) -> bool {
    (b >= SKY_BLUE_MIN_LEVEL && b >= r + SKY_BLUE_MARGIN && b >= g)
        || r.min(g).min(b) >= SKY_WHITE_MIN_LEVEL
}

/// Background cell index along one axis of `n` analysis pixels for pixel
/// `x`: the `i` whose [`bin_range`]`(i, n, SI_CELLS)` holds `x`, i.e.
/// ⌊(SI_CELLS·x + SI_CELLS − 1) / n⌋ (n ≥ SI_CELLS).
#[inline]
pub fn si_cell(x: u32, n: u32) -> u32 {
    (SI_CELLS * x + SI_CELLS - 1) / n
}

/// Interior analysis pixels (those with a Sobel value: not on the image
/// border) of each background cell, row major.
pub fn si_cell_counts(aw: u32, ah: u32) -> Vec<u64> {
    let interior = |i: u32, n: u32| -> u64 {
        let (a, b) = bin_range(i, n, SI_CELLS);
        u64::from(b.min(n - 1).saturating_sub(a.max(1)))
    };
    let mut out = Vec::with_capacity(SI_CELL_COUNT);
    for cy in 0..SI_CELLS {
        for cx in 0..SI_CELLS {
            out.push(interior(cx, aw) * interior(cy, ah));
        }
    }
    out
}

/// ⌊√v⌋ exactly, for v < 2^22 (every Sobel magnitude² here is below
/// 2·1020² < 2^21): f32 holds v exactly and its square root is correctly
/// rounded; the root of (k+1)² − 1 lies 1/(2(k+1)) ≥ 1/2900 below k + 1,
/// more than half an f32 ulp there (2^-14 for k < 2048), so it never rounds
/// up to k + 1 and truncation gives k. The shader computes the same with a
/// correction step each way.
#[inline]
pub fn isqrt(v: u32) -> u32 {
    debug_assert!(v < 1 << 22, "isqrt({v}) out of its exact range");
    (v as f32).sqrt() as u32
}

/// Exact population variance of values with count `n`, sum `s` and sum of
/// squares `sq`: (n·sq − s²) / n², computed in i128 so it is never negative.
fn exact_variance(n: u64, s: i128, sq: u128) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let n = i128::from(n);
    let num = n * sq as i128 - s * s;
    num.max(0) as f64 / (n as f64 * n as f64)
}

impl FrameStats {
    /// Turns integer sums into statistics. The one shared host function both
    /// backends use (see the field docs of [`FrameStats`] for each formula).
    pub fn from_sums(s: &FrameSums) -> FrameStats {
        // Histogram moments, exact in integers.
        let mut n: u64 = 0;
        let mut sum: u64 = 0;
        let mut sq: u128 = 0;
        for (v, &c) in s.hist.iter().enumerate() {
            let (v, c) = (v as u64, u64::from(c));
            n += c;
            sum += v * c;
            sq += u128::from(v * v * c);
        }
        let nf = n.max(1) as f64;
        let mean_luma = sum as f64 / nf;
        let std_luma = exact_variance(n, i128::from(sum), sq).sqrt();
        let percentile = |pct: u64| -> f64 {
            let mut cum: u64 = 0;
            for (v, &c) in s.hist.iter().enumerate() {
                cum += u64::from(c);
                if cum * 100 >= pct * n && cum > 0 {
                    return v as f64;
                }
            }
            0.0
        };
        let black: u64 = s.hist[..=CLIP_BLACK_LEVEL as usize]
            .iter()
            .map(|&c| u64::from(c))
            .sum();
        let white: u64 = s.hist[CLIP_WHITE_LEVEL as usize..]
            .iter()
            .map(|&c| u64::from(c))
            .sum();

        let laplacian_var =
            exact_variance(s.lap_count, i128::from(s.lap_sum), u128::from(s.lap_sq_sum));

        let motion = s
            .motion_abs_sum
            .map(|m| m as f64 / s.motion_count.max(1) as f64);

        let colorfulness = if s.rgb_count == 0 {
            0.0
        } else {
            let c = s.rgb_count as f64;
            let var_rg = exact_variance(s.rgb_count, i128::from(s.rg_sum), u128::from(s.rg_sq_sum));
            // yb = yb2 / 2, so var(yb) = var(yb2) / 4 and mean(yb) = mean(yb2) / 2.
            let var_yb =
                exact_variance(s.rgb_count, i128::from(s.yb2_sum), u128::from(s.yb2_sq_sum)) / 4.0;
            let mean_rg = s.rg_sum as f64 / c;
            let mean_yb = s.yb2_sum as f64 / (2.0 * c);
            (var_rg + var_yb).sqrt()
                + COLORFULNESS_MEAN_WEIGHT * (mean_rg * mean_rg + mean_yb * mean_yb).sqrt()
        };

        let mean_or_zero = |sum: u64, count: u64| {
            if count == 0 {
                0.0
            } else {
                sum as f64 / count as f64
            }
        };
        let blockiness = (mean_or_zero(s.block_edge_sum, s.block_edge_pairs)
            + BLOCKINESS_REG_LEVELS)
            / (mean_or_zero(s.block_inner_sum, s.block_inner_pairs) + BLOCKINESS_REG_LEVELS);

        let neutral_rgb = (s.neutral_count > 0).then(|| {
            let n = s.neutral_count as f64;
            s.neutral_rgb_sum.map(|v| v as f64 / n)
        });
        let counts = si_cell_counts(s.analysis_width, s.analysis_height);
        let si_cells = (0..SI_CELL_COUNT)
            .map(|c| [s.si_mag_sum[c], s.si_mag_sq_sum[c], counts[c]])
            .collect();
        let cell_w = f64::from(s.analysis_width) / f64::from(GRID_SIDE);
        let cell_h = f64::from(s.analysis_height) / f64::from(GRID_SIDE);
        let shift_px = s.next_motion_grid.as_ref().and_then(|next| {
            crate::scene::global_shift(&s.motion_grid, next, GRID_SIDE as usize)
                .map(|(dx, dy, peak)| [dx * cell_w, dy * cell_h, peak])
        });
        let mut cell_noise: Vec<f64> = (0..SI_CELL_COUNT)
            .filter(|&c| {
                s.noise_count[c] > 0
                    && s.noise_count[c] * 100 >= NOISE_MIN_FLAT_SHARE_PCT * counts[c]
            })
            .map(|c| {
                (PI / 2.0).sqrt() * s.noise_abs_sum[c] as f64 / (6.0 * s.noise_count[c] as f64)
            })
            .collect();
        cell_noise.sort_by(f64::total_cmp);
        let noise_sigma = (!cell_noise.is_empty()).then(|| {
            let rank = (NOISE_CELL_QUANTILE * (cell_noise.len() - 1) as f64).round() as usize;
            cell_noise[rank]
        });
        FrameStats {
            noise_sigma,
            neutral_rgb,
            neutral_share: s.neutral_count as f64 / s.rgb_count.max(1) as f64,
            sky_share: s.sky_count as f64 / s.sky_band_count.max(1) as f64,
            si_cells,
            shift_px,
            width: s.width,
            height: s.height,
            mean_luma,
            std_luma,
            p01: percentile(1),
            p99: percentile(99),
            clipped_black_frac: black as f64 / nf,
            clipped_white_frac: white as f64 / nf,
            laplacian_var,
            motion,
            motion_gap_s: None,
            motion_per_s: None,
            colorfulness,
            blockiness,
            embedding: embedding_from_grid(&s.grid),
        }
    }

    /// Record the time between the frame and the one its `motion` was
    /// measured against, and scale motion to a rate: `motion_per_s =
    /// motion / gap_s`. The shared host step after [`FrameStats::from_sums`]
    /// (both backends' sums stay integer and gap-free). A gap that is
    /// missing, not positive or not finite leaves both `None`.
    pub fn with_motion_gap(mut self, gap_s: Option<f64>) -> FrameStats {
        let gap = gap_s.filter(|g| g.is_finite() && *g > 0.0);
        self.motion_gap_s = self.motion.and(gap);
        self.motion_per_s = self.motion.zip(self.motion_gap_s).map(|(m, g)| m / g);
        self
    }
}

/// Highest DCT frequency (per axis) the embedding can use: zig-zag diagonals
/// 1..=10 hold 65 coefficients, of which the first 64 are kept.
const DCT_MAX_FREQ: usize = 10;

/// cos(π(2x+1)u / 2N) · α(u) for u ≤ DCT_MAX_FREQ, x < GRID_SIDE (orthonormal
/// DCT-II basis).
fn dct_basis() -> &'static [[f64; GRID_SIDE as usize]; DCT_MAX_FREQ + 1] {
    static BASIS: OnceLock<[[f64; GRID_SIDE as usize]; DCT_MAX_FREQ + 1]> = OnceLock::new();
    BASIS.get_or_init(|| {
        let n = GRID_SIDE as usize;
        let mut b = [[0.0; GRID_SIDE as usize]; DCT_MAX_FREQ + 1];
        for (u, row) in b.iter_mut().enumerate() {
            let alpha = if u == 0 {
                (1.0 / n as f64).sqrt()
            } else {
                (2.0 / n as f64).sqrt()
            };
            for (x, v) in row.iter_mut().enumerate() {
                *v = alpha * (PI * (2 * x + 1) as f64 * u as f64 / (2 * n) as f64).cos();
            }
        }
        b
    })
}

/// JPEG zig-zag order of (vertical u, horizontal v) frequencies, DC skipped,
/// first [`EMBEDDING_DIM`] entries.
fn zigzag() -> &'static [(usize, usize); EMBEDDING_DIM] {
    static ZZ: OnceLock<[(usize, usize); EMBEDDING_DIM]> = OnceLock::new();
    ZZ.get_or_init(|| {
        let mut out = [(0, 0); EMBEDDING_DIM];
        let mut k = 0;
        'diag: for d in 1..=2 * DCT_MAX_FREQ {
            for i in 0..=d {
                // Odd diagonals run top-right → bottom-left, even ones the reverse.
                let u = if d % 2 == 1 { i } else { d - i };
                let v = d - u;
                if k == EMBEDDING_DIM {
                    break 'diag;
                }
                out[k] = (u, v);
                k += 1;
            }
        }
        out
    })
}

/// The embedding of a [`GRID_SIDE`]² grid (shared host code for both
/// backends; the grid itself is computed by the backend). See
/// [`FrameStats::embedding`].
pub fn embedding_from_grid(grid: &[u8]) -> Vec<f32> {
    let n = GRID_SIDE as usize;
    if grid.len() != GRID_CELLS || grid.iter().all(|&g| g == grid[0]) {
        return vec![0.0; EMBEDDING_DIM];
    }
    let basis = dct_basis();
    // Row transform: t[y][v] = Σ_x g[y][x]·basis[v][x], for v ≤ DCT_MAX_FREQ.
    let mut t = [[0.0f64; DCT_MAX_FREQ + 1]; GRID_SIDE as usize];
    for (y, trow) in t.iter_mut().enumerate() {
        let row = &grid[y * n..(y + 1) * n];
        for (v, out) in trow.iter_mut().enumerate() {
            *out = row
                .iter()
                .zip(basis[v].iter())
                .map(|(&g, &b)| f64::from(g) * b)
                .sum();
        }
    }
    let coef = |u: usize, v: usize| -> f64 { (0..n).map(|y| t[y][v] * basis[u][y]).sum() };
    let vals: Vec<f64> = zigzag().iter().map(|&(u, v)| coef(u, v)).collect();
    let norm = vals.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm < 1e-9 {
        return vec![0.0; EMBEDDING_DIM];
    }
    // A low-texture frame keeps a norm below one: its shape is mostly noise.
    let scale = norm.max(crate::policy::EMBEDDING_ENERGY_FLOOR);
    vals.iter().map(|x| (x / scale) as f32).collect()
}

#[cfg(test)]
mod tests {

    #[test]
    fn scene_pixel_rules() {
        for v in 0..(1u32 << 22) {
            let r = isqrt(v);
            assert!(r * r <= v && (r + 1) * (r + 1) > v, "{v}");
        }
        // Cells agree with the resampling bins they are defined by.
        for n in [32u32, 180, 320, 427, 640] {
            for x in 0..n {
                let c = si_cell(x, n);
                let (a, b) = bin_range(c, n, SI_CELLS);
                assert!(a <= x && x < b, "{x} of {n} in cell {c}");
            }
            let counts = si_cell_counts(n, 180);
            assert_eq!(
                counts.iter().sum::<u64>(),
                u64::from(n - 2) * 178,
                "{n} interior pixels"
            );
        }
        // Grey and blackbody-coloured surfaces are near-neutral; green
        // foliage, clipped white and black are not.
        assert!(is_near_neutral(128, 128, 128));
        assert!(is_near_neutral(255 - 10, 180, 107));
        assert!(is_near_neutral(201, 218, 250));
        assert!(!is_near_neutral(80, 140, 60));
        assert!(!is_near_neutral(255, 255, 255));
        assert!(!is_near_neutral(10, 10, 10));
        assert!(is_sky(120, 170, 230) && is_sky(230, 232, 235));
        assert!(!is_sky(120, 120, 130) && !is_sky(20, 30, 60));
    }
    use super::*;

    /// Backend-independent sums of a luma frame (+ optional next frame and
    /// RGB thumbnail) via the CPU path.
    fn sums(w: u32, h: u32, luma: &[u8], next: Option<&[u8]>, rgb: (u32, u32, &[u8])) -> FrameSums {
        let f = FrameInput {
            width: w,
            height: h,
            luma,
            next_luma: next,
            next_gap_s: None,
            rgb_width: rgb.0,
            rgb_height: rgb.1,
            rgb: rgb.2,
        };
        CpuBackend::new().sums(&[f]).unwrap().remove(0)
    }

    fn stats(w: u32, h: u32, luma: &[u8]) -> FrameStats {
        FrameStats::from_sums(&sums(w, h, luma, None, (0, 0, &[])))
    }

    #[test]
    fn flat_frame() {
        let luma = vec![100u8; 640 * 360];
        let s = sums(640, 360, &luma, Some(&luma), (2, 1, &[7, 7, 7, 7, 7, 7]));
        let st = FrameStats::from_sums(&s);
        assert_eq!(st.mean_luma, 100.0);
        assert_eq!(st.std_luma, 0.0);
        assert_eq!((st.p01, st.p99), (100.0, 100.0));
        assert_eq!((st.clipped_black_frac, st.clipped_white_frac), (0.0, 0.0));
        assert_eq!(st.laplacian_var, 0.0);
        assert_eq!(st.motion, Some(0.0));
        assert_eq!(st.colorfulness, 0.0);
        assert_eq!(st.blockiness, 1.0);
        assert_eq!(st.embedding, vec![0.0f32; EMBEDDING_DIM]);
        assert_eq!((s.analysis_width, s.analysis_height), (320, 180));
        assert!(s.grid.iter().all(|&g| g == 100));
    }

    #[test]
    fn one_pixel_checkerboard() {
        // 0/255 alternating pixels: half black, half white; every neighbour
        // pair differs by 255, so boundary and mid-block means are equal; the
        // 2x2 area average to the 180-row analysis grid is flat (128).
        let (w, h) = (360u32, 360u32);
        let luma: Vec<u8> = (0..w * h)
            .map(|i| if (i % w + i / w) % 2 == 0 { 0 } else { 255 })
            .collect();
        let st = stats(w, h, &luma);
        assert_eq!(st.mean_luma, 127.5);
        assert_eq!(st.std_luma, 127.5);
        assert_eq!((st.p01, st.p99), (0.0, 255.0));
        assert_eq!((st.clipped_black_frac, st.clipped_white_frac), (0.5, 0.5));
        assert_eq!(st.blockiness, 1.0);
        assert_eq!(st.laplacian_var, 0.0);
    }

    #[test]
    fn block_checkerboard_is_blocky() {
        // 8x8 blocks of 0/255 aligned to the codec grid: every boundary pair
        // differs by 255, no mid-block pair differs.
        let (w, h) = (640u32, 360u32);
        let luma: Vec<u8> = (0..w * h)
            .map(|i| {
                if ((i % w) / 8 + (i / w) / 8) % 2 == 0 {
                    0
                } else {
                    255
                }
            })
            .collect();
        let s = sums(w, h, &luma, None, (0, 0, &[]));
        assert_eq!(s.block_inner_sum, 0);
        assert_eq!(s.block_edge_sum, 255 * s.block_edge_pairs);
        assert_eq!(FrameStats::from_sums(&s).blockiness, 256.0);
        // Shifted by 4 pixels the block edges fall mid-block: ratio inverts.
        let shifted: Vec<u8> = (0..w * h)
            .map(|i| {
                if ((i % w + 4) / 8 + (i / w + 4) / 8) % 2 == 0 {
                    0
                } else {
                    255
                }
            })
            .collect();
        assert!(stats(w, h, &shifted).blockiness < 0.01);
    }

    #[test]
    fn laplacian_of_single_bright_pixel() {
        // 320x180 is its own analysis image, so the Laplacian is exact:
        // L = 1020 at the pixel, -255 at its 4 neighbours, 0 elsewhere.
        let (w, h) = (320u32, 180u32);
        let mut luma = vec![0u8; (w * h) as usize];
        luma[(90 * w + 160) as usize] = 255;
        let s = sums(w, h, &luma, None, (0, 0, &[]));
        assert_eq!(s.lap_sum, 0);
        assert_eq!(s.lap_sq_sum, 1020 * 1020 + 4 * 255 * 255);
        assert_eq!(s.lap_count, 318 * 178);
        let st = FrameStats::from_sums(&s);
        assert_eq!(st.laplacian_var, 1_300_500.0 / (318.0 * 178.0));
    }

    #[test]
    fn motion_is_mean_abs_difference_of_analysis_images() {
        let (w, h) = (640u32, 360u32);
        let a = vec![10u8; (w * h) as usize];
        let b = vec![30u8; (w * h) as usize];
        let st = FrameStats::from_sums(&sums(w, h, &a, Some(&b), (0, 0, &[])));
        assert_eq!(st.motion, Some(20.0));
        assert_eq!(stats(w, h, &a).motion, None);
        // Per second: the same change over 4 frames at 30 fps is a quarter
        // of the rate it is over one frame.
        let four = st.clone().with_motion_gap(Some(4.0 / 30.0));
        assert_eq!(four.motion_gap_s, Some(4.0 / 30.0));
        assert!((four.motion_per_s.unwrap() - 150.0).abs() < 1e-9);
        let one = st.clone().with_motion_gap(Some(1.0 / 30.0));
        assert!((one.motion_per_s.unwrap() - 600.0).abs() < 1e-9);
        assert_eq!(st.clone().with_motion_gap(Some(0.0)).motion_per_s, None);
        assert_eq!(
            stats(w, h, &a).with_motion_gap(Some(0.1)).motion_gap_s,
            None
        );
    }

    #[test]
    fn colorfulness_known_cases() {
        let grey = [128u8; 3 * 4];
        let st = FrameStats::from_sums(&sums(1, 1, &[0], None, (2, 2, &grey)));
        assert_eq!(st.colorfulness, 0.0);
        // Pure red: rg = 255, yb = 127.5, no spread: C = 0.3·√(255² + 127.5²).
        let red = [255u8, 0, 0].repeat(4);
        let st = FrameStats::from_sums(&sums(1, 1, &[0], None, (2, 2, &red)));
        let want = 0.3 * (255.0f64 * 255.0 + 127.5 * 127.5).sqrt();
        assert!((st.colorfulness - want).abs() < 1e-9, "{}", st.colorfulness);
        // Half red, half green: σ_rg = 255, μ_rg = 0, yb = 127.5 everywhere.
        let rg = [[255u8, 0, 0], [0, 255, 0]].concat().repeat(2);
        let st = FrameStats::from_sums(&sums(1, 1, &[0], None, (2, 2, &rg)));
        assert!((st.colorfulness - (255.0 + 0.3 * 127.5)).abs() < 1e-9);
    }

    #[test]
    fn percentiles_and_clipping() {
        // 1000 pixels: 5 at 0, 990 at 100, 5 at 250.
        let mut luma = vec![100u8; 1000];
        luma[..5].fill(0);
        luma[995..].fill(250);
        let st = stats(1000, 1, &luma);
        // 1 % = 10 pixels: reached at level 100 (5 + 990); 99 % = 990
        // pixels: also reached at 100.
        assert_eq!((st.p01, st.p99), (100.0, 100.0));
        assert_eq!(st.clipped_black_frac, 0.005);
        assert_eq!(st.clipped_white_frac, 0.005);
        luma[..10].fill(0);
        assert_eq!(stats(1000, 1, &luma).p01, 0.0);
    }

    #[test]
    fn block_pair_counts_match_definition() {
        for &(w, h) in &[
            (1u32, 1u32),
            (8, 8),
            (9, 9),
            (12, 5),
            (640, 360),
            (853, 480),
        ] {
            let mut e = 0u64;
            let mut i = 0u64;
            for a in 0..w.max(h) {
                let (ex, ix) = ((a % 8 == 7) as u64, (a % 8 == 3) as u64);
                if a + 1 < w {
                    e += ex * u64::from(h);
                    i += ix * u64::from(h);
                }
                if a + 1 < h {
                    e += ex * u64::from(w);
                    i += ix * u64::from(w);
                }
            }
            assert_eq!(block_pair_counts(w, h), (e, i), "{w}x{h}");
        }
    }

    #[test]
    fn analysis_size_and_bins() {
        assert_eq!(analysis_size(1920, 1080), (320, 180));
        assert_eq!(analysis_size(640, 360), (320, 180));
        assert_eq!(analysis_size(720, 1280), (101, 180));
        assert_eq!(analysis_size(10, 5000), (ANALYSIS_MIN_WIDTH, 180));
        assert_eq!(analysis_size(20000, 100), (ANALYSIS_MAX_WIDTH, 180));
        // Downsampling partitions the axis; upsampling repeats samples.
        let down: Vec<_> = (0..4).map(|i| bin_range(i, 10, 4)).collect();
        assert_eq!(down, [(0, 2), (2, 5), (5, 7), (7, 10)]);
        let up: Vec<_> = (0..4).map(|i| bin_range(i, 2, 4)).collect();
        assert_eq!(up, [(0, 1), (0, 1), (1, 2), (1, 2)]);
    }

    #[test]
    fn zigzag_order() {
        assert_eq!(
            &zigzag()[..6],
            &[(0, 1), (1, 0), (2, 0), (1, 1), (0, 2), (0, 3)]
        );
        let mut seen = std::collections::HashSet::new();
        assert!(zigzag()
            .iter()
            .all(|&(u, v)| u <= DCT_MAX_FREQ && v <= DCT_MAX_FREQ && seen.insert((u, v))));
    }

    /// A smooth synthetic scene rendered at any resolution.
    fn scene(w: u32, h: u32, shift: f64) -> Vec<u8> {
        let mut out = Vec::with_capacity((w * h) as usize);
        for y in 0..h {
            for x in 0..w {
                let (u, v) = (x as f64 / w as f64, y as f64 / h as f64);
                let val = 110.0
                    + 60.0 * (6.0 * u + 1.0).sin() * (4.0 * v).cos()
                    + 40.0 * ((u - 0.6).powi(2) + (v - 0.4).powi(2) < 0.03) as u8 as f64
                    + shift;
                out.push(val.clamp(0.0, 255.0) as u8);
            }
        }
        out
    }

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn low_texture_grids_give_short_embeddings() {
        let norm = |e: &[f32]| e.iter().map(|x| x * x).sum::<f32>().sqrt();
        // One grey level of checkerboard noise on a flat wall.
        let faint: Vec<u8> = (0..GRID_CELLS)
            .map(|i| 128 + u8::from((i / GRID_SIDE as usize + i).is_multiple_of(3)))
            .collect();
        assert!(norm(&embedding_from_grid(&faint)) < 0.5);
        // A soft horizontal gradient (48 levels across the frame): texture.
        let ramp: Vec<u8> = (0..GRID_CELLS)
            .map(|i| 100 + (i % GRID_SIDE as usize * 3 / 2) as u8)
            .collect();
        assert!((norm(&embedding_from_grid(&ramp)) - 1.0).abs() < 1e-4);
    }

    #[test]
    fn embedding_is_unit_and_survives_rescale_and_brightness() {
        let a = stats(1280, 720, &scene(1280, 720, 0.0)).embedding;
        let b = stats(426, 240, &scene(426, 240, 0.0)).embedding;
        let c = stats(640, 360, &scene(640, 360, 20.0)).embedding;
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
        assert!(cosine(&a, &b) > 0.99, "rescale {}", cosine(&a, &b));
        assert!(cosine(&a, &c) > 0.99, "brightness {}", cosine(&a, &c));
        // A different scene is far away.
        let other: Vec<u8> = scene(640, 360, 0.0).into_iter().rev().collect();
        let d = stats(640, 360, &other).embedding;
        assert!(cosine(&a, &d) < 0.8, "different {}", cosine(&a, &d));
    }

    #[test]
    fn invalid_frames_are_errors() {
        let f = FrameInput {
            width: 4,
            height: 4,
            luma: &[0; 15],
            next_luma: None,
            next_gap_s: None,
            rgb_width: 0,
            rgb_height: 0,
            rgb: &[],
        };
        let err = CpuBackend::new().sums(&[f]).unwrap_err();
        assert!(err.to_string().contains("frame 0"), "{err}");
    }

    #[test]
    fn cpu_selection_and_error_messages() {
        let (b, line) = select_backend(BackendChoice::Cpu).unwrap();
        assert!(b.name().starts_with("cpu"));
        assert!(
            line.starts_with("frame statistics on CPU (rayon, "),
            "{line}"
        );
        let e = StatsError::GpuRequired(Box::new(StatsError::NoAdapter { seen: vec![] }));
        assert_eq!(
            e.to_string(),
            "--gpu: no GPU adapter found; adapters seen: none"
        );
        // Auto never fails: GPU if present, else CPU with the reason.
        let (_, line) = select_backend(BackendChoice::Auto).unwrap();
        assert!(line.starts_with("frame statistics on "), "{line}");
    }
}
