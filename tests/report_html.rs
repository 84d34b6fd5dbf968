//! The human report: `report.html` of the demo corpus rendered in headless
//! Chromium (Debian `chromium`, installed by `make test`), and the size of
//! the report of a 10k-video synthetic catalog.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::read_json;
use engine::frames::SampledFrame;
use engine::labels::{Label, LabelInfo};
use engine::probe::ProbeInfo;
use engine::record::{Concern, ConcernKind, FrameSummary, VideoRecord};
use engine::report::DatasetInfo;
use engine::sample::SampleOptions;
use engine::stats::FrameStats;

/// Viewport of the screenshot: the width the README's screenshot uses, tall
/// enough for the summary, composition and first axis charts.
const SHOT_W: u32 = 1280;
const SHOT_H: u32 = 2200;

/// The report's colours (src/html.rs): input bars and selected bars.
const INPUT_RGB: [u8; 3] = [0x5b, 0x7f, 0xbf];
const SELECTED_RGB: [u8; 3] = [0xe8, 0x74, 0x3b];

/// The ceiling for a 10k-video report.
const MAX_REPORT_BYTES_10K: usize = 5 * 1024 * 1024;

fn chromium() -> PathBuf {
    for c in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(c).is_file() {
            return PathBuf::from(c);
        }
    }
    panic!(
        "Chromium not found at /usr/bin/chromium: `make test` installs Debian's `chromium` package"
    );
}

/// Run headless Chromium on `page` with `extra` flags and a fresh profile.
fn run_chromium(page: &Path, extra: &[String], profile: &Path) -> Output {
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("chromium runs")
}

/// Load errors Chromium reports on stderr: a resource that failed to load, a
/// script error, a blocked request.
fn load_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| {
            l.contains("Failed to load resource")
                || l.contains("Uncaught")
                || l.contains("net::ERR_")
                || l.contains("Refused to load")
        })
        .collect()
}

/// The markup of the `<svg>` whose `data-chart` is `name`, or None.
fn chart<'a>(dom: &'a str, name: &str) -> Option<&'a str> {
    let at = dom.find(&format!("data-chart=\"{name}\""))?;
    let start = dom[..at].rfind("<svg")?;
    let end = at + dom[at..].find("</svg>")?;
    Some(&dom[start..end])
}

fn pixels_near(rgba: &[u8], channels: usize, want: [u8; 3]) -> usize {
    rgba.chunks_exact(channels)
        .filter(|p| (0..3).all(|c| (i16::from(p[c]) - i16::from(want[c])).abs() <= 6))
        .count()
}

