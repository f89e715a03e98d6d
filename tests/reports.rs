//! Reports through the binary: attention heatmaps and sweep plots from real
//! runs, experiments side by side (refused when their protocols differ),
//! and a 1,000-run experiment in a real store.

use attnlab_report::{AttentionKind, AttentionSample, ATTENTION_ARTIFACT};
use attnlab_track::{MetricPoint, NewRun, RunStatus, Store};

use crate::util::{quickstart, Scratch};

/// The part of the page from `<section id="{id}"` to its end.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("<section id=\"{id}\"")).unwrap_or_else(|| panic!("no section {id}"));
    let s = &html[start..];
    &s[..s.find("</section>").unwrap()]
}

fn sample_of(store: &Store, run_id: &str) -> Option<AttentionSample> {
    let path = store.artifact_path(run_id, ATTENTION_ARTIFACT).unwrap();
    path.is_file().then(|| serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
}

#[test]
fn attention_models_save_samples_and_the_report_draws_heatmaps_and_sweep_plots() {
    let s = Scratch::new();
    let spec = s.write(
        "attn.yaml",
        &format!(
            "defaults: [{}]
name: attn
dataset: {{ source: simulator, seed: 3, simulator: {{ users: 120, items: 150 }} }}
train: {{ epochs: 1 }}
models:
  - {{ name: lr, model: LR }}
  - {{ name: din, model: DIN, params: {{ embed_dim: 4, attention_hidden: [8], mlp_hidden: [8] }} }}
  - {{ name: autoint, model: AutoInt, params: {{ embed_dim: 4, layers: 1, heads: 2, attention_dim: 4 }} }}
targets: []
sweep:
  method: grid
  params:
    train.optimizer.lr: [0.0005, 0.05]
",
            quickstart()
        ),
    );
    s.attnlab(&["run", spec.to_str().unwrap()]).ok();
    let store = Store::open(&s.db()).unwrap();
    // the sweep's own parent run groups the trials and has no model
    let runs: Vec<_> = store.runs("attn").unwrap().into_iter().filter(|r| r.model != "sweep").collect();
    assert_eq!(runs.len(), 6);

    let mut din_cells = None;
    for r in &runs {
        let sample = sample_of(&store, &r.id);
        match r.name.as_str() {
            "lr" => assert!(sample.is_none(), "LR has no attention to save"),
            "din" => {
                let sample = sample.expect("DIN saves its attention");
                assert_eq!(sample.kind, AttentionKind::History);
                assert!((1..=6).contains(&sample.users.len()), "{}", sample.users.len());
                for u in &sample.users {
                    assert!(u.history.len() >= 3 && u.history.iter().all(|h| h.item != "0"), "real history items only");
                    let total: f64 = u.history.iter().map(|h| h.weight).sum();
                    assert!((total - 1.0).abs() < 1e-9, "user {}: weights sum to {total}", u.user);
                    let raw: Vec<f64> = u.history.iter().map(|h| h.raw).collect();
                    assert!(raw.iter().any(|w| *w != raw[0]), "the model weighs items differently: {raw:?}");
                }
                din_cells.get_or_insert(sample.users.iter().map(|u| u.history.len()).sum::<usize>());
            }
            "autoint" => {
                let sample = sample.expect("AutoInt saves its field attention");
                assert_eq!(sample.kind, AttentionKind::Fields);
                for u in &sample.users {
                    assert_eq!(u.field_weights.len(), sample.fields.len());
                    for row in &u.field_weights {
                        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-5, "{row:?}");
                    }
                }
            }
            other => panic!("unexpected run {other}"),
        }
    }
    // Every DIN run picked the same users: the choice depends on the data only.
    let din: Vec<Vec<String>> = runs
        .iter()
        .filter(|r| r.name == "din")
        .map(|r| sample_of(&store, &r.id).unwrap().users.iter().map(|u| u.user.clone()).collect())
        .collect();
    assert_eq!(din[0], din[1]);

    let html_path = s.path("attn.html");
    s.attnlab(&["report", "attn", "-o", html_path.to_str().unwrap()]).ok();
    let html = std::fs::read_to_string(&html_path).unwrap();
    let attention = section(&html, "attention");
    let figures: Vec<&str> = attention.split("<figure").skip(1).collect();
    assert_eq!(figures.len(), 2, "one figure per attention model");
    assert!(figures[0].contains("din (seed 2024) · DIN"), "{}", figures[0]);
    assert_eq!(figures[0].matches("<g class=\"cell\">").count(), din_cells.unwrap(), "a cell per history item of each user");
    assert!(figures[1].contains("AutoInt"));

    let sweep = section(&html, "sweep");
    assert!(sweep.contains("6 finished runs over 2 trials"), "{sweep}");
    let scatter = &sweep[sweep.find("<figure").unwrap()..];
    let scatter = &scatter[..scatter.find("</figure>").unwrap()];
    assert!(scatter.contains("by lr (log axis)"), "0.0005..0.05 spans two decades");
    assert_eq!(scatter.matches("<circle class=\"point\"").count(), 6, "a point per run");
    assert_eq!(sweep.matches("<polyline class=\"trial\"").count(), 6);
    let differ = &section(&html, "params")[section(&html, "params").find("Params that differ").unwrap()..];
    assert!(differ.contains("<th>train.lr</th>"), "the swept param differs");
}

