//! The "Attention" section: each attention model's weights for the sample
//! users its run saved, as heatmaps.

use serde::Serialize;

use crate::attention::{AttentionKind, AttentionRun, SampleUser};
use crate::svg::{heatmap, HeatCell, HeatRow};

/// At most this many runs and users per run are drawn, so the page stays
/// small whatever the experiment's size (the caller already picks one run
/// per model).
const MAX_RUNS: usize = 12;
const MAX_USERS: usize = 8;

#[derive(Serialize)]
pub(crate) struct AttentionFigure {
    run: String,
    model: String,
    note: String,
    /// `(caption, svg)`; one map for history attention, one per user for
    /// field attention.
    maps: Vec<(String, String)>,
}

pub(crate) fn build_attention(runs: &[AttentionRun]) -> (Vec<AttentionFigure>, usize) {
    let figures = runs.iter().take(MAX_RUNS).filter_map(figure).collect();
    (figures, runs.len().saturating_sub(MAX_RUNS))
}

fn figure(r: &AttentionRun) -> Option<AttentionFigure> {
    let users = &r.sample.users[..r.sample.users.len().min(MAX_USERS)];
    let maps: Vec<(String, String)> = match r.sample.kind {
        AttentionKind::History => {
            let rows: Vec<HeatRow> = users.iter().map(history_row).collect();
            let title = format!("{}: attention over the history", r.run);
            heatmap(&title, &rows, &[], true).map(|svg| (String::new(), svg)).into_iter().collect()
        }
        AttentionKind::Fields => users
            .iter()
            .filter_map(|u| {
                let rows: Vec<HeatRow> = r
                    .sample
                    .fields
                    .iter()
                    .zip(&u.field_weights)
                    .map(|(field, weights)| HeatRow {
                        label: field.clone(),
                        cells: weights
                            .iter()
                            .zip(&r.sample.fields)
                            .map(|(w, to)| HeatCell { value: *w, text: format!("{:.2}", w), title: format!("{field} -> {to}: {w:.4}") })
                            .collect(),
                    })
                    .collect();
                let caption = format!("{} (target item {})", user_label(u), u.target_item);
                heatmap(&format!("{}: {caption}", r.run), &rows, &r.sample.fields, false).map(|svg| (caption, svg))
            })
            .collect(),
    };
    (!maps.is_empty()).then(|| AttentionFigure { run: r.run.clone(), model: r.sample.model.clone(), note: r.sample.note.clone(), maps })
}

fn user_label(u: &SampleUser) -> String {
    format!("user {}", u.user)
}

fn history_row(u: &SampleUser) -> HeatRow {
    let category = |c: Option<u32>| c.map_or(String::new(), |c| format!(", category {c}"));
    let clicked = match u.clicked {
        Some(true) => " (clicked)",
        Some(false) => " (not clicked)",
        None => "",
    };
    HeatRow {
        label: format!("{} → item {}{clicked}", user_label(u), u.target_item),
        cells: u
            .history
            .iter()
            .map(|h| HeatCell {
                value: h.weight,
                text: h.item.to_string(),
                title: format!("item {}{}: {:.1}% of the attention (raw weight {:.4})", h.item, category(h.category), 100.0 * h.weight, h.raw),
            })
            .collect(),
    }
}
