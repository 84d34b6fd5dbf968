//! Frame sampling: K frames spread over a video's duration, each with the
//! frame that follows it (for motion), converted with swscale to native-size
//! luma and a small RGB thumbnail, and turned upright by the stream's display
//! rotation (the display matrix or `rotate` tag, [`ProbeInfo::rotation_deg`])
//! before anything is measured: a phone clip stored sideways is analysed as
//! it is shown, for the frame statistics and the face pass alike.
//!
//! Decode only what the samples need (the full pass, [`sample_frames`]):
//! the decoder skips bidirectionally predicted frames (`AVDISCARD_BIDIR`,
//! `skip_frame`; codecs without B-frames are unaffected), so samples are
//! taken from the frames that decode without them (I and P frames). The K
//! sample times are spread evenly over the duration; each sample is the
//! first such frame at or after its time, paired with the next one the
//! decoder returns, and the time between the two is recorded
//! ([`SampledFrame::next_gap_s`]): motion is reported per second, so a pair
//! four frames apart (a P frame and the next, B-frames skipped) and a pair one
//! frame apart measure the same thing. Seeks are planned by GOP: where the
//! demuxer's index shows a keyframe after the current position and at or
//! before the next sample time, the decoder jumps to it instead of decoding
//! up to it; without an index a long video is sought once per sample.
//!
//! The keyframe pass ([`sample_keyframes`], fakes outside the sample that
//! `--fake-sample` draws) reads the packets and decodes only the keyframe
//! nearest each of the K times: evidence for fake→original links at a few
//! percent of a full decode.

use std::path::Path;

use ffmpeg::codec::discard::Discard;
use ffmpeg::ffi;
use ffmpeg::format::Pixel;
use ffmpeg::media::Type as MediaType;
use ffmpeg::software::scaling::{Context as Scaler, Flags};
use ffmpeg::util::frame::Video as VideoFrame;
use ffmpeg_next as ffmpeg;
use thiserror::Error;

use crate::probe::{self, ProbeInfo};

/// Default number of sampled frames per video (`--frames`).
pub const DEFAULT_FRAMES: usize = 16;

/// Videos with more frames than this whose container has no keyframe index
/// are sought once per sample instead of decoded from the start (600 frames
/// is 20 s at 30 fps). With an index the seeks are planned by GOP whatever
/// the length.
pub const SEQUENTIAL_MAX_FRAMES: u64 = 600;

/// What the full pass's decoder skips: bidirectionally predicted frames.
/// They are about three quarters of an H.264 stream with B-frames and never
/// a reference for the I and P frames the samples are taken from (FFmpeg's
/// `-skip_frame bidir`).
pub const FULL_PASS_SKIP: Discard = Discard::Bidirectional;

/// Width of the RGB thumbnail kept per sample (height follows the aspect
/// ratio). Colorfulness and the report's thumbnails use it; 160 px keeps a
/// 16-frame sample under 2 MB of RGB.
pub const THUMB_WIDTH: u32 = 160;

/// Height cap of the RGB frames given to the face detector (never upscaled).
/// MTCNN finds faces from 20 px up, so faces down to 5.6% of the frame height
/// are found; 360 rows keep detection near 25 ms a frame on one core.
pub const FACE_MAX_HEIGHT: u32 = 360;

/// JPEG quality of the per-video thumbnail kept for the human report: at 60 a
/// 160x90 thumbnail is about 3 KB (4 KB as base64) and a face in it is still
/// recognisable, so 100k videos add about 400 MB to the catalog.
pub const THUMB_JPEG_QUALITY: u8 = 60;

/// Default number of the sampled frames that also go to the face pass.
pub const DEFAULT_FACE_FRAMES: usize = 8;

/// Packets read per seek before giving up on finding a frame there (corrupt
/// or sparse data); bounds the work a damaged file can cause.
const MAX_PACKETS_PER_SAMPLE: usize = 512;

/// Without a keyframe index, a long video is sought to a sample time only
/// when it lies at least this far past the last decoded frame (closer ones
/// are reached by decoding on).
const NO_INDEX_SEEK_MIN_S: f64 = 1.0;

