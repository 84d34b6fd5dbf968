//! The fake catalog and the stage 1/2/3 recommendations of `report.json`:
//! how the selected reals go through clip extraction, which fakes to generate
//! from them, and how to assemble identity- and cluster-disjoint splits.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::dedup::DedupOutcome;
use crate::faces::summary::{median, VideoMeasure, VIDEO_MEASURES};
use crate::faces::FaceSummary;
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

/// Flicker inside faces against the background: each video's
/// `face_to_background_change_ratio`, fakes beside their originals.
#[derive(Debug, Clone, Serialize)]
pub struct TemporalConsistency {
    /// Median over the fakes of face change / background change.
    pub face_to_background_change_ratio_median: Option<f64>,
    /// Fakes the median rests on.
    pub videos_measured: usize,
    /// The same median over their originals.
    pub originals_ratio_median: Option<f64>,
    /// Originals that median rests on.
    pub originals_measured: usize,
    /// What the ratio means.
    pub meaning: &'static str,
}

/// A standardised difference (Cohen's d) must reach this size for a
/// measure to be a tell: 0.8 is Cohen's "large" effect (Cohen, *Statistical
/// Power Analysis for the Behavioral Sciences*, 1988, §2.2.3), fakes and
/// originals overlapping by less than about half.
pub const TELL_MIN_STANDARDISED_DIFFERENCE: f64 = 0.8;
/// A tell rests on at least this many measured fakes and as many measured
/// originals: two is the fewest from which a spread can be estimated. The
/// tell's words give both counts, so a reader can weigh one resting on few.
pub const TELL_MIN_VIDEOS: usize = 2;
/// The pooled standard deviation of a standardised difference is at least
/// this share of the two means' magnitude: fakes made alike from one or two
/// originals can have almost no spread, and without a floor any difference,
/// however small, would read as a huge effect. With 5%, a tell
/// ([`TELL_MIN_STANDARDISED_DIFFERENCE`] = 0.8) needs the means at least 4%
/// apart, whatever the spread.
pub const TELL_SPREAD_FLOOR_SHARE: f64 = 0.05;
/// At most this many tells per method, largest first.
pub const TELLS_PER_METHOD: usize = 3;

/// Median, 10th and 90th percentile of one measure over a set of videos (or
/// fake−original pairs); percentiles interpolate linearly between order
/// statistics (numpy's default).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spread {
    /// Videos (or pairs) measured.
    pub n: usize,
    /// Median.
    pub median: Option<f64>,
    /// 10th percentile.
    pub p10: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
}

/// One per-video face measure of a method's fakes beside their originals.
#[derive(Debug, Clone, Serialize)]
pub struct MeasureComparison {
    /// The measure: its field in the inventory's `faces` object.
    pub measure: &'static str,
    /// Its unit.
    pub unit: &'static str,
    /// Over the method's measured fakes.
    pub fakes: Spread,
    /// Over their distinct measured originals.
    pub originals: Spread,
    /// Each fake minus its own original, over the fakes whose original is
    /// measured too. Both are sampled at the same times ((j + ½) ×
    /// duration / K), so on the same frames wherever a fake keeps its
    /// original's duration, as face-swap datasets' fakes do.
    pub paired_difference: Spread,
    /// (mean of the fakes − mean of the originals) / pooled standard
    /// deviation (Cohen's d; the deviation floored at
    /// [`TELL_SPREAD_FLOOR_SHARE`] of the means' magnitude); `None` without
    /// a measured fake and a measured original.
    pub standardised_difference: Option<f64>,
}

/// A measure that separates a method's fakes from their originals, in
/// words a reader can check against the numbers.
#[derive(Debug, Clone, Serialize)]
pub struct Tell {
    /// The measure (a field of the inventory's `faces` object).
    pub measure: &'static str,
    /// Its standardised difference, fakes minus originals.
    pub standardised_difference: f64,
    /// E.g. "blending-boundary energy 1.8× its originals' (median 0.42 vs
    /// 0.23 ratio; 12 fakes, 6 originals; d = 1.9; ...)".
    pub text: String,
}

