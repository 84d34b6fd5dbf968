//! `engine analyze`: the stages in order, with every per-file result stored
//! in the catalog as it is made.
//!
//! [`run`]: choose the compute path (`--gpu` without a GPU fails first) →
//! load the face pass (missing models disable it with a warning) → scan and
//! label every root → probe (catalog stage `probe@1`) → sample and measure
//! frames and faces (catalog stage `frames@…`) → [`conclude`]: dedup,
//! selection, fake catalog, recommendations and the documents → write
//! `inventory.jsonl`, `dedup_report.json`, `real_sources.jsonl`,
//! `diversity_balance.json`, `report.json` and `report.html`, each
//! atomically. [`conclude`] is pure: the same records give the same bytes,
//! so a resumed run writes what an uninterrupted one would.

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
use crate::labels::{self, DatasetFiles};
use crate::paths::display_join;
use crate::plan;
use crate::probe::{self, ProbeError, ProbeInfo};
use crate::quality;
use crate::record::FrameSummary;
use crate::record::{Concern, ConcernKind, VideoRecord};
use crate::report::{self, DatasetInfo};
use crate::sample::{self, SampleOptions};
use crate::scan;
use crate::stats::{self, BackendChoice, CpuBackend, FrameInput, StatsBackend};

/// Catalog stage name of the probe; bump the version when its definition changes.
pub const PROBE_STAGE: &str = "probe@1";

/// Catalog stage version of the frame pass; bump when a statistic's definition
/// or the sampling changes. The stage name also carries K (`--frames`).
/// 3: frames are turned upright by the display rotation before every
/// statistic; head pose from eyes and nose; face-pass numbers rounded.
pub const FRAMES_STAGE_VERSION: u32 = 3;

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
    /// Videos whose frames were analysed in this run.
    pub frames_now: usize,
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
    let probed_now = probe_stage(cfg, &catalog, &pool, &mut records)?;
    let frames_now = frames_stage(
        cfg,
        &catalog,
        &pool,
        backend,
        face_pass.as_ref(),
        &mut records,
    )?;
    for r in &records {
        if let Some(err) = &r.error {
            concerns.push(Concern {
                dataset: r.dataset.clone(),
                path: r.path.clone(),
                kind: ConcernKind::UnreadableVideo,
                reason: err.clone(),
            });
        }
    }
    let outputs = conclude(
        &datasets,
        &mut records,
        &concerns,
        &SampleOptions {
            budget: cfg.budget,
            clips_per_video_max: cfg.clips_per_video_max,
            seed: cfg.seed,
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
        frame_backend,
        face_pass: face_pass_line,
        concerns: concerns.len(),
        selected: selection.picks.len(),
        clips: selection.expected_clips,
        elapsed: started.elapsed(),
    })
}

