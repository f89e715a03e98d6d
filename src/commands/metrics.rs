//! `attnlab metrics FILE`: evaluate predictions made anywhere.

use std::path::Path;

use attnlab_eval::{evaluate_csv_metrics, CsvOptions, TaskMetric};

use crate::exit::BadInput;
use crate::table::{fmt_value, Table};

pub fn metrics(file: &Path, names: &str, csv: &CsvOptions, json: bool) -> anyhow::Result<()> {
    let metrics = names
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(TaskMetric::parse)
        .collect::<Result<Vec<_>, _>>()?;
    if metrics.is_empty() {
        return Err(BadInput("--metrics names no metric".into()).into());
    }
    let values = evaluate_csv_metrics(file, &metrics, csv).map_err(|e| BadInput(e.to_string()))?;
    if json {
        let map: serde_json::Map<String, serde_json::Value> =
            values.iter().map(|(m, v)| (m.name(), serde_json::json!(v))).collect();
        println!("{}", serde_json::to_string_pretty(&map)?);
    } else {
        let mut table = Table::new(&["metric", "value"]);
        for (m, v) in &values {
            table.row(vec![m.name(), fmt_value(Some(*v))]);
        }
        print!("{}", table.render());
    }
    Ok(())
}
