//! Radius search over embeddings: which points of other groups lie within an
//! L2 distance of each point. Exact (all pairs, on all cores) up to
//! [`BRUTE_FORCE_MAX_POINTS`] points, an HNSW index from `hnsw_rs` above.
//! Identity grouping (face embeddings) uses it. Near-duplicate search uses
//! [`touching_balls`]: a video's frames are covered by a few balls, and only
//! the balls go in the index.

/// Up to this many points the neighbours are found by exact search (all
/// pairs, deterministic, ~0.1 s at 20k frames); above it by an HNSW index.
pub const BRUTE_FORCE_MAX_POINTS: usize = 20_000;

/// HNSW neighbours per layer (M). Chosen by the dedup bench for recall ≥ 0.99.
pub const HNSW_M: usize = 24;
/// HNSW construction beam width.
pub const HNSW_EF_CONSTRUCTION: usize = 200;
/// HNSW search beam width: the smallest with recall ≥ 0.99 at every size the
/// dedup bench measured (10k–1M embeddings).
pub const HNSW_EF_SEARCH: usize = 96;
/// Neighbours asked of the index per point by [`neighbours_within`] (face
/// identity embeddings: one per video, so a person with many videos has
/// many close points). Set when frames were searched this way, each with
/// its copies and its own video's neighbouring frames; near-duplicate
/// search now goes through [`touching_balls`].
pub const NEIGHBOURS_PER_POINT: usize = 24;

/// Balls asked of the index per ball at first; doubled while the farthest
/// one returned could still touch (see [`touching_balls`]).
pub const BALL_NEIGHBOURS: usize = 32;
/// At most this many balls are asked of the index per ball. Bounds the cost
/// where many videos look alike (a folder of similar selfies): there the
/// nearest 256 are kept, and a copy's balls, far nearer than a look-alike's,
/// are among them.
pub const BALL_NEIGHBOURS_MAX: usize = 256;

/// A ball holding some points of one group: every point lies within
/// `radius` of `centre`.
#[derive(Debug, Clone, Copy)]
pub struct Ball<'a> {
    /// The centre (one of its points).
    pub centre: &'a [f32],
    /// The largest distance of its points from the centre.
    pub radius: f32,
    /// The group (a video): balls of one group are never paired.
    pub group: usize,
    /// Whether the ball is in the index. Balls outside are queries only:
    /// they are paired with indexed balls, never with one another.
    pub indexed: bool,
}

