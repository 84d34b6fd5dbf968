//! Frame sampling: K frames spread over a video's duration, each with the
//! frame that follows it (for motion), converted with swscale to native-size
//! luma and a small RGB thumbnail, and turned upright by the stream's display
//! rotation (the display matrix or `rotate` tag, [`ProbeInfo::rotation_deg`])
//! before anything is measured: a phone clip stored sideways is analysed as
//! it is shown, for the frame statistics and the face pass alike.
//!
//! Decode work is bounded whatever the video's length: a short video
//! (at most [`FULL_DECODE_MAX_FRAMES`] frames) is decoded once from the start
//! and the frames nearest the K evenly spaced times are kept; a longer one is
//! sought K times, and each sample is the keyframe the seek lands on plus the
//! frame after it (a keyframe-anchored sample costs a couple of decoded frames,
//! not a whole group of pictures).

use std::path::Path;

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

/// Videos with at most this many frames are decoded once from the start
/// instead of sought K times: 600 frames is 20 s at 30 fps, where a full
/// decode of small DFDC-style clips costs less than K seeks with decoder flushes.
pub const FULL_DECODE_MAX_FRAMES: u64 = 600;

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
    /// The following frame's luma (same size), when there is one.
    pub next_luma: Option<Vec<u8>>,
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

/// Sample `k` frames (fewer if the video has fewer) from the video at `path`;
/// `face_frames` of them, evenly spread, also carry a [`FaceFrame`].
pub fn sample_frames(
    path: &Path,
    info: &ProbeInfo,
    k: usize,
    face_frames: usize,
) -> Result<Vec<SampledFrame>, FrameError> {
    let mut input = probe::open_input(path).map_err(|e| FrameError::Open(e.to_string()))?;
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
    let decoder = ctx
        .decoder()
        .video()
        .map_err(|e| FrameError::Decoder(e.to_string()))?;
    let mut dec = Decoding {
        decoder,
        index,
        time_base,
        start,
        converter: None,
        eof_sent: false,
        turns: clockwise_turns(info.rotation_deg),
    };
    let k = k.max(1);
    let duration = info.duration_s.max(0.0);
    let targets: Vec<f64> = (0..k)
        .map(|j| (j as f64 + 0.5) * duration / k as f64)
        .collect();
    // The face subset: evenly spread over the target times.
    let f = face_frames.min(k);
    let mut with_face = vec![false; k];
    for i in 0..f {
        with_face[i * k / f] = true;
    }
    let frames = if info.frame_count <= FULL_DECODE_MAX_FRAMES || duration <= 0.0 {
        sample_sequential(&mut input, &mut dec, &targets, &with_face)?
    } else {
        sample_by_seeking(&mut input, &mut dec, &targets, &with_face)?
    };
    if frames.is_empty() {
        return Err(FrameError::NoFrames);
    }
    Ok(frames)
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
}

impl Decoding {
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
                let ts = frame.timestamp().or(frame.pts()).unwrap_or(self.start);
                return Some(((ts - self.start) as f64 * self.time_base, frame));
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

    fn convert(&mut self, frame: &VideoFrame) -> Result<(Vec<u8>, u32, u32, Vec<u8>), FrameError> {
        let (w, h, fmt) = (frame.width(), frame.height(), frame.format());
        let stale = self.converter.as_ref().is_none_or(|c| c.src != (w, h, fmt));
        if stale {
            self.converter = Some(Converter::new(w, h, fmt, self.turns)?);
        }
        let conv = self.converter.as_mut().expect("converter set above");
        conv.run(frame)
    }
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
            face: Scaler::get(fmt, w, h, Pixel::RGB24, cfw, cfh, Flags::AREA).map_err(conv)?,
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

    /// Upright native luma, and the upright thumbnail with its size.
    fn run(&mut self, frame: &VideoFrame) -> Result<(Vec<u8>, u32, u32, Vec<u8>), FrameError> {
        let conv = |e: ffmpeg::Error| FrameError::Convert(e.to_string());
        let mut gray = VideoFrame::empty();
        self.gray.run(frame, &mut gray).map_err(conv)?;
        let mut rgb = VideoFrame::empty();
        self.thumb.run(frame, &mut rgb).map_err(conv)?;
        let (w, h) = (self.src.0 as usize, self.src.1 as usize);
        let (tw, th) = self.thumb_size;
        let (luma, _, _) = rotate_clockwise(&tight_plane(&gray, w, h), w, h, 1, self.turns);
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
    next: Option<&VideoFrame>,
    with_face: bool,
) -> Result<SampledFrame, FrameError> {
    let (luma, tw, th, rgb) = dec.convert(frame)?;
    let same_size = |n: &&VideoFrame| n.width() == frame.width() && n.height() == frame.height();
    let next_luma = match next.filter(same_size) {
        Some(n) => Some(dec.convert(n)?.0),
        None => None,
    };
    let face = if with_face {
        let (width, height, rgb) = dec.converter_for(frame)?.face_rgb(frame)?;
        let next_rgb = match next.filter(same_size) {
            Some(n) => Some(dec.converter_for(n)?.face_rgb(n)?.2),
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
    let (width, height) = dec.converter_for(frame)?.upright_size();
    Ok(SampledFrame {
        t_s,
        width,
        height,
        luma,
        next_luma,
        thumb_width: tw,
        thumb_height: th,
        rgb,
        face,
    })
}

/// Decode from the start; keep the first frame at or after each target time
/// and the frame after it.
fn sample_sequential(
    input: &mut ffmpeg::format::context::Input,
    dec: &mut Decoding,
    targets: &[f64],
    with_face: &[bool],
) -> Result<Vec<SampledFrame>, FrameError> {
    let mut out = Vec::with_capacity(targets.len());
    let mut pending: Option<(f64, VideoFrame, bool)> = None;
    let mut next_target = 0;
    let mut last: Option<(f64, VideoFrame)> = None;
    while let Some((t, frame)) = dec.next_frame(input) {
        if let Some((pt, pf, face)) = pending.take() {
            out.push(make_sample(dec, pt, &pf, Some(&frame), face)?);
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
            out.push(make_sample(
                dec,
                t,
                &f,
                None,
                with_face.first().copied().unwrap_or(false),
            )?);
        }
    }
    Ok(out)
}

/// Seek to each target; keep the keyframe the seek lands on and the frame
/// after it. Samples that land on an already taken keyframe are dropped.
fn sample_by_seeking(
    input: &mut ffmpeg::format::context::Input,
    dec: &mut Decoding,
    targets: &[f64],
    with_face: &[bool],
) -> Result<Vec<SampledFrame>, FrameError> {
    let mut out: Vec<SampledFrame> = Vec::with_capacity(targets.len());
    for (j, &target) in targets.iter().enumerate() {
        let ts = (target * f64::from(ffi::AV_TIME_BASE)) as i64;
        if input.seek(ts, ..ts).is_err() {
            continue;
        }
        dec.reset();
        let Some((t, frame)) = dec.next_frame(input) else {
            continue;
        };
        if out.iter().any(|s| (s.t_s - t).abs() < 1e-6) {
            continue;
        }
        let next = dec.next_frame(input).map(|(_, f)| f);
        out.push(make_sample(dec, t, &frame, next.as_ref(), with_face[j])?);
    }
    if out.is_empty() {
        // Seeking failed everywhere: fall back to the start of the file.
        let _ = input.seek(0, ..);
        dec.reset();
        return sample_sequential(input, dec, &targets[..1], &with_face[..1]);
    }
    Ok(out)
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
