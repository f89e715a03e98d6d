//! The report in a real browser: Debian's headless Chromium opens generated
//! pages from `file://` and the tests drive them over the DevTools protocol.
//! No console errors; sorting, filtering, column and seed toggles, comparing
//! two runs, copying as Markdown/LaTeX, legend toggles and the log axis do
//! what they say; nothing a spec says runs as script; the page body never
//! overflows sideways at desktop or phone width. Fails when the browser is
//! missing (`make browser` installs it).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use attnlab_report::{render_html, render_table, MetricSpec, ReportInput, RunSummary, TableFormat, TargetVerdict};
use attnlab_testkit::chromium::Browser;
use serde_json::{json, Value};

const EVIL: &str = "</script><script>window.pwned = 1</script>";

/// 3 models x 3 seeds with four metrics and three curves (one spanning
/// decades), a target, and hostile text in the description, a model name
/// and the target's source.
fn market_like() -> ReportInput {
    let mut runs = Vec::new();
    for (m, (name, model)) in [("din", "DIN"), ("dnn", EVIL), ("esmm", "ESMM")].into_iter().enumerate() {
        for seed in 1..=3u64 {
            let auc = 0.70 + 0.01 * m as f64 + 0.001 * seed as f64;
            let curves = BTreeMap::from([
                ("train.loss".to_string(), (1..=20).map(|e| (e, 2.0 / (e as f64).powi(2) + 0.001 * seed as f64)).collect()),
                ("train.auc".to_string(), (1..=20).map(|e| (e, auc - 0.1 / e as f64)).collect()),
                ("valid.auc".to_string(), (1..=20).map(|e| (e, auc - 0.12 / e as f64)).collect()),
            ]);
            runs.push(RunSummary {
                id: format!("{name}{seed}abcdef"),
                name: name.into(),
                model: model.into(),
                seed,
                status: "FINISHED".into(),
                duration_s: Some(30.0 + 10.0 * m as f64),
                params: vec![("model".into(), name.into()), ("train.lr".into(), format!("0.00{}", m + 1)), ("seed".into(), seed.to_string())],
                metrics: BTreeMap::from([
                    ("test.auc".into(), auc),
                    ("test.logloss".into(), 0.5 - 0.01 * m as f64 + 0.001 * seed as f64),
                    ("test.ndcg".into(), 0.3 + 0.02 * seed as f64 - 0.01 * m as f64),
                    ("test.recall".into(), 0.1 * (m + 1) as f64),
                ]),
                curves,
                experiment: "market".into(),
                data_fingerprint: "fp-0123".into(),
                ..Default::default()
            });
        }
    }
    let metric = |key: &str, label: &str, up| MetricSpec { key: key.into(), label: label.into(), higher_is_better: up };
    ReportInput {
        experiment: "market".into(),
        description: Some(format!("Ad ranking on a simulated market {EVIL}")),
        generated_at: "2026-01-01 00:00:00 UTC".into(),
        metrics: vec![
            metric("test.auc", "Test AUC", true),
            metric("test.logloss", "Test LogLoss", false),
            metric("test.ndcg", "Test NDCG", true),
            metric("test.recall", "Test Recall", true),
        ],
        runs,
        protocol: vec![("spec.fingerprint".into(), "fp-0123".into())],
        targets: vec![TargetVerdict {
            model: "ESMM".into(),
            metric: "auc".into(),
            published: "0.71".into(),
            measured: "0.722 ± 0.001".into(),
            diff: "+0.012".into(),
            verdict: "REPRODUCED".into(),
            source: format!("a paper {EVIL}"),
        }],
        ..Default::default()
    }
}

fn write(input: &ReportInput, dir: &Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, render_html(input).unwrap()).unwrap();
    path
}

/// The run labels of the results table's rows, top to bottom.
const ROW_ORDER: &str = "Array.from(document.querySelectorAll('table.results[data-export] tbody tr')).map(r => r.dataset.run)";
/// How many of the results table's rows are displayed.
const VISIBLE_ROWS: &str =
    "Array.from(document.querySelectorAll('table.results[data-export] tbody tr')).filter(r => getComputedStyle(r).display !== 'none').length";

fn click(browser: &mut Browser, selector: &str) {
    let js = format!(
        "(() => {{ const e = document.querySelector({}); if (!e) return false; e.dispatchEvent(new MouseEvent('click', {{bubbles: true}})); return true; }})()",
        json!(selector)
    );
    assert_eq!(browser.eval(&js), json!(true), "nothing to click at {selector}");
}

