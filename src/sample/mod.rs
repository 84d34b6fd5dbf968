//! The selection of real videos for clip extraction: which candidates, how
//! many clips from each, and why, as stages:
//!
//! 1. [`axes`]: every candidate's category on each diversity axis (typed
//!    ids), and the axes that are missing;
//! 2. [`targets`]: the total (`--budget` or derived) and per-axis quotas,
//!    water-filled toward uniform;
//! 3. [`greedy`]: one pick at a time, the candidate that most reduces the
//!    summed deficit of all axes, within dataset quotas and identity caps;
//! 4. [`swap`]: exchanges within a dataset that raise the summed entropy,
//!    never taking a primary axis below its floor;
//! 5. [`clips`]: the clip plan of each pick;
//! 6. [`document`]: `diversity_balance.json`, counted from the picks.
//!
//! Every candidate is a readable real video, the kept member of its
//! near-duplicate cluster, at least one clip long. Ties go to quality, then
//! to a seeded hash of the path, so a run is deterministic for a given
//! `--seed`.

pub mod axes;
pub mod clips;
pub mod document;
pub mod greedy;
pub mod state;
pub mod swap;
pub mod targets;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::faces::grouping::group_by_embedding;
use crate::labels::Label;
use crate::policy;
use crate::record::VideoRecord;

pub use axes::Gap;
pub use clips::{plan_clips, ClipSpan};
pub use document::BalanceDoc;

/// Options of the sampler.
#[derive(Debug, Clone)]
pub struct SampleOptions {
    /// Total videos to select (None: derived from the data).
    pub budget: Option<usize>,
    /// Cap on clips per video.
    pub clips_per_video_max: usize,
    /// Seed for tie-breaking.
    pub seed: u64,
    /// Let official test/val videos (and their people and footage) be
    /// fake-generation sources (`--include-official-test`); the split plan
    /// then keeps them in their official split.
    pub include_official_test: bool,
    /// Keep videos without a usable face (`--allow-faceless`): by default a
    /// real source must show a face generators can use.
    pub allow_faceless: bool,
}

/// The sampler's result.
#[derive(Debug, Clone)]
pub struct Selection {
    /// Selected videos in selection order: the lines of `real_sources.jsonl`.
    pub picks: Vec<Pick>,
    /// `diversity_balance.json`.
    pub balance: BalanceDoc,
    /// Axes that could not be measured or balanced (`report.json`'s
    /// `diversity_gaps`).
    pub gaps: Vec<Gap>,
    /// The planned clips in total.
    pub expected_clips: usize,
}

/// One selected video: a `real_sources.jsonl` line.
#[derive(Debug, Clone, Serialize)]
pub struct Pick {
    /// Displayed path.
    pub path: String,
    /// Duration in seconds.
    pub duration: f64,
    /// `WxH`.
    pub resolution: String,
    /// Combined stratum label of the primary axes.
    pub category: String,
    /// Why it was picked, in words.
    pub reason: String,
    /// Number of 10-second clips to extract.
    pub extract_clips: usize,
    /// Dataset name.
    pub dataset: String,
    /// Category per axis (estimated axes never listed).
    pub axes: BTreeMap<String, String>,
    /// Planned clips.
    pub clips: Vec<ClipSpan>,
    /// Near-duplicate cluster, if the video has copies.
    pub cluster_id: Option<usize>,
    /// Identity shown, where known (for the split planner).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Same-recording-session group, if any (for the split planner).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<usize>,
    /// The dataset's official split, where it has one (only official test
    /// or val videos with `--include-official-test` are picked from those).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub official_split: Option<String>,
    /// Path relative to the dataset root (`/`-joined), for stable clip ids.
    #[serde(skip)]
    pub rel_path: String,
}

/// Exclusion reason: an official test or validation video.
pub const OFFICIAL_HOLDOUT: &str = "official test/val video (--include-official-test to use it)";
/// Exclusion reason: the person of an official test or validation video.
pub const HOLDOUT_IDENTITY: &str = "same person as an official test/val video";
/// Exclusion reason: a copy of an official test or validation video.
pub const HOLDOUT_FOOTAGE: &str = "same footage or recording session as an official test/val video";

/// Exclusion reasons of videos without a usable face (see
/// [`crate::faces::usability`]), by [`crate::faces::UnusableReason::code`].
const NO_USABLE_FACE: &[(&str, &str)] = &[
    ("no_face", "no usable face: no face in the sampled frames"),
    (
        "face_too_rare",
        "no usable face: a face in too few of the sampled frames",
    ),
    (
        "face_too_small",
        "no usable face: the face is too small for face-swap generators",
    ),
    (
        "face_detection_failed",
        "no usable face: face detection failed on too many frames",
    ),
];

