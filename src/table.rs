//! Plain-text tables for the terminal.

pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table { header: header.iter().map(|h| h.to_string()).collect(), rows: Vec::new() }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let widths: Vec<usize> = (0..self.header.len())
            .map(|c| {
                self.rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).chain([self.header[c].len()]).max().unwrap_or(0)
            })
            .collect();
        let line = |cells: &[String]| {
            cells.iter().zip(&widths).map(|(s, w)| format!("{s:<w$}")).collect::<Vec<_>>().join("  ").trim_end().to_string()
        };
        let mut out = vec![line(&self.header), widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  ")];
        out.extend(self.rows.iter().map(|r| line(r)));
        out.join("\n") + "\n"
    }
}

/// A metric value for a table: 4 decimals, or a dash when missing.
pub fn fmt_value(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.4}"))
}
