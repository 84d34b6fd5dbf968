//! The greedy pass: one video at a time, the candidate that most reduces the
//! summed relative deficit of all balanced axes at once, never beyond its
//! dataset's quota or its identity's cap; ties go to quality, then to the
//! seeded hash, so a run is deterministic for a given `--seed`.

use crate::sample::state::{Problem, Stratum, Tally};

/// Pick up to `total` candidates into `tally`. `strata` are over the
/// `scored` axes (the balanced ones plus the dataset axis); each offers its
/// best remaining member, so a step costs O(strata), not O(candidates), and
/// picks exactly the candidate a scan of all candidates would.
pub fn run(
    problem: &Problem<'_>,
    strata: &mut [Stratum],
    scored: &[usize],
    tally: &mut Tally,
    total: usize,
) {
    let ds_pos = scored
        .iter()
        .position(|&a| a == problem.dataset_axis)
        .expect("the dataset axis is scored");
    let ds_quota = &problem.quotas[problem.dataset_axis];
    while tally.chosen.len() < total {
        // (score, quality, hash, candidate, stratum)
        let mut best: Option<(f64, f64, u64, usize, usize)> = None;
        for (s, stratum) in strata.iter_mut().enumerate() {
            // Identity caps only tighten: a capped member is skipped for good.
            while stratum
                .members
                .get(stratum.next)
                .is_some_and(|&c| problem.capped(tally, c))
            {
                stratum.next += 1;
            }
            let Some(&c) = stratum.members.get(stratum.next) else {
                continue;
            };
            let ds = stratum.sig[ds_pos].expect("every candidate has a dataset");
            if tally.selected[problem.dataset_axis][ds.index()] >= ds_quota[ds.index()] {
                continue;
            }
            let mut score = 0.0;
            for (k, &a) in scored.iter().enumerate() {
                if !problem.active[a] {
                    continue;
                }
                if let Some(v) = stratum.sig[k] {
                    let t = problem.quotas[a][v.index()] as f64;
                    let sel = tally.selected[a][v.index()] as f64;
                    score += if t > 0.0 { (t - sel) / t } else { -1.0 };
                }
            }
            let key = (score, problem.keys[c].0, problem.keys[c].1, c, s);
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
        strata[s].next += 1;
        tally.reasons.push(problem.reasons_for(tally, c));
        tally.chosen.push(c);
        tally.count(problem, c, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::axes::{Axis, AxisSource};
    use crate::sample::state::strata;

    fn axis(name: &str, raw: &[&str]) -> Axis {
        Axis::new(
            name,
            AxisSource::Measured,
            raw.iter().map(|v| Some(v.to_string())).collect(),
        )
    }

    /// Six candidates in one dataset, 4 indoor and 2 outdoor, all of one
    /// person but the last; quotas 2:2 of 4.
    fn problem<'a>(axes: &'a [Axis], quotas: &'a [Vec<usize>], cap: usize) -> Problem<'a> {
        Problem {
            axes,
            quotas,
            active: vec![false, true],
            primary: vec![true, true],
            primary_order: vec![1, 0],
            dataset_axis: 0,
            identity: vec![Some(0), Some(0), Some(0), Some(0), Some(0), Some(1)],
            identity_cap: cap,
            keys: (0..6).map(|c| (c as f64, 0)).collect(),
        }
    }

    #[test]
    fn fills_the_largest_deficit_first_and_respects_caps() {
        let axes = vec![
            axis("dataset", &["d"; 6]),
            axis("scene", &["in", "in", "in", "in", "out", "out"]),
        ];
        let quotas = vec![vec![4], vec![2, 2]];
        let p = problem(&axes, &quotas, 10);
        let scored = [1, 0];
        let mut st = strata(&p, &scored);
        let mut tally = Tally::new(&p);
        run(&p, &mut st, &scored, &mut tally, 4);
        // Best quality first within a stratum: 3 and 2 indoors, 5 and 4 outdoors.
        let mut chosen = tally.chosen.clone();
        chosen.sort();
        assert_eq!(chosen, vec![2, 3, 4, 5]);
        assert_eq!(tally.selected[1], vec![2, 2]);
        assert_eq!(tally.reasons[0].len(), 1);

        // A cap of 1 per identity: person 0 once, person 1 once.
        let p = problem(&axes, &quotas, 1);
        let mut st = strata(&p, &scored);
        let mut tally = Tally::new(&p);
        run(&p, &mut st, &scored, &mut tally, 4);
        assert_eq!(tally.chosen.len(), 2);
        assert_eq!(tally.per_identity, vec![1, 1]);
    }
}
