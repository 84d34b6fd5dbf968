//! Stage 2, computed from the selection: which generators to run on which
//! planned real clips, with which parameters, so that every split reaches
//! real:fake 1:1 with the generators balanced and the fakes inheriting the
//! real clips' axis balance. `fake_jobs.jsonl` has one job per (planned
//! clip, generator, parameter set); `report.json`'s `stage2_fake_generation`
//! says what the existing fakes cover and what the plan adds.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::faces::summary::DEMOGRAPHIC_MIN_CONFIDENCE;
use crate::generators::{self, Generator, Parameter, GENERATORS, VIDEO_FAMILIES};
use crate::labels::Label;
use crate::plan::PlannedClip;
use crate::record::VideoRecord;
use crate::sample::Pick;

/// One generation job: a `fake_jobs.jsonl` line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FakeJob {
    /// Stable id: `<clip_id>/<generator>`.
    pub job_id: String,
    /// The real clip the fake is made from (`clip_plan.jsonl`).
    pub clip_id: String,
    /// Its split: the fake goes where its real clip goes.
    pub split: String,
    /// Generator family.
    pub family: String,
    /// Generator.
    pub generator: String,
    /// Parameter values of this job.
    pub params: BTreeMap<String, String>,
    /// The other person (the face swapped in, the driving face), drawn from
    /// the same split; None when the generator needs none, or the split has
    /// no other person.
    pub target_identity: Option<String>,
}

/// A generator the plan schedules.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedGenerator {
    /// Name.
    pub name: &'static str,
    /// Family.
    pub family: &'static str,
    /// Where it comes from.
    pub code: &'static str,
    /// The parameters varied across its jobs.
    pub parameters: &'static [Parameter],
    /// Jobs planned.
    pub jobs: usize,
}

/// Real clips and planned fakes of one split.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SplitJobs {
    /// Planned real clips.
    pub real_clips: usize,
    /// Planned fake jobs.
    pub fake_jobs: usize,
    /// Jobs per generator.
    pub by_generator: BTreeMap<String, usize>,
}

/// `report.json`'s `stage2_fake_generation`.
#[derive(Debug, Clone, Serialize)]
pub struct Stage2 {
    /// Generator families among the existing fakes.
    pub families_present: BTreeSet<&'static str>,
    /// Generators among the existing fakes (from the method table).
    pub generators_present: BTreeSet<&'static str>,
    /// Methods among the existing fakes, as the datasets name them.
    pub methods_present: BTreeSet<String>,
    /// Methods the table cannot place (no family is guessed).
    pub methods_without_family: BTreeSet<String>,
    /// Video families with no existing fake.
    pub families_missing: Vec<&'static str>,
    /// The generators scheduled, with their parameters and job counts.
    pub generators: Vec<PlannedGenerator>,
    /// Per split: real clips and fake jobs (1:1).
    pub jobs_per_split: BTreeMap<String, SplitJobs>,
    /// Jobs whose generator needs a second person the split does not have.
    pub jobs_without_target: usize,
    /// How clips, generators, parameters and targets are paired.
    pub pairing: &'static str,
    /// The job list.
    pub fake_jobs_file: &'static str,
}

/// The stage-2 document and its jobs.
#[derive(Debug, Clone)]
pub struct Stage2Plan {
    /// `stage2_fake_generation`.
    pub doc: Stage2,
    /// `fake_jobs.jsonl`.
    pub jobs: Vec<FakeJob>,
}

/// FNV-1a over the seed and the text: stable across runs and platforms.
fn seeded_hash(seed: u64, text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for b in text.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The `k`-th parameter set of a generator: a mixed-radix count over the
/// parameters' values (the first parameter turning fastest), so that every
/// value and every combination comes up equally often.
fn params_for(g: &Generator, mut k: usize) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for p in g.parameters {
        out.insert(p.name.to_string(), p.values[k % p.values.len()].to_string());
        k /= p.values.len();
    }
    out
}

