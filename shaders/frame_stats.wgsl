// Frame statistics: per-frame integer reductions (see src/stats/mod.rs for the
// definitions and src/stats/gpu.rs for the host side). Every result is an
// integer sum, so this path gives bit-identical FrameSums to the CPU path.
//
// One batch = many frames. `input` holds every frame's native luma, next-frame
// luma and RGB thumbnail as bytes (each region 4-byte aligned); `params[f]`
// says where. Dispatch z = frame index within the batch.
//
// Output per frame (u32 words at params.out_off, OUT_STRIDE words apart):
//   [0, 256)      luma histogram
//   [256, 274)    nine u64 sums as (lo, hi) pairs, see S_* below
//   [288, 1312)   32x32 area-averaged grid (one value 0..255 per word)
//   [1312, 2336)  the analysis image resampled to 32x32 (camera motion)
//   [2336, 3360)  the next frame's analysis image resampled to 32x32
//   [3360, 3370)  near-neutral R, G, B sums and count, sky-band sky count
//                 (five u64 pairs, S_NEUTRAL..)
//   [3370, 3626)  per background cell (8x8 cells of the analysis image):
//                 Sobel magnitude sum, then squared-magnitude sum (u64 pairs)
//   [3626, 3882)  per background cell: noise operator |N| sum over its flat
//                 pixels, then their count (u64 pairs, S_NOISE)
// Sums larger than a u32 are accumulated as u64 (lo, hi) pairs: each
// workgroup first reduces into workgroup memory (fits in u32), then one
// thread adds to the pair with carry (add_u64). Signed sums are stored with
// an offset that makes every term non-negative; the host subtracts it.

const S_EDGE: u32 = 256u;    // block boundary |diff| sum
const S_INNER: u32 = 258u;   // mid-block |diff| sum
const S_LAP: u32 = 260u;     // sum of (L + LAP_OFFSET)
const S_LAPSQ: u32 = 262u;   // sum of L^2
const S_MOTION: u32 = 264u;  // sum |A - A_next|
const S_RG: u32 = 266u;      // sum of (rg + RG_OFFSET)
const S_RGSQ: u32 = 268u;    // sum of rg^2
const S_YB: u32 = 270u;      // sum of (yb2 + YB2_OFFSET)
const S_YBSQ: u32 = 272u;    // sum of yb2^2
const GRID_OFF: u32 = 288u;
const GRID_SIDE: u32 = 32u;
const MOTION_GRID_OFF: u32 = 1312u;
const NEXT_MOTION_GRID_OFF: u32 = 2336u;
const S_NEUTRAL: u32 = 3360u; // R, G, B, count: four u64 pairs
const S_SKY: u32 = 3368u;
const SI_OFF: u32 = 3370u;    // SI_CELL_COUNT magnitude sums, then squares
const SI_CELLS: u32 = 8u;
const SI_CELL_COUNT: u32 = 64u;
const S_NOISE: u32 = 3626u;   // SI_CELL_COUNT flat |N| sums, then counts
// Flat-pixel Sobel limit (NOISE_FLAT_MAX_SOBEL in src/stats/mod.rs).
const NOISE_FLAT_MAX_SOBEL: u32 = 32u;

// Near-neutral and sky pixel rules (must match is_near_neutral / is_sky and
// their constants in src/stats/mod.rs).
const NEUTRAL_MIN_LEVEL: u32 = 32u;
const NEUTRAL_MAX_LEVEL: u32 = 250u;
const NEUTRAL_MAX_SATURATION_PCT: u32 = 75u;
const NEUTRAL_MAX_LOCUS_DEVIATION_PCT: u32 = 6u;
const SKY_BLUE_MARGIN: u32 = 20u;
const SKY_BLUE_MIN_LEVEL: u32 = 80u;
const SKY_WHITE_MIN_LEVEL: u32 = 215u;

