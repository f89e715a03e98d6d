//! Hand-written, deterministic SVG charts: line charts (with optional
//! min-max bands) here; scatter plots, parallel coordinates, heatmaps and
//! interval charts in the submodules, all on the same axes, palette and number formatting.
//!
//! The HTML template inserts this output with `| safe`, so every piece of
//! text embedded here goes through [`escape_xml`] first. Non-finite values
//! are dropped and every coordinate is formatted through [`num`], so the
//! output never contains `NaN` or `inf` whatever the input.

use std::fmt::Write as _;

/// One line of a chart: a legend label and its `(step, value)` points.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    pub label: &'a str,
    pub points: &'a [(i64, f64)],
}

/// The Okabe-Ito palette (Okabe & Ito 2008), chosen to stay distinct under
/// the common colour-vision deficiencies (tested in `colour`); yellow comes
/// last as it is faint on white. Dash patterns take over once colours
/// repeat and keep lines apart on greyscale print-outs.
pub(crate) const PALETTE: [&str; 8] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];
const DASHES: [&str; 4] = ["", "6 3", "2 3", "8 3 2 3"];

const WIDTH: f64 = 720.0;
const PLOT_LEFT: f64 = 70.0;
const PLOT_RIGHT: f64 = 520.0;
const PLOT_TOP: f64 = 16.0;
const LEGEND_X: f64 = 540.0;
const LEGEND_ROW: f64 = 18.0;
const MIN_HEIGHT: f64 = 280.0;
const BOTTOM_MARGIN: f64 = 46.0;
const LEGEND_MAX_CHARS: usize = 24;
/// Above this many points per line, point markers only add clutter.
const MAX_MARKERS: usize = 40;

