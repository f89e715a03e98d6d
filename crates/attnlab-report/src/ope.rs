//! The "Off-policy evaluation" section: a target policy's value estimated
//! from logged feedback by each estimator, with its bootstrap 95% CI, and,
//! when the target's true value is known (another logging policy's own
//! click rate), each estimator's relative error `|estimate − truth| / truth`
//! as mean ± std over the bootstrap resamples, as a table and a chart.
//!
//! [`OpeSection`] is also the JSON stored with an OPE run ([`OPE_ARTIFACT`]).

use serde::{Deserialize, Serialize};

use crate::svg::{interval_chart, Interval};

/// Where an OPE run's section is stored.
pub const OPE_ARTIFACT: &str = "ope/report.json";

/// One off-policy evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpeSection {
    /// The logged data, e.g. `obd:random/all`.
    pub logs: String,
    /// The target policy as the spec named it.
    pub target: String,
    /// The run behind a trained-run target.
    pub target_run: Option<String>,
    /// DM's and the DR family's reward model, as display text.
    pub reward_model: String,
    pub reward_model_run: Option<String>,
    /// The target's true value and where it comes from, when known.
    pub truth: Option<f64>,
    pub truth_from: Option<String>,
    pub records: usize,
    pub resamples: usize,
    pub rows: Vec<OpeRow>,
}

/// One estimator's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpeRow {
    /// With its hyper-parameter, e.g. `switch-dr(tau=10)`.
    pub estimator: String,
    pub estimate: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// Mean and std of the relative error over the resamples (with a truth).
    pub relative_error: Option<(f64, f64)>,
}

#[derive(Debug, Serialize)]
pub(crate) struct OpeView {
    logs: String,
    target: String,
    reward_model: String,
    truth: Option<String>,
    records: usize,
    resamples: usize,
    /// estimator, estimate, CI, relative error (or empty)
    rows: Vec<(String, String, String, String)>,
    chart_svg: Option<String>,
    chart_caption: String,
}

fn short_run(id: &Option<String>) -> String {
    id.as_deref().map(|id| format!(" (run {})", &id[..8.min(id.len())])).unwrap_or_default()
}

pub(crate) fn build_ope(section: Option<&OpeSection>) -> Option<OpeView> {
    let s = section?;
    let rows = s
        .rows
        .iter()
        .map(|r| {
            let error = r.relative_error.map_or(String::new(), |(m, sd)| format!("{m:.3} ± {sd:.3}"));
            (r.estimator.clone(), format!("{:.6}", r.estimate), format!("[{:.6}, {:.6}]", r.ci_low, r.ci_high), error)
        })
        .collect();
    let with_errors = s.rows.iter().all(|r| r.relative_error.is_some()) && s.truth.is_some();
    let (chart_svg, chart_caption) = if with_errors {
        let items: Vec<Interval> = s
            .rows
            .iter()
            .filter_map(|r| r.relative_error.map(|(m, sd)| Interval { label: &r.estimator, value: m, low: (m - sd).max(0.0), high: m + sd }))
            .collect();
        (interval_chart("relative estimation error", &items, Some(0.0)), "Relative estimation error |estimate − truth| / truth per estimator: mean ± std over the bootstrap resamples (lower is better).".to_string())
    } else {
        let items: Vec<Interval> =
            s.rows.iter().map(|r| Interval { label: &r.estimator, value: r.estimate, low: r.ci_low, high: r.ci_high }).collect();
        (
            interval_chart("estimated value", &items, None),
            "Estimated value of the target policy per estimator with its bootstrap 95% CI. No log follows this policy, so there is no truth to measure an error against.".to_string(),
        )
    };
    Some(OpeView {
        logs: s.logs.clone(),
        target: format!("{}{}", s.target, short_run(&s.target_run)),
        reward_model: format!("{}{}", s.reward_model, short_run(&s.reward_model_run)),
        truth: s.truth.map(|t| format!("{t:.6}{}", s.truth_from.as_deref().map(|f| format!(" (mean click of {f})")).unwrap_or_default())),
        records: s.records,
        resamples: s.resamples,
        rows,
        chart_svg,
        chart_caption,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(truth: Option<f64>) -> OpeSection {
        let row = |e: &str, v: f64| OpeRow {
            estimator: e.into(),
            estimate: v,
            ci_low: v - 0.001,
            ci_high: v + 0.001,
            relative_error: truth.map(|t| ((v - t).abs() / t, 0.1)),
        };
        OpeSection {
            logs: "obd:random/all".into(),
            target: "obd:bts/all".into(),
            target_run: None,
            reward_model: "item x slot CTR".into(),
            reward_model_run: Some("0123456789abcdef".into()),
            truth,
            truth_from: truth.map(|_| "obd:bts/all".into()),
            records: 10_000,
            resamples: 100,
            rows: vec![row("ipw", 0.005), row("<dr>", 0.0048)],
        }
    }

    #[test]
    fn errors_are_charted_with_a_truth_and_estimates_without() {
        let v = build_ope(Some(&sample(Some(0.0042)))).unwrap();
        assert_eq!(v.rows[0].3, format!("{:.3} ± 0.100", (0.005f64 - 0.0042).abs() / 0.0042));
        assert!(v.chart_caption.starts_with("Relative estimation error"));
        assert!(v.chart_svg.as_deref().unwrap().contains("&lt;dr&gt;"));
        assert_eq!(v.reward_model, "item x slot CTR (run 01234567)");
        assert_eq!(v.truth.as_deref(), Some("0.004200 (mean click of obd:bts/all)"));
        let v = build_ope(Some(&sample(None))).unwrap();
        assert!(v.rows.iter().all(|r| r.3.is_empty()) && v.truth.is_none());
        assert!(v.chart_caption.contains("no truth"));
        assert!(build_ope(None).is_none());
    }

    #[test]
    fn the_page_shows_the_section_only_with_an_evaluation() {
        let without = crate::ReportInput { experiment: "obd-ope".into(), ..Default::default() };
        assert!(!crate::render_html(&without).unwrap().contains("id=\"ope\""));
        let html = crate::render_html(&crate::ReportInput { ope: Some(sample(Some(0.0042))), ..without }).unwrap();
        assert!(html.contains("id=\"ope\"") && html.contains("Off-policy evaluation") && html.contains("obd:random&#x2F;all"));
        assert!(html.contains("class=\"whisker\""));
        assert!(!html.contains("<dr>"), "estimator names are escaped");
        let json: OpeSection = serde_json::from_str(&serde_json::to_string(&sample(None)).unwrap()).unwrap();
        assert_eq!(json, sample(None));
    }
}