/// With an index, a keyframe counts as "before the sample time" only when
/// it is at least this much earlier. Index times are decode times (MP4),
/// up to the B-frame reorder delay (a few frames) before the keyframe is
/// shown, while seeks go by presentation time: the margin keeps a seek from
/// landing on the GOP before the planned one.
const KEYFRAME_SEEK_MARGIN_S: f64 = 0.5;

/// One sampled frame.
#[derive(Debug, Clone)]
pub struct SampledFrame {
    /// Presentation time in seconds from the video's start.
    pub t_s: f64,
    /// Native width in pixels, as displayed (after the display rotation).
    pub width: u32,
    /// Native height in pixels, as displayed.
    pub height: u32,
    /// GRAY8 luma, upright, `width * height` bytes, no row padding.
    pub luma: Vec<u8>,
    /// The luma (same size) of the next frame the decoder returned, when
    /// there is one: the next I or P frame when B-frames are skipped.
    pub next_luma: Option<Vec<u8>>,
    /// Seconds from this frame to the one in `next_luma` (None without one,
    /// or when the two timestamps do not increase).
    pub next_gap_s: Option<f64>,
    /// Thumbnail width in pixels.
    pub thumb_width: u32,
    /// Thumbnail height in pixels.
    pub thumb_height: u32,
    /// RGB24 thumbnail, `thumb_width * thumb_height * 3` bytes.
    pub rgb: Vec<u8>,
    /// For the face pass subset: the frame as RGB24 at most
    /// [`FACE_MAX_HEIGHT`] rows high, and the next frame at the same size.
    pub face: Option<FaceFrame>,
}

impl SampledFrame {
    /// The frame as the statistics backends take it.
    pub fn stats_input(&self) -> crate::stats::FrameInput<'_> {
        crate::stats::FrameInput {
            width: self.width,
            height: self.height,
            luma: &self.luma,
            next_luma: self.next_luma.as_deref(),
            next_gap_s: self.next_gap_s,
            rgb_width: self.thumb_width,
            rgb_height: self.thumb_height,
            rgb: &self.rgb,
        }
    }
}

/// A sampled frame at face-detection size.
#[derive(Debug, Clone)]
pub struct FaceFrame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// RGB24, `width * height * 3` bytes.
    pub rgb: Vec<u8>,
    /// The following frame at the same size, when there is one.
    pub next_rgb: Option<Vec<u8>>,
}

/// Why frames could not be sampled.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    /// The file could not be opened again for decoding.
    #[error("cannot open for decoding: {0}")]
    Open(String),
    /// No decoder for the stream's codec in this FFmpeg build.
    #[error("no decoder: {0}")]
    Decoder(String),
    /// The decoder produced no frame at all.
    #[error("no decodable video frame")]
    NoFrames,
    /// Pixel conversion failed.
    #[error("pixel conversion failed: {0}")]
    Convert(String),
}

/// The middle sampled frame's RGB thumbnail ([`THUMB_WIDTH`] wide) as a
/// base64 JPEG; None when there are no frames or encoding fails.
pub fn thumbnail_jpeg_base64(frames: &[SampledFrame]) -> Option<String> {
    use base64::Engine as _;
    let f = frames.get(frames.len() / 2)?;
    let (w, h) = (
        u16::try_from(f.thumb_width).ok()?,
        u16::try_from(f.thumb_height).ok()?,
    );
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, THUMB_JPEG_QUALITY)
        .encode(&f.rgb, w, h, jpeg_encoder::ColorType::Rgb)
        .ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(jpeg))
}

/// The frames of one pass over a video and what decoding them cost.
#[derive(Debug, Clone)]
pub struct Sampling {
    /// The sampled frames, in time order.
    pub frames: Vec<SampledFrame>,
    /// Frames the decoder returned (the work done; the bench and tests
    /// compare it with the stream's frame count).
    pub decoded_frames: usize,
}

