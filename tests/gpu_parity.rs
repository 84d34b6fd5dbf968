//! Frame statistics on real decoded video: GPU (wgpu) vs CPU (rayon) parity,
//! resolution independence, and sanity of the dark and blurred variants.
//!
//! Frames come from the ffmpeg CLI: `testsrc2` encoded to H.264 (libx264) at
//! 1080p and, separately, at 360p, plus a dark and a blurred 360p variant,
//! then decoded to GRAY8 (native) and RGB24 (160×90 thumbnail). Blockiness
//! uses `mandelbrot` at crf 23 and crf 45 instead: testsrc2's own pattern is
//! aligned to the 8-pixel grid (blockiness ≈1.6 before any encoding).
//!
//! The GPU part runs on whatever adapter exists, forcing software adapters
//! (Mesa lavapipe in CI) with `GpuBackend::new(true)`. It is skipped only
//! when `list_adapters()` is empty, with a message saying so.

use std::path::Path;
use std::process::Command;

use engine::stats::{
    list_adapters, select_backend, BackendChoice, CpuBackend, FrameInput, FrameStats, GpuBackend,
    StatsBackend, ALLOW_SOFTWARE_GPU_ENV,
};

/// Largest allowed |GPU − CPU| difference of any FrameStats number. Zero:
/// both backends produce identical integer FrameSums and share the one
/// f64 function `FrameStats::from_sums`, so the results must be bit-equal.
const STATS_TOLERANCE: f64 = 0.0;
/// Largest relative difference of Laplacian variance and motion between
/// the 1080p and the 360p encode of the same video.
const RESOLUTION_TOLERANCE: f64 = 0.15;
/// Frames decoded per clip (each frame's next frame is the following one).
const FRAMES: usize = 6;
const THUMB: (u32, u32) = (160, 90);

/// Decoded frames of one clip.
struct Clip {
    width: u32,
    height: u32,
    luma: Vec<Vec<u8>>,
    rgb: Vec<Vec<u8>>,
}

impl Clip {
    /// Frames 0..FRAMES-1, each with the following frame as `next_luma`.
    fn inputs(&self) -> Vec<FrameInput<'_>> {
        (0..FRAMES - 1)
            .map(|i| FrameInput {
                width: self.width,
                height: self.height,
                luma: &self.luma[i],
                next_luma: Some(&self.luma[i + 1]),
                next_gap_s: None,
                rgb_width: THUMB.0,
                rgb_height: THUMB.1,
                rgb: &self.rgb[i],
            })
            .collect()
    }
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("ffmpeg CLI is required for this test ({e}): {cmd:?}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The moving test pattern used for most clips (1 s, 25 frames).
const TESTSRC: &str = "testsrc2=s=1920x1080:r=25:d=1";

/// Encodes lavfi source `src` scaled to `w`×`h` with extra filters `vf` to
/// H.264 at the given crf.
fn encode(
    dir: &Path,
    name: &str,
    src: &str,
    w: u32,
    h: u32,
    vf: &str,
    crf: u32,
) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut filters = format!("scale={w}:{h}");
    if !vf.is_empty() {
        filters = format!("{filters},{vf}");
    }
    run(Command::new("ffmpeg").args([
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        src,
        "-frames:v",
        "25",
        "-vf",
        &filters,
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        &crf.to_string(),
        "-pix_fmt",
        "yuv420p",
        path.to_str().unwrap(),
    ]));
    path
}

/// Decodes the first FRAMES frames as GRAY8 at native size and RGB24 at
/// thumbnail size.
fn decode(path: &Path, w: u32, h: u32) -> Clip {
    let raw = |vf: &str, pix: &str| {
        run(Command::new("ffmpeg").args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-i",
            path.to_str().unwrap(),
            "-frames:v",
            &FRAMES.to_string(),
            "-vf",
            vf,
            "-f",
            "rawvideo",
            "-pix_fmt",
            pix,
            "-",
        ]))
    };
    let luma = raw(&format!("scale={w}:{h}"), "gray");
    let rgb = raw(&format!("scale={}:{}", THUMB.0, THUMB.1), "rgb24");
    let (n, m) = ((w * h) as usize, (THUMB.0 * THUMB.1 * 3) as usize);
    assert_eq!(luma.len(), n * FRAMES, "decoded luma size of {path:?}");
    assert_eq!(rgb.len(), m * FRAMES, "decoded rgb size of {path:?}");
    Clip {
        width: w,
        height: h,
        luma: luma.chunks(n).map(<[u8]>::to_vec).collect(),
        rgb: rgb.chunks(m).map(<[u8]>::to_vec).collect(),
    }
}