/// From the analysed records to every output: near-duplicate clusters (each
/// record gains its `cluster_id` and `duplicate_of`), the selection, the fake
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
    let selection = sample::select(records, opts, face_pass_ran);
    let report_doc = report::build_report(
        datasets,
        records,
        concerns,
        report::ReportParts {
            face_pass: face_pass_line.to_string(),
            diversity_gaps: selection.gaps.clone(),
            fake_catalog: plan::fake_catalog(records, &dedup),
            pipeline_recommendations: plan::recommendations(records, &selection, &dedup),
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
                cluster_id: None,
                duplicate_of: None,
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

/// Probe every record whose catalog entry is missing or stale; fill `probe`
/// or `error` on all. Returns how many files were probed now.
fn probe_stage(
    cfg: &AnalyzeConfig,
    catalog: &Catalog,
    pool: &rayon::ThreadPool,
    records: &mut [VideoRecord],
) -> Result<usize> {
    let stored = catalog.load_stage(PROBE_STAGE)?;
    let mut todo: Vec<&mut VideoRecord> = Vec::new();
    for r in records.iter_mut() {
        let cached = fresh_result::<Result<ProbeInfo, ProbeError>>(&stored, r);
        match cached {
            Some(result) => apply_probe(r, result),
            None => todo.push(r),
        }
    }
    let n = todo.len();
    if n == 0 {
        return Ok(0);
    }
    let bar = progress(cfg.quiet, Some(n as u64), "probing");
    let writer = catalog.writer(PROBE_STAGE)?;
    let sender = writer.sender();
    pool.install(|| {
        todo.into_par_iter().for_each_with(sender, |sender, r| {
            let result = if r.is_regular {
                probe::probe(&r.fs_path, r.size_bytes)
            } else {
                Err(ProbeError::NotRegular)
            };
            let json = serde_json::to_string(&result).expect("probe results serialise");
            sender.send(&r.key, r.size_bytes, r.mtime_ns, json);
            apply_probe(r, result);
            bar.inc(1);
        })
    });
    bar.finish_and_clear();
    writer.finish()?;
    Ok(n)
}

/// Catalog stage name of the frame pass for `k` frames per video,
/// `face_frames` of them through the face pass, with the optional face
/// models of `optional_tag` ([`FacePass::optional_models_tag`]).
pub fn frames_stage_name(k: usize, face_frames: usize, optional_tag: &str) -> String {
    format!("frames@{FRAMES_STAGE_VERSION}:k{k}:faces{face_frames}{optional_tag}")
}

type FramesResult = Result<FrameSummary, String>;

/// A video's decoded frames (face images already measured and dropped) and
/// its face summary.
type Decoded = (Vec<SampledFrame>, Option<FaceSummary>);

/// Detect, measure and estimate faces on the frames that carry a face image
/// (then drop those images): [`FacePass::summarise_video`]. None if the face
/// pass is off. A frame the detector fails on is left out of the summary and
/// counted in its `face_errors` (first message in `first_face_error`).
fn face_summary(pass: Option<&FacePass>, frames: &mut [SampledFrame]) -> Option<FaceSummary> {
    let pass = pass?;
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
    Some(pass.summarise_video(&images))
}

/// Sample, measure and aggregate the frames of every readable record whose
/// catalog entry is missing or stale. Decoding runs on the worker pool; the
/// CPU backend measures inside each worker, a GPU backend on one feeding
/// thread that batches frames from many videos. Returns how many videos were
/// analysed now.
fn frames_stage(
    cfg: &AnalyzeConfig,
    catalog: &Catalog,
    pool: &rayon::ThreadPool,
    mut backend: Box<dyn StatsBackend>,
    face_pass: Option<&FacePass>,
    records: &mut [VideoRecord],
) -> Result<usize> {
    let face_frames = if face_pass.is_some() {
        cfg.face_frames
    } else {
        0
    };
    let optional_tag = face_pass
        .map(FacePass::optional_models_tag)
        .unwrap_or_default();
    let stage = frames_stage_name(cfg.frames, face_frames, &optional_tag);
    let stored = catalog.load_stage(&stage)?;
    let mut todo: Vec<usize> = Vec::new();
    for (i, r) in records.iter_mut().enumerate() {
        if !r.is_readable() {
            continue;
        }
        let cached = fresh_result::<FramesResult>(&stored, r);
        match cached {
            Some(result) => apply_frames(r, result),
            None => todo.push(i),
        }
    }
    if todo.is_empty() {
        return Ok(0);
    }
    let bar = progress(cfg.quiet, Some(todo.len() as u64), "frames");
    let writer = catalog.writer(&stage)?;
    let sender = writer.sender();
    let k = cfg.frames;
    let is_cpu = backend.on_cpu();
    let results: Vec<(usize, FramesResult)> = {
        let recs: &[VideoRecord] = records;
        let sample = |i: usize| -> Result<Decoded, String> {
            let r = &recs[i];
            let info = r.probe.as_ref().expect("readable records are probed");
            let mut frames = frames::sample_frames(&r.fs_path, info, k, face_frames)
                .map_err(|e| e.to_string())?;
            let faces = face_summary(face_pass, &mut frames);
            Ok((frames, faces))
        };
        let finish = |sender: &ResultSender, i: usize, result: FramesResult| {
            let r = &recs[i];
            let json = serde_json::to_string(&result).expect("frame results serialise");
            sender.send(&r.key, r.size_bytes, r.mtime_ns, json);
            bar.inc(1);
            (i, result)
        };
        if is_cpu {
            pool.install(|| {
                todo.par_iter()
                    .map_with(sender, |sender, &i| {
                        let result = sample(i).and_then(|(frames, faces)| {
                            let stats = CpuBackend::new()
                                .compute(&inputs(&frames))
                                .map_err(|e| e.to_string())?;
                            Ok(summarise(&frames, &stats, faces))
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
                            measure_batch(backend.as_mut(), std::mem::take(&mut batch))
                        {
                            out.push(finish(&sender, i, result));
                        }
                    }
                }
                out
            })
        }
    };
    bar.finish_and_clear();
    writer.finish()?;
    let n = results.len();
    for (i, result) in results {
        apply_frames(&mut records[i], result);
    }
    Ok(n)
}

/// Put a decoded video in the batch, or finish it at once if decoding failed.
fn queue(
    (i, decoded): (usize, Result<Decoded, String>),
    batch: &mut Vec<(usize, Decoded)>,
    out: &mut Vec<(usize, FramesResult)>,
    sender: &ResultSender,
    finish: &impl Fn(&ResultSender, usize, FramesResult) -> (usize, FramesResult),
) {
    match decoded {
        Ok(frames) => batch.push((i, frames)),
        Err(e) => out.push(finish(sender, i, Err(e))),
    }
}

/// Measure several videos' frames in one backend call.
fn measure_batch(
    backend: &mut dyn StatsBackend,
    batch: Vec<(usize, Decoded)>,
) -> Vec<(usize, FramesResult)> {
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
    frames
        .iter()
        .map(|f| FrameInput {
            width: f.width,
            height: f.height,
            luma: &f.luma,
            next_luma: f.next_luma.as_deref(),
            rgb_width: f.thumb_width,
            rgb_height: f.thumb_height,
            rgb: &f.rgb,
        })
        .collect()
}

fn summarise(
    frames: &[SampledFrame],
    stats: &[stats::FrameStats],
    faces: Option<FaceSummary>,
) -> FrameSummary {
    FrameSummary {
        faces,
        quality: quality::aggregate(stats).expect("at least one frame"),
        frame_times_s: frames.iter().map(|f| (f.t_s * 1e3).round() / 1e3).collect(),
        embeddings: stats.iter().map(|s| s.embedding.clone()).collect(),
        thumbnail_jpeg_b64: frames::thumbnail_jpeg_base64(frames),
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

/// The catalog's result for `r` if it was computed for the file as it is now
/// (same size and mtime) and still parses; None means: compute it again.
fn fresh_result<T: serde::de::DeserializeOwned>(
    stored: &std::collections::HashMap<String, crate::catalog::StoredResult>,
    r: &VideoRecord,
) -> Option<T> {
    stored
        .get(&r.key)
        .filter(|s| s.size_bytes == r.size_bytes && s.mtime_ns == r.mtime_ns)
        .and_then(|s| serde_json::from_str(&s.json).ok())
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