#[test]
fn the_report_works_in_a_real_browser() {
    let input = market_like();
    let dir = tempfile::tempdir().unwrap();
    let page = write(&input, dir.path(), "market.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains(EVIL), "hostile text is escaped in the HTML and in the data block");
    assert_eq!(html.matches("<script").count(), 2, "the data block and the page's script only");

    let mut b = Browser::launch();
    b.set_width(1400, 900);
    b.open(&page);
    assert_eq!(b.console_errors(), Vec::<String>::new());
    assert_eq!(b.eval("typeof window.pwned"), json!("undefined"), "text from a spec ran as script");
    assert_eq!(b.eval("document.querySelector('header .description').textContent"), json!(input.description.clone().unwrap()));
    assert!(b.eval("document.querySelector('#targets').textContent").as_str().unwrap().contains(EVIL), "the source reads as text");

    // Sorting by Test NDCG reorders the rows: ascending, then descending.
    let labels: Vec<Value> = b.eval(ROW_ORDER).as_array().unwrap().clone();
    assert_eq!(labels.len(), 9);
    let mut by_ndcg: Vec<(f64, String)> =
        input.runs.iter().map(|r| (r.metrics["test.ndcg"], format!("{} (seed {})", r.name, r.seed))).collect();
    by_ndcg.sort_by(|a, b| a.0.total_cmp(&b.0));
    let ndcg_th = "table.results[data-export] th[data-metric='2'] button";
    click(&mut b, ndcg_th);
    let ascending: Vec<String> = serde_json::from_value(b.eval(ROW_ORDER)).unwrap();
    // Ties keep their order: compare the values as shown (4 decimals), not the labels.
    let value_of = |label: &str| (by_ndcg.iter().find(|(_, l)| l == label).unwrap().0 * 1e4).round();
    let values: Vec<f64> = ascending.iter().map(|l| value_of(l)).collect();
    assert!(values.windows(2).all(|w| w[0] <= w[1]), "ascending: {ascending:?}");
    assert_ne!(serde_json::to_value(&ascending).unwrap(), json!(labels), "the rows moved");
    click(&mut b, ndcg_th);
    let descending: Vec<String> = serde_json::from_value(b.eval(ROW_ORDER)).unwrap();
    let values: Vec<f64> = descending.iter().map(|l| value_of(l)).collect();
    assert!(values.windows(2).all(|w| w[0] >= w[1]), "descending: {descending:?}");

    // The filter hides every row without the text.
    assert_eq!(b.eval(VISIBLE_ROWS), json!(9));
    b.eval("(() => { const f = document.querySelector('#results input[type=search]'); f.value = 'esmm'; f.dispatchEvent(new Event('input')); })()");
    assert_eq!(b.eval(VISIBLE_ROWS), json!(3));
    b.eval("(() => { const f = document.querySelector('#results input[type=search]'); f.value = ''; f.dispatchEvent(new Event('input')); })()");
    assert_eq!(b.eval(VISIBLE_ROWS), json!(9));

    // A metric column can be hidden.
    b.eval("(() => { const c = document.querySelector('#results details input[type=checkbox]'); c.checked = false; c.dispatchEvent(new Event('change')); })()");
    assert_eq!(b.eval("getComputedStyle(document.querySelector(\"table.results[data-export] th[data-metric='0']\")).display"), json!("none"));

    // Per-seed rows are collapsed under their mean and open on request.
    let shown_seeds = "Array.from(document.querySelectorAll('#seeds tr.seed')).filter(r => getComputedStyle(r).display !== 'none').length";
    assert_eq!(b.eval(shown_seeds), json!(0));
    click(&mut b, "#seeds tr.group button.expand");
    assert_eq!(b.eval(shown_seeds), json!(3));

    // Copying the results table gives exactly `report --format md|latex`.
    for (button, format) in [(0, TableFormat::Markdown), (1, TableFormat::Latex)] {
        let js = format!("(() => {{ const c = document.querySelector('#results .controls'); c.querySelectorAll('button')[{button}].click(); return document.querySelector('#results textarea.export').value; }})()");
        assert_eq!(b.eval(&js), json!(render_table(&input, format)));
    }

    // Two ticked runs show what differs: their learning rate and metrics.
    b.eval("['din (seed 1)', 'esmm (seed 1)'].forEach(run => { const c = document.querySelector(`tr[data-run=\"${run}\"] input.pick`); c.checked = true; c.dispatchEvent(new Event('change')); })");
    let compared: Vec<Vec<String>> = serde_json::from_value(b.eval(
        "Array.from(document.querySelectorAll('#compare tbody tr')).map(r => Array.from(r.cells).map(c => c.textContent))",
    ))
    .unwrap();
    let rows: Vec<&str> = compared.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(rows, ["model", "train.lr", "Test AUC", "Test LogLoss", "Test NDCG", "Test Recall"], "{compared:?}");

    // Hiding a legend entry hides that run's line in every chart and its row.
    let run = "dnn (seed 2)";
    let shown_lines = format!(
        "Array.from(document.querySelectorAll('g.series')).filter(g => g.dataset.run === {} && getComputedStyle(g).display !== 'none').length",
        json!(run)
    );
    assert_eq!(b.eval(&shown_lines), json!(3), "a line per chart");
    click(&mut b, &format!("#curves g.legend[data-run={}]", json!(run)));
    assert_eq!(b.eval(&shown_lines), json!(0));
    assert_eq!(b.eval("document.querySelectorAll('g.series').length - Array.from(document.querySelectorAll('g.series')).filter(g => getComputedStyle(g).display === 'none').length"), json!(24));
    assert_eq!(b.eval(&format!("getComputedStyle(document.querySelector('tr[data-run={}]')).display", json!(run))), json!("none"));
    // The legend entry is a keyboard control too.
    b.eval(&format!(
        "document.querySelector('#curves g.legend[data-run={}]').dispatchEvent(new KeyboardEvent('keydown', {{key: 'Enter', bubbles: true}}))",
        json!(run)
    ));
    assert_eq!(b.eval(&shown_lines), json!(3));

    // The loss spans decades: its chart offers a log axis that redraws the lines.
    let loss_points = "document.querySelector('figure.curve[data-log] polyline').getAttribute('points')";
    let linear = b.eval(loss_points);
    click(&mut b, "figure.curve[data-log] button.log-toggle");
    assert_ne!(b.eval(loss_points), linear);
    assert_eq!(b.eval("document.querySelectorAll('figure.curve[data-log]').length"), json!(1), "only train.loss spans decades");
    click(&mut b, "figure.curve[data-log] button.log-toggle");
    assert_eq!(b.eval(loss_points), linear, "back to the linear axis");

    // Hover names the run, step and value of the nearest point.
    let hover = "(() => { const l = document.querySelector('figure.curve g.series polyline'); const r = l.getBoundingClientRect(); \
        const pt = l.points.getItem(0); const m = l.ownerSVGElement.getScreenCTM(); \
        const x = pt.x * m.a + m.e, y = pt.y * m.d + m.f; \
        l.ownerSVGElement.dispatchEvent(new PointerEvent('pointermove', {clientX: x, clientY: y, bubbles: true})); \
        return document.getElementById('tooltip').textContent; })()";
    let first = &input.runs[0];
    let (step, value) = first.curves["train.auc"][0];
    assert_eq!(b.eval(hover), json!(format!("din (seed 1) · step {step} · {}", js_precision5(value))));

    // Printed, the page has no controls and keeps its table rows whole.
    b.call("Emulation.setEmulatedMedia", json!({ "media": "print" }));
    let shown_controls = "Array.from(document.querySelectorAll('.controls, button:not(.sort), input, textarea')).filter(e => e.offsetParent !== null).length";
    assert_eq!(b.eval(shown_controls), json!(0));
    assert_eq!(b.eval("getComputedStyle(document.querySelector('tbody tr')).breakInside"), json!("avoid"));
    assert_eq!(b.eval("document.querySelector('table.results th[data-metric=\"2\"]').innerText.trim()"), json!("Test NDCG ↑"), "headers stay");
    b.call("Emulation.setEmulatedMedia", json!({ "media": "" }));
    assert!(b.eval(shown_controls).as_u64().unwrap() > 10);

    assert_eq!(b.console_errors(), Vec::<String>::new());
    for (width, height) in [(1400, 900), (400, 800)] {
        b.set_width(width, height);
        let overflow = b.eval("document.documentElement.scrollWidth - document.documentElement.clientWidth");
        assert_eq!(overflow, json!(0), "the page body overflows sideways at {width} px");
        let png = b.screenshot();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }
}

/// `Number.prototype.toPrecision(5)` for values in 0.1..1.
fn js_precision5(v: f64) -> String {
    format!("{v:.5}")
}

#[test]
fn a_thousand_run_report_opens_in_the_browser() {
    let dir = tempfile::tempdir().unwrap();
    let page = write(&common::thousand_runs(), dir.path(), "big.html");
    let bytes = std::fs::metadata(&page).unwrap().len();
    let mut b = Browser::launch();
    b.set_width(1400, 900);
    let took = b.open(&page);
    eprintln!("1,000 runs: {bytes} bytes, opened in {:.0} ms", took.as_secs_f64() * 1000.0);
    assert_eq!(b.console_errors(), Vec::<String>::new());
    assert_eq!(b.eval(VISIBLE_ROWS), json!(100), "the table's first 100 runs");
    assert_eq!(b.eval("document.documentElement.scrollWidth - document.documentElement.clientWidth"), json!(0));
}

