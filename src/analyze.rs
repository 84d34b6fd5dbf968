//! `engine analyze`: the stages in order, with every per-file result stored
//! in the catalog as it is made.
//!
//! [`run`]: choose the compute path (`--gpu` without a GPU fails first) →
//! load the face pass (missing models disable it with a warning) → scan and
//! label every root → plan each file's pass ([`plan_passes`]: every real
//! and unlabelled video gets the frame pass, fakes beyond the
//! `--fake-sample` draw per dataset × method the keyframe pass) → probe
//! (catalog stage `probe@2`) → sample and measure frames and faces (catalog
//! stage `frames@…`) or keyframes (`keyframes@…`) → [`conclude`]: dedup,
//! selection, fake catalog, recommendations and the documents → write
//! `inventory.jsonl`, `dedup_report.json`, `real_sources.jsonl`,
//! `diversity_balance.json`, `clip_plan.jsonl`, `fake_jobs.jsonl`,
//! `report.json` and
//! `report.html`, each
//! atomically. [`conclude`] is pure: the same records give the same bytes,
//! so a resumed run writes what an uninterrupted one would.
//!
//! With `--shard I/N` the probe and frame stages run on the shard's files
//! only and the run ends by writing the shard ([`crate::shard`]); `engine
//! merge` rebuilds the records from the shards' catalogs
//! ([`load_results`]) and calls [`conclude`].

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::catalog::{Catalog, ResultSender};
use crate::cli::{AnalyzeConfig, UsageError};
use crate::dedup;
use crate::faces::{FacePass, FaceSummary, RgbImage};
use crate::frames::{self, SampledFrame};
use crate::html;
use crate::labels::Label;
use crate::labels::{self, DatasetFiles};
use crate::paths::display_join;
use crate::plan;
use crate::probe::{self, ProbeError, ProbeInfo};
use crate::quality;
use crate::record::FrameSummary;
use crate::record::{Concern, ConcernKind, VideoRecord};
use crate::record::{FramePass, KeyframeEvidence};
use crate::report::{self, DatasetInfo};
use crate::sample::{self, SampleOptions};
use crate::scan;
use crate::shard::{self, Shard, ShardOptions, ShardOutput};
use crate::stats::{self, BackendChoice, CpuBackend, FrameInput, StatsBackend};

/// Catalog stage name of the probe; bump the version when its definition
/// changes (2: device tags kept for the capture classification).
pub const PROBE_STAGE: &str = "probe@2";

/// Catalog stage version of the frame pass; bump when a statistic's definition
/// or the sampling changes. The stage name also carries K (`--frames`).
/// 4: frames are turned upright by the display rotation before every
/// statistic; head pose from eyes and nose; face-pass numbers rounded;
/// low-texture frames get embeddings shorter than one (dedup ignores them).
/// 5: B-frames skipped, samples taken from I/P frames with GOP-planned
/// seeks, each paired with the next decoded frame and the gap recorded;
/// motion per second.
/// 6: scene statistics (light colour, background, camera motion, setting)
/// and the face area; per-video temporal-consistency and artifact measures
/// in the face summary (the next frame is searched for faces, for landmark
/// jitter).
/// 7: the noise level of the flat areas (a capture cue).
pub const FRAMES_STAGE_VERSION: u32 = 7;

/// Catalog stage version of the keyframe pass.
pub const KEYFRAMES_STAGE_VERSION: u32 = 1;

/// Frames handed to a GPU backend per call: enough to keep a GPU busy, small
/// enough that a batch of 1080p frames stays near 256 MB.
const GPU_BATCH_FRAMES: usize = 64;

/// File name of the catalog inside the output directory.
pub const CATALOG_FILE: &str = "catalog.sqlite";

/// What a run did, for the closing summary line.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Dataset roots analysed.
    pub datasets: usize,
    /// Video files found.
    pub videos: usize,
    /// Of those, readable.
    pub readable: usize,
    /// Probed in this run (the rest came from the catalog).
    pub probed_now: usize,
    /// Videos whose frames were analysed in this run (frame pass).
    pub frames_now: usize,
    /// Videos given the keyframe pass in this run.
    pub keyframes_now: usize,
    /// Videos planned for the keyframe pass (fakes outside the sample).
    pub keyframe_pass_videos: usize,
    /// The shard this run analysed, if it was one.
    pub shard: Option<Shard>,
    /// Which compute path the frame statistics took, and why.
    pub frame_backend: String,
    /// How the face pass ran, or why it did not.
    pub face_pass: String,
    /// Concerns reported.
    pub concerns: usize,
    /// Real videos selected.
    pub selected: usize,
    /// Clips planned from them.
    pub clips: usize,
    /// Wall time.
    pub elapsed: Duration,
}