const LAP_OFFSET: i32 = 1020;  // |L| <= 4*255
const RG_OFFSET: i32 = 255;    // |R - G| <= 255
const YB2_OFFSET: i32 = 510;   // |R + G - 2B| <= 510

// Native pass tiling: 64 threads x NATIVE_COLS pixels wide x NATIVE_ROWS rows
// (must match NATIVE_TILE_W / NATIVE_ROWS in gpu.rs). A thread reads one u32
// word (4 pixels) per row; a workgroup covers 256 x 32 pixels, so its
// histogram flush (256 bins) is amortised over 8192 pixels and its
// blockiness partials stay below 2^32 (8192 x 2 x 255). 32 rows measured
// ~20% faster than 8 rows on lavapipe.
const NATIVE_COLS: u32 = 4u;
const NATIVE_ROWS: u32 = 32u;

struct FrameParams {
    luma_off: u32,      // byte offset of the native luma in `input`
    next_off: u32,      // byte offset of the next frame's luma
    rgb_off: u32,       // byte offset of the RGB24 thumbnail
    has_next: u32,      // 1 when next_off is valid
    width: u32,         // native luma size
    height: u32,
    aw: u32,            // analysis image size
    ah: u32,
    rgb_count: u32,     // thumbnail pixels
    ana_off: u32,       // word offset of the analysis image in `ana`
    ana_next_off: u32,  // word offset of the next frame's analysis image
    out_off: u32,       // word offset of this frame's results in `out`
    sky_n: u32,         // thumbnail pixels in the sky band (the top rows)
    _pad1: u32,
    _pad2: u32,
    _pad3: u32,
}

@group(0) @binding(0) var<storage, read> input: array<u32>;
@group(0) @binding(1) var<storage, read> params: array<FrameParams>;
@group(0) @binding(2) var<storage, read_write> ana: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<atomic<u32>>;

var<workgroup> wg_hist: array<atomic<u32>, 256>;
var<workgroup> wg_sum: array<atomic<u32>, 8>;
var<workgroup> wg_si_sum: array<atomic<u32>, 64>;
var<workgroup> wg_si_sq: array<atomic<u32>, 64>;
var<workgroup> wg_noise_sum: array<atomic<u32>, 64>;
var<workgroup> wg_noise_count: array<atomic<u32>, 64>;

// Byte `i` of `input`.
fn px(i: u32) -> u32 {
    return (input[i >> 2u] >> ((i & 3u) << 3u)) & 0xffu;
}

fn absdiff(a: u32, b: u32) -> u32 {
    return max(a, b) - min(a, b);
}

// out[idx], out[idx + 1] form a u64 (lo, hi); add v with carry.
fn add_u64(idx: u32, v: u32) {
    if (v == 0u) {
        return;
    }
    let old = atomicAdd(&out[idx], v);
    if (old > 0xffffffffu - v) {
        atomicAdd(&out[idx + 1u], 1u);
    }
}

// Sum of the bytes [a, b) of `input`, a word at a time where aligned.
fn byte_sum(a: u32, b: u32) -> u32 {
    var s = 0u;
    var i = a;
    while (i < b && (i & 3u) != 0u) {
        s += px(i);
        i++;
    }
    while (i + 4u <= b) {
        let w = input[i >> 2u];
        let t = (w & 0x00ff00ffu) + ((w >> 8u) & 0x00ff00ffu);
        s += (t & 0xffffu) + (t >> 16u);
        i += 4u;
    }
    while (i < b) {
        s += px(i);
        i++;
    }
    return s;
}

// Area-resampling bin [start, end) of output index i (see bin_range in mod.rs).
fn bin(i: u32, native: u32, outn: u32) -> vec2<u32> {
    let start = i * native / outn;
    let end = (i + 1u) * native / outn;
    return vec2<u32>(start, max(end, start + 1u));
}

fn clear_wg_sums(lid: u32) {
    if (lid < 8u) {
        atomicStore(&wg_sum[lid], 0u);
    }
}

