//! The `diversity_balance.json` document: per axis the input distribution
//! (overall and per dataset) with its biases, the quotas, what was selected,
//! whether the quotas were met and, where not, why; the biases the selection
//! still has; the total and why; the exclusions; the axes that are missing.
//!
//! Every selected count here is counted from the picks themselves, so the
//! document says exactly what `real_sources.jsonl` holds.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::Serialize;

use crate::policy;
use crate::sample::axes::{Axis, CatId, Gap};
use crate::sample::state::{Problem, Tally};

/// The whole `diversity_balance.json`.
#[derive(Debug, Clone, Serialize)]
pub struct BalanceDoc {
    /// Real videos that could be selected.
    pub candidates: usize,
    /// Videos that could not, by reason.
    pub excluded: BTreeMap<String, usize>,
    /// Videos selected (lines of `real_sources.jsonl`).
    pub total_selected: usize,
    /// Videos the selection aimed at.
    pub total_target: usize,
    /// Why that total.
    pub total_reason: String,
    /// The axes whose categories make up each pick's `category`.
    pub primary_axes: Vec<String>,
    /// `--seed`.
    pub seed: u64,
    /// `--clips-per-video-max`.
    pub clips_per_video_max: usize,
    /// Clips planned from the selection.
    pub expected_clips: usize,
    /// The rules every judgement here follows.
    pub rules: Rules,
    /// Per axis, in report order.
    pub axes: IndexMap<String, AxisDoc>,
    /// Every category of the selection that breaks the over/under rules the
    /// input is judged by (overall, on every axis with two or more
    /// categories among the candidates).
    pub residual_biases: Vec<ResidualBias>,
    /// Axes that could not be measured or balanced, and why.
    pub missing_axes: Vec<Gap>,
}

/// The rules, in words and numbers.
#[derive(Debug, Clone, Serialize)]
pub struct Rules {
    /// When a category is over-represented.
    pub over_represented: String,
    /// When a category is under-represented.
    pub under_represented: String,
    /// When an axis's quotas count as met.
    pub quota_met: String,
    /// Most selected videos of one identity.
    pub identity_cap: usize,
}

/// Counts and shares of one distribution.
#[derive(Debug, Clone, Serialize)]
pub struct Distribution {
    /// Videos per category.
    pub counts: BTreeMap<String, usize>,
    /// Share per category (of the videos with a value), 4 decimals.
    pub shares: BTreeMap<String, f64>,
}

/// Normalized entropies (H / ln k, k = categories among the candidates).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Entropies {
    /// Of the candidates.
    pub input: f64,
    /// Of the quotas: the most the availability allows.
    pub best_possible: f64,
    /// Of the selection.
    pub selected: f64,
}

/// Over- or under-represented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BiasKind {
    /// Above [`policy::OVER_FACTOR`] × uniform share or [`policy::OVER_SHARE_ABS`].
    Over,
    /// Below [`policy::UNDER_FACTOR`] × uniform share.
    Under,
}

/// A biased category of the input.
#[derive(Debug, Clone, Serialize)]
pub struct Bias {
    /// The category.
    pub category: String,
    /// Over or under.
    pub kind: BiasKind,
    /// Videos in it.
    pub count: usize,
    /// Its share.
    pub share: f64,
    /// Its share over the uniform share.
    pub factor_of_uniform: f64,
}

/// A biased category of the selection.
#[derive(Debug, Clone, Serialize)]
pub struct ResidualBias {
    /// The axis.
    pub axis: String,
    /// The category.
    pub category: String,
    /// Over or under.
    pub kind: BiasKind,
    /// Its share of the selected videos with a value on the axis.
    pub share: f64,
    /// Selected videos in it.
    pub count: usize,
}

/// Why a category was selected short of its quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShortfallCause {
    /// Fewer candidates exist in the category than its quota.
    TooFewCandidates,
    /// Its remaining candidates would overfill other axes' quotas (or their
    /// identity is at its cap): those axes won; see `conflicting_axes`.
    ConflictsWith,
    /// Some remaining candidate would fit every other axis, but the fixed
    /// total (and dataset quotas) left no place for it.
    Budget,
}

/// A category selected more than [`policy::QUOTA_TOLERANCE`] below its quota.
#[derive(Debug, Clone, Serialize)]
pub struct Shortfall {
    /// The category.
    pub category: String,
    /// Its quota.
    pub quota: usize,
    /// Videos selected in it.
    pub selected: usize,
    /// Why.
    pub cause: ShortfallCause,
    /// With `conflicts_with`: the axes (and `identity_cap`) that kept its
    /// remaining candidates out, most often first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicting_axes: Vec<String>,
}

