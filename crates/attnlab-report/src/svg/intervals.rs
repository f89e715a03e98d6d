//! One value and its interval per category: a dot and a vertical whisker
//! (off-policy estimators with their relative error ± std, or estimates with
//! their 95% CIs).

use std::fmt::Write as _;

use super::{draw_frame, escape_xml, num, open_svg, Axis, Frame, Scale, BOTTOM_MARGIN, MIN_HEIGHT, PALETTE};

/// A category's value and interval `(low, high)`.
#[derive(Debug, Clone, Copy)]
pub struct Interval<'a> {
    pub label: &'a str,
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// `<circle class="point">` per finite value with a `<line class="whisker">`
/// over its interval; a dashed `reference` line (e.g. 0 error, or the
/// truth). `None` when no value is finite.
pub fn interval_chart(y_title: &str, items: &[Interval<'_>], reference: Option<f64>) -> Option<String> {
    let finite: Vec<&Interval> = items.iter().filter(|i| i.value.is_finite() && i.low.is_finite() && i.high.is_finite()).collect();
    if finite.is_empty() {
        return None;
    }
    let (mut lo, mut hi) = finite.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), i| (a.min(i.low), b.max(i.high)));
    if let Some(r) = reference.filter(|r| r.is_finite()) {
        (lo, hi) = (lo.min(r), hi.max(r));
    }
    let scale = Scale::Categories(items.iter().map(|i| i.label.to_string()).collect());
    let xs = scale.axis(0.0, 0.0);
    let ys = Axis::for_values(lo, hi);
    let tick = |t: f64| scale.tick_label(&xs, t);
    let frame = Frame { xs: &xs, x_ticks: &tick, ys: &ys, x_title: "", y_title, plot_bottom: MIN_HEIGHT - BOTTOM_MARGIN };
    let mut svg = open_svg(MIN_HEIGHT, y_title);
    draw_frame(&mut svg, &frame);
    if let Some(r) = reference.filter(|r| r.is_finite()) {
        let (x1, x2) = (frame.px(-0.5), frame.px(items.len() as f64 - 0.5));
        let _ = write!(svg, "<line class=\"reference\" x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#444\" stroke-dasharray=\"4 3\"/>", num(x1), num(x2), y = num(frame.py(r)));
    }
    let color = PALETTE[0];
    for (k, i) in items.iter().enumerate() {
        if !(i.value.is_finite() && i.low.is_finite() && i.high.is_finite()) {
            continue;
        }
        let x = num(frame.px(k as f64));
        let _ = write!(
            svg,
            "<g class=\"series\" stroke=\"{color}\" fill=\"{color}\"><title>{}: {} [{}, {}]</title>\
             <line class=\"whisker\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke-width=\"2\"/>\
             <circle class=\"point\" cx=\"{x}\" cy=\"{}\" r=\"4\"/></g>",
            escape_xml(i.label),
            super::short_number(i.value),
            super::short_number(i.low),
            super::short_number(i.high),
            num(frame.py(i.low)),
            num(frame.py(i.high)),
            num(frame.py(i.value)),
        );
    }
    svg.push_str("</svg>");
    Some(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_point_and_whisker_per_finite_item() {
        let items = [
            Interval { label: "ipw", value: 0.2, low: 0.1, high: 0.4 },
            Interval { label: "<dm>", value: f64::NAN, low: 0.0, high: 1.0 },
            Interval { label: "dr", value: 0.15, low: 0.05, high: 0.3 },
        ];
        let svg = interval_chart("relative error", &items, Some(0.0)).unwrap();
        assert_eq!(svg.matches("<circle class=\"point\"").count(), 2);
        assert_eq!(svg.matches("<line class=\"whisker\"").count(), 2);
        assert_eq!(svg.matches("class=\"reference\"").count(), 1);
        assert!(svg.contains("&lt;dm&gt;") && !svg.contains("NaN"), "{svg}");
        assert!(interval_chart("x", &items[1..2], None).is_none());
    }
}
