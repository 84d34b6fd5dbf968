//! Duplicates: byte-identical copies (BLAKE3) and near-duplicates (the same
//! footage re-encoded, rescaled, trimmed or remuxed) found from the frame
//! embeddings, then grouped into clusters with one member kept.
//!
//! Near-duplicate search: the informative frame embeddings of every readable
//! video are covered by a few balls of [`INDEX_BALL_RADIUS`] (a still shot is
//! one); the balls of videos with a full frame pass are indexed (an HNSW
//! index from `hnsw_rs` above [`neighbours::BRUTE_FORCE_MAX_POINTS`] balls,
//! exact search below it), and two videos whose balls come within
//! [`FRAME_MATCH_MAX_L2`] of touching are a candidate pair: every pair with
//! two frames that close is among them. Fakes that had only the keyframe
//! pass (beyond `--fake-sample`) are queries, not index entries: their
//! keyframes look for full-pass videos (their originals, or copies among the
//! sampled fakes) and are never compared with one another (two keyframes
//! are too few to call two fakes copies). Each candidate pair is then verified exactly on the two
//! videos' own frames: enough frames of one must match the other, in the same
//! temporal order. Only verified pairs become edges, so the result does not
//! depend on the index beyond which candidates it proposes.
//!
//! Which pairs may be merged: copies of one video share a label. A fake that
//! matches a real is not a duplicate but evidence of its original, reported
//! as a fake→original link; two fakes are merged only when they share their
//! manipulation method (different methods applied to one original are
//! different fakes).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::path::Path;

use serde::Serialize;

use crate::labels::Label;
use crate::neighbours::{self, Ball};
use crate::policy::{
    EMBEDDING_ENERGY_FLOOR, FRAME_MATCH_MAX_L2, IDENTITY_MATCH_MIN_COS, MIN_EMBEDDING_NORM,
    MIN_MATCHED_FRACTION, MIN_MATCHED_FRAMES, MIN_OFFSET_AGREEMENT, OFFSET_TOLERANCE_SPACINGS,
    SAME_DURATION_S,
};
use crate::record::{FramePass, VideoRecord};
use crate::unionfind::UnionFind;

/// Bytes hashed first when sizes collide; only files whose prefixes agree are
/// hashed in full.
const PREFIX_HASH_BYTES: usize = 1 << 20;

/// One video as dedup sees it: its frames' embeddings and times.
#[derive(Debug, Clone)]
pub struct VideoFrames<'a> {
    /// Frame times, seconds.
    pub times_s: &'a [f64],
    /// Unit embeddings, one per frame.
    pub embeddings: &'a [Vec<f32>],
    /// Whether its frames go in the search index. Keyframe-pass evidence is
    /// not: it only looks for full-pass videos (a fake's original), never
    /// for other keyframe-pass videos.
    pub indexed: bool,
}

/// A verified near-duplicate relation between two videos.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairMatch {
    /// Frames of the covered video that matched the other.
    pub matched_frames: usize,
    /// Informative frames of the covered video.
    pub of_frames: usize,
    /// Mean cosine similarity of the matched frames.
    pub similarity: f64,
}

/// How two videos relate, from their frames.
#[derive(Debug, Clone, PartialEq)]
pub enum Relation {
    /// They share frames: one is a copy of (part of) the other, re-encoded,
    /// rescaled, trimmed or remuxed.
    Copy(PairMatch),
    /// Their frames look alike but at scattered times: non-overlapping
    /// segments of one recording (same place, same people, other moments),
    /// or alike-looking footage. Not a copy.
    Alike(PairMatch),
}

/// Compare two videos frame by frame (exactly), in both directions: `a`'s
/// frames against `b` and `b`'s against `a` (a copy trimmed to half matches
/// its source one way only). `None` when too few frames of either look alike.
pub fn compare(a: &VideoFrames<'_>, b: &VideoFrames<'_>) -> Option<Relation> {
    let spacing = sample_spacing(a).max(sample_spacing(b));
    let best = |x: Option<PairMatch>, y: Option<PairMatch>| match (x, y) {
        (Some(x), Some(y)) => Some(
            if (y.matched_frames, y.similarity) > (x.matched_frames, x.similarity) {
                y
            } else {
                x
            },
        ),
        (x, y) => x.or(y),
    };
    let one = covered_by(a, b);
    let other = covered_by(b, a);
    let copy = |c: &Option<Coverage>| {
        c.as_ref()
            .filter(|c| c.offsets_agree(spacing))
            .map(Coverage::summary)
    };
    if let Some(m) = best(copy(&one), copy(&other)) {
        return Some(Relation::Copy(m));
    }
    best(
        one.as_ref().map(Coverage::summary),
        other.as_ref().map(Coverage::summary),
    )
    .map(Relation::Alike)
}

