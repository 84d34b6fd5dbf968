//! The fake catalog and the stage 1/2/3 recommendations of `report.json`:
//! how the selected reals go through clip extraction, which fakes to generate
//! from them, and how to assemble identity- and cluster-disjoint splits.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::dedup::DedupOutcome;
use crate::faces::summary::median;
use crate::labels::Label;
use crate::policy::{CLIP_LENGTH_S, CLIP_MARGIN_S, SPLIT_SHARES};
use crate::record::VideoRecord;
use crate::sample::{Pick, Selection};

/// Generator families and the method names (case-insensitive substrings)
/// that belong to each, from the datasets' own method lists (FF++, DFDC,
/// DeeperForensics, FakeAVCeleb, DF40).
pub const FAMILIES: &[(&str, &[&str])] = &[
    (
        "face_swap",
        &[
            "celeb-synthesis",
            "deepfakes",
            "faceswap",
            "faceshifter",
            "df-vae",
            "fsgan",
            "simswap",
            "deepfakedetection",
            "blendface",
            "inswapper",
            "e4s",
            "uniface",
            "mobileswap",
        ],
    ),
    (
        "reenactment",
        &[
            "face2face",
            "neuraltextures",
            "fomm",
            "facevid2vid",
            "wav2lip_reenact",
            "lia",
            "tpsm",
            "mcnet",
            "hyperreenact",
            "sadtalker",
        ],
    ),
    ("lip_sync", &["wav2lip", "talklip", "sadtalker"]),
    (
        "full_synthesis",
        &[
            "stylegan",
            "ddpm",
            "ddim",
            "dit",
            "sit",
            "pixart",
            "sd",
            "midjourney",
            "vqgan",
            "rddm",
        ],
    ),
    (
        "face_editing",
        &["stargan", "starganv2", "styleclip", "e4e", "collabdiff"],
    ),
];

/// The family of a manipulation method, if recognised.
pub fn family_of(method: &str) -> Option<&'static str> {
    let m = method.to_ascii_lowercase();
    FAMILIES
        .iter()
        .find(|(_, names)| {
            names
                .iter()
                .any(|n| m == *n || m.contains(n) && n.len() > 3)
        })
        .map(|(f, _)| *f)
}

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
                    family: family_of(m),
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

/// Assign each selected video to a split so that no identity (or, where the
/// identity is unknown, no near-duplicate cluster or video) spans two splits;
/// groups are dealt to the split furthest below its clip share, stratified by
/// the pick's category, largest groups first.
pub fn split_plan(picks: &[Pick]) -> BTreeMap<String, &'static str> {
    let group_of = |p: &Pick| -> String {
        p.identity
            .clone()
            .map(|i| format!("{}:identity:{i}", p.dataset))
            .or_else(|| p.cluster_id.map(|c| format!("cluster:{c}")))
            .unwrap_or_else(|| format!("video:{}", p.path))
    };
    let mut groups: BTreeMap<String, Vec<&Pick>> = BTreeMap::new();
    for p in picks {
        groups.entry(group_of(p)).or_default().push(p);
    }
    let mut order: Vec<(&String, &Vec<&Pick>)> = groups.iter().collect();
    let clips = |g: &[&Pick]| g.iter().map(|p| p.extract_clips).sum::<usize>();
    order.sort_by(|a, b| clips(b.1).cmp(&clips(a.1)).then(a.0.cmp(b.0)));
    let mut per_split_category: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut per_split: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for (_, g) in order {
        let cat = g[0].category.as_str();
        let n = clips(g).max(1);
        let cat_total: usize = per_split_category
            .iter()
            .filter(|((_, c), _)| *c == cat)
            .map(|(_, v)| v)
            .sum::<usize>()
            + n;
        let all_total: usize = per_split.values().sum::<usize>() + n;
        let (split, _) = SPLIT_SHARES
            .iter()
            .map(|&(s, share)| {
                let in_cat = per_split_category.get(&(s, cat)).copied().unwrap_or(0) as f64;
                let overall = per_split.get(s).copied().unwrap_or(0) as f64;
                let deficit =
                    share * cat_total as f64 - in_cat + 0.5 * (share * all_total as f64 - overall);
                (s, deficit)
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .expect("splits");
        *per_split_category.entry((split, cat)).or_insert(0) += n;
        *per_split.entry(split).or_insert(0) += n;
        for p in g {
            out.insert(p.path.clone(), split);
        }
    }
    out
}

/// `pipeline_recommendations` of `report.json`.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineRecommendations {
    /// Stage 1: which reals, how many clips.
    pub stage1_real_selection: Stage1,
    /// Stage 2: which fakes to generate.
    pub stage2_fake_generation: Stage2,
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

/// A generator family to add.
#[derive(Debug, Clone, Serialize)]
pub struct GeneratorRecommendation {
    /// The family.
    pub family: &'static str,
    /// Why.
    pub why: String,
}

/// A compression setting to vary.
#[derive(Debug, Clone, Serialize)]
pub struct CompressionSetting {
    /// Name.
    pub name: &'static str,
    /// x264 CRF.
    pub x264_crf: u32,
}

/// Parameters to vary when generating fakes.
#[derive(Debug, Clone, Serialize)]
pub struct ParameterVariations {
    /// Resolutions of the selected reals.
    pub resolution: BTreeSet<String>,
    /// Compression levels.
    pub compression: Vec<CompressionSetting>,
    /// Blending masks.
    pub blending_mask: Vec<&'static str>,
    /// Colour transfer.
    pub color_transfer: Vec<&'static str>,
}

/// Stage 2 of the pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct Stage2 {
    /// Generator families among the existing fakes.
    pub families_present: BTreeSet<&'static str>,
    /// Methods among the existing fakes.
    pub methods_present: BTreeSet<String>,
    /// Families with no fakes.
    pub families_missing: Vec<&'static str>,
    /// What to add.
    pub recommended_generators: Vec<GeneratorRecommendation>,
    /// What to vary.
    pub parameter_variations: ParameterVariations,
    /// How targets and sources are paired.
    pub pairing: &'static str,
    /// Fakes per real clip.
    pub per_real_clip: &'static str,
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
    /// Real:fake balance.
    pub balance: &'static str,
    /// The manifest.
    pub manifest_format: ManifestFormat,
}

