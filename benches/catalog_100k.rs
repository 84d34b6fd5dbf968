//! Memory and time at DFDC scale (issue 13, item 4): a synthetic catalog of
//! 100 000 videos (override with `ENGINE_SYNTH_VIDEOS`) written as three
//! shards, then `engine merge` over them, run as a child process whose wall
//! time and peak RSS (`getrusage(RUSAGE_CHILDREN)`) are reported.
//!
//! The merge joins the three catalogs, rebuilds every record, and runs the
//! global steps on them: near-duplicate search and fake→original links
//! (dedup), selection, fake catalog, clip and split plans, stage-2 jobs and
//! every report. The synthetic corpus is DFDC-shaped: one dataset, 16% reals
//! (each with 16 frame-pass results: statistics aggregated by the engine's
//! own [`engine::quality::aggregate`], 64-value embeddings) and 84% fakes,
//! each naming its original in the metadata; the default `--fake-sample`
//! (385) fakes get frame-pass results, the rest keyframe-pass evidence
//! (two keyframes, as a 10-s DFDC clip has: the original's embeddings at
//! those times plus noise, so the links are found by content). One real in fifty has a near-copy (its embeddings plus noise).
//! No face results (the face pass is off in this synthetic run): the
//! selection's face axes are not exercised.
//!
//! Prints a JSON line and writes it to `target/criterion/catalog_100k.json`.
//! Run: `cargo bench --bench catalog_100k` (make the shards once: a few
//! minutes; the merge is what is measured).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use engine::analyze::{self, PROBE_STAGE};
use engine::catalog::Catalog;
use engine::labels::{Label, LabelInfo};
use engine::probe::{ProbeError, ProbeInfo};
use engine::record::{FramePass, FrameSummary, KeyframeEvidence, VideoRecord};
use engine::report::DatasetInfo;
use engine::shard::{self, Shard, ShardOptions, ShardOutput};
use engine::stats::FrameStats;

/// Videos in the synthetic catalog by default (the 100k).
const DEFAULT_VIDEOS: usize = 100_000;
/// Share of reals: DFDC's training set is about 84% fakes.
const REAL_SHARE: f64 = 0.16;
/// Shards the catalog is written as.
const SHARDS: usize = 3;
/// Sampled frames per video (the engine's default `--frames`).
const FRAMES: usize = engine::frames::DEFAULT_FRAMES;
/// Values per frame embedding (the frame pass's definition).
const EMBEDDING_DIM: usize = 64;
/// Per-value spread of a video's frames around its centre (as in
/// `benches/dedup_index.rs`).
const FRAME_SPREAD: f32 = 0.15;
/// One real in this many has a near-copy in the catalog.
const NEAR_COPY_EVERY: usize = 50;
/// Noise added to a derived embedding value (fakes, near-copies): small
/// against unit-length 64-value embeddings, so the copies stay near.
const DERIVED_NOISE: f32 = 0.01;

/// The sample whose time is nearest the second keyframe of a 10-s clip
/// (8.33 s): the 14th of 16 at 8.44 s.
const KEYFRAME_SAMPLE: usize = 13;

/// Sample times of a 10-s clip (the engine's `target_times`).
fn frame_times() -> Vec<f64> {
    engine::frames::target_times(10.0, FRAMES)
}

/// A small deterministic generator (SplitMix64): no extra dependency, same
/// catalog on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn unit_vector(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
    v.iter_mut().for_each(|x| *x /= n);
}

/// One video's frame embeddings: a random centre in [-1, 1]^64 and each
/// frame the centre plus uniform noise of ±[`FRAME_SPREAD`], normalised
/// (the frames of one clip are alike; the shape `benches/dedup_index.rs`
/// measured the index on).
fn video_embeddings(rng: &mut Rng) -> Vec<Vec<f32>> {
    let centre: Vec<f32> = (0..EMBEDDING_DIM)
        .map(|_| 2.0 * rng.unit() as f32 - 1.0)
        .collect();
    (0..FRAMES)
        .map(|_| {
            let mut v: Vec<f32> = centre
                .iter()
                .map(|c| c + FRAME_SPREAD * (2.0 * rng.unit() as f32 - 1.0))
                .collect();
            unit_vector(&mut v);
            v
        })
        .collect()
}

fn derived(from: &[Vec<f32>], rng: &mut Rng) -> Vec<Vec<f32>> {
    from.iter()
        .map(|e| {
            let mut v: Vec<f32> = e
                .iter()
                .map(|x| x + DERIVED_NOISE * (rng.unit() as f32 - 0.5))
                .collect();
            unit_vector(&mut v);
            v
        })
        .collect()
}

