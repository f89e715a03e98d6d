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

    /// Colour-vision deficiencies as linear-RGB matrices (Machado, Oliveira
    /// & Fernandes 2009, severity 1): protanopia, deuteranopia, tritanopia.
    const DEFICIENCIES: [[[f64; 3]; 3]; 3] = [
        [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
        [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
        [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
    ];

    /// `#rrggbb` as seen with `deficiency`, in CIELAB (D65).
    fn seen(hex: &str, deficiency: &[[f64; 3]; 3]) -> [f64; 3] {
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&hex[1 + 2 * i..3 + 2 * i], 16).unwrap()) / 255.0;
            if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
        };
        let rgb = [channel(0), channel(1), channel(2)];
        let [r, g, b] = deficiency.map(|row| (row[0] * rgb[0] + row[1] * rgb[1] + row[2] * rgb[2]).clamp(0.0, 1.0));
        let xyz = [
            (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047,
            0.2126 * r + 0.7152 * g + 0.0722 * b,
            (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883,
        ];
        let f = xyz.map(|t| if t > 216.0 / 24389.0 { t.cbrt() } else { (24389.0 / 27.0 * t + 16.0) / 116.0 });
        [116.0 * f[1] - 16.0, 500.0 * (f[0] - f[1]), 200.0 * (f[1] - f[2])]
    }

    /// The smallest CIELAB distance between two colours of `palette` under
    /// any of the three deficiencies.
    fn closest_pair_when_colour_blind(palette: &[&str]) -> f64 {
        let mut min = f64::INFINITY;
        for d in &DEFICIENCIES {
            for (i, a) in palette.iter().enumerate() {
                for b in &palette[i + 1..] {
                    let (p, q) = (seen(a, d), seen(b, d));
                    min = min.min(((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2)).sqrt());
                }
            }
        }
        min
    }

    #[test]
    fn the_line_palette_stays_distinct_under_colour_blindness() {
        // ΔE 15 is well past "clearly different" (2.3 is just noticeable).
        let okabe_ito = closest_pair_when_colour_blind(&crate::svg::PALETTE);
        assert!(okabe_ito > 15.0, "{okabe_ito}");
        // The test can fail: matplotlib's default cycle puts orange next to
        // green, which protanopes barely tell apart.
        let tab10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
        let tab = closest_pair_when_colour_blind(&tab10);
        assert!(tab < 5.0, "{tab}");
    }

    #[test]
    fn ramp_ends_and_middle() {
        assert_eq!(ramp(&VIRIDIS, 0.0), "#440154");
        assert_eq!(ramp(&VIRIDIS, 1.0), "#fde725");
        assert_eq!(ramp(&VIRIDIS, 0.5), "#21918c");
        assert_eq!(ramp(&BLUES, f64::NAN), "#f7fbff");
        assert_eq!(ramp(&BLUES, 7.0), "#08306b");
    }
}