/// Run the analysis described by `cfg`.
pub fn run(cfg: &AnalyzeConfig) -> Result<Summary> {
    let started = Instant::now();
    // Choose the compute path first: `--gpu` without a GPU fails before any work.
    let (backend, frame_backend) = match stats::select_backend(cfg.backend) {
        Ok(b) => b,
        Err(e) if cfg.backend == BackendChoice::Gpu => {
            return Err(UsageError::NoGpu(e.to_string()).into())
        }
        Err(e) => return Err(e.into()),
    };
    if !cfg.quiet {
        eprintln!("engine: {frame_backend}");
    }
    std::fs::create_dir_all(&cfg.out_dir)
        .with_context(|| format!("cannot create output directory {}", cfg.out_dir.display()))?;
    let catalog = Catalog::open(&cfg.out_dir.join(CATALOG_FILE))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.jobs)
        .build()
        .context("cannot start worker threads")?;

    let (face_pass, face_pass_line) = load_face_pass(cfg);
    if !cfg.quiet || face_pass.is_none() && cfg.face_frames > 0 {
        eprintln!("engine: {face_pass_line}");
    }

    let (datasets, mut records, mut concerns) = scan_and_label(cfg);
    let passes = plan_passes(&records, cfg.fake_sample, cfg.seed);
    let scope: Vec<usize> = match cfg.shard {
        Some(s) => (0..records.len())
            .filter(|&i| s.holds(&records[i].dataset, &records[i].rel_path))
            .collect(),
        None => (0..records.len()).collect(),
    };
    let probed_now = probe_stage(cfg, &catalog, &pool, &mut records, &scope)?;
    let (frames_now, keyframes_now) = frames_stage(
        cfg,
        &catalog,
        &pool,
        backend,
        face_pass.as_ref(),
        &mut records,
        &scope,
        &passes,
    )?;
    let keyframe_pass_videos = passes
        .iter()
        .filter(|p| **p == FramePass::Keyframes)
        .count();
    if let Some(s) = cfg.shard {
        let face_frames = if face_pass.is_some() {
            cfg.face_frames
        } else {
            0
        };
        let optional_tag = face_pass
            .as_ref()
            .map(FacePass::optional_models_tag)
            .unwrap_or_default();
        shard::write_shard(
            &cfg.out_dir,
            &catalog,
            &ShardOutput {
                shard: s,
                roots: cfg.roots.iter().map(|r| r.display.clone()).collect(),
                records: &records,
                passes: &passes,
                scope: &scope,
                datasets: &datasets,
                scan_concerns: &concerns,
                options: ShardOptions {
                    frames_stage: frames_stage_name(cfg.frames, face_frames, &optional_tag),
                    keyframes_stage: keyframes_stage_name(cfg.frames),
                    fake_sample: cfg.fake_sample,
                    budget: cfg.budget,
                    clips_per_video_max: cfg.clips_per_video_max,
                    seed: cfg.seed,
                    allow_faceless: cfg.allow_faceless,
                    include_official_test: cfg.include_official_test,
                    face_pass_ran: face_pass.is_some(),
                    face_pass: face_pass_line.clone(),
                },
            },
        )?;
        let readable = scope.iter().filter(|&&i| records[i].is_readable()).count();
        return Ok(Summary {
            datasets: datasets.len(),
            videos: scope.len(),
            readable,
            probed_now,
            frames_now,
            keyframes_now,
            keyframe_pass_videos: scope
                .iter()
                .filter(|&&i| passes[i] == FramePass::Keyframes)
                .count(),
            shard: Some(s),
            frame_backend,
            face_pass: face_pass_line,
            concerns: concerns.len() + (scope.len() - readable),
            selected: 0,
            clips: 0,
            elapsed: started.elapsed(),
        });
    }
    add_record_concerns(&records, &mut concerns);
    let outputs = conclude(
        &datasets,
        &mut records,
        &concerns,
        &SampleOptions {
            budget: cfg.budget,
            clips_per_video_max: cfg.clips_per_video_max,
            seed: cfg.seed,
            include_official_test: cfg.include_official_test,
            allow_faceless: cfg.allow_faceless,
        },
        &face_pass_line,
        face_pass.is_some(),
    )?;
    report::write_outputs(&cfg.out_dir, &records, &outputs)?;
    let selection = &outputs.selection;
    Ok(Summary {
        datasets: datasets.len(),
        videos: records.len(),
        readable: records.iter().filter(|r| r.is_readable()).count(),
        probed_now,
        frames_now,
        keyframes_now,
        keyframe_pass_videos,
        shard: None,
        frame_backend,
        face_pass: face_pass_line,
        concerns: concerns.len(),
        selected: selection.picks.len(),
        clips: selection.expected_clips,
        elapsed: started.elapsed(),
    })
}

