//! Probe: container and stream facts read in-process with FFmpeg (ffmpeg-next),
//! no `ffprobe` subprocess.
//!
//! Beyond opening the file, the probe checks that the data its index promises is
//! there (a file cut short by an interrupted copy often still opens): the last
//! indexed video sample must end inside the file, and a packet must be readable
//! near the end of the stated duration.

use std::ffi::{CStr, CString};
use std::path::Path;
use std::ptr;

use ffmpeg::ffi;
use ffmpeg::format::context::Input;
use ffmpeg::media::Type as MediaType;
use ffmpeg_next as ffmpeg;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Container and stream facts of a readable video file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeInfo {
    /// Short container name: the file's extension when FFmpeg's demuxer claims
    /// it (`mp4`, `mov`, `webm`), else the demuxer's first name (`matroska`).
    pub container: String,
    /// FFmpeg's full demuxer name (`mov,mp4,m4a,3gp,3g2,mj2`), as ffprobe's `format_name`.
    pub format_name: String,
    /// FFmpeg codec name of the main video stream (`h264`, `hevc`, `vp9`).
    pub codec: String,
    /// Codec profile (`High`, `Main`), where the codec has profiles.
    pub profile: Option<String>,
    /// Pixel format (`yuv420p`).
    pub pix_fmt: Option<String>,
    /// Coded width in pixels (as ffprobe's `width`, before rotation).
    pub width: u32,
    /// Coded height in pixels (as ffprobe's `height`, before rotation).
    pub height: u32,
    /// Display rotation in degrees, 0..360, as ffprobe's `rotation` (the display
    /// matrix angle, counter-clockwise).
    pub rotation_deg: i32,
    /// Frames per second (average frame rate, else the stream's base rate).
    pub fps: f64,
    /// Duration in seconds (the container's, else the video stream's).
    pub duration_s: f64,
    /// Overall bit rate in bits per second (the container's, else size × 8 / duration).
    pub bitrate_bps: u64,
    /// Number of video frames.
    pub frame_count: u64,
    /// True when `frame_count` is duration × fps because the container does not store it.
    pub frame_count_estimated: bool,
    /// Whether the file has an audio stream.
    pub has_audio: bool,
    /// FFmpeg codec name of the first audio stream.
    pub audio_codec: Option<String>,
    /// The container's and the video stream's tags that say how the video
    /// was made ([`DEVICE_TAGS`]: make, model, software, encoder, handler,
    /// brand), keys lowercased; for [`crate::capture`].
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, String>,
}

/// Tags kept in [`ProbeInfo::tags`]: the ones that name the capture device
/// or the software that wrote the file (QuickTime's `com.apple.quicktime.*`,
/// Android's `com.android.*`, generic `make`/`model`, `encoder`,
/// `handler_name`, ISO `major_brand`). Location and dates are not kept.
pub const DEVICE_TAGS: &[&str] = &[
    "make",
    "model",
    "software",
    "encoder",
    "handler_name",
    "major_brand",
    "com.apple.quicktime.make",
    "com.apple.quicktime.model",
    "com.apple.quicktime.software",
    "com.android.version",
    "com.android.manufacturer",
    "com.android.model",
];

/// Why a file could not be probed. The text is written to the outputs as the
/// file's `error`.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
pub enum ProbeError {
    /// The file has no bytes.
    #[error("empty file (0 bytes)")]
    Empty,
    /// A directory, device or pipe with a video extension.
    #[error("not a regular file")]
    NotRegular,
    /// The OS refused to open it.
    #[error("cannot open: {0}")]
    Io(String),
    /// FFmpeg could not recognise or parse it.
    #[error("not a readable video: {0}")]
    NotVideo(String),
    /// Parsed, but no video stream inside.
    #[error("no video stream (streams: {0})")]
    NoVideoStream(String),
    /// Its index or stated duration points past the end of the data.
    #[error("truncated: {0}")]
    Truncated(String),
}

