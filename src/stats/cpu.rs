//! CPU backend: the per-frame integer reductions with rayon.
//!
//! One fused pass reads each native luma row once and does the histogram
//! (four sub-histograms to break store-to-load dependencies), the blockiness
//! pair sums, and the vertical accumulation for both resampled grids (the
//! analysis image and the 32×32 embedding grid). Large frames are split into
//! bands of analysis rows processed in parallel; batches run frames in
//! parallel. Working buffers are per band (a few row-sized vectors), never
//! per pixel.

use rayon::prelude::*;

use super::{
    analysis_size, bin_range, block_pair_counts, is_near_neutral, is_sky, si_cell, validate,
    FrameInput, FrameSums, StatsBackend, StatsError, BLOCK_SIZE, GRID_CELLS, GRID_SIDE, HIST_BINS,
    NOISE_FLAT_MAX_SOBEL, SI_CELLS, SI_CELL_COUNT, SKY_BAND_DIVISOR,
};

/// Native pixels per parallel band of a large frame: 2^18 (≈ a 720p frame in
/// 4 bands) is big enough to amortise the per-band merge (two 1024-entry
/// arrays) and small enough to spread one 1080p frame over 8 tasks.
const BAND_PIXELS: usize = 1 << 18;

/// The rayon backend (global rayon pool).
#[derive(Debug, Default, Clone)]
pub struct CpuBackend {
    _private: (),
}

impl CpuBackend {
    /// Creates the backend (no state; uses rayon's global thread pool).
    pub fn new() -> CpuBackend {
        CpuBackend { _private: () }
    }

    /// "rayon, N threads".
    pub fn describe(&self) -> String {
        format!("rayon, {} threads", rayon::current_num_threads())
    }
}

impl StatsBackend for CpuBackend {
    fn name(&self) -> String {
        format!("cpu ({})", self.describe())
    }

    fn on_cpu(&self) -> bool {
        true
    }

    fn sums(&mut self, frames: &[FrameInput<'_>]) -> Result<Vec<FrameSums>, StatsError> {
        for (i, f) in frames.iter().enumerate() {
            validate(i, f)?;
        }
        Ok(frames.par_iter().map(frame_sums).collect())
    }
}

/// Output bins `[start, end)` of each output index along one axis.
fn bins(native: u32, out: u32) -> Vec<(usize, usize)> {
    (0..out)
        .map(|i| {
            let (a, b) = bin_range(i, native, out);
            (a as usize, b as usize)
        })
        .collect()
}

/// `acc[i] += row[i]` (vectorises to widening adds).
#[inline]
fn add_row(acc: &mut [u32], row: &[u8]) {
    for (a, &p) in acc.iter_mut().zip(row) {
        *a += u32::from(p);
    }
}

/// `Σ |a[i] − b[i]|`.
#[inline]
fn sad(a: &[u8], b: &[u8]) -> u64 {
    // Chunks keep the u32 partial sums far from overflow and let the inner
    // loop vectorise.
    let mut total = 0u64;
    for (ca, cb) in a.chunks(1 << 16).zip(b.chunks(1 << 16)) {
        let s: u32 = ca
            .iter()
            .zip(cb)
            .map(|(&x, &y)| u32::from(x.abs_diff(y)))
            .sum();
        total += u64::from(s);
    }
    total
}

/// Histogram and blockiness accumulators of one band of native rows.
struct RowStats {
    hist: [[u32; HIST_BINS]; 4],
    edge: u64,
    inner: u64,
}

impl RowStats {
    fn new() -> RowStats {
        RowStats {
            hist: [[0; HIST_BINS]; 4],
            edge: 0,
            inner: 0,
        }
    }