/// Escapes text for use in XML/HTML content and attribute values.
pub fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Renders one line chart, one polyline per series that has finite points.
///
/// `y_label` names the plotted quantity (e.g. the curve key); `x` is the step.
/// Returns `None` when no series has a single finite point: there is nothing
/// to draw and the caller should skip the chart.
pub fn line_chart(y_label: &str, series: &[Series<'_>]) -> Option<String> {
    line_chart_with_bands(y_label, series, &[])
}

/// A shaded `(step, low, high)` band behind the series of the same index,
/// e.g. the min-max range of the runs a mean curve summarises.
pub type Band<'a> = &'a [(i64, f64, f64)];

/// [`line_chart`] with a band per series (`bands[i]` goes with `series[i]`;
/// missing or empty bands draw nothing). Bands widen the value axis.
pub fn line_chart_with_bands(y_label: &str, series: &[Series<'_>], bands: &[Band<'_>]) -> Option<String> {
    line_chart_on(y_label, series, bands, None)
}

/// The finite points of a line, ordered by step so it never zig-zags back:
/// exactly the points [`line_chart`] draws, in its order.
pub fn drawn_points(points: &[(i64, f64)]) -> Vec<(i64, f64)> {
    let mut pts: Vec<(i64, f64)> = points.iter().copied().filter(|p| p.1.is_finite()).collect();
    pts.sort_by_key(|p| p.0);
    pts
}

/// [`line_chart_with_bands`] whose value axis covers at least `y_range`
/// (when given): small multiples of one metric share it, so their lines
/// compare by eye. The `<svg>` carries its plot area and axis ranges as
/// `data-` attributes and each series and legend entry its label as
/// `data-run`, for the page's script (hover, legend toggles, log scale).
pub fn line_chart_on(y_label: &str, series: &[Series<'_>], bands: &[Band<'_>], y_range: Option<(f64, f64)>) -> Option<String> {
    let cleaned: Vec<Vec<(i64, f64)>> = series.iter().map(|s| drawn_points(s.points)).collect();

    let bands: Vec<Vec<(i64, f64, f64)>> = (0..series.len())
        .map(|i| {
            let mut b: Vec<(i64, f64, f64)> = bands
                .get(i)
                .map_or(&[][..], |b| *b)
                .iter()
                .copied()
                .filter(|p| p.1.is_finite() && p.2.is_finite())
                .collect();
            b.sort_by_key(|p| p.0);
            b
        })
        .collect();

    let all = cleaned.iter().flatten().copied();
    let band_ends = bands.iter().flatten().flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)]);
    let (mut xmin, mut xmax) = (i64::MAX, i64::MIN);
    let (mut ymin, mut ymax) = match y_range {
        Some((lo, hi)) if lo.is_finite() && hi.is_finite() && lo <= hi => (lo, hi),
        _ => (f64::INFINITY, f64::NEG_INFINITY),
    };
    let mut any = false;
    for (x, y) in all.chain(band_ends) {
        any = true;
        xmin = xmin.min(x);
        xmax = xmax.max(x);
        ymin = ymin.min(y);
        ymax = ymax.max(y);
    }
    if !any || cleaned.iter().all(Vec::is_empty) {
        return None;
    }

    let drawn = cleaned.iter().filter(|p| !p.is_empty()).count();
    let height = MIN_HEIGHT.max(PLOT_TOP + LEGEND_ROW * drawn as f64 + BOTTOM_MARGIN);
    let plot_bottom = height - BOTTOM_MARGIN;

    let xs = Axis::for_steps(xmin, xmax);
    let ys = Axis::for_values(ymin, ymax);
    let step_label = |t: f64| xs.label(t);
    let frame = Frame { xs: &xs, x_ticks: &step_label, ys: &ys, x_title: "step", y_title: y_label, plot_bottom };
    let (px, py) = (|x: f64| frame.px(x), |y: f64| frame.py(y));
    let mut svg = open_svg(height, &format!("{y_label} by step"));
    // The plot geometry, so the script can map pointer positions to steps
    // and redraw the lines on a log axis.
    svg.insert_str(
        "<svg".len(),
        &format!(
            " data-plot=\"{} {} {} {}\" data-x=\"{} {}\" data-y=\"{} {}\"",
            num(PLOT_LEFT),
            num(PLOT_TOP),
            num(PLOT_RIGHT),
            num(plot_bottom),
            exact(xs.lo),
            exact(xs.hi),
            exact(ys.lo),
            exact(ys.hi)
        ),
    );
    draw_frame(&mut svg, &frame);

    // Bands first, so every line stays on top of every band.
    for (i, band) in bands.iter().enumerate().filter(|(i, b)| b.len() > 1 && !cleaned[*i].is_empty()) {
        let upper = band.iter().map(|&(x, _, hi)| format!("{},{}", num(px(x as f64)), num(py(hi))));
        let lower = band.iter().rev().map(|&(x, lo, _)| format!("{},{}", num(px(x as f64)), num(py(lo))));
        let _ = write!(
            svg,
            "<polygon class=\"band\" fill=\"{}\" fill-opacity=\"0.15\" stroke=\"none\" points=\"{}\"/>",
            PALETTE[i % PALETTE.len()],
            upper.chain(lower).collect::<Vec<_>>().join(" ")
        );
    }

    // Lines, markers and legend. Style is keyed on the series index so a run
    // keeps the same colour in every chart of a report.
    let mut row = 0usize;
    for (i, (s, pts)) in series.iter().zip(&cleaned).enumerate() {
        if pts.is_empty() {
            continue;
        }
        let color = PALETTE[i % PALETTE.len()];
        let dash = DASHES[(i / PALETTE.len()) % DASHES.len()];
        let dash_attr = if dash.is_empty() {
            String::new()
        } else {
            format!(" stroke-dasharray=\"{dash}\"")
        };
        let coords: Vec<String> = pts
            .iter()
            .map(|&(x, y)| format!("{},{}", num(px(x as f64)), num(py(y))))
            .collect();
        let name = escape_xml(s.label);
        let _ = write!(
            svg,
            "<g class=\"series\" data-run=\"{name}\"><title>{name}</title>\
             <polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{dash_attr} \
             stroke-linejoin=\"round\" points=\"{}\"/>",
            coords.join(" ")
        );
        if pts.len() <= MAX_MARKERS {
            for c in &coords {
                let (cx, cy) = c.split_once(',').unwrap_or(("0", "0"));
                let _ = write!(
                    svg,
                    "<circle cx=\"{cx}\" cy=\"{cy}\" r=\"2.5\" fill=\"{color}\"/>"
                );
            }
        }
        svg.push_str("</g>");

        let ly = PLOT_TOP + 6.0 + LEGEND_ROW * row as f64;
        let mark = format!(
            "<line x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"{color}\" stroke-width=\"2\"{dash_attr}/>",
            x1 = num(LEGEND_X),
            x2 = num(LEGEND_X + 22.0),
            y = num(ly),
        );
        legend_entry(&mut svg, row, &mark, s.label);
        row += 1;
    }

    svg.push_str("</svg>");
    Some(svg)
}