/// `pipeline_recommendations` of `report.json`.
pub fn recommendations(
    records: &[VideoRecord],
    selection: &Selection,
    dedup: &DedupOutcome,
) -> PipelineRecommendations {
    let fakes = || records.iter().filter(|r| r.labels.label == Label::Fake);
    let present: BTreeSet<&'static str> = fakes()
        .filter_map(|r| r.labels.method.as_deref().and_then(family_of))
        .collect();
    let methods: BTreeSet<String> = fakes().filter_map(|r| r.labels.method.clone()).collect();
    let missing: Vec<&'static str> = FAMILIES
        .iter()
        .map(|f| f.0)
        .filter(|f| !present.contains(f))
        .collect();
    let splits = split_plan(&selection.picks);
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
    let resolutions: BTreeSet<String> = selection
        .picks
        .iter()
        .filter_map(|p| p.axes.get("resolution").cloned())
        .collect();
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
        stage2_fake_generation: Stage2 {
            families_present: present,
            methods_present: methods,
            recommended_generators: missing
                .iter()
                .map(|f| GeneratorRecommendation {
                    family: f,
                    why: format!("no {f} fakes in the existing datasets: a detector trained without them will not learn their artefacts"),
                })
                .collect(),
            families_missing: missing,
            parameter_variations: ParameterVariations {
                resolution: resolutions,
                compression: vec![
                    CompressionSetting {
                        name: "c23-like",
                        x264_crf: 23,
                    },
                    CompressionSetting {
                        name: "c40-like",
                        x264_crf: 40,
                    },
                ],
                blending_mask: vec!["hard", "gaussian_feathered", "poisson"],
                color_transfer: vec!["none", "reinhard", "histogram_match"],
            },
            pairing: "each fake's target is a selected real clip, so fakes follow the same balanced strata; the source identity is drawn (seeded) from another identity of the same split and, where known, the same gender and age group; never across splits",
            per_real_clip: "one fake per real clip and per generator, so real:fake stays 1:1 per method",
        },
        stage3_dataset_assembly: Stage3 {
            split_shares: SPLIT_SHARES
                .iter()
                .map(|(s, v)| (s.to_string(), *v))
                .collect(),
            split_rule: "identity-disjoint (cluster-disjoint where the identity is unknown), stratified by the selection's category",
            planned_splits: planned,
            balance: "real:fake 1:1 per split and per method: every fake clip is generated from a real clip of the same split",
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
                ],
                promotion: "engine promote MANIFEST --into DIR appends to DIR/ledger.jsonl: never rewrites an entry, skips entries already present (same sha256), refuses conflicting ones (a clip that would change split or label)",
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_map_to_families() {
        assert_eq!(family_of("Deepfakes"), Some("face_swap"));
        assert_eq!(family_of("FaceSwap"), Some("face_swap"));
        assert_eq!(family_of("Face2Face"), Some("reenactment"));
        assert_eq!(family_of("NeuralTextures"), Some("reenactment"));
        assert_eq!(family_of("wav2lip"), Some("lip_sync"));
        assert_eq!(family_of("DF-VAE"), Some("face_swap"));
        assert_eq!(family_of("unspecified"), None);
    }
}
