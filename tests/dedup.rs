//! Near-duplicate removal on real encoded video: every transformed copy of a
//! source lands in the source's cluster; distinct look-alikes never merge.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{ffmpeg, read_json, read_jsonl};

fn transform(src: &Path, out: &Path, args: &[&str]) {
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let mut all = vec!["-i", src.to_str().unwrap()];
    all.extend_from_slice(args);
    all.push(out.to_str().unwrap());
    ffmpeg(&all);
}

/// A studio: fixed background boxes, one moving "person" (a box) whose path
/// is set by the overlay expressions `x_expr`, `y_expr` (functions of t).
fn studio(out: &Path, x_expr: &str, y_expr: &str, shade: &str) {
    let graph = format!(
        "color=c=0x6a7a5a:s=640x360:r=25,drawbox=x=20:y=30:w=120:h=200:color=0x806040:t=fill,\
         drawbox=x=420:y=60:w=160:h=90:color=0x304050:t=fill[bg];\
         color=c={shade}:s=90x130:r=25[p];[bg][p]overlay=x='{x_expr}':y='{y_expr}'"
    );
    common::make_x264(out, &graph, 12.0, "noise=alls=4:allf=t:all_seed=5");
}

#[test]
fn copies_cluster_with_their_source_and_look_alikes_stay_apart() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    let src = a.join("source.mp4");
    // Footage that changes over time (a zoom), as camera footage does: a
    // nearly static test card would make every frame look like every other.
    common::make_x264(
        &src,
        "mandelbrot=s=640x360:r=25",
        12.0,
        "noise=alls=5:allf=t:all_seed=2",
    );
    let copies = [
        (
            "b/reencoded_crf40.mp4",
            vec!["-c:v", "libx264", "-crf", "40", "-preset", "ultrafast"],
        ),
        (
            "b/downscaled_240p.mp4",
            vec![
                "-vf",
                "scale=426:240",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
            ],
        ),
        (
            "b/trim_first_half.mp4",
            vec!["-t", "6", "-c:v", "libx264", "-preset", "ultrafast"],
        ),
        (
            "a/trim_second_half.mp4",
            vec!["-ss", "6", "-c:v", "libx264", "-preset", "ultrafast"],
        ),
        ("b/other_container.mkv", vec!["-c:v", "mpeg4", "-q:v", "5"]),
    ];
    for (rel, args) in &copies {
        transform(&src, &dir.path().join(rel), args);
    }
    std::fs::copy(&src, b.join("renamed_byte_copy.mp4")).unwrap();

    // Look-alikes: one studio, different people moving differently; one
    // palette, different content.
    studio(
        &a.join("studio_take1.mp4"),
        "200+150*sin(t)",
        "150",
        "0xd0a080",
    );
    studio(
        &b.join("studio_take2.mp4"),
        "450-20*t",
        "120+40*cos(2*t)",
        "0xc09070",
    );
    studio(&a.join("studio_take3.mp4"), "100+30*t", "200", "0xe0b090");
    common::make_x264(
        &a.join("palette_1.mp4"),
        "cellauto=rule=30:seed=1:s=640x360:r=25",
        12.0,
        "null",
    );
    common::make_x264(
        &b.join("palette_2.mp4"),
        "cellauto=rule=30:seed=2:s=640x360:r=25",
        12.0,
        "null",
    );
    common::make_x264(
        &b.join("palette_3.mp4"),
        "cellauto=rule=110:seed=3:s=640x360:r=25",
        12.0,
        "null",
    );
    common::make_x264(
        &a.join("other_testcard.mp4"),
        "testsrc=s=640x360:r=25",
        12.0,
        "null",
    );
    common::make_x264(
        &b.join("life.mp4"),
        "life=s=640x360:r=25:seed=7:ratio=0.2",
        12.0,
        "null",
    );

    let out = dir.path().join("out");
    let o = common::engine(&[
        "analyze",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let inventory = read_jsonl(&out.join("inventory.jsonl"));
    let cluster_of: BTreeMap<String, Option<u64>> = inventory
        .iter()
        .map(|l| {
            let p = l["path"].as_str().unwrap();
            let rel = Path::new(p)
                .strip_prefix(dir.path())
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, l["cluster_id"].as_u64())
        })
        .collect();
    let source_cluster = cluster_of["a/source.mp4"].expect("the source is in a cluster");
    for (rel, _) in &copies {
        assert_eq!(
            cluster_of[*rel],
            Some(source_cluster),
            "{rel} is not in the source's cluster"
        );
    }
    assert_eq!(cluster_of["b/renamed_byte_copy.mp4"], Some(source_cluster));
    for rel in [
        "a/studio_take1.mp4",
        "b/studio_take2.mp4",
        "a/studio_take3.mp4",
        "a/palette_1.mp4",
        "b/palette_2.mp4",
        "b/palette_3.mp4",
        "a/other_testcard.mp4",
        "b/life.mp4",
    ] {
        assert_eq!(
            cluster_of[rel], None,
            "{rel} was merged with something: {cluster_of:#?}"
        );
    }

    let report = read_json(&out.join("dedup_report.json"));
    let clusters = report["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 1, "{clusters:#?}");
    let c = &clusters[0];
    assert_eq!(c["members"].as_array().unwrap().len(), copies.len() + 2);
    // The kept copy is the best one: full resolution, highest bitrate.
    let kept = c["kept"].as_str().unwrap();
    assert!(
        kept.ends_with("source.mp4") || kept.ends_with("renamed_byte_copy.mp4"),
        "{kept}"
    );
    assert_eq!(report["summary"]["cross_dataset_clusters"], 1);
    assert_eq!(report["summary"]["videos_not_kept"], copies.len() + 1);
    // Every member but the kept one names it.
    for l in &inventory {
        if l["cluster_id"].as_u64() == Some(source_cluster) && l["path"] != kept {
            assert_eq!(l["duplicate_of"], kept);
        }
    }
}

#[test]
fn demo_planted_duplicates_and_fake_original_links() {
    let demo = common::demo_corpus(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo"));
    let out = tempfile::tempdir().unwrap();
    let o = common::analyze_demo(&demo, out.path(), &[]);
    assert_eq!(o.status.code(), Some(0));
    let truth = read_json(&demo.join("expected.json"));
    let inventory = read_jsonl(&out.path().join("inventory.jsonl"));
    let cluster = |rel: &str| {
        let p = demo.join(rel).display().to_string();
        inventory.iter().find(|l| l["path"] == p.as_str()).unwrap()["cluster_id"].as_u64()
    };
    for pair in truth["duplicate_pairs"].as_array().unwrap() {
        let (x, y) = (pair["a"].as_str().unwrap(), pair["b"].as_str().unwrap());
        assert!(
            cluster(x).is_some() && cluster(x) == cluster(y),
            "{x} and {y} not clustered"
        );
    }
    let report = read_json(&out.path().join("dedup_report.json"));
    // Only the planted copies are merged.
    assert_eq!(report["summary"]["videos_in_clusters"], 3);
    // Content-found fake→original links never contradict the metadata.
    let links = report["fake_original_links"].as_array().unwrap();
    assert!(!links.is_empty());
    for l in links {
        assert_eq!(l["metadata_check"], "agrees", "{l}");
    }
}
