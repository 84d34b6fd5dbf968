//! `engine promote`: the append-only ledger of a training-data store.
//!
//! Entries carry the real SHA-256 of small clip files written to a temporary
//! directory (hashed here with `sha2`, independently of the engine). The
//! library tests call `engine::promote::promote`; the binary tests run
//! `engine promote MANIFEST --into DIR`.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use engine::manifest::ManifestEntry;
use engine::promote::{promote, ConflictKind, PromoteError, Recorded, LEDGER_FILE};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// A scratch store: clip files under `clips/`, manifests at the top, the
/// store directory `store/` (not created: promote must create it).
struct Fixture {
    dir: TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("clips")).unwrap();
        Fixture { dir }
    }

    fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    fn ledger(&self) -> PathBuf {
        self.store().join(LEDGER_FILE)
    }

    /// Write a clip file with `content` and describe it: clip id
    /// `ffpp/<stem>/<start_ms>`, its real sha256.
    fn clip(&self, stem: &str, start_s: f64, label: &str, split: &str) -> ManifestEntry {
        let path = self
            .dir
            .path()
            .join("clips")
            .join(format!("{stem}_{start_s}.mp4"));
        fs::write(
            &path,
            format!("clip bytes of {stem} from {start_s}s ({label})"),
        )
        .unwrap();
        let sha256 = format!("{:x}", Sha256::digest(fs::read(&path).unwrap()));
        entry(stem, start_s, label, split, sha256)
    }

    /// Write a manifest of `entries` named `name`.
    fn manifest(&self, name: &str, entries: &[ManifestEntry]) -> PathBuf {
        let text: String = entries.iter().map(ManifestEntry::to_json_line).collect();
        self.manifest_text(name, &text)
    }

    /// Write a manifest with exactly `text`.
    fn manifest_text(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        fs::write(&path, text).unwrap();
        path
    }
}

fn entry(stem: &str, start_s: f64, label: &str, split: &str, sha256: String) -> ManifestEntry {
    let fake = label == "fake";
    ManifestEntry {
        clip_id: ManifestEntry::clip_id_for("ffpp", stem, start_s),
        source_path: format!("X:/ffpp/{stem}.mp4"),
        start_s,
        end_s: start_s + 10.0,
        label: label.into(),
        method: fake.then(|| "Deepfakes".to_string()),
        source_ids: if fake {
            vec!["000".into(), "003".into()]
        } else {
            vec!["000".into()]
        },
        split: split.into(),
        axes: BTreeMap::from([("lighting".to_string(), "low_light".to_string())]),
        sha256,
        encoding: None,
    }
}

/// The valid entries of a ledger, in order (invalid lines skipped), and the
/// number of invalid lines.
fn ledger_entries(ledger: &Path) -> (Vec<ManifestEntry>, usize) {
    let bytes = fs::read(ledger).unwrap();
    let mut valid = Vec::new();
    let mut invalid = 0;
    for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        match serde_json::from_slice::<ManifestEntry>(line) {
            Ok(e) => valid.push(e),
            Err(_) => invalid += 1,
        }
    }
    (valid, invalid)
}

fn shas(entries: &[ManifestEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.sha256.as_str()).collect()
}

