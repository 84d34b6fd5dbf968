//! Diversity axes, bias detection and the multi-axis quota sampler that picks
//! the real videos for clip extraction, with a clip plan per video.
//!
//! Every candidate is a readable real video, the kept member of its
//! near-duplicate cluster, at least one clip long. Each axis (dataset,
//! metadata categories, lighting, sharpness, motion, resolution, bitrate,
//! duration, orientation, faces) sorts the candidates into plain categories.
//! Per axis, a target distribution is water-filled: as close to uniform as
//! the available videos allow. Then a greedy pass picks, one video at a time,
//! the candidate that most reduces the summed relative deficit of all axes at
//! once, never exceeding a dataset's quota or an identity's cap; ties go to
//! quality, then to a seeded hash of the path, so a run is deterministic for a
//! given `--seed`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::labels::Label;
use crate::record::VideoRecord;
use crate::report::CLIP_LENGTH_S;

/// A category's share above this multiple of its axis's uniform share, or
/// above [`OVER_SHARE_ABS`], marks it over-represented (the rule).
pub const OVER_FACTOR: f64 = 2.0;
/// A share above this is over-represented whatever the number of categories.
pub const OVER_SHARE_ABS: f64 = 0.5;
/// A share below this fraction of the uniform share marks it under-represented.
pub const UNDER_FACTOR: f64 = 0.5;

/// Default cap on clips taken from one video (`--clips-per-video-max`): long
/// videos give at most this many, so no single video dominates the clip set.
pub const DEFAULT_CLIPS_PER_VIDEO_MAX: usize = 3;

/// Seconds skipped at each end of a video when placing clips (intros, fades,
/// encoder start-up); shrunk for videos barely longer than one clip.
pub const CLIP_MARGIN_S: f64 = 1.0;

/// The default total keeps every category of each primary axis within this
/// ratio of its axis's smallest category (2:1, the balance target).
pub const DEFAULT_BALANCE_RATIO: f64 = 2.0;

/// At most this share of the selection shows one identity (person), where
/// identities are known; at least one video per identity is always allowed.
pub const IDENTITY_CAP_SHARE: f64 = 0.1;

/// A metadata attribute becomes an axis when it has between 2 and this many
/// categories among the candidates (more is an identifier, not a category).
pub const MAX_METADATA_CATEGORIES: usize = 12;

/// Bits per pixel per frame below which a video is `low` bitrate (heavy
/// compression, as FF++ c40); above [`HIGH_BPP`] it is `high` (c23 and better).
pub const LOW_BPP: f64 = 0.05;
/// See [`LOW_BPP`].
pub const HIGH_BPP: f64 = 0.15;

/// Axes measured by the engine (not from metadata), in report order.
pub const MEASURED_AXES: &[&str] = &[
    "dataset",
    "lighting",
    "sharpness",
    "motion",
    "resolution",
    "bitrate",
    "duration",
    "orientation",
    "face_count",
    "face_size",
    "pose",
];

/// Axes the engine would use but can only take from metadata or optional
/// models: reported as gaps when nothing provides them.
pub const DEMOGRAPHIC_AXES: &[&str] = &["gender", "age_group"];

/// Options of the sampler.
#[derive(Debug, Clone)]
pub struct SampleOptions {
    /// Total videos to select (None: derived from the data).
    pub budget: Option<usize>,
    /// Cap on clips per video.
    pub clips_per_video_max: usize,
    /// Seed for tie-breaking.
    pub seed: u64,
}

/// One axis's categories for every candidate.
#[derive(Debug, Clone)]
pub struct Axis {
    /// Axis name (`lighting`, `scene`, ...).
    pub name: String,
    /// Where it comes from: `measured`, `metadata:<key>` or `faces`.
    pub source: String,
    /// Category per candidate (same order as the candidates); None if unknown.
    pub values: Vec<Option<String>>,
    /// Values partly estimated by a model (gender, age group): used for
    /// balancing in aggregate, never written per video (`real_sources.jsonl`
    /// omits the axis from `axes` and `reason`).
    pub estimated: bool,
}

/// The sampler's result.
#[derive(Debug, Clone, Serialize)]
pub struct Selection {
    /// Selected videos in selection order.
    pub picks: Vec<Pick>,
    /// Everything `diversity_balance.json` reports.
    pub balance: serde_json::Value,
    /// Axes that could not be measured.
    pub gaps: Vec<Gap>,
    /// The planned clips in total.
    pub expected_clips: usize,
}

/// An axis that could not be measured, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    /// Axis name.
    pub axis: String,
    /// Why it is missing.
    pub reason: String,
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
    /// Category per axis.
    pub axes: BTreeMap<String, String>,
    /// Planned clips.
    pub clips: Vec<ClipSpan>,
    /// Near-duplicate cluster, if the video has copies.
    pub cluster_id: Option<usize>,
    /// Identity shown, where known (for the split planner).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
}

/// A planned clip.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClipSpan {
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
}

/// Whether a record can be a real source, and if not why (for the report).
pub fn exclusion(r: &VideoRecord) -> Option<&'static str> {
    if !r.is_readable() {
        Some("unreadable")
    } else if r.labels.label == Label::Fake {
        Some("fake")
    } else if r.labels.label == Label::Unknown {
        Some("label unknown")
    } else if r.duplicate_of.is_some() {
        Some("near-duplicate of a kept video")
    } else if r
        .probe
        .as_ref()
        .is_none_or(|p| p.duration_s < CLIP_LENGTH_S)
    {
        Some("shorter than one 10-second clip")
    } else {
        None
    }
}

