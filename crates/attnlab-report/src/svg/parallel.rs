//! Parallel coordinates: one vertical axis per swept parameter plus the
//! metric, one polyline per trial, coloured by the metric.

use std::fmt::Write as _;

use super::colour::{ramp, VIRIDIS};
use super::{escape_xml, num, open_svg, short_number, truncate, Scale, PLOT_TOP};

/// One vertical axis.
#[derive(Debug, Clone, PartialEq)]
pub struct ParallelAxis {
    pub label: String,
    pub scale: Scale,
}

/// One trial: a value per axis (category index on categorical axes) and
/// the value its colour encodes.
#[derive(Debug, Clone, PartialEq)]
pub struct ParallelLine {
    pub label: String,
    pub values: Vec<f64>,
    pub colour_value: f64,
}

const LEFT: f64 = 60.0;
const RIGHT: f64 = 590.0;
const HEIGHT: f64 = 320.0;
const BOTTOM: f64 = 290.0;
/// Room above the axes for their names.
const AXIS_TOP: f64 = PLOT_TOP + 22.0;
const BAR_X: f64 = 660.0;

/// `None` without axes or without a line whose values are all finite.
pub fn parallel_coordinates(axes: &[ParallelAxis], lines: &[ParallelLine], colour_title: &str) -> Option<String> {
    let lines: Vec<&ParallelLine> = lines
        .iter()
        .filter(|l| l.values.len() == axes.len() && l.colour_value.is_finite())
        .filter(|l| l.values.iter().zip(axes).all(|(v, a)| v.is_finite() && (a.scale != Scale::Log || *v > 0.0)))
        .collect();
    if axes.is_empty() || lines.is_empty() {
        return None;
    }
    let scaled: Vec<_> = axes
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let (lo, hi) = lines.iter().map(|l| l.values[i]).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
            a.scale.axis(lo, hi)
        })
        .collect();
    let x_of = |i: usize| if axes.len() == 1 { (LEFT + RIGHT) / 2.0 } else { LEFT + (RIGHT - LEFT) * i as f64 / (axes.len() - 1) as f64 };
    let y_of = |i: usize, v: f64| BOTTOM - scaled[i].frac(v) * (BOTTOM - AXIS_TOP);
    let (cmin, cmax) = lines.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), l| (a.min(l.colour_value), b.max(l.colour_value)));
    let colour_of = |v: f64| ramp(&VIRIDIS, if cmax > cmin { (v - cmin) / (cmax - cmin) } else { 0.5 });

    let mut svg = open_svg(HEIGHT, &format!("{colour_title} by trial parameters"));
    // Lines first, worst first, so the best trials are drawn on top.
    let mut order = lines.clone();
    order.sort_by(|a, b| a.colour_value.total_cmp(&b.colour_value));
    svg.push_str("<g class=\"trials\" fill=\"none\" stroke-width=\"1.5\" stroke-opacity=\"0.7\">");
    for l in order {
        let pts: Vec<String> = l.values.iter().enumerate().map(|(i, &v)| format!("{},{}", num(x_of(i)), num(y_of(i, v)))).collect();
        let _ = write!(
            svg,
            "<polyline class=\"trial\" stroke=\"{}\" points=\"{}\"><title>{}</title></polyline>",
            colour_of(l.colour_value),
            pts.join(" "),
            escape_xml(&l.label)
        );
    }
    svg.push_str("</g><g class=\"axes\" fill=\"#222\">");
    for (i, a) in axes.iter().enumerate() {
        let x = num(x_of(i));
        let _ = write!(
            svg,
            "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"#444\"/><text x=\"{x}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>",
            num(AXIS_TOP),
            num(BOTTOM),
            num(PLOT_TOP + 8.0),
            escape_xml(&truncate(&a.label, 18))
        );
        for &t in &scaled[i].ticks {
            let _ = write!(
                svg,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#444\" font-size=\"10\">{}</text>",
                num(x_of(i) - 4.0),
                num(y_of(i, t) + 3.0),
                escape_xml(&truncate(&a.scale.tick_label(&scaled[i], t), 10))
            );
        }
    }
    // The colour bar: the metric from its minimum (bottom) to its maximum (top).
    svg.push_str("</g><g class=\"colour-bar\">");
    let steps = 10;
    let h = (BOTTOM - AXIS_TOP) / steps as f64;
    for k in 0..steps {
        let t = (k as f64 + 0.5) / steps as f64;
        let _ = write!(
            svg,
            "<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"{}\" fill=\"{}\"/>",
            num(BAR_X),
            num(BOTTOM - h * (k + 1) as f64),
            num(h + 0.5),
            ramp(&VIRIDIS, t)
        );
    }
    // No title over the bar: the last axis already names the metric.
    let _ = write!(
        svg,
        "<text x=\"{x}\" y=\"{}\" font-size=\"10\">{}</text><text x=\"{x}\" y=\"{}\" font-size=\"10\">{}</text></g></svg>",
        num(AXIS_TOP + 4.0),
        escape_xml(&short_number(cmax)),
        num(BOTTOM),
        escape_xml(&short_number(cmin)),
        x = num(BAR_X + 18.0),
    );
    Some(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_polyline_per_complete_trial() {
        let axes = vec![
            ParallelAxis { label: "lr".into(), scale: Scale::Log },
            ParallelAxis { label: "valid.auc".into(), scale: Scale::Linear },
        ];
        let line = |lr: f64, auc: f64| ParallelLine { label: format!("lr={lr}"), values: vec![lr, auc], colour_value: auc };
        let svg = parallel_coordinates(&axes, &[line(0.001, 0.7), line(0.1, 0.75), line(f64::NAN, 0.8)], "valid.auc").unwrap();
        assert_eq!(svg.matches("<polyline class=\"trial\"").count(), 2);
        // the best trial is drawn last, in the top colour of the ramp
        let last = svg.rsplit("<polyline class=\"trial\"").next().unwrap();
        assert!(last.contains("#fde725") && last.contains("lr=0.1"), "{last}");
        assert!(parallel_coordinates(&axes, &[], "m").is_none());
    }
}
