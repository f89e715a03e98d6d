use std::collections::BTreeMap;

use attnlab_report::svg::{Series, line_chart};
use attnlab_report::{MetricSpec, ReportInput, RunSummary, render_html};

fn run(name: &str, model: &str, auc: f64, loss: f64, curves: &[(&str, Vec<(i64, f64)>)]) -> RunSummary {
    RunSummary {
        id: format!("id-{name}"),
        name: name.into(),
        model: model.into(),
        seed: 7,
        status: "FINISHED".into(),
        duration_s: Some(42.0),
        params: vec![("lr".into(), "0.001".into()), ("model".into(), model.into())],
        metrics: BTreeMap::from([("test.auc".into(), auc), ("test.logloss".into(), loss)]),
        curves: curves.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        ..Default::default()
    }
}

fn metrics() -> Vec<MetricSpec> {
    vec![
        MetricSpec { key: "test.auc".into(), label: "Test AUC".into(), higher_is_better: true },
        MetricSpec { key: "test.logloss".into(), label: "Test LogLoss".into(), higher_is_better: false },
    ]
}

fn two_runs() -> ReportInput {
    ReportInput {
        experiment: "ctr-compare".into(),
        description: Some("DIN vs DNN".into()),
        generated_at: "2025-01-01 12:00:00".into(),
        metrics: metrics(),
        runs: vec![
            // din: best AUC, worse logloss; dnn: best logloss, worse AUC.
            run("din", "DIN", 0.7312, 0.4600, &[
                ("valid.auc", vec![(1, 0.61), (2, 0.65)]),
                ("train.loss", vec![(1, 0.70), (2, 0.55)]),
            ]),
            run("dnn", "DNN", 0.7001, 0.4400, &[("valid.auc", vec![(1, 0.60), (2, 0.62)])]),
        ],
        protocol: vec![("split".into(), "time-based 80/10/10".into())],
        notes: vec!["best possible test AUC (simulator oracle): 0.7312".into()],
        significance: vec![],
        targets: vec![],
        ..Default::default()
    }
}

/// The `<tr>` of the results table whose first cell names `run`.
fn results_row<'a>(html: &'a str, run: &str) -> &'a str {
    let table = &html[html.find("<table class=\"results").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    let needle = format!("<td><strong>{run}</strong>");
    let start = table.find(&needle).unwrap_or_else(|| panic!("no row for {run}"));
    let row = &table[start..];
    &row[..row.find("</tr>").unwrap()]
}

fn best_cells(row: &str) -> Vec<String> {
    row.split("<td")
        .filter(|c| c.contains("class=\"num best\""))
        .map(|c| c.to_string())
        .collect()
}

#[test]
fn two_runs_report_marks_best_and_draws_one_chart_per_curve() {
    let html = render_html(&two_runs()).unwrap();
    assert!(html.contains("din") && html.contains("dnn"));

    let din = best_cells(results_row(&html, "din"));
    let dnn = best_cells(results_row(&html, "dnn"));
    assert_eq!(din.len(), 1, "din should be best only on AUC: {din:?}");
    assert!(din[0].contains("0.7312") && din[0].contains('★'));
    assert_eq!(dnn.len(), 1, "dnn should be best only on logloss: {dnn:?}");
    assert!(dnn[0].contains("0.4400") && dnn[0].contains('★'));
    assert_eq!(html.matches("class=\"num best\"").count(), 2);

    // Curve keys: train.loss, valid.auc.
    assert_eq!(html.matches("<svg").count(), 2);
    assert!(html.find("<h3>train.loss</h3>").unwrap() < html.find("<h3>valid.auc</h3>").unwrap());

    // Self-contained: no URL anywhere, no script but the page's own (inline).
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert_eq!(html.to_lowercase().matches("<script").count(), 2);
    assert!(!html.contains("<script src"));
    assert!(html.contains("time-based 80&#x2F;10&#x2F;10") || html.contains("time-based 80/10/10"));
    assert!(html.contains("simulator oracle"));
}

