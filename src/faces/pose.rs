//! Head pose from the stable landmarks: eyes and nose tip, fitted to a 3-D
//! mean face under weak perspective (a PnP of three points with the camera
//! far away compared with the head's depth). The mouth corners are not used:
//! a smile moves them (up and apart) by as much as a 20° head tilt moves the
//! nose, so a pose from them reads a broad smile as a face tilted down.
//!
//! Model (face coordinates, x to the image's right, y down, z toward the
//! camera, unit = inter-ocular distance `I`): eyes at `(∓½, 0, 0)`, nose tip
//! at `(0, h, d)` with `h` = [`NOSE_DROP_PER_IOD`], `d` = [`NOSE_DEPTH_PER_IOD`].
//! The head is rotated by `R = Rz(roll) · Ry(yaw) · Rx(pitch)` and projected
//! orthographically with scale `s`. Then, from the landmarks (image
//! coordinates, y down; left/right as seen in the image):
//!
//! * `u = re − le` is the projection of the eye axis `R·x̂ = Rz(roll)·(cos yaw, 0, −sin yaw)`:
//!   **roll** = `atan2(u.y, u.x)` exactly (positive: clockwise on screen),
//!   and `|u| = s·I·cos yaw`.
//! * `v = n − (le + re)/2`, rotated by −roll, is `s·I·(sin yaw · ρ sin ψ, ρ cos ψ)`
//!   with `ρ = √(h² + d²)`, `ψ = pitch + atan2(d, h)`. With `c = cos yaw`:
//!   `cos ψ = v'.y·c / (|u| ρ)` and `sin yaw · sin ψ = c · v'.x / (|u| ρ)`,
//!   a quadratic in `c²` solved in closed form. **Yaw** positive: nose toward the image's right (the
//!   subject turned to their left); **pitch** positive: face tilted up.
//!
//! Mirroring the image negates `u.y` after relabelling the eyes and `v'.x`,
//! so roll and yaw flip sign and pitch stays; rotating the frame adds to
//! roll only; scaling changes nothing.
//!
//! Constants: `h` from the 5-point ArcFace template (insightface
//! `arcface_dst`, measured on frontal faces: nose 20.14 px below the eye
//! line, eyes 35.24 px apart); `d` from the generic 3D face of OpenCV's
//! head-pose examples (nose tip 135 units in front of the eye corners, pupils
//! ≈ 310 apart: 0.43). People differ from the mean face (a longer nose reads
//! as a slight tilt down), so the estimate is for aggregate pose categories,
//! not per-frame angles; beyond ~60° yaw the far eye is unreliable.

/// Nose-tip drop below the eye line over inter-ocular distance, frontal:
/// ArcFace template, (71.7366 − 51.5989) / 35.2372.
pub const NOSE_DROP_PER_IOD: f64 = 0.5715;
/// Nose-tip depth in front of the eyes over inter-ocular distance: generic
/// 3D face (see the module docs).
pub const NOSE_DEPTH_PER_IOD: f64 = 0.43;

/// Head pose angles in degrees (see the module docs for conventions).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadPose {
    /// Left/right turn; positive: nose toward the image's right.
    pub yaw_deg: f32,
    /// Up/down tilt; positive: face tilted up.
    pub pitch_deg: f32,
    /// In-plane rotation; positive: clockwise on screen.
    pub roll_deg: f32,
}

/// Estimate the head pose from 5 landmarks (left eye, right eye, nose,
/// mouth left, mouth right; the mouth corners are ignored). Coincident eyes
/// give 0 for yaw and pitch (undefined).
pub fn head_pose(lm: &[[f32; 2]; 5]) -> HeadPose {
    let [le, re, n, _, _] = lm.map(|p| [f64::from(p[0]), f64::from(p[1])]);
    let u = [re[0] - le[0], re[1] - le[1]];
    let iod = (u[0] * u[0] + u[1] * u[1]).sqrt();
    let roll = u[1].atan2(u[0]);
    if iod <= f64::EPSILON {
        return HeadPose {
            yaw_deg: 0.0,
            pitch_deg: 0.0,
            roll_deg: roll.to_degrees() as f32,
        };
    }
    let e = [(le[0] + re[0]) / 2.0, (le[1] + re[1]) / 2.0];
    let v = [n[0] - e[0], n[1] - e[1]];
    // Undo the roll: rotate v by −roll.
    let (sr, cr) = roll.sin_cos();
    let vx = v[0] * cr + v[1] * sr;
    let vy = -v[0] * sr + v[1] * cr;
    let rho = NOSE_DROP_PER_IOD.hypot(NOSE_DEPTH_PER_IOD);
    let phi = NOSE_DEPTH_PER_IOD.atan2(NOSE_DROP_PER_IOD);
    // With a = v'.x / (|u| ρ), b = v'.y / (|u| ρ) and x = cos² yaw:
    // cos ψ = b·cos yaw and sin yaw · sin ψ = a·cos yaw give
    // b²x² − (1 + a² + b²)x + 1 = 0; the root in (0, 1].
    let (a, b) = (vx / (iod * rho), vy / (iod * rho));
    let k = 1.0 + a * a + b * b;
    let x = if b * b > 1e-12 {
        (k - (k * k - 4.0 * b * b).max(0.0).sqrt()) / (2.0 * b * b)
    } else {
        1.0 / k
    }
    .clamp(0.0, 1.0);
    let cos_yaw = x.sqrt();
    let yaw = cos_yaw.acos().copysign(a);
    let psi = (b * cos_yaw).clamp(-1.0, 1.0).acos();
    HeadPose {
        yaw_deg: yaw.to_degrees() as f32,
        pitch_deg: (psi - phi).to_degrees() as f32,
        roll_deg: roll.to_degrees() as f32,
    }
}