/// One manipulation method of one dataset.
#[derive(Debug, Clone, Serialize)]
pub struct MethodRow {
    /// Fakes of the method.
    pub count: usize,
    /// Generator family, if the method is recognised.
    pub family: Option<&'static str>,
    /// The fakes' quality.
    pub fakes: QualitySummary,
    /// Their originals' quality (metadata links).
    pub their_originals: QualitySummary,
    /// Flicker inside the faces.
    pub temporal_consistency: TemporalConsistency,
    /// Fakes whose face pass produced these measurements (at least one of
    /// the per-video face measures of `face_measures`).
    pub measured_fakes: usize,
    /// Distinct originals of the method's fakes (the metadata's `original`,
    /// else dedup's fake→original link from content) with measurements.
    pub measured_originals: usize,
    /// Per face measure: the fakes, their originals, and the paired
    /// differences.
    pub face_measures: Vec<MeasureComparison>,
    /// The measures that separate the method from its originals most:
    /// largest |standardised difference| first, at least
    /// [`TELL_MIN_STANDARDISED_DIFFERENCE`] on at least [`TELL_MIN_VIDEOS`]
    /// fakes and originals, and, where fakes are paired with their own
    /// originals, the pairs' median difference the same way (a gap between
    /// the groups that the pairs do not show is a difference between the
    /// videos picked, not the method), at most [`TELLS_PER_METHOD`].
    pub tells: Vec<Tell>,
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

fn r4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// The `q` quantile (0–1) of sorted finite values, linear between order
/// statistics.
fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let pos = q * last as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}

/// [`Spread`] of the values (non-finite ones left out), rounded to 4 decimals.
pub fn spread(values: &[f64]) -> Spread {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    Spread {
        n: v.len(),
        median: quantile(&v, 0.5).map(r4),
        p10: quantile(&v, 0.1).map(r4),
        p90: quantile(&v, 0.9).map(r4),
    }
}

fn mean_var(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var)
}

/// Cohen's d of `a` against `b` with the pooled standard deviation floored
/// at [`TELL_SPREAD_FLOOR_SHARE`] of the means' magnitude; `None` when a
/// side is empty or both means and spreads are 0.
pub fn standardised_difference(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let ((ma, va), (mb, vb)) = (mean_var(a), mean_var(b));
    let dof = (a.len() + b.len()).saturating_sub(2);
    let pooled = if dof > 0 {
        (((a.len() - 1) as f64 * va + (b.len() - 1) as f64 * vb) / dof as f64).sqrt()
    } else {
        0.0
    };
    let sd = pooled.max(TELL_SPREAD_FLOOR_SHARE * (ma.abs() + mb.abs()) / 2.0);
    // + 0.0 turns a rounded −0 into 0.
    (sd > 0.0).then(|| ((ma - mb) / sd * 100.0).round() / 100.0 + 0.0)
}

/// `x` to three significant digits, without an exponent (the tells' words
/// and the report's fake table).
pub fn sig3(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let decimals = (2 - x.abs().log10().floor() as i32).clamp(0, 8) as usize;
    format!("{x:.decimals$}")
}

/// One measure of a method: its comparison row and, when it separates the
/// fakes from their originals, the tell.
fn compare(
    m: &VideoMeasure,
    fakes: &[&FaceSummary],
    originals: &[&FaceSummary],
    pairs: &[(&FaceSummary, &FaceSummary)],
) -> (MeasureComparison, Option<Tell>) {
    let f: Vec<f64> = fakes.iter().filter_map(|s| (m.get)(s)).collect();
    let o: Vec<f64> = originals.iter().filter_map(|s| (m.get)(s)).collect();
    let d: Vec<f64> = pairs
        .iter()
        .filter_map(|(a, b)| Some((m.get)(a)? - (m.get)(b)?))
        .collect();
    let row = MeasureComparison {
        measure: m.name,
        unit: m.unit,
        fakes: spread(&f),
        originals: spread(&o),
        paired_difference: spread(&d),
        standardised_difference: standardised_difference(&f, &o),
    };
    let tell = match (
        row.standardised_difference,
        row.fakes.median,
        row.originals.median,
    ) {
        (Some(sd), Some(mf), Some(mo))
            if sd.abs() >= TELL_MIN_STANDARDISED_DIFFERENCE
                && f.len() >= TELL_MIN_VIDEOS
                && o.len() >= TELL_MIN_VIDEOS
                && row.paired_difference.median.is_none_or(|pd| pd * sd > 0.0) =>
        {
            let how = if mf > 0.0 && mo > 0.0 {
                format!("{}× its originals'", sig3(mf / mo))
            } else if sd > 0.0 {
                "higher than its originals'".to_string()
            } else {
                "lower than its originals'".to_string()
            };
            let paired = match row.paired_difference.median {
                Some(pd) if !d.is_empty() => format!(
                    "; paired difference median {}{} over {} pairs",
                    if pd > 0.0 { "+" } else { "" },
                    sig3(pd),
                    d.len()
                ),
                _ => String::new(),
            };
            Some(Tell {
                measure: m.name,
                standardised_difference: sd,
                text: format!(
                    "{} {how} (median {} vs {}{}; {} fakes, {} originals; d = {sd:.1}{paired})",
                    m.words,
                    sig3(mf),
                    sig3(mo),
                    if m.unit == "ratio" {
                        String::new()
                    } else {
                        format!(" {}", m.unit)
                    },
                    f.len(),
                    o.len()
                ),
            })
        }
        _ => None,
    };
    (row, tell)
}