/// `<svg ...><title>` of a chart `height` high; the caller closes it.
fn open_svg(height: f64, title: &str) -> String {
    let title = escape_xml(title);
    // No xmlns: inline SVG in HTML5 does not need it, and the report must not
    // contain any URL at all.
    format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" \
         role=\"img\" aria-label=\"{title}\" font-family=\"sans-serif\" font-size=\"11\">\
         <title>{title}</title>",
        w = num(WIDTH),
        h = num(height),
    )
}

/// What [`draw_frame`] draws: two axes over the plot area, tick labels
/// (`x_ticks` names the x ticks, e.g. category names) and axis titles.
struct Frame<'a> {
    xs: &'a Axis,
    x_ticks: &'a dyn Fn(f64) -> String,
    ys: &'a Axis,
    x_title: &'a str,
    y_title: &'a str,
    plot_bottom: f64,
}

impl Frame<'_> {
    fn px(&self, x: f64) -> f64 {
        PLOT_LEFT + self.xs.frac(x) * (PLOT_RIGHT - PLOT_LEFT)
    }

    fn py(&self, y: f64) -> f64 {
        self.plot_bottom - self.ys.frac(y) * (self.plot_bottom - PLOT_TOP)
    }
}

/// Grid, ticks, axes and axis titles of a chart with the plot area between
/// `PLOT_LEFT..PLOT_RIGHT` and `PLOT_TOP..plot_bottom`.
fn draw_frame(svg: &mut String, f: &Frame<'_>) {
    svg.push_str("<g class=\"grid\" stroke=\"#e3e3e3\" stroke-width=\"1\">");
    for &t in &f.ys.ticks {
        let _ = write!(svg, "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\"/>", num(PLOT_LEFT), num(PLOT_RIGHT), y = num(f.py(t)));
    }
    svg.push_str("</g><g class=\"ticks\" fill=\"#444\">");
    for &t in &f.ys.ticks {
        let _ = write!(
            svg,
            "<text class=\"yt\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            num(PLOT_LEFT - 6.0),
            num(f.py(t) + 4.0),
            escape_xml(&f.ys.label(t))
        );
    }
    for &t in &f.xs.ticks {
        let _ = write!(
            svg,
            "<line x1=\"{x}\" y1=\"{b}\" x2=\"{x}\" y2=\"{b5}\" stroke=\"#444\"/>\
             <text x=\"{x}\" y=\"{ty}\" text-anchor=\"middle\">{}</text>",
            escape_xml(&truncate(&(f.x_ticks)(t), 12)),
            x = num(f.px(t)),
            b = num(f.plot_bottom),
            b5 = num(f.plot_bottom + 5.0),
            ty = num(f.plot_bottom + 18.0),
        );
    }
    let _ = write!(
        svg,
        "</g><g class=\"axes\" stroke=\"#444\" stroke-width=\"1\" fill=\"none\">\
         <line x1=\"{l}\" y1=\"{t}\" x2=\"{l}\" y2=\"{b}\"/>\
         <line x1=\"{l}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\"/></g>\
         <text x=\"{cx}\" y=\"{xl}\" text-anchor=\"middle\" fill=\"#222\">{x_title}</text>\
         <text x=\"14\" y=\"{cy}\" text-anchor=\"middle\" fill=\"#222\" \
         transform=\"rotate(-90 14 {cy})\">{y_title}</text>",
        l = num(PLOT_LEFT),
        r = num(PLOT_RIGHT),
        t = num(PLOT_TOP),
        b = num(f.plot_bottom),
        cx = num((PLOT_LEFT + PLOT_RIGHT) / 2.0),
        xl = num(f.plot_bottom + 36.0),
        cy = num((PLOT_TOP + f.plot_bottom) / 2.0),
        x_title = escape_xml(f.x_title),
        y_title = escape_xml(f.y_title),
    );
}

