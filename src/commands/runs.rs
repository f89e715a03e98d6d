//! `attnlab runs list|show|diff|rm|import`.

use std::path::Path;

use attnlab_track::{diff_runs, DiffRow, RunFilter, RunRecord, RunStatus};

use crate::exit::{open_existing_store, open_store_for_reading, BadInput};
use crate::table::{fmt_value, Table};

/// `key=value` pairs given to --tag / --param.
fn pairs(items: &[String], flag: &str) -> anyhow::Result<Vec<(String, String)>> {
    items
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| BadInput(format!("--{flag} `{kv}`: expected key=value")).into())
        })
        .collect()
}

pub struct ListArgs<'a> {
    pub experiment: Option<&'a str>,
    pub status: Option<&'a str>,
    pub tags: &'a [String],
    pub params: &'a [String],
    /// Only the children of this run (id or prefix): a sweep's trials.
    pub parent: Option<&'a str>,
    pub json: bool,
}

pub fn list(args: ListArgs<'_>, store_path: &Path) -> anyhow::Result<()> {
    let store = open_store_for_reading(store_path)?;
    let filtering = args.experiment.is_some()
        || args.status.is_some()
        || !args.tags.is_empty()
        || !args.params.is_empty()
        || args.parent.is_some();
    if !filtering {
        let experiments = store.experiments()?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&experiments)?);
            return Ok(());
        }
        let mut t = Table::new(&["experiment", "runs"]);
        for e in experiments {
            t.row(vec![e.name, e.runs.to_string()]);
        }
        print!("{}", t.render());
        return Ok(());
    }
    let status = args
        .status
        .map(|s| s.parse::<RunStatus>().map_err(|e| BadInput(format!("--status: {e}"))))
        .transpose()?;
    let filter = RunFilter {
        experiment: args.experiment.map(str::to_string),
        status,
        tags: pairs(args.tags, "tag")?,
        params: pairs(args.params, "param")?,
        parent: args.parent.map(|p| store.resolve_run_id(p)).transpose()?,
    };
    let runs = store.find_runs(&filter)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&runs)?);
        return Ok(());
    }
    let mut t = Table::new(&["run", "experiment", "name", "model", "seed", "status", "test.auc"]);
    for r in runs {
        let auc = r.metrics.get("test.auc").copied();
        t.row(vec![short(&r.id), r.experiment, r.name, r.model, r.seed.to_string(), r.status.to_string(), fmt_value(auc)]);
    }
    print!("{}", t.render());
    Ok(())
}

fn short(id: &str) -> String {
    id[..8.min(id.len())].to_string()
}

pub fn show(run: &str, json: bool, store_path: &Path) -> anyhow::Result<()> {
    let store = open_store_for_reading(store_path)?;
    let id = store.resolve_run_id(run)?;
    let record = store.run(&id)?;
    let artifacts = store.artifacts(&id)?;
    if json {
        let value = serde_json::json!({ "run": record, "artifacts": artifacts });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    print_record(&record);
    if !artifacts.is_empty() {
        println!("\nartifacts");
        for a in artifacts {
            println!("  {:<40} {:>10} bytes  sha256 {}", a.path, a.size, &a.sha256[..16]);
        }
    }
    Ok(())
}

fn print_record(r: &RunRecord) {
    println!("run         {}", r.id);
    println!("experiment  {}", r.experiment);
    println!("name        {} ({}), seed {}", r.name, r.model, r.seed);
    println!("status      {}", r.status);
    if let Some(parent) = &r.parent {
        println!("parent      {parent}");
    }
    println!("run key     {}", r.run_key);
    let section = |title: &str, rows: Vec<(String, String)>| {
        if !rows.is_empty() {
            println!("\n{title}");
            for (k, v) in rows {
                // multi-line values (the resolved spec) are shown on their first line only
                let first = v.lines().next().unwrap_or("");
                let more = if v.lines().count() > 1 { " …" } else { "" };
                println!("  {k:<28} {first}{more}");
            }
        }
    };
    section("params", r.params.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
    section("metrics", r.metrics.iter().map(|(k, v)| (k.clone(), format!("{v:.6}"))).collect());
    section("tags", r.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
}

pub fn diff(runs: &[String], json: bool, store_path: &Path) -> anyhow::Result<()> {
    if runs.len() < 2 {
        return Err(BadInput("runs diff needs at least two runs".into()).into());
    }
    let store = open_store_for_reading(store_path)?;
    let records = runs
        .iter()
        .map(|r| store.resolve_run_id(r).and_then(|id| store.run(&id)))
        .collect::<Result<Vec<_>, _>>()?;
    let diff = diff_runs(&records);
    if json {
        println!("{}", serde_json::to_string_pretty(&diff)?);
        return Ok(());
    }
    let mut header = vec!["".to_string()];
    header.extend(diff.runs.iter().map(|id| short(id)));
    let mut table = Table::new(&header.iter().map(String::as_str).collect::<Vec<_>>());
    let text = |v: &Option<String>| v.as_deref().map_or("-".to_string(), |s| s.lines().next().unwrap_or("").to_string());
    let mut add = |prefix: &str, rows: &[DiffRow<String>]| {
        for (key, values) in rows {
            let mut row = vec![format!("{prefix}{key}")];
            row.extend(values.iter().map(text));
            table.row(row);
        }
    };
    add("", &diff.fields);
    add("param ", &diff.params);
    add("tag ", &diff.tags);
    for (key, values) in &diff.metrics {
        let mut row = vec![format!("metric {key}")];
        row.extend(values.iter().map(|v| fmt_value(*v)));
        table.row(row);
    }
    if diff.is_empty() {
        println!("the runs agree on every field, param, metric and tag");
    } else {
        print!("{}", table.render());
    }
    Ok(())
}

pub fn remove(runs: &[String], force: bool, store_path: &Path) -> anyhow::Result<()> {
    let store = open_existing_store(store_path)?;
    // resolve every id first: a typo in the last one deletes nothing
    let ids = runs.iter().map(|r| store.resolve_run_id(r)).collect::<Result<Vec<_>, _>>()?;
    for id in ids {
        store.delete_run(&id, force)?;
        println!("deleted run {id}");
    }
    Ok(())
}

/// `attnlab runs import`: every source store's runs into this one, then
/// each sweep parent they belong to settled from its children.
pub fn import(sources: &[std::path::PathBuf], store_path: &Path) -> anyhow::Result<()> {
    let mut files = Vec::new();
    for source in sources {
        files.extend(attnlab_track::store_files(source)?);
    }
    let store = attnlab_track::Store::open(store_path)?;
    let mut parents = std::collections::BTreeSet::new();
    for file in files {
        let report = store.import(&file)?;
        println!(
            "{}: {} run(s) added, {} replaced by a finished copy, {} already here, {} artifact file(s)",
            file.display(),
            report.added,
            report.replaced,
            report.unchanged,
            report.artifacts
        );
        parents.extend(report.parents);
    }
    for parent in parents {
        if let Some(status) = store.settle_parent(&parent)? {
            println!("parent run {}: {status}", short(&parent));
        }
    }
    Ok(())
}
