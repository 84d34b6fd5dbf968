//! What made a fake, and what could make more: the documented table of
//! manipulation methods (as the datasets name them) with their generator
//! family and generator, and the catalog of open-source generators the
//! stage-2 plan schedules, with the parameters worth varying.
//!
//! Method names are matched exactly after normalisation (case, `-`, `_` and
//! spaces ignored), never by substring: a method the table does not list,
//! and DFDC's `unspecified` or preview `method_A`/`method_B` (whose paper
//! does not name the algorithms), has no family. Nothing is guessed.

use serde::Serialize;

/// A generator family.
pub const FACE_SWAP: &str = "face_swap";
/// See [`FACE_SWAP`].
pub const REENACTMENT: &str = "reenactment";
/// See [`FACE_SWAP`].
pub const LIP_SYNC: &str = "lip_sync";
/// See [`FACE_SWAP`].
pub const FULL_SYNTHESIS: &str = "full_synthesis";
/// See [`FACE_SWAP`].
pub const FACE_EDITING: &str = "face_editing";
/// See [`FACE_SWAP`]: a fake of the audio track only (voice cloning).
pub const VOICE_CLONING: &str = "voice_cloning";

/// The families a video detector should see, in report order (voice cloning
/// is audio-only and left out of what a video detector must cover).
pub const VIDEO_FAMILIES: &[&str] = &[
    FACE_SWAP,
    REENACTMENT,
    LIP_SYNC,
    FULL_SYNTHESIS,
    FACE_EDITING,
];

/// One row of the method table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MethodInfo {
    /// The method as a dataset names it.
    pub method: &'static str,
    /// Its generator family.
    pub family: &'static str,
    /// The generator behind it.
    pub generator: &'static str,
    /// Where the mapping comes from.
    pub source: &'static str,
}

const FFPP: &str = "FaceForensics++ (Rössler et al., ICCV 2019), section 3";
const DF40: &str = "DF40 (Yan et al., NeurIPS 2024), table 1";
const FAKEAVCELEB: &str = "FakeAVCeleb (Khalid et al., NeurIPS 2021 Datasets), section 3";

