//! The offline A/B test on the terminal: planned, replayed and stored by
//! `attnlab_experiment::ab_test`, its tables printed here (shared by
//! `attnlab ab-test` and the end of `attnlab run`).

use attnlab_experiment::ab_test;
use attnlab_experiment::{Prepared, Pseudonymiser};
use attnlab_report::AbTestReport;
use attnlab_spec::LoadedSpec;
use attnlab_track::Store;

use crate::table::{fmt_value, Table};

/// Runs the spec's A/B test against the store, prints it and stores its result.
pub fn replay_spec(store: &Store, loaded: &LoadedSpec, prepared: &Prepared, pseudonyms: Option<&Pseudonymiser>) -> anyhow::Result<()> {
    let test = ab_test::plan(store, loaded, prepared, pseudonyms)?;
    eprintln!("{}: replaying {} arms on {} fresh sessions", loaded.spec.name, test.arms(), test.sessions());
    let report = test.replay()?;
    print!("{}", render(&report));
    let run_id = test.store(store, &report)?;
    eprintln!("A/B test stored as run {} (`attnlab report {}` shows it)", &run_id[..8], loaded.spec.name);
    Ok(())
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// The terminal tables of a report.
fn render(r: &AbTestReport) -> String {
    let mut header = vec!["arm", "ranked by"];
    header.extend(r.metrics.iter().map(String::as_str));
    let mut arms = Table::new(&header);
    for a in &r.arms {
        let mut row = vec![a.name.clone(), a.source.clone()];
        row.extend(a.values.iter().map(|v| fmt_value(*v)));
        arms.row(row);
    }
    let settings: Vec<String> = r.settings.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let mut out = format!("\noffline A/B test on {} fresh sessions ({})\n{}", r.sessions, settings.join(", "), arms.render());
    if !r.differences.is_empty() {
        let base = r.arms.first().map_or("", |a| a.name.as_str());
        let mut diffs = Table::new(&["arm", "metric", "diff", "95% CI", "p"]);
        for d in &r.differences {
            let ci = match (d.ci_low, d.ci_high) {
                (Some(lo), Some(hi)) => format!("[{lo:.4}, {hi:.4}]"),
                _ => "-".into(),
            };
            let p = d.p_value.map_or("-".into(), |p| if p < 1e-4 { format!("{p:.1e}") } else { format!("{p:.4}") });
            diffs.row(vec![d.arm.clone(), d.metric.clone(), fmt_value(d.diff), ci, p]);
        }
        out += &format!("\ndifferences from `{base}` (paired over sessions)\n{}", diffs.render());
    }
    if let Some(p) = &r.power {
        let needed: Vec<String> =
            p.needed.iter().map(|(a, n)| format!("{a} {}", n.map_or("-".into(), |n| n.to_string()))).collect();
        out += &format!(
            "\nsessions per arm to detect a {:+.1}% revenue change (alpha {}, power {}): {}\n",
            100.0 * p.lift,
            p.alpha,
            p.power,
            needed.join(", ")
        );
    }
    if let Some(t) = &r.trade_off {
        let mut curve =
            Table::new(&[&t.varied, "arm", "revenue_per_session", "attention_per_session", "organic_clicks_per_session", "pareto"]);
        for p in &t.points {
            curve.row(vec![
                format!("{}", p.value),
                p.arm.clone(),
                fmt_value(finite(p.revenue_per_session)),
                fmt_value(finite(p.attention_per_session)),
                fmt_value(finite(p.organic_clicks_per_session)),
                if p.pareto { "*" } else { "" }.into(),
            ]);
        }
        out += &format!("\nrevenue vs engagement as the {} varies\n{}", t.varied, curve.render());
    }
    out
}

