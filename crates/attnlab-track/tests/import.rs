//! Merging per-task stores into one (`Store::import`) and settling a
//! sweep's parent run from its children, on real SQLite files.

use attnlab_track::{ArtifactSource, MetricPoint, NewRun, RunFilter, RunStatus, Store};

fn run(experiment: &str, name: &str, parent: Option<&str>) -> NewRun {
    NewRun {
        experiment: experiment.into(),
        name: name.into(),
        model: "lr".into(),
        seed: 1,
        run_key: format!("key-{name}"),
        parent: parent.map(str::to_string),
        params: vec![("lr".into(), "0.1".into())],
        tags: vec![("sweep.trial".into(), name.into())],
    }
}

fn sweep_parent() -> NewRun {
    NewRun { experiment: "ctr".into(), name: "sweep".into(), model: "sweep".into(), run_key: "sweep-key".into(), ..NewRun::default() }
}

const PARENT: &str = "5eed0000000000000000000000000001";

/// A task store as an array task leaves it: the shared parent (by id) and
/// one finished trial with metrics and an artifact.
fn task_store(dir: &std::path::Path, trial: &str) -> (std::path::PathBuf, String) {
    let path = dir.join(format!("task-{trial}/attnlab.db"));
    let store = Store::open(&path).unwrap();
    assert!(store.ensure_run_with_id(PARENT, &sweep_parent()).unwrap());
    assert!(!store.ensure_run_with_id(PARENT, &sweep_parent()).unwrap(), "the second ensure finds it");
    let id = store.create_run(&run("ctr", trial, Some(PARENT))).unwrap();
    let points: Vec<MetricPoint> =
        (0..3).map(|step| MetricPoint { key: "valid.auc".into(), value: 0.6 + step as f64 / 100.0, step, timestamp_ms: 10 + step }).collect();
    store.log_metrics(&id, &points).unwrap();
    store.log_artifact(&id, "per_user/test.csv", ArtifactSource::Bytes(trial.as_bytes())).unwrap();
    store.finish_run(&id, RunStatus::Finished).unwrap();
    (path, id)
}

#[test]
fn task_stores_merge_under_one_parent_and_reimport_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let main = Store::open(&dir.path().join("main/attnlab.db")).unwrap();
    main.ensure_run_with_id(PARENT, &sweep_parent()).unwrap();
    let (a_path, a) = task_store(dir.path(), "0");
    let (b_path, b) = task_store(dir.path(), "1");

    let first = main.import(&a_path).unwrap();
    assert_eq!((first.added, first.replaced, first.unchanged, first.artifacts), (1, 0, 1, 1));
    assert_eq!(first.parents, [PARENT]);
    main.import(&b_path).unwrap();
    let again = main.import(&a_path).unwrap();
    assert_eq!((again.added, again.replaced, again.artifacts), (0, 0, 0), "a second import adds nothing");

    let children = main.find_runs(&RunFilter { parent: Some(PARENT.into()), ..Default::default() }).unwrap();
    let ids: Vec<&str> = children.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&a.as_str()) && ids.contains(&b.as_str()));
    let history = main.metric_history(&a, "valid.auc").unwrap();
    assert_eq!(history.iter().map(|p| p.step).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(main.run(&a).unwrap().params["lr"], "0.1");
    let file = main.artifact_path(&b, "per_user/test.csv").unwrap();
    assert_eq!(std::fs::read_to_string(file).unwrap(), "1");

    assert_eq!(main.settle_parent(PARENT).unwrap(), Some(RunStatus::Finished));
    assert_eq!(main.run(PARENT).unwrap().status, RunStatus::Finished);
}

#[test]
fn a_finished_copy_replaces_an_unfinished_one_and_settling_sees_failures() {
    let dir = tempfile::tempdir().unwrap();
    let (task_path, id) = task_store(dir.path(), "0");
    // The main store took an early import while the trial still ran.
    let main_path = dir.path().join("main.db");
    std::fs::copy(&task_path, &main_path).unwrap();
    let main = Store::open(&main_path).unwrap();
    main.finish_run(&id, RunStatus::Running).unwrap();
    main.log_metrics(&id, &[MetricPoint::now("stale", 1.0, 0)]).unwrap();

    let report = main.import(&task_path).unwrap();
    assert_eq!((report.added, report.replaced), (0, 1));
    let run = main.run(&id).unwrap();
    assert_eq!(run.status, RunStatus::Finished);
    assert!(!run.metrics.contains_key("stale"), "the replaced copy's rows are gone");

    let failed = main.create_run(&run_with_parent("2")).unwrap();
    main.finish_run(&failed, RunStatus::Failed).unwrap();
    assert_eq!(main.settle_parent(PARENT).unwrap(), Some(RunStatus::Failed));
    let running = main.create_run(&run_with_parent("3")).unwrap();
    assert_eq!(main.settle_parent(PARENT).unwrap(), Some(RunStatus::Running));
    main.finish_run(&running, RunStatus::Finished).unwrap();
    // the failed trial is retried (same run key) and finishes: its latest attempt counts
    std::thread::sleep(std::time::Duration::from_millis(5));
    let retry = main.create_run(&run_with_parent("2")).unwrap();
    main.finish_run(&retry, RunStatus::Finished).unwrap();
    assert_eq!(main.settle_parent(PARENT).unwrap(), Some(RunStatus::Finished));
}

fn run_with_parent(name: &str) -> NewRun {
    run("ctr", name, Some(PARENT))
}

#[test]
fn importing_a_missing_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let main = Store::open(&dir.path().join("main.db")).unwrap();
    let missing = dir.path().join("nope/attnlab.db");
    let err = main.import(&missing).unwrap_err().to_string();
    assert!(err.contains("nope/attnlab.db"), "{err}");
    assert!(!missing.exists(), "a missing source is not created");
}
