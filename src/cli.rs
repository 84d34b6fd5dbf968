//! Command-line flags, parsed once into a plain [`AnalyzeConfig`]: roots
//! checked (exist, are directories, not given twice, `--out` not inside
//! one), Windows spellings accepted, the compute path chosen. Usage errors
//! ([`UsageError`]) exit 2.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use thiserror::Error;

use crate::paths;
use crate::shard::Shard;
use crate::stats::BackendChoice;

/// Default output directory, relative to the working directory.
pub const DEFAULT_OUT_DIR: &str = "staging/dataset_analysis";

/// engine: content analysis of deepfake video datasets.
///
/// Answers "which real videos, how many 10-second clips from each, and why"
/// for deepfake-detector datasets: inventories every video under the given
/// roots (container, codec, resolution, fps, duration, bitrate, and labels
/// from the datasets' own metadata), measures frames and faces, finds
/// near-duplicates across roots, and selects a balanced set of real videos
/// with a clip plan. Input roots are only ever read.
#[derive(Debug, Parser)]
#[command(name = "engine", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse dataset roots: inventory, quality, faces, near-duplicates and a
    /// balanced selection of real videos.
    ///
    /// Every video file under each ROOT is probed in-process; labels come from
    /// the datasets' metadata (DFDC metadata.json, FaceForensics++ layout,
    /// Celeb-DF lists, FakeAVCeleb meta_data.csv, DeeperForensics lists,
    /// DeepfakeBench JSON, sidecar JSON). Sampled frames are measured on a GPU
    /// (wgpu) or the identical CPU path, faces by ONNX models. Writes to the
    /// output directory: inventory.jsonl (one line per file), report.json
    /// (per dataset, fake catalog, recommendations, concerns),
    /// dedup_report.json, real_sources.jsonl (the selection with its clips),
    /// diversity_balance.json (quotas, what was met and why not) and
    /// report.html. Results are stored in a SQLite catalog there as they are
    /// made: a rerun skips unchanged files, and a killed run resumes.
    #[command(
        after_help = "Examples:\n  engine analyze X:\\dataset_3 X:\\dataset2 X:\\DEEPFAKE_DATASETS\n  engine analyze /data/ffpp /data/dfdc --out /tmp/analysis --jobs 8"
    )]
    Analyze(AnalyzeArgs),

    /// Append a clip manifest to the append-only ledger of a training-data store.
    ///
    /// MANIFEST is a JSONL file, one clip per line (clip_id, source_path,
    /// start_s, end_s, label, method, source_ids, split, axes, sha256; the
    /// format of report.json's stage3_dataset_assembly). Entries already in
    /// DIR/ledger.jsonl (same sha256, same fields) are skipped; an entry
    /// that would change a recorded clip (another split or label for the
    /// same sha256, or another sha256 for the same clip_id) refuses the
    /// whole manifest. The ledger is never rewritten; a killed promote
    /// leaves it consistent.
    #[command(
        after_help = "Example:\n  engine promote staging/batch_007.jsonl --into /data/detector_train"
    )]
    Promote(PromoteArgs),

    /// Join the catalogs of a sharded analysis and write every output.
    ///
    /// Each DIR is the --out of one `engine analyze --shard I/N` run (its
    /// catalog.sqlite, shard.json and inventory.jsonl). The catalogs are
    /// joined into OUT/catalog.sqlite, then the global steps run as in a
    /// single-machine analysis (near-duplicates, selection, fake catalog,
    /// recommendations, reports): the outputs are the ones `engine analyze`
    /// on the same roots writes. The input files must be readable at the
    /// same paths (byte-identical copies are confirmed by hashing them).
    /// Refuses a missing, incomplete or inconsistent shard (exit 1).
    #[command(
        after_help = "Example:\n  engine merge out/shard_0 out/shard_1 out/shard_2 --out out/merged"
    )]
    Merge(MergeArgs),

    /// Cut the planned clips of a clip plan into a store directory.
    ///
    /// PLAN is the clip_plan.jsonl `engine analyze` writes. Every clip is cut
    /// from its source (only read) and re-encoded with one fixed profile
    /// (H.264 High CRF 18 at the source resolution, AAC audio when present)
    /// into DIR/clips/; DIR/manifest.jsonl lists each with its sha256, in the
    /// format `engine promote` reads. A killed extract, rerun, finishes
    /// without redoing finished clips. A clip whose source is missing or
    /// broken is reported (DIR/extract_failures.json) and skipped.
    #[command(
        after_help = "Example:\n  engine extract staging/dataset_analysis/clip_plan.jsonl --into /data/batch_007\n  engine promote /data/batch_007/manifest.jsonl --into /data/detector_train"
    )]
    Extract(ExtractArgs),

    /// Cut one clip (what `engine extract` runs per clip, in its own process).
    #[command(hide = true)]
    CutClip(CutClipArgs),
}

