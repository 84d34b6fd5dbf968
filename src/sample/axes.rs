//! The diversity axes: for every candidate, its category on each axis
//! (dataset, metadata categories, lighting, sharpness, motion, resolution,
//! bitrate, duration, orientation, faces, estimated demographics), as typed
//! category ids, and the axes that could not be measured.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use crate::faces::summary::DEMOGRAPHIC_MIN_CONFIDENCE;
use crate::policy;
use crate::record::VideoRecord;

/// A category of one axis: an index into [`Axis::categories`] (which are
/// sorted by name, so id order is name order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CatId(pub u32);

impl CatId {
    /// The index into the axis's category list.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Where an axis's categories come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AxisSource {
    /// Measured by the engine (probe, frame pass) or the dataset name.
    Measured,
    /// The face pass.
    Faces,
    /// An age/gender model's estimate where the metadata has no value
    /// (`axis` is the metadata key it stands in for).
    Estimated {
        /// The axis (and metadata key) estimated.
        axis: &'static str,
    },
    /// A metadata attribute of the datasets.
    Metadata {
        /// The attribute key.
        key: String,
    },
}

impl fmt::Display for AxisSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AxisSource::Measured => f.write_str("measured"),
            AxisSource::Faces => f.write_str("faces"),
            AxisSource::Estimated { axis } => write!(
                f,
                "faces:genderage (estimated where the metadata has no `{axis}`; confidence >= {DEMOGRAPHIC_MIN_CONFIDENCE})"
            ),
            AxisSource::Metadata { key } => write!(f, "metadata:{key}"),
        }
    }
}

/// One axis's categories for every candidate.
#[derive(Debug, Clone)]
pub struct Axis {
    /// Axis name (`lighting`, `scene`, ...).
    pub name: String,
    /// Where the categories come from.
    pub source: AxisSource,
    /// The category names seen among the candidates, sorted.
    pub categories: Vec<String>,
    /// Category per candidate (same order as the candidates); None if unknown.
    pub values: Vec<Option<CatId>>,
}

impl Axis {
    /// An axis from one optional category name per candidate.
    pub fn new(name: &str, source: AxisSource, raw: Vec<Option<String>>) -> Axis {
        let categories: Vec<String> = raw
            .iter()
            .flatten()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let values = raw
            .iter()
            .map(|v| {
                v.as_ref()
                    .map(|v| CatId(categories.binary_search(v).expect("collected above") as u32))
            })
            .collect();
        Axis {
            name: name.to_string(),
            source,
            categories,
            values,
        }
    }

    /// Values partly estimated by a model (gender, age group): used for
    /// balancing in aggregate, never written per video (`real_sources.jsonl`
    /// omits the axis from `axes` and `reason`).
    pub fn estimated(&self) -> bool {
        matches!(self.source, AxisSource::Estimated { .. })
    }

    /// Whether the axis comes from the datasets' metadata.
    pub fn is_metadata(&self) -> bool {
        matches!(self.source, AxisSource::Metadata { .. })
    }

    /// The name of category `c`.
    pub fn category(&self, c: CatId) -> &str {
        &self.categories[c.index()]
    }

    /// Candidate `cand`'s category name, if known.
    pub fn value_name(&self, cand: usize) -> Option<&str> {
        self.values[cand].map(|c| self.category(c))
    }

    /// Count per category over the candidates of `subset`.
    pub fn counts(&self, subset: impl IntoIterator<Item = usize>) -> Vec<usize> {
        let mut n = vec![0; self.categories.len()];
        for c in subset {
            if let Some(v) = self.values[c] {
                n[v.index()] += 1;
            }
        }
        n
    }

    /// Share of the candidates with a value on this axis (1 when there are
    /// no candidates).
    pub fn coverage(&self) -> f64 {
        if self.values.is_empty() {
            1.0
        } else {
            self.values.iter().filter(|v| v.is_some()).count() as f64 / self.values.len() as f64
        }
    }
}

/// An axis that could not be measured or balanced, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    /// Axis name.
    pub axis: String,
    /// Why it is missing.
    pub reason: String,
}

/// Axes measured by the engine (not from metadata), in report order.
pub const MEASURED_AXES: &[&str] = &[
    "dataset",
    "lighting",
    "sharpness",
    "motion",
    "resolution",
    "bitrate",
    "duration",
    "orientation",
    "capture_device",
    "light_color",
    "background",
    "camera_motion",
    "setting",
    "face_count",
    "face_size",
    "pose",
];

