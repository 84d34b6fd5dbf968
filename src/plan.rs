//! The fake catalog and the stage 1/2/3 recommendations of `report.json`:
//! how the selected reals go through clip extraction, which fakes to generate
//! from them, and how to assemble identity- and cluster-disjoint splits.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::dedup::DedupOutcome;
use crate::faces::summary::median;
use crate::labels::Label;
use crate::manifest::ManifestEntry;
use crate::policy::{CLIP_LENGTH_S, CLIP_MARGIN_S, SPLIT_SHARES};
use crate::record::VideoRecord;
use crate::sample::{Pick, Selection};
use crate::unionfind::UnionFind;

fn r3(x: Option<f64>) -> Option<f64> {
    x.map(|x| (x * 1000.0).round() / 1000.0)
}

/// Medians of a set of videos: height, bitrate, blur, blockiness.
#[derive(Debug, Clone, Serialize)]
pub struct QualitySummary {
    /// Videos in the set.
    pub videos: usize,
    /// Of those, readable.
    pub readable: usize,
    /// Median height, pixels.
    pub height_px_median: Option<f64>,
    /// Median bitrate, bits per second.
    pub bitrate_bps_median: Option<f64>,
    /// Median of the per-video median Laplacian variance (sharpness).
    pub laplacian_var_median: Option<f64>,
    /// Median of the per-video median 8x8 blockiness (compression).
    pub blockiness_median: Option<f64>,
}

/// Flicker inside faces against the background.
#[derive(Debug, Clone, Serialize)]
pub struct TemporalConsistency {
    /// Median over the fakes of face change / background change.
    pub face_to_background_change_ratio_median: Option<f64>,
    /// Fakes the median rests on.
    pub videos_measured: usize,
    /// What the ratio means.
    pub meaning: &'static str,
}

/// One manipulation method of one dataset.
#[derive(Debug, Clone, Serialize)]
pub struct MethodRow {
    /// Fakes of the method.
    pub count: usize,
    /// Of those, the fakes the frame pass measured (the `--fake-sample`
    /// sample that was readable): `fakes`' blur and blockiness and
    /// `temporal_consistency` rest on these; the rest had at most the
    /// keyframe pass (link evidence).
    pub measured_fakes: usize,
    /// Generator family, if the method is recognised.
    pub family: Option<&'static str>,
    /// The fakes' quality.
    pub fakes: QualitySummary,
    /// Their originals' quality (metadata links).
    pub their_originals: QualitySummary,
    /// Flicker inside the faces.
    pub temporal_consistency: TemporalConsistency,
}

/// How fakes are linked to their originals.
#[derive(Debug, Clone, Serialize)]
pub struct OriginalLinks {
    /// Fakes whose metadata names an original.
    pub named_by_metadata: usize,
    /// ...and that original is among the inventoried files.
    pub named_original_present: usize,
    /// Fakes whose frames match a real video.
    pub found_by_content: usize,
    /// `named_by_metadata` over the fakes.
    pub coverage_by_metadata: Option<f64>,
}

/// The fakes of one dataset.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetFakes {
    /// Fake videos.
    pub fake_videos: usize,
    /// Per method (`unspecified` where the metadata names none).
    pub methods: BTreeMap<String, MethodRow>,
    /// Links to originals.
    pub original_links: OriginalLinks,
}

/// `report.json`'s `fake_catalog`: per dataset with fakes.
pub type FakeCatalog = BTreeMap<String, DatasetFakes>;

/// Quality summary of a set of records: median height, bitrate, blur.
fn quality_of(recs: &[&VideoRecord]) -> QualitySummary {
    let readable: Vec<&&VideoRecord> = recs.iter().filter(|r| r.is_readable()).collect();
    let p = |f: &dyn Fn(&VideoRecord) -> Option<f64>| {
        r3(median(readable.iter().filter_map(|r| f(r)).collect()))
    };
    QualitySummary {
        videos: recs.len(),
        readable: readable.len(),
        height_px_median: p(&|r| r.probe.as_ref().map(|p| f64::from(p.height))),
        bitrate_bps_median: p(&|r| r.probe.as_ref().map(|p| p.bitrate_bps as f64)),
        laplacian_var_median: p(&|r| r.frames.as_ref().map(|f| f.quality.laplacian_var.median)),
        blockiness_median: p(&|r| r.frames.as_ref().map(|f| f.quality.blockiness.median)),
    }
}