/// Sample `k` frames (fewer if the video has fewer) from the video at `path`
/// (the full pass: see the module docs); `face_frames` of them, evenly
/// spread, also carry a [`FaceFrame`].
pub fn sample_frames(
    path: &Path,
    info: &ProbeInfo,
    k: usize,
    face_frames: usize,
) -> Result<Vec<SampledFrame>, FrameError> {
    sample_full(path, info, k, face_frames).map(|s| s.frames)
}

/// [`sample_frames`] with the count of decoded frames.
pub fn sample_full(
    path: &Path,
    info: &ProbeInfo,
    k: usize,
    face_frames: usize,
) -> Result<Sampling, FrameError> {
    let mut input = probe::open_input(path).map_err(|e| FrameError::Open(e.to_string()))?;
    let mut dec = Decoding::open(&input, info, FULL_PASS_SKIP)?;
    let targets = target_times(info.duration_s, k);
    // The face subset: evenly spread over the target times.
    let k = targets.len();
    let f = face_frames.min(k);
    let mut with_face = vec![false; k];
    for i in 0..f {
        with_face[i * k / f] = true;
    }
    let keyframes = index_keyframes(&input, dec.index, dec.start, dec.time_base);
    let seeks = if !keyframes.is_empty() {
        Seeks::ToKeyframes(keyframes)
    } else if info.frame_count > SEQUENTIAL_MAX_FRAMES && info.duration_s > 0.0 {
        Seeks::ToTargets
    } else {
        Seeks::Never
    };
    let mut frames = sample_decodable(&mut input, &mut dec, &targets, &with_face, &seeks)?;
    if frames.is_empty() && !matches!(seeks, Seeks::Never) {
        // Seeking failed everywhere: decode from the start.
        let _ = input.seek(0, ..);
        dec.reset();
        frames = sample_decodable(&mut input, &mut dec, &targets, &with_face, &Seeks::Never)?;
    }
    if frames.is_empty() {
        return Err(FrameError::NoFrames);
    }
    Ok(Sampling {
        frames,
        decoded_frames: dec.decoded,
    })
}

/// The keyframe pass: for each of `k` times spread over the duration, the
/// keyframe nearest it (each keyframe once), as luma only (no next frame,
/// no thumbnail, no face image). Packets are read in order and only the
/// chosen keyframes are decoded, each on its own (sent, drained, flushed).
pub fn sample_keyframes(path: &Path, info: &ProbeInfo, k: usize) -> Result<Sampling, FrameError> {
    let mut input = probe::open_input(path).map_err(|e| FrameError::Open(e.to_string()))?;
    let mut dec = Decoding::open(&input, info, Discard::NonKey)?;
    let targets = target_times(info.duration_s, k);
    let mut out: Vec<SampledFrame> = Vec::new();
    // The last keyframe seen, whether some target is nearest to it.
    let mut held: Option<(f64, ffmpeg::Packet, bool)> = None;
    let mut j = 0;
    loop {
        let mut packet = ffmpeg::Packet::empty();
        let next = match packet.read(&mut input) {
            Ok(()) if packet.stream() == dec.index && packet.is_key() => {
                let ts = packet.pts().or(packet.dts()).unwrap_or(dec.start);
                Some(((ts - dec.start) as f64 * dec.time_base, packet))
            }
            Ok(()) | Err(ffmpeg::Error::InvalidData) => continue,
            Err(_) => None,
        };
        let Some((tn, packet)) = next else { break };
        let mut needed_now = false;
        match held.as_mut() {
            // Targets before the first keyframe belong to it.
            None => {
                while j < targets.len() && targets[j] < tn {
                    needed_now = true;
                    j += 1;
                }
            }
            Some((th, _, needed)) => {
                while j < targets.len() && targets[j] < tn {
                    if targets[j] - *th <= tn - targets[j] {
                        *needed = true;
                    } else {
                        needed_now = true;
                    }
                    j += 1;
                }
            }
        }
        if let Some((th, p, true)) = held.take() {
            out.extend(dec.decode_alone(&p, th)?);
        }
        if j >= targets.len() {
            // Every target has its keyframe; nothing later is nearer.
            if needed_now {
                out.extend(dec.decode_alone(&packet, tn)?);
            }
            break;
        }
        held = Some((tn, packet, needed_now));
    }
    if let Some((th, p, needed)) = held {
        if needed || j < targets.len() {
            out.extend(dec.decode_alone(&p, th)?);
        }
    }
    if out.is_empty() {
        return Err(FrameError::NoFrames);
    }
    Ok(Sampling {
        frames: out,
        decoded_frames: dec.decoded,
    })
}

