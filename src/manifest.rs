//! Clip manifests: one [`ManifestEntry`] per 10-second clip, one JSON object a
//! line (JSONL). The planner writes them; `engine promote` checks them and
//! appends them to the ledger of a training-data store.
//!
//! A line looks like (wrapped here):
//!
//! ```json
//! {"clip_id":"ffpp/000_003/12000","source_path":"X:/ffpp/manipulated/Deepfakes/000_003.mp4",
//!  "start_s":12.0,"end_s":22.0,"label":"fake","method":"Deepfakes",
//!  "source_ids":["000","003"],"split":"train","axes":{"lighting":"low_light"},
//!  "sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}
//! ```
//!
//! Every field is required except `method` (absent or `null` for reals) and
//! `encoding` (how the clip file was made);
//! unknown fields are refused, so a typo cannot silently drop data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The labels a clip may carry.
pub const LABELS: [&str; 2] = ["real", "fake"];

/// The splits a clip may belong to.
pub const SPLITS: [&str; 3] = ["train", "val", "test"];

/// Length of a SHA-256 digest written as lowercase hex.
pub const SHA256_HEX_LEN: usize = 64;

/// Two clip times closer than this (seconds) are the same time. JSON numbers
/// may not round-trip bit-exactly through `serde_json`'s default float parser
/// (it can be off by one unit in the last place), so an entry read back from
/// the ledger is compared with this tolerance; one microsecond is far below
/// the millisecond resolution of clip ids and any frame interval.
pub const TIME_TOLERANCE_S: f64 = 1e-6;

/// One clip of a planned dataset: where it comes from, what it shows, which
/// split it belongs to, and the hash of the clip file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestEntry {
    /// Stable id of the clip, `<dataset>/<video stem>/<start_ms>` (see
    /// [`ManifestEntry::clip_id_for`]). Never reused for other content.
    pub clip_id: String,
    /// Path of the source video, with forward slashes.
    pub source_path: String,
    /// Start of the clip in the source video, seconds (finite, >= 0).
    pub start_s: f64,
    /// End of the clip in the source video, seconds (> `start_s`).
    pub end_s: f64,
    /// `real` or `fake` (see [`LABELS`]).
    pub label: String,
    /// Manipulation method of a fake (e.g. `Deepfakes`, `FaceSwap`); `None`
    /// for reals and for fakes whose method is unknown.
    #[serde(default)]
    pub method: Option<String>,
    /// Identities involved: the person for a real; the target and source
    /// identity for a fake.
    pub source_ids: Vec<String>,
    /// `train`, `val` or `test` (see [`SPLITS`]). A clip never changes split.
    pub split: String,
    /// Diversity categories of the clip, axis → category (e.g. `lighting` →
    /// `low_light`).
    pub axes: BTreeMap<String, String>,
    /// Content hash of the clip file: SHA-256 as 64 lowercase hex digits.
    pub sha256: String,
    /// How the clip file was encoded (`engine extract` states its fixed
    /// profile); optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
}

/// Why one manifest line is not a valid [`ManifestEntry`]. The caller adds
/// the file and line number.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EntryError {
    /// The line is not UTF-8.
    #[error("not UTF-8 text")]
    NotUtf8,
    /// The line is not a JSON object of the expected shape (bad JSON, a
    /// missing or unknown field, a value of the wrong type).
    #[error("{0}")]
    Json(String),
    /// A field has a value outside its allowed range or set.
    #[error("field `{field}`: {message}")]
    Field {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

/// One field on which two entries differ, with both values as compact JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDiff {
    /// Name of the field (e.g. `split`).
    pub field: &'static str,
    /// Its value in the entry already recorded (ledger or earlier line).
    pub existing: String,
    /// Its value in the new entry.
    pub new: String,
}

impl ManifestEntry {
    /// The conventional clip id `<dataset>/<video stem>/<start_ms>`, the start
    /// rounded to whole milliseconds.
    pub fn clip_id_for(dataset: &str, video_stem: &str, start_s: f64) -> String {
        let start_ms = (start_s * 1000.0).round() as i64;
        format!("{dataset}/{video_stem}/{start_ms}")
    }

