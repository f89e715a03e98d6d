//! `attnlab export-events [--events LOG] -o FILE`: the serve event log
//! written as an attention log by `attnlab_serve::export_events`, atomically.

use std::path::Path;

use crate::output_file::write_atomically;

pub fn export_events(events: Option<&Path>, output: &Path, store_path: &Path) -> anyhow::Result<()> {
    let default = store_path.parent().unwrap_or(Path::new(".")).join("serve-events.jsonl");
    let log = events.unwrap_or(&default);
    let exported = attnlab_serve::export_events(log)?;
    write_atomically(output, |w| Ok(w.write_all(exported.csv.as_bytes())?))?;
    println!(
        "{}: {} impressions, {} clicks ({} dwells on a click) of {} users from {}",
        output.display(),
        exported.impressions,
        exported.clicks,
        exported.dwells_on_clicks,
        exported.users,
        log.display()
    );
    Ok(())
}