/// The frames of one video that have a close frame in another.
struct Coverage {
    /// (time here, time there, L2 distance) per matched frame, by time here.
    matched: Vec<(f64, f64, f32)>,
    /// Informative frames here.
    of_frames: usize,
}

impl Coverage {
    /// Whether the matches line up on one time offset (see
    /// [`MIN_OFFSET_AGREEMENT`]): shared frames, not just alike ones.
    fn offsets_agree(&self, spacing_s: f64) -> bool {
        let mut offsets: Vec<f64> = self.matched.iter().map(|m| m.1 - m.0).collect();
        offsets.sort_by(f64::total_cmp);
        let median = offsets[offsets.len() / 2];
        let tolerance = OFFSET_TOLERANCE_SPACINGS * spacing_s + 1e-6;
        let agree = offsets
            .iter()
            .filter(|&&o| (o - median).abs() <= tolerance)
            .count();
        agree as f64 >= MIN_OFFSET_AGREEMENT * offsets.len() as f64
    }

    fn summary(&self) -> PairMatch {
        let n = self.matched.len();
        let similarity = self
            .matched
            .iter()
            .map(|m| 1.0 - f64::from(m.2).powi(2) / 2.0)
            .sum::<f64>()
            / n as f64;
        PairMatch {
            matched_frames: n,
            of_frames: self.of_frames,
            similarity: (similarity * 1e4).round() / 1e4,
        }
    }
}

/// Mean time between a video's sampled frames (0 with fewer than two).
fn sample_spacing(v: &VideoFrames<'_>) -> f64 {
    match (v.times_s.first(), v.times_s.last()) {
        (Some(first), Some(last)) if v.times_s.len() > 1 => {
            (last - first) / (v.times_s.len() - 1) as f64
        }
        _ => 0.0,
    }
}

/// How well `b` covers `a`: each informative frame of `a` is matched to its
/// nearest frame of `b`; enough must be within [`FRAME_MATCH_MAX_L2`].
fn covered_by(a: &VideoFrames<'_>, b: &VideoFrames<'_>) -> Option<Coverage> {
    let ia = informative(a);
    let ib = informative(b);
    if ia.len() < MIN_MATCHED_FRAMES || ib.is_empty() {
        return None;
    }
    let mut matched: Vec<(f64, f64, f32)> = Vec::new();
    for &i in &ia {
        let best = ib
            .iter()
            .map(|&j| (j, neighbours::l2(&a.embeddings[i], &b.embeddings[j])))
            .min_by(|x, y| x.1.total_cmp(&y.1).then(x.0.cmp(&y.0)));
        if let Some((j, d)) = best {
            if d <= FRAME_MATCH_MAX_L2 {
                matched.push((a.times_s[i], b.times_s[j], d));
            }
        }
    }
    let n = matched.len();
    if n < MIN_MATCHED_FRAMES || (n as f64) < MIN_MATCHED_FRACTION * ia.len() as f64 {
        return None;
    }
    matched.sort_by(|x, y| x.0.total_cmp(&y.0));
    Some(Coverage {
        matched,
        of_frames: ia.len(),
    })
}

