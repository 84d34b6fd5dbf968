//! Report: the typed `report.json` document ([`ReportDoc`]: per-dataset
//! summary, fake catalog, recommendations, gaps, quality concerns) and the
//! writing of every output, `inventory.jsonl` (one line per video file),
//! `report.json`, `dedup_report.json`, `real_sources.jsonl`,
//! `diversity_balance.json`, `clip_plan.jsonl`, `fake_jobs.jsonl` and
//! `report.html` (rendered elsewhere from these
//! documents), each atomically into the output directory.
//!
//! Nothing here depends on timing or on which files were analysed in this run
//! rather than read from the catalog, so an interrupted and resumed run writes
//! the same bytes as an uninterrupted one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use indexmap::IndexMap;
use serde::Serialize;

use crate::dedup::DedupReport;
use crate::labels::Label;
use crate::plan::{FakeCatalog, PipelineRecommendations};
use crate::policy::{CLIP_LENGTH_S, LABEL_IMBALANCE_RATIO, LOW_RES_HEIGHT_PX};
use crate::record::{Concern, VideoRecord};
use crate::sample::{Gap, Selection};

/// What one dataset root held, beyond its video records.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct DatasetInfo {
    /// Dataset name.
    pub name: String,
    /// The root as written to the outputs.
    pub root: String,
    /// Metadata files found (displayed paths).
    pub metadata_files: Vec<String>,
    /// Metadata files some adapter used (displayed paths).
    pub used_metadata: Vec<String>,
    /// Layouts and metadata formats recognised.
    pub layouts: Vec<String>,
    /// Files that are neither video nor metadata.
    pub other_files: u64,
}

/// One `inventory.jsonl` line.
#[derive(Debug, Serialize)]
struct InventoryLine<'a> {
    dataset: &'a str,
    path: &'a str,
    rel_path: &'a str,
    size_bytes: u64,
    container: Option<&'a str>,
    format_name: Option<&'a str>,
    codec: Option<&'a str>,
    profile: Option<&'a str>,
    pix_fmt: Option<&'a str>,
    width: Option<u32>,
    height: Option<u32>,
    rotation_deg: Option<i32>,
    fps: Option<f64>,
    duration_s: Option<f64>,
    bitrate_bps: Option<u64>,
    frame_count: Option<u64>,
    frame_count_estimated: Option<bool>,
    has_audio: Option<bool>,
    audio_codec: Option<&'a str>,
    label: &'static str,
    label_source: Option<&'a str>,
    kind: crate::labels::VideoKind,
    method: Option<&'a str>,
    method_source: Option<&'a str>,
    original: Option<&'a str>,
    split: Option<&'a str>,
    official_split: Option<&'a str>,
    identity: Option<&'a str>,
    attrs: &'a BTreeMap<String, String>,
    frame_pass: Option<&'static str>,
    quality: Option<&'a crate::quality::VideoQuality>,
    faces: Option<&'a crate::faces::FaceSummary>,
    capture: Option<crate::capture::Capture>,
    scene: Option<crate::scene::SceneSummary>,
    cluster_id: Option<usize>,
    duplicate_of: Option<&'a str>,
    session_id: Option<usize>,
    error: Option<&'a str>,
}

fn inventory_line(r: &VideoRecord) -> InventoryLine<'_> {
    let p = r.probe.as_ref();
    let l = &r.labels;
    InventoryLine {
        dataset: &r.dataset,
        path: &r.path,
        rel_path: &r.rel_path,
        size_bytes: r.size_bytes,
        container: p.map(|p| p.container.as_str()),
        format_name: p.map(|p| p.format_name.as_str()),
        codec: p.map(|p| p.codec.as_str()),
        profile: p.and_then(|p| p.profile.as_deref()),
        pix_fmt: p.and_then(|p| p.pix_fmt.as_deref()),
        width: p.map(|p| p.width),
        height: p.map(|p| p.height),
        rotation_deg: p.map(|p| p.rotation_deg),
        fps: p.map(|p| round3(p.fps)),
        duration_s: p.map(|p| round3(p.duration_s)),
        bitrate_bps: p.map(|p| p.bitrate_bps),
        frame_count: p.map(|p| p.frame_count),
        frame_count_estimated: p.map(|p| p.frame_count_estimated),
        has_audio: p.map(|p| p.has_audio),
        audio_codec: p.and_then(|p| p.audio_codec.as_deref()),
        label: l.label.as_str(),
        label_source: (!l.label_source.is_empty()).then_some(l.label_source.as_str()),
        kind: l.kind,
        method: l.method.as_deref(),
        method_source: l.method_source.as_deref(),
        original: r.original_path.as_deref(),
        split: l.split.as_deref(),
        official_split: l.official_split.as_deref(),
        identity: l.identity.as_deref(),
        attrs: &l.attrs,
        frame_pass: r.frame_pass().map(|p| p.as_str()),
        quality: r.frames.as_ref().map(|f| &f.quality),
        faces: r.frames.as_ref().and_then(|f| f.faces.as_ref()),
        capture: crate::capture::for_record(r),
        scene: crate::scene::for_record(r),
        cluster_id: r.cluster_id,
        duplicate_of: r.duplicate_of.as_deref(),
        session_id: r.session_id,
        error: r.error.as_deref(),
    }
}