/// Resolution tier from the short side of the displayed frame.
pub fn resolution_tier(width: u32, height: u32) -> &'static str {
    match width.min(height) {
        0..=480 => "480p_or_less",
        481..=720 => "720p",
        721..=1080 => "1080p",
        _ => "above_1080p",
    }
}

/// Bitrate tier from bits per pixel per frame.
pub fn bitrate_tier(bitrate_bps: u64, width: u32, height: u32, fps: f64) -> &'static str {
    let pixels_per_s = f64::from(width) * f64::from(height) * fps.max(1.0);
    let bpp = bitrate_bps as f64 / pixels_per_s.max(1.0);
    if bpp < LOW_BPP {
        "low"
    } else if bpp < HIGH_BPP {
        "medium"
    } else {
        "high"
    }
}

/// Duration tier: one clip's worth up to 30 s, up to 2 min, longer.
pub fn duration_tier(duration_s: f64) -> &'static str {
    if duration_s < 30.0 {
        "under_30s"
    } else if duration_s < 120.0 {
        "30s_to_2min"
    } else {
        "over_2min"
    }
}

/// Orientation as displayed (rotation by 90° or 270° swaps the sides).
pub fn orientation(width: u32, height: u32, rotation_deg: i32) -> &'static str {
    let (w, h) = if rotation_deg.rem_euclid(180) == 90 {
        (height, width)
    } else {
        (width, height)
    };
    if w > h {
        "landscape"
    } else if h > w {
        "portrait"
    } else {
        "square"
    }
}

fn name_of<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Build every axis over `cands` (indices into `records`) and the gaps.
pub fn axes(
    records: &[VideoRecord],
    cands: &[usize],
    face_pass_ran: bool,
) -> (Vec<Axis>, Vec<Gap>) {
    let mut out = Vec::new();
    let mut gaps = Vec::new();
    let measured = |name: &str, f: &dyn Fn(&VideoRecord) -> Option<String>| Axis {
        name: name.to_string(),
        source: "measured".into(),
        values: cands.iter().map(|&i| f(&records[i])).collect(),
        estimated: false,
    };
    out.push(measured("dataset", &|r| Some(r.dataset.clone())));
    let q = |r: &VideoRecord| r.frames.as_ref().map(|f| f.quality.clone());
    out.push(measured("lighting", &|r| {
        q(r).map(|q| name_of(&q.lighting))
    }));
    out.push(measured("sharpness", &|r| {
        q(r).map(|q| name_of(&q.sharpness))
    }));
    out.push(measured("motion", &|r| q(r).map(|q| name_of(&q.motion))));
    out.push(measured("resolution", &|r| {
        r.probe
            .as_ref()
            .map(|p| resolution_tier(p.width, p.height).to_string())
    }));
    out.push(measured("bitrate", &|r| {
        r.probe
            .as_ref()
            .map(|p| bitrate_tier(p.bitrate_bps, p.width, p.height, p.fps).to_string())
    }));
    out.push(measured("duration", &|r| {
        r.probe
            .as_ref()
            .map(|p| duration_tier(p.duration_s).to_string())
    }));
    out.push(measured("orientation", &|r| {
        r.probe
            .as_ref()
            .map(|p| orientation(p.width, p.height, p.rotation_deg).to_string())
    }));
    let faces = |r: &VideoRecord| r.frames.as_ref().and_then(|f| f.faces.clone());
    if face_pass_ran {
        out.push(Axis {
            source: "faces".into(),
            ..measured("face_count", &|r| faces(r).map(|f| name_of(&f.face_count)))
        });
        out.push(Axis {
            source: "faces".into(),
            ..measured("face_size", &|r| {
                faces(r).and_then(|f| f.face_size).map(|s| name_of(&s))
            })
        });
        out.push(Axis {
            source: "faces".into(),
            ..measured("pose", &|r| {
                faces(r).and_then(|f| f.pose).map(|p| name_of(&p))
            })
        });
        // Gender and age group from an age/gender model, where one ran:
        // the dataset's own metadata first (normalised), else the estimate
        // when confident enough.
        for (axis, meta_keys) in [
            ("gender", &["gender", "sex"][..]),
            ("age_group", &["age_group"][..]),
        ] {
            let estimate = |r: &VideoRecord| -> Option<String> {
                let f = faces(r)?;
                let (v, c) = match axis {
                    "gender" => f.gender.map(|e| (name_of(&e.value), e.confidence))?,
                    _ => f.age_group.map(|e| (name_of(&e.value), e.confidence))?,
                };
                (c >= crate::faces::summary::DEMOGRAPHIC_MIN_CONFIDENCE).then_some(v)
            };
            if !cands.iter().any(|&i| estimate(&records[i]).is_some()) {
                continue;
            }
            let values = cands
                .iter()
                .map(|&i| {
                    let r = &records[i];
                    meta_keys
                        .iter()
                        .find_map(|k| r.labels.attrs.get(*k))
                        .map(|v| normalise_demographic(v))
                        .or_else(|| estimate(r))
                })
                .collect();
            out.push(Axis {
                name: axis.into(),
                source: format!(
                    "faces:genderage (estimated where the metadata has no `{axis}`; confidence >= {})",
                    crate::faces::summary::DEMOGRAPHIC_MIN_CONFIDENCE
                ),
                values,
                estimated: true,
            });
        }
    } else {
        for a in ["face_count", "face_size", "pose"] {
            gaps.push(Gap {
                axis: a.into(),
                reason: "the face pass did not run (--no-faces, or its models are missing: run `make models`)".into(),
            });
        }
    }
    // Metadata categories: string attributes with a handful of values.
    let mut keys: BTreeSet<String> = BTreeSet::new();
    for &i in cands {
        keys.extend(records[i].labels.attrs.keys().cloned());
    }
    for key in keys {
        let merged = |axis: &str| out.iter().any(|a: &Axis| a.name == axis && a.estimated);
        if (key == "gender" || key == "sex") && merged("gender")
            || key == "age_group" && merged("age_group")
        {
            continue;
        }
        let values: Vec<Option<String>> = cands
            .iter()
            .map(|&i| records[i].labels.attrs.get(&key).cloned())
            .collect();
        let distinct: BTreeSet<&String> = values.iter().flatten().collect();
        if distinct.len() < 2 || distinct.len() > MAX_METADATA_CATEGORIES {
            continue;
        }
        let name = if MEASURED_AXES.contains(&key.as_str()) {
            format!("meta_{key}")
        } else {
            key.clone()
        };
        out.push(Axis {
            name,
            source: format!("metadata:{key}"),
            values,
            estimated: false,
        });
    }
    for d in DEMOGRAPHIC_AXES {
        if !out.iter().any(|a| a.name == *d) {
            gaps.push(Gap {
                axis: d.to_string(),
                reason: format!(
                    "no dataset metadata gives `{d}` for these videos and no age/gender model is installed (models/genderage/genderage.onnx)"
                ),
            });
        }
    }
    (out, gaps)
}

