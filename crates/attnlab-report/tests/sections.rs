//! The sections built from many runs: sweep plots, attention heatmaps, the
//! protocol warning, params that differ, experiments side by side, and the
//! caps that keep a large experiment's page small.

use std::collections::BTreeMap;

mod common;

use attnlab_report::{
    render_html, AttendedItem, AttentionKind, AttentionRun, AttentionSample, MetricSpec, ReportInput, RunSummary, SampleUser,
};

fn auc() -> Vec<MetricSpec> {
    vec![MetricSpec { key: "test.auc".into(), label: "Test AUC".into(), higher_is_better: true }]
}

fn run(name: &str, seed: u64, auc: f64) -> RunSummary {
    RunSummary {
        id: format!("{name}-{seed}-{auc}"),
        name: name.into(),
        model: name.to_uppercase(),
        seed,
        status: "FINISHED".into(),
        metrics: BTreeMap::from([("test.auc".into(), auc), ("best.valid.auc".into(), auc + 0.01)]),
        experiment: "exp".into(),
        data_fingerprint: "fp1".into(),
        ..Default::default()
    }
}

/// The part of the page from `<section id="{id}"` to its end.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("<section id=\"{id}\"")).unwrap_or_else(|| panic!("no section {id}"));
    let s = &html[start..];
    &s[..s.find("</section>").unwrap()]
}

#[test]
fn sweep_section_has_a_point_per_finished_run_and_a_log_axis_for_decades() {
    let mut runs = Vec::new();
    for name in ["din", "lr"] {
        for (t, lr) in ["0.0001", "0.001", "0.01"].into_iter().enumerate() {
            for (o, optimizer) in ["adam", "sgd"].into_iter().enumerate() {
                let mut r = run(name, 1, 0.6 + 0.01 * t as f64 + 0.001 * o as f64);
                r.sweep = vec![("lr".into(), lr.into()), ("optimizer".into(), optimizer.into())];
                runs.push(r);
            }
        }
    }
    runs[3].status = "FAILED".into(); // not drawn
    let html = render_html(&ReportInput { metrics: auc(), runs, ..Default::default() }).unwrap();
    let sweep = section(&html, "sweep");
    assert!(sweep.contains("11 finished runs over 6 trials"), "{sweep}");
    let charts: Vec<&str> = sweep.split("<figure").skip(1).collect();
    assert_eq!(charts.len(), 3, "a scatter per swept param and the parallel coordinates");
    assert!(charts[0].contains("best.valid.auc by lr (log axis)"));
    assert!(charts[1].contains("best.valid.auc by optimizer") && !charts[1].contains("log axis"));
    for scatter in &charts[..2] {
        assert_eq!(scatter.matches("<circle class=\"point\"").count(), 11);
    }
    assert!(charts[1].contains(">adam</text>") && charts[1].contains(">sgd</text>"), "categorical ticks");
    assert_eq!(charts[2].matches("<polyline class=\"trial\"").count(), 11);
    // The trial shows in the results table and tells legend labels apart.
    assert!(html.contains("<span class=\"trial\">lr=0.0001 optimizer=adam</span>"));
    assert!(!render_html(&ReportInput { metrics: auc(), runs: vec![run("din", 1, 0.7)], ..Default::default() })
        .unwrap()
        .contains("id=\"sweep\""));
}

#[test]
fn params_that_differ_lists_exactly_the_differing_params() {
    let mut a = run("din", 1, 0.7);
    let mut b = run("din", 2, 0.71);
    a.params = vec![("train.lr".into(), "0.01".into()), ("model.embed_dim".into(), "8".into()), ("train.epochs".into(), "5".into())];
    b.params = vec![("train.lr".into(), "0.01".into()), ("model.embed_dim".into(), "16".into())];
    let html = render_html(&ReportInput { metrics: auc(), runs: vec![a, b], ..Default::default() }).unwrap();
    let params = section(&html, "params");
    let differ = &params[params.find("Params that differ").unwrap()..];
    let header = &differ[..differ.find("</thead>").unwrap()];
    let columns: Vec<&str> = header.split("<th>").skip(1).map(|c| &c[..c.find("</th>").unwrap()]).collect();
    // embed_dim differs; epochs is missing in one run, which is a difference too; lr is shared.
    assert_eq!(columns, ["Run", "model.embed_dim", "train.epochs"]);
    let shared = &params[..params.find("Params that differ").unwrap()];
    assert!(shared.contains("<dt>train.lr</dt><dd>0.01</dd>") && !shared.contains("embed_dim"));
    assert!(differ.contains("<td class=\"param\">16</td>") && differ.contains("<td class=\"param\">–</td>"));
}

