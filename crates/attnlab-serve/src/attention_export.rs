//! The event log as an attention log (`attnlab export-events`): the CSV
//! format `dataset.source: attention-log` reads
//! (`attnlab_data::ATTENTION_LOG_HEADER`), so that live feedback becomes
//! the next training run's data.
//!
//! One row per event, in the log's order: an impression is an `impression`
//! row, a click a `click` row. A dwell is time spent after a click: it
//! fills the `dwell_ms` of the user's latest click on that item that has
//! none yet, or, with no such click, is a `click` row of its own (the
//! server counts a dwell as consumption too). Timestamps are the events'
//! milliseconds in whole seconds; the log knows no feed position, ad or
//! price, so `position` is 0, `is_ad` 0 and `bid`, `price` are empty.

use std::collections::HashMap;
use std::fmt::Write;
use std::path::Path;

use attnlab_data::ATTENTION_LOG_HEADER;

use crate::feedback::read_log;
use crate::request::EventKind;
use crate::{Result, ServeError};

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportedEvents {
    /// The attention log's text, header included.
    pub csv: String,
    pub impressions: usize,
    pub clicks: usize,
    /// Dwells that filled an earlier click's `dwell_ms`.
    pub dwells_on_clicks: usize,
    pub users: usize,
}

struct Row {
    user: String,
    item: String,
    ts_s: i64,
    event: &'static str,
    dwell_ms: Option<u64>,
}

/// The attention log of the event log at `log`. A user or item id that
/// the CSV cannot hold (a comma, quote or line break) is refused by the
/// log's line and field.
pub fn export_events(log: &Path) -> Result<ExportedEvents> {
    let events = read_log(log)?;
    let mut rows: Vec<Row> = Vec::with_capacity(events.len());
    // per (user, item), the click rows without a dwell yet, oldest first
    let mut open_clicks: HashMap<(String, String), Vec<usize>> = HashMap::new();
    let mut out = ExportedEvents::default();
    for (n, e) in events.iter().enumerate() {
        for (field, token) in [("user", &e.user), ("item", &e.item)] {
            if token.contains([',', '"', '\n', '\r']) {
                return Err(ServeError::bad(format!(
                    "{}:{}: field `{field}`: `{token}` holds a comma, quote or line break, which an attention log cannot hold",
                    log.display(),
                    n + 1
                )));
            }
        }
        let ts_s = e.ts_ms.div_euclid(1000);
        let key = (e.user.clone(), e.item.clone());
        let row = |event, dwell_ms| Row { user: e.user.clone(), item: e.item.clone(), ts_s, event, dwell_ms };
        match e.kind {
            EventKind::Impression => rows.push(row("impression", None)),
            EventKind::Click => {
                open_clicks.entry(key).or_default().push(rows.len());
                rows.push(row("click", None));
            }
            EventKind::Dwell => {
                let ms = (e.dwell_s.unwrap_or(0.0) * 1000.0).round().min(f64::from(u32::MAX)) as u64;
                match open_clicks.get_mut(&key).and_then(Vec::pop) {
                    Some(r) => {
                        rows[r].dwell_ms = Some(ms);
                        out.dwells_on_clicks += 1;
                    }
                    None => rows.push(row("click", Some(ms))),
                }
            }
        }
    }
    let mut csv = format!("{ATTENTION_LOG_HEADER}\n");
    let mut users = std::collections::HashSet::new();
    for r in &rows {
        let dwell = r.dwell_ms.map(|d| d.to_string()).unwrap_or_default();
        let _ = writeln!(csv, "{},{},{},{},0,{dwell},0,,", r.user, r.item, r.ts_s, r.event);
        users.insert(r.user.as_str());
        match r.event {
            "impression" => out.impressions += 1,
            _ => out.clicks += 1,
        }
    }
    out.users = users.len();
    out.csv = csv;
    Ok(out)
}
