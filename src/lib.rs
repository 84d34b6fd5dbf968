//! engine: content analysis of deepfake video datasets.
//!
//! `engine analyze ROOT...` inventories every video under the roots, labels it
//! from the datasets' own metadata, and writes `inventory.jsonl` and
//! `report.json`. One [`record::VideoRecord`] per video flows through the
//! stages: [`scan`] → [`probe`] (with [`labels`]) → [`report`], each stage's
//! results kept in the SQLite [`catalog`] as they are made.

pub mod analyze;
pub mod catalog;
pub mod cli;
pub mod dedup;
pub mod faces;
pub mod frames;
pub mod html;
pub mod labels;
pub mod manifest;
pub mod paths;
pub mod plan;
pub mod probe;
pub mod promote;
pub mod quality;
pub mod record;
pub mod report;
pub mod sample;
pub mod scan;
pub mod stats;
