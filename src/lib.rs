//! engine: content analysis of deepfake video datasets.
//!
//! `engine analyze ROOT...` ([`analyze::run`]) answers "which real videos,
//! how many 10-second clips from each, and why". One [`record::VideoRecord`]
//! per video flows through the stages, each reading and adding to it, each
//! stage's result kept in the SQLite [`catalog`] as it is made (a killed run
//! resumes; unchanged files are not analysed twice):
//!
//! 1. [`scan`]: walk the roots (links followed safely, loops reported), find
//!    videos and metadata files; [`labels`]: real/fake, method, original,
//!    split, identity and categories from each dataset's own metadata;
//! 2. [`probe`]: container and streams, in-process with FFmpeg; [`capture`]:
//!    the recording device from the file's tags and format;
//! 3. [`frames`] → [`stats`] → [`quality`]: sampled frames through wgpu
//!    shaders or the identical CPU path (brightness, contrast, blur, motion,
//!    colour, blockiness, a DCT embedding per frame), aggregated per video;
//!    [`faces`]: the face pass on a subset of those frames (ONNX models
//!    through `ort`): count, size, pose, optional identity and age/gender;
//! 4. [`dedup`]: byte-identical and near-duplicate copies across all roots
//!    (frame embeddings through [`neighbours`]), one member kept per cluster;
//! 5. [`sample`]: diversity axes, quotas, the greedy and swap passes, the
//!    clip plan and `diversity_balance.json`;
//! 6. [`plan`]: the fake catalog, the split and clip plan and the stage 1/3
//!    recommendations; [`stage2`]: the fake-generation jobs, from the
//!    method table and generator catalog in [`generators`];
//!    [`report`]: `inventory.jsonl`, `report.json`, `dedup_report.json`,
//!    `real_sources.jsonl`, `diversity_balance.json`; [`html`]: `report.html`.
//!
//! Sharded runs ([`shard`]): `engine analyze --shard I/N` runs steps 1–3 on
//! one shard of the files; `engine merge` joins the shards' catalogs and runs
//! steps 4–6 ([`analyze::conclude`]).
//!
//! `engine extract` ([`extract`]) cuts the clips of `clip_plan.jsonl` into a
//! store with one fixed encoding and writes their manifest; `engine promote`
//! ([`promote`], entries of [`manifest`]) appends a clip manifest to an
//! append-only ledger. Domain thresholds live in [`policy`];
//! [`cli`] turns flags into a plain config; [`paths`] spells paths the way
//! the outputs show them (`X:\dataset_3` → `X:/dataset_3`).

pub mod analyze;
pub mod capture;
pub mod catalog;
pub mod cli;
pub mod dedup;
pub mod extract;
pub mod faces;
pub mod frames;
pub mod generators;
pub mod html;
pub mod labels;
pub mod manifest;
pub mod neighbours;
pub mod paths;
pub mod plan;
pub mod policy;
pub mod probe;
pub mod promote;
pub mod quality;
pub mod record;
pub mod report;
pub mod sample;
pub mod scan;
pub mod scene;
pub mod shard;
pub mod stage2;
pub mod stats;
pub mod unionfind;
