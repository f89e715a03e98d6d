//! Heatmaps of attention weights: one row per sample (a user's history, or
//! one field attending to the others), one cell per attended element.

use std::fmt::Write as _;

use super::colour::{dark_on_blues, ramp, BLUES};
use super::{escape_xml, num, truncate};

/// One cell: its weight, a short text drawn inside and a tooltip.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatCell {
    pub value: f64,
    pub text: String,
    pub title: String,
}

/// One row; rows may differ in length (histories do).
#[derive(Debug, Clone, PartialEq)]
pub struct HeatRow {
    pub label: String,
    pub cells: Vec<HeatCell>,
}

const LABEL_W: f64 = 200.0;
const CELL_W: f64 = 46.0;
const CELL_H: f64 = 22.0;
const HEADER_H: f64 = 20.0;

/// Cell shade spans the map's weights from the smallest (lightest) to the
/// largest (darkest), as plotting tools scale heatmaps; a map of equal
/// weights is drawn mid-scale. Non-finite weights are blank.
/// With `right_align`, short rows end in the last column (histories: the
/// most recent item lines up across users). `None` when no row has a cell.
pub fn heatmap(title: &str, rows: &[HeatRow], column_labels: &[String], right_align: bool) -> Option<String> {
    let columns = rows.iter().map(|r| r.cells.len()).max().unwrap_or(0).max(column_labels.len());
    if rows.iter().all(|r| r.cells.is_empty()) {
        return None;
    }
    let finite = || rows.iter().flat_map(|r| &r.cells).map(|c| c.value).filter(|v| v.is_finite());
    let (min, max) = (finite().fold(f64::INFINITY, f64::min), finite().fold(f64::NEG_INFINITY, f64::max));
    let shade = |v: f64| {
        if !v.is_finite() {
            0.0
        } else if max > min {
            (v - min) / (max - min)
        } else {
            0.5
        }
    };
    let top = if column_labels.is_empty() { 4.0 } else { HEADER_H };
    let (w, h) = (LABEL_W + CELL_W * columns as f64 + 8.0, top + CELL_H * rows.len() as f64 + 6.0);
    let title = escape_xml(title);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart heatmap\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" \
         aria-label=\"{title}\" font-family=\"sans-serif\" font-size=\"10\"><title>{title}</title>",
        w = num(w),
        h = num(h)
    );
    for (j, label) in column_labels.iter().enumerate() {
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#444\">{}</text>",
            num(LABEL_W + CELL_W * (j as f64 + 0.5)),
            num(top - 6.0),
            escape_xml(&truncate(label, 8))
        );
    }
    for (i, row) in rows.iter().enumerate() {
        let y = top + CELL_H * i as f64;
        let _ = write!(
            svg,
            "<g class=\"heat-row\"><text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#222\">{}</text>",
            num(LABEL_W - 6.0),
            num(y + CELL_H / 2.0 + 3.5),
            escape_xml(&truncate(&row.label, 34))
        );
        let shift = if right_align { columns - row.cells.len() } else { 0 };
        for (j, cell) in row.cells.iter().enumerate() {
            let j = j + shift;
            let t = shade(cell.value);
            let x = LABEL_W + CELL_W * j as f64;
            let _ = write!(
                svg,
                "<g class=\"cell\"><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"#fff\"/>\
                 <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{}\">{}</text></g>",
                escape_xml(&cell.title),
                num(x),
                num(y),
                num(CELL_W),
                num(CELL_H),
                ramp(&BLUES, t),
                num(x + CELL_W / 2.0),
                num(y + CELL_H / 2.0 + 3.5),
                if dark_on_blues(t) { "#fff" } else { "#222" },
                escape_xml(&truncate(&cell.text, 7))
            );
        }
        svg.push_str("</g>");
    }
    svg.push_str("</svg>");
    Some(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn darkest_cell_is_the_largest_weight_and_text_is_escaped() {
        let cell = |v: f64, t: &str| HeatCell { value: v, text: t.into(), title: format!("{t}: {v}") };
        let rows = vec![
            HeatRow { label: "user <1>".into(), cells: vec![cell(0.25, "i1"), cell(0.75, "i2")] },
            HeatRow { label: "user 2".into(), cells: vec![cell(1.0, "i3")] },
        ];
        let svg = heatmap("din", &rows, &[], true).unwrap();
        assert_eq!(svg.matches("<g class=\"cell\">").count(), 3);
        assert_eq!(svg.matches("fill=\"#08306b\"").count(), 1, "only the largest weight is darkest");
        assert!(svg.contains("user &lt;1&gt;") && !svg.contains("user <1>"));
        assert!(svg.contains("<rect x=\"246\" y=\"26\""), "the short row ends in the last column: {svg}");
        assert!(heatmap("x", &[HeatRow { label: "u".into(), cells: vec![] }], &[], false).is_none());
    }
}