/// One concern per unreadable record and per record whose face pass failed
/// on some of its sampled frames (after the probe and frame stages).
pub fn add_record_concerns(records: &[VideoRecord], concerns: &mut Vec<Concern>) {
    for r in records {
        if let Some(err) = &r.error {
            concerns.push(Concern {
                dataset: r.dataset.clone(),
                path: r.path.clone(),
                kind: ConcernKind::UnreadableVideo,
                reason: err.clone(),
            });
        }
        if let Some(f) = r.frames.as_ref().and_then(|f| f.faces.as_ref()) {
            if f.face_errors > 0 {
                concerns.push(Concern {
                    dataset: r.dataset.clone(),
                    path: r.path.clone(),
                    kind: ConcernKind::FaceDetectionFailed,
                    reason: format!(
                        "the face pass failed on {} of {} sampled frames: {}",
                        f.face_errors,
                        f.frames_sampled + f.face_errors,
                        f.first_face_error.as_deref().unwrap_or("no message")
                    ),
                });
            }
        }
    }
}

/// The pass each record gets: the frame pass, except for the fakes (label
/// fake, not masks) beyond the first `fake_sample` of their dataset ×
/// method (`unspecified` when the metadata names none) in the order of
/// [`sample_rank`], which get the keyframe pass. `None`: every fake gets the
/// frame pass. Decided from the scan and labels alone, so every shard of a
/// sharded run plans the same.
pub fn plan_passes(
    records: &[VideoRecord],
    fake_sample: Option<usize>,
    seed: u64,
) -> Vec<FramePass> {
    let mut passes = vec![FramePass::Full; records.len()];
    let Some(n) = fake_sample else {
        return passes;
    };
    // (dataset, method) → (rank, path, record index) of its fakes.
    type Strata<'r> = std::collections::BTreeMap<(&'r str, &'r str), Vec<(u64, &'r str, usize)>>;
    let mut strata: Strata<'_> = Strata::new();
    for (i, r) in records.iter().enumerate() {
        if r.labels.label == Label::Fake && !r.is_mask() {
            let method = r.labels.method.as_deref().unwrap_or("unspecified");
            strata.entry((&r.dataset, method)).or_default().push((
                sample_rank(seed, &r.dataset, &r.rel_path),
                &r.path,
                i,
            ));
        }
    }
    for members in strata.values_mut() {
        members.sort_unstable();
        for &(_, _, i) in members.iter().skip(n) {
            passes[i] = FramePass::Keyframes;
        }
    }
    passes
}

/// A fake's place in its stratum's draw: the first 8 bytes of BLAKE3 over
/// the seed (little-endian), the dataset, a NUL byte and the relative path.
/// The lowest ranks are the sample: a uniform random draw without
/// replacement for each seed, the same on every machine.
pub fn sample_rank(seed: u64, dataset: &str, rel_path: &str) -> u64 {
    let mut h = blake3::Hasher::new();
    h.update(&seed.to_le_bytes());
    h.update(dataset.as_bytes());
    h.update(&[0]);
    h.update(rel_path.as_bytes());
    u64::from_le_bytes(h.finalize().as_bytes()[..8].try_into().expect("8 bytes"))
}

/// From the analysed records to every output: near-duplicate clusters (each
/// record gains its `cluster_id` and `duplicate_of`) and same-session groups
/// (`session_id`), the selection, the fake
/// catalog and recommendations, and the documents and human report built
/// from them. Pure: the same records give the same bytes.
pub fn conclude(
    datasets: &[DatasetInfo],
    records: &mut [VideoRecord],
    concerns: &[Concern],
    opts: &SampleOptions,
    face_pass_line: &str,
    face_pass_ran: bool,
) -> Result<report::Outputs> {
    let dedup = dedup::find(records);
    for (&i, &(id, kept)) in &dedup.membership {
        records[i].cluster_id = Some(id);
        if !kept {
            records[i].duplicate_of = Some(dedup.clusters[id].kept.clone());
        }
    }
    for (&i, &id) in &dedup.session_of {
        records[i].session_id = Some(id);
    }
    let selection = sample::select(records, opts, face_pass_ran);
    let split_plan = plan::split_plan(&selection.picks, &selection.balance.primary_axes);
    let clip_plan = plan::clip_plan(&selection.picks, &split_plan);
    let stage2 = crate::stage2::plan(records, &selection.picks, &clip_plan, opts.seed);
    let report_doc = report::build_report(
        datasets,
        records,
        concerns,
        report::ReportParts {
            face_pass: face_pass_line.to_string(),
            diversity_gaps: selection.gaps.clone(),
            fake_catalog: plan::fake_catalog(records, &dedup),
            pipeline_recommendations: plan::recommendations(
                &selection,
                &dedup,
                &split_plan,
                stage2.doc,
            ),
        },
    );
    let dedup_doc = dedup::report(records, &dedup);
    let html = html::render(&html::Inputs {
        report: &report_doc,
        balance: &selection.balance,
        dedup: &dedup_doc,
        records,
        picks: &selection.picks,
    });
    Ok(report::Outputs {
        report: report_doc,
        dedup: dedup_doc,
        selection,
        clip_plan,
        fake_jobs: stage2.jobs,
        html,
    })
}