/// Pairs `(a, b)`, `a < b`, of balls of different groups, at least one of
/// them indexed, whose centres lie within `a.radius + b.radius + max_l2`.
/// By the triangle inequality no two points (one per ball) within `max_l2`
/// of each other are left out, so the pairs are candidates to verify, never
/// a verdict. Exact (all pairs) up to [`BRUTE_FORCE_MAX_POINTS`] balls;
/// above, an HNSW index of the indexed balls asked for its
/// [`BALL_NEIGHBOURS`] nearest, doubled while the farthest returned is still
/// near enough that a farther ball could touch, up to
/// [`BALL_NEIGHBOURS_MAX`] (so the answer is complete up to the index's
/// recall and that cap).
pub fn touching_balls(balls: &[Ball<'_>], max_l2: f32) -> Vec<(usize, usize)> {
    use rayon::prelude::*;
    let touch = |a: &Ball<'_>, b: &Ball<'_>| {
        a.group != b.group
            && (a.indexed || b.indexed)
            && l2(a.centre, b.centre) <= a.radius + b.radius + max_l2
    };
    let mut pairs: Vec<(usize, usize)> = if balls.len() <= BRUTE_FORCE_MAX_POINTS {
        (0..balls.len())
            .into_par_iter()
            .flat_map_iter(|a| {
                (a + 1..balls.len())
                    .filter(move |&b| touch(&balls[a], &balls[b]))
                    .map(move |b| (a, b))
            })
            .collect()
    } else {
        use hnsw_rs::prelude::*;
        let data: Vec<(&[f32], usize)> = balls
            .iter()
            .enumerate()
            .filter(|(_, b)| b.indexed)
            .map(|(i, b)| (b.centre, i))
            .collect();
        if data.is_empty() {
            // Query-only balls have nothing to find.
            return Vec::new();
        }
        let max_radius = balls
            .iter()
            .filter(|b| b.indexed)
            .map(|b| b.radius)
            .fold(0.0f32, f32::max);
        let max_k = BALL_NEIGHBOURS_MAX.min(data.len());
        let index: Hnsw<f32, DistL2> =
            Hnsw::new(HNSW_M, data.len(), 16, HNSW_EF_CONSTRUCTION, DistL2 {});
        index.parallel_insert_slice(&data);
        (0..balls.len())
            .into_par_iter()
            .flat_map_iter(|a| {
                let q = &balls[a];
                let reach = q.radius + max_radius + max_l2;
                let mut k = BALL_NEIGHBOURS.min(max_k);
                let found = loop {
                    let found = index.search(q.centre, k, HNSW_EF_SEARCH.max(k));
                    let farthest = found.last().map_or(f32::INFINITY, |n| n.distance);
                    if found.len() < k || farthest > reach || k >= max_k {
                        break found;
                    }
                    k = (2 * k).min(max_k);
                };
                found
                    .into_iter()
                    .map(|n| n.d_id)
                    // Found from both ends when both are indexed: the
                    // duplicate goes below.
                    .filter(move |&b| b != a && touch(q, &balls[b]))
                    .map(move |b| (a.min(b), a.max(b)))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

/// L2 distance of two vectors of the same length.
pub fn l2(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}

/// For each point `(vector, group)`, the indices of the points of other
/// groups within L2 distance `max_l2`: exact search up to
/// [`BRUTE_FORCE_MAX_POINTS`] points, an HNSW index above (which may miss a
/// few; see the dedup bench for its recall).
pub fn neighbours_within(points: &[(&[f32], usize)], max_l2: f32) -> Vec<Vec<usize>> {
    if points.len() <= BRUTE_FORCE_MAX_POINTS {
        exact_neighbours(points, max_l2)
    } else {
        hnsw_neighbours(points, max_l2)
    }
}

/// For each point, the points of other groups within `max_l2` (exact).
fn exact_neighbours(points: &[(&[f32], usize)], max_l2: f32) -> Vec<Vec<usize>> {
    use rayon::prelude::*;
    (0..points.len())
        .into_par_iter()
        .map(|p| {
            (0..points.len())
                .filter(|&q| q != p && points[q].1 != points[p].1)
                .filter(|&q| l2(points[p].0, points[q].0) <= max_l2)
                .collect()
        })
        .collect()
}

/// For each point, its HNSW neighbours of other groups within `max_l2`.
fn hnsw_neighbours(points: &[(&[f32], usize)], max_l2: f32) -> Vec<Vec<usize>> {
    use hnsw_rs::prelude::*;
    let layers = 16;
    let index: Hnsw<f32, DistL2> = Hnsw::new(
        HNSW_M,
        points.len(),
        layers,
        HNSW_EF_CONSTRUCTION,
        DistL2 {},
    );
    let data: Vec<(&[f32], usize)> = points.iter().enumerate().map(|(i, p)| (p.0, i)).collect();
    index.parallel_insert_slice(&data);
    let queries: Vec<Vec<f32>> = points.iter().map(|p| p.0.to_vec()).collect();
    index
        .parallel_search(&queries, NEIGHBOURS_PER_POINT, HNSW_EF_SEARCH)
        .into_iter()
        .enumerate()
        .map(|(p, found)| {
            found
                .into_iter()
                .filter(|n| n.distance <= max_l2 && points[n.d_id].1 != points[p].1)
                .map(|n| n.d_id)
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_search_finds_other_groups_within_the_radius_only() {
        let a = [1.0f32, 0.0];
        let b = [0.9f32, 0.1];
        let c = [0.0f32, 1.0];
        let d = [1.0f32, 0.05];
        // a and d share group 0: never each other's neighbours.
        let points: Vec<(&[f32], usize)> = vec![(&a, 0), (&b, 1), (&c, 2), (&d, 0)];
        let n = neighbours_within(&points, 0.2);
        assert_eq!(n, vec![vec![1], vec![0, 3], vec![], vec![1]]);
    }

    #[test]
    fn balls_touch_by_centres_and_radii_and_query_only_balls_not_each_other() {
        const A: [f32; 2] = [0.0, 0.0];
        const B: [f32; 2] = [1.0, 0.0];
        const C: [f32; 2] = [0.0, 1.0];
        const D: [f32; 2] = [0.5, 0.5];
        let ball = |centre: &'static [f32], radius: f32, group: usize, indexed: bool| Ball {
            centre,
            radius,
            group,
            indexed,
        };
        let balls = [
            ball(&A, 0.35, 0, true),
            // 1.0 from A: touches (0.35 + 0.35 + 0.4 ≥ 1.0).
            ball(&B, 0.35, 1, true),
            // 1.0 from A, but smaller: 0.35 + 0.2 + 0.4 < 1.0.
            ball(&C, 0.2, 2, true),
            // Query-only balls of two groups at one place (0.71 from A, B
            // and C): each touches the indexed balls, never the other.
            ball(&D, 0.15, 3, false),
            ball(&D, 0.15, 4, false),
        ];
        let pairs = touching_balls(&balls, 0.4);
        assert_eq!(
            pairs,
            vec![(0, 1), (0, 3), (0, 4), (1, 3), (1, 4), (2, 3), (2, 4)]
        );
    }

    /// Above the exact-search size with nothing indexed (only keyframe-pass
    /// fakes): no pairs, and no index built over nothing.
    #[test]
    fn query_only_balls_alone_make_no_pairs() {
        let v = [0.5f32, 0.5];
        let balls: Vec<Ball<'_>> = (0..=BRUTE_FORCE_MAX_POINTS)
            .map(|g| Ball {
                centre: &v,
                radius: 0.1,
                group: g,
                indexed: false,
            })
            .collect();
        assert!(touching_balls(&balls, 0.4).is_empty());
    }

    /// Above the exact-search size the index answers what exact search
    /// would: tight groups with copies near them, some query-only.
    #[test]
    fn indexed_ball_search_matches_exact_search() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            ((state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        };
        let groups = BRUTE_FORCE_MAX_POINTS / 3 + 100;
        let mut centres: Vec<(Vec<f32>, usize, bool)> = Vec::new();
        for g in 0..groups {
            let centre: Vec<f32> = (0..8).map(|_| next() * 20.0).collect();
            for _ in 0..3 {
                centres.push((centre.iter().map(|c| c + next() * 0.2).collect(), g, true));
            }
            // Every tenth group has two copies, query-only.
            if g % 10 == 0 {
                for copy in 0..2 {
                    let v = centre.iter().map(|c| c + next() * 0.05).collect();
                    centres.push((v, groups + 2 * g + copy, false));
                }
            }
        }
        let balls: Vec<Ball<'_>> = centres
            .iter()
            .map(|(v, g, indexed)| Ball {
                centre: v,
                radius: 0.1,
                group: *g,
                indexed: *indexed,
            })
            .collect();
        assert!(balls.len() > BRUTE_FORCE_MAX_POINTS);
        let by_index = touching_balls(&balls, 0.2);
        let exact: Vec<(usize, usize)> = (0..balls.len())
            .flat_map(|a| (a + 1..balls.len()).map(move |b| (a, b)))
            .filter(|&(a, b)| {
                let (x, y) = (&balls[a], &balls[b]);
                x.group != y.group
                    && (x.indexed || y.indexed)
                    && l2(x.centre, y.centre) <= x.radius + y.radius + 0.2
            })
            .collect();
        assert!(exact.len() > 1000, "{}", exact.len());
        assert_eq!(by_index, exact);
    }
}
