//! The near-duplicate index (hnsw_rs with the engine's parameters) on 64-d
//! unit vectors: build time, query time and recall@10 against exact search,
//! at 10k and 100k embeddings (1M with `ENGINE_BENCH_1M=1`, or only the
//! sizes in `ENGINE_BENCH_SIZES=1000000`: about half an hour on 2 cores). Vectors are synthetic and clustered like frame
//! embeddings: 16 frames per "video", each frame a small perturbation of its
//! video's direction, so every query has close neighbours to find.
//!
//! Prints one table row per size and search beam, then a criterion
//! comparison of one query at 10k: HNSW against exact search.

use std::time::Instant;

use criterion::Criterion;
use engine::neighbours::{
    HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_M, NEIGHBOURS_PER_POINT as NEIGHBOURS_PER_FRAME,
};
use hnsw_rs::prelude::*;

const FRAMES_PER_VIDEO: usize = 16;
const QUERIES: usize = 500;
const RECALL_K: usize = 10;

/// xorshift64*: deterministic vectors without a dependency.
struct Rng(u64);
impl Rng {
    fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
}

fn unit(v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / n).collect()
}

fn clustered(n: usize) -> Vec<Vec<f32>> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let centre: Vec<f32> = (0..64).map(|_| rng.next_f32()).collect();
        for _ in 0..FRAMES_PER_VIDEO.min(n - out.len()) {
            out.push(unit(
                centre.iter().map(|c| c + 0.15 * rng.next_f32()).collect(),
            ));
        }
    }
    out
}

fn l2(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}

fn exact_knn(data: &[Vec<f32>], q: &[f32], k: usize) -> Vec<usize> {
    let mut d: Vec<(f32, usize)> = data
        .iter()
        .enumerate()
        .map(|(i, v)| (l2(q, v), i))
        .collect();
    d.select_nth_unstable_by(k, |a, b| a.0.total_cmp(&b.0));
    d.truncate(k);
    d.into_iter().map(|x| x.1).collect()
}

fn build(data: &[Vec<f32>]) -> Hnsw<'_, f32, DistL2> {
    let index = Hnsw::new(HNSW_M, data.len(), 16, HNSW_EF_CONSTRUCTION, DistL2 {});
    let refs: Vec<(&[f32], usize)> = data
        .iter()
        .enumerate()
        .map(|(i, v)| (v.as_slice(), i))
        .collect();
    index.parallel_insert_slice(&refs);
    index
}

fn table(sizes: &[usize]) {
    println!("| embeddings | build (s) | ef_search | query (ms) | exact query (ms) | recall@{RECALL_K} |");
    println!("|---|---|---|---|---|---|");
    for &n in sizes {
        let data = clustered(n);
        let t = Instant::now();
        let index = build(&data);
        let build_s = t.elapsed().as_secs_f64();
        let step = n / QUERIES;
        let queries: Vec<usize> = (0..QUERIES).map(|i| i * step).collect();
        let t = Instant::now();
        let truth: Vec<Vec<usize>> = queries
            .iter()
            .map(|&q| exact_knn(&data, &data[q], RECALL_K))
            .collect();
        let exact_ms = t.elapsed().as_secs_f64() * 1e3 / QUERIES as f64;
        for ef in [HNSW_EF_SEARCH / 2, HNSW_EF_SEARCH, HNSW_EF_SEARCH * 2] {
            let t = Instant::now();
            let found: Vec<Vec<usize>> = queries
                .iter()
                .map(|&q| {
                    index
                        .search(&data[q], NEIGHBOURS_PER_FRAME.max(RECALL_K), ef)
                        .into_iter()
                        .map(|n| n.d_id)
                        .collect()
                })
                .collect();
            let query_ms = t.elapsed().as_secs_f64() * 1e3 / QUERIES as f64;
            let hits: usize = truth
                .iter()
                .zip(&found)
                .map(|(t, f)| {
                    t.iter()
                        .filter(|i| f[..RECALL_K.min(f.len())].contains(i))
                        .count()
                })
                .sum();
            let recall = hits as f64 / (QUERIES * RECALL_K) as f64;
            println!("| {n} | {build_s:.1} | {ef} | {query_ms:.3} | {exact_ms:.3} | {recall:.4} |");
        }
    }
}

fn main() {
    // ENGINE_BENCH_SIZES=1000000 runs only the sizes listed (comma-separated).
    let mut sizes: Vec<usize> = match std::env::var("ENGINE_BENCH_SIZES") {
        Ok(list) => list
            .split(',')
            .map(|s| s.trim().parse().expect("ENGINE_BENCH_SIZES: numbers"))
            .collect(),
        Err(_) => vec![10_000, 100_000],
    };
    if std::env::var_os("ENGINE_BENCH_1M").is_some() && !sizes.contains(&1_000_000) {
        sizes.push(1_000_000);
    }
    table(&sizes);
    let data = clustered(10_000);
    let index = build(&data);
    let mut c = Criterion::default().configure_from_args().sample_size(20);
    let mut g = c.benchmark_group("dedup_query_10k");
    g.bench_function("hnsw", |b| {
        b.iter(|| index.search(&data[1234], NEIGHBOURS_PER_FRAME, HNSW_EF_SEARCH))
    });
    g.bench_function("exact", |b| {
        b.iter(|| exact_knn(&data, &data[1234], NEIGHBOURS_PER_FRAME))
    });
    g.finish();
    c.final_summary();
}