struct Clips {
    hd: Clip,
    sd: Clip,
    dark: Clip,
    blurred: Clip,
    odd: Clip,
    tiny: Clip,
    fractal: Clip,
    fractal_crushed: Clip,
    _dir: tempfile::TempDir,
}

fn clips() -> Clips {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let hd = decode(
        &encode(d, "hd.mp4", TESTSRC, 1920, 1080, "", 23),
        1920,
        1080,
    );
    let sd = decode(&encode(d, "sd.mp4", TESTSRC, 640, 360, "", 23), 640, 360);
    let dark = decode(
        &encode(d, "dark.mp4", TESTSRC, 640, 360, "lutyuv=y=val*0.3", 23),
        640,
        360,
    );
    let blurred = decode(
        &encode(d, "blur.mp4", TESTSRC, 640, 360, "gblur=sigma=3", 23),
        640,
        360,
    );
    // Odd width (not a multiple of 4 or 8) and a frame smaller than the
    // analysis grid (up-sampling path).
    let odd = decode(&encode(d, "odd.mp4", TESTSRC, 854, 480, "", 23), 854, 480);
    let tiny = decode(&encode(d, "tiny.mp4", TESTSRC, 96, 54, "", 23), 96, 54);
    let fractal_src = "mandelbrot=s=640x360:r=25";
    let fractal = decode(
        &encode(d, "fractal.mp4", fractal_src, 640, 360, "", 23),
        640,
        360,
    );
    let fractal_crushed = decode(
        &encode(d, "crushed.mp4", fractal_src, 640, 360, "", 45),
        640,
        360,
    );
    Clips {
        hd,
        sd,
        dark,
        blurred,
        odd,
        tiny,
        fractal,
        fractal_crushed,
        _dir: dir,
    }
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

fn assert_stats_match(gpu: &FrameStats, cpu: &FrameStats, what: &str) {
    let pairs = [
        ("mean_luma", gpu.mean_luma, cpu.mean_luma),
        ("std_luma", gpu.std_luma, cpu.std_luma),
        ("p01", gpu.p01, cpu.p01),
        ("p99", gpu.p99, cpu.p99),
        (
            "clipped_black_frac",
            gpu.clipped_black_frac,
            cpu.clipped_black_frac,
        ),
        (
            "clipped_white_frac",
            gpu.clipped_white_frac,
            cpu.clipped_white_frac,
        ),
        ("laplacian_var", gpu.laplacian_var, cpu.laplacian_var),
        (
            "motion",
            gpu.motion.unwrap_or(-1.0),
            cpu.motion.unwrap_or(-1.0),
        ),
        ("colorfulness", gpu.colorfulness, cpu.colorfulness),
        ("blockiness", gpu.blockiness, cpu.blockiness),
    ];
    for (name, g, c) in pairs {
        assert!(
            close(g, c, STATS_TOLERANCE),
            "{what}: {name} gpu {g} cpu {c}"
        );
    }
    for (k, (g, c)) in gpu.embedding.iter().zip(&cpu.embedding).enumerate() {
        assert!(
            close(f64::from(*g), f64::from(*c), STATS_TOLERANCE),
            "{what}: embedding[{k}] gpu {g} cpu {c}"
        );
    }
    assert_eq!(gpu.embedding.len(), cpu.embedding.len());
}

#[test]
fn gpu_matches_cpu_on_decoded_video() {
    let adapters = list_adapters();
    if adapters.is_empty() {
        // CI installs lavapipe through `make test`: there a skip would hide a broken setup.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI has no Vulkan adapter: is mesa-vulkan-drivers installed?"
        );
        eprintln!(
            "SKIPPED gpu_matches_cpu_on_decoded_video: list_adapters() is empty (no Vulkan/Metal/DX12 \
             driver; install mesa-vulkan-drivers for lavapipe)"
        );
        return;
    }
    eprintln!("adapters: {adapters:?}");
    let mut gpu =
        GpuBackend::new(true).expect("an adapter is listed, so GpuBackend::new(true) must work");
    eprintln!("GPU backend: {}", gpu.name());
    let mut cpu = CpuBackend::new();
    let c = clips();

    // Small frames first, then bigger ones: exercises buffer growth and
    // reuse on one backend.
    let sets: [(&str, &Clip); 7] = [
        ("tiny 96x54", &c.tiny),
        ("360p", &c.sd),
        ("360p dark", &c.dark),
        ("360p blurred", &c.blurred),
        ("480p odd width", &c.odd),
        ("360p crf 45", &c.fractal_crushed),
        ("1080p", &c.hd),
    ];
    let mut flat_pixels = 0u64;
    for (what, clip) in sets {
        let frames = clip.inputs();
        let g = gpu.sums(&frames).unwrap();
        let s = cpu.sums(&frames).unwrap();
        assert_eq!(g.len(), frames.len());
        for (i, (gs, cs)) in g.iter().zip(&s).enumerate() {
            assert_eq!(gs, cs, "{what} frame {i}: GPU and CPU FrameSums differ");
            assert_stats_match(&FrameStats::from_sums(gs), &FrameStats::from_sums(cs), what);
        }
        let gs = gpu.compute(&frames).unwrap();
        let cs = cpu.compute(&frames).unwrap();
        assert_eq!(gs, cs, "{what}: compute() differs");
        flat_pixels += s
            .iter()
            .map(|x| x.noise_count.iter().sum::<u64>())
            .sum::<u64>();
    }
    // The noise sums (flat pixels only) were exercised, not all zero.
    assert!(flat_pixels > 0);

    // Extreme synthetic frame whose u64 sums overflow u32 on the GPU (tests
    // the carry of the (lo, hi) accumulators): a 1-pixel 0/255 checkerboard
    // at analysis resolution (|L| = 1020 everywhere, ΣL² ≈ 5.9e10), its
    // inverse as next frame (motion 255), and a 200×200 saturated blue
    // thumbnail (Σ yb2² ≈ 1.04e10).
    let (w, h) = (320u32, 180u32);
    let board: Vec<u8> = (0..w * h)
        .map(|i| if (i % w + i / w) % 2 == 0 { 0 } else { 255 })
        .collect();
    let inverse: Vec<u8> = board.iter().map(|&p| 255 - p).collect();
    let blue = [0u8, 0, 255].repeat(200 * 200);
    let extreme = [FrameInput {
        width: w,
        height: h,
        luma: &board,
        next_luma: Some(&inverse),
        next_gap_s: None,
        rgb_width: 200,
        rgb_height: 200,
        rgb: &blue,
    }];
    let g = gpu.sums(&extreme).unwrap();
    assert_eq!(g, cpu.sums(&extreme).unwrap(), "extreme frame differs");
    assert!(g[0].lap_sq_sum > u64::from(u32::MAX) && g[0].yb2_sq_sum > u64::from(u32::MAX));
    assert_eq!(FrameStats::from_sums(&g[0]).motion, Some(255.0));

    // One mixed batch (different sizes, with and without next frames) in a
    // single submission.
    let mut mixed = c.sd.inputs();
    mixed.extend(c.hd.inputs());
    mixed.extend(c.tiny.inputs());
    mixed[1].next_luma = None;
    let last = mixed.len() - 1;
    mixed[last].next_luma = None;
    let g = gpu.sums(&mixed).unwrap();
    let s = cpu.sums(&mixed).unwrap();
    assert_eq!(g, s, "mixed batch differs");
    assert_eq!(g[1].motion_abs_sum, None);
    assert!(g[0].motion_abs_sum.is_some());

    // More frames than one submission takes (MAX_BATCH_FRAMES = 256): the
    // backend splits them and keeps the order.
    let many: Vec<FrameInput<'_>> = (0..300)
        .map(|i| c.tiny.inputs()[i % (FRAMES - 1)])
        .collect();
    let g = gpu.sums(&many).unwrap();
    assert_eq!(g.len(), 300);
    assert_eq!(g, cpu.sums(&many).unwrap(), "300-frame call differs");
}