// Histogram + blockiness pairs over the native luma.
@compute @workgroup_size(64)
fn native_pass(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let p = params[wg.z];
    for (var i = lid; i < 256u; i += 64u) {
        atomicStore(&wg_hist[i], 0u);
    }
    clear_wg_sums(lid);
    workgroupBarrier();

    let x0 = (wg.x * 64u + lid) * NATIVE_COLS;
    let y0 = wg.y * NATIVE_ROWS;
    var edge = 0u;
    var inner = 0u;
    if (x0 < p.width && y0 < p.height && (p.width & 3u) == 0u) {
        // Fast path: rows start on word boundaries, so the thread's 4 pixels
        // are one u32 word.
        let y1 = min(y0 + NATIVE_ROWS, p.height);
        let xm = x0 & 7u;  // 0 or 4
        let has_right = x0 + 4u < p.width;
        for (var y = y0; y < y1; y++) {
            let row = p.luma_off + y * p.width;
            let wd = input[(row + x0) >> 2u];
            for (var j = 0u; j < 4u; j++) {
                atomicAdd(&wg_hist[(wd >> (8u * j)) & 0xffu], 1u);
            }
            // Horizontal pair (x0 + 3, x0 + 4): mid-block when x0 % 8 == 0,
            // block boundary when x0 % 8 == 4.
            if (has_right) {
                let d = absdiff(wd >> 24u, px(row + x0 + 4u));
                if (xm == 0u) {
                    inner += d;
                } else {
                    edge += d;
                }
            }
            let ym = y & 7u;
            if (y + 1u < p.height && (ym == 7u || ym == 3u)) {
                let wb = input[(row + p.width + x0) >> 2u];
                var d = 0u;
                for (var j = 0u; j < 4u; j++) {
                    d += absdiff((wd >> (8u * j)) & 0xffu, (wb >> (8u * j)) & 0xffu);
                }
                if (ym == 7u) {
                    edge += d;
                } else {
                    inner += d;
                }
            }
        }
    } else if (x0 < p.width && y0 < p.height) {
        // General path (width not a multiple of 4): byte loads.
        let x1 = min(x0 + NATIVE_COLS, p.width);
        let y1 = min(y0 + NATIVE_ROWS, p.height);
        for (var y = y0; y < y1; y++) {
            let row = p.luma_off + y * p.width;
            let ym = y & 7u;
            let vert = y + 1u < p.height && (ym == 7u || ym == 3u);
            for (var x = x0; x < x1; x++) {
                let v = px(row + x);
                atomicAdd(&wg_hist[v], 1u);
                let xm = x & 7u;
                if ((xm == 7u || xm == 3u) && x + 1u < p.width) {
                    let d = absdiff(v, px(row + x + 1u));
                    if (xm == 7u) {
                        edge += d;
                    } else {
                        inner += d;
                    }
                }
                if (vert) {
                    let d = absdiff(v, px(row + p.width + x));
                    if (ym == 7u) {
                        edge += d;
                    } else {
                        inner += d;
                    }
                }
            }
        }
    }
    atomicAdd(&wg_sum[0], edge);
    atomicAdd(&wg_sum[1], inner);
    workgroupBarrier();

    for (var i = lid; i < 256u; i += 64u) {
        let c = atomicLoad(&wg_hist[i]);
        if (c != 0u) {
            atomicAdd(&out[p.out_off + i], c);
        }
    }
    if (lid == 0u) {
        add_u64(p.out_off + S_EDGE, atomicLoad(&wg_sum[0]));
        add_u64(p.out_off + S_INNER, atomicLoad(&wg_sum[1]));
    }
}

