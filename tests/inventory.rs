//! End-to-end tests of `engine analyze` on real video: the demo corpus (built
//! by the project's fixture script with the ffmpeg CLI) and corpora made here.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{engine, ffprobe, read_json, read_jsonl, tree_digest};
use serde_json::Value;

/// Longest a run on the demo corpus may take before the test calls it a hang
/// (a symlink loop followed forever, say). Not a speed target: it runs in 1 s.
const HANG_LIMIT: Duration = Duration::from_secs(120);

/// Duration agreement with ffprobe demanded by the issue.
const DURATION_TOLERANCE_S: f64 = 0.1;

/// The demo corpus, built once per test binary (the script is idempotent).
fn demo() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| common::demo_corpus(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo")))
}

fn demo_roots() -> Vec<String> {
    ["dataset_3", "dataset2", "DEEPFAKE_DATASETS"]
        .iter()
        .map(|r| demo().join(r).display().to_string())
        .collect()
}

/// Run `engine analyze ROOTS --out OUT --quiet`, failing the test if it does not
/// finish within [`HANG_LIMIT`]. Returns (exit code, stdout).
fn analyze(roots: &[String], out: &Path, extra: &[&str]) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_engine"))
        .arg("analyze")
        .args(roots)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("engine starts");
    let started = Instant::now();
    loop {
        if let Some(_status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!stderr.contains("panicked"), "{stderr}");
            return (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            );
        }
        if started.elapsed() > HANG_LIMIT {
            child.kill().ok();
            panic!("engine analyze did not finish within {HANG_LIMIT:?}: a hang");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn by_path(lines: &[Value]) -> BTreeMap<String, &Value> {
    lines
        .iter()
        .map(|l| (l["path"].as_str().unwrap().to_string(), l))
        .collect()
}

#[test]
fn demo_inventory_agrees_with_ffprobe_and_the_truth_and_leaves_roots_untouched() {
    let roots = demo_roots();
    let before: Vec<_> = roots.iter().map(|r| tree_digest(Path::new(r))).collect();
    let out = tempfile::tempdir().unwrap();
    let (code, stdout) = analyze(&roots, out.path(), &[]);
    assert_eq!(code, 0, "{stdout}");
    let after: Vec<_> = roots.iter().map(|r| tree_digest(Path::new(r))).collect();
    assert_eq!(before, after, "files under the input roots changed");

    let truth = read_json(&demo().join("expected.json"));
    let inventory = read_jsonl(&out.path().join("inventory.jsonl"));
    let report = read_json(&out.path().join("report.json"));

    // Every file of the truth is listed once, and nothing else.
    let listed = by_path(&inventory);
    assert_eq!(listed.len(), inventory.len(), "a path is listed twice");
    let truth_videos = truth["videos"].as_object().unwrap();
    let expected: Vec<String> = truth_videos
        .keys()
        .map(|rel| demo().join(rel).display().to_string())
        .collect();
    let mut got: Vec<String> = listed.keys().cloned().collect();
    let mut want = expected.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want);

    // Width, height, codec equal ffprobe's; duration within 0.1 s; unreadable
    // files are exactly those ffprobe cannot read or the truth calls broken.
    let mut readable = 0;
    for line in &inventory {
        let path = line["path"].as_str().unwrap();
        let rel = Path::new(path)
            .strip_prefix(demo())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let broken = !truth_videos[&rel]["readable"].as_bool().unwrap();
        match (line["error"].as_str(), ffprobe(Path::new(path))) {
            (None, Some((codec, w, h, dur))) => {
                assert!(!broken, "{path} is broken but was read");
                assert_eq!(line["codec"], codec.as_str(), "{path}");
                assert_eq!(line["width"], w, "{path}");
                assert_eq!(line["height"], h, "{path}");
                let d = line["duration_s"].as_f64().unwrap();
                assert!(
                    (d - dur).abs() <= DURATION_TOLERANCE_S,
                    "{path}: {d} vs ffprobe {dur}"
                );
                assert!(
                    line["quality"]["lighting"].is_string(),
                    "{path}: no frame statistics"
                );
                readable += 1;
            }
            (Some(err), _) => assert!(broken, "{path} is fine but got error {err}"),
            (None, None) => panic!("{path}: ffprobe cannot read it but the engine did"),
        }
    }
    assert!(readable >= 30, "only {readable} readable videos");

    // Per-root counts equal the truth.
    for (root, want) in truth["roots"].as_object().unwrap() {
        let got = &report["datasets"][root];
        for key in [
            "total_videos",
            "real_videos",
            "fake_videos",
            "unknown_label_videos",
            "unreadable_videos",
        ] {
            assert_eq!(got[key], want[key], "{root}.{key}");
        }
    }

    // Broken files carry a reason and are in quality_concerns; so are the
    // malformed metadata file and the symlink loop.
    let concerns = report["quality_concerns"].as_array().unwrap();
    let concern_of = |rel: &str, kind: &str| {
        let p = demo().join(rel).display().to_string();
        concerns
            .iter()
            .find(|c| c["path"] == p.as_str() && c["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} concern for {p}: {concerns:#?}"))
    };
    for b in truth["broken_files"].as_array().unwrap() {
        let rel = b["path"].as_str().unwrap();
        let c = concern_of(rel, "unreadable_video");
        let line = listed[&demo().join(rel).display().to_string()];
        assert_eq!(c["reason"], line["error"]);
        let kind = b["kind"].as_str().unwrap();
        let reason = c["reason"].as_str().unwrap();
        let expect = match kind {
            "empty" => "empty",
            "truncated" => "truncated",
            _ => "not a readable video",
        };
        assert!(reason.contains(expect), "{rel} ({kind}): {reason}");
    }
    for m in truth["malformed_metadata"].as_array().unwrap() {
        concern_of(m["path"].as_str().unwrap(), "malformed_metadata");
    }
    for l in truth["symlink_loops"].as_array().unwrap() {
        concern_of(l["path"].as_str().unwrap(), "symlink_loop");
    }
}

