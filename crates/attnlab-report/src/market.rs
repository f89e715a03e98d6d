//! The "Offline A/B test" section: arms side by side on the simulated ad
//! market, their differences from the first arm with 95% CIs and p-values,
//! sessions needed for a lift, and the revenue vs engagement trade-off as
//! the ad load, the reserve price or the attention weight λ varies: every
//! (arm, value) point with 95% intervals, the Pareto-optimal ones named.
//!
//! [`AbTestReport`] is also the JSON the CLI stores with its `ab-test` run
//! ([`AB_TEST_ARTIFACT`]); undefined values (a ratio without a denominator)
//! are `null`.

use serde::{Deserialize, Serialize};

use crate::svg::{scatter_chart, Scale, ScatterSeries};

/// Where the CLI stores the report of an A/B test run.
pub const AB_TEST_ARTIFACT: &str = "ab_test/report.json";

/// One offline A/B test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AbTestReport {
    pub sessions: usize,
    /// Settings shared by the arms, as display text (mechanism, reserve, …).
    pub settings: Vec<(String, String)>,
    /// Metric names, in the order of [`AbArm::values`], e.g. `revenue_per_session`.
    pub metrics: Vec<String>,
    pub arms: Vec<AbArm>,
    /// Arms 1.. against arm 0.
    pub differences: Vec<AbDifference>,
    pub power: Option<AbPower>,
    pub trade_off: Option<AbTradeOff>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AbArm {
    pub name: String,
    /// What ranks this arm, e.g. `model esmm (run 1a2b3c4d)` or `policy bid-only`.
    pub source: String,
    /// One per [`AbTestReport::metrics`].
    pub values: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AbDifference {
    pub arm: String,
    pub metric: String,
    pub diff: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub p_value: Option<f64>,
}

/// Sessions per arm to detect a relative revenue change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AbPower {
    pub lift: f64,
    pub alpha: f64,
    pub power: f64,
    /// (arm, sessions needed; `None` when its revenue never differs from arm 0's).
    pub needed: Vec<(String, Option<usize>)>,
}

/// Every arm replayed at each value of one setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AbTradeOff {
    /// `ad load`, `reserve` or `lambda`.
    pub varied: String,
    pub points: Vec<AbTradeOffPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AbTradeOffPoint {
    pub arm: String,
    pub value: f64,
    pub revenue_per_session: f64,
    /// Attention (seconds of dwell) per session.
    pub attention_per_session: f64,
    pub organic_clicks_per_session: f64,
    /// 95% interval of the revenue per session, over sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revenue_ci: Option<(f64, f64)>,
    /// 95% interval of the attention per session (seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attention_ci: Option<(f64, f64)>,
    /// No other point of the curve has at least its revenue and its
    /// attention and more of one ([`AbTradeOff::mark_pareto`]).
    #[serde(default)]
    pub pareto: bool,
}

impl AbTradeOff {
    /// Marks the Pareto-optimal points (on their point estimates): those no
    /// other point dominates in revenue and attention per session.
    pub fn mark_pareto(&mut self) {
        let at = |p: &AbTradeOffPoint| (p.revenue_per_session, p.attention_per_session);
        let all: Vec<(f64, f64)> = self.points.iter().map(at).collect();
        for p in &mut self.points {
            let (r, a) = at(p);
            p.pareto = r.is_finite()
                && a.is_finite()
                && !all.iter().any(|&(r2, a2)| r2 >= r && a2 >= a && (r2 > r || a2 > a));
        }
    }

    /// The arms with a Pareto-optimal point, with the values they reach it at.
    pub fn pareto_arms(&self) -> Vec<(String, Vec<f64>)> {
        let mut out: Vec<(String, Vec<f64>)> = Vec::new();
        for p in self.points.iter().filter(|p| p.pareto) {
            match out.iter_mut().find(|(a, _)| *a == p.arm) {
                Some((_, values)) => values.push(p.value),
                None => out.push((p.arm.clone(), vec![p.value])),
            }
        }
        out
    }
}

/// What the template shows; numbers are already text.
#[derive(Debug, Serialize)]
pub(crate) struct AbTestView {
    sessions: usize,
    settings: Vec<(String, String)>,
    metrics: Vec<String>,
    /// (name, source, values)
    arms: Vec<(String, String, Vec<String>)>,
    /// (arm, metric, diff, CI, p, significant)
    differences: Vec<(String, String, String, String, String, bool)>,
    power: Option<String>,
    trade_off_svg: Option<String>,
    trade_off_caption: Option<String>,
    /// (varied value, arm, revenue ± CI, attention minutes ± CI, Pareto-optimal)
    trade_off_points: Vec<(String, String, String, String, bool)>,
}