#[test]
fn promoting_twice_adds_nothing_and_leaves_the_ledger_byte_identical() {
    let fx = Fixture::new();
    let entries = vec![
        fx.clip("000", 0.0, "real", "train"),
        fx.clip("000_003", 12.0, "fake", "train"),
        fx.clip("001", 5.5, "real", "test"),
    ];
    let manifest = fx.manifest("m.jsonl", &entries);

    let first = promote(&manifest, &fx.store()).unwrap();
    assert_eq!((first.added, first.skipped_present), (3, 0));
    assert_eq!(first.ledger, fx.ledger());
    assert_eq!(first.ledger_entries, 3);
    assert!(first.warnings().is_empty(), "{:?}", first.warnings());
    let after_first = fs::read(fx.ledger()).unwrap();
    assert_eq!(first.ledger_bytes, after_first.len() as u64);
    assert_eq!(ledger_entries(&fx.ledger()), (entries.clone(), 0));

    let second = promote(&manifest, &fx.store()).unwrap();
    assert_eq!((second.added, second.skipped_present), (0, 3));
    assert_eq!(fs::read(fx.ledger()).unwrap(), after_first);

    // Both promotions are logged.
    let log = fs::read_to_string(fx.store().join("promotions.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["added"], 3);
    assert_eq!(records[1]["added"], 0);
    assert_eq!(records[1]["skipped_present"], 3);
    assert_eq!(records[1]["ledger_entries"], 3);
    let manifest_sha = format!("{:x}", Sha256::digest(fs::read(&manifest).unwrap()));
    assert_eq!(records[1]["manifest_sha256"], manifest_sha.as_str());
}

#[test]
fn same_sha256_in_another_split_is_refused_and_the_ledger_is_unchanged() {
    let fx = Fixture::new();
    let a = fx.clip("000", 0.0, "real", "train");
    let b = fx.clip("001", 0.0, "real", "train");
    promote(
        &fx.manifest("m1.jsonl", &[a.clone(), b.clone()]),
        &fx.store(),
    )
    .unwrap();
    let before = fs::read(fx.ledger()).unwrap();
    let log_before = fs::read(fx.store().join("promotions.jsonl")).unwrap();

    // A new clip on line 1 (all-or-nothing: it must not be appended either),
    // then b moved to the test split on line 2.
    let c = fx.clip("002", 0.0, "real", "val");
    let mut moved = b.clone();
    moved.split = "test".into();
    let manifest = fx.manifest("m2.jsonl", &[c, moved]);
    let err = promote(&manifest, &fx.store()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&b.sha256), "{msg}");
    assert!(msg.contains(&b.clip_id), "{msg}");
    assert!(msg.contains("m2.jsonl line 2"), "{msg}");
    assert!(msg.contains("split"), "{msg}");
    assert!(msg.contains("nothing was appended"), "{msg}");
    match &err {
        PromoteError::Conflicts { conflicts, .. } => {
            assert_eq!(conflicts.len(), 1);
            assert_eq!(conflicts[0].line, 2);
            match &conflicts[0].kind {
                ConflictKind::ShaRedefined { at, fields } => {
                    assert_eq!(*at, Recorded::Ledger(2));
                    assert_eq!(fields.len(), 1);
                    assert_eq!(fields[0].field, "split");
                }
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fs::read(fx.ledger()).unwrap(), before);
    assert_eq!(
        fs::read(fx.store().join("promotions.jsonl")).unwrap(),
        log_before
    );

    // Another label for the same content is refused too.
    let mut relabelled = a.clone();
    relabelled.label = "fake".into();
    let err = promote(&fx.manifest("m3.jsonl", &[relabelled]), &fx.store()).unwrap_err();
    assert!(err.to_string().contains("label"), "{err}");
    assert_eq!(fs::read(fx.ledger()).unwrap(), before);
}

#[test]
fn same_clip_id_with_another_sha256_is_refused() {
    let fx = Fixture::new();
    let a = fx.clip("000", 0.0, "real", "train");
    promote(
        &fx.manifest("m1.jsonl", std::slice::from_ref(&a)),
        &fx.store(),
    )
    .unwrap();
    let before = fs::read(fx.ledger()).unwrap();

    let mut recut = fx.clip("000_recut", 0.0, "real", "train");
    recut.clip_id = a.clip_id.clone();
    let err = promote(&fx.manifest("m2.jsonl", &[recut.clone()]), &fx.store()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("m2.jsonl line 1"), "{msg}");
    assert!(
        msg.contains(&a.clip_id) && msg.contains(&a.sha256) && msg.contains(&recut.sha256),
        "{msg}"
    );
    assert_eq!(fs::read(fx.ledger()).unwrap(), before);
}

#[test]
fn one_new_and_one_present_appends_only_the_new_one() {
    let fx = Fixture::new();
    let a = fx.clip("000", 0.0, "real", "train");
    let b = fx.clip("000_003", 0.0, "fake", "train");
    promote(
        &fx.manifest("m1.jsonl", std::slice::from_ref(&a)),
        &fx.store(),
    )
    .unwrap();
    let before = fs::read(fx.ledger()).unwrap();

    let s = promote(
        &fx.manifest("m2.jsonl", &[a.clone(), b.clone()]),
        &fx.store(),
    )
    .unwrap();
    assert_eq!((s.added, s.skipped_present, s.ledger_entries), (1, 1, 2));
    let mut expected = before.clone();
    expected.extend_from_slice(b.to_json_line().as_bytes());
    assert_eq!(fs::read(fx.ledger()).unwrap(), expected);
}

#[test]
fn duplicates_within_a_manifest_count_once_and_contradictions_are_refused() {
    let fx = Fixture::new();
    let a = fx.clip("000", 0.0, "real", "train");
    let b = fx.clip("001", 0.0, "real", "val");
    let s = promote(
        &fx.manifest("dup.jsonl", &[a.clone(), b.clone(), a.clone()]),
        &fx.store(),
    )
    .unwrap();
    assert_eq!((s.added, s.duplicates_in_manifest), (2, 1));
    assert_eq!(ledger_entries(&fx.ledger()).0, vec![a.clone(), b.clone()]);

    // Contradictory repeats: refused before the store is even touched.
    let fresh = Fixture::new();
    let c = fresh.clip("002", 0.0, "real", "train");
    let mut c_test = c.clone();
    c_test.split = "test".into();
    let err = promote(&fresh.manifest("bad.jsonl", &[c, c_test]), &fresh.store()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("bad.jsonl line 2") && msg.contains("line 1 of this manifest"),
        "{msg}"
    );
    assert!(!fresh.store().exists());
}

#[test]
fn torn_last_line_is_kept_terminated_ignored_and_the_rerun_completes_the_set() {
    let fx = Fixture::new();
    let a = fx.clip("000", 0.0, "real", "train");
    let b = fx.clip("001", 0.0, "real", "train");
    let c = fx.clip("002", 0.0, "real", "test");
    promote(
        &fx.manifest("m1.jsonl", std::slice::from_ref(&a)),
        &fx.store(),
    )
    .unwrap();

    // A promote of [b, c] killed mid-write: b complete, c cut in half.
    let c_line = c.to_json_line();
    let torn = &c_line[..c_line.len() / 2];
    let mut ledger = fs::read(fx.ledger()).unwrap();
    ledger.extend_from_slice(b.to_json_line().as_bytes());
    ledger.extend_from_slice(torn.as_bytes());
    fs::write(fx.ledger(), &ledger).unwrap();

    let manifest = fx.manifest("m2.jsonl", &[b.clone(), c.clone()]);
    let s = promote(&manifest, &fx.store()).unwrap();
    assert_eq!((s.added, s.skipped_present), (1, 1));
    let torn_line = s.torn_line_terminated.expect("torn line reported");
    assert_eq!(torn_line.line, 3);
    assert!(!torn_line.was_entry);
    assert_eq!(
        (s.invalid_lines_ignored, s.invalid_line_numbers.clone()),
        (1, vec![3])
    );
    assert!(
        s.warnings().iter().any(|w| w.contains("torn")),
        "{:?}",
        s.warnings()
    );

    // The torn bytes are still there, terminated, then c in full.
    let mut expected = ledger.clone();
    expected.push(b'\n');
    expected.extend_from_slice(c_line.as_bytes());
    let after = fs::read(fx.ledger()).unwrap();
    assert_eq!(after, expected);
    assert_eq!(ledger_entries(&fx.ledger()), (vec![a, b, c], 1));

    // Later runs ignore (and report) the old torn line but add nothing.
    let again = promote(&manifest, &fx.store()).unwrap();
    assert_eq!((again.added, again.skipped_present), (0, 2));
    assert_eq!(again.torn_line_terminated, None);
    assert_eq!(again.invalid_lines_ignored, 1);
    assert_eq!(fs::read(fx.ledger()).unwrap(), after);
}

#[test]
fn torn_line_that_is_a_complete_entry_counts_as_present() {
    let fx = Fixture::new();
    let a = fx.clip("000", 0.0, "real", "train");
    let b = fx.clip("001", 0.0, "real", "train");
    // Cut just before b's newline.
    let mut ledger = a.to_json_line();
    ledger.push_str(b.to_json_line().trim_end());
    fs::create_dir(fx.store()).unwrap();
    fs::write(fx.ledger(), &ledger).unwrap();

    let s = promote(
        &fx.manifest("m.jsonl", &[a.clone(), b.clone()]),
        &fx.store(),
    )
    .unwrap();
    assert_eq!((s.added, s.skipped_present), (0, 2));
    assert_eq!(
        s.torn_line_terminated.map(|t| (t.line, t.was_entry)),
        Some((2, true))
    );
    assert_eq!(s.invalid_lines_ignored, 0);
    assert_eq!(fs::read_to_string(fx.ledger()).unwrap(), ledger + "\n");
    assert_eq!(ledger_entries(&fx.ledger()), (vec![a, b], 0));
}

#[test]
fn malformed_manifest_lines_are_named_by_number() {
    let fx = Fixture::new();
    let good = fx.clip("000", 0.0, "real", "train");
    let good_line = good.to_json_line();
    let value = serde_json::to_value(&good).unwrap();
    let with = |key: &str, v: serde_json::Value| {
        let mut v2 = value.clone();
        v2[key] = v;
        v2.to_string()
    };
    let without = |key: &str| {
        let mut v2 = value.clone();
        v2.as_object_mut().unwrap().remove(key);
        v2.to_string()
    };
    let cases: Vec<(String, &str)> = vec![
        ("{\"clip_id\": \"x\",".into(), "invalid JSON"),
        (without("sha256"), "missing field `sha256`"),
        (with("end_s", 0.0.into()), "end_s"),
        (with("end_s", good.start_s.into()), "end_s"),
        (with("label", "Real".into()), "label"),
        (with("split", "dev".into()), "split"),
        (with("sha256", "ABC".into()), "sha256"),
        (with("sha256", good.sha256.to_uppercase().into()), "sha256"),
    ];
    for (bad, expect) in cases {
        // Line 3 is bad (line 2 is blank, which is allowed).
        let manifest = fx.manifest_text("bad.jsonl", &format!("{good_line}\n{bad}\n"));
        let err = promote(&manifest, &fx.store()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, PromoteError::Malformed { .. }), "{msg}");
        assert!(msg.contains("bad.jsonl line 3: "), "{msg}");
        assert!(msg.contains(expect), "expected {expect:?} in {msg}");
        assert!(!fx.store().exists(), "refused manifest created the store");
    }
}

#[test]
fn invalid_ledger_lines_are_ignored_and_counted() {
    let fx = Fixture::new();
    let a = fx.clip("000", 0.0, "real", "train");
    fs::create_dir(fx.store()).unwrap();
    let ledger = format!("{}not json\n", a.to_json_line());
    fs::write(fx.ledger(), &ledger).unwrap();
    let b = fx.clip("001", 0.0, "real", "train");
    let s = promote(&fx.manifest("m.jsonl", &[a, b.clone()]), &fx.store()).unwrap();
    assert_eq!(
        (s.added, s.skipped_present, s.invalid_lines_ignored),
        (1, 1, 1)
    );
    assert_eq!(s.invalid_line_numbers, vec![2]);
    assert_eq!(s.torn_line_terminated, None);
    assert_eq!(
        fs::read_to_string(fx.ledger()).unwrap(),
        ledger + &b.to_json_line()
    );
}

#[test]
fn concurrent_promotes_into_one_store_are_serialised() {
    let fx = Fixture::new();
    let shared: Vec<ManifestEntry> = (0..20)
        .map(|i| fx.clip(&format!("shared{i}"), 0.0, "real", "train"))
        .collect();
    let manifests: Vec<PathBuf> = (0..4)
        .map(|t| {
            let mut entries = shared.clone();
            entries.extend((0..50).map(|i| fx.clip(&format!("t{t}_{i}"), 0.0, "fake", "train")));
            fx.manifest(&format!("m{t}.jsonl"), &entries)
        })
        .collect();
    let store = fx.store();
    let added: usize = std::thread::scope(|s| {
        let handles: Vec<_> = manifests
            .iter()
            .map(|m| s.spawn(|| promote(m, &store).unwrap().added))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let (entries, invalid) = ledger_entries(&fx.ledger());
    assert_eq!(invalid, 0);
    assert_eq!(added, 20 + 4 * 50);
    assert_eq!(entries.len(), 20 + 4 * 50);
    let unique: HashSet<&str> = shas(&entries).into_iter().collect();
    assert_eq!(unique.len(), entries.len());
}

#[test]
fn sha256_helper_matches_sha2() {
    let fx = Fixture::new();
    let a = fx.clip("000", 0.0, "real", "train");
    let path = fx.dir.path().join("clips").join("000_0.mp4");
    assert_eq!(
        engine::promote::sha256_hex(&fs::read(&path).unwrap()),
        a.sha256
    );
}

// ---------------------------------------------------------------- binary --

/// The engine binary; `engine promote --help` must succeed.
fn engine_promote_bin() -> Option<PathBuf> {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_engine"));
    let help = Command::new(&bin)
        .args(["promote", "--help"])
        .output()
        .expect("engine runs");
    assert!(help.status.success(), "engine promote --help fails");
    Some(bin)
}

fn run_promote(bin: &Path, manifest: &Path, into: &Path) -> Output {
    Command::new(bin)
        .arg("promote")
        .arg(manifest)
        .arg("--into")
        .arg(into)
        .output()
        .expect("engine runs")
}

#[test]
fn binary_promotes_idempotently_and_refuses_conflicts() {
    let Some(bin) = engine_promote_bin() else {
        return;
    };
    let fx = Fixture::new();
    let a = fx.clip("000", 0.0, "real", "train");
    let b = fx.clip("000_003", 0.0, "fake", "val");
    let manifest = fx.manifest("m.jsonl", &[a.clone(), b.clone()]);
    let o = run_promote(&bin, &manifest, &fx.store());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let first = fs::read(fx.ledger()).unwrap();
    assert_eq!(
        ledger_entries(&fx.ledger()),
        (vec![a.clone(), b.clone()], 0)
    );

    let o = run_promote(&bin, &manifest, &fx.store());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(fs::read(fx.ledger()).unwrap(), first);

    let mut moved = b.clone();
    moved.split = "test".into();
    let o = run_promote(&bin, &fx.manifest("conflict.jsonl", &[moved]), &fx.store());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        stderr.contains(&b.sha256) && stderr.contains("conflict.jsonl line 1"),
        "{stderr}"
    );
    assert_eq!(fs::read(fx.ledger()).unwrap(), first);

    let bad = fx.manifest_text("bad.jsonl", "{\"clip_id\": 1}\n");
    let o = run_promote(&bin, &bad, &fx.store());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(stderr.contains("bad.jsonl line 1"), "{stderr}");
    assert_eq!(fs::read(fx.ledger()).unwrap(), first);

    // A manifest that does not exist is a usage error (exit 2) naming it.
    let missing = fx.dir.path().join("no_such_manifest.jsonl");
    let o = run_promote(&bin, &missing, &fx.store());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no_such_manifest.jsonl"), "{stderr}");
    assert_eq!(fs::read(fx.ledger()).unwrap(), first);
}

/// SIGKILL `engine promote` of a large manifest at instants spread over its
/// run time, the later ones around its single write: after each kill the
/// ledger keeps every byte it had and holds only manifest entries, each once;
/// a rerun (terminating any torn line) completes the set, and another run
/// changes nothing.
#[test]
fn binary_killed_mid_promote_recovers() {
    let Some(bin) = engine_promote_bin() else {
        return;
    };
    let fx = Fixture::new();
    const CLIPS: usize = 20_000;
    const SEED: usize = 100;
    // Real hashes of distinct clip contents (in memory: 20 000 files would
    // only slow the test down).
    let entries: Vec<ManifestEntry> = (0..CLIPS)
        .map(|i| {
            let content = format!("clip {i} content");
            let sha = format!("{:x}", Sha256::digest(content.as_bytes()));
            let split = ["train", "val", "test"][i % 3];
            entry(
                &format!("v{i:05}"),
                (i % 7) as f64 * 10.0,
                "real",
                split,
                sha,
            )
        })
        .collect();
    let manifest = fx.manifest("big.jsonl", &entries);
    let wanted: HashSet<&str> = shas(&entries).into_iter().collect();
    // Every store starts with the first SEED entries, so there are bytes to
    // preserve.
    let seed_store = fx.dir.path().join("seed");
    promote(&fx.manifest("seed.jsonl", &entries[..SEED]), &seed_store).unwrap();
    let seed = fs::read(seed_store.join(LEDGER_FILE)).unwrap();
    let fresh_store = |name: &str| {
        let store = fx.dir.path().join(name);
        fs::create_dir(&store).unwrap();
        fs::write(store.join(LEDGER_FILE), &seed).unwrap();
        store
    };

    // How long an uninterrupted promote takes here.
    let started = std::time::Instant::now();
    let o = run_promote(&bin, &manifest, &fresh_store("calibrate"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let full = started.elapsed();

    // Kills at fractions of that time (mostly before the write), then kills
    // the moment the ledger starts to grow (inside or just after the write).
    let plan: [Option<f64>; 8] = [
        Some(0.2),
        Some(0.4),
        Some(0.6),
        None,
        None,
        None,
        None,
        None,
    ];
    let (mut before_write, mut torn, mut complete) = (0, 0, 0);
    for (attempt, fraction) in plan.into_iter().enumerate() {
        let store = fresh_store(&format!("kill{attempt}"));
        let ledger = store.join(LEDGER_FILE);
        let mut child = Command::new(&bin)
            .arg("promote")
            .arg(&manifest)
            .arg("--into")
            .arg(&store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        match fraction {
            Some(f) => std::thread::sleep(full.mul_f64(f)),
            None => {
                while child.try_wait().unwrap().is_none()
                    && fs::metadata(&ledger).unwrap().len() == seed.len() as u64
                {
                    std::thread::sleep(Duration::from_micros(50));
                }
            }
        }
        let _ = child.kill(); // SIGKILL; fails only if it has already exited
        child.wait().unwrap();

        let after = fs::read(&ledger).unwrap();
        assert!(
            after.starts_with(&seed),
            "seed bytes changed (attempt {attempt})"
        );
        let (valid, _) = ledger_entries(&ledger);
        let seen: HashSet<&str> = shas(&valid).into_iter().collect();
        assert_eq!(seen.len(), valid.len(), "duplicates (attempt {attempt})");
        assert!(seen.is_subset(&wanted));
        if after.len() == seed.len() {
            before_write += 1;
        } else if valid.len() == CLIPS && after.ends_with(b"\n") {
            complete += 1;
        } else {
            torn += 1;
        }

        // The rerun recovers: every entry present exactly once, the old
        // bytes kept.
        let o = run_promote(&bin, &manifest, &store);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{stderr}");
        if !after.ends_with(b"\n") {
            assert!(stderr.contains("torn"), "torn line not reported: {stderr}");
        }
        let recovered = fs::read(&ledger).unwrap();
        assert!(recovered.starts_with(&after));
        assert!(recovered.ends_with(b"\n"));
        let (valid, invalid) = ledger_entries(&ledger);
        let seen: HashSet<&str> = shas(&valid).into_iter().collect();
        assert_eq!(
            (seen.len(), valid.len()),
            (CLIPS, CLIPS),
            "attempt {attempt}"
        );
        assert!(invalid <= 1);

        // And a further run changes nothing.
        if attempt + 1 == plan.len() {
            let o = run_promote(&bin, &manifest, &store);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            assert_eq!(fs::read(&ledger).unwrap(), recovered);
        }
    }
    eprintln!(
        "promote of {CLIPS} clips takes {full:?}; kills landed before the write {before_write}, \
         mid-write {torn}, after it {complete} times"
    );
}