/// Load the face pass unless it is switched off. A missing or corrupt model
/// or runtime library is not fatal: the run goes on without face axes and the
/// line says why and what to run.
fn load_face_pass(cfg: &AnalyzeConfig) -> (Option<FacePass>, String) {
    if cfg.face_frames == 0 {
        return (
            None,
            "face pass off (--no-faces): face axes are gaps".into(),
        );
    }
    match FacePass::load(&cfg.models_dir, cfg.backend == BackendChoice::Gpu) {
        Ok(pass) => {
            let line = format!(
                "{} on {} frames per video",
                pass.describe(),
                cfg.face_frames
            );
            (Some(pass), line)
        }
        Err(e) => (
            None,
            format!("warning: face pass disabled, face axes are gaps: {e}"),
        ),
    }
}

fn scan_and_label(cfg: &AnalyzeConfig) -> (Vec<DatasetInfo>, Vec<VideoRecord>, Vec<Concern>) {
    let spinner = progress(cfg.quiet, None, "scanning");
    let mut datasets = Vec::new();
    let mut records = Vec::new();
    let mut concerns = Vec::new();
    for root in &cfg.roots {
        spinner.set_message(format!("scanning {}", root.display));
        let found = scan::scan_root(&root.fs_path, &root.dataset, &root.display, || {
            spinner.inc(1)
        });
        concerns.extend(found.concerns.iter().cloned());
        let rels: Vec<String> = found.videos.iter().map(|v| v.rel_path.clone()).collect();
        let outcome = labels::assign_labels(DatasetFiles {
            root: &root.fs_path,
            videos: &rels,
            metadata: &found.metadata,
        });
        for c in &outcome.concerns {
            concerns.push(Concern {
                dataset: root.dataset.clone(),
                path: display_join(&root.display, &c.rel_path),
                kind: ConcernKind::MalformedMetadata,
                reason: c.reason.clone(),
            });
        }
        for v in found.videos {
            let labels = outcome.labels.get(&v.rel_path).cloned().unwrap_or_default();
            let original_path = labels
                .original
                .as_deref()
                .map(|o| display_join(&root.display, o));
            records.push(VideoRecord {
                dataset: root.dataset.clone(),
                path: display_join(&root.display, &v.rel_path),
                key: root
                    .canonical
                    .join(&v.rel_path)
                    .to_string_lossy()
                    .into_owned(),
                rel_path: v.rel_path,
                fs_path: v.fs_path,
                size_bytes: v.size_bytes,
                mtime_ns: v.mtime_ns,
                is_regular: v.is_regular,
                labels,
                original_path,
                probe: None,
                frames: None,
                keyframes: None,
                cluster_id: None,
                duplicate_of: None,
                session_id: None,
                error: None,
            });
        }
        let shown = |rels: &[String]| -> Vec<String> {
            rels.iter()
                .map(|m| display_join(&root.display, m))
                .collect()
        };
        datasets.push(DatasetInfo {
            name: root.dataset.clone(),
            root: root.display.clone(),
            metadata_files: shown(&found.metadata),
            used_metadata: shown(&outcome.used_metadata),
            layouts: outcome.layouts,
            other_files: found.other_files,
        });
    }
    spinner.finish_and_clear();
    (datasets, records, concerns)
}

/// Probe every record of `scope` whose catalog entry is missing or stale;
/// fill `probe` or `error` on all of them. Returns how many files were
/// probed now.
fn probe_stage(
    cfg: &AnalyzeConfig,
    catalog: &Catalog,
    pool: &rayon::ThreadPool,
    records: &mut [VideoRecord],
    scope: &[usize],
) -> Result<usize> {
    let cached =
        load_cached::<Result<ProbeInfo, ProbeError>>(catalog, PROBE_STAGE, records, scope)?;
    let mut todo: Vec<usize> = Vec::new();
    for (&i, result) in scope.iter().zip(cached) {
        match result {
            Some(result) => apply_probe(&mut records[i], result),
            None => todo.push(i),
        }
    }
    let n = todo.len();
    if n == 0 {
        return Ok(0);
    }
    let bar = progress(cfg.quiet, Some(n as u64), "probing");
    let writer = catalog.writer(PROBE_STAGE)?;
    let sender = writer.sender();
    let results: Vec<(usize, Result<ProbeInfo, ProbeError>)> = {
        let recs: &[VideoRecord] = records;
        pool.install(|| {
            todo.into_par_iter()
                .map_with(sender, |sender, i| {
                    let r = &recs[i];
                    let result = if r.is_regular {
                        probe::probe(&r.fs_path, r.size_bytes)
                    } else {
                        Err(ProbeError::NotRegular)
                    };
                    let json = serde_json::to_string(&result).expect("probe results serialise");
                    sender.send(&r.key, r.size_bytes, r.mtime_ns, json);
                    bar.inc(1);
                    (i, result)
                })
                .collect()
        })
    };
    bar.finish_and_clear();
    writer.finish()?;
    for (i, result) in results {
        apply_probe(&mut records[i], result);
    }
    Ok(n)
}