/// Whether a video's face pass produced any of the per-video face measures.
fn measured(s: &FaceSummary) -> bool {
    VIDEO_MEASURES.iter().any(|m| (m.get)(s).is_some())
}

/// The face measures of a method's fakes beside their originals:
/// (measured fakes, measured originals, per-measure rows, tells).
fn face_measures<'a>(
    fakes: &[&'a VideoRecord],
    original_of: &BTreeMap<&str, &'a VideoRecord>,
) -> (usize, usize, Vec<MeasureComparison>, Vec<Tell>) {
    fn faces(r: &VideoRecord) -> Option<&FaceSummary> {
        r.frames.as_ref()?.faces.as_ref().filter(|s| measured(s))
    }
    let fake_faces: Vec<&FaceSummary> = fakes.iter().filter_map(|r| faces(r)).collect();
    let mut originals: BTreeMap<&str, &FaceSummary> = BTreeMap::new();
    let mut pairs = Vec::new();
    for f in fakes {
        if let Some(o) = original_of.get(f.path.as_str()) {
            if let Some(os) = faces(o) {
                originals.insert(o.path.as_str(), os);
                if let Some(fs) = faces(f) {
                    pairs.push((fs, os));
                }
            }
        }
    }
    let original_faces: Vec<&FaceSummary> = originals.values().copied().collect();
    let mut rows = Vec::new();
    let mut tells = Vec::new();
    for m in VIDEO_MEASURES {
        let (row, tell) = compare(m, &fake_faces, &original_faces, &pairs);
        rows.push(row);
        tells.extend(tell);
    }
    tells.sort_by(|a, b| {
        b.standardised_difference
            .abs()
            .total_cmp(&a.standardised_difference.abs())
    });
    tells.truncate(TELLS_PER_METHOD);
    (fake_faces.len(), original_faces.len(), rows, tells)
}