#[test]
fn runs_with_different_fingerprints_are_flagged() {
    let mut other = run("lr", 1, 0.65);
    other.data_fingerprint = "fp2".into();
    let html = render_html(&ReportInput { metrics: auc(), runs: vec![run("din", 1, 0.7), other], ..Default::default() }).unwrap();
    let warnings = section(&html, "warnings");
    assert!(warnings.contains("2 different data&#x2F;protocol fingerprints") && warnings.contains("A = fp1") && warnings.contains("B = fp2"), "{warnings}");
    assert!(html.contains("<td>LR</td><td>B</td>"), "the run's group letter is in the table");
    let same = render_html(&ReportInput { metrics: auc(), runs: vec![run("din", 1, 0.7), run("lr", 1, 0.6)], ..Default::default() }).unwrap();
    assert!(!same.contains("id=\"warnings\"") && !same.contains("<th title=\"data/protocol group"));
}

#[test]
fn experiments_side_by_side_get_an_experiment_column_and_forced_warnings() {
    let mut b = run("din", 1, 0.72);
    b.experiment = "other".into();
    let input = ReportInput {
        metrics: auc(),
        runs: vec![run("din", 1, 0.7), b],
        warnings: vec!["Compared with --force although the protocols differ: protocol.split (exp: temporal; other: ratio).".into()],
        ..Default::default()
    };
    let html = render_html(&input).unwrap();
    assert!(html.contains("<th>Experiment</th>") && html.contains("<td>other</td>"));
    assert!(section(&html, "warnings").contains("protocol.split (exp: temporal; other: ratio)"));
    let csv = attnlab_report::render_table(&input, attnlab_report::TableFormat::Csv);
    assert!(csv.starts_with("experiment,run,model") && csv.contains("\nother,din,DIN,1,"), "{csv}");
}

#[test]
fn attention_heatmaps_draw_every_history_item_of_every_sample_user() {
    let item = |item: u32, weight: f64| AttendedItem { item: item.to_string(), category: Some(2), raw: weight * 3.0, weight };
    let user = |user: u64, history: Vec<AttendedItem>| SampleUser {
        user: user.to_string(),
        target_item: "99".into(),
        target_category: Some(2),
        clicked: Some(true),
        history,
        field_weights: vec![],
    };
    let sample = AttentionSample {
        model: "DIN".into(),
        kind: AttentionKind::History,
        note: "shares of <attention>".into(),
        fields: vec![],
        users: vec![user(7, vec![item(1, 0.2), item(2, 0.8)]), user(8, vec![item(3, 0.1), item(4, 0.3), item(5, 0.6)])],
    };
    let fields = AttentionSample {
        model: "AutoInt".into(),
        kind: AttentionKind::Fields,
        note: "fields".into(),
        fields: vec!["user".into(), "item".into()],
        users: vec![SampleUser { history: vec![], field_weights: vec![vec![0.3, 0.7], vec![0.5, 0.5]], ..user(7, vec![]) }],
    };
    let input = ReportInput {
        metrics: auc(),
        runs: vec![run("din", 1, 0.7)],
        attention: vec![
            AttentionRun { run: "din (seed 1)".into(), sample },
            AttentionRun { run: "autoint (seed 1)".into(), sample: fields },
        ],
        ..Default::default()
    };
    let html = render_html(&input).unwrap();
    let attention = section(&html, "attention");
    let figures: Vec<&str> = attention.split("<figure").skip(1).collect();
    assert_eq!(figures.len(), 2);
    assert_eq!(figures[0].matches("<g class=\"cell\">").count(), 5, "one cell per history item");
    assert!(figures[0].contains("user 7 → item 99 (clicked)") && figures[0].contains("item 2, category 2: 80.0% of the attention"));
    assert!(figures[0].contains("shares of &lt;attention&gt;"));
    assert_eq!(figures[1].matches("<g class=\"cell\">").count(), 4, "a 2x2 field map");
    assert!(figures[1].contains("user -&gt; item: 0.7000") || figures[1].contains("user -> item: 0.7000"), "{}", figures[1]);
}

