//! Sequential colour ramps for values in 0..=1 (parallel coordinates,
//! heatmaps), interpolated in sRGB between a few fixed stops.

/// Viridis at five stops: perceptually ordered and colour-blind safe.
pub(crate) const VIRIDIS: [(u8, u8, u8); 5] =
    [(0x44, 0x01, 0x54), (0x3b, 0x52, 0x8b), (0x21, 0x91, 0x8c), (0x5e, 0xc9, 0x62), (0xfd, 0xe7, 0x25)];

/// White to dark blue: zero attention reads as an empty cell.
pub(crate) const BLUES: [(u8, u8, u8); 3] = [(0xf7, 0xfb, 0xff), (0x6b, 0xae, 0xd6), (0x08, 0x30, 0x6b)];

/// The colour at `t` (clamped to 0..=1; NaN reads as 0) as `#rrggbb`.
pub(crate) fn ramp(stops: &[(u8, u8, u8)], t: f64) -> String {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let last = stops.len().saturating_sub(1);
    if last == 0 {
        let (r, g, b) = stops.first().copied().unwrap_or((0, 0, 0));
        return format!("#{r:02x}{g:02x}{b:02x}");
    }
    let pos = t * last as f64;
    let i = (pos.floor() as usize).min(last - 1);
    let f = pos - i as f64;
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
    let ((r0, g0, b0), (r1, g1, b1)) = (stops[i], stops[i + 1]);
    format!("#{:02x}{:02x}{:02x}", mix(r0, r1), mix(g0, g1), mix(b0, b1))
}

/// Whether text on the colour at `t` of [`BLUES`] should be white.
pub(crate) fn dark_on_blues(t: f64) -> bool {
    t.is_finite() && t > 0.55
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_ends_and_middle() {
        assert_eq!(ramp(&VIRIDIS, 0.0), "#440154");
        assert_eq!(ramp(&VIRIDIS, 1.0), "#fde725");
        assert_eq!(ramp(&VIRIDIS, 0.5), "#21918c");
        assert_eq!(ramp(&BLUES, f64::NAN), "#f7fbff");
        assert_eq!(ramp(&BLUES, 7.0), "#08306b");
    }
}