/// `x [lo, hi]` with the interval in the same scale as `x`.
fn with_ci(x: f64, ci: Option<(f64, f64)>, scale: f64) -> String {
    match ci {
        Some((lo, hi)) => format!("{:.4} [{:.4}, {:.4}]", x * scale, lo * scale, hi * scale),
        None => text(Some(x * scale)),
    }
}

fn text(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.4}"),
        _ => "–".into(),
    }
}

fn p_text(p: Option<f64>) -> String {
    match p {
        Some(p) if p.is_finite() && p < 1e-4 => format!("{p:.1e}"),
        Some(p) if p.is_finite() => format!("{p:.4}"),
        _ => "–".into(),
    }
}

pub(crate) fn build_ab_test(report: Option<&AbTestReport>) -> Option<AbTestView> {
    let r = report?;
    let arms = r.arms.iter().map(|a| (a.name.clone(), a.source.clone(), a.values.iter().map(|v| text(*v)).collect())).collect();
    let differences = r
        .differences
        .iter()
        .map(|d| {
            let ci = match (d.ci_low, d.ci_high) {
                (Some(lo), Some(hi)) if lo.is_finite() && hi.is_finite() => format!("[{lo:.4}, {hi:.4}]"),
                _ => "–".into(),
            };
            let significant = matches!((d.ci_low, d.ci_high), (Some(lo), Some(hi)) if lo > 0.0 || hi < 0.0);
            (d.arm.clone(), d.metric.clone(), text(d.diff), ci, p_text(d.p_value), significant)
        })
        .collect();
    let power = r.power.as_ref().map(|p| {
        let needed: Vec<String> = p
            .needed
            .iter()
            .map(|(arm, n)| format!("{arm}: {}", n.map_or("– (no difference)".into(), |n| n.to_string())))
            .collect();
        format!(
            "Sessions per arm to detect a {:+.1}% change of revenue per session (α = {}, power {}): {}",
            100.0 * p.lift,
            p.alpha,
            p.power,
            needed.join("; ")
        )
    });
    let (trade_off_svg, trade_off_caption) = match &r.trade_off {
        Some(t) => {
            let points: Vec<(String, Vec<(f64, f64)>)> = r
                .arms
                .iter()
                .map(|a| {
                    let pts = t.points.iter().filter(|p| p.arm == a.name).map(|p| (p.attention_per_session / 60.0, p.revenue_per_session)).collect();
                    (a.name.clone(), pts)
                })
                .collect();
            let series: Vec<ScatterSeries> = points.iter().map(|(name, pts)| ScatterSeries { label: name, points: pts }).collect();
            let values: Vec<String> = {
                let mut v: Vec<f64> = t.points.iter().map(|p| p.value).collect();
                v.sort_by(f64::total_cmp);
                v.dedup();
                v.iter().map(|x| format!("{x}")).collect()
            };
            let svg = scatter_chart("attention per session (min)", "revenue per session", &Scale::Linear, &series);
            let pareto: Vec<String> = t
                .pareto_arms()
                .iter()
                .map(|(arm, vs)| format!("{arm} at {}", vs.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", ")))
                .collect();
            let caption = format!(
                "Each arm replayed at {} {}: revenue against the minutes of attention users spend (more ads earn more and leave less room for organic items). Pareto-optimal: {}.",
                t.varied,
                values.join(", "),
                if pareto.is_empty() { "none".to_string() } else { pareto.join("; ") }
            );
            (svg, Some(caption))
        }
        None => (None, None),
    };
    let trade_off_points = r.trade_off.as_ref().map_or_else(Vec::new, |t| {
        t.points
            .iter()
            .map(|p| {
                (
                    p.value.to_string(),
                    p.arm.clone(),
                    with_ci(p.revenue_per_session, p.revenue_ci, 1.0),
                    with_ci(p.attention_per_session, p.attention_ci, 1.0 / 60.0),
                    p.pareto,
                )
            })
            .collect()
    });
    Some(AbTestView {
        sessions: r.sessions,
        settings: r.settings.clone(),
        metrics: r.metrics.clone(),
        arms,
        differences,
        power,
        trade_off_svg,
        trade_off_caption,
        trade_off_points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> AbTestReport {
        let point = |arm: &str, value, revenue, attention| AbTradeOffPoint {
            arm: arm.into(),
            value,
            revenue_per_session: revenue,
            attention_per_session: attention,
            organic_clicks_per_session: 1.0,
            revenue_ci: Some((revenue - 0.01, revenue + 0.01)),
            attention_ci: None,
            pareto: false,
        };
        AbTestReport {
            sessions: 1000,
            settings: vec![("mechanism".into(), "gsp".into())],
            metrics: vec!["revenue_per_session".into(), "ad_cvr".into()],
            arms: vec![
                AbArm { name: "bid-only".into(), source: "policy bid-only".into(), values: vec![Some(0.1), None] },
                AbArm { name: "<esmm>".into(), source: "model esmm".into(), values: vec![Some(0.2), Some(0.05)] },
            ],
            differences: vec![AbDifference {
                arm: "<esmm>".into(),
                metric: "revenue_per_session".into(),
                diff: Some(0.1),
                ci_low: Some(0.05),
                ci_high: Some(0.15),
                p_value: Some(1e-6),
            }],
            power: Some(AbPower { lift: 0.02, alpha: 0.05, power: 0.8, needed: vec![("<esmm>".into(), Some(1234))] }),
            trade_off: Some({
                let mut t = AbTradeOff {
                    varied: "ad load".into(),
                    points: vec![point("bid-only", 1.0, 0.05, 30.0), point("bid-only", 2.0, 0.1, 25.0), point("<esmm>", 2.0, 0.2, 26.0)],
                };
                t.mark_pareto();
                t
            }),
        }
    }

    /// (0.1, 25) is dominated by (0.2, 26); (0.05, 30) has the most
    /// attention, (0.2, 26) the most revenue.
    #[test]
    fn pareto_points_are_those_no_other_point_dominates() {
        let t = sample().trade_off.unwrap();
        assert_eq!(t.points.iter().map(|p| p.pareto).collect::<Vec<_>>(), vec![true, false, true]);
        assert_eq!(t.pareto_arms(), vec![("bid-only".to_string(), vec![1.0]), ("<esmm>".to_string(), vec![2.0])]);
        let v = build_ab_test(Some(&sample())).unwrap();
        assert!(v.trade_off_caption.unwrap().contains("Pareto-optimal: bid-only at 1; <esmm> at 2."));
        assert_eq!(v.trade_off_points[0].2, "0.0500 [0.0400, 0.0600]");
        assert_eq!(v.trade_off_points[0].3, "0.5000");
    }

    #[test]
    fn the_json_form_round_trips_with_undefined_values_as_null() {
        let r = sample();
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains("null"));
        assert_eq!(serde_json::from_str::<AbTestReport>(&json).unwrap(), r);
    }

    #[test]
    fn the_view_formats_numbers_marks_significance_and_draws_the_curve() {
        let v = build_ab_test(Some(&sample())).unwrap();
        assert_eq!(v.arms[0].2, vec!["0.1000".to_string(), "–".into()]);
        assert_eq!(v.differences[0].3, "[0.0500, 0.1500]");
        assert_eq!(v.differences[0].4, "1.0e-6");
        assert!(v.differences[0].5, "a CI excluding 0 is significant");
        assert!(v.power.unwrap().contains("<esmm>: 1234"));
        let svg = v.trade_off_svg.unwrap();
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("&lt;esmm&gt;") && !svg.contains("<esmm>"), "legend text is escaped");
        assert!(build_ab_test(None).is_none());
    }

    #[test]
    fn the_page_shows_the_section_only_with_an_ab_test() {
        let without = crate::ReportInput { experiment: "m".into(), ..Default::default() };
        assert!(!crate::render_html(&without).unwrap().contains("id=\"ab-test\""));
        let html = crate::render_html(&crate::ReportInput { ab_test: Some(sample()), ..without }).unwrap();
        let section = &html[html.find("id=\"ab-test\"").unwrap()..];
        let section = &section[..section.find("</section>").unwrap()];
        assert!(section.contains("Offline A/B test") && section.contains("&lt;esmm&gt;") && !section.contains("<esmm>"));
        assert!(section.contains("<strong>0.1000</strong>"), "the significant difference is bold");
        assert!(section.contains("<svg") && section.contains("Revenue vs engagement"));
    }
}