// Area resampling of one output pixel `i` for `job`: 0 = analysis image of
// the frame, 1 = analysis image of the next frame (both to `ana`), 2 = the
// 32x32 embedding grid (to `out`).
fn resample_one(p: FrameParams, job: u32, i: u32) {
    var ow = p.aw;
    var oh = p.ah;
    var src = p.luma_off;
    if (job == 1u) {
        src = p.next_off;
    }
    if (job == 2u) {
        ow = GRID_SIDE;
        oh = GRID_SIDE;
    }
    if (i >= ow * oh) {
        return;
    }
    let xr = bin(i % ow, p.width, ow);
    let yr = bin(i / ow, p.height, oh);
    var s = 0u;
    for (var y = yr.x; y < yr.y; y++) {
        let row = src + y * p.width;
        s += byte_sum(row + xr.x, row + xr.y);
    }
    let n = (xr.y - xr.x) * (yr.y - yr.x);
    let v = (s + n / 2u) / n;
    if (job == 0u) {
        ana[p.ana_off + i] = v;
    } else if (job == 1u) {
        ana[p.ana_next_off + i] = v;
    } else {
        atomicStore(&out[p.out_off + GRID_OFF + i], v);
    }
}

// Analysis images, one thread per output pixel; wg.y = job (0 frame,
// 1 next frame).
@compute @workgroup_size(64)
fn resample_pass(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(workgroup_id) wg: vec3<u32>,
) {
    let p = params[wg.z];
    if (wg.y == 1u && p.has_next == 0u) {
        return;
    }
    resample_one(p, wg.y, gid.x);
}

// The 32x32 embedding grid from the native luma (wg.y 0), and the motion
// grids, 32x32 from the analysis images of the frame (wg.y 1) and of the
// next frame (wg.y 2); one thread per cell (their own dispatch of 16
// workgroups per frame and grid rather than more jobs of the analysis
// dispatch, whose ~900 mostly idle workgroups per frame cost time on
// lavapipe). Runs after resample_pass, which writes the analysis images.
@compute @workgroup_size(64)
fn grid_pass(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(workgroup_id) wg: vec3<u32>,
) {
    let p = params[wg.z];
    if (wg.y == 0u) {
        resample_one(p, 2u, gid.x);
        return;
    }
    if (wg.y == 2u && p.has_next == 0u) {
        return;
    }
    let i = gid.x;
    if (i >= GRID_SIDE * GRID_SIDE) {
        return;
    }
    var base = p.ana_off;
    var dst = MOTION_GRID_OFF;
    if (wg.y == 2u) {
        base = p.ana_next_off;
        dst = NEXT_MOTION_GRID_OFF;
    }
    let xr = bin(i % GRID_SIDE, p.aw, GRID_SIDE);
    let yr = bin(i / GRID_SIDE, p.ah, GRID_SIDE);
    var s = 0u;
    for (var y = yr.x; y < yr.y; y++) {
        for (var x = xr.x; x < xr.y; x++) {
            s += ana[base + y * p.aw + x];
        }
    }
    let n = (xr.y - xr.x) * (yr.y - yr.x);
    atomicStore(&out[p.out_off + dst + i], (s + n / 2u) / n);
}

// Background cell index along an axis of n analysis pixels (si_cell in
// src/stats/mod.rs).
fn si_cell(x: u32, n: u32) -> u32 {
    return (SI_CELLS * x + SI_CELLS - 1u) / n;
}

// Exact floor(sqrt(v)) for v < 2^24 (isqrt in src/stats/mod.rs).
fn isqrt(v: u32) -> u32 {
    var s = u32(sqrt(f32(v)));
    if (s * s > v) {
        s -= 1u;
    }
    if ((s + 1u) * (s + 1u) <= v) {
        s += 1u;
    }
    return s;
}

// Laplacian and motion sums over the analysis image: one thread per column
// and ANA_ROWS rows (fewer workgroup atomics than one thread per pixel).
const ANA_ROWS: u32 = 12u;

