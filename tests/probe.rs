//! The in-process probe on real files made with the ffmpeg CLI: facts as
//! ffprobe reports them, and each kind of damage named.

mod common;

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use common::make_video;
use engine::probe::{probe, ProbeError};

fn probe_file(path: &Path) -> Result<engine::probe::ProbeInfo, ProbeError> {
    probe(path, std::fs::metadata(path).unwrap().len())
}

fn cut(src: &Path, dst: &Path, keep: f64) {
    let bytes = std::fs::read(src).unwrap();
    std::fs::write(dst, &bytes[..(bytes.len() as f64 * keep) as usize]).unwrap();
}

#[test]
fn reads_codec_geometry_rate_audio_and_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.mp4");
    let p = dir.path().join("a.mp4");
    let status = std::process::Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x240:r=30",
        ])
        .args(["-f", "lavfi", "-i", "sine=f=440:r=48000", "-t", "3"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"])
        .arg(&plain)
        .status()
        .unwrap();
    assert!(status.success());
    // FFmpeg 5.1 writes a display matrix only when stream-copying with the tag.
    let status = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-i"])
        .arg(&plain)
        .args(["-c", "copy", "-metadata:s:v:0", "rotate=90"])
        .arg(&p)
        .status()
        .unwrap();
    assert!(status.success());
    let info = probe_file(&p).unwrap();
    assert_eq!(
        (info.codec.as_str(), info.width, info.height),
        ("h264", 320, 240)
    );
    assert_eq!(info.container, "mp4");
    assert!((info.fps - 30.0).abs() < 1e-6, "{}", info.fps);
    assert!((info.duration_s - 3.0).abs() < 0.1, "{}", info.duration_s);
    assert!(info.has_audio);
    assert_eq!(info.audio_codec.as_deref(), Some("aac"));
    assert_eq!(info.frame_count, 90);
    assert!(info.bitrate_bps > 0);
    assert_eq!(info.pix_fmt.as_deref(), Some("yuv420p"));
    assert_eq!(
        info.rotation_deg, 90,
        "ffprobe shows rotation=90 for this file"
    );
    assert_eq!(probe_file(&plain).unwrap().rotation_deg, 0);
}

#[test]
fn truncation_is_found_in_indexed_and_unindexed_containers() {
    let dir = tempfile::tempdir().unwrap();
    // MP4 with its index at the front: opens, but the samples are missing.
    let fast = dir.path().join("fast.mp4");
    make_video(
        &fast,
        "testsrc2=s=320x240:r=25",
        4.0,
        &[
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-movflags",
            "+faststart",
        ],
    );
    let cut_fast = dir.path().join("cut_fast.mp4");
    cut(&fast, &cut_fast, 0.5);
    assert!(
        matches!(probe_file(&cut_fast), Err(ProbeError::Truncated(_))),
        "{:?}",
        probe_file(&cut_fast)
    );
    // MP4 with its index at the end: the index itself is gone.
    let plain = dir.path().join("plain.mp4");
    make_video(&plain, "testsrc2=s=320x240:r=25", 4.0, &[]);
    let cut_plain = dir.path().join("cut_plain.mp4");
    cut(&plain, &cut_plain, 0.5);
    let err = probe_file(&cut_plain).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
    // Matroska: header says 4 s, data stops early.
    let mkv = dir.path().join("a.mkv");
    make_video(
        &mkv,
        "mandelbrot=s=320x240:r=25",
        4.0,
        &["-c:v", "mpeg4", "-q:v", "3"],
    );
    let cut_mkv = dir.path().join("cut.mkv");
    cut(&mkv, &cut_mkv, 0.3);
    assert!(
        matches!(probe_file(&cut_mkv), Err(ProbeError::Truncated(_))),
        "{:?}",
        probe_file(&cut_mkv)
    );
    // The whole files are fine.
    for p in [&fast, &plain, &mkv] {
        probe_file(p).unwrap();
    }
}

#[test]
fn empty_text_audio_only_and_odd_names() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    assert_eq!(probe_file(&empty).unwrap_err(), ProbeError::Empty);
    let text = dir.path().join("text.mp4");
    std::fs::write(&text, b"hello, not a video\n").unwrap();
    assert!(matches!(probe_file(&text), Err(ProbeError::NotVideo(_))));
    let audio = dir.path().join("audio.mp4");
    make_video(&audio, "sine=f=440:r=48000", 1.0, &["-c:a", "aac"]);
    let err = probe_file(&audio).unwrap_err();
    assert!(
        matches!(err, ProbeError::NoVideoStream(ref s) if s.contains("audio")),
        "{err}"
    );
    // A file name that is not valid UTF-8 is still opened by its real bytes.
    let odd = dir
        .path()
        .join(std::ffi::OsStr::from_bytes(b"bad\xffname \xc3\xa9.mkv"));
    make_video(&odd, "testsrc2=s=160x120:r=25", 1.0, &["-c:v", "mpeg4"]);
    let info = probe_file(&odd).unwrap();
    assert_eq!(
        (info.codec.as_str(), info.container.as_str()),
        ("mpeg4", "mkv")
    );
}
