//! How many videos to select, and how many of each category: the total
//! (`--budget`, or the largest selection that keeps every primary axis
//! within [`policy::DEFAULT_BALANCE_RATIO`]) and per axis a quota per
//! category, water-filled toward uniform as far as availability allows.

use crate::policy;
use crate::sample::axes::Axis;

/// The candidates' people: how many candidates show each known person, how
/// many show nobody known, and the largest share of a selection one person
/// may take.
#[derive(Debug, Clone, PartialEq)]
pub struct People {
    /// Candidates per identity.
    pub per_identity: Vec<usize>,
    /// Candidates without an identity.
    pub unknown: usize,
    /// At most this share of a selection per identity (at least one video).
    pub cap_share: f64,
}

impl People {
    /// Most selected videos of one identity in a selection of `total`.
    pub fn cap(&self, total: usize) -> usize {
        ((total as f64 * self.cap_share).ceil() as usize).max(1)
    }

    /// Most videos a selection of `total` can hold under the identity cap.
    pub fn capacity(&self, total: usize) -> usize {
        let cap = self.cap(total);
        self.per_identity.iter().map(|&n| n.min(cap)).sum::<usize>() + self.unknown
    }

    /// The largest total up to `total` the identity cap can fill.
    pub fn feasible(&self, total: usize) -> usize {
        // Capacity at cap c: Σ min(n, c) + unknown, from sorted counts and
        // their prefix sums (a scan of totals stays cheap at 100k videos).
        let mut sorted = self.per_identity.clone();
        sorted.sort_unstable();
        let mut prefix = vec![0usize; sorted.len() + 1];
        for (i, &n) in sorted.iter().enumerate() {
            prefix[i + 1] = prefix[i] + n;
        }
        let capacity = |t: usize| {
            let cap = self.cap(t);
            let below = sorted.partition_point(|&n| n <= cap);
            prefix[below] + cap * (sorted.len() - below) + self.unknown
        };
        (0..=total).rev().find(|&t| capacity(t) >= t).unwrap_or(0)
    }
}

/// The total to select and why, in words.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    /// Videos to select.
    pub total: usize,
    /// Why that many.
    pub reason: String,
}

/// Water-filling: a total of `n` shared over categories as evenly as their
/// availability allows (a category with fewer videos than its fair share
/// gives all it has, the rest is shared among the others). Integer targets;
/// when fewer units than open categories remain, the categories with the most
/// room left get one each, ties by index (= category name order). Of all
/// integer allocations within the availabilities, this one has the highest
/// entropy.
pub fn water_fill(available: &[usize], n: usize) -> Vec<usize> {
    let total: usize = available.iter().sum();
    let n = n.min(total);
    let mut targets = vec![0usize; available.len()];
    let mut left = n;
    let mut open: Vec<usize> = (0..available.len()).filter(|&k| available[k] > 0).collect();
    while left > 0 && !open.is_empty() {
        let share = left / open.len();
        if share == 0 {
            open.sort_by(|&a, &b| {
                let ra = available[a] - targets[a];
                let rb = available[b] - targets[b];
                rb.cmp(&ra).then(a.cmp(&b))
            });
            for &k in open.iter().take(left) {
                targets[k] += 1;
            }
            break;
        }
        let mut next = Vec::new();
        for &k in &open {
            let give = share.min(available[k] - targets[k]);
            targets[k] += give;
            left -= give;
            if available[k] > targets[k] {
                next.push(k);
            }
        }
        open = next;
    }
    targets
}

/// The largest selection in which every category of an axis stays within
/// [`policy::DEFAULT_BALANCE_RATIO`] of the axis's smallest category.
pub fn balanced_capacity(available: &[usize]) -> usize {
    let smallest = available
        .iter()
        .copied()
        .filter(|&c| c > 0)
        .min()
        .unwrap_or(0);
    let cap = (smallest as f64 * policy::DEFAULT_BALANCE_RATIO).floor() as usize;
    available.iter().map(|&c| c.min(cap)).sum()
}

/// The total: `--budget` when given (capped at the candidates), else the
/// largest selection that keeps each primary axis within the balance ratio;
/// an axis known for only part of the candidates (a metadata field one
/// dataset has) bounds only that part, so its capacity is scaled up by its
/// coverage.
pub fn budget(
    axes: &[Axis],
    available: &[Vec<usize>],
    primary: &[usize],
    candidates: usize,
    requested: Option<usize>,
    people: &People,
) -> Budget {
    let derived = match requested {
        Some(b) => {
            return Budget {
                total: b.min(candidates),
                reason: format!("--budget {b} (capped at the {candidates} candidates)"),
            }
        }
        None if primary.is_empty() => Budget {
            total: candidates,
            reason:
                "no axis has two or more categories among the candidates: every candidate is taken"
                    .to_string(),
        },
        None => {
            let (a, cap) = primary
                .iter()
                .map(|&a| {
                    let cap = (balanced_capacity(&available[a]) as f64 / axes[a].coverage()).floor()
                        as usize;
                    (a, cap.min(candidates))
                })
                .min_by(|x, y| x.1.cmp(&y.1).then(x.0.cmp(&y.0)))
                .expect("primary axes exist");
            let coverage = axes[a].coverage();
            let part = if coverage < 1.0 {
                format!(
                    ", scaled to the whole selection because only {:.0}% of the candidates have a value on it",
                    coverage * 100.0
                )
            } else {
                String::new()
            };
            Budget {
                total: cap,
                reason: format!(
                    "the largest selection in which every category of the `{}` axis stays within {}:1 of its smallest category ({} videos){part}; override with --budget",
                    axes[a].name,
                    policy::DEFAULT_BALANCE_RATIO,
                    available[a].iter().min().copied().unwrap_or(0)
                ),
            }
        }
    };
    // No more than the per-person cap lets the candidates fill.
    let feasible = people.feasible(derived.total);
    if feasible < derived.total {
        return Budget {
            total: feasible,
            reason: format!(
                "{}; lowered from {} to {feasible} because at most {} video{} of one person may be selected ({}% of the selection) and the candidates show {} known people",
                derived.reason,
                derived.total,
                people.cap(feasible),
                if people.cap(feasible) == 1 { "" } else { "s" },
                people.cap_share * 100.0,
                people.per_identity.len()
            ),
        };
    }
    derived
}

