//! Frame-statistics throughput: CPU (rayon) and GPU (wgpu) backends on
//! batches of real decoded frames at 360p, 720p and 1080p.
//!
//! Frames: `testsrc2` encoded to H.264 (libx264, crf 23) and decoded back to
//! GRAY8 in memory with the ffmpeg CLI; if ffmpeg is missing or fails the
//! bench falls back to synthetic frames and says so. Each batch holds
//! [`BATCH`] frames, each with its following frame as `next_luma` (motion),
//! and a 160×90 RGB thumbnail.
//!
//! Throughput counts native luma pixels of all frames, frame + next
//! (criterion's "elem/s"); after each benchmark a line with frames/s is
//! printed. The GPU group uses `GpuBackend::new(true)`: the best hardware
//! GPU, else a software adapter such as lavapipe; it is skipped when no
//! adapter exists.

use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use engine::stats::{CpuBackend, FrameInput, GpuBackend, StatsBackend};

/// Frames per batch (each with its next frame).
const BATCH: usize = 16;
const THUMB: (u32, u32) = (160, 90);
const SIZES: [(&str, u32, u32); 3] = [
    ("360p", 640, 360),
    ("720p", 1280, 720),
    ("1080p", 1920, 1080),
];

/// BATCH + 1 consecutive luma frames and one thumbnail, decoded from H.264.
struct Frames {
    width: u32,
    height: u32,
    luma: Vec<Vec<u8>>,
    rgb: Vec<u8>,
}

impl Frames {
    fn inputs(&self) -> Vec<FrameInput<'_>> {
        (0..BATCH)
            .map(|i| FrameInput {
                width: self.width,
                height: self.height,
                luma: &self.luma[i],
                next_luma: Some(&self.luma[i + 1]),
                next_gap_s: None,
                rgb_width: THUMB.0,
                rgb_height: THUMB.1,
                rgb: &self.rgb,
            })
            .collect()
    }

    /// Native pixels per batch (frame + next).
    fn pixels(&self) -> u64 {
        (BATCH * 2) as u64 * u64::from(self.width) * u64::from(self.height)
    }
}

fn decode(w: u32, h: u32) -> Option<Frames> {
    let dir = tempfile::tempdir().ok()?;
    let mp4 = dir.path().join("clip.mp4");
    let ok = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg(format!("testsrc2=s={w}x{h}:r=25"))
        .args(["-frames:v", &(BATCH + 1).to_string()])
        .args(["-c:v", "libx264", "-preset", "veryfast", "-crf", "23"])
        .args(["-pix_fmt", "yuv420p"])
        .arg(&mp4)
        .status()
        .ok()?
        .success();
    if !ok {
        return None;
    }
    let raw = |vf: String, pix: &str| -> Option<Vec<u8>> {
        let out = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-i"])
            .arg(&mp4)
            .args(["-vf", &vf, "-f", "rawvideo", "-pix_fmt", pix, "-"])
            .output()
            .ok()?;
        out.status.success().then_some(out.stdout)
    };
    let luma = raw(format!("scale={w}:{h}"), "gray")?;
    let rgb = raw(format!("scale={}:{}", THUMB.0, THUMB.1), "rgb24")?;
    let n = (w * h) as usize;
    if luma.len() < n * (BATCH + 1) {
        return None;
    }
    Some(Frames {
        width: w,
        height: h,
        luma: luma.chunks(n).take(BATCH + 1).map(<[u8]>::to_vec).collect(),
        rgb: rgb[..(THUMB.0 * THUMB.1 * 3) as usize].to_vec(),
    })
}

/// Smooth moving pattern with noise, used only if decoding is impossible.
fn synthetic(w: u32, h: u32) -> Frames {
    let mut seed = 0x9e3779b97f4a7c15u64;
    let luma = (0..=BATCH)
        .map(|t| {
            (0..w * h)
                .map(|i| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    let (x, y) = (i % w, i / w);
                    let v = ((x + 3 * t as u32) ^ y) % 200 + 20 + (seed >> 61) as u32;
                    v as u8
                })
                .collect()
        })
        .collect();
    let rgb = (0..THUMB.0 * THUMB.1 * 3)
        .map(|i| (i * 7 % 256) as u8)
        .collect();
    Frames {
        width: w,
        height: h,
        luma,
        rgb,
    }
}

fn load() -> Vec<(&'static str, Frames)> {
    SIZES
        .iter()
        .map(|&(name, w, h)| {
            let frames = decode(w, h).unwrap_or_else(|| {
                eprintln!("frame_stats bench: ffmpeg decode failed, using SYNTHETIC {name} frames");
                synthetic(w, h)
            });
            (name, frames)
        })
        .collect()
}

/// Prints frames/s and Mpix/s of `backend` on `frames` (manual timing,
/// a complement to criterion's element throughput).
fn report_rate(group: &str, name: &str, backend: &mut dyn StatsBackend, frames: &Frames) {
    let inputs = frames.inputs();
    let start = Instant::now();
    let mut batches = 0u32;
    while start.elapsed() < Duration::from_secs(2) || batches < 3 {
        backend.sums(&inputs).unwrap();
        batches += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "{group}/{name}: {:.0} frames/s, {:.0} Mpix/s (frame + next), {}",
        f64::from(batches) * BATCH as f64 / secs,
        f64::from(batches) * frames.pixels() as f64 / secs / 1e6,
        backend.name()
    );
}

fn bench(c: &mut Criterion) {
    let sets = load();

    let mut cpu = CpuBackend::new();
    let mut group = c.benchmark_group("cpu");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(4));
    for (name, frames) in &sets {
        let inputs = frames.inputs();
        group.throughput(Throughput::Elements(frames.pixels()));
        group.bench_with_input(BenchmarkId::from_parameter(name), &inputs, |b, inputs| {
            b.iter(|| cpu.sums(inputs).unwrap())
        });
    }
    group.finish();
    for (name, frames) in &sets {
        report_rate("cpu", name, &mut cpu, frames);
    }

    let mut gpu = match GpuBackend::new(true) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("frame_stats bench: gpu group skipped: {e}");
            return;
        }
    };
    let mut group = c.benchmark_group("gpu");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(6));
    for (name, frames) in &sets {
        let inputs = frames.inputs();
        group.throughput(Throughput::Elements(frames.pixels()));
        group.bench_with_input(BenchmarkId::from_parameter(name), &inputs, |b, inputs| {
            b.iter(|| gpu.sums(inputs).unwrap())
        });
    }
    group.finish();
    for (name, frames) in &sets {
        report_rate("gpu", name, &mut gpu, frames);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
