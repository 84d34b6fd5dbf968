//! Labels from the datasets' own metadata and folder layouts.
//!
//! Each dataset layout has one small adapter module. An adapter looks at the
//! list of video and metadata files found under one root (paths relative to the
//! root, `/`-joined), reads the metadata files it recognises (read-only) and
//! proposes a [`LabelInfo`] per video. Metadata files outrank layout rules;
//! within each kind the first adapter that labels a video wins. Malformed
//! metadata never stops the run: it becomes a [`MetadataConcern`] and the
//! affected videos fall back to layout rules or `unknown`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

mod celebdf;
mod deeperforensics;
mod deepfakebench;
mod dfdc;
mod fakeavceleb;
mod ffpp;
mod folders;
mod sidecar;
mod util;

#[cfg(test)]
mod tests;

/// Real, fake or unknown, as the dataset's metadata or layout says.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// Pristine footage.
    Real,
    /// Manipulated or synthesised footage.
    Fake,
    /// Nothing said which.
    #[default]
    Unknown,
}

impl Label {
    /// The lowercase name written to the outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Real => "real",
            Label::Fake => "fake",
            Label::Unknown => "unknown",
        }
    }
}

/// What a video file is: footage to label, or a by-product of a dataset that
/// is not footage to train or select on.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum VideoKind {
    /// A video of people (real or fake): the default.
    #[default]
    Video,
    /// A mask video: the manipulated pixels of a fake drawn white on black
    /// (FaceForensics++ `manipulated_sequences/<method>/masks/videos/`). Its
    /// `label` is always `unknown`: it is neither real nor fake footage.
    Mask,
}

impl VideoKind {
    /// The lowercase name written to the outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            VideoKind::Video => "video",
            VideoKind::Mask => "mask",
        }
    }
}

/// What the metadata (or a layout rule) says about one video.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LabelInfo {
    /// Real, fake or unknown.
    pub label: Label,
    /// Which file or rule gave the label, e.g. `metadata:dfdc_train_part_0/metadata.json`
    /// or `layout:ffpp`.
    pub label_source: String,
    /// Video or mask. A mask keeps `label` unknown whatever any source says,
    /// and its `label_source` names the rule that found it a mask.
    #[serde(default)]
    pub kind: VideoKind,
    /// Manipulation method for fakes, one name per method whichever source
    /// gave it (`Deepfakes`, `FaceSwap`, `DF-VAE`, `method_A`, ...).
    pub method: Option<String>,
    /// The name the deciding metadata itself gives the method or fake class,
    /// when it differs from the engine's name: DeepfakeBench class names such
    /// as `FF-DF` (method `Deepfakes`) or `DFDC_Fake` (a class that names no
    /// method, so `method` stays empty). `None` when `method` is the source's
    /// own name.
    #[serde(default)]
    pub method_source: Option<String>,
    /// The original of a fake, as a path relative to the same root (`/`-joined),
    /// when the metadata or layout names one.
    pub original: Option<String>,
    /// `train`, `val` or `test`: the dataset's official split when it has one
    /// for this video (then equal to `official_split`), else a hint from a
    /// source the dataset did not publish as its split (a home-grown sidecar
    /// JSON's `split`, a `train/` or `test/` folder name).
    pub split: Option<String>,
    /// The split the dataset's own publication assigns, and only that: FF++
    /// `splits/{train,val,test}.json`, Celeb-DF `List_of_testing_videos.txt`
    /// (listed: test, the rest train), DFDC `metadata.json` `split`, the DFDC
    /// test release's `labels.csv` and the preview's `dataset.json` `set`,
    /// DeeperForensics-1.0 `lists/splits/`, and DeepfakeBench dataset JSON
    /// (a video filed under all three splits has none). `split` differs from
    /// it only where this is `None` and a non-official hint gave `split`; a
    /// video whose official split is test or val must stay out of training
    /// (and out of fake-generation sources).
    #[serde(default)]
    pub official_split: Option<String>,
    /// Identity of the person shown (the target identity for fakes), where known.
    pub identity: Option<String>,
    /// Further categories from the metadata (`scene`, `lighting`, `gender`, ...):
    /// candidate diversity axes.
    pub attrs: BTreeMap<String, String>,
}

/// A metadata file that could not be used as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataConcern {
    /// Path of the metadata file relative to the root, `/`-joined.
    pub rel_path: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The files of one dataset root, as the scanner found them.
