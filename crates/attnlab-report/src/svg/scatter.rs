//! Scatter plots of a metric against one parameter (sweep plots).

use std::fmt::Write as _;

use super::{
    draw_frame, escape_xml, legend_entry, num, open_svg, short_number, Axis, Frame, BOTTOM_MARGIN, LEGEND_ROW,
    LEGEND_X, MIN_HEIGHT, PALETTE, PLOT_TOP,
};

/// How values are placed along an axis.
#[derive(Debug, Clone, PartialEq)]
pub enum Scale {
    Linear,
    /// Positive values spanning decades.
    Log,
    /// Non-numeric values, evenly spaced in this order; a point's coordinate
    /// is its category's index.
    Categories(Vec<String>),
}

impl Scale {
    /// The axis for `values` (finite only) under this scale.
    pub(super) fn axis(&self, min: f64, max: f64) -> Axis {
        match self {
            Scale::Linear => Axis::for_values(min, max),
            Scale::Log if min > 0.0 => Axis::for_log_values(min, max),
            Scale::Log => Axis::for_values(min, max),
            Scale::Categories(names) => {
                let n = names.len().max(1) as f64;
                Axis { lo: -0.5, hi: n - 0.5, ticks: (0..names.len()).map(|i| i as f64).collect(), decimals: Some(0), log: false }
            }
        }
    }

    /// The text of a tick (or value) `t` on `axis`.
    pub(super) fn tick_label(&self, axis: &Axis, t: f64) -> String {
        match self {
            Scale::Categories(names) => names.get(t.round().max(0.0) as usize).cloned().unwrap_or_default(),
            Scale::Log => short_number(t),
            Scale::Linear => axis.label(t),
        }
    }
}

/// The points of one group (e.g. one model), `(x, y)` each.
#[derive(Debug, Clone, Copy)]
pub struct ScatterSeries<'a> {
    pub label: &'a str,
    pub points: &'a [(f64, f64)],
}

/// One dot per finite point (`<circle class="point">`), coloured by series,
/// with a legend. `None` when there is no finite point.
pub fn scatter_chart(x_title: &str, y_title: &str, x_scale: &Scale, series: &[ScatterSeries<'_>]) -> Option<String> {
    let finite = |&&(x, y): &&(f64, f64)| x.is_finite() && y.is_finite() && (*x_scale != Scale::Log || x > 0.0);
    let all: Vec<(f64, f64)> = series.iter().flat_map(|s| s.points.iter().filter(finite).copied()).collect();
    if all.is_empty() {
        return None;
    }
    let (xmin, xmax) = all.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (ymin, ymax) = all.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let xs = x_scale.axis(xmin, xmax);
    let ys = Axis::for_values(ymin, ymax);
    let drawn = series.iter().filter(|s| s.points.iter().any(|p| finite(&p))).count();
    let height = MIN_HEIGHT.max(PLOT_TOP + LEGEND_ROW * drawn as f64 + BOTTOM_MARGIN);
    let tick = |t: f64| x_scale.tick_label(&xs, t);
    let frame = Frame { xs: &xs, x_ticks: &tick, ys: &ys, x_title, y_title, plot_bottom: height - BOTTOM_MARGIN };

    let mut svg = open_svg(height, &format!("{y_title} by {x_title}"));
    draw_frame(&mut svg, &frame);
    let mut row = 0;
    for (i, s) in series.iter().enumerate() {
        let pts: Vec<&(f64, f64)> = s.points.iter().filter(finite).collect();
        if pts.is_empty() {
            continue;
        }
        let color = PALETTE[i % PALETTE.len()];
        let _ = write!(svg, "<g class=\"series\" fill=\"{color}\" fill-opacity=\"0.75\"><title>{}</title>", escape_xml(s.label));
        for &&(x, y) in &pts {
            let _ = write!(svg, "<circle class=\"point\" cx=\"{}\" cy=\"{}\" r=\"3.5\"/>", num(frame.px(x)), num(frame.py(y)));
        }
        svg.push_str("</g>");
        let ly = PLOT_TOP + 6.0 + LEGEND_ROW * row as f64;
        // a square, so every `<circle>` of the chart is a data point
        let mark = format!("<rect x=\"{}\" y=\"{}\" width=\"8\" height=\"8\" fill=\"{color}\"/>", num(LEGEND_X + 7.0), num(ly - 4.0));
        legend_entry(&mut svg, row, &mark, s.label);
        row += 1;
    }
    svg.push_str("</svg>");
    Some(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_circle_per_finite_point_and_log_ticks() {
        let a = [(0.001, 0.7), (0.01, 0.72), (0.1, f64::NAN)];
        let b = [(0.1, 0.69)];
        let svg = scatter_chart("lr", "valid.auc", &Scale::Log, &[ScatterSeries { label: "din", points: &a }, ScatterSeries { label: "lr", points: &b }])
            .unwrap();
        assert_eq!(svg.matches("<circle class=\"point\"").count(), 3);
        assert!(svg.contains(">0.001</text>") && svg.contains(">0.1</text>"), "{svg}");
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn categories_label_their_ticks() {
        let pts = [(0.0, 0.5), (1.0, 0.6)];
        let scale = Scale::Categories(vec!["adam".into(), "<sgd>".into()]);
        let svg = scatter_chart("optimizer", "auc", &scale, &[ScatterSeries { label: "m", points: &pts }]).unwrap();
        assert!(svg.contains(">adam</text>") && svg.contains("&lt;sgd&gt;"));
        assert!(scatter_chart("x", "y", &Scale::Linear, &[ScatterSeries { label: "m", points: &[(f64::NAN, 1.0)] }]).is_none());
    }
}