/// Per dataset: methods with counts, the fakes' quality beside their
/// originals', temporal consistency inside faces, and coverage of
/// fake→original links (metadata and content).
pub fn fake_catalog(records: &[VideoRecord], dedup: &DedupOutcome) -> FakeCatalog {
    let by_path: BTreeMap<&str, &VideoRecord> =
        records.iter().map(|r| (r.path.as_str(), r)).collect();
    let content_links: BTreeSet<&str> = dedup.links.iter().map(|l| l.fake.as_str()).collect();
    let datasets: BTreeSet<&str> = records.iter().map(|r| r.dataset.as_str()).collect();
    let mut out = FakeCatalog::new();
    for ds in datasets {
        let fakes: Vec<&VideoRecord> = records
            .iter()
            .filter(|r| r.dataset == ds && r.labels.label == Label::Fake)
            .collect();
        if fakes.is_empty() {
            continue;
        }
        let mut methods: BTreeMap<String, Vec<&VideoRecord>> = BTreeMap::new();
        for f in &fakes {
            methods
                .entry(
                    f.labels
                        .method
                        .clone()
                        .unwrap_or_else(|| "unspecified".into()),
                )
                .or_default()
                .push(f);
        }
        let method_rows = methods
            .iter()
            .map(|(m, fs)| {
                let originals: Vec<&VideoRecord> = fs
                    .iter()
                    .filter_map(|f| {
                        f.original_path
                            .as_deref()
                            .and_then(|o| by_path.get(o).copied())
                    })
                    .collect();
                let ratios: Vec<f64> = fs
                    .iter()
                    .filter_map(|f| f.frames.as_ref()?.faces.as_ref())
                    .filter_map(|s| {
                        Some(
                            s.face_temporal_change_median?
                                / s.background_temporal_change_median?.max(0.1),
                        )
                    })
                    .collect();
                let row = MethodRow {
                    count: fs.len(),
                    measured_fakes: fs.iter().filter(|f| f.frames.is_some()).count(),
                    family: crate::generators::family_of(m),
                    fakes: quality_of(fs),
                    their_originals: quality_of(&originals),
                    temporal_consistency: TemporalConsistency {
                        face_to_background_change_ratio_median: r3(median(ratios.clone())),
                        videos_measured: ratios.len(),
                        meaning: "frame-to-frame luma change inside the face box divided by the change outside it; swapped faces that flicker sit well above their originals' ratio",
                    },
                };
                (m.clone(), row)
            })
            .collect();
        let with_meta = fakes.iter().filter(|f| f.original_path.is_some()).count();
        let meta_found = fakes
            .iter()
            .filter(|f| {
                f.original_path
                    .as_deref()
                    .is_some_and(|o| by_path.contains_key(o))
            })
            .count();
        let by_content = fakes
            .iter()
            .filter(|f| content_links.contains(f.path.as_str()))
            .count();
        out.insert(
            ds.to_string(),
            DatasetFakes {
                fake_videos: fakes.len(),
                methods: method_rows,
                original_links: OriginalLinks {
                    named_by_metadata: with_meta,
                    named_original_present: meta_found,
                    found_by_content: by_content,
                    coverage_by_metadata: r3(Some(with_meta as f64 / fakes.len() as f64)),
                },
            },
        );
    }
    out
}

/// One planned 10-second clip: a `clip_plan.jsonl` line, what `engine
/// extract` cuts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedClip {
    /// Stable id, `<dataset>/<path in the root>/<start ms>` (see
    /// [`ManifestEntry::clip_id_for`]).
    pub clip_id: String,
    /// The source video, as the outputs spell paths.
    pub source_path: String,
    /// Start in the source, seconds.
    pub start_s: f64,
    /// End in the source, seconds.
    pub end_s: f64,
    /// `train`, `val` or `test`.
    pub split: String,
    /// The split-integrity group: every clip of one group is in one split.
    pub group: String,
    /// The person shown, where known.
    pub identity: Option<String>,
    /// The source's categories per axis.
    pub axes: BTreeMap<String, String>,
    /// Why the source was selected.
    pub reason: String,
}

/// A primary-axis category whose clips the groups would not let split in
/// the planned shares.
#[derive(Debug, Clone, Serialize)]
pub struct SplitDeviation {
    /// The axis.
    pub axis: String,
    /// The category.
    pub category: String,
    /// The split.
    pub split: String,
    /// Clips planned there.
    pub clips: usize,
    /// Clips the split's share would give.
    pub expected: f64,
    /// Why, in words.
    pub why: String,
}