/// Catalog stage name of the frame pass for `k` frames per video,
/// `face_frames` of them through the face pass, with the optional face
/// models of `optional_tag` ([`FacePass::optional_models_tag`]).
pub fn frames_stage_name(k: usize, face_frames: usize, optional_tag: &str) -> String {
    format!("frames@{FRAMES_STAGE_VERSION}:k{k}:faces{face_frames}{optional_tag}")
}

/// Catalog stage name of the keyframe pass (at most `k` keyframes a video).
pub fn keyframes_stage_name(k: usize) -> String {
    format!("keyframes@{KEYFRAMES_STAGE_VERSION}:k{k}")
}

type FramesResult = Result<FrameSummary, String>;
type KeyframesResult = Result<KeyframeEvidence, String>;

/// A video's decoded frames (face images already measured and dropped) and
/// its face summary.
type Decoded = (Vec<SampledFrame>, Option<FaceSummary>);

/// Detect, measure and estimate faces on the frames that carry a face image
/// (then drop those images): [`FacePass::summarise_video_with`]. None if the
/// face pass is off. A frame the detector fails on is left out of the
/// summary and counted in its `face_errors` (first message in
/// `first_face_error`). The face images are at native resolution (so the
/// face/frame blockiness ratio is measured) when each is the decoded
/// picture itself: the video's own size (at most
/// [`frames::FACE_MAX_HEIGHT`] rows) and no display rotation
/// (`rotation_deg`), which would move the 8×8 block grid.
fn face_summary(
    pass: Option<&FacePass>,
    frames: &mut [SampledFrame],
    rotation_deg: i32,
) -> Option<FaceSummary> {
    let pass = pass?;
    let native = rotation_deg.rem_euclid(360) == 0
        && frames.iter().all(|f| {
            f.face
                .as_ref()
                .is_none_or(|face| face.width == f.width && face.height == f.height)
        });
    let face_frames: Vec<frames::FaceFrame> =
        frames.iter_mut().filter_map(|f| f.face.take()).collect();
    let images: Vec<(RgbImage<'_>, Option<RgbImage<'_>>)> = face_frames
        .iter()
        .map(|face| {
            let image = RgbImage {
                width: face.width,
                height: face.height,
                rgb: &face.rgb,
            };
            let next = face.next_rgb.as_deref().map(|rgb| RgbImage {
                width: face.width,
                height: face.height,
                rgb,
            });
            (image, next)
        })
        .collect();
    Some(pass.summarise_video_with(&images, native))
}

/// Decodes (and runs the face pass on) one video.
type Sampler<'a> = Box<dyn Fn(&VideoRecord) -> Result<Decoded, String> + Sync + 'a>;

/// One pass over videos' frames: where its results are kept, how a video
/// is decoded, and what is kept of the measured frames.
struct PassSpec<'a, T> {
    /// Catalog stage.
    stage: String,
    /// Progress bar label.
    label: &'static str,
    /// Decode (and run the face pass on) one video.
    sample: Sampler<'a>,
    /// The stored result from the frames, their statistics and faces.
    summarise: fn(&[SampledFrame], &[stats::FrameStats], Option<FaceSummary>) -> T,
}

