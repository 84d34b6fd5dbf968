//! Head pose from the 5 landmarks: a geometric estimate, not a fitted model.
//!
//! Landmarks (image coordinates, y down): left eye `le`, right eye `re`
//! (left/right as seen in the image), nose tip `n`, mouth corners `ml`, `mr`.
//! Let `E = (le + re)/2`, `M = (ml + mr)/2`, the face's vertical axis
//! `a = M − E`, its unit `â`, and the unit normal `p̂ = (â.y, −â.x)`, which
//! points to the image's right for an upright face.
//!
//! * **Roll** = the angle of the eye line, `atan2(re.y − le.y, re.x − le.x)`:
//!   positive when the face is rotated clockwise on screen (the right-hand
//!   eye lower). Rotating a frame clockwise by θ adds θ.
//! * **Yaw**: a head turned by θ about the vertical axis moves the nose tip,
//!   which stands `D` in front of the eye/mouth plane, sideways by `D·sin θ`
//!   from the eye–mouth midline, while the inter-ocular distance `I` shrinks
//!   to `I·cos θ`. So `d / I' = (D/I)·tan θ` with `d = (n − E)·p̂` and
//!   `I' = |(re − le)·p̂|`, and `yaw = atan(d / (I' · D/I))`. Positive when the
//!   nose points to the image's right (the subject turned to their left).
//!   Mirroring the image negates `d` and keeps `I'`, so it flips yaw's sign.
//! * **Pitch**: likewise about the horizontal axis, the nose tip's position
//!   along the axis, `t = (n − E)·a / |a|²` (0 at the eye line, 1 at the mouth
//!   line), moves from its frontal value `t₀` by `(D/H)·tan φ`, `H` the
//!   eye-to-mouth distance: `pitch = atan((t₀ − t) · H/D)`. Positive when the
//!   face tilts up (nose tip toward the eye line).
//!
//! Constants: `t₀` and `H/I` from the 5-point ArcFace alignment template
//! (insightface `arcface_dst`, measured on frontal faces: eyes at y 51.6963 /
//! 51.5014, nose 71.7366, mouth 92.3655 / 92.2041, eyes 35.24 apart);
//! `D/I` from the generic 3D face of OpenCV's head-pose examples (nose tip at
//! depth 0, eye corners at −135, i.e. 135 units behind it, outer eye corners
//! 450 apart ≈ 90 mm, pupils ≈ 0.69 of that: D/I ≈ 135 / 310 ≈ 0.43).
//! The estimate saturates for near-profile faces (landmarks collapse) and is
//! meant for aggregate pose categories, not for per-frame angles.

/// Frontal position of the nose tip between the eye line (0) and the mouth
/// line (1): ArcFace template, (71.7366 − 51.5989) / (92.2848 − 51.5989).
pub const NOSE_T_FRONTAL: f32 = 0.4949;
/// Eye-line-to-mouth-line distance over inter-ocular distance, frontal:
/// ArcFace template, 40.686 / 35.237.
pub const FACE_HEIGHT_PER_IOD: f32 = 1.1546;
/// Nose-tip depth in front of the eye/mouth plane over inter-ocular
/// distance: generic 3D face (see the module docs).
pub const NOSE_DEPTH_PER_IOD: f32 = 0.43;

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
/// mouth left, mouth right). Degenerate landmarks (coincident eyes or
/// eye/mouth midpoints) give 0 for the angles they cannot define.
pub fn head_pose(lm: &[[f32; 2]; 5]) -> HeadPose {
    let [le, re, n, ml, mr] = lm.map(|p| [f64::from(p[0]), f64::from(p[1])]);
    let roll = (re[1] - le[1]).atan2(re[0] - le[0]).to_degrees();
    let e = [(le[0] + re[0]) / 2.0, (le[1] + re[1]) / 2.0];
    let m = [(ml[0] + mr[0]) / 2.0, (ml[1] + mr[1]) / 2.0];
    let a = [m[0] - e[0], m[1] - e[1]];
    let len2 = a[0] * a[0] + a[1] * a[1];
    if len2 <= f64::EPSILON {
        return HeadPose {
            yaw_deg: 0.0,
            pitch_deg: 0.0,
            roll_deg: roll as f32,
        };
    }
    let len = len2.sqrt();
    let p = [a[1] / len, -a[0] / len];
    let ne = [n[0] - e[0], n[1] - e[1]];
    let d = ne[0] * p[0] + ne[1] * p[1];
    let iod = ((re[0] - le[0]) * p[0] + (re[1] - le[1]) * p[1]).abs();
    let yaw = if iod > f64::EPSILON {
        (d / (iod * f64::from(NOSE_DEPTH_PER_IOD)))
            .atan()
            .to_degrees()
    } else {
        // Eyes on one line along the face axis: a full profile.
        90.0 * d.signum()
    };
    let t = (ne[0] * a[0] + ne[1] * a[1]) / len2;
    let h_over_d = f64::from(FACE_HEIGHT_PER_IOD) / f64::from(NOSE_DEPTH_PER_IOD);
    let pitch = ((f64::from(NOSE_T_FRONTAL) - t) * h_over_d)
        .atan()
        .to_degrees();
    HeadPose {
        yaw_deg: yaw as f32,
        pitch_deg: pitch as f32,
        roll_deg: roll as f32,
    }
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
    fn nose_toward_eyes_is_pitch_up() {
        let mut up = TEMPLATE;
        up[2][1] -= 8.0;
        assert!(head_pose(&up).pitch_deg > 15.0);
    }
}