/// Flags of `engine merge`.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The shard output directories, one per shard, in any order.
    #[arg(required = true, value_name = "DIR")]
    pub shards: Vec<PathBuf>,

    /// Output directory of the merged analysis.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_OUT_DIR)]
    pub out: PathBuf,

    /// Worker threads (default: one per CPU core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,

    /// No progress output; only errors and the final summary line.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Arguments of the hidden `engine cut-clip`.
#[derive(Debug, clap::Args)]
pub struct CutClipArgs {
    /// Source video.
    pub source: PathBuf,
    /// Start, seconds from the start of the video stream.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// The clip file to write.
    pub dest: PathBuf,
}

/// Flags of `engine extract`.
#[derive(Debug, clap::Args)]
pub struct ExtractArgs {
    /// The clip plan (JSONL), as `engine analyze` writes it.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    /// Directory for the clips and manifest.jsonl (created if missing).
    #[arg(long, value_name = "DIR")]
    pub into: PathBuf,

    /// Clips encoded at once (default: one per CPU core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,

    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Flags of `engine promote`.
#[derive(Debug, clap::Args)]
pub struct PromoteArgs {
    /// The manifest to append (JSONL).
    #[arg(value_name = "MANIFEST")]
    pub manifest: PathBuf,

    /// Store directory holding ledger.jsonl (created if missing).
    #[arg(long, value_name = "DIR")]
    pub into: PathBuf,
}

/// Flags of `engine analyze`.
#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Dataset root directories (Windows spellings such as X:\dataset_3 are
    /// accepted). The dataset name of a root is its last path component.
    #[arg(required = true, value_name = "ROOT")]
    pub roots: Vec<String>,

    /// Output directory (created if missing; must not lie inside a root).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_OUT_DIR)]
    pub out: PathBuf,

    /// Compute frame statistics on the CPU even if a GPU is present.
    #[arg(long, conflicts_with = "gpu")]
    pub cpu: bool,

    /// Require a GPU for frame statistics; fail if none is found.
    #[arg(long)]
    pub gpu: bool,

    /// Frames sampled per video for the quality statistics (each with the
    /// frame after it, for motion).
    #[arg(long, value_name = "K", default_value_t = crate::frames::DEFAULT_FRAMES as u16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub frames: u16,

    /// How many of the sampled frames also go through the face detector.
    #[arg(long, value_name = "N", default_value_t = crate::frames::DEFAULT_FACE_FRAMES as u16)]
    pub face_frames: u16,

    /// Skip the face pass (face axes are then reported as gaps).
    #[arg(long)]
    pub no_faces: bool,

    /// Keep real videos without a usable face (none, too rare, too small)
    /// as selection candidates; by default they are excluded as
    /// fake-generation sources (see faces::usability).
    #[arg(long)]
    pub allow_faceless: bool,

    /// Directory of models.toml and the face models (default: ./models, else
    /// the models/ folder of the engine's source tree).
    #[arg(long, value_name = "DIR")]
    pub models: Option<PathBuf>,