/// `k` times spread evenly over `duration_s`: the middles of k equal parts
/// (one time, 0, when the duration is unknown).
pub fn target_times(duration_s: f64, k: usize) -> Vec<f64> {
    let k = k.max(1);
    let duration = duration_s.max(0.0);
    (0..k)
        .map(|j| (j as f64 + 0.5) * duration / k as f64)
        .collect()
}

/// Keyframe times (seconds from the stream start), ascending, from the
/// demuxer's index; empty when the container has none (or has not read it).
fn index_keyframes(
    input: &ffmpeg::format::context::Input,
    index: usize,
    start: i64,
    time_base: f64,
) -> Vec<f64> {
    let Some(stream) = input.stream(index) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    // SAFETY: the stream pointer is valid while `input` lives (borrowed here);
    // the index functions only read the stream's index entries, and each
    // returned entry is read before any call that could change the index.
    unsafe {
        let st = stream.as_ptr() as *mut ffi::AVStream;
        let n = ffi::avformat_index_get_entries_count(st);
        for i in 0..n {
            let e = ffi::avformat_index_get_entry(st, i);
            if !e.is_null() && (*e).flags() & ffi::AVINDEX_KEYFRAME != 0 {
                out.push(((*e).timestamp - start) as f64 * time_base);
            }
        }
    }
    out.sort_by(f64::total_cmp);
    out.dedup();
    out
}

/// How [`sample_decodable`] may jump ahead ([`should_seek`]).
enum Seeks {
    /// When the index (keyframe times in seconds from the stream start, as
    /// the index gives them: decode times in MP4) shows a keyframe between
    /// the current position and the sample time.
    ToKeyframes(Vec<f64>),
    /// To each sample time more than [`NO_INDEX_SEEK_MIN_S`] ahead (no index).
    ToTargets,
    /// Decode from the start.
    Never,
}

struct Decoding {
    decoder: ffmpeg::decoder::Video,
    index: usize,
    time_base: f64,
    start: i64,
    converter: Option<Converter>,
    eof_sent: bool,
    /// Clockwise quarter turns that make the frames upright.
    turns: u32,
    /// Frames the decoder has returned.
    decoded: usize,
}

impl Decoding {
    /// A one-thread decoder for the best video stream of `input` that
    /// discards what `skip` names.
    fn open(
        input: &ffmpeg::format::context::Input,
        info: &ProbeInfo,
        skip: Discard,
    ) -> Result<Decoding, FrameError> {
        let stream = input
            .streams()
            .best(MediaType::Video)
            .ok_or_else(|| FrameError::Open("no video stream".into()))?;
        let index = stream.index();
        let time_base = f64::from(stream.time_base());
        let start = match stream.start_time() {
            ffi::AV_NOPTS_VALUE => 0,
            s => s,
        };
        let mut ctx = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
            .map_err(|e| FrameError::Decoder(e.to_string()))?;
        // One thread per decoder: the engine decodes many videos in parallel.
        ctx.set_threading(ffmpeg::codec::threading::Config {
            kind: ffmpeg::codec::threading::Type::Frame,
            count: 1,
            ..Default::default()
        });
        let mut decoder = ctx.decoder();
        decoder.skip_frame(skip);
        let decoder = decoder
            .video()
            .map_err(|e| FrameError::Decoder(e.to_string()))?;
        Ok(Decoding {
            decoder,
            index,
            time_base,
            start,
            converter: None,
            eof_sent: false,
            turns: clockwise_turns(info.rotation_deg),
            decoded: 0,
        })
    }

    /// Seconds from the stream start of a timestamp in the stream's time base.
    fn seconds(&self, ts: i64) -> f64 {
        (ts - self.start) as f64 * self.time_base
    }

