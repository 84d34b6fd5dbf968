//! Radius search over embeddings: which points of other groups lie within an
//! L2 distance of each point. Exact (all pairs, on all cores) up to
//! [`BRUTE_FORCE_MAX_POINTS`] points, an HNSW index from `hnsw_rs` above.
//! Near-duplicate search (frame embeddings) and identity grouping (face
//! embeddings) both use it.

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
/// Neighbours asked of the index per point: a frame can have several copies
/// (one per duplicate video) plus the neighbouring frames of its own video.
pub const NEIGHBOURS_PER_POINT: usize = 24;

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
}
