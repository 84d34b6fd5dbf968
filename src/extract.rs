//! `engine extract PLAN --into DIR`: cut every clip of a `clip_plan.jsonl`
//! from its (read-only) source with FFmpeg's libraries, re-encoded with one
//! fixed profile ([`PROFILE`]), and write `DIR/manifest.jsonl` in the format
//! `engine promote` reads (with each clip's sha256).
//!
//! Resumable: a clip is encoded to `DIR/clips/.partial/`, synced, renamed
//! into `DIR/clips/`, hashed and appended to the manifest; a rerun skips
//! every clip whose file is there (hashing it again when the manifest does
//! not list it yet), so a killed extract finishes without redoing finished
//! clips. At the end the manifest is rewritten in plan order. A clip whose
//! source vanished, cannot be decoded or ends early is reported and skipped,
//! never fatal.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ffmpeg::{
    codec, encoder, filter, format, frame, media, software::scaling, Dictionary, Packet, Rational,
};
use ffmpeg_next as ffmpeg;
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::manifest::ManifestEntry;
use crate::plan::PlannedClip;

/// The fixed encoding of every extracted clip, written into each manifest
/// entry's `encoding`. CRF 18 is visually lossless for H.264 (x264's own
/// guidance), so the detector sees the source's artefacts, not ours; the
/// source resolution and frame rate are kept.
pub const PROFILE: &str = "mp4; video H.264 High (libx264) CRF 18 preset medium yuv420p at the source resolution and frame rate, display rotation kept; audio AAC 128 kb/s at the source rate when the source has audio";

/// x264 options of [`PROFILE`]; one thread per clip so the bytes do not
/// depend on the machine (clips are encoded in parallel instead).
const X264_OPTS: &[(&str, &str)] = &[
    ("preset", "medium"),
    ("crf", "18"),
    ("profile", "high"),
    ("threads", "1"),
];

/// AAC bit rate of [`PROFILE`].
const AAC_BITRATE_BPS: usize = 128_000;

/// A clip must hold at least this share of its planned frames; fewer means
/// the source ends early (truncated) or cannot be decoded there.
const MIN_FRAME_COVERAGE: f64 = 0.9;

/// Name of the manifest inside the store directory.
pub const MANIFEST_FILE: &str = "manifest.jsonl";

/// One clip that could not be cut.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClipFailure {
    /// The clip.
    pub clip_id: String,
    /// Its source.
    pub source_path: String,
    /// Why, in words.
    pub reason: String,
}

/// What an extract did.
#[derive(Debug, Clone, Default)]
pub struct ExtractSummary {
    /// Clips in the plan.
    pub planned: usize,
    /// Clips already cut by an earlier run.
    pub already_done: usize,
    /// Clips cut now.
    pub extracted_now: usize,
    /// Clips that could not be cut.
    pub failed: Vec<ClipFailure>,
}

/// Where clip `clip_id` lives under `into`: its id made file-safe, plus a
/// short hash of the id so two ids never share a file.
pub fn clip_file(into: &Path, clip_id: &str) -> PathBuf {
    let safe: String = clip_id
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' => c,
            '/' => '~',
            _ => '_',
        })
        .collect();
    let tag = &format!("{:x}", Sha256::digest(clip_id.as_bytes()))[..8];
    into.join("clips").join(format!("{safe}-{tag}.mp4"))
}

/// Read a clip plan (JSONL); a malformed line is an error naming it.
pub fn read_plan(path: &Path) -> Result<Vec<PlannedClip>> {
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in BufReader::new(f).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let clip: PlannedClip = serde_json::from_str(&line)
            .with_context(|| format!("{} line {}: not a planned clip", path.display(), n + 1))?;
        out.push(clip);
    }
    Ok(out)
}

/// The manifest entries already in `DIR/manifest.jsonl`, by clip id. A torn
/// last line (a killed run) is dropped.
fn read_manifest(path: &Path) -> Result<BTreeMap<String, ManifestEntry>> {
    let mut out = BTreeMap::new();
    let Ok(f) = File::open(path) else {
        return Ok(out);
    };
    for line in BufReader::new(f).lines() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        if let Ok(e) = ManifestEntry::from_json_line(&line) {
            out.insert(e.clip_id.clone(), e);
        }
    }
    Ok(out)
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("{:x}", h.finalize()))
}