/// One axis of the document.
#[derive(Debug, Clone, Serialize)]
pub struct AxisDoc {
    /// Where the categories come from.
    pub source: String,
    /// Values partly estimated by a model: balanced in aggregate only, never
    /// listed per video in `real_sources.jsonl`.
    pub estimated: bool,
    /// Categories among the candidates; quotas steer the selection only on
    /// axes with two or more.
    pub categories_among_candidates: usize,
    /// The candidates.
    pub original: Distribution,
    /// The candidates per dataset.
    pub original_per_dataset: BTreeMap<String, BTreeMap<String, usize>>,
    /// Biased categories among the candidates.
    pub biases: Vec<Bias>,
    /// Biased categories among each dataset's candidates.
    pub biases_per_dataset: BTreeMap<String, Vec<Bias>>,
    /// Videos to select per category.
    pub quotas: BTreeMap<String, usize>,
    /// The quotas as shares.
    pub target_distribution: BTreeMap<String, f64>,
    /// The selection.
    pub selected: Distribution,
    /// Normalized entropies.
    pub normalized_entropy: Entropies,
    /// Every category's selected count within [`policy::QUOTA_TOLERANCE`]
    /// of its quota; null when the axis has no quota (no candidate has a
    /// value).
    pub met: Option<bool>,
    /// Categories selected more than the tolerance below quota, and why.
    pub shortfalls: Vec<Shortfall>,
    /// Candidates without a value on the axis.
    pub unknown_in_candidates: usize,
    /// How the quotas were set.
    pub rationale: String,
}

/// Everything the document is built from.
#[derive(Debug)]
pub struct Inputs<'a> {
    /// The selection problem.
    pub problem: &'a Problem<'a>,
    /// The final selection.
    pub tally: &'a Tally,
    /// Candidates per axis and category.
    pub available: &'a [Vec<usize>],
    /// Exclusions by reason.
    pub excluded: BTreeMap<String, usize>,
    /// The target total and why.
    pub total_target: usize,
    /// Why that total.
    pub total_reason: String,
    /// `--seed`.
    pub seed: u64,
    /// `--clips-per-video-max`.
    pub clips_per_video_max: usize,
    /// Clips planned.
    pub expected_clips: usize,
    /// Missing axes.
    pub gaps: &'a [Gap],
}

/// Round to 4 decimals (shares, entropies).
pub fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// Normalised entropy (0–1) of `counts` over an axis of `categories`
/// categories (absent ones count as empty): H / ln(categories); 1 when the
/// axis has a single category, 0 when nothing is counted.
pub fn normalized_entropy(counts: &[usize], categories: usize) -> f64 {
    let n: usize = counts.iter().sum();
    if categories <= 1 {
        return 1.0;
    }
    if n == 0 {
        return 0.0;
    }
    let h: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n as f64;
            -p * p.ln()
        })
        .sum();
    h / (categories as f64).ln()
}

/// Over/under verdicts for `counts` (one per category of the axis, zeros
/// included): uniform share = 1 / number of categories; nothing when fewer
/// than two categories or nothing counted.
pub fn bias_flags(counts: &[usize]) -> Vec<(usize, BiasKind, f64, f64)> {
    let n: usize = counts.iter().sum();
    let k = counts.len();
    if n == 0 || k < 2 {
        return Vec::new();
    }
    let uniform = 1.0 / k as f64;
    counts
        .iter()
        .enumerate()
        .filter_map(|(i, &cnt)| {
            let share = cnt as f64 / n as f64;
            let kind = if share > policy::OVER_FACTOR * uniform || share > policy::OVER_SHARE_ABS {
                BiasKind::Over
            } else if share < policy::UNDER_FACTOR * uniform {
                BiasKind::Under
            } else {
                return None;
            };
            Some((i, kind, share, share / uniform))
        })
        .collect()
}

/// Biases of a distribution given as (category name, count) pairs.
fn biases(named: &[(&str, usize)]) -> Vec<Bias> {
    let counts: Vec<usize> = named.iter().map(|x| x.1).collect();
    bias_flags(&counts)
        .into_iter()
        .map(|(i, kind, share, factor)| Bias {
            category: named[i].0.to_string(),
            kind,
            count: named[i].1,
            share: round4(share),
            factor_of_uniform: round4(factor),
        })
        .collect()
}