/// One legend row right of the plot: `mark` (SVG drawn at the row) and the label.
fn legend_entry(svg: &mut String, row: usize, mark: &str, label: &str) {
    let ly = PLOT_TOP + 6.0 + LEGEND_ROW * row as f64;
    let _ = write!(
        svg,
        "<g class=\"legend\" data-run=\"{}\">{mark}<text x=\"{tx}\" y=\"{ty}\" fill=\"#222\">{}</text></g>",
        escape_xml(label),
        escape_xml(&truncate(label, LEGEND_MAX_CHARS)),
        tx = num(LEGEND_X + 28.0),
        ty = num(ly + 4.0),
    );
}

/// Formats a coordinate; a non-finite value (only possible with absurd
/// input ranges) degrades to 0 rather than leaking `NaN` into the SVG.
fn num(v: f64) -> String {
    if !v.is_finite() {
        return "0".to_string();
    }
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" || s.is_empty() {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// A number at full precision (shortest round-trip form) for the script;
/// non-finite values degrade to 0 like [`num`].
fn exact(v: f64) -> String {
    if v.is_finite() { v.to_string() } else { "0".to_string() }
}

/// Truncates to `max` characters (not bytes, so multi-byte names are safe).
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Data range of one axis plus its tick positions.
struct Axis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
    /// Decimals for tick labels; `None` means scientific notation.
    decimals: Option<usize>,
    /// Positions are proportional to log10 of the value (lo > 0).
    log: bool,
}

impl Axis {
    fn for_steps(min: i64, max: i64) -> Axis {
        let (lo, hi) = if min == max {
            // A single step gets a unit of room on each side so it is centred.
            (min as f64 - 1.0, max as f64 + 1.0)
        } else {
            (min as f64, max as f64)
        };
        // Steps are integers: never place ticks between them.
        let step = nice_step((hi - lo) / 6.0).max(1.0);
        let decimals = if hi.abs().max(lo.abs()) >= 1e9 { None } else { Some(0) };
        Axis {
            lo,
            hi,
            ticks: ticks(lo, hi, step),
            decimals,
            log: false,
        }
    }

    fn for_values(min: f64, max: f64) -> Axis {
        let span = max - min;
        let pad = if span > 0.0 {
            span * 0.05
        } else if min == 0.0 {
            1.0
        } else {
            // Constant series: open a band around it so it is drawn mid-plot.
            min.abs() * 0.05
        };
        let (mut lo, mut hi) = (min - pad, max + pad);
        if !(lo.is_finite() && hi.is_finite() && pad.is_finite()) {
            (lo, hi) = (min, max);
        }
        let step = nice_step((hi - lo) / 5.0);
        let big = hi.abs().max(lo.abs());
        let decimals = if big >= 1e6 || step < 1e-6 {
            None
        } else {
            Some((-step.log10().floor()).clamp(0.0, 8.0) as usize)
        };
        Axis {
            lo,
            hi,
            ticks: ticks(lo, hi, step),
            decimals,
            log: false,
        }
    }

    /// A logarithmic axis for positive values spanning decades, ticked at
    /// powers of ten. Callers check [`spans_decades`] first.
    fn for_log_values(min: f64, max: f64) -> Axis {
        let (lo, hi) = (10f64.powf(min.log10().floor()), 10f64.powf(max.log10().ceil()));
        let ticks = (lo.log10().round() as i32..=hi.log10().round() as i32).map(|e| 10f64.powi(e)).collect();
        Axis { lo, hi, ticks, decimals: None, log: true }
    }

    /// Position of `v` within the range, 0..=1; mid-axis when degenerate.
    fn frac(&self, v: f64) -> f64 {
        if self.log {
            let span = self.hi.log10() - self.lo.log10();
            return if v > 0.0 && span > 0.0 { (v.log10() - self.lo.log10()) / span } else { 0.0 };
        }
        let span = self.hi - self.lo;
        if span > 0.0 && span.is_finite() {
            (v - self.lo) / span
        } else {
            0.5
        }
    }