/// A one-model experiment `name` on the quickstart protocol plus `extra` YAML.
fn tiny(s: &Scratch, name: &str, extra: &str) {
    let spec = s.write(
        &format!("{name}.yaml"),
        &format!(
            "defaults: [{}]
name: {name}
dataset: {{ source: simulator, simulator: {{ users: 80 }} }}
train: {{ epochs: 1 }}
models:
  - {{ name: lr, model: LR }}
targets: []
{extra}",
            quickstart()
        ),
    );
    s.attnlab(&["run", spec.to_str().unwrap()]).ok();
}

#[test]
fn experiments_compare_side_by_side_only_when_their_protocols_match() {
    let s = Scratch::new();
    tiny(&s, "qa", "");
    tiny(&s, "qc", "seeds: [7]");
    tiny(&s, "qb", "protocol: { ratios: [0.7, 0.15, 0.15] }");
    let out = s.path("side.html");
    let ok = s.attnlab(&["report", "qa", "qc", "-o", out.to_str().unwrap()]).ok();
    assert!(!ok.stderr().contains("warning"), "{}", ok.stderr());
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("<th>Experiment</th>") && html.contains("<td>qa</td>") && html.contains("<td>qc</td>"));
    assert!(html.contains("<h1>qa vs qc</h1>") && !html.contains("id=\"warnings\""));

    let refused = s.attnlab(&["report", "qa", "qb", "-o", out.to_str().unwrap()]);
    assert_eq!(refused.code(), 2, "{}", refused.stderr());
    let reason = refused.stderr();
    assert!(reason.contains("protocol.ratios (qa: [0.8,0.1,0.1]; qb: [0.7,0.15,0.15])"), "{reason}");
    assert!(reason.contains("data.fingerprint") && reason.contains("--force"), "{reason}");

    let forced = s.attnlab(&["report", "qa", "qb", "--force", "-o", out.to_str().unwrap()]).ok();
    assert!(forced.stderr().contains("warning: Compared with --force"), "{}", forced.stderr());
    let html = std::fs::read_to_string(&out).unwrap();
    let warnings = section(&html, "warnings");
    assert!(warnings.contains("Compared with --force") && warnings.contains("protocol.ratios"), "{warnings}");
    assert!(warnings.contains("2 different data&#x2F;protocol fingerprints"), "the runs' tables are flagged too");
    let csv = s.attnlab(&["report", "qa", "qc", "--format", "csv"]).ok().stdout();
    assert!(csv.starts_with("experiment,run,") && csv.lines().count() == 3, "{csv}");
}

#[test]
fn a_thousand_runs_from_the_store_render_into_a_bounded_report() {
    let s = Scratch::new();
    let store = Store::open(&s.db()).unwrap();
    // 10 models x 100 seeds, 50 epochs of three curves each.
    for m in 0..10 {
        for seed in 0..100u64 {
            let id = store
                .create_run(&NewRun {
                    experiment: "big".into(),
                    name: format!("model{m}"),
                    model: "DIN".into(),
                    seed,
                    run_key: format!("{m}-{seed}"),
                    params: vec![("model.embed_dim".into(), (8 * (m + 1)).to_string()), ("train.lr".into(), "0.01".into())],
                    tags: vec![("data.fingerprint".into(), "f00d".into())],
                    parent: None,
                })
                .unwrap();
            let mut points = Vec::new();
            for epoch in 1..=50i64 {
                let x = epoch as f64 / 50.0;
                points.push(MetricPoint::now("train.loss", 0.7 - 0.2 * x + 0.001 * seed as f64, epoch));
                points.push(MetricPoint::now("valid.auc", 0.6 + 0.1 * x + 0.01 * m as f64, epoch));
                points.push(MetricPoint::now("valid.logloss", 0.5 - 0.1 * x, epoch));
            }
            points.push(MetricPoint::now("test.auc", 0.65 + 0.01 * m as f64 + 0.0001 * seed as f64, 50));
            points.push(MetricPoint::now("best.valid.auc", 0.7 + 0.01 * m as f64, 50));
            store.log_metrics(&id, &points).unwrap();
            store.finish_run(&id, RunStatus::Finished).unwrap();
        }
    }
    drop(store);
    let out = s.path("big.html");
    let started = std::time::Instant::now();
    s.attnlab(&["report", "big", "-o", out.to_str().unwrap()]).ok();
    // printed, not asserted: speed is measured by scripts/bench-report.sh
    eprintln!("attnlab report on 1,000 runs: {:.2} s", started.elapsed().as_secs_f64());
    let html = std::fs::read_to_string(&out).unwrap();
    // Tables stop at 100 rows and charts at 12 lines of at most 120 points;
    // only the copy-as-Markdown/LaTeX text lists every run: about 0.3 MB. Without the caps the run
    // table alone is ~0.4 MB and the three charts of 1,000 lines ~3 MB.
    eprintln!("report size: {} bytes", html.len());
    assert!(html.len() < 500_000, "{} bytes", html.len());
    for m in 0..10 {
        assert!(section(&html, "seeds").contains(&format!("<strong>model{m}</strong>")), "model{m} in the over-seeds table");
        assert!(section(&html, "curves").contains(&format!("model{m} (mean of 100)")), "model{m} in the curves");
    }
    assert!(html.contains("The first 100 of 1000 runs are listed"));
}