fn informative(v: &VideoFrames<'_>) -> Vec<usize> {
    (0..v.embeddings.len())
        .filter(|&i| norm(&v.embeddings[i]) >= MIN_EMBEDDING_NORM)
        .collect()
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

/// Radius of the balls that stand for a video's frames in the search index:
/// a frame within this L2 distance of an earlier seed frame of its video
/// joins that seed's ball. Half of [`FRAME_MATCH_MAX_L2`]: a still shot
/// (DFDC's talking heads) is one or two balls instead of 16 frames, and two
/// balls are compared at most 2·0.2 + 0.4 = 0.8 apart, far below the 2.0
/// between opposite unit vectors, so the test stays selective.
pub const INDEX_BALL_RADIUS: f32 = FRAME_MATCH_MAX_L2 / 2.0;

/// Greedy ball cover of a video's informative frames: (seed frame, radius)
/// per ball, in frame order.
fn frame_balls(v: &VideoFrames<'_>) -> Vec<(usize, f32)> {
    let mut balls: Vec<(usize, f32)> = Vec::new();
    for i in informative(v) {
        let e = &v.embeddings[i];
        let joined = balls.iter_mut().find_map(|(seed, radius)| {
            let d = neighbours::l2(&v.embeddings[*seed], e);
            (d <= INDEX_BALL_RADIUS).then(|| *radius = radius.max(d))
        });
        if joined.is_none() {
            balls.push((i, 0.0));
        }
    }
    balls
}

/// Candidate video pairs (i < j): a frame of one may lie within
/// [`FRAME_MATCH_MAX_L2`] of a frame of the other, and at least one of the
/// two is [`VideoFrames::indexed`]. Each video's informative frames are
/// covered by balls of [`INDEX_BALL_RADIUS`]; two videos are candidates when
/// two of their balls touch ([`neighbours::touching_balls`]), a superset of
/// the pairs with frames within the distance.
pub fn candidate_pairs(videos: &[VideoFrames<'_>]) -> BTreeSet<(usize, usize)> {
    let mut balls: Vec<Ball<'_>> = Vec::new();
    for (v, frames) in videos.iter().enumerate() {
        for (seed, radius) in frame_balls(frames) {
            balls.push(Ball {
                centre: &frames.embeddings[seed],
                radius,
                group: v,
                indexed: frames.indexed,
            });
        }
    }
    neighbours::touching_balls(&balls, FRAME_MATCH_MAX_L2)
        .into_iter()
        .map(|(a, b)| {
            let (u, v) = (balls[a].group, balls[b].group);
            (u.min(v), u.max(v))
        })
        .collect()
}

/// BLAKE3 of a file, whole or its first `limit` bytes.
pub fn blake3_file(path: &Path, limit: Option<usize>) -> std::io::Result<String> {
    let mut hasher = blake3::Hasher::new();
    let file = std::fs::File::open(path)?;
    match limit {
        Some(n) => {
            let mut buf = Vec::with_capacity(n);
            file.take(n as u64).read_to_end(&mut buf)?;
            hasher.update(&buf);
        }
        None => {
            hasher.update_reader(file)?;
        }
    }
    Ok(hasher.finalize().to_hex().to_string())
}

/// Groups (by index) of byte-identical files among `records[idx]`: same size,
/// then same prefix hash, then same full hash. Unreadable hashes are skipped.
pub fn exact_groups(records: &[VideoRecord], idx: &[usize]) -> Vec<Vec<usize>> {
    use rayon::prelude::*;
    let mut by_size: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for &i in idx {
        by_size.entry(records[i].size_bytes).or_default().push(i);
    }
    let candidates: Vec<Vec<usize>> = by_size.into_values().filter(|g| g.len() > 1).collect();
    let hash_groups = |group: &[usize], limit: Option<usize>| -> Vec<Vec<usize>> {
        let hashed: Vec<(String, usize)> = group
            .par_iter()
            .filter_map(|&i| blake3_file(&records[i].fs_path, limit).ok().map(|h| (h, i)))
            .collect();
        let mut m: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (h, i) in hashed {
            m.entry(h).or_default().push(i);
        }
        m.into_values().filter(|g| g.len() > 1).collect()
    };
    let mut out = Vec::new();
    for group in candidates {
        for same_prefix in hash_groups(&group, Some(PREFIX_HASH_BYTES)) {
            let full = if records[same_prefix[0]].size_bytes as usize <= PREFIX_HASH_BYTES {
                vec![same_prefix]
            } else {
                hash_groups(&same_prefix, None)
            };
            out.extend(full);
        }
    }
    for g in &mut out {
        g.sort_unstable();
    }
    out.sort();
    out
}

/// One member of a cluster in the report.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterMember {
    /// Displayed path.
    pub path: String,
    /// Dataset name.
    pub dataset: String,
    /// real, fake or unknown.
    pub label: &'static str,
    /// Frames that matched the kept member (None for the kept member itself
    /// and for byte-identical copies).
    pub matched_frames: Option<usize>,
    /// Mean cosine similarity to the kept member's frames (1 for exact copies).
    pub similarity: Option<f64>,
}

/// How a cluster's members are copies of each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterKind {
    /// All members are byte-identical.
    Exact,
    /// Some member is a transformed copy (re-encoded, rescaled, trimmed, remuxed).
    Near,
}

impl ClusterKind {
    /// The name written to the report.
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterKind::Exact => "exact",
            ClusterKind::Near => "near",
        }
    }
}

/// A fake→original link found by content, checked against the metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetadataCheck {
    /// The metadata names the same original (or a copy of it).
    Agrees,
    /// The metadata names another video.
    Disagrees,
    /// The metadata names no original.
    NoMetadata,
}

/// A group of copies of one piece of footage.
#[derive(Debug, Clone, Serialize)]
pub struct Cluster {
    /// Stable id: clusters are numbered in order of their kept member's path.
    pub id: usize,
    /// `exact` when all members are byte-identical, else `near`.
    pub kind: ClusterKind,
    /// Members in path order.
    pub members: Vec<ClusterMember>,
    /// Displayed path of the member every later stage uses.
    pub kept: String,
    /// Why that member was kept.
    pub reason: String,
}