/// Everything a run writes besides `inventory.jsonl`, built from the records
/// (see `analyze::conclude`). Pure data: writing it twice gives the same bytes.
#[derive(Debug, Clone)]
pub struct Outputs {
    /// The `report.json` document.
    pub report: ReportDoc,
    /// The `dedup_report.json` document.
    pub dedup: DedupReport,
    /// The selection: `real_sources.jsonl` lines and `diversity_balance.json`.
    pub selection: Selection,
    /// `clip_plan.jsonl`: every planned clip with its split and group.
    pub clip_plan: Vec<crate::plan::PlannedClip>,
    /// `fake_jobs.jsonl`: one generation job per planned clip.
    pub fake_jobs: Vec<crate::stage2::FakeJob>,
    /// `report.html`.
    pub html: String,
}

/// File names of the outputs, in the order they are written (the human
/// report last, so its presence means the rest is there).
pub const OUTPUT_FILES: &[&str] = &[
    "inventory.jsonl",
    "dedup_report.json",
    "real_sources.jsonl",
    "diversity_balance.json",
    "clip_plan.jsonl",
    "fake_jobs.jsonl",
    "report.json",
    "report.html",
];

/// Write `inventory.jsonl` of `records` into `out_dir`, atomically.
pub fn write_inventory<'r>(
    out_dir: &Path,
    records: impl ExactSizeIterator<Item = &'r VideoRecord>,
) -> Result<()> {
    let mut inventory = Vec::with_capacity(records.len() * 512);
    for r in records {
        serde_json::to_writer(&mut inventory, &inventory_line(r))?;
        inventory.push(b'\n');
    }
    write_atomic(&out_dir.join("inventory.jsonl"), &inventory)
}

/// Write every output file into `out_dir`, each atomically.
pub fn write_outputs(out_dir: &Path, records: &[VideoRecord], outputs: &Outputs) -> Result<()> {
    write_inventory(out_dir, records.iter())?;
    write_atomic(&out_dir.join("dedup_report.json"), &pretty(&outputs.dedup)?)?;
    let mut lines = Vec::new();
    for p in &outputs.selection.picks {
        serde_json::to_writer(&mut lines, p)?;
        lines.push(b'\n');
    }
    write_atomic(&out_dir.join("real_sources.jsonl"), &lines)?;
    write_atomic(
        &out_dir.join("diversity_balance.json"),
        &pretty(&outputs.selection.balance)?,
    )?;
    let mut plan = Vec::new();
    for c in &outputs.clip_plan {
        serde_json::to_writer(&mut plan, c)?;
        plan.push(b'\n');
    }
    write_atomic(&out_dir.join("clip_plan.jsonl"), &plan)?;
    let mut jobs = Vec::new();
    for j in &outputs.fake_jobs {
        serde_json::to_writer(&mut jobs, j)?;
        jobs.push(b'\n');
    }
    write_atomic(&out_dir.join("fake_jobs.jsonl"), &jobs)?;
    write_atomic(&out_dir.join("report.json"), &pretty(&outputs.report)?)?;
    write_atomic(&out_dir.join("report.html"), outputs.html.as_bytes())?;
    Ok(())
}

/// A document as indented JSON with a final newline.
pub fn pretty<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    let mut text = serde_json::to_vec_pretty(v)?;
    text.push(b'\n');
    Ok(text)
}

