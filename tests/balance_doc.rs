//! `diversity_balance.json` says exactly what the selection holds: an
//! independent recomputation from `real_sources.jsonl` (written here, not by
//! calling the engine's functions) of every axis's selected counts, `met`,
//! shortfalls, normalized entropy and the residual biases agrees with the
//! document, on the demo corpus and on a second, differently shaped corpus
//! (two roots, a skewed 4-category metadata axis known for one root only,
//! identities from metadata), with the derived total and with a `--budget`
//! that forces shortfalls. No primary axis ends below its entropy floor
//! without a shortfall that says why.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use common::{read_json, read_jsonl};
use serde_json::Value;

/// Quota tolerance the document states (`rules.quota_met`): ±1.
const TOLERANCE: u64 = 1;

fn counts_of(v: &Value) -> BTreeMap<String, u64> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
        .collect()
}

/// H / ln k over `counts` (k categories), as the document defines it.
fn normalized_entropy(counts: &[u64], k: usize) -> f64 {
    if k <= 1 {
        return 1.0;
    }
    let n: u64 = counts.iter().sum();
    if n == 0 {
        return 0.0;
    }
    let h: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n as f64;
            -p * p.ln()
        })
        .sum();
    h / (k as f64).ln()
}

/// Check the document against the picks; returns how many axes were checked.
fn check(out: &Path) -> usize {
    let picks = read_jsonl(&out.join("real_sources.jsonl"));
    let doc = read_json(&out.join("diversity_balance.json"));
    assert_eq!(doc["total_selected"], picks.len());
    let axes = doc["axes"].as_object().unwrap();
    let mut residual: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut checked = 0;
    for (name, axis) in axes {
        if axis["estimated"] == true {
            // Never listed per video, so not recomputable from the picks.
            continue;
        }
        checked += 1;
        let original = counts_of(&axis["original"]["counts"]);
        let quotas = counts_of(&axis["quotas"]);
        let k = original.len();
        assert_eq!(axis["categories_among_candidates"], k, "{name}");
        // Selected counts, from the picks.
        let mut selected: BTreeMap<String, u64> = original.keys().map(|c| (c.clone(), 0)).collect();
        for p in &picks {
            if let Some(v) = p["axes"][name.as_str()].as_str() {
                *selected.get_mut(v).unwrap_or_else(|| {
                    panic!("{name}: picked category {v} is not among the candidates")
                }) += 1;
            }
        }
        let nonzero: BTreeMap<String, u64> = selected
            .iter()
            .filter(|(_, &n)| n > 0)
            .map(|(c, &n)| (c.clone(), n))
            .collect();
        assert_eq!(
            counts_of(&axis["selected"]["counts"]),
            nonzero,
            "{name}: selected counts"
        );
        // met: every category within the tolerance of its quota.
        let met = (!quotas.is_empty()).then(|| {
            quotas
                .iter()
                .all(|(c, &q)| selected[c].abs_diff(q) <= TOLERANCE)
        });
        assert_eq!(axis["met"].as_bool(), met, "{name}: met");
        // Shortfalls: more than the tolerance below quota.
        let short: BTreeSet<(String, u64, u64)> = quotas
            .iter()
            .filter(|(c, &q)| selected[*c] + TOLERANCE < q)
            .map(|(c, &q)| (c.clone(), q, selected[c]))
            .collect();
        let listed: BTreeSet<(String, u64, u64)> = axis["shortfalls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let cat = s["category"].as_str().unwrap().to_string();
                let cause = s["cause"].as_str().unwrap();
                match cause {
                    "too_few_candidates" => assert!(
                        original[&cat] < s["quota"].as_u64().unwrap(),
                        "{name} {cat}: too_few_candidates with {} candidates",
                        original[&cat]
                    ),
                    "conflicts_with" => {
                        let won = s["conflicting_axes"].as_array().unwrap();
                        assert!(!won.is_empty(), "{name} {cat}: no conflicting axis named");
                        for w in won {
                            let w = w.as_str().unwrap();
                            assert!(
                                w == "identity_cap" || (axes.contains_key(w) && w != name),
                                "{name} {cat}: conflicting axis {w}"
                            );
                        }
                    }
                    "budget" => {}
                    other => panic!("{name} {cat}: unknown cause {other}"),
                }
                (
                    cat,
                    s["quota"].as_u64().unwrap(),
                    s["selected"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(listed, short, "{name}: shortfalls");
        // Normalized entropy of the selection over the candidates' categories.
        let counts: Vec<u64> = selected.values().copied().collect();
        let h = normalized_entropy(&counts, k);
        let stated = axis["normalized_entropy"]["selected"].as_f64().unwrap();
        assert!((h - stated).abs() < 1e-4, "{name}: entropy {h} vs {stated}");
        // Residual biases by the input's rules, zero categories included.
        let n: u64 = counts.iter().sum();
        if k >= 2 && n > 0 {
            let uniform = 1.0 / k as f64;
            for (c, &cnt) in &selected {
                let share = cnt as f64 / n as f64;
                let kind = if share > 2.0 * uniform || share > 0.5 {
                    "over"
                } else if share < 0.5 * uniform {
                    "under"
                } else {
                    continue;
                };
                residual.insert((name.clone(), c.clone(), kind.to_string()));
            }
        }
        // A primary axis never ends below its floor (the input's entropy, or
        // the best its quotas allow) without a shortfall saying why.
        let primary = doc["primary_axes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == name.as_str());
        if primary {
            let e = &axis["normalized_entropy"];
            let floor = e["input"]
                .as_f64()
                .unwrap()
                .min(e["best_possible"].as_f64().unwrap());
            assert!(
                stated + 1e-4 >= floor || !short.is_empty(),
                "{name}: entropy {stated} below its floor {floor} with no shortfall"
            );
        }
    }
    let stated: BTreeSet<(String, String, String)> = doc["residual_biases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| axes[b["axis"].as_str().unwrap()]["estimated"] != true)
        .map(|b| {
            (
                b["axis"].as_str().unwrap().to_string(),
                b["category"].as_str().unwrap().to_string(),
                b["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(stated, residual, "residual biases");
    let shortfalls: usize = axes
        .values()
        .map(|a| a["shortfalls"].as_array().unwrap().len())
        .sum();
    eprintln!(
        "{}: {} picks, {checked} axes checked, {shortfalls} shortfalls, {} residual biases",
        out.display(),
        picks.len(),
        residual.len()
    );
    // The human report carries one quota verdict per axis.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert_eq!(
        html.matches("<p class=\"quota\"").count(),
        axes.len(),
        "one met/short line per axis"
    );
    checked
}

fn analyze(roots: &[&Path], out: &Path, extra: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_engine"))
        .arg("analyze")
        .args(roots)
        .arg("--out")
        .arg(out)
        .args(["--quiet", "--cpu"])
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn demo_balance_document_matches_its_selection() {
    let demo = common::demo_corpus(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo"));
    let out = tempfile::tempdir().unwrap();
    let o = common::analyze_demo(&demo, out.path(), &["--cpu"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(check(out.path()) >= 10);
    // The demo's roots are all at most 480p and under 30 s: those axes are
    // reported as gaps, with the reason.
    let report = read_json(&out.path().join("report.json"));
    let gaps: Vec<&str> = report["diversity_gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["axis"].as_str().unwrap())
        .collect();
    assert!(
        gaps.contains(&"resolution") && gaps.contains(&"duration"),
        "{gaps:?}"
    );
}

/// Two roots. `studio` (12 real videos): a sidecar JSON gives each a
/// `lighting` of four categories, skewed 6:3:2:1, and a person (`identity`),
/// one person in 5 videos. `street` (5 real, 2 fake by folder): no sidecar.
fn shaped_corpus(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let studio = dir.join("studio");
    let street = dir.join("street");
    let lights = [
        "dark", "dark", "dark", "dark", "dark", "dark", "dim", "dim", "dim", "normal", "normal",
        "bright",
    ];
    let mut side = Vec::new();
    for (i, light) in lights.iter().enumerate() {
        let rel = format!("clips/s{i:02}.mp4");
        let source = match i % 3 {
            0 => format!("life=s=96x72:r=10:seed={}:ratio=0.{}", 300 + i, 2 + i % 5),
            1 => format!(
                "cellauto=s=96x72:r=10:seed={}:rule={}",
                400 + i,
                [30, 90, 110, 150][i % 4]
            ),
            _ => format!(
                "mandelbrot=s=96x72:r=10:start_scale={}",
                1.5 + i as f64 * 0.41
            ),
        };
        let vf = match *light {
            "dark" => "eq=brightness=-0.45:contrast=0.5",
            "dim" => "eq=brightness=-0.2",
            "bright" => "eq=brightness=0.35",
            _ => "null",
        };
        common::make_x264(&studio.join(&rel), &source, 10.5 + (i % 4) as f64 * 3.0, vf);
        let person = if i < 5 {
            "p0".to_string()
        } else {
            format!("p{i}")
        };
        side.push(format!(
            r#"{{"file": "{rel}", "label": "real", "lighting": "{light}", "identity": "{person}"}}"#
        ));
    }
    std::fs::write(
        studio.join("metadata.json"),
        format!("[\n{}\n]\n", side.join(",\n")),
    )
    .unwrap();
    let street_sources = [
        "life=s=96x72:r=10:seed=900:ratio=0.3",
        "cellauto=s=96x72:r=10:seed=901:rule=60",
        "mandelbrot=s=96x72:r=10:start_scale=7",
        "gradients=s=96x72:r=10:seed=5:speed=0.05",
        "sierpinski=s=96x72:r=10:seed=3",
    ];
    for (i, source) in street_sources.iter().enumerate() {
        common::make_x264(
            &street.join(format!("real/r{i}.mp4")),
            source,
            11.0 + i as f64 * 4.0,
            "null",
        );
    }
    for i in 0..2 {
        common::make_x264(
            &street.join(format!("fake/f{i}.mp4")),
            &format!("smptebars=s=96x72:r=10,hue=h={}", i * 90),
            11.0,
            "null",
        );
    }
    (studio, street)
}

#[test]
fn differently_shaped_corpus_balance_document_matches_its_selection() {
    let dir = tempfile::tempdir().unwrap();
    let (studio, street) = shaped_corpus(dir.path());
    let out = dir.path().join("out");
    analyze(&[&studio, &street], &out, &["--no-faces"]);
    assert!(check(&out) >= 8);
    let doc = read_json(&out.join("diversity_balance.json"));
    // The metadata axis is primary, partial, and its 6:3:2:1 input is
    // judged biased.
    assert!(doc["primary_axes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "meta_lighting"));
    assert!(!doc["axes"]["meta_lighting"]["biases"]
        .as_array()
        .unwrap()
        .is_empty());
    // A budget larger than the balanced total forces shortfalls and residual
    // biases, which must still agree with the picks.
    let big = dir.path().join("big");
    analyze(&[&studio, &street], &big, &["--no-faces", "--budget", "15"]);
    check(&big);
    let doc = read_json(&big.join("diversity_balance.json"));
    assert!(
        !doc["residual_biases"].as_array().unwrap().is_empty(),
        "15 of 17 skewed candidates cannot be unbiased"
    );
}
