//! What the selection passes share: the fixed problem (axes, quotas,
//! identity caps, candidate order), the tally of the selection as it is
//! built, and the strata of alike candidates.

use crate::sample::axes::{Axis, CatId};

/// The fixed inputs of the greedy and swap passes.
#[derive(Debug)]
pub struct Problem<'a> {
    /// Every axis, categories per candidate.
    pub axes: &'a [Axis],
    /// Quota per axis and category.
    pub quotas: &'a [Vec<usize>],
    /// Per axis: two or more categories among the candidates (balanced).
    pub active: Vec<bool>,
    /// Per axis: a balanced primary axis (dataset and metadata categories),
    /// whose entropy may not end below its floor.
    pub primary: Vec<bool>,
    /// The axes a pick's `category` names, in order: the balanced metadata
    /// categories, then the dataset (every balanced axis when neither is).
    pub primary_order: Vec<usize>,
    /// Index of the dataset axis.
    pub dataset_axis: usize,
    /// Identity group per candidate, where known.
    pub identity: Vec<Option<usize>>,
    /// Most selected videos of one identity.
    pub identity_cap: usize,
    /// Per candidate: (quality, seeded hash), the order among alike candidates.
    pub keys: Vec<(f64, u64)>,
}

impl Problem<'_> {
    /// Number of candidates.
    pub fn candidates(&self) -> usize {
        self.keys.len()
    }

    /// Whether candidate `c`'s identity already has its cap of picks.
    pub fn capped(&self, tally: &Tally, c: usize) -> bool {
        self.identity[c].is_some_and(|id| tally.per_identity[id] >= self.identity_cap)
    }

    /// Why candidate `c` is picked given the selection so far: the (at most
    /// three) axes where its category is furthest below quota, estimated
    /// axes never named.
    pub fn reasons_for(&self, tally: &Tally, c: usize) -> Vec<String> {
        let mut why: Vec<(f64, String)> = Vec::new();
        for (a, axis) in self.axes.iter().enumerate() {
            if !self.active[a] || axis.estimated() {
                continue;
            }
            if let Some(v) = axis.values[c] {
                let t = self.quotas[a][v.index()] as f64;
                let s = tally.selected[a][v.index()] as f64;
                if t > 0.0 {
                    why.push(((t - s) / t, format!("{} ({})", axis.category(v), axis.name)));
                }
            }
        }
        why.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
        why.into_iter().take(3).map(|w| w.1).collect()
    }
}

/// The selection as it is built.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Picked candidates, in selection order.
    pub chosen: Vec<usize>,
    /// Per candidate: picked.
    pub taken: Vec<bool>,
    /// Per axis and category: picks.
    pub selected: Vec<Vec<usize>>,
    /// Per identity group: picks.
    pub per_identity: Vec<usize>,
    /// Per pick (same order as `chosen`): why, in words.
    pub reasons: Vec<Vec<String>>,
}

impl Tally {
    /// An empty selection for `problem`.
    pub fn new(problem: &Problem<'_>) -> Tally {
        let identities = problem.identity.iter().flatten().max().map_or(0, |m| m + 1);
        Tally {
            chosen: Vec::new(),
            taken: vec![false; problem.candidates()],
            selected: problem
                .axes
                .iter()
                .map(|a| vec![0; a.categories.len()])
                .collect(),
            per_identity: vec![0; identities],
            reasons: Vec::new(),
        }
    }

    /// Count candidate `c` into the per-axis and per-identity tallies
    /// (`add`), or out of them.
    pub fn count(&mut self, problem: &Problem<'_>, c: usize, add: bool) {
        for (sel, axis) in self.selected.iter_mut().zip(problem.axes) {
            if let Some(v) = axis.values[c] {
                if add {
                    sel[v.index()] += 1;
                } else {
                    sel[v.index()] -= 1;
                }
            }
        }
        if let Some(id) = problem.identity[c] {
            if add {
                self.per_identity[id] += 1;
            } else {
                self.per_identity[id] -= 1;
            }
        }
        self.taken[c] = add;
    }
}

/// Candidates alike on every scored axis: they always score alike, so the
/// passes compare strata, not candidates.
#[derive(Debug, Clone)]
pub struct Stratum {
    /// Category per scored axis.
    pub sig: Vec<Option<CatId>>,
    /// Members, best first (quality descending, then seeded hash, then index).
    pub members: Vec<usize>,
    /// The next member the greedy pass offers.
    pub next: usize,
}

/// The strata over the `scored` axes, ordered by signature (unknown before
/// known, categories in name order).
pub fn strata(problem: &Problem<'_>, scored: &[usize]) -> Vec<Stratum> {
    let mut by_sig: std::collections::BTreeMap<Vec<Option<CatId>>, Vec<usize>> = Default::default();
    for c in 0..problem.candidates() {
        let sig = scored.iter().map(|&a| problem.axes[a].values[c]).collect();
        by_sig.entry(sig).or_default().push(c);
    }
    let keys = &problem.keys;
    by_sig
        .into_iter()
        .map(|(sig, mut members)| {
            members.sort_by(|&x, &y| {
                keys[y]
                    .0
                    .total_cmp(&keys[x].0)
                    .then(keys[x].1.cmp(&keys[y].1))
                    .then(x.cmp(&y))
            });
            Stratum {
                sig,
                members,
                next: 0,
            }
        })
        .collect()
}