#[test]
fn demo_labels_follow_each_datasets_metadata() {
    let out = tempfile::tempdir().unwrap();
    let (code, _) = analyze(&demo_roots(), out.path(), &[]);
    assert_eq!(code, 0);
    let inventory = read_jsonl(&out.path().join("inventory.jsonl"));
    let listed = by_path(&inventory);
    let get = |rel: &str| listed[&demo().join(rel).display().to_string()];
    let truth = read_json(&demo().join("expected.json"));
    for (rel, v) in truth["videos"].as_object().unwrap() {
        assert_eq!(get(rel)["label"], v["label"], "{rel}");
    }
    let ff = "DEEPFAKE_DATASETS/FaceForensics++";
    let fake = get(&format!(
        "{ff}/manipulated_sequences/Deepfakes/c23/videos/000_001.mp4"
    ));
    assert_eq!(fake["method"], "Deepfakes");
    let orig = demo().join(format!(
        "{ff}/original_sequences/youtube/c23/videos/000.mp4"
    ));
    assert_eq!(fake["original"], orig.display().to_string().as_str());
    assert_eq!(fake["split"], "train");
    let cdf = "DEEPFAKE_DATASETS/Celeb-DF-v2";
    assert_eq!(
        get(&format!("{cdf}/Celeb-real/id1_0000.mp4"))["split"],
        "test"
    );
    assert_eq!(
        get(&format!("{cdf}/Celeb-real/id0_0000.mp4"))["split"],
        "train"
    );
    let bbb = get("dataset2/dfdc_train_part_0/bbb.mp4");
    assert_eq!(
        bbb["original"],
        demo()
            .join("dataset2/dfdc_train_part_0/aaa.mp4")
            .display()
            .to_string()
            .as_str()
    );
    assert!(bbb["label_source"]
        .as_str()
        .unwrap()
        .contains("metadata.json"));
    assert_eq!(
        get("dataset_3/outdoor/interview_01.mp4")["attrs"]["scene"],
        "outdoor_interview"
    );
}