#[derive(Debug, Clone, Copy)]
pub struct DatasetFiles<'a> {
    /// The root directory on disk (read-only).
    pub root: &'a Path,
    /// Video files, relative to the root, `/`-joined.
    pub videos: &'a [String],
    /// Metadata files (json, csv, txt), relative to the root, `/`-joined.
    pub metadata: &'a [String],
}

/// Labels for one dataset root.
#[derive(Debug, Clone, Default)]
pub struct LabelOutcome {
    /// Labels keyed by video path relative to the root. Videos no adapter
    /// recognised are absent (they are `unknown`).
    pub labels: BTreeMap<String, LabelInfo>,
    /// Metadata files that were malformed or did not fit their format.
    pub concerns: Vec<MetadataConcern>,
    /// Names of the layouts and metadata formats recognised (`ffpp`, `dfdc`, ...).
    pub layouts: Vec<String>,
    /// Metadata files that some adapter used, relative to the root.
    pub used_metadata: Vec<String>,
}

/// Assign labels to every video of one dataset root.
pub fn assign_labels(files: DatasetFiles<'_>) -> LabelOutcome {
    let mut out = LabelOutcome::default();
    // Masks first: whatever any later source says, they stay masks.
    ffpp::apply_masks(files, &mut out);
    // Metadata files next: they outrank layout rules. The datasets' own
    // files come before DeepfakeBench's JSON, which is derived from them
    // (its `preprocessing/rearrange.py` reads these very lists), so the
    // official lists decide where the two disagree.
    dfdc::apply(files, &mut out);
    fakeavceleb::apply(files, &mut out);
    celebdf::apply_metadata(files, &mut out);
    deeperforensics::apply_metadata(files, &mut out);
    ffpp::apply_metadata(files, &mut out);
    deepfakebench::apply(files, &mut out);
    sidecar::apply(files, &mut out);
    // Then layout rules for what is still unlabelled.
    ffpp::apply_layout(files, &mut out);
    celebdf::apply_layout(files, &mut out);
    deeperforensics::apply_layout(files, &mut out);
    folders::apply(files, &mut out);
    out.layouts.sort();
    out.layouts.dedup();
    out.used_metadata.sort();
    out.used_metadata.dedup();
    out
}

impl LabelOutcome {
    /// Add what `info` says about the video `rel_path`, filling only what is
    /// still unknown: the label (and its `label_source`) when the video is
    /// unlabelled or `unknown`, each optional field when still `None`, and
    /// attributes not yet present. Earlier (higher-priority) sources win,
    /// with two exceptions: a mask stays a mask with an unknown label and
    /// takes nothing from later sources, and an official split replaces a
    /// non-official one (see [`LabelInfo::official_split`]).
    pub fn merge(&mut self, rel_path: &str, info: LabelInfo) {
        let entry = self.labels.entry(rel_path.to_string()).or_default();
        if entry.kind == VideoKind::Mask {
            return;
        }
        if info.kind == VideoKind::Mask {
            *entry = LabelInfo {
                label: Label::Unknown,
                ..info
            };
            return;
        }
        if entry.label == Label::Unknown && info.label != Label::Unknown {
            entry.label = info.label;
            entry.label_source = info.label_source.clone();
        } else if entry.label_source.is_empty() {
            entry.label_source = info.label_source.clone();
        }
        match (&entry.method, &info.method) {
            (None, Some(_)) => {
                entry.method = info.method;
                entry.method_source = info.method_source;
            }
            (Some(a), Some(b)) if a == b && entry.method_source.is_none() => {
                entry.method_source = info.method_source;
            }
            (None, None) if entry.method_source.is_none() => {
                entry.method_source = info.method_source;
            }
            _ => {}
        }
        if entry.original.is_none() {
            entry.original = info.original;
        }
        // An official split outranks any split a non-official source gave
        // first; among official sources the first (highest-priority) wins.
        if entry.official_split.is_none() && info.official_split.is_some() {
            entry.official_split = info.official_split;
            entry.split.clone_from(&entry.official_split);
        } else if entry.split.is_none() {
            entry.split = info.split;
        }
        if entry.identity.is_none() {
            entry.identity = info.identity;
        }
        for (k, v) in info.attrs {
            entry.attrs.entry(k).or_insert(v);
        }
    }

    /// Record a problem with a metadata file.
    pub fn concern(&mut self, rel_path: &str, reason: impl Into<String>) {
        self.concerns.push(MetadataConcern {
            rel_path: rel_path.to_string(),
            reason: reason.into(),
        });
    }
}