/// Where every selected video goes.
#[derive(Debug, Clone)]
pub struct SplitPlan {
    /// Split per selected video path.
    pub split_of: BTreeMap<String, &'static str>,
    /// Split-integrity group per selected video path.
    pub group_of: BTreeMap<String, String>,
    /// Groups and the clips in them.
    pub groups: usize,
    /// Primary-axis categories the plan could not split in the planned
    /// shares (more than [`crate::policy::QUOTA_TOLERANCE`] clip off).
    pub could_not_hold: Vec<SplitDeviation>,
}

/// The keys that tie a pick to others: its person, its duplicate cluster, its
/// recording session; the video itself when none applies.
fn group_keys(p: &Pick) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(i) = &p.identity {
        // Metadata identities are per dataset; face identities span roots.
        if i.starts_with("face_identity_") {
            keys.push(format!("identity:{i}"));
        } else {
            keys.push(format!("identity:{}/{i}", p.dataset));
        }
    }
    if let Some(c) = p.cluster_id {
        keys.push(format!("cluster:{c}"));
    }
    if let Some(s) = p.session_id {
        keys.push(format!("session:{s}"));
    }
    keys.push(format!("video:{}", p.path));
    keys
}

/// Assign each selected video to a split so that no split-integrity group
/// (picks tied by person, duplicate cluster or recording session,
/// transitively) spans two splits. A group holding an official test (or val)
/// video goes to test (val); the others are dealt, largest first, to the
/// split furthest below its clip share, stratified by the pick's category.
/// `primary_axes` are checked afterwards: categories the groups kept from the
/// planned shares are listed.
pub fn split_plan(picks: &[Pick], primary_axes: &[String]) -> SplitPlan {
    let keys: Vec<Vec<String>> = picks.iter().map(group_keys).collect();
    let mut first_with: BTreeMap<&str, usize> = BTreeMap::new();
    let mut sets = UnionFind::new(picks.len());
    for (i, ks) in keys.iter().enumerate() {
        for k in ks {
            match first_with.get(k.as_str()) {
                Some(&j) => sets.union(i, j),
                None => {
                    first_with.insert(k.as_str(), i);
                }
            }
        }
    }
    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..picks.len() {
        members.entry(sets.find(i)).or_default().push(i);
    }
    // Each group is named by its smallest key.
    let mut groups: Vec<(String, Vec<usize>)> = members
        .into_values()
        .map(|m| {
            let name = m
                .iter()
                .flat_map(|&i| keys[i].iter())
                .min()
                .expect("every pick has a key")
                .clone();
            (name, m)
        })
        .collect();
    let clips = |g: &[usize]| g.iter().map(|&i| picks[i].extract_clips).sum::<usize>();
    let forced = |g: &[usize]| -> Option<&'static str> {
        let official = |s: &str| {
            g.iter()
                .any(|&i| picks[i].official_split.as_deref() == Some(s))
        };
        if official("test") {
            Some("test")
        } else if official("val") {
            Some("val")
        } else {
            None
        }
    };
    // Forced groups first, then the rest largest first.
    groups.sort_by(|a, b| {
        forced(&b.1)
            .is_some()
            .cmp(&forced(&a.1).is_some())
            .then(clips(&b.1).cmp(&clips(&a.1)))
            .then(a.0.cmp(&b.0))
    });
    let mut per_split_category: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut per_split: BTreeMap<&str, usize> = BTreeMap::new();
    let mut split_of = BTreeMap::new();
    let mut group_of = BTreeMap::new();
    for (name, g) in &groups {
        let cat = picks[g[0]].category.as_str();
        let n = clips(g).max(1);
        let split = forced(g).unwrap_or_else(|| {
            let cat_total: usize = per_split_category
                .iter()
                .filter(|((_, c), _)| *c == cat)
                .map(|(_, v)| v)
                .sum::<usize>()
                + n;
            let all_total: usize = per_split.values().sum::<usize>() + n;
            SPLIT_SHARES
                .iter()
                .map(|&(s, share)| {
                    let in_cat = per_split_category.get(&(s, cat)).copied().unwrap_or(0) as f64;
                    let overall = per_split.get(s).copied().unwrap_or(0) as f64;
                    let deficit = share * cat_total as f64 - in_cat
                        + 0.5 * (share * all_total as f64 - overall);
                    (s, deficit)
                })
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .expect("splits")
                .0
        });
        *per_split_category.entry((split, cat)).or_insert(0) += n;
        *per_split.entry(split).or_insert(0) += n;
        for &i in g {
            split_of.insert(picks[i].path.clone(), split);
            group_of.insert(picks[i].path.clone(), name.clone());
        }
    }
    // Per primary axis and category: clips per split against the shares.
    let mut could_not_hold = Vec::new();
    for axis in primary_axes {
        let mut per_cat: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
        for p in picks {
            if let Some(c) = p.axes.get(axis) {
                *per_cat
                    .entry(c.as_str())
                    .or_default()
                    .entry(split_of[&p.path])
                    .or_insert(0) += p.extract_clips;
            }
        }
        for (cat, by_split) in per_cat {
            let total: usize = by_split.values().sum();
            let in_cat: Vec<&(String, Vec<usize>)> = groups
                .iter()
                .filter(|(_, g)| {
                    g.iter()
                        .any(|&i| picks[i].axes.get(axis).map(String::as_str) == Some(cat))
                })
                .collect();
            let fixed: usize = in_cat
                .iter()
                .filter(|(_, g)| forced(g).is_some())
                .map(|(_, g)| clips(g))
                .sum();
            for &(split, share) in SPLIT_SHARES.iter() {
                let got = by_split.get(split).copied().unwrap_or(0);
                let expected = share * total as f64;
                if (got as f64 - expected).abs() <= crate::policy::QUOTA_TOLERANCE as f64 + 1e-9 {
                    continue;
                }
                let largest = in_cat.iter().map(|(_, g)| clips(g)).max().unwrap_or(0);
                let why = if fixed > 0 {
                    format!("{fixed} of its {total} clips are fixed to their official split")
                } else {
                    format!(
                        "its {total} clips come in {} group{} (largest {largest} clips) that cannot be divided",
                        in_cat.len(),
                        if in_cat.len() == 1 { "" } else { "s" }
                    )
                };
                could_not_hold.push(SplitDeviation {
                    axis: axis.clone(),
                    category: cat.to_string(),
                    split: split.to_string(),
                    clips: got,
                    expected: (expected * 100.0).round() / 100.0,
                    why,
                });
            }
        }
    }
    SplitPlan {
        split_of,
        group_of,
        groups: groups.len(),
        could_not_hold,
    }
}