/// Per dataset: methods with counts, the fakes' quality beside their
/// originals', temporal consistency inside faces, the per-video face
/// measures (temporal consistency and artifacts) of the fakes beside their
/// originals' with the tells that separate them, and coverage of
/// fake→original links (metadata and content).
pub fn fake_catalog(records: &[VideoRecord], dedup: &DedupOutcome) -> FakeCatalog {
    let by_path: BTreeMap<&str, &VideoRecord> =
        records.iter().map(|r| (r.path.as_str(), r)).collect();
    let content_links: BTreeSet<&str> = dedup.links.iter().map(|l| l.fake.as_str()).collect();
    let content_original: BTreeMap<&str, &str> = dedup
        .links
        .iter()
        .map(|l| (l.fake.as_str(), l.original_by_content.as_str()))
        .collect();
    // The metadata's original when it is inventoried, else the content link.
    let original_of: BTreeMap<&str, &VideoRecord> = records
        .iter()
        .filter(|f| f.labels.label == Label::Fake)
        .filter_map(|f| {
            let o = f
                .original_path
                .as_deref()
                .and_then(|o| by_path.get(o).copied())
                .or_else(|| {
                    content_original
                        .get(f.path.as_str())
                        .and_then(|o| by_path.get(o).copied())
                })?;
            Some((f.path.as_str(), o))
        })
        .collect();
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
                let (measured_fakes, measured_originals, rows, tells) =
                    face_measures(fs, &original_of);
                let flicker = rows
                    .iter()
                    .find(|r| r.measure == "face_to_background_change_ratio")
                    .expect("a listed measure");
                let row = MethodRow {
                    count: fs.len(),
                    family: crate::generators::family_of(m),
                    fakes: quality_of(fs),
                    their_originals: quality_of(&originals),
                    temporal_consistency: TemporalConsistency {
                        face_to_background_change_ratio_median: r3(flicker.fakes.median),
                        videos_measured: flicker.fakes.n,
                        originals_ratio_median: r3(flicker.originals.median),
                        originals_measured: flicker.originals.n,
                        meaning: "per video, the median over face frames of the frame-to-frame luma change inside the face box divided by the change outside it; swapped faces that flicker sit well above their originals' ratio",
                    },
                    measured_fakes,
                    measured_originals,
                    face_measures: rows,
                    tells,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_interpolates_like_numpy() {
        // numpy.percentile([1, 2, 3, 4, 10], [10, 50, 90]) = 1.4, 3, 7.6
        let s = spread(&[10.0, 1.0, f64::NAN, 3.0, 2.0, 4.0]);
        assert_eq!(s.n, 5);
        assert_eq!((s.p10, s.median, s.p90), (Some(1.4), Some(3.0), Some(7.6)));
        assert_eq!(spread(&[]).median, None);
        assert_eq!(spread(&[2.5]).p90, Some(2.5));
    }

    fn with_boundary(v: f64) -> FaceSummary {
        let mut s = crate::faces::summarise(&[]);
        s.boundary_gradient_ratio = Some(v);
        s
    }

    #[test]
    fn a_tell_needs_the_pairs_to_agree() {
        let m = VIDEO_MEASURES
            .iter()
            .find(|m| m.name == "boundary_gradient_ratio")
            .unwrap();
        let (f1, f2) = (with_boundary(2.0), with_boundary(2.2));
        let (o1, o2) = (with_boundary(1.0), with_boundary(1.2));
        let (_, tell) = compare(m, &[&f1, &f2], &[&o1, &o2], &[(&f1, &o1), (&f2, &o2)]);
        let tell = tell.expect("fakes 1 above their own originals");
        assert_eq!(tell.standardised_difference, 7.07);
        assert!(
            tell.text.starts_with("blending-boundary energy 1.91× its originals' (median 2.10 vs 1.10; 2 fakes, 2 originals; d = 7.1; paired difference median +1.00 over 2 pairs"),
            "{}",
            tell.text
        );
        // The same groups, but each fake below the original it was made from
        // (the originals the groups hold are not the fakes' own): no tell.
        let (p1, p2) = (with_boundary(2.5), with_boundary(2.7));
        let (row, tell) = compare(m, &[&f1, &f2], &[&o1, &o2], &[(&f1, &p1), (&f2, &p2)]);
        assert_eq!(row.standardised_difference, Some(7.07));
        assert!(tell.is_none());
        // Unpaired, the groups alone decide.
        assert!(compare(m, &[&f1, &f2], &[&o1, &o2], &[]).1.is_some());
    }

    #[test]
    fn standardised_difference_is_cohens_d_with_a_floor() {
        // Means 3 and 1, both variances 1: d = 2.
        assert_eq!(
            standardised_difference(&[2.0, 3.0, 4.0], &[0.0, 1.0, 2.0]),
            Some(2.0)
        );
        // No spread: the floor, 5% of the means' magnitude (0.1), gives 2 / 0.1.
        assert_eq!(standardised_difference(&[3.0], &[1.0]), Some(20.0));
        assert_eq!(standardised_difference(&[0.0], &[0.0]), None);
        assert_eq!(standardised_difference(&[], &[1.0]), None);
        assert_eq!(sig3(0.012345), "0.0123");
        assert_eq!(sig3(123.4), "123");
        assert_eq!(sig3(1.8), "1.80");
    }
}