/// Project the mean face at a given pose (degrees) with scale `iod` pixels
/// per inter-ocular distance, centred at `at`: left eye, right eye, nose tip
/// (the inverse of [`head_pose`], for tests and documentation).
pub fn project_mean_face(yaw: f64, pitch: f64, roll: f64, iod: f64, at: [f64; 2]) -> [[f32; 2]; 3] {
    let (sy, cy) = yaw.to_radians().sin_cos();
    let (sp, cp) = pitch.to_radians().sin_cos();
    let (sr, cr) = roll.to_radians().sin_cos();
    let rot = |p: [f64; 3]| {
        // Rx(pitch): y' = y cos − z sin, z' = y sin + z cos (tilting up raises the nose toward the eyes).
        let (x, y, z) = (p[0], p[1] * cp - p[2] * sp, p[1] * sp + p[2] * cp);
        // Ry(yaw): x' = x cos + z sin.
        let (x, y) = (x * cy + z * sy, y);
        // Rz(roll), y down: clockwise on screen for positive roll.
        [x * cr - y * sr, x * sr + y * cr]
    };
    [
        [-0.5, 0.0, 0.0],
        [0.5, 0.0, 0.0],
        [0.0, NOSE_DROP_PER_IOD, NOSE_DEPTH_PER_IOD],
    ]
    .map(|p| {
        let q = rot(p);
        [(at[0] + q[0] * iod) as f32, (at[1] + q[1] * iod) as f32]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ArcFace 5-point template (112x112 aligned frontal face).
    const TEMPLATE: [[f32; 2]; 5] = [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ];

    #[test]
    fn frontal_template_is_near_zero() {
        let p = head_pose(&TEMPLATE);
        assert!(p.yaw_deg.abs() < 3.0, "{p:?}");
        assert!(p.pitch_deg.abs() < 1.0, "{p:?}");
        assert!(p.roll_deg.abs() < 1.0, "{p:?}");
    }

    #[test]
    fn mirroring_flips_yaw_and_rotation_adds_roll() {
        let mut turned = TEMPLATE;
        turned[2][0] += 8.0;
        let p = head_pose(&turned);
        assert!(p.yaw_deg > 20.0, "{p:?}");
        // Mirror: x -> 112 - x; the image-left eye is now the old right eye.
        let mir = |q: [f32; 2]| [112.0 - q[0], q[1]];
        let m = [
            mir(turned[1]),
            mir(turned[0]),
            mir(turned[2]),
            mir(turned[4]),
            mir(turned[3]),
        ];
        let pm = head_pose(&m);
        assert!((pm.yaw_deg + p.yaw_deg).abs() < 1e-3, "{p:?} {pm:?}");
        // Rotate 15 degrees clockwise on screen (y down) about (56, 70).
        let (s, c) = 15f32.to_radians().sin_cos();
        let rot = TEMPLATE.map(|q| {
            let (x, y) = (q[0] - 56.0, q[1] - 70.0);
            [56.0 + x * c - y * s, 70.0 + x * s + y * c]
        });
        let pr = head_pose(&rot);
        let p0 = head_pose(&TEMPLATE);
        assert!((pr.roll_deg - p0.roll_deg - 15.0).abs() < 1e-3, "{pr:?}");
        assert!((pr.yaw_deg - p0.yaw_deg).abs() < 1e-3);
        assert!((pr.pitch_deg - p0.pitch_deg).abs() < 1e-3);
    }

    #[test]
    fn recovers_the_pose_of_a_projected_mean_face() {
        for &(yaw, pitch, roll) in &[
            (0.0, 0.0, 0.0),
            (25.0, 0.0, 0.0),
            (-40.0, 10.0, 5.0),
            (15.0, -20.0, -12.0),
            (50.0, 15.0, 30.0),
        ] {
            let [le, re, n] = project_mean_face(yaw, pitch, roll, 60.0, [200.0, 150.0]);
            let p = head_pose(&[le, re, n, [0.0; 2], [0.0; 2]]);
            assert!(
                (f64::from(p.yaw_deg) - yaw).abs() < 0.5,
                "{yaw} {pitch} {roll}: {p:?}"
            );
            assert!(
                (f64::from(p.pitch_deg) - pitch).abs() < 0.5,
                "{yaw} {pitch} {roll}: {p:?}"
            );
            assert!((f64::from(p.roll_deg) - roll).abs() < 0.01, "{p:?}");
        }
    }

    #[test]
    fn a_smile_does_not_move_the_pose() {
        let p0 = head_pose(&TEMPLATE);
        let mut smile = TEMPLATE;
        // Mouth corners up 6 px and 4 px apart each: a broad smile.
        smile[3] = [smile[3][0] - 4.0, smile[3][1] - 6.0];
        smile[4] = [smile[4][0] + 4.0, smile[4][1] - 6.0];
        assert_eq!(head_pose(&smile), p0);
    }

    #[test]
    fn nose_toward_eyes_is_pitch_up() {
        let mut up = TEMPLATE;
        up[2][1] -= 8.0;
        assert!(head_pose(&up).pitch_deg > 15.0);
    }
}