/// Axes the engine would use but can only take from metadata or optional
/// models: reported as gaps when nothing provides them.
pub const DEMOGRAPHIC_AXES: &[&str] = &["gender", "age_group", "ethnicity"];

/// Resolution tier from the short side of the displayed frame.
pub fn resolution_tier(width: u32, height: u32) -> &'static str {
    match width.min(height) {
        s if s <= policy::SD_MAX_SHORT_SIDE_PX => "480p_or_less",
        s if s <= policy::HD_MAX_SHORT_SIDE_PX => "720p",
        s if s <= policy::FULL_HD_MAX_SHORT_SIDE_PX => "1080p",
        _ => "above_1080p",
    }
}

/// Bitrate tier from bits per pixel per frame.
pub fn bitrate_tier(bitrate_bps: u64, width: u32, height: u32, fps: f64) -> &'static str {
    let pixels_per_s = f64::from(width) * f64::from(height) * fps.max(1.0);
    let bpp = bitrate_bps as f64 / pixels_per_s.max(1.0);
    if bpp < policy::LOW_BPP {
        "low"
    } else if bpp < policy::HIGH_BPP {
        "medium"
    } else {
        "high"
    }
}

/// Duration tier: one clip's worth up to 30 s, up to 2 min, longer.
pub fn duration_tier(duration_s: f64) -> &'static str {
    if duration_s < policy::SHORT_VIDEO_MAX_S {
        "under_30s"
    } else if duration_s < policy::MEDIUM_VIDEO_MAX_S {
        "30s_to_2min"
    } else {
        "over_2min"
    }
}

/// Orientation as displayed (rotation by 90° or 270° swaps the sides).
pub fn orientation(width: u32, height: u32, rotation_deg: i32) -> &'static str {
    let (w, h) = if rotation_deg.rem_euclid(180) == 90 {
        (height, width)
    } else {
        (width, height)
    };
    if w > h {
        "landscape"
    } else if h > w {
        "portrait"
    } else {
        "square"
    }
}

/// The snake_case name a unit enum serialises to.
fn name_of<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Dataset spellings of gender mapped onto the age/gender model's classes
/// (FakeAVCeleb `men`/`women`, DeeperForensics `M`/`W`); others kept as given.
pub fn normalise_demographic(v: &str) -> String {
    match v.trim().to_ascii_lowercase().as_str() {
        "m" | "man" | "men" | "male" => "male".into(),
        "w" | "f" | "woman" | "women" | "female" => "female".into(),
        other => other.to_string(),
    }
}