/// A video's gender where known: the dataset's own (`gender`/`sex`), else a
/// confident estimate. Used only to pair people; never written per job.
fn gender_of(r: &VideoRecord) -> Option<String> {
    ["gender", "sex"]
        .iter()
        .find_map(|k| r.labels.attrs.get(*k))
        .map(|v| crate::sample::axes::normalise_demographic(v))
        .or_else(|| {
            let e = r.frames.as_ref()?.faces.as_ref()?.gender.as_ref()?;
            (e.confidence >= DEMOGRAPHIC_MIN_CONFIDENCE)
                .then(|| {
                    serde_json::to_value(e.value)
                        .ok()?
                        .as_str()
                        .map(str::to_string)
                })
                .flatten()
        })
}

/// Plan the jobs for the clips of `clips` (the selection's `picks`).
pub fn plan(
    records: &[VideoRecord],
    picks: &[Pick],
    clips: &[PlannedClip],
    seed: u64,
) -> Stage2Plan {
    // What the existing fakes cover.
    let mut methods_present = BTreeSet::new();
    let mut methods_without_family = BTreeSet::new();
    let mut families_present = BTreeSet::new();
    let mut generators_present = BTreeSet::new();
    for r in records.iter().filter(|r| r.labels.label == Label::Fake) {
        let Some(m) = &r.labels.method else { continue };
        methods_present.insert(m.clone());
        match generators::method_info(m) {
            Some(info) => {
                families_present.insert(info.family);
                generators_present.insert(info.generator);
            }
            None => {
                methods_without_family.insert(m.clone());
            }
        }
    }
    let families_missing: Vec<&'static str> = VIDEO_FAMILIES
        .iter()
        .copied()
        .filter(|f| !families_present.contains(f))
        .collect();

    // Per clip: its pick (category, person) and the person's gender.
    let pick_of: BTreeMap<&str, &Pick> = picks.iter().map(|p| (p.path.as_str(), p)).collect();
    let record_of: BTreeMap<&str, &VideoRecord> =
        records.iter().map(|r| (r.path.as_str(), r)).collect();
    let person = |c: &PlannedClip| -> String {
        c.identity
            .clone()
            .unwrap_or_else(|| format!("group:{}", c.group))
    };
    let mut gender: BTreeMap<String, String> = BTreeMap::new();
    for c in clips {
        if let Some(g) = record_of
            .get(c.source_path.as_str())
            .and_then(|r| gender_of(r))
        {
            gender.entry(person(c)).or_insert(g);
        }
    }

    let mut jobs = Vec::with_capacity(clips.len());
    let mut per_generator = vec![0usize; GENERATORS.len()];
    let mut per_split: BTreeMap<String, SplitJobs> = BTreeMap::new();
    let mut without_target = 0;
    let splits: BTreeSet<&str> = clips.iter().map(|c| c.split.as_str()).collect();
    for split in splits {
        // The split's clips by category, so each category is spread over
        // the generators; within a category in a seeded order.
        let mut in_split: Vec<&PlannedClip> = clips.iter().filter(|c| c.split == split).collect();
        let category = |c: &PlannedClip| {
            pick_of
                .get(c.source_path.as_str())
                .map(|p| p.category.clone())
                .unwrap_or_default()
        };
        in_split.sort_by(|a, b| {
            category(a)
                .cmp(&category(b))
                .then(seeded_hash(seed, &a.clip_id).cmp(&seeded_hash(seed, &b.clip_id)))
                .then(a.clip_id.cmp(&b.clip_id))
        });
        let people: BTreeSet<String> = in_split.iter().map(|c| person(c)).collect();
        let mut used: BTreeMap<String, usize> = BTreeMap::new();
        let entry = per_split.entry(split.to_string()).or_default();
        for c in &in_split {
            // Dealt in turn across splits too, so small splits do not all
            // start with the first generator.
            let gi = jobs.len() % GENERATORS.len();
            let g = &GENERATORS[gi];
            let params = params_for(g, per_generator[gi]);
            per_generator[gi] += 1;
            let me = person(c);
            let target = if g.needs_target_identity {
                // Another person of the split: of the same gender where
                // known, the least used so far, ties by seeded hash.
                let my_gender = gender.get(&me);
                let pick = people
                    .iter()
                    .filter(|p| **p != me)
                    .min_by_key(|p| {
                        let other_gender = my_gender.is_some()
                            && gender.get(*p).is_some_and(|g| Some(g) != my_gender);
                        (
                            other_gender,
                            used.get(*p).copied().unwrap_or(0),
                            seeded_hash(seed ^ 0x5eed, &format!("{}|{p}", c.clip_id)),
                        )
                    })
                    .cloned();
                if let Some(p) = &pick {
                    *used.entry(p.clone()).or_insert(0) += 1;
                } else {
                    without_target += 1;
                }
                pick
            } else {
                None
            };
            entry.real_clips += 1;
            entry.fake_jobs += 1;
            *entry.by_generator.entry(g.name.to_string()).or_insert(0) += 1;
            jobs.push(FakeJob {
                job_id: format!("{}/{}", c.clip_id, g.name),
                clip_id: c.clip_id.clone(),
                split: split.to_string(),
                family: g.family.to_string(),
                generator: g.name.to_string(),
                params,
                target_identity: target,
            });
        }
    }
    // Jobs in clip-plan order.
    let order: BTreeMap<&str, usize> = clips
        .iter()
        .enumerate()
        .map(|(i, c)| (c.clip_id.as_str(), i))
        .collect();
    jobs.sort_by_key(|j| order[j.clip_id.as_str()]);
    let doc = Stage2 {
        families_present,
        generators_present,
        methods_present,
        methods_without_family,
        families_missing,
        generators: GENERATORS
            .iter()
            .zip(&per_generator)
            .map(|(g, &n)| PlannedGenerator {
                name: g.name,
                family: g.family,
                code: g.code,
                parameters: g.parameters,
                jobs: n,
            })
            .collect(),
        jobs_per_split: per_split,
        jobs_without_target: without_target,
        pairing: "one fake job per planned real clip, in the clip's split (real:fake 1:1 per split); generators dealt in turn over each split's clips sorted by category, so every generator sees every category and the fakes inherit the real clips' balance; each generator's parameter sets counted through in turn, so every value comes up equally; the second person of a swap or reenactment is another person of the same split, of the same gender where known, the least used first",
        fake_jobs_file: "fake_jobs.jsonl",
    };
    Stage2Plan { doc, jobs }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip(id: &str, split: &str, person: &str) -> PlannedClip {
        PlannedClip {
            clip_id: id.into(),
            source_path: format!("X:/d/{id}.mp4"),
            start_s: 0.0,
            end_s: 10.0,
            split: split.into(),
            group: format!("identity:{person}"),
            identity: Some(person.into()),
            axes: BTreeMap::new(),
            reason: String::new(),
        }
    }

    #[test]
    fn one_job_per_clip_generators_balanced_targets_in_split() {
        let mut clips = Vec::new();
        for i in 0..24 {
            let split = if i < 18 { "train" } else { "test" };
            clips.push(clip(&format!("c{i:02}"), split, &format!("p{}", i % 6)));
        }
        let plan = plan(&[], &[], &clips, 3);
        assert_eq!(plan.jobs.len(), clips.len());
        for (split, s) in &plan.doc.jobs_per_split {
            assert_eq!(s.real_clips, s.fake_jobs, "{split}");
            let counts: Vec<usize> = s.by_generator.values().copied().collect();
            let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
            assert!(hi - lo <= 1, "{split}: {counts:?}");
        }
        let split_people: BTreeMap<&str, BTreeSet<&str>> =
            clips.iter().fold(BTreeMap::new(), |mut m, c| {
                m.entry(c.split.as_str())
                    .or_default()
                    .insert(c.identity.as_deref().unwrap());
                m
            });
        for j in &plan.jobs {
            let me = clips.iter().find(|c| c.clip_id == j.clip_id).unwrap();
            if let Some(t) = &j.target_identity {
                assert_ne!(Some(t.as_str()), me.identity.as_deref());
                assert!(split_people[j.split.as_str()].contains(t.as_str()));
            }
        }
        // Deterministic for a seed.
        assert_eq!(plan.jobs, super::plan(&[], &[], &clips, 3).jobs);
    }

    #[test]
    fn parameter_sets_count_through_every_value() {
        let g = &GENERATORS[0];
        let combos: usize = g.parameters.iter().map(|p| p.values.len()).product();
        let sets: BTreeSet<Vec<(String, String)>> = (0..combos)
            .map(|k| params_for(g, k).into_iter().collect())
            .collect();
        assert_eq!(sets.len(), combos);
    }
}