/// A fake whose frames match a real video.
#[derive(Debug, Clone, Serialize)]
pub struct FakeOriginalLink {
    /// The fake's displayed path.
    pub fake: String,
    /// The real video its frames match best.
    pub original_by_content: String,
    /// Frames that matched.
    pub matched_frames: usize,
    /// Mean cosine similarity of matched frames.
    pub similarity: f64,
    /// The original named by the fake's metadata, if any.
    pub metadata_original: Option<String>,
    /// Whether the fake's metadata names the same original.
    pub metadata_check: MetadataCheck,
}

/// Videos that look alike without sharing frames and show the same people:
/// most likely segments of one recording session. They are kept (not
/// duplicates) but must land in one split.
#[derive(Debug, Clone, Serialize)]
pub struct Session {
    /// Stable id: sessions are numbered in order of their first member's path.
    pub id: usize,
    /// Displayed paths, in path order.
    pub members: Vec<String>,
    /// Mean cosine similarity of the alike frames over the links found.
    pub similarity: f64,
}

/// What the dedup stage found.
#[derive(Debug, Clone, Default)]
pub struct DedupOutcome {
    /// Clusters of two or more members.
    pub clusters: Vec<Cluster>,
    /// For each record index in a cluster: (cluster id, kept).
    pub membership: HashMap<usize, (usize, bool)>,
    /// Fake→original evidence.
    pub links: Vec<FakeOriginalLink>,
    /// Same-recording groups of two or more videos.
    pub sessions: Vec<Session>,
    /// For each record index in a session: its id.
    pub session_of: HashMap<usize, usize>,
}

/// Whether two alike videos may be one recording session: neither is a fake
/// (a fake shares its original's frames, and differs by design), and the
/// people do not differ (metadata identities equal where both have one,
/// identity embeddings close where both have one).
fn same_session(a: &VideoRecord, b: &VideoRecord) -> bool {
    if a.labels.label == Label::Fake || b.labels.label == Label::Fake {
        return false;
    }
    if let (Some(x), Some(y)) = (&a.labels.identity, &b.labels.identity) {
        return x == y;
    }
    match (a.identity_embedding(), b.identity_embedding()) {
        (Some(x), Some(y)) => {
            let cos: f32 = x.iter().zip(y).map(|(p, q)| p * q).sum();
            cos >= IDENTITY_MATCH_MIN_COS
        }
        _ => true,
    }
}

fn may_merge(a: &VideoRecord, b: &VideoRecord) -> bool {
    match (a.labels.label, b.labels.label) {
        (Label::Real, Label::Fake) | (Label::Fake, Label::Real) => false,
        (Label::Fake, Label::Fake) => a.labels.method == b.labels.method,
        _ => true,
    }
}