fn distribution(axis: &Axis, counts: &[usize], keep_zero: bool) -> Distribution {
    let n: usize = counts.iter().sum();
    let mut d = Distribution {
        counts: BTreeMap::new(),
        shares: BTreeMap::new(),
    };
    for (i, &c) in counts.iter().enumerate() {
        if c == 0 && !keep_zero {
            continue;
        }
        let name = axis.category(CatId(i as u32)).to_string();
        d.counts.insert(name.clone(), c);
        d.shares.insert(
            name,
            if n == 0 {
                0.0
            } else {
                round4(c as f64 / n as f64)
            },
        );
    }
    d
}

/// Why category `v` of axis `a` is short of its quota.
fn shortfall_cause(inp: &Inputs<'_>, a: usize, v: usize) -> (ShortfallCause, Vec<String>) {
    let p = inp.problem;
    let t = inp.tally;
    let quota = p.quotas[a][v];
    if inp.available[a][v] < quota {
        return (ShortfallCause::TooFewCandidates, Vec::new());
    }
    let ds = p.dataset_axis;
    let mut blocked_by: BTreeMap<String, usize> = BTreeMap::new();
    let mut free = false;
    for c in 0..p.candidates() {
        if t.taken[c] || p.axes[a].values[c].map(CatId::index) != Some(v) {
            continue;
        }
        let mut blockers: Vec<String> = Vec::new();
        if p.capped(t, c) {
            blockers.push("identity_cap".into());
        }
        for (b, axis) in p.axes.iter().enumerate() {
            if b == a || b == ds || !p.active[b] {
                continue;
            }
            if let Some(w) = axis.values[c] {
                if t.selected[b][w.index()] >= p.quotas[b][w.index()] {
                    blockers.push(axis.name.clone());
                }
            }
        }
        // The dataset quota blocks when the candidate's dataset is full and
        // none of its picks could make room on this axis (each is either of
        // this category or of another category already short).
        let d = p.axes[ds].values[c].expect("every candidate has a dataset");
        if t.selected[ds][d.index()] >= p.quotas[ds][d.index()] {
            let room = t.chosen.iter().any(|&y| {
                p.axes[ds].values[y] == Some(d)
                    && match p.axes[a].values[y] {
                        None => true,
                        Some(w) => {
                            w.index() != v && t.selected[a][w.index()] >= p.quotas[a][w.index()]
                        }
                    }
            });
            if !room {
                blockers.push(p.axes[ds].name.clone());
            }
        }
        if blockers.is_empty() {
            free = true;
            break;
        }
        for b in blockers {
            *blocked_by.entry(b).or_insert(0) += 1;
        }
    }
    if free || blocked_by.is_empty() {
        return (ShortfallCause::Budget, Vec::new());
    }
    let mut axes: Vec<(String, usize)> = blocked_by.into_iter().collect();
    axes.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    (
        ShortfallCause::ConflictsWith,
        axes.into_iter().map(|x| x.0).collect(),
    )
}

