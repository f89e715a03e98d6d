//! Runs mirrored to a real MLflow server (from `.venv-mlflow`, installed by
//! `make test`), read back through MLflow's own REST API.

use attnlab_track::mlflow::MlflowClient;

use attnlab_testkit::mlflow_server::Server;
use crate::util::{quickstart, Scratch};

#[test]
fn runs_are_mirrored_to_mlflow_and_resync_sends_nothing_new() {
    let server = Server::start();
    let s = Scratch::new();
    let tracking = format!("tracking.mlflow={}", server.uri());
    let run = s
        .attnlab(&["run", &quickstart(), "train.epochs=2", "dataset.simulator.users=80", "models.1.params.embed_dim=4", &tracking])
        .ok();
    assert!(run.stderr().contains("metric points sent"), "{}", run.stderr());

    let client = MlflowClient::new(&server.uri()).unwrap().with_token(None);
    let experiment = client.get_or_create_experiment("quickstart").unwrap();
    let remote = client.search_runs(&experiment, None).unwrap();
    assert_eq!(remote.len(), 2, "one MLflow run per local run");
    let local: serde_json::Value = serde_json::from_str(&s.attnlab(&["runs", "list", "quickstart", "--json"]).ok().stdout()).unwrap();
    for run in remote {
        let id = run["info"]["run_id"].as_str().unwrap();
        assert_eq!(run["info"]["status"], "FINISHED");
        let history = client.metric_history(id, "valid.auc").unwrap();
        assert_eq!(history.iter().map(|m| m.step).collect::<Vec<_>>(), [1, 2], "every epoch, once");
        let test_auc = client.metric_history(id, "test.auc").unwrap()[0].value;
        let tags = run["data"]["tags"].as_array().unwrap();
        let local_id = tags.iter().find(|t| t["key"] == "attnlab.run_id").unwrap()["value"].as_str().unwrap();
        let local_run = local.as_array().unwrap().iter().find(|r| r["id"] == local_id).unwrap();
        assert_eq!(local_run["metrics"]["test.auc"].as_f64().unwrap(), test_auc, "values travel exactly");
    }

    let again = s.attnlab(&["sync", "mlflow", "--uri", &server.uri()]).ok();
    assert!(again.stdout().contains("0 runs created") && again.stdout().contains("sent 0 metric points"), "{}", again.stdout());
}

#[test]
fn unreachable_server_fails_sync_clearly_but_not_the_run() {
    let s = Scratch::new();
    let port = attnlab_testkit::mlflow_server::free_port();
    let uri = format!("http://127.0.0.1:{port}");
    let run = s
        .attnlab(&["run", &quickstart(), "train.epochs=1", "dataset.simulator.users=60", "models.1.params.embed_dim=4", &format!("tracking.mlflow={uri}")])
        .ok();
    assert!(run.stderr().contains("warning: mlflow"), "{}", run.stderr());
    let sync = s.attnlab(&["sync", "mlflow", "--uri", &uri]);
    assert_eq!(sync.code(), 1, "{}", sync.stderr());
    assert!(sync.stderr().contains(&uri), "names the server: {}", sync.stderr());
}

/// A server that accepts connections and never answers (each connection is
/// held until the test ends): `run` with `tracking.mlflow` and `sync mlflow
/// --budget` both give up within seconds (it took ~300 s each before), and
/// the run itself finishes.
#[test]
fn a_server_that_never_answers_costs_seconds_not_minutes() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().map_while(Result::ok).collect();
        drop(held);
    });
    let s = Scratch::new();
    let started = std::time::Instant::now();
    let run = s
        .attnlab(&["run", &quickstart(), "train.epochs=1", "dataset.simulator.users=60", "models.1.params.embed_dim=4", &format!("tracking.mlflow={uri}")])
        .ok();
    let mirrored_in = started.elapsed();
    assert!(run.stderr().contains("warning: mlflow"), "{}", run.stderr());
    assert!(run.stderr().contains("time budget of 20s is spent"), "{}", run.stderr());
    let started = std::time::Instant::now();
    let sync = s.attnlab(&["sync", "mlflow", "--uri", &uri, "--budget", "2"]);
    let synced_in = started.elapsed();
    assert_eq!(sync.code(), 1, "{}", sync.stderr());
    assert!(sync.stderr().contains("time budget of 2s is spent"), "{}", sync.stderr());
    // generous bounds for a loaded machine, far below the 300 s of before
    assert!(synced_in < std::time::Duration::from_secs(60), "sync took {synced_in:?}");
    assert!(mirrored_in < std::time::Duration::from_secs(150), "run with its mirror took {mirrored_in:?}");
}