/// Counts per category of `values` restricted to `subset` (indices into values).
fn counts(
    values: &[Option<String>],
    subset: impl Iterator<Item = usize>,
) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for i in subset {
        if let Some(v) = &values[i] {
            *m.entry(v.clone()).or_insert(0) += 1;
        }
    }
    m
}

/// Normalised entropy (0–1) of a count distribution over an axis of
/// `categories` categories (those absent from `counts` count as empty):
/// H / ln(categories); 1 when the axis has a single category.
pub fn normalized_entropy(counts: &BTreeMap<String, usize>, categories: usize) -> f64 {
    let n: usize = counts.values().sum();
    if categories <= 1 {
        return 1.0;
    }
    if n == 0 {
        return 0.0;
    }
    let h: f64 = counts
        .values()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n as f64;
            -p * p.ln()
        })
        .sum();
    h / (categories as f64).ln()
}

/// Water-filling: a total of `n` shared over categories as evenly as their
/// availability allows (a category with fewer videos than its fair share
/// gives all it has, the rest is shared among the others). Integer targets,
/// largest remainder, ties by category name.
pub fn water_fill(available: &BTreeMap<String, usize>, n: usize) -> BTreeMap<String, usize> {
    let total: usize = available.values().sum();
    let n = n.min(total);
    let mut targets: BTreeMap<String, usize> = available.keys().map(|k| (k.clone(), 0)).collect();
    let mut left = n;
    let mut open: Vec<&String> = available.keys().filter(|k| available[*k] > 0).collect();
    while left > 0 && !open.is_empty() {
        let share = left / open.len();
        if share == 0 {
            // Fewer units than open categories: give one each to the largest
            // remaining capacity first (deterministic by name on ties).
            open.sort_by(|a, b| {
                let ra = available[*a] - targets[*a];
                let rb = available[*b] - targets[*b];
                rb.cmp(&ra).then(a.cmp(b))
            });
            for k in open.iter().take(left) {
                *targets.get_mut(*k).expect("key") += 1;
            }
            break;
        }
        let mut next = Vec::new();
        for k in &open {
            let room = available[*k] - targets[*k];
            let give = share.min(room);
            *targets.get_mut(*k).expect("key") += give;
            left -= give;
            if available[*k] > targets[*k] {
                next.push(*k);
            }
        }
        open = next;
    }
    targets
}

/// The largest selection in which every category of an axis stays within
/// [`DEFAULT_BALANCE_RATIO`] of the axis's smallest category.
fn balanced_capacity(available: &BTreeMap<String, usize>) -> usize {
    let smallest = available
        .values()
        .copied()
        .filter(|&c| c > 0)
        .min()
        .unwrap_or(0);
    let cap = (smallest as f64 * DEFAULT_BALANCE_RATIO).floor() as usize;
    available.values().map(|&c| c.min(cap)).sum()
}

/// Most exchanges the swap refinement makes (each lowers the distance to the
/// summed entropy, so it stops on its own; this bounds the worst case).
const SWAP_MAX_ROUNDS: usize = 10_000;

/// Candidate exchanges the swap refinement evaluates at most (a count, not a
/// time, so the result does not depend on the machine): about 4 s on one
/// core of the dev machine (60 ns an evaluation). Measured: the 10k-video
/// synthetic catalog of the report test (2,129 strata) converges after 324
/// exchanges and 51.5M evaluations; larger corpora stop here, keeping the
/// exchanges made so far.
const SWAP_MAX_EVALUATIONS: usize = 60_000_000;

/// Candidates alike on every scored axis: their categories, the members best
/// first, and the next member to offer.
type Stratum<'a> = (Vec<Option<&'a str>>, Vec<usize>, usize);

/// Two candidates without a metadata identity show the same person when the
/// identity embeddings of their main faces reach this cosine similarity.
/// ArcFace-style models separate identities around 0.3–0.4 in 1:1
/// verification; 0.4 errs toward merging, which keeps one person out of two
/// splits at the cost of a coarser identity cap.
pub const IDENTITY_MATCH_MIN_COS: f32 = 0.4;