/// Find duplicates among the readable records that have frame results.
pub fn find(records: &[VideoRecord]) -> DedupOutcome {
    // Masks are not footage: the masks of two methods on one original look
    // alike without being copies of anything a detector trains on.
    let idx: Vec<usize> = (0..records.len())
        .filter(|&i| records[i].is_readable() && !records[i].is_mask())
        .collect();
    let mut sets = UnionFind::new(records.len());
    // Exact copies.
    let exact = exact_groups(records, &idx);
    let mut exact_of: HashMap<usize, usize> = HashMap::new();
    for g in &exact {
        for &i in g {
            exact_of.insert(i, g[0]);
            sets.union(g[0], i);
        }
    }
    // Near copies.
    // The frame pass's embeddings, else the keyframe pass's (link evidence).
    let with_frames: Vec<usize> = idx
        .iter()
        .copied()
        .filter(|&i| records[i].frame_embeddings().is_some())
        .collect();
    let frames: Vec<VideoFrames<'_>> = with_frames
        .iter()
        .map(|&i| {
            let (times_s, embeddings) = records[i].frame_embeddings().expect("filtered");
            VideoFrames {
                times_s,
                embeddings,
                indexed: records[i].frame_pass() == Some(FramePass::Full),
            }
        })
        .collect();
    let mut matches: BTreeMap<(usize, usize), PairMatch> = BTreeMap::new();
    let mut best_real_for_fake: BTreeMap<usize, (usize, PairMatch)> = BTreeMap::new();
    let mut alike: Vec<(usize, usize, f64)> = Vec::new();
    for (a, b) in candidate_pairs(&frames) {
        let (ra, rb) = (with_frames[a], with_frames[b]);
        let (x, y) = (&records[ra], &records[rb]);
        let m = match compare(&frames[a], &frames[b]) {
            None => continue,
            Some(Relation::Alike(m)) => {
                if same_session(x, y) {
                    alike.push((ra, rb, m.similarity));
                }
                continue;
            }
            Some(Relation::Copy(m)) => m,
        };
        if may_merge(x, y) {
            sets.union(ra, rb);
            matches.insert((ra, rb), m);
        } else if x.labels.label != y.labels.label {
            // One real, one fake (two fakes of different methods are neither
            // duplicates nor an original: nothing to record).
            let (fake, real) = if x.labels.label == Label::Fake {
                (ra, rb)
            } else {
                (rb, ra)
            };
            let better = best_real_for_fake
                .get(&fake)
                .is_none_or(|(_, old)| m.similarity > old.similarity);
            if better {
                best_real_for_fake.insert(fake, (real, m));
            }
        }
    }
    // Clusters.
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &i in &idx {
        groups.entry(sets.find(i)).or_default().push(i);
    }
    let referenced: BTreeSet<&str> = records
        .iter()
        .filter_map(|r| r.original_path.as_deref())
        .collect();
    let byte_identical = |g: &[usize]| {
        g.iter()
            .all(|i| exact_of.contains_key(i) && exact_of.get(i) == exact_of.get(&g[0]))
    };
    let mut clusters: Vec<(usize, Vec<usize>)> = groups
        .into_values()
        .filter(|g| g.len() > 1)
        .map(|g| {
            let refs = if byte_identical(&g) {
                Some(&referenced)
            } else {
                None
            };
            (keep(records, &g, refs), g)
        })
        .collect();
    clusters.sort_by(|a, b| records[a.0].path.cmp(&records[b.0].path));
    let mut out = DedupOutcome::default();
    for (id, (kept, members)) in clusters.into_iter().enumerate() {
        let all_exact = members
            .iter()
            .all(|i| exact_of.get(i) == exact_of.get(&kept) && exact_of.contains_key(i));
        let member_of = |i: usize| {
            let r = &records[i];
            let (mf, sim) = if i == kept {
                (None, None)
            } else if exact_of.contains_key(&i) && exact_of.get(&i) == exact_of.get(&kept) {
                (None, Some(1.0))
            } else {
                let key = (i.min(kept), i.max(kept));
                let direct: Option<PairMatch> = matches.get(&key).cloned().or_else(|| {
                    frames_of(&with_frames, &frames, i, kept).and_then(|(a, b)| {
                        match compare(a, b) {
                            Some(Relation::Copy(m)) => Some(m),
                            _ => None,
                        }
                    })
                });
                (
                    direct.as_ref().map(|m| m.matched_frames),
                    direct.as_ref().map(|m| m.similarity),
                )
            };
            ClusterMember {
                path: r.path.clone(),
                dataset: r.dataset.clone(),
                label: r.labels.label.as_str(),
                matched_frames: mf,
                similarity: sim,
            }
        };
        let mut ms: Vec<usize> = members.clone();
        ms.sort_by(|a, b| records[*a].path.cmp(&records[*b].path));
        for &i in &ms {
            out.membership.insert(i, (id, i == kept));
        }
        out.clusters.push(Cluster {
            id,
            kind: if all_exact {
                ClusterKind::Exact
            } else {
                ClusterKind::Near
            },
            members: ms.iter().map(|&i| member_of(i)).collect(),
            kept: records[kept].path.clone(),
            reason: keep_reason(
                records,
                kept,
                &members,
                all_exact && referenced.contains(records[kept].path.as_str()),
            ),
        });
    }
    // Same-session groups: alike, not copies, same people.
    let mut session_sets = UnionFind::new(records.len());
    for &(a, b, _) in &alike {
        session_sets.union(a, b);
    }
    let mut by_root: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &(a, b, _) in &alike {
        for i in [a, b] {
            let members = by_root.entry(session_sets.find(i)).or_default();
            if !members.contains(&i) {
                members.push(i);
            }
        }
    }
    let mut groups: Vec<Vec<usize>> = by_root.into_values().collect();
    for g in &mut groups {
        g.sort_by(|a, b| records[*a].path.cmp(&records[*b].path));
    }
    groups.sort_by(|a, b| records[a[0]].path.cmp(&records[b[0]].path));
    for (id, g) in groups.into_iter().enumerate() {
        let sims: Vec<f64> = alike
            .iter()
            .filter(|(a, _, _)| g.contains(a))
            .map(|x| x.2)
            .collect();
        for &i in &g {
            out.session_of.insert(i, id);
        }
        out.sessions.push(Session {
            id,
            members: g.iter().map(|&i| records[i].path.clone()).collect(),
            similarity: (sims.iter().sum::<f64>() / sims.len() as f64 * 1e4).round() / 1e4,
        });
    }
    // Fake → original links, checked against the metadata.
    for (fake, (real, m)) in best_real_for_fake {
        let f = &records[fake];
        let by_content = records[real].path.clone();
        let check = match &f.original_path {
            None => MetadataCheck::NoMetadata,
            Some(o) if *o == by_content => MetadataCheck::Agrees,
            Some(o) => {
                // The metadata may name another copy of the same footage.
                let same_cluster = records
                    .iter()
                    .position(|r| r.path == *o)
                    .and_then(|oi| out.membership.get(&oi))
                    .zip(out.membership.get(&real))
                    .is_some_and(|(a, b)| a.0 == b.0);
                if same_cluster {
                    MetadataCheck::Agrees
                } else {
                    MetadataCheck::Disagrees
                }
            }
        };
        out.links.push(FakeOriginalLink {
            fake: f.path.clone(),
            original_by_content: by_content,
            matched_frames: m.matched_frames,
            similarity: m.similarity,
            metadata_original: f.original_path.clone(),
            metadata_check: check,
        });
    }
    out
}

