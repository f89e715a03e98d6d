//! `attnlab report`: one self-contained HTML page per experiment, or
//! several experiments side by side when their protocols match.

use std::path::{Path, PathBuf};

use attnlab_experiment::report_input::report_input;
use attnlab_report::{render_html, render_table, TableFormat};

use crate::exit::BadInput;
use crate::output_file::write_atomically;

pub struct ReportOptions<'a> {
    pub output: Option<PathBuf>,
    pub baseline: Option<&'a str>,
    pub format: &'a str,
    /// Compare experiments whose protocols differ (with a warning).
    pub force: bool,
}

pub fn report(experiments: &[String], options: ReportOptions<'_>, store_path: &Path) -> anyhow::Result<()> {
    let ReportOptions { output, baseline, format, force } = options;
    let table_format = match format {
        "html" => None,
        other => Some(TableFormat::parse(other).ok_or_else(|| BadInput(format!("--format `{other}`: html, md, latex or csv")))?),
    };
    let mut names: Vec<String> = Vec::new();
    for e in experiments {
        let name = experiment_name(e)?;
        if names.contains(&name) {
            return Err(BadInput(format!("experiment `{name}` is named twice")).into());
        }
        names.push(name);
    }
    let store = crate::exit::open_store_for_reading(store_path)?;
    let input = report_input(&store, &names, baseline, force)?;
    for w in &input.warnings {
        eprintln!("warning: {w}");
    }
    let name = names.join("-vs-");
    if let Some(table_format) = table_format {
        let table = render_table(&input, table_format);
        match output {
            Some(path) => write_atomically(&path, |w| Ok(w.write_all(table.as_bytes())?))?,
            None => print!("{table}"),
        }
        return Ok(());
    }
    let output = output.unwrap_or_else(|| PathBuf::from("reports").join(format!("{name}.html")));
    let html = render_html(&input)?;
    write_atomically(&output, |w| Ok(w.write_all(html.as_bytes())?))?;
    println!("report: {}", output.display());
    Ok(())
}

/// A spec file names its experiment; anything else is the name itself.
fn experiment_name(arg: &str) -> anyhow::Result<String> {
    let path = Path::new(arg);
    let is_spec = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
    if is_spec {
        return Ok(attnlab_spec::load_spec(path, &[])?.spec.name);
    }
    Ok(arg.to_string())
}