/// Sample, measure and keep the frames of every readable record of `scope`
/// whose catalog entry is missing or stale: the frame pass for records
/// planned [`FramePass::Full`], the keyframe pass for the others. Returns
/// how many videos each pass analysed now.
#[allow(clippy::too_many_arguments)]
fn frames_stage(
    cfg: &AnalyzeConfig,
    catalog: &Catalog,
    pool: &rayon::ThreadPool,
    mut backend: Box<dyn StatsBackend>,
    face_pass: Option<&FacePass>,
    records: &mut [VideoRecord],
    scope: &[usize],
    passes: &[FramePass],
) -> Result<(usize, usize)> {
    let face_frames = if face_pass.is_some() {
        cfg.face_frames
    } else {
        0
    };
    let optional_tag = face_pass
        .map(FacePass::optional_models_tag)
        .unwrap_or_default();
    let k = cfg.frames;
    let of_pass = |p: FramePass| -> Vec<usize> {
        scope
            .iter()
            .copied()
            .filter(|&i| passes[i] == p && records[i].is_readable())
            .collect()
    };
    let (full, light) = (of_pass(FramePass::Full), of_pass(FramePass::Keyframes));
    let full_stage = frames_stage_name(k, face_frames, &optional_tag);
    let light_stage = keyframes_stage_name(k);
    let mut full_todo = Vec::new();
    for (&i, cached) in full.iter().zip(load_cached::<FramesResult>(
        catalog,
        &full_stage,
        records,
        &full,
    )?) {
        match cached {
            Some(result) => apply_frames(&mut records[i], result),
            None => full_todo.push(i),
        }
    }
    let mut light_todo = Vec::new();
    for (&i, cached) in light.iter().zip(load_cached::<KeyframesResult>(
        catalog,
        &light_stage,
        records,
        &light,
    )?) {
        match cached {
            Some(result) => apply_keyframes(&mut records[i], result),
            None => light_todo.push(i),
        }
    }
    let full_results = run_pass(
        cfg,
        catalog,
        pool,
        backend.as_mut(),
        records,
        &full_todo,
        &PassSpec {
            stage: full_stage,
            label: "frames",
            sample: Box::new(|r: &VideoRecord| {
                let info = r.probe.as_ref().expect("readable records are probed");
                let mut frames = frames::sample_frames(&r.fs_path, info, k, face_frames)
                    .map_err(|e| e.to_string())?;
                let faces = face_summary(face_pass, &mut frames, info.rotation_deg);
                Ok((frames, faces))
            }),
            summarise,
        },
    )?;
    let light_results = run_pass(
        cfg,
        catalog,
        pool,
        backend.as_mut(),
        records,
        &light_todo,
        &PassSpec {
            stage: light_stage,
            label: "keyframes",
            sample: Box::new(|r: &VideoRecord| {
                let info = r.probe.as_ref().expect("readable records are probed");
                let s = frames::sample_keyframes(&r.fs_path, info, k).map_err(|e| e.to_string())?;
                Ok((s.frames, None))
            }),
            summarise: evidence,
        },
    )?;
    let counts = (full_results.len(), light_results.len());
    for (i, result) in full_results {
        apply_frames(&mut records[i], result);
    }
    for (i, result) in light_results {
        apply_keyframes(&mut records[i], result);
    }
    Ok(counts)
}

/// Run one pass over `todo`, storing each result in the catalog as it is
/// made. Decoding runs on the worker pool; the CPU backend measures inside
/// each worker, a GPU backend on one feeding thread that batches frames from
/// many videos. Decoded frames live only while their video is in flight (a
/// worker's current video, a bounded queue and one GPU batch).
fn run_pass<T: serde::Serialize + Send>(
    cfg: &AnalyzeConfig,
    catalog: &Catalog,
    pool: &rayon::ThreadPool,
    backend: &mut dyn StatsBackend,
    records: &[VideoRecord],
    todo: &[usize],
    spec: &PassSpec<'_, T>,
) -> Result<Vec<(usize, Result<T, String>)>> {
    if todo.is_empty() {
        return Ok(Vec::new());
    }
    let bar = progress(cfg.quiet, Some(todo.len() as u64), spec.label);
    let writer = catalog.writer(&spec.stage)?;
    let sender = writer.sender();
    let sample = |i: usize| (spec.sample)(&records[i]);
    let finish = |sender: &ResultSender, i: usize, result: Result<T, String>| {
        let r = &records[i];
        let json = serde_json::to_string(&result).expect("frame results serialise");
        sender.send(&r.key, r.size_bytes, r.mtime_ns, json);
        bar.inc(1);
        (i, result)
    };
    let results: Vec<(usize, Result<T, String>)> = if backend.on_cpu() {
        pool.install(|| {
            todo.par_iter()
                .map_with(sender, |sender, &i| {
                    let result = sample(i).and_then(|(frames, faces)| {
                        let stats = CpuBackend::new()
                            .compute(&inputs(&frames))
                            .map_err(|e| e.to_string())?;
                        Ok((spec.summarise)(&frames, &stats, faces))
                    });
                    finish(sender, i, result)
                })
                .collect()
        })
    } else {
        // Owned here so it is dropped (and the writer can finish) with this block.
        let sender = sender;
        let (tx, rx) =
            std::sync::mpsc::sync_channel::<(usize, Result<Decoded, String>)>(cfg.jobs * 2);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                pool.install(|| {
                    todo.par_iter().for_each_with(tx, |tx, &i| {
                        let _ = tx.send((i, sample(i)));
                    })
                })
            });
            let mut out = Vec::with_capacity(todo.len());
            let mut batch: Vec<(usize, Decoded)> = Vec::new();
            let mut open = true;
            while open {
                // Block for one video, then take whatever else is ready.
                match rx.recv() {
                    Ok(item) => queue(item, &mut batch, &mut out, &sender, &finish),
                    Err(_) => open = false,
                }
                while open
                    && batch.iter().map(|(_, (f, _))| f.len()).sum::<usize>() < GPU_BATCH_FRAMES
                {
                    match rx.try_recv() {
                        Ok(item) => queue(item, &mut batch, &mut out, &sender, &finish),
                        Err(std::sync::mpsc::TryRecvError::Empty) => break,
                        Err(std::sync::mpsc::TryRecvError::Disconnected) => open = false,
                    }
                }
                if !batch.is_empty() {
                    for (i, result) in
                        measure_batch(backend, std::mem::take(&mut batch), spec.summarise)
                    {
                        out.push(finish(&sender, i, result));
                    }
                }
            }
            out
        })
    };
    bar.finish_and_clear();
    writer.finish()?;
    Ok(results)
}