/// Methods as the datasets name them: FF++ and DFD, Celeb-DF,
/// DeeperForensics, FakeAVCeleb, DF40.
pub const METHODS: &[MethodInfo] = &[
    // FaceForensics++ / DFD.
    MethodInfo {
        method: "Deepfakes",
        family: FACE_SWAP,
        generator: "DeepFakes autoencoder (deepfakes/faceswap)",
        source: FFPP,
    },
    MethodInfo {
        method: "FaceSwap",
        family: FACE_SWAP,
        generator: "FaceSwap, graphics-based (MarekKowalski/FaceSwap)",
        source: FFPP,
    },
    MethodInfo {
        method: "FaceShifter",
        family: FACE_SWAP,
        generator: "FaceShifter",
        source: "FaceForensics++ v3 release notes (FaceShifter added)",
    },
    MethodInfo {
        method: "Face2Face",
        family: REENACTMENT,
        generator: "Face2Face",
        source: FFPP,
    },
    MethodInfo {
        method: "NeuralTextures",
        family: REENACTMENT,
        generator: "Neural Textures",
        source: FFPP,
    },
    MethodInfo {
        method: "DeepFakeDetection",
        family: FACE_SWAP,
        generator: "DeepFakes-style swaps (Google/Jigsaw DFD)",
        source: "Google AI blog, Contributing Data to Deepfake Detection Research (2019)",
    },
    // Celeb-DF, DeeperForensics.
    MethodInfo {
        method: "Celeb-synthesis",
        family: FACE_SWAP,
        generator: "improved DeepFake autoencoder (Celeb-DF)",
        source: "Celeb-DF (Li et al., CVPR 2020), section 3.2",
    },
    MethodInfo {
        method: "DF-VAE",
        family: FACE_SWAP,
        generator: "DF-VAE",
        source: "DeeperForensics-1.0 (Jiang et al., CVPR 2020), section 3.2",
    },
    // FakeAVCeleb.
    MethodInfo {
        method: "fsgan",
        family: FACE_SWAP,
        generator: "FSGAN",
        source: FAKEAVCELEB,
    },
    MethodInfo {
        method: "wav2lip",
        family: LIP_SYNC,
        generator: "Wav2Lip",
        source: FAKEAVCELEB,
    },
    MethodInfo {
        method: "faceswap-wav2lip",
        family: FACE_SWAP,
        generator: "FaceSwap + Wav2Lip",
        source: FAKEAVCELEB,
    },
    MethodInfo {
        method: "fsgan-wav2lip",
        family: FACE_SWAP,
        generator: "FSGAN + Wav2Lip",
        source: FAKEAVCELEB,
    },
    MethodInfo {
        method: "rtvc",
        family: VOICE_CLONING,
        generator: "Real-Time Voice Cloning (SV2TTS)",
        source: FAKEAVCELEB,
    },
    // DF40.
    MethodInfo {
        method: "SimSwap",
        family: FACE_SWAP,
        generator: "SimSwap",
        source: DF40,
    },
    MethodInfo {
        method: "InSwapper",
        family: FACE_SWAP,
        generator: "InSwapper (insightface)",
        source: DF40,
    },
    MethodInfo {
        method: "BlendFace",
        family: FACE_SWAP,
        generator: "BlendFace",
        source: DF40,
    },
    MethodInfo {
        method: "E4S",
        family: FACE_SWAP,
        generator: "E4S",
        source: DF40,
    },
    MethodInfo {
        method: "UniFace",
        family: FACE_SWAP,
        generator: "UniFace",
        source: DF40,
    },
    MethodInfo {
        method: "MobileSwap",
        family: FACE_SWAP,
        generator: "MobileFaceSwap",
        source: DF40,
    },
    MethodInfo {
        method: "FOMM",
        family: REENACTMENT,
        generator: "First Order Motion Model",
        source: DF40,
    },
    MethodInfo {
        method: "FaceVid2Vid",
        family: REENACTMENT,
        generator: "face-vid2vid",
        source: DF40,
    },
    MethodInfo {
        method: "LIA",
        family: REENACTMENT,
        generator: "LIA",
        source: DF40,
    },
    MethodInfo {
        method: "TPSM",
        family: REENACTMENT,
        generator: "Thin-Plate Spline Motion Model",
        source: DF40,
    },
    MethodInfo {
        method: "MCNet",
        family: REENACTMENT,
        generator: "MCNet",
        source: DF40,
    },
    MethodInfo {
        method: "HyperReenact",
        family: REENACTMENT,
        generator: "HyperReenact",
        source: DF40,
    },
    MethodInfo {
        method: "SadTalker",
        family: REENACTMENT,
        generator: "SadTalker",
        source: DF40,
    },
    MethodInfo {
        method: "Wav2Lip_Reenact",
        family: REENACTMENT,
        generator: "Wav2Lip",
        source: DF40,
    },
    MethodInfo {
        method: "StyleGAN2",
        family: FULL_SYNTHESIS,
        generator: "StyleGAN2",
        source: DF40,
    },
    MethodInfo {
        method: "StyleGAN3",
        family: FULL_SYNTHESIS,
        generator: "StyleGAN3",
        source: DF40,
    },
    MethodInfo {
        method: "StyleGANXL",
        family: FULL_SYNTHESIS,
        generator: "StyleGAN-XL",
        source: DF40,
    },
    MethodInfo {
        method: "DDPM",
        family: FULL_SYNTHESIS,
        generator: "DDPM",
        source: DF40,
    },
    MethodInfo {
        method: "DDIM",
        family: FULL_SYNTHESIS,
        generator: "DDIM",
        source: DF40,
    },
    MethodInfo {
        method: "DiT",
        family: FULL_SYNTHESIS,
        generator: "DiT",
        source: DF40,
    },
    MethodInfo {
        method: "SiT",
        family: FULL_SYNTHESIS,
        generator: "SiT",
        source: DF40,
    },
    MethodInfo {
        method: "PixArt",
        family: FULL_SYNTHESIS,
        generator: "PixArt-α",
        source: DF40,
    },
    MethodInfo {
        method: "SD2.1",
        family: FULL_SYNTHESIS,
        generator: "Stable Diffusion 2.1",
        source: DF40,
    },
    MethodInfo {
        method: "Midjourney",
        family: FULL_SYNTHESIS,
        generator: "Midjourney",
        source: DF40,
    },
    MethodInfo {
        method: "VQGAN",
        family: FULL_SYNTHESIS,
        generator: "VQGAN",
        source: DF40,
    },
    MethodInfo {
        method: "RDDM",
        family: FULL_SYNTHESIS,
        generator: "RDDM",
        source: DF40,
    },
    MethodInfo {
        method: "StarGAN",
        family: FACE_EDITING,
        generator: "StarGAN",
        source: DF40,
    },
    MethodInfo {
        method: "StarGANv2",
        family: FACE_EDITING,
        generator: "StarGAN v2",
        source: DF40,
    },
    MethodInfo {
        method: "StyleCLIP",
        family: FACE_EDITING,
        generator: "StyleCLIP",
        source: DF40,
    },
    MethodInfo {
        method: "e4e",
        family: FACE_EDITING,
        generator: "e4e",
        source: DF40,
    },
    MethodInfo {
        method: "CollabDiff",
        family: FACE_EDITING,
        generator: "Collaborative Diffusion",
        source: DF40,
    },
];

fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '-' | '_' | ' ' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The table row of a method, if listed (see the module docs).
pub fn method_info(method: &str) -> Option<&'static MethodInfo> {
    let m = normalise(method);
    METHODS.iter().find(|i| normalise(i.method) == m)
}