/// The `clip_plan.jsonl` lines: every planned clip of the selection with its
/// split and group.
pub fn clip_plan(picks: &[Pick], plan: &SplitPlan) -> Vec<PlannedClip> {
    picks
        .iter()
        .flat_map(|p| {
            p.clips.iter().map(move |c| PlannedClip {
                clip_id: ManifestEntry::clip_id_for(&p.dataset, &p.rel_path, c.start_s),
                source_path: p.path.clone(),
                start_s: c.start_s,
                end_s: c.end_s,
                split: plan.split_of[&p.path].to_string(),
                group: plan.group_of[&p.path].clone(),
                identity: p.identity.clone(),
                axes: p.axes.clone(),
                reason: p.reason.clone(),
            })
        })
        .collect()
}

/// `pipeline_recommendations` of `report.json`.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineRecommendations {
    /// Stage 1: which reals, how many clips.
    pub stage1_real_selection: Stage1,
    /// Stage 2: which fakes to generate (`fake_jobs.jsonl`).
    pub stage2_fake_generation: crate::stage2::Stage2,
    /// Stage 3: how to assemble the splits.
    pub stage3_dataset_assembly: Stage3,
}

/// Stage 1 of the pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct Stage1 {
    /// What a candidate is.
    pub criteria: &'static str,
    /// Videos that are not candidates, by reason.
    pub quality_filters: BTreeMap<String, usize>,
    /// How duplicates are handled.
    pub dedup: Stage1Dedup,
    /// How clips are placed.
    pub clip_strategy: ClipStrategy,
    /// Videos selected.
    pub selected_videos: usize,
    /// Clips planned.
    pub expected_clip_count: usize,
}

/// Duplicates in stage 1.
#[derive(Debug, Clone, Serialize)]
pub struct Stage1Dedup {
    /// Near-duplicate clusters.
    pub clusters: usize,
    /// Members not kept.
    pub videos_not_kept: usize,
    /// The rule.
    pub rule: &'static str,
}

