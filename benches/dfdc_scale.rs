//! DFDC scale (issue 13): the per-video pass on DFDC-like clips made here
//! (tests/common `DfdcClip`: 10 s, 1920x1080 and 1080x1920, 30 fps, H.264
//! High with B-frames, ~3 Mb/s, x264's 250-frame GOP; never committed), in
//! one run:
//!
//! 1. criterion timings, one thread: the frame pass of one real clip
//!    (probe, decode with B-frames skipped, statistics, faces), the keyframe
//!    pass of one fake, and `ffmpeg -threads 1` decoding the same real clip
//!    whole;
//! 2. CPU seconds per video by stage (probe, decode + conversion,
//!    statistics, faces; keyframe pass) over the 8 reals and 16 fakes, in
//!    this process on one worker thread (`getrusage`);
//! 3. the two ratios of the issue, as CPU seconds of child processes:
//!    `engine analyze --cpu` over the 8 reals, and over 8 reals + 16 fakes
//!    with `--fake-sample 4`, each against `ffmpeg -threads 1 -i X -f null
//!    -` over the same files.
//!
//! Parts 2 and 3 print a table and write it to
//! `target/criterion/dfdc_scale.json`. Needs `make models` (face models and
//! the photos the clips are made from). Making the 24 clips takes a few
//! minutes the first time; they are kept under the target directory.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use criterion::{criterion_group, criterion_main, Criterion};
use engine::faces::{FacePass, RgbImage};
use engine::frames;
use engine::probe;
use engine::stats::{CpuBackend, FrameInput, StatsBackend};

const REALS: usize = 8;
const FAKES_PER_REAL: u8 = 2;
const FAKE_SAMPLE: &str = "4";

struct Corpus {
    reals_root: PathBuf,
    mix_root: PathBuf,
    reals: Vec<PathBuf>,
    fakes: Vec<PathBuf>,
}

fn corpus() -> Corpus {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let cache = tmp.join("dfdc_clips");
    let reals_root = common::dfdc_like_root(&tmp.join("dfdc_reals"), &cache, REALS, 0);
    let mix_root = common::dfdc_like_root(&tmp.join("dfdc_mix"), &cache, REALS, FAKES_PER_REAL);
    let part = mix_root.join("dfdc_train_part_0");
    let reals = (0..REALS)
        .map(|i| part.join(format!("real_{i}.mp4")))
        .collect();
    let fakes = (0..REALS)
        .flat_map(|i| (1..=FAKES_PER_REAL).map(move |n| (i, n)))
        .map(|(i, n)| part.join(format!("fake_{i}_{n}.mp4")))
        .collect();
    Corpus {
        reals_root,
        mix_root,
        reals,
        fakes,
    }
}

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

/// CPU seconds of each stage of one video's frame pass.
#[derive(Default, Debug, Clone, Copy)]
struct StageCpu {
    probe: f64,
    decode: f64,
    stats: f64,
    faces: f64,
}

/// The frame pass of `path` as `engine analyze` runs it, on the calling
/// thread, with each stage's CPU time.
fn frame_pass(path: &Path, faces: &FacePass) -> StageCpu {
    let mut cpu = StageCpu::default();
    let mut t = common::self_cpu_s();
    let mut lap = |slot: &mut f64| {
        let now = common::self_cpu_s();
        *slot += now - t;
        t = now;
    };
    let size = std::fs::metadata(path).unwrap().len();
    let info = probe::probe(path, size).unwrap();
    lap(&mut cpu.probe);
    let mut sampled = frames::sample_frames(path, &info, 16, 8).unwrap();
    lap(&mut cpu.decode);
    let inputs: Vec<FrameInput<'_>> = sampled.iter().map(|f| f.stats_input()).collect();
    let stats = CpuBackend::new().compute(&inputs).unwrap();
    assert_eq!(stats.len(), 16);
    drop(inputs);
    lap(&mut cpu.stats);
    let face_frames: Vec<frames::FaceFrame> =
        sampled.iter_mut().filter_map(|f| f.face.take()).collect();
    let images: Vec<(RgbImage<'_>, Option<RgbImage<'_>>)> = face_frames
        .iter()
        .map(|f| {
            let img = |rgb| RgbImage {
                width: f.width,
                height: f.height,
                rgb,
            };
            (img(&f.rgb), f.next_rgb.as_deref().map(img))
        })
        .collect();
    let summary = faces.summarise_video(&images);
    assert!(
        summary.frames_with_face_ratio > 0.0,
        "no face found in {}",
        path.display()
    );
    lap(&mut cpu.faces);
    cpu
}

/// The keyframe pass of `path`: probe, keyframes, their statistics.
fn keyframe_pass(path: &Path) -> usize {
    let size = std::fs::metadata(path).unwrap().len();
    let info = probe::probe(path, size).unwrap();
    let s = frames::sample_keyframes(path, &info, 16).unwrap();
    let inputs: Vec<FrameInput<'_>> = s
        .frames
        .iter()
        .map(|f| FrameInput {
            width: f.width,
            height: f.height,
            luma: &f.luma,
            next_luma: None,
            next_gap_s: None,
            rgb_width: 0,
            rgb_height: 0,
            rgb: &[],
        })
        .collect();
    CpuBackend::new().compute(&inputs).unwrap().len()
}