#[test]
fn attention_samples_name_users_and_items_as_the_data_does_and_read_old_numeric_ids() {
    let old = r#"{"model":"SASRec","kind":"history","note":"n","users":[{"user":7,"target_item":99,"history":[{"item":1,"raw":0.5,"weight":1.0}]}]}"#;
    let sample: AttentionSample = serde_json::from_str(old).unwrap();
    assert_eq!((sample.users[0].user.as_str(), sample.users[0].target_item.as_str()), ("7", "99"));
    assert_eq!(sample.users[0].history[0].item, "1");

    let named = old.replace(r#""user":7"#, r#""user":"u<7>""#).replace(r#""target_item":99"#, r#""target_item":"tt0111161""#);
    let sample: AttentionSample = serde_json::from_str(&named).unwrap();
    let input = ReportInput {
        metrics: auc(),
        runs: vec![run("sasrec", 1, 0.7)],
        attention: vec![AttentionRun { run: "sasrec (seed 1)".into(), sample }],
        ..Default::default()
    };
    let attention = section(&render_html(&input).unwrap(), "attention").to_string();
    assert!(attention.contains("user u&lt;7&gt; → item tt0111161"), "{attention}");
}

#[test]
fn a_thousand_runs_render_into_a_bounded_page() {
    let html = render_html(&common::thousand_runs()).unwrap();
    // Every section is capped (100 table rows, 12 lines of at most 120
    // points per chart); only the copy-as-Markdown/LaTeX text lists every
    // run, like `report --format md|latex`: ~0.3 MB. Uncapped, the run table
    // alone is ~0.4 MB and the two charts ~2 MB.
    eprintln!("1,000 runs: {} bytes", html.len());
    assert!(html.len() < 500_000, "{} bytes", html.len());
    for m in 0..10 {
        assert!(section(&html, "seeds").contains(&format!("<strong>model{m}</strong>")), "model{m} in the over-seeds table");
        assert!(section(&html, "curves").contains(&format!("model{m} (mean of 100)")), "model{m} in the curves");
    }
    assert!(html.contains("The first 100 of 1000 runs are listed"));
}

#[test]
fn charts_of_one_metric_share_their_value_axis() {
    let mut a = run("din", 1, 0.7);
    let mut b = run("lr", 1, 0.6);
    a.curves = BTreeMap::from([
        ("train.auc".to_string(), vec![(1, 0.60), (2, 0.90)]),
        ("valid.auc".to_string(), vec![(1, 0.55), (2, 0.70)]),
        ("train.loss".to_string(), vec![(1, 0.7), (2, 0.4)]),
    ]);
    b.curves = BTreeMap::from([("valid.auc".to_string(), vec![(1, 0.50), (2, 0.65)])]);
    let html = render_html(&ReportInput { metrics: auc(), runs: vec![a, b], ..Default::default() }).unwrap();
    let y_range = |key: &str| -> (f64, f64) {
        let svg = &html[html.find(&format!("<h3>{key}</h3>")).unwrap()..];
        let attr = &svg[svg.find("data-y=\"").unwrap() + 8..];
        let (lo, hi) = attr[..attr.find('"').unwrap()].split_once(' ').unwrap();
        (lo.parse().unwrap(), hi.parse().unwrap())
    };
    let (train, valid, loss) = (y_range("train.auc"), y_range("valid.auc"), y_range("train.loss"));
    assert_eq!(train, valid, "auc charts share one axis");
    assert!(train.0 <= 0.50 && train.1 >= 0.90, "covering both charts: {train:?}");
    assert!(loss.0 > 0.3 && loss.1 < 0.8, "loss has an axis of its own: {loss:?}");
}