    /// Real videos to select (default: derived from the data, explained in
    /// diversity_balance.json).
    #[arg(long, value_name = "N")]
    pub budget: Option<usize>,

    /// Fakes per dataset × method that get the frame and face pass, drawn
    /// by a seeded hash; the other fakes get the keyframe pass only
    /// (embeddings for fake→original links). "all": every fake.
    #[arg(long, value_name = "N|all", default_value_t = FakeSample(Some(crate::policy::DEFAULT_FAKE_SAMPLE)), value_parser = parse_fake_sample)]
    pub fake_sample: FakeSample,

    /// Analyse only shard I of N (0 ≤ I < N): the files whose stable hash of
    /// dataset and relative path falls in it. Writes the shard's catalog,
    /// inventory.jsonl and shard.json; `engine merge` joins the shards.
    /// Without the flag, SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT (a Slurm
    /// job array) or JOB_COMPLETION_INDEX with ENGINE_SHARD_COUNT (a
    /// Kubernetes Indexed Job) choose the shard when set.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,

    /// Let official test/val videos (FF++ split files, the Celeb-DF test
    /// list, DFDC's test release...) and every video of their people or
    /// footage be fake-generation sources; the split plan keeps them in
    /// their official split. Off by default: benchmark test identities must
    /// not leak into training fakes.
    #[arg(long)]
    pub include_official_test: bool,

    /// Most 10-second clips planned from one video.
    #[arg(long, value_name = "N", default_value_t = crate::policy::DEFAULT_CLIPS_PER_VIDEO_MAX)]
    pub clips_per_video_max: usize,

    /// Worker threads (default: one per CPU core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,

    /// Seed for every random choice, so a run is reproducible.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,

    /// No progress bars; only errors and the final summary line.
    #[arg(long, short)]
    pub quiet: bool,
}

/// One input root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootSpec {
    /// As the user typed it.
    pub given: String,
    /// Where it is on this machine.
    pub fs_path: PathBuf,
    /// Canonical absolute path (symlinks resolved), for containment checks and catalog keys.
    pub canonical: PathBuf,
    /// The spelling written to the outputs (`X:/dataset_3`).
    pub display: String,
    /// Dataset name (last component; `_2`, `_3`... appended when two roots share one).
    pub dataset: String,
}

/// Everything `analyze` needs, checked.
#[derive(Debug, Clone)]
pub struct AnalyzeConfig {
    /// Input roots, in the order given.
    pub roots: Vec<RootSpec>,
    /// Output directory.
    pub out_dir: PathBuf,
    /// Compute path for frame statistics.
    pub backend: BackendChoice,
    /// Frames sampled per video.
    pub frames: usize,
    /// Sampled frames per video that go to the face pass (0: no face pass).
    pub face_frames: usize,
    /// Keep videos without a usable face as selection candidates (`--allow-faceless`).
    pub allow_faceless: bool,
    /// Directory of models.toml.
    pub models_dir: PathBuf,
    /// Real videos to select (None: derived).
    pub budget: Option<usize>,
    /// Fakes per dataset × method given the frame pass (None: every fake).
    pub fake_sample: Option<usize>,
    /// The shard this run analyses (None: everything).
    pub shard: Option<Shard>,
    /// Most clips per video.
    pub clips_per_video_max: usize,
    /// Official test/val videos may be selected.
    pub include_official_test: bool,
    /// Worker threads.
    pub jobs: usize,
    /// Seed for random choices.
    pub seed: u64,
    /// Suppress progress output.
    pub quiet: bool,
}

/// A problem with what the user asked for (exit status 2).
#[derive(Debug, Error)]
pub enum UsageError {
    /// A root that does not exist.
    #[error("root {0} does not exist")]
    MissingRoot(String),
    /// A root that is a file, not a directory.
    #[error("root {0} is not a directory")]
    NotADirectory(String),
    /// A root whose path could not be resolved.
    #[error("root {0} cannot be read: {1}")]
    UnreadableRoot(String, String),
    /// The output directory lies inside an input root.
    #[error("output directory {out} lies inside input root {root}; input roots are read-only, choose another --out")]
    OutInsideRoot {
        /// The output directory.
        out: String,
        /// The root it lies in.
        root: String,
    },
    /// The same root given twice.
    #[error("root {0} is given twice")]
    DuplicateRoot(String),
    /// `--gpu` on a machine without a usable GPU.
    #[error("{0}")]
    NoGpu(String),
    /// A shard that cannot be used (flag or environment).
    #[error("{0}")]
    BadShard(String),
}