fn ffmpeg_full_decode(path: &Path) {
    let ok = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-threads", "1", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

/// Child CPU seconds of `engine analyze --cpu ROOT` into a fresh directory.
fn engine_cpu(root: &Path, extra: &[&str]) -> f64 {
    let out = tempfile::tempdir().unwrap();
    let before = common::children_cpu_s();
    let status = Command::new(env!("CARGO_BIN_EXE_engine"))
        .arg("analyze")
        .arg(root)
        .args(["--cpu", "--quiet", "--out"])
        .arg(out.path())
        .arg("--models")
        .arg(models())
        .args(extra)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    common::children_cpu_s() - before
}

fn ffmpeg_cpu(files: &[PathBuf]) -> f64 {
    let before = common::children_cpu_s();
    for f in files {
        ffmpeg_full_decode(f);
    }
    common::children_cpu_s() - before
}

fn bench(c: &mut Criterion) {
    let corpus = corpus();
    let faces = FacePass::load(&models(), false).expect("face models: run `make models`");
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();

    let mut g = c.benchmark_group("dfdc_like_1080p");
    g.sample_size(10);
    g.bench_function("frame_pass_real_one_thread", |b| {
        b.iter(|| one.install(|| frame_pass(&corpus.reals[0], &faces)))
    });
    g.bench_function("keyframe_pass_fake_one_thread", |b| {
        b.iter(|| one.install(|| keyframe_pass(&corpus.fakes[0])))
    });
    g.bench_function("ffmpeg_threads1_full_decode_real", |b| {
        b.iter(|| ffmpeg_full_decode(&corpus.reals[0]))
    });
    g.finish();

    // CPU per video by stage, one worker thread.
    let mut sum = StageCpu::default();
    for r in &corpus.reals {
        let s = one.install(|| frame_pass(r, &faces));
        sum.probe += s.probe;
        sum.decode += s.decode;
        sum.stats += s.stats;
        sum.faces += s.faces;
    }
    let n = corpus.reals.len() as f64;
    let t = common::self_cpu_s();
    for f in &corpus.fakes {
        assert!(one.install(|| keyframe_pass(f)) >= 1);
    }
    let keyframes = (common::self_cpu_s() - t) / corpus.fakes.len() as f64;

    // The ratios, child processes, in this run.
    let all: Vec<PathBuf> = corpus.reals.iter().chain(&corpus.fakes).cloned().collect();
    let ffmpeg_reals = ffmpeg_cpu(&corpus.reals);
    let engine_reals = engine_cpu(&corpus.reals_root, &[]);
    let ffmpeg_all = ffmpeg_cpu(&all);
    let engine_mix = engine_cpu(&corpus.mix_root, &["--fake-sample", FAKE_SAMPLE]);
    let ffmpeg_bidir = {
        let before = common::children_cpu_s();
        for f in &corpus.reals {
            let ok = Command::new("ffmpeg")
                .args(["-nostdin", "-loglevel", "error", "-threads", "1"])
                .args(["-skip_frame", "bidir", "-i"])
                .arg(f)
                .args(["-f", "null", "-"])
                .status()
                .unwrap()
                .success();
            assert!(ok);
        }
        common::children_cpu_s() - before
    };
    let per = |x: f64, k: usize| x / k as f64;
    let table = serde_json::json!({
        "machine_cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "reals": corpus.reals.len(),
        "fakes": corpus.fakes.len(),
        "cpu_s_per_real_video_by_stage": {
            "probe": sum.probe / n,
            "decode_and_convert": sum.decode / n,
            "stats_cpu": sum.stats / n,
            "faces": sum.faces / n,
            "total": (sum.probe + sum.decode + sum.stats + sum.faces) / n,
        },
        "cpu_s_per_fake_keyframe_pass": keyframes,
        "ffmpeg_threads1_full_decode_cpu_s_per_video": per(ffmpeg_reals, corpus.reals.len()),
        "ffmpeg_threads1_skip_bidir_cpu_s_per_video": per(ffmpeg_bidir, corpus.reals.len()),
        "engine_analyze_reals_cpu_s_per_video": per(engine_reals, corpus.reals.len()),
        "ratio_reals_engine_over_full_decode": engine_reals / ffmpeg_reals,
        "engine_analyze_mix_fake_sample_4_cpu_s_per_video": per(engine_mix, all.len()),
        "ratio_mix_engine_over_full_decode": engine_mix / ffmpeg_all,
    });
    println!(
        "\ndfdc_scale (CPU seconds, this run):\n{}",
        serde_json::to_string_pretty(&table).unwrap()
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/criterion");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("dfdc_scale.json"),
        serde_json::to_vec_pretty(&table).unwrap(),
    )
    .unwrap();
}

criterion_group!(benches, bench);
criterion_main!(benches);