/// The thresholds `dedup_report.json` was made with.
#[derive(Debug, Clone, Serialize)]
pub struct DedupParameters {
    /// [`FRAME_MATCH_MAX_L2`].
    pub frame_match_max_l2: f32,
    /// [`MIN_MATCHED_FRAMES`].
    pub min_matched_frames: usize,
    /// [`MIN_MATCHED_FRACTION`].
    pub min_matched_fraction: f64,
    /// [`MIN_OFFSET_AGREEMENT`].
    pub min_offset_agreement: f64,
    /// [`OFFSET_TOLERANCE_SPACINGS`].
    pub offset_tolerance_spacings: f64,
    /// [`EMBEDDING_ENERGY_FLOOR`].
    pub embedding_energy_floor: f64,
    /// [`neighbours::BRUTE_FORCE_MAX_POINTS`].
    pub exact_search_up_to_frames: usize,
    /// The HNSW index above that.
    pub hnsw: HnswParameters,
}

/// HNSW index parameters.
#[derive(Debug, Clone, Serialize)]
pub struct HnswParameters {
    /// Neighbours per layer.
    pub m: usize,
    /// Construction beam.
    pub ef_construction: usize,
    /// Search beam.
    pub ef_search: usize,
}

/// What dedup found, in numbers.
#[derive(Debug, Clone, Serialize)]
pub struct DedupSummary {
    /// Readable videos (those dedup looked at).
    pub readable_videos: usize,
    /// Clusters of two or more.
    pub clusters: usize,
    /// Of those, byte-identical.
    pub exact_clusters: usize,
    /// Of those, with a transformed copy.
    pub near_clusters: usize,
    /// Videos in clusters.
    pub videos_in_clusters: usize,
    /// Members not kept.
    pub videos_not_kept: usize,
    /// Videos in clusters per dataset.
    pub videos_in_clusters_per_dataset: BTreeMap<String, usize>,
    /// Clusters whose members come from more than one dataset.
    pub cross_dataset_clusters: usize,
    /// Fakes whose frames match a real video.
    pub fake_original_links: usize,
    /// ...where the metadata names the same original.
    pub fake_original_links_agreeing_with_metadata: usize,
    /// ...where it names another.
    pub fake_original_links_disagreeing_with_metadata: usize,
    /// ...where it names none.
    pub fake_original_links_without_metadata: usize,
    /// Same-session groups (alike, not copies, same people).
    pub same_session_groups: usize,
    /// Videos in those groups.
    pub videos_in_sessions: usize,
}

/// The whole `dedup_report.json`.
#[derive(Debug, Clone, Serialize)]
pub struct DedupReport {
    /// The thresholds.
    pub parameters: DedupParameters,
    /// In numbers.
    pub summary: DedupSummary,
    /// The clusters, by id.
    pub clusters: Vec<Cluster>,
    /// Fake→original evidence.
    pub fake_original_links: Vec<FakeOriginalLink>,
    /// Same-session groups, kept together in one split by the plan.
    pub sessions: Vec<Session>,
}