#[test]
fn demo_report_renders_in_headless_chromium_with_every_section_and_chart() {
    let demo = common::demo_corpus(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo"));
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let o = common::analyze_demo(&demo, &out, &["--cpu"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = out.join("report.html");
    let html = std::fs::read_to_string(&page).expect("report.html written");

    // Self-contained: nothing fetched from anywhere.
    for needle in [
        "src=\"http",
        "href=\"http",
        "src=\"//",
        "url(http",
        "@import",
        "<script",
        "<link",
    ] {
        assert!(!html.contains(needle), "report.html holds {needle}");
    }

    // The DOM after Chromium parsed and laid it out.
    let dump = run_chromium(&page, &["--dump-dom".into()], &work.path().join("p1"));
    let stderr = String::from_utf8_lossy(&dump.stderr);
    assert!(
        dump.status.success(),
        "chromium --dump-dom failed: {stderr}"
    );
    let errors = load_errors(&stderr);
    assert!(errors.is_empty(), "load errors: {errors:?}");
    let dom = String::from_utf8(dump.stdout).unwrap();
    assert!(
        dom.contains("<footer id=\"end\">"),
        "page not parsed to its end"
    );
    for id in [
        "summary",
        "composition",
        "balance",
        "distributions",
        "quotas",
        "duplicates",
        "fakes",
        "gaps",
        "recommendations",
    ] {
        assert!(
            dom.contains(&format!("<section id=\"{id}\">")),
            "section {id} missing"
        );
    }
    // One summary line per dataset.
    for ds in ["dataset_3", "dataset2", "DEEPFAKE_DATASETS"] {
        assert!(
            dom.contains(&format!("<li><b>{ds}</b>")),
            "no summary line for {ds}"
        );
    }

    // A chart per axis of diversity_balance.json, each with input and
    // selected bars and target markers; the composition chart; four histograms.
    let balance = read_json(&out.join("diversity_balance.json"));
    let axes: Vec<&String> = balance["axes"].as_object().unwrap().keys().collect();
    assert!(axes.len() >= 8, "few axes: {axes:?}");
    for axis in &axes {
        let svg = chart(&dom, &format!("axis-{axis}"))
            .unwrap_or_else(|| panic!("chart of axis {axis} missing"));
        let categories = balance["axes"][axis.as_str()]["original"]["counts"]
            .as_object()
            .unwrap()
            .len();
        if categories == 0 {
            // Measured for no candidate (no faces in the demo's patterns):
            // the chart says so instead of drawing nothing.
            assert!(svg.contains("no candidate has a value"), "{axis}: {svg}");
            continue;
        }
        assert!(svg.contains("class=\"bar input\""), "{axis}: no input bars");
        assert!(
            svg.contains("class=\"bar selected\""),
            "{axis}: no selected bars"
        );
        assert!(svg.contains("class=\"target\""), "{axis}: no target marks");
        assert_eq!(
            svg.matches("class=\"target\"").count(),
            categories,
            "{axis}: one target mark per category"
        );
    }
    let composition = chart(&dom, "composition").expect("composition chart");
    assert_eq!(
        composition.matches("<rect").count(),
        {
            // One segment per non-empty (dataset, real/fake/unknown/mask/unreadable).
            let inv = common::read_jsonl(&out.join("inventory.jsonl"));
            let mut segs = std::collections::BTreeSet::new();
            for l in &inv {
                let seg = if !l["error"].is_null() {
                    "unreadable".into()
                } else if l["kind"] == "mask" {
                    "mask".into()
                } else {
                    l["label"].as_str().unwrap().to_string()
                };
                segs.insert((l["dataset"].as_str().unwrap().to_string(), seg));
            }
            segs.len()
        },
        "composition segments"
    );
    for h in ["duration", "brightness", "blur", "motion"] {
        let svg =
            chart(&dom, &format!("hist-{h}")).unwrap_or_else(|| panic!("histogram {h} missing"));
        let heights: Vec<f64> = svg
            .split("class=\"bar input\"")
            .skip(1)
            .filter_map(|s| {
                let at = s.find("height=\"")? + 8;
                s[at..].split('"').next()?.parse().ok()
            })
            .collect();
        assert!(
            heights.iter().any(|&h| h > 0.0),
            "histogram {h} has no non-empty bar"
        );
    }

    // The largest duplicate cluster shows one thumbnail per member (up to
    // the cap), decoded by the browser as JPEG data URIs.
    let dedup = read_json(&out.join("dedup_report.json"));
    let largest = dedup["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["members"].as_array().unwrap().len())
        .max()
        .expect("the demo corpus has planted duplicates");
    let at = dom.find("data-cluster=").expect("cluster cards");
    let card = &dom[at..at + dom[at..].find("class=\"tiles\"").unwrap()];
    assert!(card.contains("members"), "{card}");
    let first_cluster = &dom[at..];
    let first_cluster = &first_cluster[..first_cluster[1..]
        .find("data-cluster=")
        .map_or(first_cluster.len(), |i| i + 1)];
    assert_eq!(
        first_cluster
            .matches("src=\"data:image/jpeg;base64,")
            .count(),
        largest
            .min(engine::html::TOP_CLUSTERS)
            .min(engine::html::MEMBERS_PER_CLUSTER),
        "thumbnails of the largest cluster"
    );
    assert!(
        first_cluster.contains("class=\"tile kept\""),
        "kept member not marked"
    );

    // The fake method table names FaceForensics++'s methods.
    for m in ["Deepfakes", "FaceSwap"] {
        assert!(
            dom.contains(&format!("<td>{m}</td>")),
            "fake method {m} missing"
        );
    }
    // Concerns name the broken files.
    let report = read_json(&out.join("report.json"));
    for c in report["quality_concerns"]
        .as_array()
        .unwrap()
        .iter()
        .take(3)
    {
        let path = c["path"].as_str().unwrap();
        let escaped = path
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        assert!(dom.contains(&escaped), "concern {path} not named");
    }

    // The rendered pixels: the screenshot holds both bar colours in quantity.
    let shot = work.path().join("report.png");
    let o = run_chromium(
        &page,
        &[
            format!("--window-size={SHOT_W},{SHOT_H}"),
            format!("--screenshot={}", shot.display()),
        ],
        &work.path().join("p2"),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "chromium --screenshot failed: {stderr}");
    assert!(load_errors(&stderr).is_empty(), "{stderr}");
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (SHOT_W, SHOT_H));
    let channels = info.color_type.samples();
    let px = &buf[..info.buffer_size()];
    let input = pixels_near(px, channels, INPUT_RGB);
    let selected = pixels_near(px, channels, SELECTED_RGB);
    assert!(input > 2000, "few input-bar pixels on screen: {input}");
    assert!(
        selected > 2000,
        "few selected-bar pixels on screen: {selected}"
    );
    if let Some(dir) = std::env::var_os("ENGINE_REPORT_SCREENSHOT_DIR") {
        std::fs::copy(&shot, Path::new(&dir).join("report_demo.png")).unwrap();
    }
}

// ------------------------------------------------- 10k synthetic catalog --

/// A small deterministic generator (xorshift64*), so the catalog is the same
/// on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn unit_vector(rng: &mut Rng) -> Vec<f32> {
    let v: Vec<f32> = (0..engine::stats::EMBEDDING_DIM)
        .map(|_| rng.unit() as f32 - 0.5)
        .collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / n).collect()
}

/// A textured 160x90 thumbnail (noise compresses badly: the worst case for
/// the report's size).
fn thumbnail(rng: &mut Rng) -> Option<String> {
    let (w, h) = (engine::frames::THUMB_WIDTH, 90);
    let base = [
        rng.below(200) as u8,
        rng.below(200) as u8,
        rng.below(200) as u8,
    ];
    let rgb: Vec<u8> = (0..w * h * 3)
        .map(|i| base[(i % 3) as usize].wrapping_add(rng.below(56) as u8))
        .collect();
    let frame = SampledFrame {
        t_s: 0.0,
        width: w,
        height: h,
        luma: Vec::new(),
        next_luma: None,
        next_gap_s: None,
        thumb_width: w,
        thumb_height: h,
        rgb,
        face: None,
    };
    engine::frames::thumbnail_jpeg_base64(&[frame])
}

/// 10,000 videos in 4 datasets: 6k real, 3k fake of 5 methods, 1k unlabelled,
/// 500 unreadable; 12 scene categories from metadata (the most an axis
/// takes), skewed; 60 planted
/// duplicate clusters of 6 copies each; every video with a thumbnail.
fn synthetic_catalog() -> (Vec<DatasetInfo>, Vec<VideoRecord>, Vec<Concern>) {
    const N: usize = 10_000;
    const CLUSTERS: usize = 60;
    const COPIES: usize = 6;
    const SCENES: usize = engine::policy::MAX_METADATA_CATEGORIES;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let datasets = ["FaceForensics++", "DFDC", "Celeb-DF-v2", "home_grown"];
    let methods = [
        "Deepfakes",
        "FaceSwap",
        "Face2Face",
        "NeuralTextures",
        "wav2lip",
    ];
    let cluster_bases: Vec<Vec<f32>> = (0..CLUSTERS).map(|_| unit_vector(&mut rng)).collect();
    let mut records = Vec::with_capacity(N);
    let mut concerns = Vec::new();
    let mut reals = 0;
    for i in 0..N {
        let ds = datasets[i % datasets.len()];
        let label = match i % 10 {
            0..=5 => Label::Real,
            6..=8 => Label::Fake,
            _ => Label::Unknown,
        };
        let rel = format!("videos/part_{}/clip_{i:05}.mp4", i / 1000);
        let path = format!("X:/{ds}/{rel}");
        let mut attrs = BTreeMap::new();
        // Zipf-like scenes: scene_00 dominates.
        let scene = (rng.unit().powi(3) * SCENES as f64) as usize;
        attrs.insert("scene".to_string(), format!("scene_{scene:02}"));
        let labels = LabelInfo {
            label,
            label_source: "sidecar".into(),
            method: (label == Label::Fake).then(|| methods[i % methods.len()].to_string()),
            identity: Some(format!("id{}", i % 1500)),
            attrs,
            ..LabelInfo::default()
        };
        let unreadable = i % 20 == 19;
        let (w, h) = [(320, 240), (640, 360), (1280, 720), (1920, 1080)][rng.below(4) as usize];
        let duration_s = 3.0 + rng.unit() * 120.0;
        let probe = (!unreadable).then(|| ProbeInfo {
            container: "mp4".into(),
            format_name: "mov,mp4,m4a,3gp,3g2,mj2".into(),
            codec: "h264".into(),
            profile: Some("High".into()),
            pix_fmt: Some("yuv420p".into()),
            width: w,
            height: h,
            rotation_deg: 0,
            fps: 25.0,
            duration_s,
            bitrate_bps: 300_000 + rng.below(4_000_000),
            frame_count: (duration_s * 25.0) as u64,
            frame_count_estimated: false,
            has_audio: true,
            audio_codec: Some("aac".into()),
            tags: Default::default(),
        });
        // Planted copies: the first CLUSTERS * COPIES real videos, COPIES per cluster.
        let cluster =
            (label == Label::Real && reals < CLUSTERS * COPIES).then_some(reals % CLUSTERS);
        reals += usize::from(label == Label::Real);
        let frames = probe.as_ref().map(|_| {
            // Copies carry three matching frames; the other videos one frame
            // each (enough for every statistic; fewer index points keep the
            // test quick).
            let times: &[f64] = if cluster.is_some() {
                &[0.5, 1.5, 2.5]
            } else {
                &[1.5]
            };
            let embeddings: Vec<Vec<f32>> = times
                .iter()
                .enumerate()
                .map(|(k, _)| match cluster {
                    Some(c) => {
                        let mut v = cluster_bases[c].clone();
                        v.rotate_left(k);
                        v
                    }
                    None => unit_vector(&mut rng),
                })
                .collect();
            let stats: Vec<FrameStats> = times
                .iter()
                .zip(&embeddings)
                .map(|(_, e)| {
                    FrameStats {
                        width: w,
                        height: h,
                        mean_luma: 20.0 + rng.unit() * 200.0,
                        std_luma: 20.0 + rng.unit() * 60.0,
                        p01: 5.0,
                        p99: 240.0,
                        clipped_black_frac: 0.01,
                        clipped_white_frac: 0.01,
                        laplacian_var: 10.0 + rng.unit() * 3000.0,
                        motion: Some(rng.unit() * 15.0),
                        motion_gap_s: None,
                        motion_per_s: None,
                        colorfulness: rng.unit() * 60.0,
                        blockiness: 1.0 + rng.unit(),
                        embedding: e.clone(),
                        neutral_rgb: None,
                        neutral_share: 0.0,
                        sky_share: 0.0,
                        si_cells: Vec::new(),
                        shift_px: None,
                        noise_sigma: None,
                    }
                    .with_motion_gap(Some(0.04))
                })
                .collect();
            FrameSummary {
                quality: engine::quality::aggregate(&stats).unwrap(),
                frame_times_s: times.to_vec(),
                embeddings,
                faces: None,
                thumbnail_jpeg_b64: thumbnail(&mut rng),
                scene: None,
            }
        });
        let error = unreadable.then(|| "truncated: moov atom not found".to_string());
        if let Some(e) = &error {
            concerns.push(Concern {
                dataset: ds.into(),
                path: path.clone(),
                kind: ConcernKind::UnreadableVideo,
                reason: e.clone(),
            });
        }
        records.push(VideoRecord {
            dataset: ds.into(),
            path,
            rel_path: rel.clone(),
            fs_path: PathBuf::from(format!("/nonexistent/{ds}/{rel}")),
            key: format!("/nonexistent/{ds}/{rel}"),
            size_bytes: 1_000_000 + i as u64,
            mtime_ns: 0,
            is_regular: true,
            labels,
            original_path: None,
            probe,
            frames,
            keyframes: None,
            cluster_id: None,
            session_id: None,
            duplicate_of: None,
            error,
        });
    }
    let infos = datasets
        .iter()
        .map(|d| DatasetInfo {
            name: d.to_string(),
            root: format!("X:/{d}"),
            metadata_files: vec![format!("X:/{d}/metadata.json")],
            used_metadata: vec![format!("X:/{d}/metadata.json")],
            layouts: vec!["sidecar JSON".into()],
            other_files: 0,
        })
        .collect();
    (infos, records, concerns)
}

#[test]
fn report_of_a_10k_video_catalog_stays_under_5_mb() {
    let (datasets, mut records, concerns) = synthetic_catalog();
    let outputs = engine::analyze::conclude(
        &datasets,
        &mut records,
        &concerns,
        &SampleOptions {
            budget: None,
            clips_per_video_max: engine::policy::DEFAULT_CLIPS_PER_VIDEO_MAX,
            seed: 0,
            include_official_test: false,
            allow_faceless: false,
        },
        "face pass off (synthetic catalog)",
        false,
    )
    .unwrap();
    let html = &outputs.html;
    assert!(
        html.len() < MAX_REPORT_BYTES_10K,
        "report.html of 10k videos is {} bytes",
        html.len()
    );
    // It is the full report, not an empty one: planted clusters found and
    // shown (capped), concerns listed (capped), every axis charted.
    let clusters = outputs.dedup.clusters.len();
    assert!(clusters >= 60, "planted clusters found: {clusters}");
    assert_eq!(
        html.matches("data-cluster=").count(),
        engine::html::TOP_CLUSTERS
    );
    assert_eq!(
        html.matches("src=\"data:image/jpeg;base64,").count(),
        engine::html::TOP_CLUSTERS * engine::html::MEMBERS_PER_CLUSTER.min(6)
    );
    assert!(
        html.contains("more in report.json"),
        "concern list not capped"
    );
    let axes = &outputs.selection.balance.axes;
    for axis in axes.keys() {
        assert!(
            html.contains(&format!("data-chart=\"axis-{axis}\"")),
            "{axis}"
        );
    }
    assert_eq!(
        axes["scene"].original.counts.len(),
        engine::policy::MAX_METADATA_CATEGORIES
    );
    eprintln!(
        "report.html of 10k videos: {} bytes, {} clusters",
        html.len(),
        clusters
    );
}