#[test]
fn unfinished_runs_never_marked_best_and_missing_shows_dash() {
    let mut input = two_runs();
    input.runs[0].status = "FAILED".into(); // din has the best AUC but failed
    input.runs[1].metrics.remove("test.logloss");
    let html = render_html(&input).unwrap();
    let din = best_cells(results_row(&html, "din"));
    let dnn = best_cells(results_row(&html, "dnn"));
    assert!(din.is_empty(), "failed run marked best: {din:?}");
    assert_eq!(dnn.len(), 1);
    assert!(dnn[0].contains("0.7001"));
    assert!(results_row(&html, "dnn").contains("<td class=\"num\">–</td>"));
}

#[test]
fn hostile_strings_are_escaped_everywhere() {
    let evil = "<script>alert(1)</script>";
    let mut input = two_runs();
    input.experiment = format!("exp {evil}");
    input.description = Some(evil.into());
    input.runs[0].name = evil.into();
    input.runs[0].model = evil.into();
    input.runs[0].params.push((evil.into(), evil.into()));
    input.protocol.push((evil.into(), evil.into()));
    input.metrics[0].label = evil.into();
    input.notes.push(r#"a & b "quoted""#.into());
    let html = render_html(&input).unwrap();

    assert!(!html.contains(evil));
    // The page's own two scripts (data block and code) are the only ones.
    assert_eq!(html.to_lowercase().matches("<script").count(), 2);
    assert!(!html.contains(r#"a & b "quoted""#));
    assert!(html.contains("a &amp; b &quot;quoted&quot;"));

    // Escaped in the results table...
    let table = &html[html.find("<table class=\"results").unwrap()..];
    assert!(table.contains("<td><strong>&lt;script&gt;alert(1)&lt;"));
    // ...and in the SVG legend of every chart the run appears in.
    let svgs: Vec<&str> = html.split("<svg").skip(1).collect();
    assert_eq!(svgs.len(), 2);
    for s in svgs {
        assert!(s.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "legend not escaped");
    }
}

fn polyline_point_counts(svg: &str) -> Vec<usize> {
    svg.split("<polyline").skip(1).map(|p| {
        let start = p.find("points=\"").unwrap() + "points=\"".len();
        let pts = &p[start..];
        pts[..pts.find('"').unwrap()].split_whitespace().count()
    }).collect()
}

#[test]
fn svg_skips_non_finite_points() {
    let a = [(1, 0.5), (2, f64::NAN), (3, 0.7), (4, f64::INFINITY), (5, f64::NEG_INFINITY), (6, 0.8)];
    let b = [(1, 0.4), (2, 0.45)];
    let svg = line_chart("valid.auc", &[Series { label: "a", points: &a }, Series { label: "b", points: &b }]).unwrap();
    assert_eq!(polyline_point_counts(&svg), vec![3, 2]);
    assert!(!svg.contains("NaN") && !svg.contains("inf"));
}

#[test]
fn svg_single_point_and_constant_series_are_finite() {
    for pts in [vec![(3i64, 0.42)], vec![(1, 0.5), (2, 0.5), (3, 0.5)], vec![(1, 0.0), (2, 0.0)], vec![(5, -2.0)]] {
        let svg = line_chart("m", &[Series { label: "r", points: &pts }]).unwrap();
        assert_eq!(polyline_point_counts(&svg), vec![pts.len()]);
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        assert!(svg.contains("<circle"), "a lone point must still be visible");
    }
    // Extreme magnitudes must not overflow into inf either.
    let pts = [(i64::MIN, -f64::MAX), (i64::MAX, f64::MAX)];
    let svg = line_chart("m", &[Series { label: "r", points: &pts }]).unwrap();
    assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
}

#[test]
fn svg_empty_or_all_non_finite_is_skipped() {
    assert!(line_chart("m", &[]).is_none());
    assert!(line_chart("m", &[Series { label: "r", points: &[] }]).is_none());
    assert!(line_chart("m", &[Series { label: "r", points: &[(1, f64::NAN)] }]).is_none());

    let mut input = two_runs();
    input.runs[0].curves.insert("empty".into(), vec![]);
    input.runs[1].curves.insert("nan".into(), vec![(1, f64::NAN)]);
    let html = render_html(&input).unwrap();
    assert_eq!(html.matches("<svg").count(), 2);
    assert!(!html.contains("NaN"));
}

#[test]
fn svg_output_is_deterministic() {
    let a = render_html(&two_runs()).unwrap();
    let b = render_html(&two_runs()).unwrap();
    assert_eq!(a, b);
}

#[test]
fn empty_input_renders() {
    let html = render_html(&ReportInput::default()).unwrap();
    assert!(html.contains("No runs."));
    assert!(html.contains("No per-epoch history recorded."));
}

#[test]
fn significance_rows_render_escaped_with_their_stars() {
    let mut input = two_runs();
    input.significance = vec![attnlab_report::Significance {
        run: "din <b>".into(),
        baseline: "dnn".into(),
        metric: "gauc".into(),
        users: 120,
        mean_diff: 0.0312,
        ci_low: 0.011,
        ci_high: 0.052,
        t_p: 0.0021,
        wilcoxon_p: 0.0004,
        holm_p: 0.0008,
        stars: "***".into(),
    }];
    let html = attnlab_report::render_html(&input).unwrap();
    assert!(html.contains("Significance against the baseline"));
    assert!(html.contains("din &lt;b&gt;") && !html.contains("din <b>"));
    assert!(html.contains("0.0312") && html.contains("***"));
    assert!(!attnlab_report::render_html(&two_runs()).unwrap().contains("Significance against"), "no table without comparisons");
}

#[test]
fn targets_render_with_their_verdicts() {
    let mut input = two_runs();
    input.targets = vec![attnlab_report::TargetVerdict {
        model: "din".into(),
        metric: "auc".into(),
        published: "0.7300 ± 0.005".into(),
        measured: "0.7312 ± 0.0000 (n=1)".into(),
        diff: "+0.0012".into(),
        verdict: "REPRODUCED".into(),
        source: "Zhou et al. <2018>".into(),
    }];
    let html = attnlab_report::render_html(&input).unwrap();
    assert!(html.contains("Reproduction targets") && html.contains("<td><strong>REPRODUCED</strong></td>"));
    assert!(html.contains("Zhou et al. &lt;2018&gt;"), "escaped source");
}

#[test]
fn seeds_are_summarised_as_mean_and_std_per_model() {
    let mut input = two_runs();
    assert!(!attnlab_report::render_html(&input).unwrap().contains("Over seeds"), "one seed each: no summary");
    let mut again = input.runs[0].clone();
    again.seed = 2;
    again.id = "r3".into();
    again.metrics.insert("test.auc".into(), 0.7412);
    input.runs.push(again);
    let html = attnlab_report::render_html(&input).unwrap();
    assert!(html.contains("Over seeds"));
    // din: AUC 0.7312 and 0.7412 -> mean 0.7362, sample std 0.0071
    assert!(html.contains("0.7362 ± 0.0071"), "{html}");
}

#[test]
fn results_table_exports_with_best_values_marked_and_text_escaped() {
    use attnlab_report::{render_table, TableFormat};
    let mut input = two_runs();
    input.runs[0].name = "din_v2, 50%".into();
    let md = render_table(&input, TableFormat::Markdown);
    assert!(md.lines().count() == 4 && md.contains("| **0.7312** |"), "{md}");
    let tex = render_table(&input, TableFormat::Latex);
    assert!(tex.contains("din\\_v2, 50\\%") && tex.contains("\\textbf{0.7312}"), "{tex}");
    let csv = render_table(&input, TableFormat::Csv);
    assert!(csv.lines().nth(1).unwrap().starts_with("\"din_v2, 50%\",DIN,"), "{csv}");
    assert_eq!(TableFormat::parse("latex"), Some(TableFormat::Latex));
    assert_eq!(TableFormat::parse("docx"), None);
}