    /// The next decoded frame, reading packets as needed; None at the end of
    /// the data (or after `MAX_PACKETS_PER_SAMPLE` packets without a frame).
    fn next_frame(
        &mut self,
        input: &mut ffmpeg::format::context::Input,
    ) -> Option<(f64, VideoFrame)> {
        let mut frame = VideoFrame::empty();
        let mut packets = 0;
        loop {
            if self.decoder.receive_frame(&mut frame).is_ok() {
                self.decoded += 1;
                let ts = frame.timestamp().or(frame.pts()).unwrap_or(self.start);
                return Some((self.seconds(ts), frame));
            }
            if self.eof_sent || packets >= MAX_PACKETS_PER_SAMPLE {
                return None;
            }
            let mut packet = ffmpeg::Packet::empty();
            match packet.read(input) {
                Ok(()) => {
                    if packet.stream() == self.index {
                        packets += 1;
                        // A corrupt packet is skipped; the decoder resyncs.
                        let _ = self.decoder.send_packet(&packet);
                    }
                }
                Err(ffmpeg::Error::InvalidData) => continue,
                Err(_) => {
                    let _ = self.decoder.send_eof();
                    self.eof_sent = true;
                }
            }
        }
    }

    /// Decode one keyframe packet on its own (send, drain, flush) and turn
    /// it into a luma-only sample at `t_s`.
    fn decode_alone(
        &mut self,
        packet: &ffmpeg::Packet,
        t_s: f64,
    ) -> Result<Option<SampledFrame>, FrameError> {
        self.reset();
        let _ = self.decoder.send_packet(packet);
        let _ = self.decoder.send_eof();
        let mut frame = VideoFrame::empty();
        let mut got = None;
        while self.decoder.receive_frame(&mut frame).is_ok() {
            self.decoded += 1;
            if got.is_none() {
                got = Some(std::mem::replace(&mut frame, VideoFrame::empty()));
            }
        }
        self.reset();
        let Some(frame) = got else { return Ok(None) };
        let luma = self.converter_for(&frame)?.luma(&frame)?;
        let (width, height) = self.converter_for(&frame)?.upright_size();
        Ok(Some(SampledFrame {
            t_s,
            width,
            height,
            luma,
            next_luma: None,
            next_gap_s: None,
            thumb_width: 0,
            thumb_height: 0,
            rgb: Vec::new(),
            face: None,
        }))
    }

    fn reset(&mut self) {
        self.decoder.flush();
        self.eof_sent = false;
    }

    fn converter_for(&mut self, frame: &VideoFrame) -> Result<&mut Converter, FrameError> {
        let (w, h, fmt) = (frame.width(), frame.height(), frame.format());
        if self.converter.as_ref().is_none_or(|c| c.src != (w, h, fmt)) {
            self.converter = Some(Converter::new(w, h, fmt, self.turns)?);
        }
        Ok(self.converter.as_mut().expect("converter set above"))
    }
}

/// Decode the frames the decoder does not skip and keep, for each target
/// time, the first at or after it, with the next one decoded after it.
/// Between samples it jumps ahead as `seeks` allows (never while a sample
/// waits for its next frame).
fn sample_decodable(
    input: &mut ffmpeg::format::context::Input,
    dec: &mut Decoding,
    targets: &[f64],
    with_face: &[bool],
    seeks: &Seeks,
) -> Result<Vec<SampledFrame>, FrameError> {
    let mut out = Vec::with_capacity(targets.len());
    let mut pending: Option<(f64, VideoFrame, bool)> = None;
    let mut next_target = 0;
    let mut last: Option<(f64, VideoFrame)> = None;
    // Time of the last decoded frame (None before the first).
    let mut position: Option<f64> = None;
    // The target the last seek was for: one seek per target at most, so a
    // demuxer that lands short of the plan cannot make it loop.
    let mut sought: Option<usize> = None;
    loop {
        if pending.is_none()
            && next_target < targets.len()
            && sought != Some(next_target)
            && should_seek(seeks, position, targets[next_target])
        {
            sought = Some(next_target);
            if seek_to(input, dec, targets[next_target]) {
                last = None;
            }
        }
        let Some((t, frame)) = dec.next_frame(input) else {
            break;
        };
        position = Some(t);
        if let Some((pt, pf, face)) = pending.take() {
            out.push(make_sample(dec, pt, &pf, Some((t, &frame)), face)?);
        }
        if next_target < targets.len() && t + 1e-6 >= targets[next_target] {
            let mut face = false;
            while next_target < targets.len() && t + 1e-6 >= targets[next_target] {
                face |= with_face[next_target];
                next_target += 1;
            }
            pending = Some((t, frame, face));
        } else {
            last = Some((t, frame));
        }
        if next_target >= targets.len() && pending.is_none() {
            break;
        }
    }
    if let Some((pt, pf, face)) = pending {
        out.push(make_sample(dec, pt, &pf, None, face)?);
    } else if out.is_empty() {
        // Shorter than its stated duration: keep what there was.
        if let Some((t, f)) = last {
            let face = with_face.first().copied().unwrap_or(false);
            out.push(make_sample(dec, t, &f, None, face)?);
        }
    }
    Ok(out)
}