/// Initialise FFmpeg once per process and silence its console logging (errors
/// are reported per file instead).
pub fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = ffmpeg::init();
        ffmpeg::util::log::set_level(ffmpeg::util::log::Level::Quiet);
    });
}

/// Probe one file. `size_bytes` is its size as scanned.
pub fn probe(path: &Path, size_bytes: u64) -> Result<ProbeInfo, ProbeError> {
    init();
    let meta = std::fs::metadata(path).map_err(|e| ProbeError::Io(e.to_string()))?;
    if !meta.is_file() {
        return Err(ProbeError::NotRegular);
    }
    if size_bytes == 0 || meta.len() == 0 {
        return Err(ProbeError::Empty);
    }
    // Opening checks readability first so permission problems are named as such.
    std::fs::File::open(path).map_err(|e| ProbeError::Io(e.to_string()))?;
    let mut input = open_input(path).map_err(|e| match e {
        ProbeError::NotVideo(_) if has_iso_bmff_signature(path) => ProbeError::Truncated(
            "MP4/MOV header present but its 'moov' index is missing: the file was cut short".into(),
        ),
        other => other,
    })?;
    let info = describe(&input, meta.len())?;
    check_not_truncated(&mut input, &info, meta.len())?;
    Ok(info)
}

/// Whether the file starts like an ISO base media file (MP4, MOV, 3GP): a box
/// of type `ftyp` first. Such a file that FFmpeg cannot open has lost its index,
/// which MP4 writers put at the end.
fn has_iso_bmff_signature(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && &head[4..8] == b"ftyp"
}

/// Open a file with FFmpeg. Unlike `ffmpeg::format::input`, this accepts paths
/// that are not valid UTF-8.
pub fn open_input(path: &Path) -> Result<Input, ProbeError> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| ProbeError::Io("path contains a NUL byte".into()))?;
    // SAFETY: `c_path` is a NUL-terminated string that outlives both calls;
    // `ctx` starts null as avformat_open_input requires, and on success it
    // owns an opened context that is either closed here on failure or handed
    // to `Input::wrap`, which closes it on drop (exactly one owner).
    unsafe {
        let mut ctx = ptr::null_mut();
        let ret = ffi::avformat_open_input(&mut ctx, c_path.as_ptr(), ptr::null(), ptr::null_mut());
        if ret < 0 {
            return Err(open_error(ret));
        }
        let ret = ffi::avformat_find_stream_info(ctx, ptr::null_mut());
        if ret < 0 {
            ffi::avformat_close_input(&mut ctx);
            return Err(ProbeError::NotVideo(ffmpeg::Error::from(ret).to_string()));
        }
        Ok(Input::wrap(ctx))
    }
}

fn open_error(ret: i32) -> ProbeError {
    let err = ffmpeg::Error::from(ret);
    match err {
        ffmpeg::Error::Other { errno } if errno == libc_eacces() => {
            ProbeError::Io("permission denied".into())
        }
        _ => ProbeError::NotVideo(err.to_string()),
    }
}

const fn libc_eacces() -> i32 {
    13
}

