use std::path::Path;

use crate::table::{fmt_value, Table};

pub fn list(experiment: Option<&str>, json: bool, store_path: &Path) -> anyhow::Result<()> {
    let store = crate::exit::open_existing_store(store_path)?;
    match experiment {
        None => {
            let experiments = store.experiments()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&experiments)?);
                return Ok(());
            }
            let mut t = Table::new(&["experiment", "runs"]);
            for e in experiments {
                t.row(vec![e.name, e.runs.to_string()]);
            }
            print!("{}", t.render());
        }
        Some(name) => {
            let runs = store.runs(name)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&runs)?);
                return Ok(());
            }
            let mut t = Table::new(&["run", "name", "model", "seed", "status", "test.auc"]);
            for r in runs {
                let auc = r.metrics.get("test.auc").copied();
                t.row(vec![r.id[..8.min(r.id.len())].to_string(), r.name, r.model, r.seed.to_string(), r.status.to_string(), fmt_value(auc)]);
            }
            print!("{}", t.render());
        }
    }
    Ok(())
}