/// The identity of each candidate: the metadata's, else a face identity
/// (`face_identity_<n>`, numbered in candidate order) shared by the
/// candidates whose identity embeddings match (transitively), else None.
fn identities(records: &[VideoRecord], cands: &[usize]) -> Vec<Option<String>> {
    let embedding = |c: usize| -> Option<&[f32]> {
        let r = &records[cands[c]];
        if r.labels.identity.is_some() {
            return None;
        }
        r.frames
            .as_ref()?
            .faces
            .as_ref()?
            .identity_embedding
            .as_deref()
    };
    let with: Vec<usize> = (0..cands.len())
        .filter(|&c| embedding(c).is_some())
        .collect();
    let points: Vec<(&[f32], usize)> = with
        .iter()
        .enumerate()
        .map(|(p, &c)| (embedding(c).expect("filtered"), p))
        .collect();
    // Unit vectors: |a − b|² = 2 − 2 cos.
    let max_l2 = (2.0 - 2.0 * IDENTITY_MATCH_MIN_COS).max(0.0).sqrt();
    let near = crate::dedup::neighbours_within(&points, max_l2);
    let mut parent: Vec<usize> = (0..with.len()).collect();
    fn root(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for (p, ns) in near.iter().enumerate() {
        for &q in ns {
            let (a, b) = (root(&mut parent, p), root(&mut parent, q));
            if a != b {
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    let mut out: Vec<Option<String>> = (0..cands.len())
        .map(|c| records[cands[c]].labels.identity.clone())
        .collect();
    let mut names: BTreeMap<usize, String> = BTreeMap::new();
    for (p, &c) in with.iter().enumerate() {
        let r = root(&mut parent, p);
        let n = names.len();
        let name = names
            .entry(r)
            .or_insert_with(|| format!("face_identity_{n}"))
            .clone();
        out[c] = Some(name);
    }
    out
}

/// Dataset spellings of gender mapped onto the age/gender model's classes
/// (FakeAVCeleb `men`/`women`, DeeperForensics `M`/`W`); others kept as given.
fn normalise_demographic(v: &str) -> String {
    match v.trim().to_ascii_lowercase().as_str() {
        "m" | "man" | "men" | "male" => "male".into(),
        "w" | "f" | "woman" | "women" | "female" => "female".into(),
        other => other.to_string(),
    }
}

fn seeded_hash(seed: u64, text: &str) -> u64 {
    // FNV-1a over the seed and the text: stable across runs and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for b in text.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Plan `n` clips of [`CLIP_LENGTH_S`] in a video of `duration_s`: start times
/// spread evenly over the video, avoiding [`CLIP_MARGIN_S`] at each end.
pub fn plan_clips(duration_s: f64, max_clips: usize) -> Vec<ClipSpan> {
    let fit = (duration_s / CLIP_LENGTH_S).floor() as usize;
    if fit == 0 || max_clips == 0 {
        return Vec::new();
    }
    let margin = CLIP_MARGIN_S
        .min((duration_s - CLIP_LENGTH_S) / 2.0)
        .max(0.0);
    let usable = duration_s - 2.0 * margin;
    let n = ((usable / CLIP_LENGTH_S).floor() as usize)
        .clamp(1, fit)
        .min(max_clips);
    let slack = usable - n as f64 * CLIP_LENGTH_S;
    // Equal gaps before, between and after the clips.
    let gap = slack / (n as f64 + 1.0);
    (0..n)
        .map(|i| {
            let start = margin + gap * (i as f64 + 1.0) + CLIP_LENGTH_S * i as f64;
            let r = |x: f64| (x * 1000.0).round() / 1000.0;
            ClipSpan {
                start_s: r(start),
                end_s: r(start + CLIP_LENGTH_S),
            }
        })
        .collect()
}

/// Select the real sources.
pub fn select(records: &[VideoRecord], opts: &SampleOptions, face_pass_ran: bool) -> Selection {
    let cands: Vec<usize> = (0..records.len())
        .filter(|&i| exclusion(&records[i]).is_none())
        .collect();
    let (axes, gaps) = axes(records, &cands, face_pass_ran);
    let all = 0..cands.len();
    let available: Vec<BTreeMap<String, usize>> = axes
        .iter()
        .map(|a| counts(&a.values, all.clone()))
        .collect();
    // Axes that can be balanced: two or more categories among the candidates.
    let active: Vec<usize> = (0..axes.len())
        .filter(|&a| available[a].len() >= 2)
        .collect();
    let primary: Vec<usize> = {
        let meta: Vec<usize> = active
            .iter()
            .copied()
            .filter(|&a| axes[a].source.starts_with("metadata"))
            .collect();
        let dataset: Vec<usize> = active
            .iter()
            .copied()
            .filter(|&a| axes[a].name == "dataset")
            .collect();
        let p: Vec<usize> = meta.into_iter().chain(dataset).collect();
        if p.is_empty() {
            active.clone()
        } else {
            p
        }
    };
    // Share of the candidates with a value on each axis.
    let coverage: Vec<f64> = axes
        .iter()
        .map(|a| {
            if cands.is_empty() {
                1.0
            } else {
                a.values.iter().filter(|v| v.is_some()).count() as f64 / cands.len() as f64
            }
        })
        .collect();
    let (total, total_reason) = match opts.budget {
        Some(b) => (
            b.min(cands.len()),
            format!("--budget {b} (capped at the {} candidates)", cands.len()),
        ),
        None if primary.is_empty() => (
            cands.len(),
            "no axis has two or more categories among the candidates: every candidate is taken"
                .to_string(),
        ),
        None => {
            // An axis known for only part of the candidates (a metadata field
            // one dataset has) bounds only that part: its capacity is scaled
            // up by its coverage.
            let (a, cap) = primary
                .iter()
                .map(|&a| {
                    let cap =
                        (balanced_capacity(&available[a]) as f64 / coverage[a]).floor() as usize;
                    (a, cap.min(cands.len()))
                })
                .min_by(|x, y| x.1.cmp(&y.1).then(x.0.cmp(&y.0)))
                .expect("primary axes exist");
            let part = if coverage[a] < 1.0 {
                format!(
                    ", scaled to the whole selection because only {:.0}% of the candidates have a value on it",
                    coverage[a] * 100.0
                )
            } else {
                String::new()
            };
            (
                cap,
                format!(
                    "the largest selection in which every category of the `{}` axis stays within {DEFAULT_BALANCE_RATIO}:1 of its smallest category ({} videos){part}; override with --budget",
                    axes[a].name,
                    available[a].values().min().copied().unwrap_or(0)
                ),
            )
        }
    };
    // Targets. The dataset axis first; an axis known for only part of the
    // candidates is water-filled over the picks the dataset targets let come
    // from that part (its coverage in each dataset), so its targets can be met
    // together with the dataset quotas.
    let dataset_axis = axes
        .iter()
        .position(|a| a.name == "dataset")
        .expect("dataset axis");
    let dataset_targets = water_fill(&available[dataset_axis], total);
    let targets: Vec<BTreeMap<String, usize>> = (0..axes.len())
        .map(|a| {
            if coverage[a] >= 1.0 {
                return water_fill(&available[a], total);
            }
            let mut expected = 0.0;
            for (ds, &t) in &dataset_targets {
                let in_ds: Vec<usize> = (0..cands.len())
                    .filter(|&c| axes[dataset_axis].values[c].as_deref() == Some(ds.as_str()))
                    .collect();
                let known = in_ds
                    .iter()
                    .filter(|&&c| axes[a].values[c].is_some())
                    .count();
                if !in_ds.is_empty() {
                    expected += t as f64 * known as f64 / in_ds.len() as f64;
                }
            }
            water_fill(&available[a], expected.round() as usize)
        })
        .collect();

    // Greedy selection on the summed relative deficit of the active axes.
    let identity_cap = ((total as f64 * IDENTITY_CAP_SHARE).ceil() as usize).max(1);
    let mut chosen: Vec<usize> = Vec::new();
    let mut taken = vec![false; cands.len()];
    let mut selected: Vec<BTreeMap<String, usize>> = axes.iter().map(|_| BTreeMap::new()).collect();
    let mut per_identity: BTreeMap<String, usize> = BTreeMap::new();
    let quality = |c: usize| -> f64 {
        let r = &records[cands[c]];
        let p = r.probe.as_ref().expect("readable");
        let sharp = r
            .frames
            .as_ref()
            .map_or(0.0, |f| f.quality.laplacian_var.median.max(1.0).ln());
        sharp + (f64::from(p.width) * f64::from(p.height)).ln()
    };
    let mut pick_reason: Vec<Vec<String>> = Vec::new();
    // Candidates with the same categories on every scored axis (and the same
    // dataset) always score alike, so the greedy step compares strata, not
    // candidates: each stratum is kept sorted by (quality desc, seeded hash,
    // index) and offers its best remaining member. This picks exactly the
    // candidate a scan of all candidates would, in O(strata) per step instead
    // of O(candidates): 100k videos select in seconds, not hours.
    let scored: Vec<usize> = {
        let mut v = active.clone();
        if !v.contains(&dataset_axis) {
            v.push(dataset_axis);
        }
        v
    };
    let ds_pos = scored
        .iter()
        .position(|&a| a == dataset_axis)
        .expect("dataset axis scored");
    let scored_active: Vec<bool> = scored.iter().map(|a| active.contains(a)).collect();
    let identity = identities(records, &cands);
    let mut strata: BTreeMap<Vec<Option<&str>>, Vec<usize>> = BTreeMap::new();
    for c in 0..cands.len() {
        let sig: Vec<Option<&str>> = scored
            .iter()
            .map(|&a| axes[a].values[c].as_deref())
            .collect();
        strata.entry(sig).or_default().push(c);
    }
    let keys: Vec<(f64, u64)> = (0..cands.len())
        .map(|c| (quality(c), seeded_hash(opts.seed, &records[cands[c]].path)))
        .collect();
    let mut strata: Vec<Stratum<'_>> = strata
        .into_iter()
        .map(|(sig, mut members)| {
            members.sort_by(|&x, &y| {
                keys[y]
                    .0
                    .total_cmp(&keys[x].0)
                    .then(keys[x].1.cmp(&keys[y].1))
                    .then(x.cmp(&y))
            });
            (sig, members, 0)
        })
        .collect();
    // Why a candidate is picked: the axes where its category was furthest
    // below target (estimated axes never named).
    let reasons = |c: usize, selected: &[BTreeMap<String, usize>]| -> Vec<String> {
        let mut why: Vec<(f64, String)> = Vec::new();
        for &a in active.iter().filter(|&&a| !axes[a].estimated) {
            if let Some(v) = &axes[a].values[c] {
                let t = targets[a].get(v).copied().unwrap_or(0) as f64;
                let s = selected[a].get(v).copied().unwrap_or(0) as f64;
                if t > 0.0 {
                    why.push(((t - s) / t, format!("{v} ({})", axes[a].name)));
                }
            }
        }
        why.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
        why.into_iter().take(3).map(|w| w.1).collect()
    };
    while chosen.len() < total {
        let mut best: Option<(f64, f64, u64, usize, usize)> = None;
        for (s, (sig, members, next)) in strata.iter_mut().enumerate() {
            // Identity caps only tighten: a capped member is skipped for good.
            while let Some(&c) = members.get(*next) {
                let capped = identity[c]
                    .as_ref()
                    .is_some_and(|id| per_identity.get(id).copied().unwrap_or(0) >= identity_cap);
                if !capped {
                    break;
                }
                *next += 1;
            }
            let Some(&c) = members.get(*next) else {
                continue;
            };
            let ds = sig[ds_pos].unwrap_or_default();
            if selected[dataset_axis].get(ds).copied().unwrap_or(0)
                >= targets[dataset_axis].get(ds).copied().unwrap_or(0)
            {
                continue;
            }
            let mut score = 0.0;
            for (k, &a) in scored.iter().enumerate() {
                if !scored_active[k] {
                    continue;
                }
                if let Some(v) = sig[k] {
                    let t = targets[a].get(v).copied().unwrap_or(0) as f64;
                    let sel = selected[a].get(v).copied().unwrap_or(0) as f64;
                    score += if t > 0.0 { (t - sel) / t } else { -1.0 };
                }
            }
            let key = (score, keys[c].0, keys[c].1, c, s);
            let better = match &best {
                None => true,
                Some(b) => {
                    key.0 > b.0 + 1e-12
                        || ((key.0 - b.0).abs() <= 1e-12
                            && (key.1 > b.1 + 1e-12
                                || ((key.1 - b.1).abs() <= 1e-12 && key.2 < b.2)))
                }
            };
            if better {
                best = Some(key);
            }
        }
        let Some((_, _, _, c, s)) = best else { break };
        strata[s].2 += 1;
        pick_reason.push(reasons(c, &selected));
        taken[c] = true;
        chosen.push(c);
        for (a, axis) in axes.iter().enumerate() {
            if let Some(v) = &axis.values[c] {
                *selected[a].entry(v.clone()).or_insert(0) += 1;
            }
        }
        if let Some(id) = &identity[c] {
            *per_identity.entry(id.clone()).or_insert(0) += 1;
        }
    }

    // Swap refinement. The greedy pass fills the largest deficit first and can
    // strand a category whose videos it reached too late (on the demo corpus,
    // the outdoor interviews). Exchanging one pick for an available candidate
    // of the same dataset (so the dataset quotas hold), while that raises the
    // summed normalized entropy of the active axes, repairs that; the best
    // exchange is made each round. Entropy rather than distance to the
    // targets: targets split ties between equally rare categories
    // arbitrarily, entropy does not. Picks and available candidates are
    // handled per stratum (all members of one stratum weigh alike): the worst
    // picked member leaves, the best available member enters.
    // c ln c and ln n for every count a selection can hold (tables: the
    // evaluation loop below runs millions of times).
    let ln_table: Vec<f64> = (0..=chosen.len() + 1)
        .map(|n| (n.max(1) as f64).ln())
        .collect();
    let xlnx_table: Vec<f64> = ln_table
        .iter()
        .enumerate()
        .map(|(c, l)| c as f64 * l)
        .collect();
    let xlnx = |c: usize| xlnx_table[c];
    // The swap pass works on integer category ids: per scored axis, the
    // selected count of each category, the number of selected videos with a
    // value and the sum of c ln c over the counts (entropy = ln n − S / n).
    const NO_VALUE: u32 = u32::MAX;
    let ids: Vec<BTreeMap<&str, u32>> = scored
        .iter()
        .map(|&a| {
            available[a]
                .keys()
                .enumerate()
                .map(|(i, k)| (k.as_str(), i as u32))
                .collect()
        })
        .collect();
    let sig_ids: Vec<Vec<u32>> = strata
        .iter()
        .map(|(sig, _, _)| {
            sig.iter()
                .zip(&ids)
                .map(|(v, m)| v.map_or(NO_VALUE, |v| m[v]))
                .collect()
        })
        .collect();
    let mut counts_k: Vec<Vec<usize>> = scored
        .iter()
        .zip(&ids)
        .map(|(&a, m)| {
            let mut c = vec![0usize; m.len()];
            for (v, &n) in &selected[a] {
                c[m[v.as_str()] as usize] = n;
            }
            c
        })
        .collect();
    let entropy_of = |(n, sum): (usize, f64)| -> f64 {
        if n == 0 {
            0.0
        } else {
            ln_table[n] - sum / n as f64
        }
    };
    let terms_of =
        |c: &[usize]| -> (usize, f64) { (c.iter().sum(), c.iter().map(|&x| xlnx(x)).sum()) };
    let mut terms: Vec<(usize, f64)> = counts_k.iter().map(|c| terms_of(c)).collect();
    let mut entropy_now: Vec<f64> = terms.iter().map(|&t| entropy_of(t)).collect();
    let active_k: Vec<usize> = (0..scored.len()).filter(|&k| scored_active[k]).collect();
    let ln_cats: Vec<f64> = scored
        .iter()
        .map(|&a| (available[a].len().max(2) as f64).ln())
        .collect();
    let mut rank = vec![0usize; cands.len()];
    for (_, members, _) in &strata {
        for (i, &c) in members.iter().enumerate() {
            rank[c] = i;
        }
    }
    let mut picked: Vec<Vec<usize>> = strata
        .iter()
        .map(|(_, m, _)| m.iter().copied().filter(|&c| taken[c]).collect())
        .collect();
    let mut avail: Vec<Vec<usize>> = strata
        .iter()
        .map(|(_, m, next)| m[*next..].iter().copied().filter(|&c| !taken[c]).collect())
        .collect();
    let mut evaluations = 0usize;
    for _ in 0..SWAP_MAX_ROUNDS {
        let mut best: Option<(f64, usize, usize)> = None;
        // Whether the best available member of each stratum has an identity
        // already at its cap (it may then only replace a video of that identity).
        let in_capped: Vec<bool> = avail
            .iter()
            .map(|av| {
                av.first()
                    .and_then(|&c| identity[c].as_ref())
                    .is_some_and(|id| per_identity.get(id).copied().unwrap_or(0) >= identity_cap)
            })
            .collect();
        'search: for (so, po) in picked.iter().enumerate() {
            let Some(&c_out) = po.last() else { continue };
            for (si, av) in avail.iter().enumerate() {
                if evaluations >= SWAP_MAX_EVALUATIONS {
                    break 'search;
                }
                let Some(&c_in) = av.first() else { continue };
                if si == so || sig_ids[so][ds_pos] != sig_ids[si][ds_pos] {
                    continue;
                }
                if in_capped[si] && identity[c_out] != identity[c_in] {
                    continue;
                }
                evaluations += 1;
                let mut gain = 0.0;
                let (go, gi) = (&sig_ids[so], &sig_ids[si]);
                for &k in &active_k {
                    let (vo, vi) = (go[k], gi[k]);
                    if vo == vi {
                        continue;
                    }
                    let (mut n, mut sum) = terms[k];
                    if vo != NO_VALUE {
                        let c = counts_k[k][vo as usize];
                        sum += xlnx(c - 1) - xlnx(c);
                        n -= 1;
                    }
                    if vi != NO_VALUE {
                        let c = counts_k[k][vi as usize];
                        sum += xlnx(c + 1) - xlnx(c);
                        n += 1;
                    }
                    gain += (entropy_of((n, sum)) - entropy_now[k]) / ln_cats[k];
                }
                if gain > 1e-9 && best.is_none_or(|b| gain > b.0 + 1e-12) {
                    best = Some((gain, so, si));
                }
            }
        }
        let Some((_, so, si)) = best else { break };
        let c_out = picked[so].pop().expect("non-empty");
        let at = avail[so].partition_point(|&c| rank[c] < rank[c_out]);
        avail[so].insert(at, c_out);
        let c_in = avail[si].remove(0);
        let at = picked[si].partition_point(|&c| rank[c] < rank[c_in]);
        picked[si].insert(at, c_in);
        taken[c_out] = false;
        taken[c_in] = true;
        for (sel, axis) in selected.iter_mut().zip(&axes) {
            if let Some(v) = &axis.values[c_out] {
                *sel.get_mut(v).expect("counted when picked") -= 1;
            }
        }
        if let Some(id) = &identity[c_out] {
            *per_identity.get_mut(id).expect("counted when picked") -= 1;
        }
        let pos = chosen.iter().position(|&c| c == c_out).expect("picked");
        chosen[pos] = c_in;
        pick_reason[pos] = reasons(c_in, &selected);
        for (sel, axis) in selected.iter_mut().zip(&axes) {
            if let Some(v) = &axis.values[c_in] {
                *sel.entry(v.clone()).or_insert(0) += 1;
            }
        }
        if let Some(id) = &identity[c_in] {
            *per_identity.entry(id.clone()).or_insert(0) += 1;
        }
        for sel in selected.iter_mut() {
            sel.retain(|_, n| *n > 0);
        }
        for k in 0..scored.len() {
            let (vo, vi) = (sig_ids[so][k], sig_ids[si][k]);
            if vo == vi {
                continue;
            }
            if vo != NO_VALUE {
                counts_k[k][vo as usize] -= 1;
            }
            if vi != NO_VALUE {
                counts_k[k][vi as usize] += 1;
            }
            terms[k] = terms_of(&counts_k[k]);
            entropy_now[k] = entropy_of(terms[k]);
        }
        if evaluations >= SWAP_MAX_EVALUATIONS {
            break;
        }
    }
    // Bias per axis, overall and per dataset, on the candidates.
    let datasets: BTreeSet<String> = axes[dataset_axis]
        .values
        .iter()
        .flatten()
        .cloned()
        .collect();
    let bias = |c: &BTreeMap<String, usize>| -> Vec<serde_json::Value> {
        let n: usize = c.values().sum();
        let k = c.len();
        if n == 0 || k < 2 {
            return Vec::new();
        }
        let uniform = 1.0 / k as f64;
        c.iter()
            .filter_map(|(cat, &cnt)| {
                let share = cnt as f64 / n as f64;
                let kind = if share > OVER_FACTOR * uniform || share > OVER_SHARE_ABS {
                    "over"
                } else if share < UNDER_FACTOR * uniform {
                    "under"
                } else {
                    return None;
                };
                Some(serde_json::json!({
                    "category": cat, "kind": kind, "count": cnt,
                    "share": round4(share), "factor_of_uniform": round4(share / uniform),
                }))
            })
            .collect()
    };
    let under_input: Vec<BTreeSet<String>> = available
        .iter()
        .map(|c| {
            bias(c)
                .iter()
                .filter(|b| b["kind"] == "under")
                .filter_map(|b| b["category"].as_str().map(str::to_string))
                .collect()
        })
        .collect();
    let mut axis_docs = serde_json::Map::new();
    for (a, axis) in axes.iter().enumerate() {
        let per_dataset: BTreeMap<&String, BTreeMap<String, usize>> = datasets
            .iter()
            .map(|d| {
                let idx = (0..cands.len())
                    .filter(|&c| axes[dataset_axis].values[c].as_deref() == Some(d.as_str()));
                (d, counts(&axis.values, idx))
            })
            .collect();
        let share = |c: &BTreeMap<String, usize>| -> BTreeMap<String, f64> {
            let n: usize = c.values().sum();
            c.iter()
                .map(|(k, &v)| {
                    (
                        k.clone(),
                        if n == 0 {
                            0.0
                        } else {
                            round4(v as f64 / n as f64)
                        },
                    )
                })
                .collect()
        };
        let active_axis = available[a].len() >= 2;
        axis_docs.insert(
            axis.name.clone(),
            serde_json::json!({
                "source": axis.source,
                "balanced": active_axis,
                "original": {"counts": available[a], "shares": share(&available[a])},
                "original_per_dataset": per_dataset,
                "biases": bias(&available[a]),
                "biases_per_dataset": per_dataset.iter().map(|(d, c)| (d.to_string(), bias(c))).collect::<BTreeMap<_, _>>(),
                "quotas": targets[a],
                "target_distribution": share(&targets[a]),
                "selected": {"counts": selected[a], "shares": share(&selected[a])},
                "normalized_entropy": {
                    "input": round4(normalized_entropy(&available[a], available[a].len())),
                    "best_possible": round4(normalized_entropy(&targets[a], available[a].len())),
                    "selected": round4(normalized_entropy(&selected[a], available[a].len())),
                },
                "unknown_in_candidates": axis.values.iter().filter(|v| v.is_none()).count(),
                "rationale": if active_axis {
                    format!("target water-filled toward uniform over {} categories: categories with fewer videos than their fair share give all they have", available[a].len())
                } else {
                    "fewer than two categories among the candidates: nothing to balance".to_string()
                },
            }),
        );
    }
    let mut excluded: BTreeMap<&str, usize> = BTreeMap::new();
    for r in records {
        if let Some(why) = exclusion(r) {
            *excluded.entry(why).or_insert(0) += 1;
        }
    }
    // Picks with clip plans.
    let primary_names: Vec<&str> = primary.iter().map(|&a| axes[a].name.as_str()).collect();
    let mut picks = Vec::new();
    let mut expected_clips = 0;
    for (n, &c) in chosen.iter().enumerate() {
        let r = &records[cands[c]];
        let p = r.probe.as_ref().expect("readable");
        let clips = plan_clips(p.duration_s, opts.clips_per_video_max);
        expected_clips += clips.len();
        let axes_map: BTreeMap<String, String> = axes
            .iter()
            .filter(|a| !a.estimated)
            .filter_map(|a| a.values[c].clone().map(|v| (a.name.clone(), v)))
            .collect();
        let category = primary
            .iter()
            .filter_map(|&a| axes[a].values[c].clone())
            .collect::<Vec<_>>()
            .join("/");
        let under: Vec<String> = active
            .iter()
            .filter(|&&a| !axes[a].estimated)
            .filter_map(|&a| {
                axes[a].values[c]
                    .as_ref()
                    .filter(|v| under_input[a].contains(*v))
                    .cloned()
            })
            .collect();
        let reason = if under.is_empty() {
            format!("fills the quota of {}", pick_reason[n].join(", "))
        } else {
            format!(
                "under-represented {}; fills the quota of {}",
                under.join(", "),
                pick_reason[n].join(", ")
            )
        };
        picks.push(Pick {
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
            identity: identity[c].clone(),
        });
    }
    let balance = serde_json::json!({
        "candidates": cands.len(),
        "excluded": excluded,
        "total_selected": picks.len(),
        "total_target": total,
        "total_reason": total_reason,
        "primary_axes": primary_names,
        "seed": opts.seed,
        "clips_per_video_max": opts.clips_per_video_max,
        "expected_clips": expected_clips,
        "rules": {
            "over_represented": format!("share > {OVER_FACTOR} x uniform share, or > {OVER_SHARE_ABS}"),
            "under_represented": format!("share < {UNDER_FACTOR} x uniform share"),
            "identity_cap": identity_cap,
        },
        "axes": axis_docs,
        "missing_axes": gaps,
    });
    Selection {
        picks,
        balance,
        gaps,
        expected_clips,
    }
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn water_filling_gives_small_categories_all_they_have() {
        let t = water_fill(&m(&[("indoor", 800), ("outdoor", 200), ("night", 10)]), 300);
        assert_eq!(t, m(&[("indoor", 145), ("outdoor", 145), ("night", 10)]));
        let t = water_fill(&m(&[("a", 3), ("b", 3)]), 5);
        assert_eq!(t.values().sum::<usize>(), 5);
        assert_eq!(water_fill(&m(&[("a", 2)]), 9), m(&[("a", 2)]));
    }

    #[test]
    fn clips_fit_inside_the_video_away_from_its_ends() {
        assert!(plan_clips(9.9, 3).is_empty());
        let one = plan_clips(10.4, 3);
        assert_eq!(one.len(), 1);
        assert!(one[0].start_s >= 0.0 && one[0].end_s <= 10.4);
        let many = plan_clips(125.0, 3);
        assert_eq!(many.len(), 3);
        assert!(many[0].start_s >= CLIP_MARGIN_S && many[2].end_s <= 125.0 - CLIP_MARGIN_S);
        assert!(many.windows(2).all(|w| w[1].start_s >= w[0].end_s));
        assert_eq!(plan_clips(35.0, 10).len(), 3);
    }

    #[test]
    fn entropy_and_tiers() {
        assert!((normalized_entropy(&m(&[("a", 5), ("b", 5)]), 2) - 1.0).abs() < 1e-12);
        assert!(normalized_entropy(&m(&[("a", 8), ("b", 2)]), 2) < 0.75);
        assert!(normalized_entropy(&m(&[("a", 5), ("b", 5)]), 3) < 0.7);
        assert_eq!(resolution_tier(1920, 1080), "1080p");
        assert_eq!(resolution_tier(320, 240), "480p_or_less");
        assert_eq!(orientation(1920, 1080, 90), "portrait");
        assert_eq!(bitrate_tier(100_000, 640, 360, 25.0), "low");
    }
}
