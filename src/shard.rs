//! Sharded runs on an existing scheduler: `engine analyze ROOT... --shard
//! I/N --out DIR_I` analyses the files whose stable hash of dataset and
//! relative path ([`shard_of`]) falls in shard I; `engine merge DIR_0 …
//! DIR_{N-1} --out DIR` ([`merge`]) joins the shards' catalogs and runs the
//! global steps ([`crate::analyze::conclude`]), so the merged outputs are
//! the ones a single-machine run on the same roots writes.
//!
//! Every shard scans and labels all roots (labels need each dataset's whole
//! metadata, and the `--fake-sample` draw is made over every fake), then
//! probes and measures only its own files. It writes, into its output
//! directory: `catalog.sqlite` (probe, frame and keyframe results, and one
//! [`SCAN_STAGE`] row per file of the shard: where the file stands in the
//! scan order, its labels and planned pass), its files' `inventory.jsonl`
//! (no cluster ids: those are global), and last `shard.json`
//! ([`ShardManifest`]: the scan's fingerprint, datasets, scan concerns,
//! options, face pass), whose presence marks the shard finished. A killed
//! shard resumes from its catalog like any run.
//!
//! Shard index and count come from `--shard I/N`, else from a Slurm job
//! array (`SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN`,
//! `SLURM_ARRAY_TASK_COUNT`), else from a Kubernetes Indexed Job
//! (`JOB_COMPLETION_INDEX`, with the count in `ENGINE_SHARD_COUNT`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::analyze::{self, CATALOG_FILE};
use crate::catalog::Catalog;
use crate::labels::LabelInfo;
use crate::record::{Concern, FramePass, VideoRecord};
use crate::report::{self, DatasetInfo};
use crate::sample::SampleOptions;

/// File name of a shard's manifest in its output directory.
pub const MANIFEST_FILE: &str = "shard.json";

/// Catalog stage of a shard's scan rows ([`ScanRow`]).
pub const SCAN_STAGE: &str = "scan@1";

/// Version of [`ShardManifest`]'s layout.
pub const MANIFEST_FORMAT: u32 = 1;