/// Build the document.
pub fn build(inp: &Inputs<'_>) -> BalanceDoc {
    let p = inp.problem;
    let t = inp.tally;
    let ds_axis = &p.axes[p.dataset_axis];
    let mut axes = IndexMap::new();
    let mut residual = Vec::new();
    for (a, axis) in p.axes.iter().enumerate() {
        let k = axis.categories.len();
        let available = &inp.available[a];
        let quotas = &p.quotas[a];
        // Counted from the picks, as real_sources.jsonl lists them.
        let selected = axis.counts(t.chosen.iter().copied());
        let mut per_dataset = BTreeMap::new();
        let mut biases_per_dataset = BTreeMap::new();
        for (d, name) in ds_axis.categories.iter().enumerate() {
            let in_d = (0..p.candidates()).filter(|&c| ds_axis.values[c] == Some(CatId(d as u32)));
            let counts = axis.counts(in_d);
            let named: Vec<(&str, usize)> = counts
                .iter()
                .enumerate()
                .filter(|x| *x.1 > 0)
                .map(|(i, &c)| (axis.category(CatId(i as u32)), c))
                .collect();
            biases_per_dataset.insert(name.clone(), biases(&named));
            per_dataset.insert(
                name.clone(),
                named.iter().map(|(n, c)| (n.to_string(), *c)).collect(),
            );
        }
        let all_named: Vec<(&str, usize)> = available
            .iter()
            .enumerate()
            .map(|(i, &c)| (axis.category(CatId(i as u32)), c))
            .collect();
        let tolerance = policy::QUOTA_TOLERANCE;
        let met = (k > 0).then(|| (0..k).all(|v| selected[v].abs_diff(quotas[v]) <= tolerance));
        let shortfalls = (0..k)
            .filter(|&v| selected[v] + tolerance < quotas[v])
            .map(|v| {
                let (cause, conflicting_axes) = shortfall_cause(inp, a, v);
                Shortfall {
                    category: axis.categories[v].clone(),
                    quota: quotas[v],
                    selected: selected[v],
                    cause,
                    conflicting_axes,
                }
            })
            .collect();
        if k >= 2 {
            for (i, kind, share, _) in bias_flags(&selected) {
                residual.push(ResidualBias {
                    axis: axis.name.clone(),
                    category: axis.categories[i].clone(),
                    kind,
                    share: round4(share),
                    count: selected[i],
                });
            }
        }
        let rationale = if k >= 2 {
            format!("target water-filled toward uniform over {k} categories: categories with fewer videos than their fair share give all they have")
        } else {
            "fewer than two categories among the candidates: nothing to balance".to_string()
        };
        axes.insert(
            axis.name.clone(),
            AxisDoc {
                source: axis.source.to_string(),
                estimated: axis.estimated(),
                categories_among_candidates: k,
                original: distribution(axis, available, true),
                original_per_dataset: per_dataset,
                biases: biases(&all_named),
                biases_per_dataset,
                quotas: (0..k)
                    .map(|v| (axis.categories[v].clone(), quotas[v]))
                    .collect(),
                target_distribution: distribution(axis, quotas, true).shares,
                selected: distribution(axis, &selected, false),
                normalized_entropy: Entropies {
                    input: round4(normalized_entropy(available, k)),
                    best_possible: round4(normalized_entropy(quotas, k)),
                    selected: round4(normalized_entropy(&selected, k)),
                },
                met,
                shortfalls,
                unknown_in_candidates: axis.values.iter().filter(|v| v.is_none()).count(),
                rationale,
            },
        );
    }
    BalanceDoc {
        candidates: p.candidates(),
        excluded: inp.excluded.clone(),
        total_selected: t.chosen.len(),
        total_target: inp.total_target,
        total_reason: inp.total_reason.clone(),
        primary_axes: p
            .primary_order
            .iter()
            .map(|&a| p.axes[a].name.clone())
            .collect(),
        seed: inp.seed,
        clips_per_video_max: inp.clips_per_video_max,
        expected_clips: inp.expected_clips,
        rules: Rules {
            over_represented: format!(
                "share > {} x uniform share, or > {}",
                policy::OVER_FACTOR,
                policy::OVER_SHARE_ABS
            ),
            under_represented: format!("share < {} x uniform share", policy::UNDER_FACTOR),
            quota_met: format!(
                "every category's selected count within {} of its quota",
                policy::QUOTA_TOLERANCE
            ),
            identity_cap: p.identity_cap,
        },
        axes,
        residual_biases: residual,
        missing_axes: inp.gaps.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_is_normalised_by_the_candidate_categories() {
        assert!((normalized_entropy(&[5, 5], 2) - 1.0).abs() < 1e-12);
        assert!(normalized_entropy(&[8, 2], 2) < 0.75);
        assert!(normalized_entropy(&[5, 5, 0], 3) < 0.7);
        assert_eq!(normalized_entropy(&[0, 0], 2), 0.0);
        assert_eq!(normalized_entropy(&[4], 1), 1.0);
    }

    #[test]
    fn bias_rules_flag_over_and_under_including_empty_categories() {
        // 80:20 on two categories: over (> 50%) and under (< 25%).
        let f = bias_flags(&[8, 2]);
        let kinds: Vec<(usize, BiasKind)> = f.iter().map(|x| (x.0, x.1)).collect();
        assert_eq!(kinds, vec![(0, BiasKind::Over), (1, BiasKind::Under)]);
        // 70:30: over only.
        assert_eq!(bias_flags(&[7, 3]).len(), 1);
        // Four categories, one empty: it is under (0 < 12.5%); 5 of 10 is
        // not over 2x uniform (50%) nor over 50%.
        let f = bias_flags(&[5, 3, 2, 0]);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].0, f[0].1), (3, BiasKind::Under));
        assert!(bias_flags(&[3, 3, 3]).is_empty());
        assert!(bias_flags(&[9]).is_empty());
    }
}