/// The generator family of a method, if listed.
pub fn family_of(method: &str) -> Option<&'static str> {
    method_info(method).map(|i| i.family)
}

/// One parameter of a generator worth varying, with its values.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Parameter {
    /// Name.
    pub name: &'static str,
    /// Values, each used in turn.
    pub values: &'static [&'static str],
    /// Why it matters to a detector.
    pub why: &'static str,
}

/// An open-source generator the stage-2 plan can schedule.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Generator {
    /// Name.
    pub name: &'static str,
    /// Family.
    pub family: &'static str,
    /// Where it comes from.
    pub code: &'static str,
    /// Whether it needs a second identity (the face swapped in, or the
    /// driving face).
    pub needs_target_identity: bool,
    /// Parameters to vary.
    pub parameters: &'static [Parameter],
}

const BLEND: Parameter = Parameter {
    name: "blending_mask",
    values: &["hard", "gaussian_feathered", "poisson"],
    why: "the blending boundary is the strongest tell of a swap; a detector trained on one mask learns that mask",
};
const COLOR: Parameter = Parameter {
    name: "color_transfer",
    values: &["none", "reinhard", "histogram_match"],
    why: "colour mismatch between face and skin is a tell that colour transfer hides",
};
const COMPRESSION: Parameter = Parameter {
    name: "output_crf",
    values: &["23", "40"],
    why: "FF++'s c23/c40: artefacts survive light compression and drown in heavy compression",
};
const SCALE: Parameter = Parameter {
    name: "output_scale",
    values: &["1.0", "0.5"],
    why: "resampling after generation blurs the generator's high-frequency fingerprint",
};

/// Generators the plan schedules: at least one per video family that works
/// on a real clip (full synthesis and face editing make images, not clips of
/// a selected person).
pub const GENERATORS: &[Generator] = &[
    Generator {
        name: "SimSwap",
        family: FACE_SWAP,
        code: "github.com/neuralchen/SimSwap",
        needs_target_identity: true,
        parameters: &[
            Parameter {
                name: "checkpoint",
                values: &["simswap_224", "simswap_512"],
                why: "the output resolution of the swap network",
            },
            BLEND,
            COLOR,
            COMPRESSION,
        ],
    },
    Generator {
        name: "InSwapper",
        family: FACE_SWAP,
        code: "insightface inswapper_128 (github.com/deepinsight/insightface)",
        needs_target_identity: true,
        parameters: &[BLEND, COLOR, COMPRESSION, SCALE],
    },
    Generator {
        name: "DeepFaceLab",
        family: FACE_SWAP,
        code: "github.com/iperov/DeepFaceLab (SAEHD)",
        needs_target_identity: true,
        parameters: &[
            Parameter {
                name: "model_resolution",
                values: &["128", "256"],
                why: "autoencoder resolution sets how much detail the swapped face keeps",
            },
            BLEND,
            COLOR,
            COMPRESSION,
        ],
    },
    Generator {
        name: "LIA",
        family: REENACTMENT,
        code: "github.com/wyhsirius/LIA",
        needs_target_identity: true,
        parameters: &[COMPRESSION, SCALE],
    },
    Generator {
        name: "TPSMM",
        family: REENACTMENT,
        code: "github.com/yoyo-nb/Thin-Plate-Spline-Motion-Model",
        needs_target_identity: true,
        parameters: &[
            Parameter {
                name: "checkpoint",
                values: &["vox", "ted"],
                why: "talking-head and upper-body motion priors",
            },
            COMPRESSION,
        ],
    },
    Generator {
        name: "Wav2Lip",
        family: LIP_SYNC,
        code: "github.com/Rudrabha/Wav2Lip",
        needs_target_identity: false,
        parameters: &[
            Parameter {
                name: "checkpoint",
                values: &["wav2lip", "wav2lip_gan"],
                why: "the GAN checkpoint is sharper and leaves other artefacts",
            },
            COMPRESSION,
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_map_to_families_exactly() {
        assert_eq!(family_of("Deepfakes"), Some(FACE_SWAP));
        assert_eq!(family_of("FaceSwap"), Some(FACE_SWAP));
        assert_eq!(family_of("Face2Face"), Some(REENACTMENT));
        assert_eq!(family_of("NeuralTextures"), Some(REENACTMENT));
        assert_eq!(family_of("wav2lip"), Some(LIP_SYNC));
        assert_eq!(family_of("DF-VAE"), Some(FACE_SWAP));
        assert_eq!(family_of("df_vae"), Some(FACE_SWAP));
        assert_eq!(family_of("celeb synthesis"), Some(FACE_SWAP));
        // Never guessed: DFDC's names and substrings of listed names.
        assert_eq!(family_of("unspecified"), None);
        assert_eq!(family_of("method_A"), None);
        assert_eq!(family_of("my_lia_method"), None);
        assert!(GENERATORS
            .iter()
            .all(|g| VIDEO_FAMILIES.contains(&g.family)));
    }
}