fn probe_info(rng: &mut Rng) -> ProbeInfo {
    let portrait = rng.unit() < 0.3;
    let (w, h) = if portrait { (1080, 1920) } else { (1920, 1080) };
    ProbeInfo {
        container: "mp4".into(),
        format_name: "mov,mp4,m4a,3gp,3g2,mj2".into(),
        codec: "h264".into(),
        profile: Some("High".into()),
        pix_fmt: Some("yuv420p".into()),
        width: w,
        height: h,
        rotation_deg: 0,
        fps: 30.0,
        duration_s: 10.0,
        bitrate_bps: 2_000_000 + (rng.unit() * 2_000_000.0) as u64,
        frame_count: 300,
        frame_count_estimated: false,
        has_audio: true,
        audio_codec: Some("aac".into()),
        tags: Default::default(),
    }
}

fn frame_summary(embeddings: Vec<Vec<f32>>, rng: &mut Rng) -> FrameSummary {
    let light = 40.0 + rng.unit() * 150.0;
    let blur = 20.0 + rng.unit() * 800.0;
    let stats: Vec<FrameStats> = embeddings
        .iter()
        .map(|e| {
            let motion = rng.unit() * 8.0;
            FrameStats {
                width: 1920,
                height: 1080,
                mean_luma: light + rng.unit() * 5.0,
                std_luma: 20.0 + rng.unit() * 40.0,
                p01: 5.0,
                p99: 240.0,
                clipped_black_frac: rng.unit() * 0.02,
                clipped_white_frac: rng.unit() * 0.02,
                laplacian_var: blur * (0.9 + rng.unit() * 0.2),
                motion: Some(motion),
                motion_gap_s: Some(0.1),
                motion_per_s: Some(motion * 10.0),
                colorfulness: 10.0 + rng.unit() * 50.0,
                blockiness: 1.0 + rng.unit() * 0.3,
                embedding: e.clone(),
                neutral_rgb: None,
                neutral_share: 0.0,
                sky_share: 0.0,
                si_cells: Vec::new(),
                shift_px: None,
                noise_sigma: Some(0.5 + rng.unit()),
            }
        })
        .collect();
    FrameSummary {
        quality: engine::quality::aggregate(&stats).expect("frames"),
        frame_times_s: frame_times(),
        embeddings,
        faces: None,
        scene: None,
        thumbnail_jpeg_b64: None,
    }
}

/// The synthetic records and their planned passes.
fn corpus(n: usize, root: &Path) -> (Vec<VideoRecord>, Vec<FramePass>) {
    let mut rng = Rng(13);
    let reals = ((n as f64) * REAL_SHARE).round() as usize;
    let mut records = Vec::with_capacity(n);
    let mut real_embeddings: Vec<Vec<Vec<f32>>> = Vec::with_capacity(reals);
    let record = |rel: String, labels: LabelInfo, size: u64, original: Option<String>| {
        let fs_path = root.join(&rel);
        VideoRecord {
            dataset: "dfdc".into(),
            path: format!("{}/{rel}", root.display()),
            rel_path: rel,
            key: fs_path.display().to_string(),
            fs_path,
            size_bytes: size,
            mtime_ns: 1_600_000_000_000_000_000,
            is_regular: true,
            labels,
            original_path: original,
            probe: None,
            frames: None,
            keyframes: None,
            cluster_id: None,
            duplicate_of: None,
            session_id: None,
            error: None,
        }
    };
    for i in 0..reals {
        let emb = if i % NEAR_COPY_EVERY == 1 {
            derived(&real_embeddings[i - 1], &mut rng)
        } else {
            video_embeddings(&mut rng)
        };
        let rel = format!("dfdc_train_part_{}/real_{i:06}.mp4", i % 50);
        let labels = LabelInfo {
            label: Label::Real,
            label_source: "metadata.json".into(),
            ..Default::default()
        };
        let mut r = record(rel, labels, 3_000_000 + i as u64, None);
        r.probe = Some(probe_info(&mut rng));
        r.frames = Some(frame_summary(emb.clone(), &mut rng));
        real_embeddings.push(emb);
        records.push(r);
    }
    let fakes = n - reals;
    for j in 0..fakes {
        let o = j % reals;
        let rel = format!("dfdc_train_part_{}/fake_{j:06}.mp4", o % 50);
        let original = records[o].rel_path.rsplit('/').next().unwrap().to_string();
        let labels = LabelInfo {
            label: Label::Fake,
            label_source: "metadata.json".into(),
            original: Some(original),
            ..Default::default()
        };
        let original_path = Some(records[o].path.clone());
        let mut r = record(rel, labels, 2_000_000 + j as u64, original_path);
        r.probe = Some(probe_info(&mut rng));
        // A 10-s DFDC clip has two keyframes (x264's 250-frame GOP at 30
        // fps): the keyframe pass keeps two embeddings, near the original's
        // frames at the same times.
        let pair = [
            real_embeddings[o][0].clone(),
            real_embeddings[o][KEYFRAME_SAMPLE].clone(),
        ];
        r.keyframes = Some(KeyframeEvidence {
            frame_times_s: vec![frame_times()[0], frame_times()[KEYFRAME_SAMPLE]],
            embeddings: derived(&pair, &mut rng),
        });
        records.push(r);
    }
    // The engine's own draw decides which fakes get the frame pass.
    let planned = analyze::plan_passes(&records, Some(engine::policy::DEFAULT_FAKE_SAMPLE), 0);
    for (i, p) in planned.iter().enumerate() {
        if *p == FramePass::Full && records[i].keyframes.is_some() {
            records[i].keyframes = None;
            let emb = derived(&real_embeddings[(i - reals) % reals], &mut rng);
            records[i].frames = Some(frame_summary(emb, &mut rng));
        }
    }
    (records, planned)
}