    /// Histogram + horizontal and vertical block pairs of native row `r`.
    #[inline]
    fn row(&mut self, luma: &[u8], w: usize, h: usize, r: usize) {
        let row = &luma[r * w..(r + 1) * w];
        let [h0, h1, h2, h3] = &mut self.hist;
        let mut quads = row.chunks_exact(4);
        for q in &mut quads {
            h0[q[0] as usize] += 1;
            h1[q[1] as usize] += 1;
            h2[q[2] as usize] += 1;
            h3[q[3] as usize] += 1;
        }
        for &p in quads.remainder() {
            h0[p as usize] += 1;
        }

        // Horizontal pairs: boundary (8k+7, 8k+8), mid-block (8k+3, 8k+4).
        let b = BLOCK_SIZE as usize;
        let (mut e, mut i) = (0u32, 0u32);
        let mut k = 0;
        while k + b < w {
            e += u32::from(row[k + 7].abs_diff(row[k + 8]));
            i += u32::from(row[k + 3].abs_diff(row[k + 4]));
            k += b;
        }
        if k + 4 < w {
            i += u32::from(row[k + 3].abs_diff(row[k + 4]));
        }
        self.edge += u64::from(e);
        self.inner += u64::from(i);

        // Vertical pairs with the row below.
        if r + 1 < h {
            let phase = r % b;
            if phase == 7 || phase == 3 {
                let below = &luma[(r + 1) * w..(r + 2) * w];
                let s = sad(row, below);
                if phase == 7 {
                    self.edge += s;
                } else {
                    self.inner += s;
                }
            }
        }
    }

