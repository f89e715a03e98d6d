//! The `attention-log` source: a behaviour log in the attention-log format
//! (`attnlab data simulate` writes it) as impressions with click, cart,
//! conversion and dwell labels for click and multi-task models
//! (`attnlab_data::impressions_from_log`: histories rebuilt from the log's
//! clicks, split by time), or, with `kind: interactions`, the rows of the
//! chosen events as interactions for next-item models, prepared under the
//! protocol and cached like every interaction source.

use std::path::{Path, PathBuf};

use attnlab_data::{impressions_from_log, load_attention_log, split_temporal, AttentionLog, Event, LoadReport, OnBadRow};
use attnlab_spec::{AttentionLogKind, BadRowPolicy, LoadedSpec, LogEvent};

use super::{check, prepare_interaction_rows, Dataset, IdVocabularies, InteractionRows, Prepared};
use crate::{ExperimentError, Result};

/// The log file a spec names, checked to exist, with its section.
fn log_file<'s>(loaded: &'s LoadedSpec) -> Result<(&'s attnlab_spec::AttentionLogSpec, PathBuf)> {
    let spec = &loaded.spec;
    let in_spec = |message: String| ExperimentError::bad(format!("{}: {message}", loaded.path.display()));
    let log = spec.dataset.attention_log.as_ref().ok_or_else(|| in_spec("dataset.attention_log: missing for source `attention-log`".into()))?;
    let file = PathBuf::from(spec.dataset.path.as_deref().unwrap_or(".")).join(&log.file);
    if !file.is_file() {
        return Err(in_spec(format!(
            "dataset.attention_log.file: {} does not exist; the spec's header comment says how to make or get it",
            file.display()
        )));
    }
    Ok((log, file))
}

/// With `kind: interactions`, the rows of the chosen events, to be prepared
/// under the spec's protocol like every interaction source.
pub(crate) fn interaction_rows(loaded: &LoadedSpec) -> Result<InteractionRows<'static>> {
    let (log, file) = log_file(loaded)?;
    if log.kind != AttentionLogKind::Interactions {
        return Err(ExperimentError::bad(format!("{}: dataset.attention_log.kind: impressions are not interactions", loaded.path.display())));
    }
    let events: Vec<Event> = log.events.iter().map(|e| event(*e)).collect();
    let settings = serde_json::json!({ "attention_log": log });
    let load_from = file.clone();
    let load = move |on_bad_row| {
        let (data, report) = load_attention_log(&load_from, on_bad_row)?;
        Ok((data.interactions(&events), vec![report]))
    };
    Ok(InteractionRows { file, settings: Some(settings), side_files: Vec::new(), load: Box::new(load) })
}

pub fn prepare_attention_log(loaded: &LoadedSpec, cache_root: &Path) -> Result<Prepared> {
    let spec = &loaded.spec;
    let in_spec = |message: String| ExperimentError::bad(format!("{}: {message}", loaded.path.display()));
    let (log, file) = log_file(loaded)?;
    let on_bad_row = match spec.dataset.on_bad_row {
        BadRowPolicy::Error => OnBadRow::Error,
        BadRowPolicy::Skip => OnBadRow::Skip,
    };
    match log.kind {
        AttentionLogKind::Interactions => prepare_interaction_rows(loaded, cache_root, interaction_rows(loaded)?),
        AttentionLogKind::Impressions => {
            let (metrics, valid_metric) = check(loaded)?;
            let (data, report) = load_attention_log(&file, on_bad_row)?;
            let mut notes = skipped(&report);
            if !data.event.contains(&Event::Impression) {
                return Err(in_spec(format!("dataset.attention_log.file: {} has no impression rows", file.display())));
            }
            let table = impressions_from_log(&file, &data, spec.protocol.history_len as usize)?;
            notes.extend(unlabelled(&data));
            let splits = split_temporal(&table.data, spec.protocol.ratios).map_err(|e| in_spec(format!("protocol.ratios: {e}")))?;
            let data_fingerprint = fingerprint(&file, spec)?;
            let vocabularies = Some(IdVocabularies { users: table.users, items: table.items });
            let data = Dataset::Impressions { splits, sizes: table.sizes, oracle_test_auc: None, vocabularies };
            Ok(Prepared { data, data_fingerprint, metrics, valid_metric, notes })
        }
    }
}

fn event(e: LogEvent) -> Event {
    match e {
        LogEvent::Impression => Event::Impression,
        LogEvent::Click => Event::Click,
        LogEvent::Cart => Event::Cart,
        LogEvent::Purchase => Event::Purchase,
    }
}

fn skipped(report: &LoadReport) -> Vec<String> {
    if report.skipped == 0 {
        return Vec::new();
    }
    vec![format!("{}: skipped {} bad rows (first: {})", report.path.display(), report.skipped, report.first_skipped.join("; "))]
}

/// A log without clicks trains nothing worth reading: say so.
fn unlabelled(log: &AttentionLog) -> Option<String> {
    (!log.event.contains(&Event::Click)).then(|| "the attention log has no click rows: every impression is labelled 0".to_string())
}

/// The file's sha256, the `attention_log` settings, how bad rows are
/// treated, the split and the history length.
fn fingerprint(file: &Path, spec: &attnlab_spec::Spec) -> Result<String> {
    let source = attnlab_data::DataSource::Files(vec![attnlab_data::SourceFile::hash(file)?]);
    let settings = serde_json::json!({
        "attention_log": spec.dataset.attention_log,
        "on_bad_row": spec.dataset.on_bad_row,
        "ratios": spec.protocol.ratios,
        "history_len": spec.protocol.history_len,
    });
    Ok(attnlab_data::fingerprint(&source, &settings)?.as_str()[..16].to_string())
}