/// The `dedup_report.json` document of `outcome` over `records`.
pub fn report(records: &[VideoRecord], outcome: &DedupOutcome) -> DedupReport {
    let mut per_dataset: BTreeMap<String, usize> = BTreeMap::new();
    for &i in outcome.membership.keys() {
        *per_dataset.entry(records[i].dataset.clone()).or_insert(0) += 1;
    }
    let cross_dataset = outcome
        .clusters
        .iter()
        .filter(|c| c.members.iter().any(|m| m.dataset != c.members[0].dataset))
        .count();
    let links_by = |check: MetadataCheck| {
        outcome
            .links
            .iter()
            .filter(|l| l.metadata_check == check)
            .count()
    };
    let kind = |k: ClusterKind| outcome.clusters.iter().filter(|c| c.kind == k).count();
    DedupReport {
        parameters: DedupParameters {
            frame_match_max_l2: FRAME_MATCH_MAX_L2,
            min_matched_frames: MIN_MATCHED_FRAMES,
            min_matched_fraction: MIN_MATCHED_FRACTION,
            min_offset_agreement: MIN_OFFSET_AGREEMENT,
            offset_tolerance_spacings: OFFSET_TOLERANCE_SPACINGS,
            embedding_energy_floor: EMBEDDING_ENERGY_FLOOR,
            exact_search_up_to_frames: neighbours::BRUTE_FORCE_MAX_POINTS,
            hnsw: HnswParameters {
                m: neighbours::HNSW_M,
                ef_construction: neighbours::HNSW_EF_CONSTRUCTION,
                ef_search: neighbours::HNSW_EF_SEARCH,
            },
        },
        summary: DedupSummary {
            readable_videos: records.iter().filter(|r| r.is_readable()).count(),
            clusters: outcome.clusters.len(),
            exact_clusters: kind(ClusterKind::Exact),
            near_clusters: kind(ClusterKind::Near),
            videos_in_clusters: outcome.membership.len(),
            videos_not_kept: outcome
                .membership
                .values()
                .filter(|(_, kept)| !kept)
                .count(),
            videos_in_clusters_per_dataset: per_dataset,
            cross_dataset_clusters: cross_dataset,
            fake_original_links: outcome.links.len(),
            fake_original_links_agreeing_with_metadata: links_by(MetadataCheck::Agrees),
            fake_original_links_disagreeing_with_metadata: links_by(MetadataCheck::Disagrees),
            fake_original_links_without_metadata: links_by(MetadataCheck::NoMetadata),
            same_session_groups: outcome.sessions.len(),
            videos_in_sessions: outcome.session_of.len(),
        },
        clusters: outcome.clusters.clone(),
        fake_original_links: outcome.links.clone(),
        sessions: outcome.sessions.clone(),
    }
}

fn frames_of<'r>(
    with_frames: &[usize],
    frames: &'r [VideoFrames<'r>],
    a: usize,
    b: usize,
) -> Option<(&'r VideoFrames<'r>, &'r VideoFrames<'r>)> {
    let pa = with_frames.iter().position(|&i| i == a)?;
    let pb = with_frames.iter().position(|&i| i == b)?;
    Some((&frames[pa], &frames[pb]))
}

/// The member to keep: real before unknown before fake; among byte-identical
/// copies (`referenced` given) the one a fake's metadata names as its
/// original; then the highest resolution, then the longest (a trimmed copy
/// holds less footage), then the highest bitrate, then the first path.
fn keep(records: &[VideoRecord], members: &[usize], referenced: Option<&BTreeSet<&str>>) -> usize {
    let key = |i: usize| {
        let r = &records[i];
        let p = r.probe.as_ref().expect("readable");
        let label_rank = match r.labels.label {
            Label::Real => 0,
            Label::Unknown => 1,
            Label::Fake => 2,
        };
        let unreferenced = referenced.is_some_and(|refs| !refs.contains(r.path.as_str()));
        let duration_steps = (p.duration_s / SAME_DURATION_S).round() as i64;
        (
            label_rank,
            unreferenced,
            std::cmp::Reverse(u64::from(p.width) * u64::from(p.height)),
            std::cmp::Reverse(duration_steps),
            std::cmp::Reverse(p.bitrate_bps),
            r.path.as_str(),
        )
    };
    *members
        .iter()
        .min_by(|&&a, &&b| key(a).cmp(&key(b)))
        .expect("non-empty cluster")
}