fn entry_for(clip: &PlannedClip, sha256: String) -> ManifestEntry {
    ManifestEntry {
        clip_id: clip.clip_id.clone(),
        source_path: clip.source_path.clone(),
        start_s: clip.start_s,
        end_s: clip.end_s,
        label: "real".into(),
        method: None,
        source_ids: clip.identity.iter().cloned().collect(),
        split: clip.split.clone(),
        axes: clip.axes.clone(),
        sha256,
        encoding: Some(PROFILE.to_string()),
    }
}

/// Cut every clip of `plan_path` into `into`, `jobs` at a time, each by a
/// process `cutter cut-clip SOURCE START_S END_S DEST` (the `engine` binary,
/// which runs [`cut`]).
pub fn extract(
    plan_path: &Path,
    into: &Path,
    cutter: &Path,
    jobs: usize,
    quiet: bool,
) -> Result<ExtractSummary> {
    crate::probe::init();
    let plan = read_plan(plan_path)?;
    fs::create_dir_all(into.join("clips").join(".partial"))
        .with_context(|| format!("cannot create {}", into.display()))?;
    let manifest_path = into.join(MANIFEST_FILE);
    let mut known = read_manifest(&manifest_path)?;
    let mut summary = ExtractSummary {
        planned: plan.len(),
        ..Default::default()
    };
    // Clips whose file is there are done; hash those the manifest lacks.
    let mut todo: Vec<&PlannedClip> = Vec::new();
    for clip in &plan {
        let file = clip_file(into, &clip.clip_id);
        if file.is_file() {
            summary.already_done += 1;
            let listed = known.get(&clip.clip_id).is_some_and(|e| {
                e.source_path == clip.source_path && e.split == clip.split && e.encoding.is_some()
            });
            if !listed {
                let sha = sha256_file(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                known.insert(clip.clip_id.clone(), entry_for(clip, sha));
            }
        } else {
            todo.push(clip);
        }
    }
    let journal = std::sync::Mutex::new(
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&manifest_path)
            .with_context(|| format!("cannot open {}", manifest_path.display()))?,
    );
    let bar = crate::analyze::progress(quiet, Some(todo.len() as u64), "extracting");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .context("cannot start worker threads")?;
    let results: Vec<(usize, std::result::Result<ManifestEntry, String>)> = pool.install(|| {
        todo.par_iter()
            .enumerate()
            .map(|(k, clip)| {
                let result = cut_and_record(clip, into, cutter, &journal);
                bar.inc(1);
                (k, result)
            })
            .collect()
    });
    bar.finish_and_clear();
    for (k, result) in results {
        let clip = todo[k];
        match result {
            Ok(entry) => {
                summary.extracted_now += 1;
                known.insert(clip.clip_id.clone(), entry);
            }
            Err(reason) => summary.failed.push(ClipFailure {
                clip_id: clip.clip_id.clone(),
                source_path: clip.source_path.clone(),
                reason,
            }),
        }
    }
    summary.failed.sort_by(|a, b| a.clip_id.cmp(&b.clip_id));
    // The manifest in plan order, for the clips that exist.
    let mut text = String::new();
    for clip in &plan {
        if let Some(e) = known.get(&clip.clip_id) {
            if clip_file(into, &clip.clip_id).is_file() {
                text.push_str(&e.to_json_line());
            }
        }
    }
    crate::report::write_atomic(&manifest_path, text.as_bytes())?;
    crate::report::write_atomic(
        &into.join("extract_failures.json"),
        &crate::report::pretty(&summary.failed)?,
    )?;
    let _ = fs::remove_dir(into.join("clips").join(".partial"));
    Ok(summary)
}