/// Write a file through a temporary sibling and a rename, so a reader (or a
/// killed run) never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f =
        std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
    Ok(())
}

/// One input root.
#[derive(Debug, Clone, Serialize)]
pub struct RootEntry {
    /// Dataset name.
    pub dataset: String,
    /// The root as written to the outputs.
    pub root: String,
}

/// Video counts of a set of records.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Counts {
    /// Files with a video extension.
    pub total_videos: usize,
    /// Labelled real (readable or not).
    pub real_videos: usize,
    /// Labelled fake (readable or not).
    pub fake_videos: usize,
    /// With no label (masks not counted).
    pub unknown_label_videos: usize,
    /// Mask videos (manipulated pixels of a fake, e.g. FF++ `masks/`).
    pub mask_videos: usize,
    /// That could not be read.
    pub unreadable_videos: usize,
}

/// Duration statistics of the readable videos, seconds (hours for the total).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DurationStats {
    /// Shortest.
    pub min: Option<f64>,
    /// Longest.
    pub max: Option<f64>,
    /// Mean.
    pub mean: Option<f64>,
    /// Median.
    pub median: Option<f64>,
    /// Sum, hours.
    pub total_hours: f64,
}

/// Counts of the frame pass's categories.
#[derive(Debug, Clone, Default, Serialize)]
pub struct QualityCategories {
    /// Lighting categories.
    pub lighting: BTreeMap<String, usize>,
    /// Sharpness categories.
    pub sharpness: BTreeMap<String, usize>,
    /// Motion categories.
    pub motion: BTreeMap<String, usize>,
}

/// How a dataset's files are laid out.
#[derive(Debug, Clone, Serialize)]
pub struct FolderStructure {
    /// Layouts and metadata formats recognised.
    pub layouts_detected: Vec<String>,
    /// Videos per folder (first two path components).
    pub videos_per_folder: BTreeMap<String, usize>,
    /// Files that are neither video nor metadata.
    pub other_files: u64,
}

/// One dataset of `report.json`.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetSummary {
    /// Video counts.
    #[serde(flatten)]
    pub counts: Counts,
    /// The root.
    pub root: String,
    /// Readable videos per container.
    pub formats: BTreeMap<String, usize>,
    /// Readable videos per codec.
    pub codecs: BTreeMap<String, usize>,
    /// Readable videos per `WxH`.
    pub resolutions: BTreeMap<String, usize>,
    /// Durations of the readable videos.
    pub durations: DurationStats,
    /// Frame-pass categories of the readable videos.
    pub quality_categories: QualityCategories,
    /// Fakes per manipulation method (`unspecified` where none is named).
    pub methods: BTreeMap<String, usize>,
    /// Videos per split.
    pub splits: BTreeMap<String, usize>,
    /// Videos per label source.
    pub label_sources: BTreeMap<String, usize>,
    /// Metadata files found.
    pub metadata_files: Vec<String>,
    /// Metadata files some adapter used.
    pub metadata_files_used: Vec<String>,
    /// Layout.
    pub folder_structure: FolderStructure,
    /// What to do about this dataset, in words.
    pub recommendations: Vec<String>,
}

/// The whole `report.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ReportDoc {
    /// The engine's version.
    pub engine_version: &'static str,
    /// The roots, in the order given.
    pub roots: Vec<RootEntry>,
    /// Counts over all roots.
    pub totals: Counts,
    /// Per dataset, in root order.
    pub datasets: IndexMap<String, DatasetSummary>,
    /// Files and directories that could not be used, and why.
    pub quality_concerns: Vec<Concern>,
    /// How the face pass ran, or why it did not.
    pub face_pass: String,
    /// Axes that could not be measured or balanced.
    pub diversity_gaps: Vec<Gap>,
    /// The existing fakes.
    pub fake_catalog: FakeCatalog,
    /// Stage 1/2/3 recommendations.
    pub pipeline_recommendations: PipelineRecommendations,
}

/// What `report.json` is built from beyond the records and roots.
#[derive(Debug, Clone)]
pub struct ReportParts {
    /// How the face pass ran.
    pub face_pass: String,
    /// Missing axes.
    pub diversity_gaps: Vec<Gap>,
    /// The fake catalog.
    pub fake_catalog: FakeCatalog,
    /// The recommendations.
    pub pipeline_recommendations: PipelineRecommendations,
}