/// Exclusion reason of a video the face pass gave no summary for.
pub const NO_FACE_SUMMARY: &str = "no usable face: the face pass gave no result";

/// Why `r` is not a usable fake-generation source by its faces, if it is not.
fn face_exclusion(r: &VideoRecord) -> Option<&'static str> {
    let Some(faces) = r.frames.as_ref().and_then(|f| f.faces.as_ref()) else {
        return Some(NO_FACE_SUMMARY);
    };
    let p = r.probe.as_ref()?;
    let height = crate::faces::display_height(p.width, p.height, p.rotation_deg);
    let reason = crate::faces::usability(faces, height).err()?;
    NO_USABLE_FACE
        .iter()
        .find(|(code, _)| *code == reason.code())
        .map(|(_, why)| *why)
        .or(Some(NO_FACE_SUMMARY))
}

/// Whether a record is in its dataset's official test or validation split.
pub fn officially_held_out(r: &VideoRecord) -> bool {
    matches!(r.labels.official_split.as_deref(), Some("test" | "val"))
}

/// Why each record is not a candidate (None: a candidate). Beyond
/// [`exclusion`]: when the face pass ran and faceless videos are not
/// allowed, a video without a usable face; unless `include_official_test`,
/// an official test or validation video, and every video of its person
/// (metadata identity, or matching identity embeddings), duplicate cluster
/// or recording session, so no benchmark test identity leaks into training
/// fakes.
pub fn exclusions(
    records: &[VideoRecord],
    opts: &SampleOptions,
    face_pass_ran: bool,
) -> Vec<Option<&'static str>> {
    let mut out: Vec<Option<&'static str>> = records.iter().map(exclusion).collect();
    if face_pass_ran && !opts.allow_faceless {
        for (i, r) in records.iter().enumerate() {
            if out[i].is_none() {
                out[i] = face_exclusion(r);
            }
        }
    }
    if opts.include_official_test {
        return out;
    }
    let held: Vec<usize> = (0..records.len())
        .filter(|&i| officially_held_out(&records[i]) && !records[i].is_mask())
        .collect();
    if held.is_empty() {
        return out;
    }
    // People: metadata identities (a fake's target and source), per dataset.
    let mut people: std::collections::BTreeSet<(&str, &str)> = Default::default();
    let mut clusters: std::collections::BTreeSet<usize> = Default::default();
    let mut sessions: std::collections::BTreeSet<usize> = Default::default();
    for &i in &held {
        let r = &records[i];
        for id in [
            r.labels.identity.as_deref(),
            r.labels.attrs.get("source_identity").map(String::as_str),
        ]
        .into_iter()
        .flatten()
        {
            people.insert((r.dataset.as_str(), id));
        }
        clusters.extend(r.cluster_id);
        sessions.extend(r.session_id);
    }
    // People by face: group the identity embeddings of the remaining
    // candidates with those of the held-out real videos.
    let pool: Vec<usize> = (0..records.len())
        .filter(|&i| {
            out[i].is_none()
                || officially_held_out(&records[i])
                    && records[i].is_readable()
                    && records[i].labels.label != Label::Fake
        })
        .collect();
    let embeddings: Vec<Option<&[f32]>> = pool
        .iter()
        .map(|&i| records[i].identity_embedding())
        .collect();
    let groups = group_by_embedding(&embeddings, policy::IDENTITY_MATCH_MIN_COS);
    let held_faces: std::collections::BTreeSet<usize> = pool
        .iter()
        .zip(&groups)
        .filter(|(&i, _)| officially_held_out(&records[i]))
        .filter_map(|(_, g)| *g)
        .collect();
    let face_group: BTreeMap<usize, usize> = pool
        .iter()
        .zip(&groups)
        .filter_map(|(&i, g)| g.map(|g| (i, g)))
        .collect();
    for (i, r) in records.iter().enumerate() {
        if out[i].is_some() {
            continue;
        }
        out[i] = if officially_held_out(r) {
            Some(OFFICIAL_HOLDOUT)
        } else if r
            .labels
            .identity
            .as_deref()
            .is_some_and(|id| people.contains(&(r.dataset.as_str(), id)))
            || face_group.get(&i).is_some_and(|g| held_faces.contains(g))
        {
            Some(HOLDOUT_IDENTITY)
        } else if r.cluster_id.is_some_and(|c| clusters.contains(&c))
            || r.session_id.is_some_and(|s| sessions.contains(&s))
        {
            Some(HOLDOUT_FOOTAGE)
        } else {
            None
        };
    }
    out
}