/// Put a decoded video in the batch, or finish it at once if decoding failed.
fn queue<T>(
    (i, decoded): (usize, Result<Decoded, String>),
    batch: &mut Vec<(usize, Decoded)>,
    out: &mut Vec<(usize, Result<T, String>)>,
    sender: &ResultSender,
    finish: &impl Fn(&ResultSender, usize, Result<T, String>) -> (usize, Result<T, String>),
) {
    match decoded {
        Ok(frames) => batch.push((i, frames)),
        Err(e) => out.push(finish(sender, i, Err(e))),
    }
}

/// Measure several videos' frames in one backend call.
fn measure_batch<T>(
    backend: &mut dyn StatsBackend,
    batch: Vec<(usize, Decoded)>,
    summarise: fn(&[SampledFrame], &[stats::FrameStats], Option<FaceSummary>) -> T,
) -> Vec<(usize, Result<T, String>)> {
    let all: Vec<FrameInput<'_>> = batch.iter().flat_map(|(_, (f, _))| inputs(f)).collect();
    match backend.compute(&all) {
        Ok(stats) => {
            let mut at = 0;
            batch
                .into_iter()
                .map(|(i, (frames, faces))| {
                    let s = &stats[at..at + frames.len()];
                    at += frames.len();
                    (i, Ok(summarise(&frames, s, faces)))
                })
                .collect()
        }
        Err(e) => batch
            .iter()
            .map(|(i, _)| (*i, Err(format!("frame statistics failed: {e}"))))
            .collect(),
    }
}

fn inputs(frames: &[SampledFrame]) -> Vec<FrameInput<'_>> {
    frames.iter().map(SampledFrame::stats_input).collect()
}

/// Times rounded to the millisecond, as the outputs show them.
fn frame_times(frames: &[SampledFrame]) -> Vec<f64> {
    frames.iter().map(|f| (f.t_s * 1e3).round() / 1e3).collect()
}

fn summarise(
    frames: &[SampledFrame],
    stats: &[stats::FrameStats],
    faces: Option<FaceSummary>,
) -> FrameSummary {
    let scene_frames: Vec<crate::scene::SceneFrame<'_>> = frames
        .iter()
        .zip(stats)
        .map(|(f, s)| crate::scene::SceneFrame {
            stats: s,
            next_gap_s: f.next_gap_s,
        })
        .collect();
    let face_area = faces.as_ref().and_then(|f| f.face_area);
    FrameSummary {
        scene: Some(crate::scene::summarise(&scene_frames, face_area)),
        faces,
        quality: quality::aggregate(stats).expect("at least one frame"),
        frame_times_s: frame_times(frames),
        embeddings: stats.iter().map(|s| s.embedding.clone()).collect(),
        thumbnail_jpeg_b64: frames::thumbnail_jpeg_base64(frames),
    }
}

/// The keyframe pass keeps the embeddings only.
fn evidence(
    frames: &[SampledFrame],
    stats: &[stats::FrameStats],
    _faces: Option<FaceSummary>,
) -> KeyframeEvidence {
    KeyframeEvidence {
        frame_times_s: frame_times(frames),
        embeddings: stats.iter().map(|s| s.embedding.clone()).collect(),
    }
}

fn apply_frames(r: &mut VideoRecord, result: FramesResult) {
    match result {
        Ok(summary) => r.frames = Some(summary),
        Err(e) => {
            r.frames = None;
            r.error = Some(format!("undecodable: {e}"));
        }
    }
}

fn apply_keyframes(r: &mut VideoRecord, result: KeyframesResult) {
    match result {
        Ok(evidence) => r.keyframes = Some(evidence),
        Err(e) => {
            r.keyframes = None;
            r.error = Some(format!("undecodable: {e}"));
        }
    }
}