/// The `report.json` document.
pub fn build_report(
    datasets: &[DatasetInfo],
    records: &[VideoRecord],
    concerns: &[Concern],
    parts: ReportParts,
) -> ReportDoc {
    let mut per_dataset = IndexMap::new();
    for ds in datasets {
        let recs: Vec<&VideoRecord> = records.iter().filter(|r| r.dataset == ds.name).collect();
        let ds_concerns: Vec<&Concern> = concerns.iter().filter(|c| c.dataset == ds.name).collect();
        per_dataset.insert(ds.name.clone(), dataset_summary(ds, &recs, &ds_concerns));
    }
    let all: Vec<&VideoRecord> = records.iter().collect();
    ReportDoc {
        engine_version: env!("CARGO_PKG_VERSION"),
        roots: datasets
            .iter()
            .map(|d| RootEntry {
                dataset: d.name.clone(),
                root: d.root.clone(),
            })
            .collect(),
        totals: counts(&all),
        datasets: per_dataset,
        quality_concerns: concerns.to_vec(),
        face_pass: parts.face_pass,
        diversity_gaps: parts.diversity_gaps,
        fake_catalog: parts.fake_catalog,
        pipeline_recommendations: parts.pipeline_recommendations,
    }
}

fn counts(recs: &[&VideoRecord]) -> Counts {
    let n = |l: Label| recs.iter().filter(|r| r.labels.label == l).count();
    Counts {
        total_videos: recs.len(),
        real_videos: n(Label::Real),
        fake_videos: n(Label::Fake),
        unknown_label_videos: recs
            .iter()
            .filter(|r| r.labels.label == Label::Unknown && !r.is_mask())
            .count(),
        mask_videos: recs.iter().filter(|r| r.is_mask()).count(),
        unreadable_videos: recs.iter().filter(|r| !r.is_readable()).count(),
    }
}

fn dataset_summary(
    ds: &DatasetInfo,
    recs: &[&VideoRecord],
    concerns: &[&Concern],
) -> DatasetSummary {
    let readable: Vec<&VideoRecord> = recs.iter().copied().filter(|r| r.is_readable()).collect();
    let tally = |f: &dyn Fn(&VideoRecord) -> Option<String>| -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for r in &readable {
            if let Some(k) = f(r) {
                *m.entry(k).or_insert(0) += 1;
            }
        }
        m
    };
    let mut label_sources = BTreeMap::new();
    let mut methods = BTreeMap::new();
    let mut splits = BTreeMap::new();
    for r in recs {
        let source = if r.labels.label_source.is_empty() {
            "none"
        } else {
            r.labels.label_source.as_str()
        };
        *label_sources.entry(source.to_string()).or_insert(0usize) += 1;
        if r.labels.label == Label::Fake {
            let m = r
                .labels
                .method
                .clone()
                .unwrap_or_else(|| "unspecified".into());
            *methods.entry(m).or_insert(0usize) += 1;
        }
        if let Some(s) = &r.labels.split {
            *splits.entry(s.clone()).or_insert(0usize) += 1;
        }
    }
    let mut durations: Vec<f64> = readable
        .iter()
        .filter_map(|r| r.probe.as_ref().map(|p| p.duration_s))
        .collect();
    durations.sort_by(f64::total_cmp);
    DatasetSummary {
        counts: counts(recs),
        root: ds.root.clone(),
        formats: tally(&|r| r.probe.as_ref().map(|p| p.container.clone())),
        codecs: tally(&|r| r.probe.as_ref().map(|p| p.codec.clone())),
        resolutions: tally(&|r| {
            r.probe
                .as_ref()
                .map(|p| format!("{}x{}", p.width, p.height))
        }),
        durations: duration_stats(&durations),
        quality_categories: quality_categories(&readable),
        methods,
        splits,
        label_sources,
        metadata_files: ds.metadata_files.clone(),
        metadata_files_used: ds.used_metadata.clone(),
        folder_structure: FolderStructure {
            layouts_detected: ds.layouts.clone(),
            videos_per_folder: folder_counts(recs),
            other_files: ds.other_files,
        },
        recommendations: recommendations(recs, &readable, concerns),
    }
}