/// Clip placement.
#[derive(Debug, Clone, Serialize)]
pub struct ClipStrategy {
    /// Clip length, seconds.
    pub clip_length_s: f64,
    /// Seconds avoided at each end.
    pub margin_s: f64,
    /// Most clips per video.
    pub clips_per_video_max: usize,
    /// In words.
    pub placement: &'static str,
}

/// One planned split.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedSplit {
    /// Videos.
    pub videos: usize,
    /// Real clips.
    pub real_clips: usize,
}

/// The manifest `engine promote` reads.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestFormat {
    /// The file.
    pub file: &'static str,
    /// Its fields.
    pub fields: Vec<&'static str>,
    /// How it is promoted.
    pub promotion: &'static str,
}

/// Stage 3 of the pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct Stage3 {
    /// Split shares.
    pub split_shares: BTreeMap<String, f64>,
    /// The rule.
    pub split_rule: &'static str,
    /// Videos and clips per split.
    pub planned_splits: BTreeMap<String, PlannedSplit>,
    /// Split-integrity groups (picks tied by person, duplicate cluster or
    /// recording session).
    pub groups: usize,
    /// Where the groups kept a primary-axis category from the planned shares.
    pub could_not_hold: Vec<SplitDeviation>,
    /// The plan, one line per clip.
    pub clip_plan_file: &'static str,
    /// Real:fake balance.
    pub balance: &'static str,
    /// The manifest.
    pub manifest_format: ManifestFormat,
}

/// `pipeline_recommendations` of `report.json`, for the selection split by
/// `plan`.
pub fn recommendations(
    selection: &Selection,
    dedup: &DedupOutcome,
    plan: &SplitPlan,
    stage2: crate::stage2::Stage2,
) -> PipelineRecommendations {
    let splits = &plan.split_of;
    let mut planned: BTreeMap<String, PlannedSplit> = BTreeMap::new();
    for p in &selection.picks {
        let e = planned
            .entry(splits[&p.path].to_string())
            .or_insert(PlannedSplit {
                videos: 0,
                real_clips: 0,
            });
        e.videos += 1;
        e.real_clips += p.extract_clips;
    }
    PipelineRecommendations {
        stage1_real_selection: Stage1 {
            criteria: "readable real videos, one per near-duplicate cluster, at least one 10-second clip long, chosen by the multi-axis quota sampler (diversity_balance.json)",
            quality_filters: selection.balance.excluded.clone(),
            dedup: Stage1Dedup {
                clusters: dedup.clusters.len(),
                videos_not_kept: dedup.membership.values().filter(|(_, kept)| !kept).count(),
                rule: "only the kept member of each cluster is a candidate",
            },
            clip_strategy: ClipStrategy {
                clip_length_s: CLIP_LENGTH_S,
                margin_s: CLIP_MARGIN_S,
                clips_per_video_max: selection.balance.clips_per_video_max,
                placement: "evenly spaced, avoiding the first and last seconds",
            },
            selected_videos: selection.picks.len(),
            expected_clip_count: selection.expected_clips,
        },
        stage2_fake_generation: stage2,
        stage3_dataset_assembly: Stage3 {
            split_shares: SPLIT_SHARES
                .iter()
                .map(|(s, v)| (s.to_string(), *v))
                .collect(),
            split_rule: "group-disjoint: picks of one person, one duplicate cluster or one recording session form a group that lands whole in one split; a group holding an official test (val) video goes to test (val); the rest are stratified by the selection's category",
            planned_splits: planned,
            groups: plan.groups,
            could_not_hold: plan.could_not_hold.clone(),
            clip_plan_file: "clip_plan.jsonl",
            balance: "real:fake 1:1 per split: every fake job (fake_jobs.jsonl) is made from a real clip of the same split, generators dealt in turn",
            manifest_format: ManifestFormat {
                file: "JSONL, one clip per line",
                fields: vec![
                    "clip_id",
                    "source_path",
                    "start_s",
                    "end_s",
                    "label",
                    "method",
                    "source_ids",
                    "split",
                    "axes",
                    "sha256",
                    "encoding (optional)",
                ],
                promotion: "engine promote MANIFEST --into DIR appends to DIR/ledger.jsonl: never rewrites an entry, skips entries already present (same sha256), refuses conflicting ones (a clip that would change split or label)",
            },
        },
    }
}