/// Every axis over `cands` (indices into `records`), in report order, and
/// the axes that could not be measured.
pub fn build(
    records: &[VideoRecord],
    cands: &[usize],
    face_pass_ran: bool,
) -> (Vec<Axis>, Vec<Gap>) {
    let mut out = Vec::new();
    let mut gaps = Vec::new();
    let over = |f: &dyn Fn(&VideoRecord) -> Option<String>| -> Vec<Option<String>> {
        cands.iter().map(|&i| f(&records[i])).collect()
    };
    let measured = |name: &str, f: &dyn Fn(&VideoRecord) -> Option<String>| {
        Axis::new(name, AxisSource::Measured, over(f))
    };
    out.push(measured("dataset", &|r| Some(r.dataset.clone())));
    let q = |r: &VideoRecord| r.frames.as_ref().map(|f| f.quality.clone());
    out.push(measured("lighting", &|r| {
        q(r).map(|q| name_of(&q.lighting))
    }));
    out.push(measured("sharpness", &|r| {
        q(r).map(|q| name_of(&q.sharpness))
    }));
    out.push(measured("motion", &|r| q(r).map(|q| name_of(&q.motion))));
    out.push(measured("resolution", &|r| {
        r.probe
            .as_ref()
            .map(|p| resolution_tier(p.width, p.height).to_string())
    }));
    out.push(measured("bitrate", &|r| {
        r.probe
            .as_ref()
            .map(|p| bitrate_tier(p.bitrate_bps, p.width, p.height, p.fps).to_string())
    }));
    out.push(measured("duration", &|r| {
        r.probe
            .as_ref()
            .map(|p| duration_tier(p.duration_s).to_string())
    }));
    out.push(measured("orientation", &|r| {
        r.probe
            .as_ref()
            .map(|p| orientation(p.width, p.height, p.rotation_deg).to_string())
    }));
    // The recording device; `unknown` is no value, not a category.
    out.push(measured("capture_device", &|r| {
        let device = crate::capture::for_record(r)?.device;
        (device != crate::capture::Device::Unknown).then(|| device.as_str().to_string())
    }));
    // The scene, measured on the frame pass (setting: metadata first);
    // `unknown` settings are no value.
    let scene = crate::scene::for_record;
    out.push(measured("light_color", &|r| {
        scene(r).and_then(|s| s.light_color).map(|c| name_of(&c))
    }));
    out.push(measured("background", &|r| {
        scene(r).and_then(|s| s.background).map(|b| name_of(&b))
    }));
    out.push(measured("camera_motion", &|r| {
        scene(r).and_then(|s| s.camera_motion).map(|m| name_of(&m))
    }));
    out.push(measured("setting", &|r| {
        scene(r)
            .map(|s| s.setting)
            .filter(|s| *s != crate::scene::Setting::Unknown)
            .map(|s| s.as_str().to_string())
    }));
    let faces = |r: &VideoRecord| r.frames.as_ref().and_then(|f| f.faces.clone());
    if face_pass_ran {
        let from_faces = |name: &str, f: &dyn Fn(&VideoRecord) -> Option<String>| {
            Axis::new(name, AxisSource::Faces, over(f))
        };
        out.push(from_faces("face_count", &|r| {
            faces(r).map(|f| name_of(&f.face_count))
        }));
        out.push(from_faces("face_size", &|r| {
            faces(r).and_then(|f| f.face_size).map(|s| name_of(&s))
        }));
        out.push(from_faces("pose", &|r| {
            faces(r).and_then(|f| f.pose).map(|p| name_of(&p))
        }));
        // Gender and age group from an age/gender model, where one ran:
        // the dataset's own metadata first (normalised), else the estimate
        // when confident enough.
        for (axis, meta_keys) in [
            ("gender", &["gender", "sex"][..]),
            ("age_group", &["age_group"][..]),
            ("ethnicity", &["ethnicity", "race"][..]),
        ] {
            let estimate = |r: &VideoRecord| -> Option<String> {
                let f = faces(r)?;
                let (v, c) = match axis {
                    "gender" => f.gender.map(|e| (name_of(&e.value), e.confidence))?,
                    "age_group" => f.age_group.map(|e| (name_of(&e.value), e.confidence))?,
                    _ => f.ethnicity.map(|e| (e.value, e.confidence))?,
                };
                (c >= DEMOGRAPHIC_MIN_CONFIDENCE).then_some(v)
            };
            if !cands.iter().any(|&i| estimate(&records[i]).is_some()) {
                continue;
            }
            let values = over(&|r| {
                meta_keys
                    .iter()
                    .find_map(|k| r.labels.attrs.get(*k))
                    .map(|v| normalise_demographic(v))
                    .or_else(|| estimate(r))
            });
            out.push(Axis::new(axis, AxisSource::Estimated { axis }, values));
        }
    } else {
        for a in ["face_count", "face_size", "pose"] {
            gaps.push(Gap {
                axis: a.into(),
                reason: "the face pass did not run (--no-faces, or its models are missing: run `make models`)".into(),
            });
        }
        gaps.push(Gap {
            axis: "usable_face".into(),
            reason: "the face pass did not run: real sources were not checked for a face that face-swap and reenactment generators can use".into(),
        });
    }
    // Metadata categories: string attributes with a handful of values.
    let mut keys: BTreeSet<String> = BTreeSet::new();
    for &i in cands {
        keys.extend(records[i].labels.attrs.keys().cloned());
    }
    for key in keys {
        let merged = |axis: &str| out.iter().any(|a: &Axis| a.name == axis && a.estimated());
        if (key == "gender" || key == "sex") && merged("gender")
            || key == "age_group" && merged("age_group")
            || (key == "ethnicity" || key == "race") && merged("ethnicity")
        {
            continue;
        }
        let values = over(&|r| r.labels.attrs.get(&key).cloned());
        let distinct: BTreeSet<&String> = values.iter().flatten().collect();
        if distinct.len() < 2 || distinct.len() > policy::MAX_METADATA_CATEGORIES {
            continue;
        }
        let name = if MEASURED_AXES.contains(&key.as_str()) {
            format!("meta_{key}")
        } else {
            key.clone()
        };
        out.push(Axis::new(&name, AxisSource::Metadata { key }, values));
    }
    for d in DEMOGRAPHIC_AXES {
        let from_metadata = |a: &Axis| match &a.source {
            AxisSource::Metadata { key } => match *d {
                "gender" => key == "gender" || key == "sex",
                "ethnicity" => key == "ethnicity" || key == "race",
                _ => key == d,
            },
            _ => false,
        };
        if !out.iter().any(|a| a.name == *d || from_metadata(a)) {
            let reason = if *d == "ethnicity" {
                crate::faces::ETHNICITY_GAP_REASON.to_string()
            } else if face_pass_ran {
                format!(
                    "no dataset metadata gives `{d}` for these videos and no age/gender estimate reached confidence {DEMOGRAPHIC_MIN_CONFIDENCE}"
                )
            } else {
                format!(
                    "no dataset metadata gives `{d}` for these videos and the face pass (which estimates it) did not run"
                )
            };
            gaps.push(Gap {
                axis: d.to_string(),
                reason,
            });
        }
    }
    (out, gaps)
}