fn describe(input: &Input, file_size: u64) -> Result<ProbeInfo, ProbeError> {
    let video = input.streams().best(MediaType::Video).ok_or_else(|| {
        let kinds: Vec<String> = input
            .streams()
            .map(|s| format!("{:?}", s.parameters().medium()).to_lowercase())
            .collect();
        ProbeError::NoVideoStream(if kinds.is_empty() {
            "none".into()
        } else {
            kinds.join(", ")
        })
    })?;
    let params = video.parameters();
    // SAFETY: `params` borrows the stream's codec parameters, valid while
    // `input` lives; the pixel format is transmuted only when non-negative,
    // i.e. a value FFmpeg itself stored in the AVPixelFormat field, and the
    // name functions return static strings or null, which `cstr` handles.
    let (width, height, pix_fmt, profile) = unsafe {
        let p = &*params.as_ptr();
        let pix = if p.format >= 0 {
            cstr(ffi::av_get_pix_fmt_name(std::mem::transmute::<
                i32,
                ffi::AVPixelFormat,
            >(p.format)))
        } else {
            None
        };
        let profile = cstr(ffi::avcodec_profile_name(p.codec_id, p.profile));
        (p.width.max(0) as u32, p.height.max(0) as u32, pix, profile)
    };
    if width == 0 || height == 0 {
        return Err(ProbeError::NotVideo(
            "video stream has no frame size (no decodable frame found)".into(),
        ));
    }
    let codec = params.id().name().to_string();
    let fps = rate(video.avg_frame_rate())
        .or_else(|| rate(video.rate()))
        .unwrap_or(0.0);
    let container_duration = input.duration();
    let duration_s = if container_duration > 0 {
        container_duration as f64 / f64::from(ffi::AV_TIME_BASE)
    } else if video.duration() > 0 {
        video.duration() as f64 * f64::from(video.time_base())
    } else {
        0.0
    };
    let bitrate_bps = if input.bit_rate() > 0 {
        input.bit_rate() as u64
    } else if duration_s > 0.0 {
        (file_size as f64 * 8.0 / duration_s).round() as u64
    } else {
        0
    };
    let (frame_count, frame_count_estimated) = if video.frames() > 0 {
        (video.frames() as u64, false)
    } else {
        ((duration_s * fps).round().max(0.0) as u64, true)
    };
    let audio = input.streams().best(MediaType::Audio);
    let format = input.format();
    let format_name = format.name().to_string();
    let mut tags = std::collections::BTreeMap::new();
    // The container's tags first; the video stream's fill what it lacks.
    for (k, v) in input.metadata().iter().chain(video.metadata().iter()) {
        let k = k.to_ascii_lowercase();
        if DEVICE_TAGS.contains(&k.as_str()) && !v.trim().is_empty() {
            tags.entry(k).or_insert_with(|| v.trim().to_string());
        }
    }
    Ok(ProbeInfo {
        container: short_container(&format_name, &format.extensions(), input),
        format_name,
        codec,
        profile,
        pix_fmt,
        width,
        height,
        rotation_deg: rotation(&video),
        fps,
        duration_s,
        bitrate_bps,
        frame_count,
        frame_count_estimated,
        has_audio: audio.is_some(),
        audio_codec: audio.map(|a| a.parameters().id().name().to_string()),
        tags,
    })
}

fn short_container(format_name: &str, extensions: &[&str], input: &Input) -> String {
    // SAFETY: the context is open while `input` lives; `url` is null or a
    // NUL-terminated string owned by it, which `cstr` copies.
    let url = unsafe { cstr((*input.as_ptr()).url) }.unwrap_or_default();
    let ext = url.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    let names: Vec<&str> = format_name.split(',').collect();
    if !ext.is_empty() && (names.contains(&ext.as_str()) || extensions.contains(&ext.as_str())) {
        return ext;
    }
    names.first().copied().unwrap_or(format_name).to_string()
}

fn rate(r: ffmpeg::Rational) -> Option<f64> {
    (r.numerator() > 0 && r.denominator() > 0).then(|| f64::from(r))
}

/// Display rotation from the stream's display matrix, as ffprobe shows it,
/// normalised to 0..360; else the legacy `rotate` tag.
fn rotation(stream: &ffmpeg::format::stream::Stream) -> i32 {
    for side in stream.side_data() {
        if side.kind() == ffmpeg::codec::packet::side_data::Type::DisplayMatrix
            && side.data().len() >= 36
        {
            // SAFETY: a display matrix is 9 i32 values (36 bytes, checked
            // above), which is all av_display_rotation_get reads.
            let deg = unsafe { ffi::av_display_rotation_get(side.data().as_ptr() as *const i32) };
            if deg.is_finite() {
                return (deg.round() as i32).rem_euclid(360);
            }
        }
    }
    stream
        .metadata()
        .get("rotate")
        .and_then(|r| r.parse::<i32>().ok())
        .map(|r| r.rem_euclid(360))
        .unwrap_or(0)
}

