//! Probe throughput (files/s): the engine's in-process probe against an
//! `ffprobe` subprocess per file, over the same files in one run.
//!
//! The files are real videos made with the ffmpeg CLI: 48 short clips in the
//! containers and codecs datasets ship (MP4/H.264, MOV, MKV/MPEG-4, WebM/VP9,
//! AVI/MJPEG), 160x120 to 640x360.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::process::Command;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const FILES: usize = 48;

fn corpus(dir: &std::path::Path) -> Vec<PathBuf> {
    let kinds: [(&str, &[&str]); 5] = [
        ("mp4", &[]),
        ("mov", &[]),
        ("mkv", &["-c:v", "mpeg4"]),
        (
            "webm",
            &[
                "-c:v",
                "libvpx-vp9",
                "-deadline",
                "realtime",
                "-cpu-used",
                "8",
            ],
        ),
        ("avi", &["-c:v", "mjpeg"]),
    ];
    let sizes = ["160x120", "320x240", "640x360"];
    (0..FILES)
        .map(|i| {
            let (ext, args) = kinds[i % kinds.len()];
            let path = dir.join(format!("v{i:03}.{ext}"));
            let source = format!("testsrc2=s={}:r=25", sizes[i % sizes.len()]);
            common::make_video(&path, &source, 2.0, args);
            path
        })
        .collect()
}

fn probe(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let files = corpus(dir.path());
    let mut group = c.benchmark_group("probe");
    group.throughput(Throughput::Elements(files.len() as u64));
    group.sample_size(10);
    group.bench_function("engine_in_process", |b| {
        b.iter(|| {
            for f in &files {
                let size = std::fs::metadata(f).unwrap().len();
                engine::probe::probe(f, size).unwrap();
            }
        })
    });
    group.bench_function("ffprobe_subprocess", |b| {
        b.iter(|| {
            for f in &files {
                let out = Command::new("ffprobe")
                    .args([
                        "-v",
                        "error",
                        "-show_format",
                        "-show_streams",
                        "-of",
                        "json",
                    ])
                    .arg(f)
                    .output()
                    .unwrap();
                assert!(out.status.success());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, probe);
criterion_main!(benches);