fn keep_reason(
    records: &[VideoRecord],
    kept: usize,
    members: &[usize],
    referenced: bool,
) -> String {
    let p = records[kept].probe.as_ref().expect("readable");
    let others = members.len() - 1;
    format!(
        "kept the {} copy {}with the highest resolution ({}x{}), then duration ({:.1} s), then bitrate ({} kb/s), then path order; {} other member{} not used",
        records[kept].labels.label.as_str(),
        if referenced {
            "a fake's metadata names as its original, "
        } else {
            ""
        },
        p.width,
        p.height,
        p.duration_s,
        p.bitrate_bps / 1000,
        others,
        if others == 1 { " is" } else { "s are" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unit embedding pointing mostly along axis `k`, with a little of `k+1`.
    fn e(k: usize, wobble: f32) -> Vec<f32> {
        let mut v = vec![0.0f32; 64];
        v[k % 64] = 1.0;
        v[(k + 1) % 64] = wobble;
        let n = norm(&v);
        v.iter().map(|x| x / n).collect()
    }

    fn video(ks: &[usize], wobble: f32) -> (Vec<f64>, Vec<Vec<f32>>) {
        (
            (0..ks.len()).map(|i| i as f64).collect(),
            ks.iter().map(|&k| e(k, wobble)).collect(),
        )
    }

    fn frames<'a>(v: &'a (Vec<f64>, Vec<Vec<f32>>)) -> VideoFrames<'a> {
        VideoFrames {
            times_s: &v.0,
            embeddings: &v.1,
            indexed: true,
        }
    }

    #[test]
    fn trimmed_copies_share_frames_and_shuffled_ones_only_look_alike() {
        let source = video(&(0..16).collect::<Vec<_>>(), 0.0);
        let first_half = video(&(0..8).collect::<Vec<_>>(), 0.05);
        let Some(Relation::Copy(m)) = compare(&frames(&source), &frames(&first_half)) else {
            panic!("a trimmed copy is a copy");
        };
        assert_eq!((m.matched_frames, m.of_frames), (8, 8));
        // The second half starts at 0 in the copy: one offset of 8 s.
        let mut second_half = video(&(8..16).collect::<Vec<_>>(), 0.05);
        second_half.0 = (0..8).map(f64::from).collect();
        assert!(matches!(
            compare(&frames(&source), &frames(&second_half)),
            Some(Relation::Copy(_))
        ));
        // The same frames at scattered times: alike (one recording's other
        // moments), not a copy.
        let shuffled = video(
            &[9, 2, 14, 5, 0, 11, 7, 3, 12, 1, 15, 6, 10, 4, 13, 8],
            0.05,
        );
        assert!(matches!(
            compare(&frames(&source), &frames(&shuffled)),
            Some(Relation::Alike(_))
        ));
        let other = video(&(20..36).collect::<Vec<_>>(), 0.0);
        assert!(compare(&frames(&source), &frames(&other)).is_none());
    }

    #[test]
    fn low_texture_embeddings_are_not_informative() {
        // A unit embedding is informative; the same shape at a third of the
        // energy floor (scaled by the stats module) is not.
        let textured = e(3, 0.0);
        let faint: Vec<f32> = textured.iter().map(|x| x / 3.0).collect();
        let v = (vec![0.0, 1.0], vec![textured, faint]);
        assert_eq!(informative(&frames(&v)), vec![0]);
    }

    #[test]
    fn flat_frames_are_ignored_and_candidates_found_exactly() {
        let flat = (vec![0.0, 1.0, 2.0, 3.0], vec![vec![0.0f32; 64]; 4]);
        assert!(compare(&frames(&flat), &frames(&flat)).is_none());
        let a = video(&[1, 2, 3, 4], 0.0);
        let b = video(&[1, 2, 3, 4], 0.1);
        let c = video(&[30, 31, 32, 33], 0.0);
        let pairs = candidate_pairs(&[frames(&a), frames(&b), frames(&c), frames(&flat)]);
        assert_eq!(pairs.into_iter().collect::<Vec<_>>(), vec![(0, 1)]);
    }
    /// A readable record of `path` (a real file), labelled `label`.
    fn record(dir: &Path, name: &str, label: Label) -> VideoRecord {
        let fs_path = dir.join(name);
        VideoRecord {
            dataset: "d".into(),
            path: format!("d/{name}"),
            rel_path: name.into(),
            key: fs_path.display().to_string(),
            size_bytes: std::fs::metadata(&fs_path).unwrap().len(),
            fs_path,
            mtime_ns: 0,
            is_regular: true,
            labels: crate::labels::LabelInfo {
                label,
                ..Default::default()
            },
            original_path: None,
            probe: Some(crate::probe::ProbeInfo {
                container: "mp4".into(),
                format_name: "mp4".into(),
                codec: "h264".into(),
                profile: None,
                pix_fmt: None,
                width: 320,
                height: 240,
                rotation_deg: 0,
                fps: 25.0,
                duration_s: 12.0,
                bitrate_bps: 1000,
                frame_count: 300,
                frame_count_estimated: false,
                has_audio: false,
                audio_codec: None,
                tags: Default::default(),
            }),
            frames: None,
            cluster_id: None,
            duplicate_of: None,
            session_id: None,
            keyframes: None,
            error: None,
        }
    }

    #[test]
    fn of_byte_identical_copies_the_one_a_fake_names_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.mp4", "b.mp4"] {
            std::fs::write(dir.path().join(name), b"the same bytes in both files").unwrap();
        }
        std::fs::write(dir.path().join("f.mp4"), b"a fake").unwrap();
        let mut records = vec![
            record(dir.path(), "a.mp4", Label::Real),
            record(dir.path(), "b.mp4", Label::Real),
            record(dir.path(), "f.mp4", Label::Fake),
        ];
        // Without a reference, path order keeps a.
        let out = find(&records);
        assert_eq!(out.clusters.len(), 1);
        assert_eq!(out.clusters[0].kept, "d/a.mp4");
        // The fake's metadata names b as its original: b is kept.
        records[2].original_path = Some("d/b.mp4".into());
        let out = find(&records);
        assert_eq!(out.clusters[0].kept, "d/b.mp4");
        assert!(out.clusters[0].reason.contains("names as its original"));
    }
}