/// Whether to seek to `target` (seconds from the stream start) before
/// looking for its sample: with an index, when the last keyframe at least
/// [`KEYFRAME_SEEK_MARGIN_S`] before the target lies after the current
/// position (decoding on would pass through it anyway); without one, when
/// the target is more than [`NO_INDEX_SEEK_MIN_S`] ahead.
fn should_seek(seeks: &Seeks, position: Option<f64>, target: f64) -> bool {
    match seeks {
        Seeks::Never => false,
        Seeks::ToTargets => position.map_or(target, |p| target - p) > NO_INDEX_SEEK_MIN_S,
        Seeks::ToKeyframes(kf) => {
            // The GOP holding a time, and the one decoding is in (the first
            // before anything is decoded: reading starts there).
            let gop = |t: f64| kf.partition_point(|&k| k <= t + 1e-6).saturating_sub(1);
            gop(target - KEYFRAME_SEEK_MARGIN_S) > position.map_or(0, gop)
        }
    }
}

/// Seek the video stream to the last keyframe at or before `target`
/// (seconds from the stream start) and reset the decoder; false (and
/// nothing changed) if the demuxer refuses.
fn seek_to(input: &mut ffmpeg::format::context::Input, dec: &mut Decoding, target: f64) -> bool {
    let ts = dec.start + (target / dec.time_base).floor() as i64;
    // SAFETY: `input` owns a valid opened format context and the stream
    // index comes from it; avformat_seek_file only reads the arguments.
    let ret = unsafe {
        ffi::avformat_seek_file(input.as_mut_ptr(), dec.index as i32, i64::MIN, ts, ts, 0)
    };
    if ret >= 0 {
        dec.reset();
    }
    ret >= 0
}

/// Clockwise quarter turns (0–3) that show a stream with display rotation
/// `rotation_deg` (counter-clockwise, as ffprobe's `rotation` normalised to
/// 0..360) upright, as FFmpeg's own autorotation does (`transpose=clock` for
/// 270, i.e. ffprobe's −90). Angles off a quarter turn round to the nearest.
pub fn clockwise_turns(rotation_deg: i32) -> u32 {
    let cw = (360 - rotation_deg.rem_euclid(360)).rem_euclid(360);
    (((cw + 45) / 90) % 4) as u32
}

/// Rotate an interleaved image (`channels` bytes a pixel) clockwise by
/// `turns` quarter turns; returns the pixels and the new width and height.
pub fn rotate_clockwise(
    data: &[u8],
    width: usize,
    height: usize,
    channels: usize,
    turns: u32,
) -> (Vec<u8>, usize, usize) {
    let (w, h, c) = (width, height, channels);
    if turns.is_multiple_of(4) {
        return (data.to_vec(), w, h);
    }
    let (nw, nh) = if turns % 2 == 1 { (h, w) } else { (w, h) };
    let mut out = vec![0u8; data.len()];
    for y2 in 0..nh {
        for x2 in 0..nw {
            // Source of destination (x2, y2).
            let (x, y) = match turns % 4 {
                1 => (y2, h - 1 - x2),
                2 => (w - 1 - x2, h - 1 - y2),
                _ => (w - 1 - y2, x2),
            };
            let (d, s) = ((y2 * nw + x2) * c, (y * w + x) * c);
            out[d..d + c].copy_from_slice(&data[s..s + c]);
        }
    }
    (out, nw, nh)
}

