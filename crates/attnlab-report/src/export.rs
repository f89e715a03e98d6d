//! The results table for papers and scripts: Markdown, LaTeX or CSV.

use crate::ReportInput;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    Markdown,
    Latex,
    Csv,
}

impl TableFormat {
    pub fn parse(name: &str) -> Option<TableFormat> {
        match name {
            "md" | "markdown" => Some(TableFormat::Markdown),
            "latex" | "tex" => Some(TableFormat::Latex),
            "csv" => Some(TableFormat::Csv),
            _ => None,
        }
    }
}

/// One row per run (its experiment when there are several, name with the
/// sweep trial's values, model, seed, status, then each metric column); the
/// best finished value of each column is bold in Markdown and LaTeX.
pub fn render_table(input: &ReportInput, format: TableFormat) -> String {
    let many = input.runs.iter().any(|r| r.experiment != input.runs[0].experiment);
    let mut header = vec!["run".to_string(), "model".into(), "seed".into(), "status".into()];
    if many {
        header.insert(0, "experiment".into());
    }
    header.extend(input.metrics.iter().map(|m| m.label.clone()));
    let best = input.best_per_metric();
    let rows: Vec<Vec<(String, bool)>> = input
        .runs
        .iter()
        .map(|r| {
            let name = if r.sweep.is_empty() { r.name.clone() } else { format!("{} [{}]", r.name, crate::sweep::sweep_label(r)) };
            let mut row = vec![(name, false), (r.model.clone(), false), (r.seed.to_string(), false), (r.status.clone(), false)];
            if many {
                row.insert(0, (r.experiment.clone(), false));
            }
            row.extend(input.metrics.iter().zip(&best).map(|(m, b)| match r.metrics.get(&m.key) {
                Some(v) if v.is_finite() => (format!("{v:.4}"), Some(*v) == *b),
                _ => ("-".into(), false),
            }));
            row
        })
        .collect();
    match format {
        TableFormat::Markdown => {
            let line = |cells: Vec<String>| format!("| {} |", cells.join(" | "));
            let mut out = vec![line(header.iter().map(|h| md_escape(h)).collect())];
            out.push(format!("|{}|", vec!["---"; header.len()].join("|")));
            for row in rows {
                out.push(line(row.into_iter().map(|(t, b)| if b { format!("**{}**", md_escape(&t)) } else { md_escape(&t) }).collect()));
            }
            out.join("\n") + "\n"
        }
        TableFormat::Latex => {
            let columns = format!("{}llrl{}", if many { "l" } else { "" }, "r".repeat(input.metrics.len()));
            let mut out = vec![format!("\\begin{{tabular}}{{{columns}}}"), "\\toprule".into()];
            out.push(format!("{} \\\\", header.iter().map(|h| tex_escape(h)).collect::<Vec<_>>().join(" & ")));
            out.push("\\midrule".into());
            for row in rows {
                let cells: Vec<String> =
                    row.into_iter().map(|(t, b)| if b { format!("\\textbf{{{}}}", tex_escape(&t)) } else { tex_escape(&t) }).collect();
                out.push(format!("{} \\\\", cells.join(" & ")));
            }
            out.extend(["\\bottomrule".into(), "\\end{tabular}".into()]);
            out.join("\n") + "\n"
        }
        TableFormat::Csv => {
            let mut out = vec![header.iter().map(|h| csv_field(h)).collect::<Vec<_>>().join(",")];
            for row in rows {
                out.push(row.into_iter().map(|(t, _)| csv_field(&t)).collect::<Vec<_>>().join(","));
            }
            out.join("\n") + "\n"
        }
    }
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

fn tex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            _ => out.push(c),
        }
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}