/// Whether a record can be a real source by itself, and if not why (for the
/// report); [`exclusions`] adds the official holdout.
pub fn exclusion(r: &VideoRecord) -> Option<&'static str> {
    if !r.is_readable() {
        Some("unreadable")
    } else if r.is_mask() {
        Some("mask of manipulated pixels, not footage")
    } else if r.labels.label == Label::Fake {
        Some("fake")
    } else if r.labels.label == Label::Unknown {
        Some("label unknown")
    } else if r.duplicate_of.is_some() {
        Some("near-duplicate of a kept video")
    } else if r
        .probe
        .as_ref()
        .is_none_or(|p| p.duration_s < policy::CLIP_LENGTH_S)
    {
        Some("shorter than one 10-second clip")
    } else {
        None
    }
}

/// FNV-1a over the seed and the text: stable across runs and platforms.
fn seeded_hash(seed: u64, text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for b in text.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The identity of each candidate: the metadata's, else a face identity
/// (`face_identity_<n>`, numbered in candidate order) shared by the
/// candidates whose identity embeddings match (see
/// [`crate::faces::grouping`]), else None.
fn identities(records: &[VideoRecord], cands: &[usize]) -> Vec<Option<String>> {
    let embeddings: Vec<Option<&[f32]>> = cands
        .iter()
        .map(|&i| {
            let r = &records[i];
            r.labels
                .identity
                .is_none()
                .then(|| r.identity_embedding())?
        })
        .collect();
    let groups = group_by_embedding(&embeddings, policy::IDENTITY_MATCH_MIN_COS);
    cands
        .iter()
        .zip(groups)
        .map(|(&i, g)| {
            records[i]
                .labels
                .identity
                .clone()
                .or_else(|| g.map(|g| format!("face_identity_{g}")))
        })
        .collect()
}

/// Select the real sources.
pub fn select(records: &[VideoRecord], opts: &SampleOptions, face_pass_ran: bool) -> Selection {
    let why_not = exclusions(records, opts, face_pass_ran);
    let cands: Vec<usize> = (0..records.len())
        .filter(|&i| why_not[i].is_none())
        .collect();
    let (axes, mut gaps) = axes::build(records, &cands, face_pass_ran);
    gaps.extend(
        axes::single_category_gaps(&axes)
            .into_iter()
            .filter(|g| g.axis != "dataset"),
    );
    let available: Vec<Vec<usize>> = axes.iter().map(|a| a.counts(0..cands.len())).collect();
    let active: Vec<bool> = axes.iter().map(|a| a.categories.len() >= 2).collect();
    let dataset_axis = axes
        .iter()
        .position(|a| a.name == "dataset")
        .expect("dataset axis");
    // Primary axes: the metadata categories and the dataset, where balanced.
    // They name each pick's category (every balanced axis does when neither
    // is) and may not end below their entropy floor.
    let mut primary_order: Vec<usize> = (0..axes.len())
        .filter(|&a| active[a] && axes[a].is_metadata())
        .chain([dataset_axis].into_iter().filter(|&a| active[a]))
        .collect();
    if primary_order.is_empty() {
        primary_order = (0..axes.len()).filter(|&a| active[a]).collect();
    }
    let primary: Vec<bool> = (0..axes.len())
        .map(|a| active[a] && (axes[a].is_metadata() || a == dataset_axis))
        .collect();
    let names = identities(records, &cands);
    let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
    for n in names.iter().flatten() {
        let next = ids.len();
        ids.entry(n.as_str()).or_insert(next);
    }
    let mut per_identity = vec![0usize; ids.len()];
    for n in names.iter().flatten() {
        per_identity[ids[n.as_str()]] += 1;
    }
    let people = targets::People {
        per_identity,
        unknown: names.iter().filter(|n| n.is_none()).count(),
        cap_share: policy::IDENTITY_CAP_SHARE,
    };
    let budget = targets::budget(
        &axes,
        &available,
        &primary_order,
        cands.len(),
        opts.budget,
        &people,
    );
    let quotas = targets::quotas(&axes, &available, dataset_axis, budget.total);
    let quality = |c: usize| -> f64 {
        let r = &records[cands[c]];
        let p = r.probe.as_ref().expect("readable");
        let sharp = r
            .frames
            .as_ref()
            .map_or(0.0, |f| f.quality.laplacian_var.median.max(1.0).ln());
        sharp + (f64::from(p.width) * f64::from(p.height)).ln()
    };
    let problem = state::Problem {
        axes: &axes,
        quotas: &quotas,
        active: active.clone(),
        primary,
        primary_order,
        dataset_axis,
        identity: names.iter().map(|n| n.as_deref().map(|n| ids[n])).collect(),
        identity_cap: people.cap(budget.total),
        keys: (0..cands.len())
            .map(|c| (quality(c), seeded_hash(opts.seed, &records[cands[c]].path)))
            .collect(),
    };
    // Scored axes: the balanced ones and the dataset (for its quotas).
    let mut scored: Vec<usize> = (0..axes.len()).filter(|&a| active[a]).collect();
    if !scored.contains(&dataset_axis) {
        scored.push(dataset_axis);
    }
    let mut strata = state::strata(&problem, &scored);
    let mut tally = state::Tally::new(&problem);
    greedy::run(&problem, &mut strata, &scored, &mut tally, budget.total);
    // A primary axis may not end below the input's entropy, or below the
    // best its quotas allow when integer quotas cannot reach the input's.
    let floors: Vec<f64> = (0..axes.len())
        .map(|a| {
            let k = axes[a].categories.len();
            document::normalized_entropy(&available[a], k)
                .min(document::normalized_entropy(&quotas[a], k))
        })
        .collect();
    swap::run(&problem, &strata, &scored, &floors, &mut tally);

    let picks = picks(records, &cands, &problem, &tally, &available, &names, opts);
    let expected_clips = picks.iter().map(|p| p.extract_clips).sum();
    let mut excluded: BTreeMap<String, usize> = BTreeMap::new();
    for why in why_not.iter().flatten() {
        *excluded.entry(why.to_string()).or_insert(0) += 1;
    }
    let balance = document::build(&document::Inputs {
        problem: &problem,
        tally: &tally,
        available: &available,
        excluded,
        total_target: budget.total,
        total_reason: budget.reason,
        seed: opts.seed,
        clips_per_video_max: opts.clips_per_video_max,
        expected_clips,
        gaps: &gaps,
    });
    Selection {
        picks,
        balance,
        gaps,
        expected_clips,
    }
}

/// The `real_sources.jsonl` lines: each pick with its clip plan, its
/// categories, its combined primary category and why it was picked.
fn picks(
    records: &[VideoRecord],
    cands: &[usize],
    problem: &state::Problem<'_>,
    tally: &state::Tally,
    available: &[Vec<usize>],
    identities: &[Option<String>],
    opts: &SampleOptions,
) -> Vec<Pick> {
    let axes = problem.axes;
    // Categories under-represented among the candidates, per axis.
    let under_input: Vec<Vec<bool>> = available
        .iter()
        .map(|counts| {
            let mut under = vec![false; counts.len()];
            for (i, kind, _, _) in document::bias_flags(counts) {
                under[i] = kind == document::BiasKind::Under;
            }
            under
        })
        .collect();
    tally
        .chosen
        .iter()
        .zip(&tally.reasons)
        .map(|(&c, why)| {
            let r = &records[cands[c]];
            let p = r.probe.as_ref().expect("readable");
            let clips = plan_clips(p.duration_s, opts.clips_per_video_max);
            let axes_map: BTreeMap<String, String> = axes
                .iter()
                .filter(|a| !a.estimated())
                .filter_map(|a| a.value_name(c).map(|v| (a.name.clone(), v.to_string())))
                .collect();
            let measured: Vec<&str> = policy::CATEGORY_AXES
                .iter()
                .filter_map(|name| axes.iter().find(|a| a.name == *name))
                .filter_map(|a| a.value_name(c))
                .collect();
            let category = if measured.is_empty() {
                problem
                    .primary_order
                    .iter()
                    .filter_map(|&a| axes[a].value_name(c))
                    .collect::<Vec<_>>()
                    .join("/")
            } else {
                measured.join("_")
            };
            let under: Vec<&str> = (0..axes.len())
                .filter(|&a| problem.active[a] && !axes[a].estimated())
                .filter_map(|a| {
                    axes[a].values[c]
                        .filter(|v| under_input[a][v.index()])
                        .map(|v| axes[a].category(v))
                })
                .collect();
            let reason = if under.is_empty() {
                format!("fills the quota of {}", why.join(", "))
            } else {
                format!(
                    "under-represented {}; fills the quota of {}",
                    under.join(", "),
                    why.join(", ")
                )
            };
            Pick {
                path: r.path.clone(),
                duration: (p.duration_s * 1000.0).round() / 1000.0,
                resolution: format!("{}x{}", p.width, p.height),
                category,
                reason,
                extract_clips: clips.len(),
                dataset: r.dataset.clone(),
                axes: axes_map,
                clips,
                cluster_id: r.cluster_id,
                identity: identities[c].clone(),
                session_id: r.session_id,
                official_split: r.labels.official_split.clone(),
                rel_path: r.rel_path.clone(),
            }
        })
        .collect()
}