/// The catalog's results of `stage` for `records[scope[..]]`, in `scope`'s
/// order: each is Some when it was computed for the file as it is now (same
/// size and mtime) and still parses; None means: compute it again. Rows are
/// read one at a time.
fn load_cached<T: serde::de::DeserializeOwned>(
    catalog: &Catalog,
    stage: &str,
    records: &[VideoRecord],
    scope: &[usize],
) -> Result<Vec<Option<T>>> {
    let at: std::collections::HashMap<&str, usize> = scope
        .iter()
        .enumerate()
        .map(|(p, &i)| (records[i].key.as_str(), p))
        .collect();
    let mut out: Vec<Option<T>> = (0..scope.len()).map(|_| None).collect();
    catalog.for_each_in_stage(stage, |key, stored| {
        if let Some(&p) = at.get(key) {
            let r = &records[scope[p]];
            if stored.size_bytes == r.size_bytes && stored.mtime_ns == r.mtime_ns {
                out[p] = serde_json::from_str(&stored.json).ok();
            }
        }
    })?;
    Ok(out)
}

/// A result [`load_results`] did not find.
#[derive(Debug, Clone)]
pub struct MissingResult {
    /// The catalog stage.
    pub stage: String,
    /// The file's displayed path.
    pub path: String,
    /// Its dataset.
    pub dataset: String,
    /// Its path relative to the root.
    pub rel_path: String,
}

/// Fill `records` from a catalog that holds every result (`engine merge`):
/// the probe, then the frame pass (`frames_stage`) or keyframe pass
/// (`keyframes_stage`) as `passes` plans, applied as [`run`] applies them.
/// The first result missing (or made for another size or mtime) is the
/// error.
pub fn load_results(
    catalog: &Catalog,
    records: &mut [VideoRecord],
    passes: &[FramePass],
    frames_stage: &str,
    keyframes_stage: &str,
) -> Result<(), MissingResult> {
    let missing = |stage: &str, r: &VideoRecord| MissingResult {
        stage: stage.to_string(),
        path: r.path.clone(),
        dataset: r.dataset.clone(),
        rel_path: r.rel_path.clone(),
    };
    let io = |stage: &str, e: anyhow::Error| MissingResult {
        stage: stage.to_string(),
        path: format!("the catalog ({e:#})"),
        dataset: String::new(),
        rel_path: String::new(),
    };
    let all: Vec<usize> = (0..records.len()).collect();
    let probes = load_cached::<Result<ProbeInfo, ProbeError>>(catalog, PROBE_STAGE, records, &all)
        .map_err(|e| io(PROBE_STAGE, e))?;
    for (i, p) in probes.into_iter().enumerate() {
        match p {
            Some(p) => apply_probe(&mut records[i], p),
            None => return Err(missing(PROBE_STAGE, &records[i])),
        }
    }
    let of_pass = |p: FramePass, records: &[VideoRecord]| -> Vec<usize> {
        (0..records.len())
            .filter(|&i| passes[i] == p && records[i].is_readable())
            .collect()
    };
    let full = of_pass(FramePass::Full, records);
    let cached = load_cached::<FramesResult>(catalog, frames_stage, records, &full)
        .map_err(|e| io(frames_stage, e))?;
    for (&i, c) in full.iter().zip(cached) {
        match c {
            Some(c) => apply_frames(&mut records[i], c),
            None => return Err(missing(frames_stage, &records[i])),
        }
    }
    let light = of_pass(FramePass::Keyframes, records);
    let cached = load_cached::<KeyframesResult>(catalog, keyframes_stage, records, &light)
        .map_err(|e| io(keyframes_stage, e))?;
    for (&i, c) in light.iter().zip(cached) {
        match c {
            Some(c) => apply_keyframes(&mut records[i], c),
            None => return Err(missing(keyframes_stage, &records[i])),
        }
    }
    Ok(())
}

fn apply_probe(r: &mut VideoRecord, result: Result<ProbeInfo, ProbeError>) {
    match result {
        Ok(info) => {
            r.probe = Some(info);
            r.error = None;
        }
        Err(e) => {
            r.probe = None;
            r.error = Some(e.to_string());
        }
    }
}

/// A progress bar (with a length) or spinner on stderr; hidden when `quiet`
/// or when stderr is not a terminal.
pub fn progress(quiet: bool, len: Option<u64>, what: &str) -> ProgressBar {
    let target = if quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = match len {
        Some(n) => ProgressBar::with_draw_target(Some(n), target).with_style(
            ProgressStyle::with_template(
                "{msg:>10} [{bar:40}] {pos}/{len} files ({per_sec}, eta {eta})",
            )
            .expect("valid template")
            .progress_chars("=> "),
        ),
        None => ProgressBar::with_draw_target(None, target).with_style(
            ProgressStyle::with_template("{spinner} {msg} ({pos} files)").expect("valid template"),
        ),
    };
    bar.set_message(what.to_string());
    if len.is_none() {
        bar.enable_steady_tick(Duration::from_millis(120));
    }
    bar
}
