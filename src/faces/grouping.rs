//! Who is the same person: videos whose identity embeddings (the mean face
//! embedding of each video, see [`crate::faces::FaceSummary`]) are close are
//! grouped, transitively, into one face identity. The selection caps each
//! identity's share and the split plan keeps each identity in one split.

use crate::neighbours::neighbours_within;
use crate::unionfind::UnionFind;

/// For each item, the number of its identity group, or None for an item
/// without an embedding. Items whose unit embeddings reach a cosine
/// similarity of `min_cos` are one person, transitively. Groups are numbered
/// 0, 1, … in the order of their first member, so the numbering depends only
/// on the input order.
pub fn group_by_embedding(embeddings: &[Option<&[f32]>], min_cos: f32) -> Vec<Option<usize>> {
    let with: Vec<usize> = (0..embeddings.len())
        .filter(|&i| embeddings[i].is_some())
        .collect();
    let points: Vec<(&[f32], usize)> = with
        .iter()
        .enumerate()
        .map(|(p, &i)| (embeddings[i].expect("filtered"), p))
        .collect();
    // Unit vectors: |a − b|² = 2 − 2 cos.
    let max_l2 = (2.0 - 2.0 * min_cos).max(0.0).sqrt();
    let near = neighbours_within(&points, max_l2);
    let mut sets = UnionFind::new(with.len());
    for (p, ns) in near.iter().enumerate() {
        for &q in ns {
            sets.union(p, q);
        }
    }
    let mut out = vec![None; embeddings.len()];
    let mut numbers: std::collections::BTreeMap<usize, usize> = Default::default();
    for (p, &i) in with.iter().enumerate() {
        let root = sets.find(p);
        let next = numbers.len();
        out[i] = Some(*numbers.entry(root).or_insert(next));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn close_embeddings_group_transitively_and_missing_ones_stay_apart() {
        let a = unit(&[1.0, 0.0, 0.0]);
        let a2 = unit(&[1.0, 0.6, 0.0]); // cos 0.86 to a
        let a3 = unit(&[0.6, 1.0, 0.0]); // cos 0.86 to a2, 0.51 to a
        let b = unit(&[0.0, 0.0, 1.0]);
        let e: Vec<Option<&[f32]>> = vec![Some(&b), Some(&a), None, Some(&a3), Some(&a2)];
        let g = group_by_embedding(&e, 0.8);
        assert_eq!(g, vec![Some(0), Some(1), None, Some(1), Some(1)]);
        // At a stricter threshold the chain breaks.
        let g = group_by_embedding(&e, 0.9);
        assert_eq!(g, vec![Some(0), Some(1), None, Some(2), Some(3)]);
    }
}
