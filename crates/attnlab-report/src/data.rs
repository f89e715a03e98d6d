//! The page's JSON data block: what the inline script needs beyond the
//! tables it reads from the page itself. The exact `report --format
//! md|latex` text of the results table for its copy buttons, each listed
//! run's differing params and metric values for comparing two runs, and
//! the points of every learning-curve line for hover and the log axis.

use serde::Serialize;

use crate::curves::{Chart, DrawnLine};
use crate::error::Result;
use crate::export::{render_table, TableFormat};
use crate::ReportInput;

#[derive(Serialize)]
pub(crate) struct PageData<'a> {
    markdown: String,
    latex: String,
    /// Metric column labels, in the order of [`RunData::metrics`].
    metrics: Vec<&'a str>,
    /// One per row of the results table, in its order.
    runs: Vec<RunData>,
    /// One per learning-curve chart, in page order: `(label, points)` per line.
    charts: Vec<&'a [DrawnLine]>,
}

/// A row of the results table, for comparing two runs.
#[derive(Serialize)]
pub(crate) struct RunData {
    /// The run's legend label.
    pub label: String,
    /// The params that differ between runs, as `(key, value)`.
    pub params: Vec<(String, String)>,
    /// Display text per metric column, as in the table.
    pub metrics: Vec<String>,
}

pub(crate) fn page_data<'a>(input: &'a ReportInput, runs: Vec<RunData>, charts: &'a [Chart]) -> PageData<'a> {
    PageData {
        markdown: render_table(input, TableFormat::Markdown),
        latex: render_table(input, TableFormat::Latex),
        metrics: input.metrics.iter().map(|m| m.label.as_str()).collect(),
        runs,
        charts: charts.iter().map(|c| c.lines.as_slice()).collect(),
    }
}

/// The data as JSON safe to place inside `<script type="application/json">`:
/// `<`, `>` and `&` become `\u003c`, `\u003e` and `\u0026`, so no string
/// from a spec or run can close the element (`</script>`) or open a
/// comment; `JSON.parse` reads them back unchanged.
pub(crate) fn script_json(data: &PageData<'_>) -> Result<String> {
    let json = serde_json::to_string(data)?;
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            // Line separators are valid in JSON but not in older JS parsers.
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            _ => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_its_element_and_parses_back() {
        let input = ReportInput { experiment: "x".into(), ..Default::default() };
        let evil = "</script><script>alert(1)</script><!-- & \u{2028}";
        let run = RunData { label: evil.into(), params: vec![(evil.into(), evil.into())], metrics: vec![evil.into()] };
        let data = page_data(&input, vec![run], &[]);
        let json = script_json(&data).unwrap();
        assert!(!json.contains('<') && !json.contains('>') && !json.contains('&'), "{json}");
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["runs"][0]["label"], evil);
        assert_eq!(back["runs"][0]["params"][0][1], evil);
    }
}