/// The snake_case name a unit enum serialises to.
fn name_of<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Counts of the frame pass's categories (lighting, sharpness, motion) over
/// the readable videos that have them.
fn quality_categories(readable: &[&VideoRecord]) -> QualityCategories {
    let mut out = QualityCategories::default();
    for q in readable
        .iter()
        .filter_map(|r| r.frames.as_ref().map(|f| &f.quality))
    {
        *out.lighting.entry(name_of(&q.lighting)).or_insert(0) += 1;
        *out.sharpness.entry(name_of(&q.sharpness)).or_insert(0) += 1;
        *out.motion.entry(name_of(&q.motion)).or_insert(0) += 1;
    }
    out
}

fn duration_stats(sorted: &[f64]) -> DurationStats {
    if sorted.is_empty() {
        return DurationStats {
            min: None,
            max: None,
            mean: None,
            median: None,
            total_hours: 0.0,
        };
    }
    let total: f64 = sorted.iter().sum();
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    DurationStats {
        min: Some(round3(sorted[0])),
        max: Some(round3(sorted[n - 1])),
        mean: Some(round3(total / n as f64)),
        median: Some(round3(median)),
        total_hours: round3(total / 3600.0),
    }
}

/// Videos per folder, by the first two path components of the relative path
/// (`original_sequences/youtube`); files at the top level count under `.`.
fn folder_counts(recs: &[&VideoRecord]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in recs {
        let parts: Vec<&str> = r.rel_path.split('/').collect();
        let dirs = &parts[..parts.len() - 1];
        let key = if dirs.is_empty() {
            ".".to_string()
        } else {
            dirs[..dirs.len().min(2)].join("/")
        };
        *m.entry(key).or_insert(0) += 1;
    }
    m
}

fn recommendations(
    recs: &[&VideoRecord],
    readable: &[&VideoRecord],
    concerns: &[&Concern],
) -> Vec<String> {
    let mut out = Vec::new();
    let unreadable = recs.len() - readable.len();
    if unreadable > 0 {
        out.push(format!(
            "{unreadable} of {} video files could not be read (see quality_concerns); re-copy or exclude them before clip extraction",
            recs.len()
        ));
    }
    for c in concerns
        .iter()
        .filter(|c| c.kind == crate::record::ConcernKind::MalformedMetadata)
    {
        out.push(format!(
            "metadata file {} could not be used ({}); its videos fell back to folder layout or `unknown`: fix or replace it",
            c.path, c.reason
        ));
    }
    let unknown = recs
        .iter()
        .filter(|r| r.labels.label == Label::Unknown && !r.is_mask())
        .count();
    if unknown > 0 {
        out.push(format!(
            "{unknown} videos have no real/fake label from metadata or layout; add a sidecar JSON with a `label` field or place them under real/ and fake/ folders"
        ));
    }
    let real = recs
        .iter()
        .filter(|r| r.labels.label == Label::Real)
        .count();
    let fake = recs
        .iter()
        .filter(|r| r.labels.label == Label::Fake)
        .count();
    if real > 0 && fake as f64 > LABEL_IMBALANCE_RATIO * real as f64 {
        out.push(format!(
            "{fake} fakes for {real} reals ({:.1}:1): draw fakes per real source rather than all of them, or add real footage",
            fake as f64 / real as f64
        ));
    } else if fake > 0 && real as f64 > LABEL_IMBALANCE_RATIO * fake as f64 {
        out.push(format!(
            "{real} reals for {fake} fakes ({:.1}:1): generate fakes from the selected real sources to reach 1:1",
            real as f64 / fake as f64
        ));
    }
    let short_real = readable
        .iter()
        .filter(|r| r.labels.label == Label::Real)
        .filter(|r| {
            r.probe
                .as_ref()
                .is_some_and(|p| p.duration_s < CLIP_LENGTH_S)
        })
        .count();
    if short_real > 0 {
        out.push(format!(
            "{short_real} readable real videos are shorter than {CLIP_LENGTH_S} s and cannot yield a 10-second clip"
        ));
    }
    let low_res = readable
        .iter()
        .filter(|r| {
            r.probe
                .as_ref()
                .is_some_and(|p| p.width.min(p.height) < LOW_RES_HEIGHT_PX)
        })
        .count();
    if !readable.is_empty() && low_res * 2 > readable.len() {
        out.push(format!(
            "{low_res} of {} readable videos are below {LOW_RES_HEIGHT_PX}p: keep their share in the selection in proportion, not dominant",
            readable.len()
        ));
    }
    out
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