@compute @workgroup_size(64)
fn analysis_pass(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let p = params[wg.z];
    clear_wg_sums(lid);
    atomicStore(&wg_si_sum[lid], 0u);
    atomicStore(&wg_si_sq[lid], 0u);
    atomicStore(&wg_noise_sum[lid], 0u);
    atomicStore(&wg_noise_count[lid], 0u);
    workgroupBarrier();

    var lap = 0u;
    var lapsq = 0u;
    var mot = 0u;
    let x = gid.x;
    let y0 = wg.y * ANA_ROWS;
    // Sobel sums of the current background cell, flushed to workgroup
    // memory when the rows move into the next cell.
    var cell = SI_CELL_COUNT;
    var si = 0u;
    var sisq = 0u;
    var noise = 0u;
    var flat = 0u;
    if (x < p.aw && y0 < p.ah) {
        let y1 = min(y0 + ANA_ROWS, p.ah);
        let cx = si_cell(x, p.aw);
        for (var y = y0; y < y1; y++) {
            let i = y * p.aw + x;
            let c = ana[p.ana_off + i];
            if (x > 0u && y > 0u && x + 1u < p.aw && y + 1u < p.ah) {
                let up = i32(ana[p.ana_off + i - p.aw]);
                let down = i32(ana[p.ana_off + i + p.aw]);
                let left = i32(ana[p.ana_off + i - 1u]);
                let right = i32(ana[p.ana_off + i + 1u]);
                let l = 4 * i32(c) - up - down - left - right;
                lap += u32(l + LAP_OFFSET);
                lapsq += u32(l * l);
                let ul = i32(ana[p.ana_off + i - p.aw - 1u]);
                let ur = i32(ana[p.ana_off + i - p.aw + 1u]);
                let dl = i32(ana[p.ana_off + i + p.aw - 1u]);
                let dr = i32(ana[p.ana_off + i + p.aw + 1u]);
                let gx = ur + 2 * right + dr - ul - 2 * left - dl;
                let gy = dl + 2 * down + dr - ul - 2 * up - ur;
                let m = isqrt(u32(gx * gx + gy * gy));
                let here = si_cell(y, p.ah) * SI_CELLS + cx;
                if (here != cell) {
                    if (cell < SI_CELL_COUNT) {
                        atomicAdd(&wg_si_sum[cell], si);
                        atomicAdd(&wg_si_sq[cell], sisq);
                        atomicAdd(&wg_noise_sum[cell], noise);
                        atomicAdd(&wg_noise_count[cell], flat);
                    }
                    cell = here;
                    si = 0u;
                    sisq = 0u;
                    noise = 0u;
                    flat = 0u;
                }
                si += m;
                sisq += m * m;
                if (m <= NOISE_FLAT_MAX_SOBEL) {
                    let n = ul + ur + dl + dr - 2 * (up + down + left + right) + 4 * i32(c);
                    noise += u32(abs(n));
                    flat += 1u;
                }
            }
            if (p.has_next != 0u) {
                mot += absdiff(c, ana[p.ana_next_off + i]);
            }
        }
    }
    // Per workgroup: 64 x 12 x 1020^2 < 2^32; per cell and workgroup
    // 64 x 12 x 1442^2 < 2^32 (|m| <= 1020 * sqrt(2)); 64 x 12 x 4080 (|N|).
    atomicAdd(&wg_sum[0], lap);
    atomicAdd(&wg_sum[1], lapsq);
    atomicAdd(&wg_sum[2], mot);
    if (cell < SI_CELL_COUNT) {
        atomicAdd(&wg_si_sum[cell], si);
        atomicAdd(&wg_si_sq[cell], sisq);
        atomicAdd(&wg_noise_sum[cell], noise);
        atomicAdd(&wg_noise_count[cell], flat);
    }
    workgroupBarrier();
    if (lid == 0u) {
        add_u64(p.out_off + S_LAP, atomicLoad(&wg_sum[0]));
        add_u64(p.out_off + S_LAPSQ, atomicLoad(&wg_sum[1]));
        add_u64(p.out_off + S_MOTION, atomicLoad(&wg_sum[2]));
    }
    add_u64(p.out_off + SI_OFF + 2u * lid, atomicLoad(&wg_si_sum[lid]));
    add_u64(p.out_off + SI_OFF + 2u * SI_CELL_COUNT + 2u * lid, atomicLoad(&wg_si_sq[lid]));
    add_u64(p.out_off + S_NOISE + 2u * lid, atomicLoad(&wg_noise_sum[lid]));
    add_u64(p.out_off + S_NOISE + 2u * SI_CELL_COUNT + 2u * lid, atomicLoad(&wg_noise_count[lid]));
}