/// Cut one clip into its file and append its manifest line.
fn cut_and_record(
    clip: &PlannedClip,
    into: &Path,
    cutter: &Path,
    journal: &std::sync::Mutex<File>,
) -> std::result::Result<ManifestEntry, String> {
    let file = clip_file(into, &clip.clip_id);
    let partial = into
        .join("clips")
        .join(".partial")
        .join(file.file_name().expect("a file name"));
    // Each cut in its own process (`cutter cut-clip ...`): libx264 encodes
    // the same frames to other bytes when another encode ran before it in
    // the process (measured here: the second of two identical cuts in one
    // process differs from the first), so a clip's bytes would depend on
    // which clips a run happened to cut before it. A process per clip makes
    // them depend on the clip alone, and a source that crashes the decoder
    // costs only its clip.
    let result = std::process::Command::new(cutter)
        .arg("cut-clip")
        .arg(&clip.source_path)
        .arg(clip.start_s.to_string())
        .arg(clip.end_s.to_string())
        .arg(&partial)
        .output()
        .map_err(|e| format!("cannot start {}: {e}", cutter.display()))
        .and_then(|o| {
            if o.status.success() {
                Ok(())
            } else {
                let err = String::from_utf8_lossy(&o.stderr);
                let err = err.trim().trim_start_matches("engine: error: ");
                Err(if err.is_empty() {
                    format!("the cutter failed ({})", o.status)
                } else {
                    err.to_string()
                })
            }
        });
    if let Err(e) = result {
        let _ = fs::remove_file(&partial);
        return Err(e);
    }
    File::open(&partial)
        .and_then(|f| f.sync_all())
        .and_then(|_| fs::rename(&partial, &file))
        .map_err(|e| format!("cannot store {}: {e}", file.display()))?;
    let sha = sha256_file(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let entry = entry_for(clip, sha);
    let mut j = journal.lock().expect("journal lock");
    j.write_all(entry.to_json_line().as_bytes())
        .and_then(|_| j.sync_data())
        .map_err(|e| format!("cannot append to the manifest: {e}"))?;
    Ok(entry)
}

/// An output stream being encoded.
struct Encoding<E> {
    encoder: E,
    out_index: usize,
    time_base: Rational,
}

fn write_packets(
    encoder: &mut codec::encoder::Encoder,
    out: &mut format::context::Output,
    out_index: usize,
    enc_tb: Rational,
) -> std::result::Result<(), String> {
    let out_tb = out.stream(out_index).expect("stream added").time_base();
    let mut packet = Packet::empty();
    while encoder.receive_packet(&mut packet).is_ok() {
        packet.set_stream(out_index);
        packet.rescale_ts(enc_tb, out_tb);
        packet
            .write_interleaved(out)
            .map_err(|e| format!("cannot write the clip: {e}"))?;
    }
    Ok(())
}

/// Cut `[start_s, end_s)` of `source` (times from the video stream's start)
/// into `dest` with [`PROFILE`].
pub fn cut(
    source: &Path,
    start_s: f64,
    end_s: f64,
    dest: &Path,
) -> std::result::Result<(), String> {
    if !source.is_file() {
        return Err(format!("source {} is missing", source.display()));
    }
    let mut input =
        crate::probe::open_input(source).map_err(|e| format!("cannot open the source: {e}"))?;
    let vst = input
        .streams()
        .best(media::Type::Video)
        .ok_or("the source has no video stream")?;
    let v_index = vst.index();
    let v_tb = vst.time_base();
    let v_start = match vst.start_time() {
        ffmpeg::ffi::AV_NOPTS_VALUE => 0,
        s => s,
    };
    let fps = {
        let r = vst.avg_frame_rate();
        if r.numerator() > 0 && r.denominator() > 0 {
            r
        } else {
            vst.rate()
        }
    };
    let display_matrix: Option<Vec<u8>> = vst
        .side_data()
        .find(|s| s.kind() == codec::packet::side_data::Type::DisplayMatrix)
        .map(|s| s.data().to_vec());
    let mut v_dec = codec::context::Context::from_parameters(vst.parameters())
        .and_then(|c| c.decoder().video())
        .map_err(|e| format!("cannot decode the video: {e}"))?;
    let ast = input
        .streams()
        .best(media::Type::Audio)
        .map(|s| (s.index(), s.time_base(), s.parameters()));

    let mut out =
        format::output(&dest).map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
    let global_header = out.format().flags().contains(format::Flags::GLOBAL_HEADER);

    // Video encoder.
    let x264 = encoder::find_by_name("libx264").ok_or("FFmpeg has no libx264 encoder")?;
    let mut ost = out.add_stream(x264).map_err(|e| e.to_string())?;
    let v_out_index = ost.index();
    let mut venc = codec::context::Context::new_with_codec(x264)
        .encoder()
        .video()
        .map_err(|e| e.to_string())?;
    venc.set_width(v_dec.width());
    venc.set_height(v_dec.height());
    venc.set_aspect_ratio(v_dec.aspect_ratio());
    venc.set_format(format::Pixel::YUV420P);
    venc.set_frame_rate(Some(fps));
    venc.set_time_base(v_tb);
    if global_header {
        venc.set_flags(codec::Flags::GLOBAL_HEADER);
    }
    let mut opts = Dictionary::new();
    for (k, v) in X264_OPTS {
        opts.set(k, v);
    }
    let venc = venc
        .open_with(opts)
        .map_err(|e| format!("cannot open libx264: {e}"))?;
    ost.set_parameters(&venc);
    ost.set_time_base(v_tb);
    if let Some(m) = &display_matrix {
        // SAFETY: the stream belongs to `out`, which is alive and not yet
        // written; av_stream_new_side_data returns a buffer of exactly
        // `m.len()` bytes (or null, checked) owned by the stream.
        unsafe {
            let p = ffmpeg::ffi::av_stream_new_side_data(
                ost.as_mut_ptr(),
                ffmpeg::ffi::AVPacketSideDataType::AV_PKT_DATA_DISPLAYMATRIX,
                m.len(),
            );
            if !p.is_null() {
                std::ptr::copy_nonoverlapping(m.as_ptr(), p, m.len());
            }
        }
    }
    let mut video = Encoding {
        encoder: venc,
        out_index: v_out_index,
        time_base: v_tb,
    };

    // Audio: decode, trim and resample through a filter graph, encode AAC.
    let mut audio = match &ast {
        None => None,
        Some((index, tb, params)) => {
            let a_dec = codec::context::Context::from_parameters(params.clone())
                .and_then(|c| c.decoder().audio());
            match a_dec {
                Err(_) => None, // undecodable audio: the clip keeps its video
                Ok(mut a_dec) => {
                    a_dec
                        .set_parameters(params.clone())
                        .map_err(|e| e.to_string())?;
                    Some(audio_encoding(
                        &mut out,
                        a_dec,
                        *index,
                        *tb,
                        v_start as f64 * f64::from(v_tb),
                        start_s,
                        end_s,
                        global_header,
                    )?)
                }
            }
        }
    };

    out.write_header()
        .map_err(|e| format!("cannot write the clip header: {e}"))?;

    // Seek to the keyframe at or before the start, then decode.
    let target = ((start_s + v_start as f64 * f64::from(v_tb))
        * f64::from(ffmpeg::ffi::AV_TIME_BASE)) as i64;
    if start_s > 0.0 && input.seek(target, ..target).is_err() {
        let _ = input.seek(0, ..);
    }
    let start_ts = v_start + (start_s / f64::from(v_tb)).round() as i64;
    let end_ts = v_start + (end_s / f64::from(v_tb)).round() as i64;
    let mut scaler: Option<(scaling::Context, (u32, u32, format::Pixel))> = None;
    let mut frames = 0usize;
    let mut last_pts: Option<i64> = None;
    let mut decoded = frame::Video::empty();
    let mut video_done = false;
    let mut feed_video = |dec: &mut codec::decoder::Video,
                          video: &mut Encoding<codec::encoder::Video>,
                          out: &mut format::context::Output,
                          frames: &mut usize,
                          last_pts: &mut Option<i64>,
                          done: &mut bool|
     -> std::result::Result<(), String> {
        while dec.receive_frame(&mut decoded).is_ok() {
            let Some(ts) = decoded.timestamp().or(decoded.pts()) else {
                continue;
            };
            if ts < start_ts {
                continue;
            }
            if ts >= end_ts {
                *done = true;
                continue;
            }
            if last_pts.is_some_and(|p| ts <= p) {
                continue;
            }
            *last_pts = Some(ts);
            let key = (decoded.width(), decoded.height(), decoded.format());
            let mut picture = if key.2 == format::Pixel::YUV420P {
                decoded.clone()
            } else {
                if scaler.as_ref().is_none_or(|s| s.1 != key) {
                    let ctx = scaling::Context::get(
                        key.2,
                        key.0,
                        key.1,
                        format::Pixel::YUV420P,
                        key.0,
                        key.1,
                        scaling::Flags::BILINEAR,
                    )
                    .map_err(|e| format!("cannot convert the pixels: {e}"))?;
                    scaler = Some((ctx, key));
                }
                let mut converted = frame::Video::empty();
                scaler
                    .as_mut()
                    .expect("set above")
                    .0
                    .run(&decoded, &mut converted)
                    .map_err(|e| format!("cannot convert the pixels: {e}"))?;
                converted
            };
            picture.set_pts(Some(ts - start_ts));
            picture.set_kind(ffmpeg::picture::Type::None);
            video
                .encoder
                .send_frame(&picture)
                .map_err(|e| format!("cannot encode: {e}"))?;
            *frames += 1;
            write_packets(&mut video.encoder, out, video.out_index, video.time_base)?;
        }
        Ok(())
    };
    let mut packet = Packet::empty();
    loop {
        let audio_done = audio.as_ref().is_none_or(|a| a.done);
        if video_done && audio_done {
            break;
        }
        match packet.read(&mut input) {
            Ok(()) => {}
            Err(ffmpeg::Error::InvalidData) => continue,
            Err(_) => break,
        }
        if packet.stream() == v_index && !video_done {
            if v_dec.send_packet(&packet).is_err() {
                continue; // a corrupt packet; the decoder resyncs
            }
            feed_video(
                &mut v_dec,
                &mut video,
                &mut out,
                &mut frames,
                &mut last_pts,
                &mut video_done,
            )?;
        } else if let Some(a) = audio.as_mut() {
            if packet.stream() == a.in_index && !a.done {
                a.feed_packet(&packet, &mut out)?;
            }
        }
    }
    // Flush.
    let _ = v_dec.send_eof();
    feed_video(
        &mut v_dec,
        &mut video,
        &mut out,
        &mut frames,
        &mut last_pts,
        &mut video_done,
    )?;
    video
        .encoder
        .send_eof()
        .map_err(|e| format!("cannot encode: {e}"))?;
    write_packets(
        &mut video.encoder,
        &mut out,
        video.out_index,
        video.time_base,
    )?;
    if let Some(a) = audio.as_mut() {
        a.finish(&mut out)?;
    }
    out.write_trailer()
        .map_err(|e| format!("cannot finish the clip: {e}"))?;
    let planned = ((end_s - start_s) * f64::from(fps)).round().max(1.0);
    if (frames as f64) < MIN_FRAME_COVERAGE * planned {
        return Err(format!(
            "the source gave {frames} of the {planned} frames planned from {start_s} s to {end_s} s (truncated or undecodable there)"
        ));
    }
    Ok(())
}

/// The audio side of a cut: decoder → filter graph (trim, resample, fixed
/// frame size) → AAC encoder.
struct AudioCut {
    in_index: usize,
    decoder: codec::decoder::Audio,
    graph: filter::Graph,
    encoding: Encoding<codec::encoder::Audio>,
    /// Packets past the end are not needed.
    end_ts: i64,
    done: bool,
}

#[allow(clippy::too_many_arguments)]
fn audio_encoding(
    out: &mut format::context::Output,
    decoder: codec::decoder::Audio,
    in_index: usize,
    in_tb: Rational,
    v_start_s: f64,
    start_s: f64,
    end_s: f64,
    global_header: bool,
) -> std::result::Result<AudioCut, String> {
    let aac = encoder::find(codec::Id::AAC)
        .ok_or("FFmpeg has no AAC encoder")?
        .audio()
        .map_err(|e| e.to_string())?;
    let mut ost = out.add_stream(aac).map_err(|e| e.to_string())?;
    let out_index = ost.index();
    let mut enc = codec::context::Context::from_parameters(ost.parameters())
        .and_then(|c| c.encoder().audio())
        .map_err(|e| e.to_string())?;
    let layout = aac
        .channel_layouts()
        .map(|cls| cls.best(decoder.channel_layout().channels()))
        .unwrap_or(ffmpeg::channel_layout::ChannelLayout::STEREO);
    if global_header {
        enc.set_flags(codec::Flags::GLOBAL_HEADER);
    }
    let rate = decoder.rate() as i32;
    enc.set_rate(rate);
    enc.set_channel_layout(layout);
    enc.set_channels(layout.channels());
    enc.set_format(
        aac.formats()
            .and_then(|mut f| f.next())
            .ok_or("AAC offers no sample format")?,
    );
    enc.set_bit_rate(AAC_BITRATE_BPS);
    enc.set_time_base((1, rate));
    ost.set_time_base((1, rate));
    let enc = enc
        .open_as(aac)
        .map_err(|e| format!("cannot open AAC: {e}"))?;
    ost.set_parameters(&enc);

    let mut graph = filter::Graph::new();
    let in_layout = if decoder.channel_layout().bits() == 0 {
        ffmpeg::channel_layout::ChannelLayout::default(i32::from(decoder.channels()))
    } else {
        decoder.channel_layout()
    };
    // Frames keep the packets' timestamps, in the stream's time base.
    let args = format!(
        "time_base={}:sample_rate={}:sample_fmt={}:channel_layout=0x{:x}",
        in_tb,
        decoder.rate(),
        decoder.format().name(),
        in_layout.bits()
    );
    let abuffer = filter::find("abuffer").ok_or("FFmpeg has no abuffer filter")?;
    let abuffersink = filter::find("abuffersink").ok_or("FFmpeg has no abuffersink filter")?;
    graph
        .add(&abuffer, "in", &args)
        .map_err(|e| e.to_string())?;
    graph
        .add(&abuffersink, "out", "")
        .map_err(|e| e.to_string())?;
    {
        let mut sink = graph.get("out").expect("added above");
        sink.set_sample_format(enc.format());
        sink.set_channel_layout(enc.channel_layout());
        sink.set_sample_rate(enc.rate());
    }
    // Clip times count from the video stream's start; the filter sees the
    // packets' absolute times.
    let start = start_s + v_start_s;
    let end = end_s + v_start_s;
    let spec = format!("atrim=start={start}:end={end},asetpts=PTS-STARTPTS");
    graph
        .output("in", 0)
        .and_then(|o| o.input("out", 0))
        .and_then(|p| p.parse(&spec))
        .map_err(|e| format!("cannot build the audio filter: {e}"))?;
    graph
        .validate()
        .map_err(|e| format!("cannot build the audio filter: {e}"))?;
    if !aac
        .capabilities()
        .contains(codec::capabilities::Capabilities::VARIABLE_FRAME_SIZE)
    {
        graph
            .get("out")
            .expect("added above")
            .sink()
            .set_frame_size(enc.frame_size());
    }
    let out_tb = Rational(1, rate);
    Ok(AudioCut {
        in_index,
        decoder,
        graph,
        encoding: Encoding {
            encoder: enc,
            out_index,
            time_base: out_tb,
        },
        end_ts: (end / f64::from(in_tb)).ceil() as i64,
        done: false,
    })
}

impl AudioCut {
    fn feed_packet(
        &mut self,
        packet: &Packet,
        out: &mut format::context::Output,
    ) -> std::result::Result<(), String> {
        if packet
            .pts()
            .or(packet.dts())
            .is_some_and(|t| t > self.end_ts)
        {
            self.done = true;
        }
        if self.decoder.send_packet(packet).is_err() {
            return Ok(());
        }
        self.drain_decoder(out)
    }

    fn drain_decoder(
        &mut self,
        out: &mut format::context::Output,
    ) -> std::result::Result<(), String> {
        let mut decoded = frame::Audio::empty();
        while self.decoder.receive_frame(&mut decoded).is_ok() {
            let ts = decoded.timestamp();
            decoded.set_pts(ts);
            self.graph
                .get("in")
                .expect("added")
                .source()
                .add(&decoded)
                .map_err(|e| format!("cannot filter the audio: {e}"))?;
            self.drain_graph(out)?;
        }
        Ok(())
    }

    fn drain_graph(
        &mut self,
        out: &mut format::context::Output,
    ) -> std::result::Result<(), String> {
        let mut filtered = frame::Audio::empty();
        while self
            .graph
            .get("out")
            .expect("added")
            .sink()
            .frame(&mut filtered)
            .is_ok()
        {
            self.encoding
                .encoder
                .send_frame(&filtered)
                .map_err(|e| format!("cannot encode the audio: {e}"))?;
            write_packets(
                &mut self.encoding.encoder,
                out,
                self.encoding.out_index,
                self.encoding.time_base,
            )?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut format::context::Output) -> std::result::Result<(), String> {
        let _ = self.decoder.send_eof();
        self.drain_decoder(out)?;
        let _ = self.graph.get("in").expect("added").source().flush();
        self.drain_graph(out)?;
        let _ = self.encoding.encoder.send_eof();
        write_packets(
            &mut self.encoding.encoder,
            out,
            self.encoding.out_index,
            self.encoding.time_base,
        )
    }
}