    /// Parse and [`validate`](Self::validate) one JSONL line (a trailing `\r`
    /// is ignored).
    pub fn from_json_line(line: &str) -> Result<Self, EntryError> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let entry: ManifestEntry = serde_json::from_str(line).map_err(|e| {
            // serde_json appends " at line 1 column N"; within one JSONL line
            // only the column means anything.
            let full = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            let message = full.strip_suffix(&suffix).unwrap_or(&full);
            EntryError::Json(if e.column() > 0 && !e.is_data() {
                format!("invalid JSON at column {}: {message}", e.column())
            } else {
                message.to_string()
            })
        })?;
        entry.validate()?;
        Ok(entry)
    }

    /// [`from_json_line`](Self::from_json_line) on raw bytes.
    pub fn from_json_bytes(line: &[u8]) -> Result<Self, EntryError> {
        let text = std::str::from_utf8(line).map_err(|_| EntryError::NotUtf8)?;
        Self::from_json_line(text)
    }

    /// The entry as one JSONL line, with its terminating `\n`.
    pub fn to_json_line(&self) -> String {
        // A struct of strings, finite floats, a Vec and a string-keyed map
        // always serialises.
        let mut line = serde_json::to_string(self).expect("ManifestEntry serialises");
        line.push('\n');
        line
    }

    /// Check the values: non-empty `clip_id` and `source_path`, finite
    /// `0 <= start_s < end_s`, `label` in [`LABELS`], `split` in [`SPLITS`],
    /// `sha256` of [`SHA256_HEX_LEN`] lowercase hex digits.
    pub fn validate(&self) -> Result<(), EntryError> {
        let field =
            |field: &'static str, message: String| Err(EntryError::Field { field, message });
        if self.clip_id.trim().is_empty() {
            return field("clip_id", "is empty".into());
        }
        if self.source_path.trim().is_empty() {
            return field("source_path", "is empty".into());
        }
        if !self.start_s.is_finite() || self.start_s < 0.0 {
            return field(
                "start_s",
                format!("{} is not a finite time >= 0", self.start_s),
            );
        }
        if !self.end_s.is_finite() {
            return field("end_s", format!("{} is not finite", self.end_s));
        }
        if self.end_s <= self.start_s {
            return field(
                "end_s",
                format!("end_s {} is not after start_s {}", self.end_s, self.start_s),
            );
        }
        if !LABELS.contains(&self.label.as_str()) {
            return field(
                "label",
                format!("{:?} is not one of {}", self.label, LABELS.join(", ")),
            );
        }
        if !SPLITS.contains(&self.split.as_str()) {
            return field(
                "split",
                format!("{:?} is not one of {}", self.split, SPLITS.join(", ")),
            );
        }
        if !is_sha256_hex(&self.sha256) {
            return field(
                "sha256",
                format!(
                    "{:?} is not {SHA256_HEX_LEN} lowercase hex digits",
                    self.sha256
                ),
            );
        }
        Ok(())
    }

    /// Whether `other` describes the same clip: every field equal, times
    /// within [`TIME_TOLERANCE_S`].
    pub fn same_clip(&self, other: &ManifestEntry) -> bool {
        self.differences(other).is_empty()
    }

    /// The fields on which `new` differs from `self` (times compared within
    /// [`TIME_TOLERANCE_S`]), in declaration order.
    pub fn differences(&self, new: &ManifestEntry) -> Vec<FieldDiff> {
        fn json<T: Serialize + ?Sized>(v: &T) -> String {
            serde_json::to_string(v).unwrap_or_else(|_| "?".into())
        }
        let mut out = Vec::new();
        let mut check = |field: &'static str, differs: bool, existing: String, new: String| {
            if differs {
                out.push(FieldDiff {
                    field,
                    existing,
                    new,
                });
            }
        };
        let time_differs = |a: f64, b: f64| (a - b).abs() > TIME_TOLERANCE_S;
        check(
            "clip_id",
            self.clip_id != new.clip_id,
            json(&self.clip_id),
            json(&new.clip_id),
        );
        check(
            "source_path",
            self.source_path != new.source_path,
            json(&self.source_path),
            json(&new.source_path),
        );
        check(
            "start_s",
            time_differs(self.start_s, new.start_s),
            json(&self.start_s),
            json(&new.start_s),
        );
        check(
            "end_s",
            time_differs(self.end_s, new.end_s),
            json(&self.end_s),
            json(&new.end_s),
        );
        check(
            "label",
            self.label != new.label,
            json(&self.label),
            json(&new.label),
        );
        check(
            "method",
            self.method != new.method,
            json(&self.method),
            json(&new.method),
        );
        check(
            "source_ids",
            self.source_ids != new.source_ids,
            json(&self.source_ids),
            json(&new.source_ids),
        );
        check(
            "split",
            self.split != new.split,
            json(&self.split),
            json(&new.split),
        );
        check(
            "axes",
            self.axes != new.axes,
            json(&self.axes),
            json(&new.axes),
        );
        check(
            "sha256",
            self.sha256 != new.sha256,
            json(&self.sha256),
            json(&new.sha256),
        );
        check(
            "encoding",
            self.encoding != new.encoding,
            json(&self.encoding),
            json(&new.encoding),
        );
        out
    }
}