    fn label(&self, v: f64) -> String {
        if self.log {
            return short_number(v);
        }
        let s = match self.decimals {
            Some(d) => format!("{v:.d$}"),
            None => format!("{v:.2e}"),
        };
        // "-0.00" reads as a bug; show it unsigned.
        if s.starts_with('-') && s.chars().all(|c| matches!(c, '-' | '0' | '.')) {
            s[1..].to_string()
        } else {
            s
        }
    }
}

/// True for positive values whose max is at least 100 times their min: a
/// linear axis would squash all but the largest into one corner.
pub(crate) fn spans_decades(values: impl IntoIterator<Item = f64>) -> bool {
    let (mut lo, mut hi) = (f64::INFINITY, 0f64);
    for v in values {
        if !(v.is_finite() && v > 0.0) {
            return false;
        }
        lo = lo.min(v);
        hi = hi.max(v);
    }
    hi >= 100.0 * lo
}

/// A value as a short label: `0.001`, `25`, `1e-5`, `3e6`.
pub(crate) fn short_number(v: f64) -> String {
    if !v.is_finite() {
        return "?".into();
    }
    if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e5) {
        let s = format!("{v:.3e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        return format!("{mantissa}e{exp}");
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let base = 10f64.powf(raw.log10().floor());
    let f = raw / base;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    let step = nice * base;
    if step.is_finite() && step > 0.0 { step } else { 1.0 }
}

/// Multiples of `step` within `[lo, hi]`; falls back to the two ends when the
/// range is too odd to tick (never loops unboundedly).
fn ticks(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let mut out = Vec::new();
    let span = hi - lo;
    if span.is_finite() && span > 0.0 && step.is_finite() && step > 0.0 && span / step <= 50.0 {
        let start = (lo / step).ceil() * step;
        let eps = step * 1e-9;
        for i in 0..=50 {
            let t = start + step * i as f64;
            if t > hi + eps {
                break;
            }
            // Snap tiny rounding residue (e.g. 3e-17) to a clean zero.
            out.push(if t.abs() < eps { 0.0 } else { t });
        }
    }
    if out.is_empty() {
        out.push(lo);
        if hi != lo {
            out.push(hi);
        }
    }
    out.retain(|t| t.is_finite());
    out
}

mod colour;
mod heatmap;
mod intervals;
mod parallel;
mod scatter;

pub use heatmap::{heatmap, HeatCell, HeatRow};
pub use intervals::{interval_chart, Interval};
pub use parallel::{parallel_coordinates, ParallelAxis, ParallelLine};
pub use scatter::{scatter_chart, Scale, ScatterSeries};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_axis_and_short_numbers() {
        assert!(spans_decades([0.001, 0.01, 0.1]));
        assert!(!spans_decades([0.01, 0.05]));
        assert!(!spans_decades([0.0, 1.0, 1000.0]));
        let a = Axis::for_log_values(0.0005, 0.2);
        assert_eq!(a.ticks, vec![1e-4, 1e-3, 1e-2, 1e-1, 1.0]);
        assert!((a.frac(1e-2) - 0.5).abs() < 1e-12);
        assert_eq!(short_number(0.001), "0.001");
        assert_eq!(short_number(1e-5), "1e-5");
        assert_eq!(short_number(2.5e6), "2.5e6");
        assert_eq!(short_number(25.0), "25");
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(0.013), 0.02);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(7.0), 10.0);
        assert_eq!(nice_step(f64::NAN), 1.0);
    }

    #[test]
    fn ticks_cover_range() {
        let t = ticks(0.0, 1.0, 0.2);
        assert_eq!(t.len(), 6);
        assert_eq!(t[0], 0.0);
        assert!((t[5] - 1.0).abs() < 1e-12);
        // Degenerate inputs still give finite ticks.
        assert_eq!(ticks(1.0, 1.0, 0.0), vec![1.0]);
    }

    #[test]
    fn num_formats_cleanly() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(1.256), "1.26");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(f64::NAN), "0");
    }

    #[test]
    fn truncate_is_char_safe() {
        assert_eq!(truncate("ééééé", 3), "éé…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