fn options() -> ShardOptions {
    ShardOptions {
        frames_stage: analyze::frames_stage_name(FRAMES, 0, ""),
        keyframes_stage: analyze::keyframes_stage_name(FRAMES),
        fake_sample: Some(engine::policy::DEFAULT_FAKE_SAMPLE),
        budget: None,
        clips_per_video_max: engine::policy::DEFAULT_CLIPS_PER_VIDEO_MAX,
        seed: 0,
        allow_faceless: true,
        include_official_test: false,
        face_pass_ran: false,
        face_pass: "off (synthetic catalog)".into(),
    }
}

/// Write the three shard directories under `dir` (once: reused when present).
fn write_shards(dir: &Path, n: usize) -> Vec<PathBuf> {
    let dirs: Vec<PathBuf> = (0..SHARDS)
        .map(|i| dir.join(format!("shard_{i}")))
        .collect();
    if dirs.iter().all(|d| d.join(shard::MANIFEST_FILE).is_file()) {
        return dirs;
    }
    let _ = std::fs::remove_dir_all(dir);
    let root = Path::new("/synthetic/dfdc");
    let (records, passes) = corpus(n, root);
    let datasets = vec![DatasetInfo {
        name: "dfdc".into(),
        root: root.display().to_string(),
        metadata_files: vec![],
        used_metadata: vec![],
        layouts: vec!["dfdc".into()],
        other_files: 0,
    }];
    let opts = options();
    for (i, d) in dirs.iter().enumerate() {
        std::fs::create_dir_all(d).unwrap();
        let catalog = Catalog::open(&d.join(analyze::CATALOG_FILE)).unwrap();
        let scope: Vec<usize> = (0..records.len())
            .filter(|&k| shard::shard_of(&records[k].dataset, &records[k].rel_path, SHARDS) == i)
            .collect();
        let put = |stage: &str, json: &dyn Fn(&VideoRecord) -> Option<String>| {
            let w = catalog.writer(stage).unwrap();
            let s = w.sender();
            for &k in &scope {
                let r = &records[k];
                if let Some(j) = json(r) {
                    s.send(&r.key, r.size_bytes, r.mtime_ns, j);
                }
            }
            drop(s);
            w.finish().unwrap();
        };
        put(PROBE_STAGE, &|r| {
            let p: Result<&ProbeInfo, ProbeError> = Ok(r.probe.as_ref().unwrap());
            Some(serde_json::to_string(&p).unwrap())
        });
        put(&opts.frames_stage, &|r| {
            let f: Result<&FrameSummary, String> = Ok(r.frames.as_ref()?);
            Some(serde_json::to_string(&f).unwrap())
        });
        put(&opts.keyframes_stage, &|r| {
            let k: Result<&KeyframeEvidence, String> = Ok(r.keyframes.as_ref()?);
            Some(serde_json::to_string(&k).unwrap())
        });
        shard::write_shard(
            d,
            &catalog,
            &ShardOutput {
                shard: Shard::new(i, SHARDS).unwrap(),
                roots: vec![root.display().to_string()],
                records: &records,
                passes: &passes,
                scope: &scope,
                datasets: &datasets,
                scan_concerns: &[],
                options: opts.clone(),
            },
        )
        .unwrap();
    }
    dirs
}

fn children_max_rss_kib() -> i64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    ru.ru_maxrss
}

fn children_cpu_s() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read.
    let n: usize = std::env::var("ENGINE_SYNTH_VIDEOS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_VIDEOS);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("catalog_{n}"));
    let t = Instant::now();
    let dirs = write_shards(&dir, n);
    let make_s = t.elapsed().as_secs_f64();
    let out = dir.join("merged");
    let _ = std::fs::remove_dir_all(&out);
    let jobs = std::thread::available_parallelism().map_or(1, |c| c.get());
    let t = Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_engine"))
        .arg("merge")
        .args(&dirs)
        .arg("--out")
        .arg(&out)
        .args(["--quiet", "--jobs", &jobs.to_string()])
        .output()
        .unwrap();
    let wall_s = t.elapsed().as_secs_f64();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let line = serde_json::json!({
        "videos": n,
        "shards": SHARDS,
        "machine_cores": jobs,
        "make_shards_s": make_s,
        "merge_wall_s": wall_s,
        "merge_cpu_s": children_cpu_s(),
        "merge_peak_rss_mib": children_max_rss_kib() as f64 / 1024.0,
        "merge_summary": String::from_utf8_lossy(&o.stdout).trim(),
    });
    println!("{line}");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/criterion");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("catalog_100k.json"), line.to_string()).unwrap();
}