/// Gaps for axes that exist but cannot be balanced: no candidate has a value,
/// or every candidate falls in one category (e.g. every video is 480p or
/// less), so footage of the other categories is missing from the roots.
pub fn single_category_gaps(axes: &[Axis]) -> Vec<Gap> {
    axes.iter()
        .filter_map(|a| match a.categories.len() {
            0 => Some(Gap {
                axis: a.name.clone(),
                reason: "no candidate has a value on this axis: nothing to balance".into(),
            }),
            1 => Some(Gap {
                axis: a.name.clone(),
                reason: format!(
                    "every candidate with a value is `{}`: footage of the other {} categories is missing from the roots",
                    a.categories[0], a.name
                ),
            }),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_and_orientation() {
        assert_eq!(resolution_tier(1920, 1080), "1080p");
        assert_eq!(resolution_tier(1080, 1920), "1080p");
        assert_eq!(resolution_tier(320, 240), "480p_or_less");
        assert_eq!(resolution_tier(1280, 720), "720p");
        assert_eq!(resolution_tier(3840, 2160), "above_1080p");
        assert_eq!(orientation(1920, 1080, 90), "portrait");
        assert_eq!(orientation(1920, 1080, -180), "landscape");
        assert_eq!(bitrate_tier(100_000, 640, 360, 25.0), "low");
        assert_eq!(bitrate_tier(3_000_000, 640, 360, 25.0), "high");
        assert_eq!(duration_tier(10.0), "under_30s");
        assert_eq!(duration_tier(600.0), "over_2min");
    }

    #[test]
    fn category_ids_follow_name_order_and_count_per_subset() {
        let a = Axis::new(
            "scene",
            AxisSource::Metadata {
                key: "scene".into(),
            },
            vec![
                Some("outdoor".into()),
                None,
                Some("indoor".into()),
                Some("outdoor".into()),
            ],
        );
        assert_eq!(a.categories, vec!["indoor", "outdoor"]);
        assert_eq!(
            a.values,
            vec![Some(CatId(1)), None, Some(CatId(0)), Some(CatId(1))]
        );
        assert_eq!(a.counts(0..4), vec![1, 2]);
        assert_eq!(a.counts([0, 1]), vec![0, 1]);
        assert_eq!(a.value_name(2), Some("indoor"));
        assert!((a.coverage() - 0.75).abs() < 1e-12);
        assert!(a.is_metadata() && !a.estimated());
        assert_eq!(a.source.to_string(), "metadata:scene");
    }

    #[test]
    fn single_category_axes_are_gaps() {
        let one = Axis::new(
            "resolution",
            AxisSource::Measured,
            vec![Some("720p".into()); 3],
        );
        let none = Axis::new("pose", AxisSource::Faces, vec![None, None]);
        let two = Axis::new(
            "motion",
            AxisSource::Measured,
            vec![Some("low".into()), Some("high".into())],
        );
        let gaps = single_category_gaps(&[one, none, two]);
        assert_eq!(gaps.len(), 2);
        assert_eq!(gaps[0].axis, "resolution");
        assert!(gaps[0].reason.contains("`720p`"));
        assert_eq!(gaps[1].axis, "pose");
        assert_eq!(normalise_demographic(" Women "), "female");
    }
}