/// swscale contexts for one input geometry: native GRAY8, an RGB24
/// thumbnail and the face-pass RGB24 frame, the last two sized for the
/// upright (displayed) picture; [`Converter::run`] and
/// [`Converter::face_rgb`] return them upright.
struct Converter {
    src: (u32, u32, Pixel),
    turns: u32,
    gray: Scaler,
    thumb: Scaler,
    /// Coded-orientation output size of `thumb`.
    thumb_size: (u32, u32),
    face: Scaler,
    /// Coded-orientation output size of `face`.
    face_size: (u32, u32),
}

impl Converter {
    fn new(w: u32, h: u32, fmt: Pixel, turns: u32) -> Result<Self, FrameError> {
        let conv = |e: ffmpeg::Error| FrameError::Convert(format!("{fmt:?} {w}x{h}: {e}"));
        let sideways = turns % 2 == 1;
        // Displayed size.
        let (dw, dh) = if sideways { (h, w) } else { (w, h) };
        let tw = THUMB_WIDTH.min(dw).max(2) & !1;
        let th = (((u64::from(dh) * u64::from(tw)) / u64::from(dw.max(1))) as u32).max(2) & !1;
        let fh = FACE_MAX_HEIGHT.min(dh).max(2) & !1;
        let fw = (((u64::from(dw) * u64::from(fh)) / u64::from(dh.max(1))) as u32).max(2) & !1;
        // The scalers work in the coded orientation.
        let coded = |a: u32, b: u32| if sideways { (b, a) } else { (a, b) };
        let (ctw, cth) = coded(tw, th);
        let (cfw, cfh) = coded(fw, fh);
        Ok(Converter {
            src: (w, h, fmt),
            turns,
            gray: Scaler::get(fmt, w, h, Pixel::GRAY8, w, h, Flags::POINT).map_err(conv)?,
            thumb: Scaler::get(fmt, w, h, Pixel::RGB24, ctw, cth, Flags::AREA).map_err(conv)?,
            thumb_size: (ctw, cth),
            face: Scaler::get(fmt, w, h, Pixel::RGB24, cfw, cfh, Flags::FAST_BILINEAR)
                .map_err(conv)?,
            face_size: (cfw, cfh),
        })
    }

    /// The frame as upright RGB24 at face-detection size: (width, height, bytes).
    fn face_rgb(&mut self, frame: &VideoFrame) -> Result<(u32, u32, Vec<u8>), FrameError> {
        let mut rgb = VideoFrame::empty();
        self.face
            .run(frame, &mut rgb)
            .map_err(|e| FrameError::Convert(e.to_string()))?;
        let (fw, fh) = self.face_size;
        let coded = tight_plane(&rgb, fw as usize * 3, fh as usize);
        let (rgb, w, h) = rotate_clockwise(&coded, fw as usize, fh as usize, 3, self.turns);
        Ok((w as u32, h as u32, rgb))
    }

    /// Upright native luma.
    fn luma(&mut self, frame: &VideoFrame) -> Result<Vec<u8>, FrameError> {
        let mut gray = VideoFrame::empty();
        self.gray
            .run(frame, &mut gray)
            .map_err(|e| FrameError::Convert(e.to_string()))?;
        let (w, h) = (self.src.0 as usize, self.src.1 as usize);
        let plane = tight_plane(&gray, w, h);
        if self.turns.is_multiple_of(4) {
            return Ok(plane);
        }
        Ok(rotate_clockwise(&plane, w, h, 1, self.turns).0)
    }

