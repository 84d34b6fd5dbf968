//! Report: `inventory.jsonl` (one line per video file), `report.json`
//! (per-dataset summary, quality concerns), `dedup_report.json`,
//! `real_sources.jsonl`, `diversity_balance.json` and `report.html` (see
//! [`crate::html`]), each written atomically to the output directory.
//!
//! Nothing here depends on timing or on which files were analysed in this run
//! rather than read from the catalog, so an interrupted and resumed run writes
//! the same bytes as an uninterrupted one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::{json, Value};

use crate::labels::Label;
use crate::record::{Concern, VideoRecord};

/// Shortest video that yields one 10-second clip.
pub const CLIP_LENGTH_S: f64 = 10.0;

/// A fake:real (or real:fake) ratio above this is called out as an imbalance.
/// DFDC ships about 5 fakes per real; a detector trained on that sees mostly fakes.
const LABEL_IMBALANCE_RATIO: f64 = 3.0;

/// Height below which a video is called low resolution (below 480p, as DFDC's
/// smallest 320x240 videos are).
const LOW_RES_HEIGHT_PX: u32 = 480;

/// What one dataset root held, beyond its video records.
#[derive(Debug, Clone)]
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
    quality: Option<&'a crate::quality::VideoQuality>,
    faces: Option<&'a crate::faces::FaceSummary>,
    cluster_id: Option<usize>,
    duplicate_of: Option<&'a str>,
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
        quality: r.frames.as_ref().map(|f| &f.quality),
        faces: r.frames.as_ref().and_then(|f| f.faces.as_ref()),
        cluster_id: r.cluster_id,
        duplicate_of: r.duplicate_of.as_deref(),
        error: r.error.as_deref(),
    }
}

/// Everything a run writes besides `inventory.jsonl`, built from the records
/// (see `analyze::conclude`). Pure data: writing it twice gives the same bytes.
#[derive(Debug, Clone)]
pub struct Outputs {
    /// The `report.json` document.
    pub report: Value,
    /// The `dedup_report.json` document.
    pub dedup: Value,
    /// The selection: `real_sources.jsonl` lines and `diversity_balance.json`.
    pub selection: crate::sample::Selection,
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
    "report.json",
    "report.html",
];

/// Write every output file into `out_dir`, each atomically.
pub fn write_outputs(out_dir: &Path, records: &[VideoRecord], outputs: &Outputs) -> Result<()> {
    let mut inventory = Vec::with_capacity(records.len() * 512);
    for r in records {
        serde_json::to_writer(&mut inventory, &inventory_line(r))?;
        inventory.push(b'\n');
    }
    write_atomic(&out_dir.join("inventory.jsonl"), &inventory)?;
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
    write_atomic(&out_dir.join("report.json"), &pretty(&outputs.report)?)?;
    write_atomic(&out_dir.join("report.html"), outputs.html.as_bytes())?;
    Ok(())
}

fn pretty(v: &Value) -> Result<Vec<u8>> {
    let mut text = serde_json::to_vec_pretty(v)?;
    text.push(b'\n');
    Ok(text)
}