/// `--fake-sample`: fakes per dataset × method given the frame pass; None is
/// every fake (`all`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FakeSample(pub Option<usize>);

impl std::fmt::Display for FakeSample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(n) => write!(f, "{n}"),
            None => f.write_str("all"),
        }
    }
}

fn parse_fake_sample(s: &str) -> Result<FakeSample, String> {
    if s.eq_ignore_ascii_case("all") {
        return Ok(FakeSample(None));
    }
    s.parse::<usize>()
        .map(|n| FakeSample(Some(n)))
        .map_err(|_| format!("expected a number or \"all\", got {s:?}"))
}

impl AnalyzeConfig {
    /// Check the flags and roots.
    pub fn from_args(args: AnalyzeArgs) -> Result<Self, UsageError> {
        let mut roots: Vec<RootSpec> = Vec::new();
        for given in &args.roots {
            let fs_path = PathBuf::from(given);
            let meta = std::fs::metadata(&fs_path).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => UsageError::MissingRoot(given.clone()),
                _ => UsageError::UnreadableRoot(given.clone(), e.to_string()),
            })?;
            if !meta.is_dir() {
                return Err(UsageError::NotADirectory(given.clone()));
            }
            let canonical = fs_path
                .canonicalize()
                .map_err(|e| UsageError::UnreadableRoot(given.clone(), e.to_string()))?;
            if roots.iter().any(|r| r.canonical == canonical) {
                return Err(UsageError::DuplicateRoot(given.clone()));
            }
            let base = paths::dataset_name(given);
            let mut dataset = base.clone();
            let mut n = 2;
            while roots.iter().any(|r| r.dataset == dataset) {
                dataset = format!("{base}_{n}");
                n += 1;
            }
            roots.push(RootSpec {
                given: given.clone(),
                display: paths::display_root(given),
                fs_path,
                canonical,
                dataset,
            });
        }
        let out_abs = absolute_lexical(&args.out);
        for root in &roots {
            if resolve_existing_prefix(&out_abs).starts_with(&root.canonical) {
                return Err(UsageError::OutInsideRoot {
                    out: args.out.display().to_string(),
                    root: root.given.clone(),
                });
            }
        }
        let backend = match (args.cpu, args.gpu) {
            (true, _) => BackendChoice::Cpu,
            (_, true) => BackendChoice::Gpu,
            _ => BackendChoice::Auto,
        };
        let jobs = jobs_or_cores(args.jobs);
        let shard = match args.shard {
            Some(s) => Some(s),
            None => Shard::from_env(|k| std::env::var(k).ok()).map_err(UsageError::BadShard)?,
        };
        Ok(AnalyzeConfig {
            roots,
            out_dir: args.out,
            backend,
            frames: usize::from(args.frames),
            face_frames: if args.no_faces {
                0
            } else {
                usize::from(args.face_frames).min(usize::from(args.frames))
            },
            allow_faceless: args.allow_faceless,
            models_dir: args.models.unwrap_or_else(default_models_dir),
            budget: args.budget,
            fake_sample: args.fake_sample.0,
            shard,
            clips_per_video_max: args.clips_per_video_max,
            include_official_test: args.include_official_test,
            jobs,
            seed: args.seed,
            quiet: args.quiet,
        })
    }
}

/// `--jobs`, else one per CPU core.
pub fn jobs_or_cores(jobs: Option<u16>) -> usize {
    jobs.map(usize::from).unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    })
}