    /// Upright native luma, and the upright thumbnail with its size.
    fn run(&mut self, frame: &VideoFrame) -> Result<(Vec<u8>, u32, u32, Vec<u8>), FrameError> {
        let luma = self.luma(frame)?;
        let mut rgb = VideoFrame::empty();
        self.thumb
            .run(frame, &mut rgb)
            .map_err(|e| FrameError::Convert(e.to_string()))?;
        let (tw, th) = self.thumb_size;
        let (thumb, tw, th) = rotate_clockwise(
            &tight_plane(&rgb, tw as usize * 3, th as usize),
            tw as usize,
            th as usize,
            3,
            self.turns,
        );
        Ok((luma, tw as u32, th as u32, thumb))
    }

    /// Displayed (upright) size of a frame of the source geometry.
    fn upright_size(&self) -> (u32, u32) {
        if self.turns % 2 == 1 {
            (self.src.1, self.src.0)
        } else {
            (self.src.0, self.src.1)
        }
    }
}

/// Copy plane 0 of `frame` without its row padding.
fn tight_plane(frame: &VideoFrame, row_bytes: usize, rows: usize) -> Vec<u8> {
    let stride = frame.stride(0);
    let data = frame.data(0);
    let mut out = Vec::with_capacity(row_bytes * rows);
    for y in 0..rows {
        out.extend_from_slice(&data[y * stride..y * stride + row_bytes]);
    }
    out
}

fn make_sample(
    dec: &mut Decoding,
    t_s: f64,
    frame: &VideoFrame,
    next: Option<(f64, &VideoFrame)>,
    with_face: bool,
) -> Result<SampledFrame, FrameError> {
    let same_size =
        |n: &(f64, &VideoFrame)| n.1.width() == frame.width() && n.1.height() == frame.height();
    let next = next.filter(same_size);
    let conv = dec.converter_for(frame)?;
    let (luma, tw, th, rgb) = conv.run(frame)?;
    let (width, height) = conv.upright_size();
    let next_luma = match next {
        Some((_, n)) => Some(conv.luma(n)?),
        None => None,
    };
    let next_gap_s = next.map(|(tn, _)| tn - t_s).filter(|g| *g > 0.0);
    let face = if with_face {
        let (width, height, rgb) = conv.face_rgb(frame)?;
        let next_rgb = match next {
            Some((_, n)) => Some(conv.face_rgb(n)?.2),
            None => None,
        };
        Some(FaceFrame {
            width,
            height,
            rgb,
            next_rgb,
        })
    } else {
        None
    };
    Ok(SampledFrame {
        t_s,
        width,
        height,
        luma,
        next_luma,
        next_gap_s,
        thumb_width: tw,
        thumb_height: th,
        rgb,
        face,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_rotation_to_clockwise_turns() {
        // ffprobe's rotation −90 (stored as 270 here): FFmpeg shows it
        // turned clockwise by a quarter.
        assert_eq!(clockwise_turns(270), 1);
        assert_eq!(clockwise_turns(-90), 1);
        assert_eq!(clockwise_turns(90), 3);
        assert_eq!(clockwise_turns(180), 2);
        assert_eq!(clockwise_turns(0), 0);
        assert_eq!(clockwise_turns(268), 1);
    }

    #[test]
    fn rotation_moves_pixels_clockwise() {
        // 3x2 image, one byte a pixel:  a b c / d e f
        let img = [1u8, 2, 3, 4, 5, 6];
        // Clockwise: d a / e b / f c.
        assert_eq!(
            rotate_clockwise(&img, 3, 2, 1, 1),
            (vec![4, 1, 5, 2, 6, 3], 2, 3)
        );
        assert_eq!(
            rotate_clockwise(&img, 3, 2, 1, 2),
            (vec![6, 5, 4, 3, 2, 1], 3, 2)
        );
        // Counter-clockwise: c f / b e / a d.
        assert_eq!(
            rotate_clockwise(&img, 3, 2, 1, 3),
            (vec![3, 6, 2, 5, 1, 4], 2, 3)
        );
        let rgb: Vec<u8> = (0..18).collect();
        let (r, w, h) = rotate_clockwise(&rgb, 3, 2, 3, 1);
        assert_eq!((w, h), (2, 3));
        assert_eq!(&r[0..3], &[9, 10, 11]);
        let (back, _, _) = rotate_clockwise(&r, w, h, 3, 3);
        assert_eq!(back, rgb);
    }
}