/// Mean over frames of a FrameStats field.
fn mean_of(stats: &[FrameStats], f: impl Fn(&FrameStats) -> f64) -> f64 {
    stats.iter().map(f).sum::<f64>() / stats.len() as f64
}

fn rel_diff(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs())
}

#[test]
fn stats_are_resolution_independent_and_track_quality() {
    let c = clips();
    let mut cpu = CpuBackend::new();
    let hd = cpu.compute(&c.hd.inputs()).unwrap();
    let sd = cpu.compute(&c.sd.inputs()).unwrap();
    let dark = cpu.compute(&c.dark.inputs()).unwrap();
    let blurred = cpu.compute(&c.blurred.inputs()).unwrap();

    let lap = |s: &[FrameStats]| mean_of(s, |f| f.laplacian_var);
    let motion = |s: &[FrameStats]| mean_of(s, |f| f.motion.unwrap());
    eprintln!(
        "laplacian_var 1080p {:.1} 360p {:.1} blurred {:.1}; motion 1080p {:.2} 360p {:.2}",
        lap(&hd),
        lap(&sd),
        lap(&blurred),
        motion(&hd),
        motion(&sd)
    );
    assert!(
        rel_diff(lap(&hd), lap(&sd)) <= RESOLUTION_TOLERANCE,
        "laplacian_var 1080p {} vs 360p {}",
        lap(&hd),
        lap(&sd)
    );
    assert!(
        rel_diff(motion(&hd), motion(&sd)) <= RESOLUTION_TOLERANCE,
        "motion 1080p {} vs 360p {}",
        motion(&hd),
        motion(&sd)
    );
    assert!(motion(&sd) > 0.5, "testsrc2 moves: motion {}", motion(&sd));

    // Same content at two resolutions: near-identical embeddings.
    for (a, b) in hd.iter().zip(&sd) {
        let cos: f32 = a
            .embedding
            .iter()
            .zip(&b.embedding)
            .map(|(x, y)| x * y)
            .sum();
        assert!(cos > 0.98, "embedding cosine 1080p vs 360p {cos}");
    }

    // Blur: far lower Laplacian variance.
    assert!(
        lap(&blurred) < 0.5 * lap(&sd),
        "blurred {} vs sharp {}",
        lap(&blurred),
        lap(&sd)
    );
    // Dark: lower mean and 99th percentile, more clipped black.
    let mean = |s: &[FrameStats]| mean_of(s, |f| f.mean_luma);
    assert!(
        mean(&dark) < 0.5 * mean(&sd),
        "dark mean {} vs {}",
        mean(&dark),
        mean(&sd)
    );
    assert!(mean_of(&dark, |f| f.p99) < mean_of(&sd, |f| f.p99));
    assert!(mean_of(&dark, |f| f.clipped_black_frac) > mean_of(&sd, |f| f.clipped_black_frac));
    // testsrc2 has saturated colour bars.
    assert!(mean_of(&sd, |f| f.colorfulness) > 30.0);
    // Blockiness: ≈1 for a normal encode, clearly > 1 when crushed.
    let clean = mean_of(&cpu.compute(&c.fractal.inputs()).unwrap(), |f| f.blockiness);
    let crushed = mean_of(&cpu.compute(&c.fractal_crushed.inputs()).unwrap(), |f| {
        f.blockiness
    });
    eprintln!("blockiness crf 23 {clean:.3} crf 45 {crushed:.3}");
    assert!((0.9..1.15).contains(&clean), "blockiness crf 23 {clean}");
    assert!(
        crushed > 1.3 && crushed > clean + 0.2,
        "blockiness crf 45 {crushed}"
    );
}

#[test]
fn gpu_selection_reports_adapters() {
    let adapters = list_adapters();
    let hardware = adapters.iter().any(|a| {
        a.contains("DiscreteGpu") || a.contains("IntegratedGpu") || a.contains("VirtualGpu")
    });
    let software_allowed = std::env::var(ALLOW_SOFTWARE_GPU_ENV).is_ok_and(|v| v == "1");
    match select_backend(BackendChoice::Gpu) {
        Ok((backend, line)) => {
            assert!(
                hardware || (software_allowed && !adapters.is_empty()),
                "{line}"
            );
            assert!(line.starts_with("frame statistics on GPU: "), "{line}");
            assert!(backend.name().starts_with("gpu: "));
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.starts_with("--gpu: no GPU adapter found; adapters seen: "),
                "{msg}"
            );
            for a in &adapters {
                assert!(msg.contains(a.as_str()), "{msg} should list {a}");
            }
        }
    }
    let (_, line) = select_backend(BackendChoice::Auto).unwrap();
    if !hardware && !software_allowed {
        assert!(
            line.contains("on CPU (rayon, ") && line.contains("no GPU adapter found (found: "),
            "{line}"
        );
    }
}