/// Quotas per axis and category. The dataset axis first; an axis known for
/// only part of the candidates is water-filled over the picks the dataset
/// quotas let come from that part (its coverage in each dataset), so its
/// quotas can be met together with the dataset quotas.
pub fn quotas(
    axes: &[Axis],
    available: &[Vec<usize>],
    dataset_axis: usize,
    total: usize,
) -> Vec<Vec<usize>> {
    let ds = &axes[dataset_axis];
    let dataset_quotas = water_fill(&available[dataset_axis], total);
    // Per dataset: its candidates and, per axis, how many have a value.
    let mut in_dataset = vec![0usize; ds.categories.len()];
    for v in ds.values.iter().flatten() {
        in_dataset[v.index()] += 1;
    }
    (0..axes.len())
        .map(|a| {
            if axes[a].coverage() >= 1.0 {
                return water_fill(&available[a], total);
            }
            let mut known = vec![0usize; ds.categories.len()];
            for (v, d) in axes[a].values.iter().zip(&ds.values) {
                if let (Some(_), Some(d)) = (v, d) {
                    known[d.index()] += 1;
                }
            }
            let expected: f64 = (0..ds.categories.len())
                .filter(|&d| in_dataset[d] > 0)
                .map(|d| dataset_quotas[d] as f64 * known[d] as f64 / in_dataset[d] as f64)
                .sum();
            water_fill(&available[a], expected.round() as usize)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::axes::AxisSource;

    #[test]
    fn water_filling_gives_small_categories_all_they_have() {
        // indoor 800, night 10, outdoor 200 (name order).
        assert_eq!(water_fill(&[800, 10, 200], 300), vec![145, 10, 145]);
        assert_eq!(water_fill(&[3, 3], 5).iter().sum::<usize>(), 5);
        assert_eq!(water_fill(&[2], 9), vec![2]);
        // One unit left for three equally roomy categories: the first by name.
        assert_eq!(water_fill(&[5, 5, 5], 4), vec![2, 1, 1]);
        assert_eq!(water_fill(&[0, 4], 3), vec![0, 3]);
    }

    #[test]
    fn capacity_keeps_every_category_within_the_ratio() {
        // Smallest 3: at most 6 of any category.
        assert_eq!(balanced_capacity(&[3, 10, 4]), 3 + 6 + 4);
        assert_eq!(balanced_capacity(&[]), 0);
    }

    fn axis(name: &str, raw: &[Option<&str>]) -> Axis {
        Axis::new(
            name,
            AxisSource::Measured,
            raw.iter().map(|v| v.map(str::to_string)).collect(),
        )
    }

    #[test]
    fn partial_axes_get_quotas_the_dataset_quotas_can_meet() {
        // Dataset a: 4 candidates, all with a scene; dataset b: 8 without.
        let mut ds = vec![Some("a"); 4];
        ds.extend(vec![Some("b"); 8]);
        let mut scene: Vec<Option<&str>> = vec![Some("in"), Some("in"), Some("in"), Some("out")];
        scene.extend(vec![None; 8]);
        let axes = vec![axis("dataset", &ds), axis("scene", &scene)];
        let available: Vec<Vec<usize>> = axes.iter().map(|a| a.counts(0..12)).collect();
        let q = quotas(&axes, &available, 0, 6);
        assert_eq!(q[0], vec![3, 3]);
        // Dataset a's quota is 3, so the scene axis shares 3: 2 in, 1 out.
        assert_eq!(q[1], vec![2, 1]);
        let nobody = People {
            per_identity: Vec::new(),
            unknown: 12,
            cap_share: 0.1,
        };
        let b = budget(&axes, &available, &[0, 1], 12, None, &nobody);
        // scene: capacity min(3, 2) + 1 = 3 over a third of the candidates: 9;
        // dataset: 4 + 8 → 4 + 8 = 12. The scene bounds it.
        assert_eq!(b.total, 9);
        assert!(
            b.reason.contains("`scene`") && b.reason.contains("33%"),
            "{}",
            b.reason
        );
        assert_eq!(
            budget(&axes, &available, &[0], 12, Some(40), &nobody).total,
            12
        );
        // Three people in all 12 candidates: one each up to a total of 10,
        // so the derived 9 is lowered to 3.
        let three = People {
            per_identity: vec![4, 4, 4],
            unknown: 0,
            cap_share: 0.1,
        };
        let b = budget(&axes, &available, &[0, 1], 12, None, &three);
        assert_eq!(b.total, 3, "{}", b.reason);
        assert!(b.reason.contains("lowered from 9 to 3"), "{}", b.reason);
        // An explicit budget is kept (the shortfall is reported instead).
        assert_eq!(
            budget(&axes, &available, &[0], 12, Some(9), &three).total,
            9
        );
    }
}
