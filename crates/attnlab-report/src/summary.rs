//! The summary at the top of the page: what a reader asks first. The
//! spec's description (cut to a readable length), the protocol
//! fingerprint, the best finished run of every metric column with the
//! reproduction verdicts of its model, and the A/B test's winner.

use serde::Serialize;

use crate::html::{fmt_metric, is_finished};
use crate::{AbTestReport, ReportInput};

/// Characters of the description shown under the title; a spec's
/// description can be a page of prose, the summary is a glance.
pub(crate) const MAX_DESCRIPTION_CHARS: usize = 400;

#[derive(Serialize)]
pub(crate) struct Summary {
    pub description: Option<String>,
    /// The protocol fingerprint(s) of the runs, in order of first appearance.
    pub fingerprints: Vec<String>,
    pub best: Vec<Best>,
    pub ab_winner: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct Best {
    pub metric: String,
    pub run: String,
    pub value: String,
    /// `metric: verdict` of the targets of the run's model, e.g. `auc: REPRODUCED`.
    pub verdicts: Vec<String>,
}

pub(crate) fn build_summary(input: &ReportInput, labels: &[String]) -> Summary {
    let description = input.description.as_deref().map(str::trim).filter(|d| !d.is_empty()).map(cap_description);
    let mut fingerprints: Vec<String> = Vec::new();
    for r in input.runs.iter().filter(|r| !r.data_fingerprint.is_empty()) {
        if !fingerprints.contains(&r.data_fingerprint) {
            fingerprints.push(r.data_fingerprint.clone());
        }
    }
    let best = input
        .metrics
        .iter()
        .zip(input.best_per_metric())
        .filter_map(|(m, b)| {
            let b = b?;
            let i = input.runs.iter().position(|r| is_finished(&r.status) && r.metrics.get(&m.key) == Some(&b))?;
            let run = &input.runs[i];
            // Targets name a metric without its split: `auc` for `test.auc`.
            let metric = m.key.rsplit_once('.').map_or(m.key.as_str(), |(_, metric)| metric);
            let verdicts = input
                .targets
                .iter()
                .filter(|t| t.metric.eq_ignore_ascii_case(metric))
                .filter(|t| [&run.model, &run.name].iter().any(|n| n.eq_ignore_ascii_case(&t.model)))
                .map(|t| format!("{}: {}", t.metric, t.verdict))
                .collect();
            Some(Best { metric: m.label.clone(), run: labels[i].clone(), value: fmt_metric(Some(b)), verdicts })
        })
        .collect();
    Summary { description, fingerprints, best, ab_winner: input.ab_test.as_ref().and_then(ab_winner) }
}

/// At most [`MAX_DESCRIPTION_CHARS`] characters, cut at a word with an ellipsis.
fn cap_description(d: &str) -> String {
    if d.chars().count() <= MAX_DESCRIPTION_CHARS {
        return d.to_string();
    }
    let cut: String = d.chars().take(MAX_DESCRIPTION_CHARS).collect();
    let cut = cut.rsplit_once(char::is_whitespace).map_or(cut.as_str(), |(head, _)| head);
    format!("{}…", cut.trim_end())
}

/// The arm with the highest value of the first metric (revenue per
/// session in the market experiments), and whether it beats the first
/// arm with a 95% interval excluding zero.
fn ab_winner(ab: &AbTestReport) -> Option<String> {
    let metric = ab.metrics.first()?;
    let (winner, value) = ab
        .arms
        .iter()
        .filter_map(|a| Some((a, a.values.first().copied().flatten().filter(|v| v.is_finite())?)))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    let control = ab.arms.first()?;
    if winner.name == control.name {
        return Some(format!("{} (the control arm) has the highest {metric}: {}", winner.name, fmt_metric(Some(value))));
    }
    let significant = ab
        .differences
        .iter()
        .find(|d| d.arm == winner.name && &d.metric == metric)
        .and_then(|d| Some(d.ci_low? > 0.0 || d.ci_high? < 0.0))
        .unwrap_or(false);
    let verdict = if significant { "significant (95% interval excludes 0)" } else { "not significant" };
    Some(format!("{} has the highest {metric}: {}; its difference from {} is {verdict}", winner.name, fmt_metric(Some(value)), control.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AbArm, AbDifference, MetricSpec, RunSummary, TargetVerdict};

    #[test]
    fn best_runs_carry_their_verdicts_and_the_ab_winner_its_significance() {
        let run = |name: &str, status: &str, auc: f64| RunSummary {
            name: name.into(),
            model: name.to_uppercase(),
            status: status.into(),
            data_fingerprint: "fp".into(),
            metrics: [("test.auc".to_string(), auc)].into(),
            ..Default::default()
        };
        let verdict = |metric: &str| TargetVerdict {
            model: "din".into(),
            metric: metric.into(),
            published: String::new(),
            measured: String::new(),
            diff: String::new(),
            verdict: "REPRODUCED".into(),
            source: String::new(),
        };
        let arm = |name: &str, revenue| AbArm { name: name.into(), source: String::new(), values: vec![Some(revenue)] };
        let input = ReportInput {
            metrics: vec![MetricSpec { key: "test.auc".into(), label: "Test AUC".into(), higher_is_better: true }],
            runs: vec![run("lr", "FINISHED", 0.6), run("din", "FINISHED", 0.7), run("x", "FAILED", 0.9)],
            targets: vec![verdict("auc"), verdict("gauc")],
            ab_test: Some(AbTestReport {
                sessions: 10,
                settings: vec![],
                metrics: vec!["revenue_per_session".into()],
                arms: vec![arm("bid-only", 0.1), arm("din", 0.2)],
                differences: vec![AbDifference {
                    arm: "din".into(),
                    metric: "revenue_per_session".into(),
                    diff: Some(0.1),
                    ci_low: Some(0.05),
                    ci_high: Some(0.15),
                    p_value: Some(0.01),
                }],
                power: None,
                trade_off: None,
            }),
            ..Default::default()
        };
        let s = build_summary(&input, &["lr".into(), "din".into(), "x".into()]);
        assert_eq!(s.fingerprints, ["fp"]);
        assert_eq!(s.best.len(), 1);
        assert_eq!((s.best[0].run.as_str(), s.best[0].value.as_str()), ("din", "0.7000"), "the failed run never wins");
        assert_eq!(s.best[0].verdicts, ["auc: REPRODUCED"], "only the column's metric");
        assert_eq!(
            s.ab_winner.as_deref(),
            Some("din has the highest revenue_per_session: 0.2000; its difference from bid-only is significant (95% interval excludes 0)")
        );
    }

    #[test]
    fn long_descriptions_are_cut_at_a_word() {
        let d = "word ".repeat(200);
        let c = cap_description(&d);
        assert!(c.chars().count() <= MAX_DESCRIPTION_CHARS + 1, "{}", c.len());
        assert!(c.ends_with("word…"), "{c}");
        assert_eq!(cap_description("short"), "short");
    }
}