    fn merged_hist(&self) -> [u32; HIST_BINS] {
        let mut out = [0u32; HIST_BINS];
        for (v, o) in out.iter_mut().enumerate() {
            *o = self.hist[0][v] + self.hist[1][v] + self.hist[2][v] + self.hist[3][v];
        }
        out
    }
}

/// Result of one band of the fused pass.
struct Band {
    stats: RowStats,
    /// Analysis-image rows of this band (rounded).
    ana: Vec<u8>,
    /// Unrounded grid sums (whole grid; only this band's rows touched). Grid
    /// row bins may straddle bands, so rounding waits for the merge.
    grid: Vec<u32>,
}

/// Horizontal reduce: `out[x] += Σ acc[xs[x].0 .. xs[x].1]`.
#[inline]
fn reduce_row(out: &mut [u32], acc: &[u32], xs: &[(usize, usize)]) {
    for (o, &(a, b)) in out.iter_mut().zip(xs) {
        *o += acc[a..b].iter().sum::<u32>();
    }
}

/// Rounded mean (s + n/2) / n (integer division) of an area sum `s` over
/// `n` pixels.
#[inline]
fn round_mean(s: u32, n: u32) -> u8 {
    ((s + n / 2) / n) as u8
}

/// Largest bin area for which [`recip`] is exact.
const RECIP_MAX_AREA: u32 = 1 << 16;

/// ⌈2^40 / n⌉: for an area sum s ≤ 255·n, a = s + n/2 < 256·n and
/// (a · recip(n)) >> 40 = ⌊a / n⌋ exactly when n ≤ 2^16 (the error term
/// a·(recip·n − 2^40) < 256·n² ≤ 2^40). Replaces a per-pixel integer
/// division, which dominated small-frame profiles.
#[inline]
fn recip(n: u32) -> u64 {
    (1u64 << 40).div_ceil(u64::from(n))
}

/// Horizontal reduce and round: `out[x] = round_mean(Σ acc[bin x], bin area)`
/// for a row bin `bin_h` native rows tall. Column bins are `min_w` or
/// `min_w + 1` wide (true of every [`bin_range`] axis). Bin sums come from
/// a running prefix sum (`prefix`, scratch of `acc.len() + 1`), cheaper
/// than one short variable-length loop per bin; wrapping arithmetic is
/// exact because every bin sum fits in u32.
#[inline]
fn reduce_round_row(
    out: &mut [u8],
    acc: &[u32],
    xs: &[(usize, usize)],
    bin_h: u32,
    min_w: u32,
    prefix: &mut [u32],
) {
    let mut run = 0u32;
    prefix[0] = 0;
    for (p, &a) in prefix[1..].iter_mut().zip(acc) {
        run = run.wrapping_add(a);
        *p = run;
    }
    let bin_sum = |a: usize, b: usize| prefix[b].wrapping_sub(prefix[a]);
    let (n_lo, n_hi) = (bin_h * min_w, bin_h * (min_w + 1));
    if n_hi > RECIP_MAX_AREA {
        for (o, &(a, b)) in out.iter_mut().zip(xs) {
            *o = round_mean(bin_sum(a, b), bin_h * (b - a) as u32);
        }
        return;
    }
    let (m_lo, m_hi) = (recip(n_lo), recip(n_hi));
    for (o, &(a, b)) in out.iter_mut().zip(xs) {
        let wide = (b - a) as u32 != min_w;
        let (n, m) = if wide { (n_hi, m_hi) } else { (n_lo, m_lo) };
        *o = ((u64::from(bin_sum(a, b) + n / 2) * m) >> 40) as u8;
    }
}

/// Narrowest bin of an axis.
fn min_width(xs: &[(usize, usize)]) -> u32 {
    xs.iter().map(|&(a, b)| (b - a) as u32).min().unwrap_or(1)
}

/// Fused pass over the native rows of analysis rows `ya0..ya1`. Requires
/// `h >= ah` and `h >= GRID_SIDE` so every native row lies in exactly one
/// analysis row bin and one grid row bin.
#[allow(clippy::too_many_arguments)]
fn fused_band(
    luma: &[u8],
    w: usize,
    h: usize,
    ah: u32,
    ya0: u32,
    ya1: u32,
    xa: &[(usize, usize)],
    xg: &[(usize, usize)],
) -> Band {
    let aw = xa.len();
    let min_wa = min_width(xa);
    let gs = GRID_SIDE as usize;
    let mut stats = RowStats::new();
    let mut ana = vec![0u8; (ya1 - ya0) as usize * aw];
    let mut grid = vec![0u32; GRID_CELLS];
    let mut acc_a = vec![0u32; w];
    let mut acc_g = vec![0u32; w];
    let mut prefix = vec![0u32; w + 1];

    let first_row = bin_range(ya0, h as u32, ah).0 as usize;
    let last_row = bin_range(ya1 - 1, h as u32, ah).1 as usize;
    // Grid row bin containing `first_row`.
    let mut gy = (0..GRID_SIDE)
        .rev()
        .find(|&g| bin_range(g, h as u32, GRID_SIDE).0 as usize <= first_row)
        .unwrap_or(0) as usize;
    let mut g_end = bin_range(gy as u32, h as u32, GRID_SIDE).1 as usize;

    for ya in ya0..ya1 {
        let (r0, r1) = bin_range(ya, h as u32, ah);
        for r in r0 as usize..r1 as usize {
            stats.row(luma, w, h, r);
            let row = &luma[r * w..(r + 1) * w];
            add_row(&mut acc_a, row);
            add_row(&mut acc_g, row);
            if r + 1 == g_end || r + 1 == last_row {
                reduce_row(&mut grid[gy * gs..(gy + 1) * gs], &acc_g, xg);
                acc_g.fill(0);
                if r + 1 == g_end && gy + 1 < gs {
                    gy += 1;
                    g_end = bin_range(gy as u32, h as u32, GRID_SIDE).1 as usize;
                }
            }
        }
        let o = (ya - ya0) as usize * aw;
        reduce_round_row(
            &mut ana[o..o + aw],
            &acc_a,
            xa,
            r1 - r0,
            min_wa,
            &mut prefix,
        );
        acc_a.fill(0);
    }
    Band { stats, ana, grid }
}

/// General (up- or down-) area resample of `luma` (`w`×`h`) to `ow`×`oh`
/// (see [`super::bin_range`]), parallel over output rows for large inputs.
fn resample(luma: &[u8], w: usize, h: usize, ow: u32, oh: u32) -> Vec<u8> {
    let xs = bins(w as u32, ow);
    let min_w = min_width(&xs);
    let ow = ow as usize;
    let mut out = vec![0u8; ow * oh as usize];
    let rows_per_task = (BAND_PIXELS / (w * h / oh as usize).max(1)).max(1);
    out.par_chunks_mut(ow * rows_per_task)
        .enumerate()
        .for_each(|(t, chunk)| {
            let mut acc = vec![0u32; w];
            let mut prefix = vec![0u32; w + 1];
            for (j, orow) in chunk.chunks_mut(ow).enumerate() {
                let y = (t * rows_per_task + j) as u32;
                let (r0, r1) = bin_range(y, h as u32, oh);
                acc.fill(0);
                for r in r0 as usize..r1 as usize {
                    add_row(&mut acc, &luma[r * w..(r + 1) * w]);
                }
                reduce_round_row(orow, &acc, &xs, r1 - r0, min_w, &mut prefix);
            }
        });
    out
}

/// Rounds merged grid sums (see [`round_mean`]).
fn round_grid(sums: &[u32], w: u32, h: u32) -> Vec<u8> {
    let xs = bins(w, GRID_SIDE);
    let mut out = Vec::with_capacity(GRID_CELLS);
    for (y, row) in sums.chunks(GRID_SIDE as usize).enumerate() {
        let (r0, r1) = bin_range(y as u32, h, GRID_SIDE);
        for (&s, &(a, b)) in row.iter().zip(&xs) {
            out.push(round_mean(s, (r1 - r0) * (b - a) as u32));
        }
    }
    out
}

/// The analysis image of a `w`×`h` luma plane (see [`super::analysis_size`]).
pub(crate) fn analysis_image(luma: &[u8], w: u32, h: u32) -> Vec<u8> {
    let (aw, ah) = analysis_size(w, h);
    resample(luma, w as usize, h as usize, aw, ah)
}

/// All integer reductions of one (validated) frame.
pub(crate) fn frame_sums(f: &FrameInput<'_>) -> FrameSums {
    let (w, h) = (f.width, f.height);
    let (wu, hu) = (w as usize, h as usize);
    let (aw, ah) = analysis_size(w, h);

    let native = || -> (RowStats, Vec<u8>, Vec<u8>) {
        if h >= ah && h >= GRID_SIDE {
            let xa = bins(w, aw);
            let xg = bins(w, GRID_SIDE);
            let n_bands = (wu * hu).div_ceil(BAND_PIXELS).clamp(1, ah as usize) as u32;
            let bands: Vec<Band> = (0..n_bands)
                .into_par_iter()
                .map(|b| {
                    let ya0 = b * ah / n_bands;
                    let ya1 = (b + 1) * ah / n_bands;
                    fused_band(f.luma, wu, hu, ah, ya0, ya1, &xa, &xg)
                })
                .collect();
            let mut stats = RowStats::new();
            let mut ana = Vec::with_capacity((aw * ah) as usize);
            let mut grid = vec![0u32; GRID_CELLS];
            for band in bands {
                for k in 0..4 {
                    for (a, b) in stats.hist[k].iter_mut().zip(band.stats.hist[k].iter()) {
                        *a += b;
                    }
                }
                stats.edge += band.stats.edge;
                stats.inner += band.stats.inner;
                ana.extend_from_slice(&band.ana);
                for (a, b) in grid.iter_mut().zip(&band.grid) {
                    *a += b;
                }
            }
            (stats, ana, round_grid(&grid, w, h))
        } else {
            // Small frames (fewer rows than the grids): separate passes.
            let mut stats = RowStats::new();
            for r in 0..hu {
                stats.row(f.luma, wu, hu, r);
            }
            let ana = resample(f.luma, wu, hu, aw, ah);
            let grid = resample(f.luma, wu, hu, GRID_SIDE, GRID_SIDE);
            (stats, ana, grid)
        }
    };
    let next = || f.next_luma.map(|n| analysis_image(n, w, h));
    let ((stats, ana, grid), next_img) = rayon::join(native, next);
    let (lap_sum, lap_sq_sum, lap_count) = laplacian_sums(&ana, aw as usize, ah as usize);
    let sobel = sobel_noise_sums(&ana, aw as usize, ah as usize);
    let motion_grid = resample(&ana, aw as usize, ah as usize, GRID_SIDE, GRID_SIDE);
    let next_motion_grid = next_img
        .as_ref()
        .map(|n| resample(n, aw as usize, ah as usize, GRID_SIDE, GRID_SIDE));
    let motion_abs_sum = next_img.map(|n| sad(&ana, &n));
    let (rg_sum, rg_sq_sum, yb2_sum, yb2_sq_sum) = color_sums(f.rgb);
    let sky_band_pixels = f.rgb_width as usize * (f.rgb_height / SKY_BAND_DIVISOR) as usize;
    let scene = scene_sums(f.rgb, sky_band_pixels);
    let (block_edge_pairs, block_inner_pairs) = block_pair_counts(w, h);

    FrameSums {
        width: w,
        height: h,
        analysis_width: aw,
        analysis_height: ah,
        hist: stats.merged_hist(),
        block_edge_sum: stats.edge,
        block_edge_pairs,
        block_inner_sum: stats.inner,
        block_inner_pairs,
        lap_sum,
        lap_sq_sum,
        lap_count,
        motion_abs_sum,
        motion_count: u64::from(aw) * u64::from(ah),
        rg_sum,
        rg_sq_sum,
        yb2_sum,
        yb2_sq_sum,
        rgb_count: (f.rgb.len() / 3) as u64,
        grid,
        motion_grid,
        next_motion_grid,
        neutral_rgb_sum: scene.neutral_rgb_sum,
        neutral_count: scene.neutral_count,
        sky_count: scene.sky_count,
        sky_band_count: sky_band_pixels as u64,
        si_mag_sum: sobel.si_sum,
        si_mag_sq_sum: sobel.si_sq,
        noise_abs_sum: sobel.noise_sum,
        noise_count: sobel.noise_count,
    }
}

/// The Sobel and noise sums of an analysis image ([`sobel_noise_sums`]).
struct SobelSums {
    /// Σ m per background cell.
    si_sum: Vec<u64>,
    /// Σ m² per background cell.
    si_sq: Vec<u64>,
    /// Σ |N| over the flat pixels (m ≤ [`NOISE_FLAT_MAX_SOBEL`]), per cell.
    noise_sum: Vec<u64>,
    /// Number of flat pixels per cell.
    noise_count: Vec<u64>,
}

/// Per background cell ([`super::SI_CELLS`]², row major): (Σ m, Σ m²) of
/// the Sobel magnitude m = ⌊√(gx² + gy²)⌋ over the interior of `img`; and
/// over the cell's interior pixels with m ≤ [`NOISE_FLAT_MAX_SOBEL`], Σ |N|
/// of the noise operator N = [1 −2 1; −2 4 −2; 1 −2 1] and their count.
/// Separable: gx = c[x+1] − c[x−1] with the column sums c = up + 2·row +
/// down, gy = s(down) − s(up) with the row smoothing s = r[x−1] + 2·r[x] +
/// r[x+1], and N = d(up) − 2·d(row) + d(down) with the row second difference
/// d = r[x−1] − 2·r[x] + r[x+1]; each row's smoothing and difference are
/// computed once and reused by the two rows next to it. Per-span sums fit
/// u32 (≤ 640 pixels × 1442², or × 4080 for |N|).
fn sobel_noise_sums(img: &[u8], w: usize, h: usize) -> SobelSums {
    let mut out = SobelSums {
        si_sum: vec![0u64; SI_CELL_COUNT],
        si_sq: vec![0u64; SI_CELL_COUNT],
        noise_sum: vec![0u64; SI_CELL_COUNT],
        noise_count: vec![0u64; SI_CELL_COUNT],
    };
    if w < 3 || h < 3 {
        return out;
    }
    let cells = SI_CELLS as usize;
    // Interior column span [a, b) of each cell column.
    let spans: Vec<(usize, usize)> = (0..SI_CELLS)
        .map(|c| {
            let (a, b) = bin_range(c, w as u32, SI_CELLS);
            (a.max(1) as usize, (b as usize).min(w - 1))
        })
        .collect();
    // Shifted-slice zips throughout (no windows, no indexing) so every loop
    // vectorises.
    let smooth = |r: &[u8], out: &mut [i32]| {
        for ((o, (&a, &b)), &c) in out[1..w - 1]
            .iter_mut()
            .zip(r[..w - 2].iter().zip(&r[1..w - 1]))
            .zip(&r[2..])
        {
            *o = i32::from(a) + 2 * i32::from(b) + i32::from(c);
        }
    };
    let second = |r: &[u8], out: &mut [i32]| {
        for ((o, (&a, &b)), &c) in out[1..w - 1]
            .iter_mut()
            .zip(r[..w - 2].iter().zip(&r[1..w - 1]))
            .zip(&r[2..])
        {
            *o = i32::from(a) - 2 * i32::from(b) + i32::from(c);
        }
    };
    let (mut s_up, mut s_mid, mut s_down) = (vec![0i32; w], vec![0i32; w], vec![0i32; w]);
    let (mut d_up, mut d_mid, mut d_down) = (vec![0i32; w], vec![0i32; w], vec![0i32; w]);
    let mut col = vec![0i32; w];
    let (mut gx, mut gy, mut nz) = (vec![0i32; w], vec![0i32; w], vec![0i32; w]);
    smooth(&img[..w], &mut s_up);
    smooth(&img[w..2 * w], &mut s_mid);
    second(&img[..w], &mut d_up);
    second(&img[w..2 * w], &mut d_mid);
    for y in 1..h - 1 {
        let (up, row, down) = (
            &img[(y - 1) * w..y * w],
            &img[y * w..(y + 1) * w],
            &img[(y + 1) * w..(y + 2) * w],
        );
        smooth(down, &mut s_down);
        second(down, &mut d_down);
        for (((n, &u), &m), &d) in nz.iter_mut().zip(&d_up).zip(&d_mid).zip(&d_down) {
            *n = u - 2 * m + d;
        }
        for (((c, &u), &m), &d) in col.iter_mut().zip(up).zip(row).zip(down) {
            *c = i32::from(u) + 2 * i32::from(m) + i32::from(d);
        }
        for ((g, &l), &r) in gx[1..w - 1].iter_mut().zip(&col[..w - 2]).zip(&col[2..]) {
            *g = r - l;
        }
        for ((g, &d), &u) in gy[1..w - 1]
            .iter_mut()
            .zip(&s_down[1..w - 1])
            .zip(&s_up[1..w - 1])
        {
            *g = d - u;
        }
        let cy = si_cell(y as u32, h as u32) as usize;
        for (cx, &(a, b)) in spans.iter().enumerate() {
            let (mut s1, mut s2, mut n1, mut n2) = (0u32, 0u32, 0u32, 0u32);
            let span = a..b.max(a);
            for ((&x, &y), &n) in gx[span.clone()]
                .iter()
                .zip(&gy[span.clone()])
                .zip(&nz[span])
            {
                // super::isqrt, written so the loop vectorises: |gx|, |gy|
                // ≤ 1020, so m² ≤ 2·1020² < 2^21 is exact in f32 and its
                // root (< 1443) truncates to ⌊√m²⌋ (see isqrt's proof).
                let root = ((x * x + y * y) as f32).sqrt();
                // SAFETY: `root` is finite and in [0, 1443): it fits i32,
                // which is all the unchecked conversion requires.
                let m = unsafe { root.to_int_unchecked::<i32>() } as u32;
                s1 += m;
                s2 += m * m;
                let flat = u32::from(m <= NOISE_FLAT_MAX_SOBEL);
                n1 += flat * n.unsigned_abs();
                n2 += flat;
            }
            let c = cy * cells + cx;
            out.si_sum[c] += u64::from(s1);
            out.si_sq[c] += u64::from(s2);
            out.noise_sum[c] += u64::from(n1);
            out.noise_count[c] += u64::from(n2);
        }
        // Roll the smoothed and differenced rows down by one.
        std::mem::swap(&mut s_up, &mut s_mid);
        std::mem::swap(&mut s_mid, &mut s_down);
        std::mem::swap(&mut d_up, &mut d_mid);
        std::mem::swap(&mut d_mid, &mut d_down);
    }
    out
}

/// Light and sky sums of an RGB24 thumbnail.
struct SceneSums {
    neutral_rgb_sum: [u64; 3],
    neutral_count: u64,
    sky_count: u64,
}

/// Σ RGB and count of the near-neutral pixels, and the sky-like pixels
/// among the first `sky_band_pixels` (the top rows).
fn scene_sums(rgb: &[u8], sky_band_pixels: usize) -> SceneSums {
    let mut out = SceneSums {
        neutral_rgb_sum: [0; 3],
        neutral_count: 0,
        sky_count: 0,
    };
    for (i, px) in rgb.chunks_exact(3).enumerate() {
        let (r, g, b) = (u32::from(px[0]), u32::from(px[1]), u32::from(px[2]));
        if is_near_neutral(r, g, b) {
            out.neutral_rgb_sum[0] += u64::from(r);
            out.neutral_rgb_sum[1] += u64::from(g);
            out.neutral_rgb_sum[2] += u64::from(b);
            out.neutral_count += 1;
        }
        if i < sky_band_pixels && is_sky(r, g, b) {
            out.sky_count += 1;
        }
    }
    out
}

/// (ΣL, ΣL², count) of L = 4c − n − s − e − w over the interior of `img`.
fn laplacian_sums(img: &[u8], w: usize, h: usize) -> (i64, u64, u64) {
    let (mut s, mut sq) = (0i64, 0u64);
    if w < 3 || h < 3 {
        return (0, 0, 0);
    }
    for y in 1..h - 1 {
        let (up, row, down) = (
            &img[(y - 1) * w..y * w],
            &img[y * w..(y + 1) * w],
            &img[(y + 1) * w..(y + 2) * w],
        );
        // Equal-length slices so the loop has no bounds checks and
        // vectorises; per-row sums fit i32/u32 (|L| ≤ 1020, w ≤ 640 here,
        // and any w < 4000).
        let (mut rs, mut rsq) = (0i32, 0u32);
        let n = w - 2;
        let (c, l, r, u, d) = (&row[1..=n], &row[..n], &row[2..], &up[1..=n], &down[1..=n]);
        for i in 0..n {
            let lap = 4 * i32::from(c[i])
                - i32::from(u[i])
                - i32::from(d[i])
                - i32::from(l[i])
                - i32::from(r[i]);
            rs += lap;
            rsq += (lap * lap) as u32;
        }
        s += i64::from(rs);
        sq += u64::from(rsq);
    }
    (s, sq, ((w - 2) * (h - 2)) as u64)
}

/// (Σrg, Σrg², Σyb2, Σyb2²) over an RGB24 buffer, rg = R − G, yb2 = R + G − 2B.
fn color_sums(rgb: &[u8]) -> (i64, u64, i64, u64) {
    let (mut a, mut b, mut c, mut d) = (0i64, 0u64, 0i64, 0u64);
    // 4096-pixel chunks keep the 32-bit partial sums exact (yb2² ≤ 510²).
    for chunk in rgb.chunks(3 * 4096) {
        let (mut ca, mut cb, mut cc, mut cd) = (0i32, 0u32, 0i32, 0u32);
        for px in chunk.chunks_exact(3) {
            let (r, g, bl) = (i32::from(px[0]), i32::from(px[1]), i32::from(px[2]));
            let rg = r - g;
            let yb2 = r + g - 2 * bl;
            ca += rg;
            cb += (rg * rg) as u32;
            cc += yb2;
            cd += (yb2 * yb2) as u32;
        }
        a += i64::from(ca);
        b += u64::from(cb);
        c += i64::from(cc);
        d += u64::from(cd);
    }
    (a, b, c, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct (unfused, per-pixel) reference of the resample rule.
    fn reference_resample(luma: &[u8], w: u32, h: u32, ow: u32, oh: u32) -> Vec<u8> {
        let mut out = Vec::new();
        for y in 0..oh {
            let (y0, y1) = bin_range(y, h, oh);
            for x in 0..ow {
                let (x0, x1) = bin_range(x, w, ow);
                let mut s = 0u32;
                for yy in y0..y1 {
                    for xx in x0..x1 {
                        s += u32::from(luma[(yy * w + xx) as usize]);
                    }
                }
                let n = (y1 - y0) * (x1 - x0);
                out.push(((s + n / 2) / n) as u8);
            }
        }
        out
    }

    fn noise(w: u32, h: u32, seed: u64) -> Vec<u8> {
        let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        (0..w * h)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 56) as u8
            })
            .collect()
    }

    #[test]
    fn separable_sobel_and_noise_match_the_direct_definition() {
        let mut flat_pixels = 0u64;
        for &(w, h) in &[(320usize, 180usize), (37, 33), (640, 180)] {
            // Full-range noise (few flat pixels), and a gentle ramp with
            // ±3 levels of noise (mostly flat).
            let rough = noise(w as u32, h as u32, (w * h) as u64);
            let gentle: Vec<u8> = rough
                .iter()
                .enumerate()
                .map(|(i, &v)| (60 + (i % w) / 8 + (i / w) / 8 + usize::from(v % 7)) as u8)
                .collect();
            for img in [rough, gentle] {
                let got = sobel_noise_sums(&img, w, h);
                let (mut es, mut eq) = (vec![0u64; SI_CELL_COUNT], vec![0u64; SI_CELL_COUNT]);
                let (mut ns, mut nc) = (vec![0u64; SI_CELL_COUNT], vec![0u64; SI_CELL_COUNT]);
                let at = |x: usize, y: usize| i32::from(img[y * w + x]);
                for y in 1..h - 1 {
                    for x in 1..w - 1 {
                        let gx = at(x + 1, y - 1) + 2 * at(x + 1, y) + at(x + 1, y + 1)
                            - at(x - 1, y - 1)
                            - 2 * at(x - 1, y)
                            - at(x - 1, y + 1);
                        let gy = at(x - 1, y + 1) + 2 * at(x, y + 1) + at(x + 1, y + 1)
                            - at(x - 1, y - 1)
                            - 2 * at(x, y - 1)
                            - at(x + 1, y - 1);
                        let m = f64::from(gx * gx + gy * gy).sqrt().floor() as u64;
                        let c = si_cell(y as u32, h as u32) as usize * SI_CELLS as usize
                            + si_cell(x as u32, w as u32) as usize;
                        es[c] += m;
                        eq[c] += m * m;
                        if m <= u64::from(NOISE_FLAT_MAX_SOBEL) {
                            let n = at(x - 1, y - 1)
                                + at(x + 1, y - 1)
                                + at(x - 1, y + 1)
                                + at(x + 1, y + 1)
                                - 2 * (at(x, y - 1) + at(x, y + 1) + at(x - 1, y) + at(x + 1, y))
                                + 4 * at(x, y);
                            ns[c] += u64::from(n.unsigned_abs());
                            nc[c] += 1;
                        }
                    }
                }
                assert_eq!((got.si_sum, got.si_sq), (es, eq), "{w}x{h}");
                flat_pixels += nc.iter().sum::<u64>();
                assert_eq!((got.noise_sum, got.noise_count), (ns, nc), "{w}x{h}");
            }
        }
        // The gentle ramps are mostly flat: the noise sums were exercised.
        assert!(flat_pixels > 10_000, "{flat_pixels}");
    }

    #[test]
    fn fused_pass_matches_direct_reference() {
        // Sizes covering down-sampling, up-sampling, odd widths and banding.
        for &(w, h) in &[
            (640, 360),
            (1283, 721),
            (50, 30),
            (17, 400),
            (1000, 181),
            (7, 5),
        ] {
            let luma = noise(w, h, u64::from(w * h));
            let f = FrameInput {
                width: w,
                height: h,
                luma: &luma,
                next_luma: None,
                next_gap_s: None,
                rgb_width: 0,
                rgb_height: 0,
                rgb: &[],
            };
            let s = frame_sums(&f);
            let (aw, ah) = analysis_size(w, h);
            assert_eq!(
                s.grid,
                reference_resample(&luma, w, h, GRID_SIDE, GRID_SIDE),
                "grid {w}x{h}"
            );
            let ana = reference_resample(&luma, w, h, aw, ah);
            assert_eq!(analysis_image(&luma, w, h), ana, "analysis {w}x{h}");
            assert_eq!(
                laplacian_sums(&ana, aw as usize, ah as usize),
                (s.lap_sum, s.lap_sq_sum, s.lap_count)
            );
            let mut hist = [0u32; HIST_BINS];
            for &p in &luma {
                hist[p as usize] += 1;
            }
            assert_eq!(s.hist, hist, "hist {w}x{h}");
            // Blockiness sums by brute force over all pairs.
            let (mut e, mut i) = (0u64, 0u64);
            let px = |x: u32, y: u32| luma[(y * w + x) as usize];
            for y in 0..h {
                for x in 0..w {
                    if x + 1 < w && x % 8 == 7 {
                        e += u64::from(px(x, y).abs_diff(px(x + 1, y)));
                    }
                    if x + 1 < w && x % 8 == 3 {
                        i += u64::from(px(x, y).abs_diff(px(x + 1, y)));
                    }
                    if y + 1 < h && y % 8 == 7 {
                        e += u64::from(px(x, y).abs_diff(px(x, y + 1)));
                    }
                    if y + 1 < h && y % 8 == 3 {
                        i += u64::from(px(x, y).abs_diff(px(x, y + 1)));
                    }
                }
            }
            assert_eq!(
                (s.block_edge_sum, s.block_inner_sum),
                (e, i),
                "block {w}x{h}"
            );
        }
    }
}
