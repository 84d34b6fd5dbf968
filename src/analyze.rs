//! `engine analyze`: scan → labels → probe → report, with every stage result
//! stored in the catalog as it is made.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::catalog::Catalog;
use crate::cli::AnalyzeConfig;
use crate::labels::{self, DatasetFiles};
use crate::paths::display_join;
use crate::probe::{self, ProbeError, ProbeInfo};
use crate::record::{Concern, ConcernKind, VideoRecord};
use crate::report::{self, DatasetInfo};
use crate::scan;

/// Catalog stage name of the probe; bump the version when its definition changes.
pub const PROBE_STAGE: &str = "probe@1";

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
    /// Concerns reported.
    pub concerns: usize,
    /// Wall time.
    pub elapsed: Duration,
}

/// Run the analysis described by `cfg`.
pub fn run(cfg: &AnalyzeConfig) -> Result<Summary> {
    let started = Instant::now();
    std::fs::create_dir_all(&cfg.out_dir)
        .with_context(|| format!("cannot create output directory {}", cfg.out_dir.display()))?;
    let catalog = Catalog::open(&cfg.out_dir.join(CATALOG_FILE))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.jobs)
        .build()
        .context("cannot start worker threads")?;

    let (datasets, mut records, mut concerns) = scan_and_label(cfg);
    let probed_now = probe_stage(cfg, &catalog, &pool, &mut records)?;
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
    report::write_all(&cfg.out_dir, &datasets, &records, &concerns)?;
    Ok(Summary {
        datasets: datasets.len(),
        videos: records.len(),
        readable: records.iter().filter(|r| r.is_readable()).count(),
        probed_now,
        concerns: concerns.len(),
        elapsed: started.elapsed(),
    })
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
        let cached = stored
            .get(&r.key)
            .filter(|s| s.size_bytes == r.size_bytes && s.mtime_ns == r.mtime_ns)
            .and_then(|s| serde_json::from_str::<Result<ProbeInfo, ProbeError>>(&s.json).ok());
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

/// The output directory's catalog path, for messages.
pub fn catalog_path(out_dir: &Path) -> std::path::PathBuf {
    out_dir.join(CATALOG_FILE)
}