#[test]
fn missing_root_and_bad_flag_exit_2_with_a_clear_message() {
    let out = tempfile::tempdir().unwrap();
    let missing = out.path().join("no_such_dataset");
    let o = engine(&[
        "analyze",
        missing.to_str().unwrap(),
        "--out",
        out.path().join("o").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no_such_dataset") && err.contains("does not exist"),
        "{err}"
    );
    assert!(
        !out.path().join("o").exists(),
        "nothing is written for a bad call"
    );

    let o = engine(&["analyze", out.path().to_str().unwrap(), "--frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--frobnicate"));

    let o = engine(&["analyze", out.path().to_str().unwrap(), "--cpu", "--gpu"]);
    assert_eq!(o.status.code(), Some(2));
}

/// Many files (hard links of one real video, each probed on its own) so a run
/// lasts long enough to be killed midway.
fn many_files_corpus(dir: &Path, n: usize) -> PathBuf {
    let root = dir.join("many");
    let seed = dir.join("seed.mp4");
    common::make_video(&seed, "testsrc2=s=160x120:r=25", 2.0, &[]);
    for i in 0..n {
        let sub = root.join(format!("part_{}", i / 100));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::hard_link(&seed, sub.join(format!("v{i:05}.mp4"))).unwrap();
    }
    common::make_video(
        &root.join("odd/zz.mkv"),
        "mandelbrot=s=160x120",
        1.0,
        &["-c:v", "mpeg4"],
    );
    std::fs::write(root.join("odd/zz_broken.mp4"), b"not a video").unwrap();
    root
}

fn catalog_rows(db: &Path) -> i64 {
    let Ok(conn) =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return 0;
    };
    conn.query_row("SELECT count(*) FROM results", [], |r| r.get(0))
        .unwrap_or(0)
}

/// The number before `label` in the summary line ("12 probed now").
fn count_in_summary(stdout: &str, label: &str) -> usize {
    let at = stdout
        .find(label)
        .unwrap_or_else(|| panic!("no `{label}` in {stdout}"));
    stdout[..at]
        .trim_end()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn probed_now(stdout: &str) -> usize {
    count_in_summary(stdout, " probed now")
}

fn frames_now(stdout: &str) -> usize {
    count_in_summary(stdout, " frame-analysed now")
}

#[test]
fn killed_run_resumes_to_the_same_inventory_and_reruns_skip_unchanged_files() {
    const FILES: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let root = many_files_corpus(dir.path(), FILES).display().to_string();
    let total = FILES + 2;

    // Uninterrupted reference run.
    let reference = dir.path().join("reference");
    let (code, stdout) = analyze(
        std::slice::from_ref(&root),
        &reference,
        &["--jobs", "1", "--no-faces"],
    );
    assert_eq!(code, 0);
    assert_eq!(probed_now(&stdout), total);
    let readable = total - 1;
    assert_eq!(frames_now(&stdout), readable);

    // A run killed with SIGKILL midway through the frame pass: every probe and
    // some frame results are in the catalog.
    let out = dir.path().join("resumed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_engine"))
        .args([
            "analyze",
            &root,
            "--quiet",
            "--jobs",
            "1",
            "--no-faces",
            "--out",
        ])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let db = out.join("catalog.sqlite");
    let started = Instant::now();
    while catalog_rows(&db) <= total as i64 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "run finished before it could be killed"
        );
        assert!(started.elapsed() < HANG_LIMIT, "no catalog rows appeared");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let saved = catalog_rows(&db) as usize - total;
    assert!(
        saved > 0 && saved < readable,
        "killed run saved {saved} of {readable} frame results"
    );
    assert!(
        !out.join("inventory.jsonl").exists(),
        "the killed run got to the end"
    );

    // Resume: only the rest is analysed, and the outputs equal the reference.
    let (code, stdout) = analyze(
        std::slice::from_ref(&root),
        &out,
        &["--jobs", "1", "--no-faces"],
    );
    assert_eq!(code, 0);
    assert_eq!(
        probed_now(&stdout),
        0,
        "every probe was saved before the kill"
    );
    let resumed = frames_now(&stdout);
    assert!(
        resumed < readable,
        "resume analysed {resumed} of {readable}"
    );
    assert!(resumed + saved >= readable);
    for f in engine::report::OUTPUT_FILES {
        assert_eq!(
            std::fs::read(reference.join(f)).unwrap(),
            std::fs::read(out.join(f)).unwrap(),
            "{f} differs from the uninterrupted run's"
        );
    }

    // A third run over unchanged files probes nothing; a touched file is redone.
    let (code, stdout) = analyze(
        std::slice::from_ref(&root),
        &out,
        &["--jobs", "1", "--no-faces"],
    );
    assert_eq!(code, 0);
    assert_eq!(probed_now(&stdout), 0);
    assert_eq!(frames_now(&stdout), 0);
    std::fs::write(
        Path::new(&root).join("odd/zz_broken.mp4"),
        b"still not a video",
    )
    .unwrap();
    let (_, stdout) = analyze(
        std::slice::from_ref(&root),
        &out,
        &["--jobs", "1", "--no-faces"],
    );
    assert_eq!(probed_now(&stdout), 1);
}