/// Fail when the file ends before the data its index or duration promises.
fn check_not_truncated(
    input: &mut Input,
    info: &ProbeInfo,
    file_size: u64,
) -> Result<(), ProbeError> {
    let video_index = match input.streams().best(MediaType::Video) {
        Some(s) => s.index(),
        None => return Ok(()),
    };
    // 1. Index-based containers (MP4/MOV) list every sample's byte range.
    // SAFETY: `video_index` is a valid stream index of this open context, so
    // `streams.add(video_index)` points at a live AVStream; index entries are
    // read only for 0 <= n - 1 < the count FFmpeg reports, and the entry
    // pointer is checked for null.
    unsafe {
        let st = *(*input.as_ptr()).streams.add(video_index);
        let n = ffi::avformat_index_get_entries_count(st);
        if n > 0 {
            let last = ffi::avformat_index_get_entry(st, n - 1);
            if !last.is_null() {
                let end = (*last).pos + i64::from((*last).size());
                if (*last).pos >= 0 && end > file_size as i64 {
                    return Err(ProbeError::Truncated(format!(
                        "the index places video data up to byte {end}, but the file has {file_size} bytes"
                    )));
                }
            }
        }
    }
    // 2. Video packets must reach near the end of the stated duration.
    let stated_s = {
        let st = input.stream(video_index).expect("video stream exists");
        if st.duration() > 0 {
            st.duration() as f64 * f64::from(st.time_base())
        } else {
            info.duration_s
        }
    };
    let needed_s = stated_s * MIN_DURATION_COVERED - DURATION_SLACK_S;
    if needed_s <= 0.0 {
        return Ok(());
    }
    let ts = (needed_s * f64::from(ffi::AV_TIME_BASE)) as i64;
    if input.seek(ts, ..ts).is_err() {
        // No index to seek with (e.g. Matroska whose cues were cut off):
        // demux from the start instead.
        let _ = input.seek(0, ..);
    }
    let end_s = demuxed_video_end(input, video_index, needed_s);
    if end_s < needed_s {
        return Err(ProbeError::Truncated(format!(
            "video data ends at {end_s:.1} s of its stated {stated_s:.1} s"
        )));
    }
    Ok(())
}

/// Most bytes demuxed while looking for the end of the video data; past that
/// the file is given the benefit of the doubt (the frame pass still decodes it).
const DEMUX_CHECK_MAX_BYTES: u64 = 256 << 20;

/// Video data must reach this share of the stated duration...
const MIN_DURATION_COVERED: f64 = 0.9;
/// ...less this slack for the timestamps of the last group of pictures.
const DURATION_SLACK_S: f64 = 1.0;

/// Demux forward from the current position until a video packet ends at or
/// after `needed_s` (stream time from its start), the byte budget is spent
/// (returns `needed_s`), or the data ends. Returns how far the video reached.
fn demuxed_video_end(input: &mut Input, video_index: usize, needed_s: f64) -> f64 {
    let (tb, start) = {
        let st = input.stream(video_index).expect("video stream exists");
        (f64::from(st.time_base()), st.start_time())
    };
    let start = if start == ffi::AV_NOPTS_VALUE {
        0
    } else {
        start
    };
    let mut packet = ffmpeg::Packet::empty();
    let mut bytes = 0u64;
    let mut end_s = 0.0f64;
    loop {
        match packet.read(input) {
            Ok(()) => {
                bytes += packet.size() as u64;
                if packet.stream() == video_index {
                    if let Some(ts) = packet.pts().or(packet.dts()) {
                        end_s = end_s.max((ts - start + packet.duration()) as f64 * tb);
                    }
                }
                if end_s >= needed_s || bytes > DEMUX_CHECK_MAX_BYTES {
                    return end_s.max(needed_s);
                }
            }
            Err(ffmpeg::Error::InvalidData) => continue,
            Err(_) => return end_s,
        }
    }
}

/// A copy of a C string, None for null.
///
/// # Safety
/// `p` is null or points to a NUL-terminated string valid for the call.
unsafe fn cstr(p: *const std::os::raw::c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: non-null, and NUL-terminated by the caller's contract.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}