// Colourfulness sums over the RGB thumbnail; grid-stride loop so any
// thumbnail size fits the dispatch limit.
@compute @workgroup_size(64)
fn color_pass(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let p = params[wg.z];
    clear_wg_sums(lid);
    workgroupBarrier();

    var srg = 0u;
    var srgsq = 0u;
    var syb = 0u;
    var sybsq = 0u;
    var nr = 0u;
    var ng = 0u;
    var nb = 0u;
    var nn = 0u;
    var sky = 0u;
    // Per-thread partials stay below 2^32 for up to 16512 pixels per thread
    // (2^32 / 510^2), i.e. thumbnails up to ~69 Gpix at 65535 workgroups.
    for (var i = gid.x; i < p.rgb_count; i += nwg.x * 64u) {
        let b = p.rgb_off + 3u * i;
        let r = i32(px(b));
        let g = i32(px(b + 1u));
        let bl = i32(px(b + 2u));
        let rg = r - g;
        let yb2 = r + g - 2 * bl;
        srg += u32(rg + RG_OFFSET);
        srgsq += u32(rg * rg);
        syb += u32(yb2 + YB2_OFFSET);
        sybsq += u32(yb2 * yb2);
        let ur = u32(r);
        let ug = u32(g);
        let ub = u32(bl);
        let mx = max(ur, max(ug, ub));
        let mn = min(ur, min(ug, ub));
        if (mx >= NEUTRAL_MIN_LEVEL && mx <= NEUTRAL_MAX_LEVEL
            && (mx - mn) * 100u <= NEUTRAL_MAX_SATURATION_PCT * mx
            && (max(2u * ug, ur + ub) - min(2u * ug, ur + ub)) * 100u
                <= NEUTRAL_MAX_LOCUS_DEVIATION_PCT * 2u * mx) {
            nr += ur;
            ng += ug;
            nb += ub;
            nn += 1u;
        }
        if (i < p.sky_n
            && ((ub >= SKY_BLUE_MIN_LEVEL && ub >= ur + SKY_BLUE_MARGIN && ub >= ug)
                || mn >= SKY_WHITE_MIN_LEVEL)) {
            sky += 1u;
        }
    }
    // Linear sums are reduced in workgroup memory first (64 x 1020 x 16512
    // < 2^32); squares could exceed 2^32 per workgroup, so each thread adds
    // its own square sums to the u64 pairs.
    // Neutral sums: 64 x 255 x 16512 < 2^32 per workgroup as well.
    atomicAdd(&wg_sum[0], srg);
    atomicAdd(&wg_sum[1], syb);
    atomicAdd(&wg_sum[2], nr);
    atomicAdd(&wg_sum[3], ng);
    atomicAdd(&wg_sum[4], nb);
    atomicAdd(&wg_sum[5], nn);
    atomicAdd(&wg_sum[6], sky);
    add_u64(p.out_off + S_RGSQ, srgsq);
    add_u64(p.out_off + S_YBSQ, sybsq);
    workgroupBarrier();
    if (lid == 0u) {
        add_u64(p.out_off + S_RG, atomicLoad(&wg_sum[0]));
        add_u64(p.out_off + S_YB, atomicLoad(&wg_sum[1]));
        for (var k = 0u; k < 4u; k++) {
            add_u64(p.out_off + S_NEUTRAL + 2u * k, atomicLoad(&wg_sum[2u + k]));
        }
        add_u64(p.out_off + S_SKY, atomicLoad(&wg_sum[6]));
    }
}