/// Whether `s` is a SHA-256 digest as [`SHA256_HEX_LEN`] lowercase hex digits.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == SHA256_HEX_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> ManifestEntry {
        ManifestEntry {
            clip_id: "ffpp/000_003/12000".into(),
            source_path: "X:/ffpp/000_003.mp4".into(),
            start_s: 12.0,
            end_s: 22.0,
            label: "fake".into(),
            method: Some("Deepfakes".into()),
            source_ids: vec!["000".into(), "003".into()],
            split: "train".into(),
            axes: BTreeMap::from([("lighting".into(), "low_light".into())]),
            sha256: "a".repeat(64),
            encoding: None,
        }
    }

    #[test]
    fn round_trips_through_a_line() {
        let e = entry();
        let line = e.to_json_line();
        assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
        assert_eq!(ManifestEntry::from_json_line(line.trim_end()).unwrap(), e);
    }

    #[test]
    fn method_may_be_absent() {
        let mut v = serde_json::to_value(entry()).unwrap();
        v.as_object_mut().unwrap().remove("method");
        let e = ManifestEntry::from_json_line(&v.to_string()).unwrap();
        assert_eq!(e.method, None);
    }

    #[test]
    fn rejects_bad_values() {
        type Mutate = fn(&mut ManifestEntry);
        let cases: [(&str, Mutate); 7] = [
            ("end_s", |e| e.end_s = e.start_s),
            ("start_s", |e| e.start_s = -1.0),
            ("label", |e| e.label = "Fake".into()),
            ("split", |e| e.split = "dev".into()),
            ("sha256", |e| e.sha256 = "A".repeat(64)),
            ("sha256", |e| e.sha256 = "a".repeat(63)),
            ("clip_id", |e| e.clip_id = " ".into()),
        ];
        for (field, mutate) in cases {
            let mut e = entry();
            mutate(&mut e);
            match e.validate() {
                Err(EntryError::Field { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn json_errors_are_clear() {
        let err = ManifestEntry::from_json_line("{\"clip_id\": ").unwrap_err();
        assert!(
            err.to_string().starts_with("invalid JSON at column"),
            "{err}"
        );
        let mut v = serde_json::to_value(entry()).unwrap();
        v.as_object_mut().unwrap().remove("sha256");
        let err = ManifestEntry::from_json_line(&v.to_string()).unwrap_err();
        assert_eq!(err.to_string(), "missing field `sha256`");
        v.as_object_mut()
            .unwrap()
            .insert("sha265".into(), "x".into());
        let err = ManifestEntry::from_json_line(&v.to_string()).unwrap_err();
        assert!(err.to_string().contains("unknown field `sha265`"), "{err}");
    }

    #[test]
    fn differences_name_fields_and_tolerate_float_noise() {
        let a = entry();
        let mut b = entry();
        b.start_s = f64::from_bits(a.start_s.to_bits() + 1);
        assert!(a.same_clip(&b));
        b.split = "test".into();
        let d = a.differences(&b);
        assert_eq!(d.len(), 1);
        assert_eq!(
            (d[0].field, d[0].existing.as_str(), d[0].new.as_str()),
            ("split", "\"train\"", "\"test\"")
        );
    }

    #[test]
    fn clip_id_rounds_to_milliseconds() {
        assert_eq!(ManifestEntry::clip_id_for("d", "v", 12.0004), "d/v/12000");
        assert_eq!(ManifestEntry::clip_id_for("d", "v", 0.0106), "d/v/11");
    }
}
