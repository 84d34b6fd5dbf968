//! End to end on the demo corpus, in one run: `engine analyze --cpu` (fresh
//! output directory each time, so nothing comes from the catalog) against the
//! script a user would otherwise write: ffprobe each file, then ffmpeg
//! decoding at 1 frame per second (as fastdup ingests video), run with one
//! job per core like the engine.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::Command;

use criterion::{criterion_group, criterion_main, Criterion};

const SCRIPT: &str = r#"find "$@" -type f \( -iname '*.mp4' -o -iname '*.mov' -o -iname '*.mkv' -o -iname '*.webm' -o -iname '*.avi' \) -print0 |
  xargs -0 -P "$(nproc)" -I{} sh -c 'ffprobe -v error -show_format -show_streams -of json "{}" >/dev/null; ffmpeg -nostdin -v error -i "{}" -vf fps=1 -f rawvideo -pix_fmt rgb24 - >/dev/null; true'"#;

fn end_to_end(c: &mut Criterion) {
    let demo = common::demo_corpus(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo"));
    let roots: Vec<String> = ["dataset_3", "dataset2", "DEEPFAKE_DATASETS"]
        .iter()
        .map(|r| demo.join(r).display().to_string())
        .collect();
    let mut group = c.benchmark_group("demo_corpus");
    group.sample_size(10);
    group.bench_function("engine_analyze_cpu", |b| {
        b.iter(|| {
            let out = tempfile::tempdir().unwrap();
            let status = Command::new(env!("CARGO_BIN_EXE_engine"))
                .arg("analyze")
                .args(&roots)
                .args(["--cpu", "--quiet", "--out"])
                .arg(out.path())
                .stdout(std::process::Stdio::null())
                .status()
                .unwrap();
            assert!(status.success());
        })
    });
    group.bench_function("ffprobe_then_ffmpeg_1fps_script", |b| {
        b.iter(|| {
            let status = Command::new("bash")
                .args(["-c", SCRIPT, "script"])
                .args(&roots)
                .status()
                .unwrap();
            assert!(status.success());
        })
    });
    group.finish();
}

criterion_group!(benches, end_to_end);
criterion_main!(benches);