/// One shard of a run: files whose [`shard_of`] is `index`, of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 0-based shard index, below `count`.
    pub index: usize,
    /// Number of shards, at least 1.
    pub count: usize,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N` with 0 ≤ I < N.
    fn from_str(s: &str) -> Result<Shard, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("expected I/N (e.g. 0/4), got {s:?}"))?;
        let parse = |x: &str| {
            x.trim()
                .parse::<usize>()
                .map_err(|_| format!("expected I/N with whole numbers, got {s:?}"))
        };
        Shard::new(parse(i)?, parse(n)?)
    }
}

impl Shard {
    /// Shard `index` of `count`, checked.
    pub fn new(index: usize, count: usize) -> Result<Shard, String> {
        if count == 0 || index >= count {
            return Err(format!(
                "shard {index}/{count}: the index must be below the count (0 ≤ I < N)"
            ));
        }
        Ok(Shard { index, count })
    }

    /// The shard the scheduler's environment names, if any: a Slurm job
    /// array (`SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN` of
    /// `SLURM_ARRAY_TASK_COUNT`; the array must be contiguous), else a
    /// Kubernetes Indexed Job (`JOB_COMPLETION_INDEX` of
    /// `ENGINE_SHARD_COUNT`). `get` reads a variable.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Option<Shard>, String> {
        let num = |name: &str| -> Result<Option<usize>, String> {
            match get(name) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse::<usize>()
                    .map(Some)
                    .map_err(|_| format!("{name}={v:?} is not a whole number")),
            }
        };
        if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
            let count = num("SLURM_ARRAY_TASK_COUNT")?
                .ok_or("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not")?;
            let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let index = id.checked_sub(min).ok_or_else(|| {
                format!("SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}")
            })?;
            return Shard::new(index, count).map(Some).map_err(|e| {
                format!(
                    "{e}; submit a contiguous array, --array=0-{}",
                    count.max(1) - 1
                )
            });
        }
        if let Some(index) = num("JOB_COMPLETION_INDEX")? {
            let count = num("ENGINE_SHARD_COUNT")?.ok_or(
                "JOB_COMPLETION_INDEX is set but ENGINE_SHARD_COUNT is not (set it to the Job's completions)",
            )?;
            return Shard::new(index, count).map(Some);
        }
        Ok(None)
    }

    /// Whether the file `rel_path` of `dataset` belongs to this shard.
    pub fn holds(&self, dataset: &str, rel_path: &str) -> bool {
        shard_of(dataset, rel_path, self.count) == self.index
    }
}

/// The shard (of `count`) a file belongs to: the first 8 bytes of the
/// BLAKE3 hash of `dataset`, a NUL byte and the `/`-joined relative path,
/// little-endian, modulo `count`. Stable across machines, runs and
/// versions; independent of the seed and of the other files.
pub fn shard_of(dataset: &str, rel_path: &str, count: usize) -> usize {
    let mut h = blake3::Hasher::new();
    h.update(dataset.as_bytes());
    h.update(&[0]);
    h.update(rel_path.as_bytes());
    let bytes: [u8; 8] = h.finalize().as_bytes()[..8].try_into().expect("8 bytes");
    (u64::from_le_bytes(bytes) % count.max(1) as u64) as usize
}

/// What a shard records per file, beside its probe and frame results: enough
/// to rebuild the file's [`VideoRecord`] without the roots.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScanRow {
    /// Position in the whole scan (all roots, in order).
    pub order: usize,
    /// Dataset name.
    pub dataset: String,
    /// Displayed path.
    pub path: String,
    /// Path relative to the root.
    pub rel_path: String,
    /// Where the shard read the file.
    pub fs_path: PathBuf,
    /// Whether the scan saw a regular file.
    pub is_regular: bool,
    /// Labels from the metadata.
    pub labels: LabelInfo,
    /// The original's displayed path, for fakes whose metadata names one.
    pub original_path: Option<String>,
    /// The pass planned for it.
    pub pass: FramePass,
}

/// What a run's options were, as far as they change the outputs; every
/// shard of a merge must agree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardOptions {
    /// Catalog stage of the frame pass (carries K, face frames, optional models).
    pub frames_stage: String,
    /// Catalog stage of the keyframe pass.
    pub keyframes_stage: String,
    /// `--fake-sample` (None: all).
    pub fake_sample: Option<usize>,
    /// `--budget`.
    pub budget: Option<usize>,
    /// `--clips-per-video-max`.
    pub clips_per_video_max: usize,
    /// `--seed`.
    pub seed: u64,
    /// `--allow-faceless`.
    pub allow_faceless: bool,
    /// `--include-official-test`.
    pub include_official_test: bool,
    /// Whether the face pass ran.
    pub face_pass_ran: bool,
    /// How the face pass ran, or why it did not.
    pub face_pass: String,
}

/// `shard.json`: written last by a shard, read by [`merge`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardManifest {
    /// [`MANIFEST_FORMAT`].
    pub format: u32,
    /// The engine version that wrote it.
    pub engine_version: String,
    /// Which shard.
    pub shard: Shard,
    /// Roots as written to the outputs, in order.
    pub roots: Vec<String>,
    /// Video files in the whole scan.
    pub total_videos: usize,
    /// Of those, in this shard.
    pub shard_videos: usize,
    /// BLAKE3 of the whole scan (every file's dataset, path, size, mtime,
    /// labels and planned pass, the datasets and the scan's concerns): equal
    /// in every shard that saw the same files.
    pub scan_fingerprint: String,
    /// Options that change the outputs.
    pub options: ShardOptions,
    /// The datasets, as the scan found them.
    pub datasets: Vec<DatasetInfo>,
    /// Concerns of the scan and the metadata (the same in every shard).
    pub scan_concerns: Vec<Concern>,
}

/// The scan row of record `order`.
fn scan_row(order: usize, r: &VideoRecord, pass: FramePass) -> ScanRow {
    ScanRow {
        order,
        dataset: r.dataset.clone(),
        path: r.path.clone(),
        rel_path: r.rel_path.clone(),
        fs_path: r.fs_path.clone(),
        is_regular: r.is_regular,
        labels: r.labels.clone(),
        original_path: r.original_path.clone(),
        pass,
    }
}

/// BLAKE3 of the whole scan (see [`ShardManifest::scan_fingerprint`]).
pub fn scan_fingerprint(
    records: &[VideoRecord],
    passes: &[FramePass],
    datasets: &[DatasetInfo],
    concerns: &[Concern],
) -> String {
    let mut h = blake3::Hasher::new();
    for (r, p) in records.iter().zip(passes) {
        let line = serde_json::to_string(&(
            &r.dataset,
            &r.rel_path,
            r.size_bytes,
            r.mtime_ns,
            &r.labels,
            p,
        ))
        .expect("scan rows serialise");
        h.update(line.as_bytes());
        h.update(b"\n");
    }
    h.update(
        serde_json::to_string(&(datasets, concerns))
            .expect("datasets serialise")
            .as_bytes(),
    );
    h.finalize().to_hex().to_string()
}

/// Everything a shard run writes beside its stage results.
pub struct ShardOutput<'a> {
    /// The shard.
    pub shard: Shard,
    /// Roots as written to the outputs.
    pub roots: Vec<String>,
    /// All records of the scan (the shard's own probed and measured).
    pub records: &'a [VideoRecord],
    /// Planned pass per record.
    pub passes: &'a [FramePass],
    /// Indices of the shard's records.
    pub scope: &'a [usize],
    /// The datasets.
    pub datasets: &'a [DatasetInfo],
    /// The scan's concerns.
    pub scan_concerns: &'a [Concern],
    /// Options that change the outputs.
    pub options: ShardOptions,
}

/// Finish a shard: its scan rows into the catalog, its `inventory.jsonl`,
/// then `shard.json`.
pub fn write_shard(out_dir: &Path, catalog: &Catalog, s: &ShardOutput<'_>) -> Result<()> {
    let writer = catalog.writer(SCAN_STAGE)?;
    let sender = writer.sender();
    for &i in s.scope {
        let r = &s.records[i];
        let json =
            serde_json::to_string(&scan_row(i, r, s.passes[i])).expect("scan rows serialise");
        sender.send(&r.key, r.size_bytes, r.mtime_ns, json);
    }
    drop(sender);
    writer.finish()?;
    report::write_inventory(out_dir, s.scope.iter().map(|&i| &s.records[i]))?;
    let manifest = ShardManifest {
        format: MANIFEST_FORMAT,
        engine_version: env!("CARGO_PKG_VERSION").to_string(),
        shard: s.shard,
        roots: s.roots.clone(),
        total_videos: s.records.len(),
        shard_videos: s.scope.len(),
        scan_fingerprint: scan_fingerprint(s.records, s.passes, s.datasets, s.scan_concerns),
        options: s.options.clone(),
        datasets: s.datasets.to_vec(),
        scan_concerns: s.scan_concerns.to_vec(),
    };
    report::write_atomic(&out_dir.join(MANIFEST_FILE), &report::pretty(&manifest)?)
}

/// Read a shard directory's manifest.
pub fn read_manifest(dir: &Path) -> Result<ShardManifest> {
    let path = dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "{}: no {MANIFEST_FILE}: not a finished shard (run or rerun `engine analyze ... --shard I/N --out {}`)",
            dir.display(),
            dir.display()
        )
    })?;
    let m: ShardManifest =
        serde_json::from_str(&text).with_context(|| format!("{}: malformed", path.display()))?;
    if m.format != MANIFEST_FORMAT {
        bail!(
            "{}: manifest format {} (this engine reads {MANIFEST_FORMAT})",
            path.display(),
            m.format
        );
    }
    Ok(m)
}

/// What a merge did, for the closing summary line.
#[derive(Debug, Clone)]
pub struct MergeSummary {
    /// Shards joined.
    pub shards: usize,
    /// Dataset roots.
    pub datasets: usize,
    /// Video files.
    pub videos: usize,
    /// Of those, readable.
    pub readable: usize,
    /// Concerns reported.
    pub concerns: usize,
    /// Real videos selected.
    pub selected: usize,
    /// Clips planned.
    pub clips: usize,
    /// Wall time.
    pub elapsed: Duration,
}

/// `engine merge`: check the shards belong together, join their catalogs
/// into `out/catalog.sqlite`, rebuild every record from them and write the
/// outputs through [`analyze::conclude`] on `jobs` threads.
pub fn merge(dirs: &[PathBuf], out: &Path, jobs: usize, quiet: bool) -> Result<MergeSummary> {
    let started = Instant::now();
    let manifests: Vec<ShardManifest> = dirs
        .iter()
        .map(|d| read_manifest(d))
        .collect::<Result<_>>()?;
    let first = &manifests[0];
    let count = first.shard.count;
    for (m, d) in manifests.iter().zip(dirs) {
        let differs = |what: &str| {
            anyhow::anyhow!(
                "{} and {} differ in {what}: they are not shards of one run",
                dirs[0].display(),
                d.display()
            )
        };
        if m.shard.count != count {
            return Err(differs("shard count"));
        }
        if m.roots != first.roots {
            return Err(differs("roots"));
        }
        if m.options != first.options {
            return Err(differs("options (--frames, --face-frames, --no-faces, --fake-sample, --seed, --budget, --clips-per-video-max, --allow-faceless, models)"));
        }
        if m.scan_fingerprint != first.scan_fingerprint {
            return Err(differs(
                "the files they saw (a root changed between the shard runs: rerun the shards)",
            ));
        }
    }
    let indices: BTreeSet<usize> = manifests.iter().map(|m| m.shard.index).collect();
    if indices.len() != manifests.len() || manifests.len() != count {
        let missing: Vec<String> = (0..count)
            .filter(|i| !indices.contains(i))
            .map(|i| format!("{i}/{count}"))
            .collect();
        bail!(
            "{} shard directories for {count} shards ({} distinct; missing: {})",
            dirs.len(),
            indices.len(),
            if missing.is_empty() {
                "none, but one is given twice".to_string()
            } else {
                missing.join(", ")
            }
        );
    }
    for d in dirs {
        if same_dir(d, out) {
            bail!(
                "--out {} is one of the shard directories; choose another",
                out.display()
            );
        }
    }
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create output directory {}", out.display()))?;
    let catalog = Catalog::open(&out.join(CATALOG_FILE))?;
    let spinner = analyze::progress(quiet, None, "joining catalogs");
    let mut rows: Vec<(ScanRow, String, u64, i64)> = Vec::with_capacity(first.total_videos);
    for (m, d) in manifests.iter().zip(dirs) {
        let path = d.join(CATALOG_FILE);
        catalog.absorb(&path)?;
        let shard_catalog = Catalog::open(&path)?;
        let before = rows.len();
        let mut bad = None;
        shard_catalog.for_each_in_stage(SCAN_STAGE, |key, stored| {
            match serde_json::from_str::<ScanRow>(&stored.json) {
                Ok(row) if m.shard.holds(&row.dataset, &row.rel_path) => {
                    rows.push((row, key.to_string(), stored.size_bytes, stored.mtime_ns))
                }
                Ok(_) => {}
                Err(e) => bad = Some(format!("{key}: {e}")),
            }
        })?;
        if let Some(e) = bad {
            bail!("{}: malformed scan row {e}", path.display());
        }
        if rows.len() - before != m.shard_videos {
            bail!(
                "{}: {} scan rows for the {} files of shard {} (rerun the shard)",
                path.display(),
                rows.len() - before,
                m.shard_videos,
                m.shard
            );
        }
        spinner.inc(1);
    }
    spinner.finish_and_clear();
    rows.sort_by_key(|(r, ..)| r.order);
    if rows.len() != first.total_videos || rows.iter().enumerate().any(|(i, r)| r.0.order != i) {
        bail!(
            "the shards hold {} of the scan's {} files, not each once: they are not shards of one run",
            rows.len(),
            first.total_videos
        );
    }
    let mut passes = Vec::with_capacity(rows.len());
    let mut records: Vec<VideoRecord> = rows
        .into_iter()
        .map(|(row, key, size_bytes, mtime_ns)| {
            passes.push(row.pass);
            VideoRecord {
                dataset: row.dataset,
                path: row.path,
                rel_path: row.rel_path,
                fs_path: row.fs_path,
                key,
                size_bytes,
                mtime_ns,
                is_regular: row.is_regular,
                labels: row.labels,
                original_path: row.original_path,
                probe: None,
                frames: None,
                keyframes: None,
                cluster_id: None,
                session_id: None,
                duplicate_of: None,
                error: None,
            }
        })
        .collect();
    let opts = &first.options;
    analyze::load_results(
        &catalog,
        &mut records,
        &passes,
        &opts.frames_stage,
        &opts.keyframes_stage,
    )
    .map_err(|missing| {
        anyhow::anyhow!(
            "no {} result for {} in shard {}/{count} (rerun that shard)",
            missing.stage,
            missing.path,
            shard_of(&missing.dataset, &missing.rel_path, count)
        )
    })?;
    drop(catalog);
    let mut concerns = first.scan_concerns.clone();
    analyze::add_record_concerns(&records, &mut concerns);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .context("cannot start worker threads")?;
    let outputs = pool.install(|| {
        analyze::conclude(
            &first.datasets,
            &mut records,
            &concerns,
            &SampleOptions {
                budget: opts.budget,
                clips_per_video_max: opts.clips_per_video_max,
                seed: opts.seed,
                include_official_test: opts.include_official_test,
                allow_faceless: opts.allow_faceless,
            },
            &opts.face_pass,
            opts.face_pass_ran,
        )
    })?;
    report::write_outputs(out, &records, &outputs)?;
    Ok(MergeSummary {
        shards: manifests.len(),
        datasets: first.datasets.len(),
        videos: records.len(),
        readable: records.iter().filter(|r| r.is_readable()).count(),
        concerns: concerns.len(),
        selected: outputs.selection.picks.len(),
        clips: outputs.selection.expected_clips,
        elapsed: started.elapsed(),
    })
}

/// Whether two paths name the same directory (when both exist), or are
/// spelled the same.
fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn shard_flag_parses_and_checks() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
        assert!("3/3".parse::<Shard>().is_err());
        assert!("0/0".parse::<Shard>().is_err());
        assert!("1".parse::<Shard>().is_err());
        assert!("a/3".parse::<Shard>().is_err());
        assert_eq!(Shard { index: 1, count: 4 }.to_string(), "1/4");
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn shard_from_slurm_and_kubernetes_environment() {
        assert_eq!(Shard::from_env(env(&[])), Ok(None));
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ]);
        assert_eq!(
            Shard::from_env(slurm),
            Ok(Some(Shard { index: 2, count: 3 }))
        );
        // --array=1-3: ids 1..3, MIN 1.
        let from_one = env(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ]);
        assert_eq!(
            Shard::from_env(from_one),
            Ok(Some(Shard { index: 2, count: 3 }))
        );
        // A stepped array (0-8:4 gives ids 0, 4, 8 and count 3) is refused.
        let stepped = env(&[
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ]);
        assert!(Shard::from_env(stepped).unwrap_err().contains("contiguous"));
        let no_count = env(&[("SLURM_ARRAY_TASK_ID", "0")]);
        assert!(Shard::from_env(no_count).is_err());
        let k8s = env(&[("JOB_COMPLETION_INDEX", "1"), ("ENGINE_SHARD_COUNT", "4")]);
        assert_eq!(Shard::from_env(k8s), Ok(Some(Shard { index: 1, count: 4 })));
        let k8s_no_count = env(&[("JOB_COMPLETION_INDEX", "1")]);
        assert!(Shard::from_env(k8s_no_count)
            .unwrap_err()
            .contains("ENGINE_SHARD_COUNT"));
    }

    #[test]
    fn shard_assignment_is_stable_and_spreads() {
        // Fixed values: the assignment must never change between versions,
        // or shards of one run made by two builds would not fit together.
        let h = blake3::hash(b"dfdc\0a.mp4");
        let want = u64::from_le_bytes(h.as_bytes()[..8].try_into().unwrap()) % 7;
        assert_eq!(shard_of("dfdc", "a.mp4", 7), want as usize);
        // The dataset is part of the key.
        let differ = (0..64)
            .filter(|i| {
                let rel = format!("v{i}.mp4");
                shard_of("a", &rel, 4) != shard_of("b", &rel, 4)
            })
            .count();
        assert!(differ > 30, "{differ}");
        // 3000 files over 3 shards: each gets about a third.
        let mut counts = [0usize; 3];
        for i in 0..3000 {
            counts[shard_of("dfdc", &format!("part_{}/{i:06}.mp4", i % 50), 3)] += 1;
        }
        assert!(
            counts.iter().all(|&c| (900..=1100).contains(&c)),
            "{counts:?}"
        );
        let s = Shard { index: 1, count: 3 };
        assert_eq!(s.holds("dfdc", "x.mp4"), shard_of("dfdc", "x.mp4", 3) == 1);
    }
}