/// `./models` when it holds a models.toml, else the `models/` folder of the
/// source tree the binary was built in (`target/<profile>/engine` → `models/`).
fn default_models_dir() -> PathBuf {
    let local = PathBuf::from("models");
    if local.join("models.toml").is_file() {
        return local;
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.parent()?
                .parent()?
                .parent()
                .map(|root| root.join("models"))
        })
        .filter(|dir| dir.join("models.toml").is_file())
        .unwrap_or(local)
}

fn absolute_lexical(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

/// Canonicalise the longest existing prefix of `p` and append the rest, so a
/// not-yet-created output directory is compared by where it will be.
fn resolve_existing_prefix(p: &Path) -> PathBuf {
    let mut existing = p.to_path_buf();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_os_string());
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut resolved = existing.canonicalize().unwrap_or(existing);
    for part in rest.iter().rev() {
        resolved.push(part);
    }
    resolved
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(roots: Vec<String>, out: PathBuf) -> AnalyzeArgs {
        AnalyzeArgs {
            roots,
            out,
            cpu: false,
            gpu: false,
            frames: 16,
            face_frames: 8,
            no_faces: false,
            allow_faceless: false,
            models: None,
            budget: None,
            fake_sample: FakeSample(Some(4)),
            shard: Some(Shard { index: 0, count: 1 }),
            clips_per_video_max: 3,
            include_official_test: false,
            jobs: None,
            seed: 0,
            quiet: true,
        }
    }

    #[test]
    fn rejects_missing_root_and_out_inside_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("data");
        std::fs::create_dir(&root).unwrap();
        let missing = dir.path().join("nope").display().to_string();
        let err = AnalyzeConfig::from_args(args(vec![missing.clone()], dir.path().join("o")));
        assert!(matches!(err, Err(UsageError::MissingRoot(r)) if r == missing));
        let r = root.display().to_string();
        let err = AnalyzeConfig::from_args(args(vec![r.clone()], root.join("sub/out")));
        assert!(
            matches!(err, Err(UsageError::OutInsideRoot { .. })),
            "{err:?}"
        );
    }

    #[test]
    fn same_named_roots_get_distinct_dataset_names() {
        let dir = tempfile::tempdir().unwrap();
        for p in ["a/data", "b/data"] {
            std::fs::create_dir_all(dir.path().join(p)).unwrap();
        }
        let roots = vec![
            dir.path().join("a/data").display().to_string() + "/",
            dir.path().join("b/data").display().to_string(),
        ];
        let cfg = AnalyzeConfig::from_args(args(roots, dir.path().join("out"))).unwrap();
        let names: Vec<_> = cfg.roots.iter().map(|r| r.dataset.as_str()).collect();
        assert_eq!(names, vec!["data", "data_2"]);
        assert!(!cfg.roots[0].display.ends_with('/'));
    }

    #[test]
    fn fake_sample_and_shard_flags_parse() {
        let cli = Cli::try_parse_from(["engine", "analyze", "r", "--shard", "2/3"]).unwrap();
        let Command::Analyze(a) = cli.command else {
            panic!("analyze")
        };
        assert_eq!(a.shard, Some(Shard { index: 2, count: 3 }));
        assert_eq!(
            a.fake_sample,
            FakeSample(Some(crate::policy::DEFAULT_FAKE_SAMPLE))
        );
        for (flag, want) in [("all", None), ("ALL", None), ("4", Some(4)), ("0", Some(0))] {
            let cli =
                Cli::try_parse_from(["engine", "analyze", "r", "--fake-sample", flag]).unwrap();
            let Command::Analyze(a) = cli.command else {
                panic!("analyze")
            };
            assert_eq!(a.fake_sample, FakeSample(want), "{flag}");
        }
        for bad in [
            ["--fake-sample", "some"],
            ["--shard", "3/3"],
            ["--shard", "1"],
        ] {
            let mut argv = vec!["engine", "analyze", "r"];
            argv.extend(bad);
            assert!(Cli::try_parse_from(argv).is_err(), "{bad:?}");
        }
    }
}