/// The `dedup_report.json` document: parameters, a summary, the clusters and
/// the fake→original links found by content.
pub fn dedup_doc(records: &[VideoRecord], dedup: &crate::dedup::DedupOutcome) -> Value {
    use crate::dedup as d;
    let mut per_dataset: BTreeMap<&str, usize> = BTreeMap::new();
    for &i in dedup.membership.keys() {
        *per_dataset.entry(records[i].dataset.as_str()).or_insert(0) += 1;
    }
    let cross_dataset = dedup
        .clusters
        .iter()
        .filter(|c| c.members.iter().any(|m| m.dataset != c.members[0].dataset))
        .count();
    let removed = dedup.membership.values().filter(|(_, kept)| !kept).count();
    let links_by_check = |check: &str| {
        dedup
            .links
            .iter()
            .filter(|l| l.metadata_check == check)
            .count()
    };
    json!({
        "parameters": {
            "frame_match_max_l2": d::FRAME_MATCH_MAX_L2,
            "min_matched_frames": d::MIN_MATCHED_FRAMES,
            "min_matched_fraction": d::MIN_MATCHED_FRACTION,
            "min_order_agreement": d::MIN_ORDER_AGREEMENT,
            "exact_search_up_to_frames": d::BRUTE_FORCE_MAX_FRAMES,
            "hnsw": {"m": d::HNSW_M, "ef_construction": d::HNSW_EF_CONSTRUCTION, "ef_search": d::HNSW_EF_SEARCH},
        },
        "summary": {
            "readable_videos": records.iter().filter(|r| r.is_readable()).count(),
            "clusters": dedup.clusters.len(),
            "exact_clusters": dedup.clusters.iter().filter(|c| c.kind == "exact").count(),
            "near_clusters": dedup.clusters.iter().filter(|c| c.kind == "near").count(),
            "videos_in_clusters": dedup.membership.len(),
            "videos_not_kept": removed,
            "videos_in_clusters_per_dataset": per_dataset,
            "cross_dataset_clusters": cross_dataset,
            "fake_original_links": dedup.links.len(),
            "fake_original_links_agreeing_with_metadata": links_by_check("agrees"),
            "fake_original_links_disagreeing_with_metadata": links_by_check("disagrees"),
            "fake_original_links_without_metadata": links_by_check("no_metadata"),
        },
        "clusters": dedup.clusters,
        "fake_original_links": dedup.links,
    })
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

/// The `report.json` document.
pub fn build_report(
    datasets: &[DatasetInfo],
    records: &[VideoRecord],
    concerns: &[Concern],
) -> Value {
    let mut per_dataset = serde_json::Map::new();
    for ds in datasets {
        let recs: Vec<&VideoRecord> = records.iter().filter(|r| r.dataset == ds.name).collect();
        let ds_concerns: Vec<&Concern> = concerns.iter().filter(|c| c.dataset == ds.name).collect();
        per_dataset.insert(ds.name.clone(), dataset_summary(ds, &recs, &ds_concerns));
    }
    let all: Vec<&VideoRecord> = records.iter().collect();
    json!({
        "engine_version": env!("CARGO_PKG_VERSION"),
        "roots": datasets.iter().map(|d| json!({"dataset": d.name, "root": d.root})).collect::<Vec<_>>(),
        "totals": counts(&all),
        "datasets": per_dataset,
        "quality_concerns": concerns,
    })
}

fn counts(recs: &[&VideoRecord]) -> Value {
    let n = |l: Label| recs.iter().filter(|r| r.labels.label == l).count();
    json!({
        "total_videos": recs.len(),
        "real_videos": n(Label::Real),
        "fake_videos": n(Label::Fake),
        "unknown_label_videos": n(Label::Unknown),
        "unreadable_videos": recs.iter().filter(|r| !r.is_readable()).count(),
    })
}

fn dataset_summary(ds: &DatasetInfo, recs: &[&VideoRecord], concerns: &[&Concern]) -> Value {
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
    let formats = tally(&|r| r.probe.as_ref().map(|p| p.container.clone()));
    let codecs = tally(&|r| r.probe.as_ref().map(|p| p.codec.clone()));
    let resolutions = tally(&|r| {
        r.probe
            .as_ref()
            .map(|p| format!("{}x{}", p.width, p.height))
    });
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
    let mut summary = counts(recs);
    let obj = summary.as_object_mut().expect("counts is an object");
    obj.insert("root".into(), json!(ds.root));
    obj.insert("formats".into(), json!(formats));
    obj.insert("codecs".into(), json!(codecs));
    obj.insert("resolutions".into(), json!(resolutions));
    obj.insert("durations".into(), duration_stats(&durations));
    obj.insert("quality_categories".into(), quality_categories(&readable));
    obj.insert("methods".into(), json!(methods));
    obj.insert("splits".into(), json!(splits));
    obj.insert("label_sources".into(), json!(label_sources));
    obj.insert("metadata_files".into(), json!(ds.metadata_files));
    obj.insert("metadata_files_used".into(), json!(ds.used_metadata));
    obj.insert(
        "folder_structure".into(),
        json!({
            "layouts_detected": ds.layouts,
            "videos_per_folder": folder_counts(recs),
            "other_files": ds.other_files,
        }),
    );
    obj.insert(
        "recommendations".into(),
        json!(recommendations(recs, &readable, concerns)),
    );
    summary
}

/// Counts of the frame pass's categories (lighting, sharpness, motion) over
/// the readable videos that have them.
fn quality_categories(readable: &[&VideoRecord]) -> Value {
    let mut lighting = BTreeMap::new();
    let mut sharpness = BTreeMap::new();
    let mut motion = BTreeMap::new();
    let name = |v: Value| v.as_str().unwrap_or_default().to_string();
    for q in readable
        .iter()
        .filter_map(|r| r.frames.as_ref().map(|f| &f.quality))
    {
        *lighting.entry(name(json!(q.lighting))).or_insert(0usize) += 1;
        *sharpness.entry(name(json!(q.sharpness))).or_insert(0usize) += 1;
        *motion.entry(name(json!(q.motion))).or_insert(0usize) += 1;
    }
    json!({"lighting": lighting, "sharpness": sharpness, "motion": motion})
}

fn duration_stats(sorted: &[f64]) -> Value {
    if sorted.is_empty() {
        return json!({"min": null, "max": null, "mean": null, "median": null, "total_hours": 0.0});
    }
    let total: f64 = sorted.iter().sum();
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    json!({
        "min": round3(sorted[0]),
        "max": round3(sorted[n - 1]),
        "mean": round3(total / n as f64),
        "median": round3(median),
        "total_hours": round3(total / 3600.0),
    })
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
        .filter(|r| r.labels.label == Label::Unknown)
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
