//! Privacy-preserving training through the binary: DP-SGD utility ordered
//! by epsilon, epsilon per epoch in the store and the report, federated
//! rounds, pseudonymised user ids, and the spec's privacy errors.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use hmac::{Hmac, Mac};
use rusqlite::Connection;
use sha2::Sha256;

use crate::util::{Run, Scratch};

/// Small and fast: LR on 200 simulated users (7680 train impressions).
const DP_SPEC: &str = "\
name: private
dataset:
  source: simulator
  simulator: { users: 200, items: 150, topics: 8, sessions_per_user: 8, slots: 6 }
protocol: { history_len: 8, metrics: [auc], valid_metric: auc }
train:
  epochs: 6
  batch_size: 512
  optimizer: { name: adam, lr: 0.05 }
  threads: 1
  checkpoints: false
  privacy: { max_grad_norm: 1.0, target_epsilon: 1.0, microbatch: 4 }
models:
  - { name: lr, model: LR }
seeds: [1, 3]
";

const KEY: &str = "a-secret-key-for-tests-0001";

fn attnlab_env(s: &Scratch, args: &[&str], key: Option<&str>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_attnlab"));
    cmd.args(args).current_dir(s.dir.path()).env("ATTNLAB_DB", s.db()).env_remove("LD_LIBRARY_PATH");
    match key {
        Some(k) => cmd.env("ATTNLAB_PSEUDONYM_KEY", k),
        None => cmd.env_remove("ATTNLAB_PSEUDONYM_KEY"),
    };
    Run(cmd.output().expect("start attnlab"))
}

/// The ids of the finished runs, oldest first.
fn finished_runs(s: &Scratch) -> Vec<String> {
    if !s.db().exists() {
        return Vec::new();
    }
    let db = Connection::open(s.db()).unwrap();
    let mut stmt = db.prepare("SELECT id FROM runs WHERE status = 'FINISHED' ORDER BY start_ms").unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

fn history(s: &Scratch, run: &str, key: &str) -> Vec<(i64, f64)> {
    let db = Connection::open(s.db()).unwrap();
    let mut stmt = db.prepare("SELECT step, value FROM metrics WHERE run_id = ?1 AND key = ?2 ORDER BY step, id").unwrap();
    stmt.query_map((run, key), |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

fn last(s: &Scratch, run: &str, key: &str) -> Option<f64> {
    history(s, run, key).last().map(|p| p.1)
}

fn tag(s: &Scratch, run: &str, key: &str) -> Option<String> {
    let db = Connection::open(s.db()).unwrap();
    db.query_row("SELECT value FROM tags WHERE run_id = ?1 AND key = ?2", (run, key), |r| r.get(0)).ok()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn dp_sgd_utility_lies_between_random_and_non_private_ordered_by_epsilon() {
    let s = Scratch::new();
    let spec = s.write("private.yaml", DP_SPEC);
    let spec = spec.to_str().unwrap();
    let mut auc = Vec::new(); // per setting, the test AUC of each seed
    for overrides in [&["train.privacy.target_epsilon=1"][..], &["train.privacy.target_epsilon=8"], &["train.privacy=null"]] {
        let before: BTreeSet<String> = finished_runs(&s).into_iter().collect();
        let mut args = vec!["run", spec];
        args.extend_from_slice(overrides);
        s.attnlab(&args).ok();
        let new: Vec<String> = finished_runs(&s).into_iter().filter(|r| !before.contains(r)).collect();
        assert_eq!(new.len(), 2, "one run per seed");
        auc.push(new.iter().map(|r| last(&s, r, "test.auc").unwrap()).collect::<Vec<_>>());
        for run in &new {
            let eps = history(&s, run, "privacy.epsilon");
            match overrides[0] {
                "train.privacy=null" => assert!(eps.is_empty(), "a non-private run logs no epsilon"),
                target => {
                    let target: f64 = target.rsplit('=').next().unwrap().parse().unwrap();
                    assert_eq!(eps.iter().map(|p| p.0).collect::<Vec<_>>(), (1..=6).collect::<Vec<i64>>(), "epsilon at every epoch");
                    assert!(eps.windows(2).all(|w| w[0].1 < w[1].1), "epsilon grows: {eps:?}");
                    let spent = eps.last().unwrap().1;
                    assert!(spent <= target && spent > 0.97 * target, "final epsilon {spent} for target {target}");
                    assert_eq!(tag(&s, run, "privacy.delta").as_deref(), Some("0.00001"));
                    let sigma: f64 = tag(&s, run, "privacy.noise_multiplier").unwrap().parse().unwrap();
                    assert!(sigma > 0.1, "the solved noise multiplier is stored: {sigma}");
                }
            }
        }
    }
    let (eps1, eps8, plain) = (mean(&auc[0]), mean(&auc[1]), mean(&auc[2]));
    assert!(eps1 > 0.55, "epsilon 1 still learns: test AUC {eps1} (random 0.5)");
    assert!(eps8 > eps1 + 0.01, "epsilon 8 ({eps8}) beats epsilon 1 ({eps1})");
    assert!(plain > eps8 + 0.01, "non-private ({plain}) beats epsilon 8 ({eps8})");

    let out = s.path("report.html");
    s.attnlab(&["report", "private", "-o", out.to_str().unwrap()]).ok();
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("<section id=\"privacy\">"), "the report has a privacy section");
    assert!(html.contains("test.auc by epsilon"), "utility against epsilon is charted");
    assert!(html.contains("dp-sgd") && html.contains("∞"), "mechanisms and the non-private runs are listed");
}

#[test]
fn federated_averaging_logs_rounds_with_epsilon() {
    let s = Scratch::new();
    let spec = s.write("private.yaml", DP_SPEC);
    let fed = "train.federated={clients: 20, partition: interest, rounds: 4, clients_per_round: 10}";
    let run = |extra: &[&str]| {
        let mut args = vec!["run", spec.to_str().unwrap(), "seeds=[1]", "train.privacy=null", "train.batch_size=64", fed];
        args.extend_from_slice(extra);
        s.attnlab(&args).ok();
        finished_runs(&s).pop().unwrap()
    };
    let plain = run(&[]);
    let auc = history(&s, &plain, "valid.auc");
    assert_eq!(auc.iter().map(|p| p.0).collect::<Vec<_>>(), vec![1, 2, 3, 4], "one step per round");
    assert!(history(&s, &plain, "privacy.epsilon").is_empty());
    assert!(last(&s, &plain, "test.auc").unwrap() > 0.6, "FedAvg learns");
    // with 200 users, user-level DP is mostly noise: only the accounting is checked here
    let private = run(&["train.federated.dp={clip: 1.0, noise_multiplier: 0.5}"]);
    let eps = history(&s, &private, "privacy.epsilon");
    assert_eq!(eps.iter().map(|p| p.0).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    let want = attnlab_eval::privacy::epsilon(0.5, 0.5, 4, 1e-5).unwrap().0;
    assert!((eps[3].1 - want).abs() < 1e-9, "user-level epsilon {} vs the accountant's {want}", eps[3].1);
    assert_eq!(tag(&s, &private, "privacy.noise_multiplier").as_deref(), Some("0.500000"));
    let out = s.path("report.html");
    s.attnlab(&["report", "private", "-o", out.to_str().unwrap()]).ok();
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("valid.auc by round (federated runs)") && html.contains("dp-fedavg"));
}

/// Every `user` of a per-user CSV.
fn per_user_users(path: &Path) -> BTreeSet<u64> {
    std::fs::read_to_string(path).unwrap().lines().skip(1).map(|l| l.split(',').next().unwrap().parse().unwrap()).collect()
}

fn pseudonym(key: &str, raw: u32) -> u64 {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(raw.to_string().as_bytes());
    u64::from_be_bytes(mac.finalize().into_bytes()[..8].try_into().unwrap())
}

fn artifact(s: &Scratch, run: &str, path: &str) -> PathBuf {
    s.path("store/artifacts").join(run).join(path)
}

#[test]
fn pseudonymised_runs_write_keyed_hashes_joinable_by_key() {
    let s = Scratch::new();
    let spec = s.write("private.yaml", DP_SPEC);
    let spec = spec.to_str().unwrap();
    let common = ["seeds=[1]", "train.privacy=null", "train.epochs=1", "dataset.pseudonymise=true"];
    let din = "models=[{name: din, model: DIN, params: {embed_dim: 4}}]";
    let run_with = |key: Option<&str>, extra: &[&str]| {
        let mut args = vec!["run", spec, "--force"];
        args.extend_from_slice(&common);
        args.extend_from_slice(extra);
        attnlab_env(&s, &args, key)
    };

    // no key: bad input before anything is written
    let refused = run_with(None, &[]);
    assert_eq!(refused.code(), 2, "{}", refused.stderr());
    assert!(refused.stderr().contains("ATTNLAB_PSEUDONYM_KEY"), "{}", refused.stderr());
    assert!(!s.db().exists(), "nothing written without a key");

    run_with(Some(KEY), &[din]).ok();
    run_with(Some(KEY), &[din]).ok();
    run_with(Some("another-secret-key-000002"), &[din]).ok();
    let runs = finished_runs(&s);
    assert_eq!(runs.len(), 3);
    let users: Vec<BTreeSet<u64>> = runs.iter().map(|r| per_user_users(&artifact(&s, r, "per_user/test.csv"))).collect();
    assert_eq!(users[0], users[1], "the same key gives the same pseudonyms: runs stay joinable");
    assert!(users[0].is_disjoint(&users[2]), "another key gives other pseudonyms");
    // every id written is HMAC-SHA256(key, raw id) of a simulated user, none a raw id
    let expected: BTreeSet<u64> = (0..200).map(|u| pseudonym(KEY, u)).collect();
    assert!(users[0].is_subset(&expected) && users[0].len() > 50, "pseudonyms of the test users");
    assert!(users[0].iter().all(|&u| u >= 200), "no raw user id in the per-user file");
    // the attention sample names its users by the same pseudonyms
    let sample: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(artifact(&s, &runs[0], "attention/sample.json")).unwrap()).unwrap();
    let sampled: Vec<u64> = sample["users"].as_array().unwrap().iter().map(|u| u["user"].as_str().unwrap().parse().unwrap()).collect();
    assert!(!sampled.is_empty() && sampled.iter().all(|u| expected.contains(u)), "{sampled:?}");
    assert_eq!(tag(&s, &runs[0], "privacy.pseudonym_key_id"), tag(&s, &runs[1], "privacy.pseudonym_key_id"));
    assert_ne!(tag(&s, &runs[0], "privacy.pseudonym_key_id"), tag(&s, &runs[2], "privacy.pseudonym_key_id"));

    // the key itself is stored nowhere
    let out = s.path("report.html");
    attnlab_env(&s, &["report", "private", "-o", out.to_str().unwrap()], None).ok();
    for file in files_under(&s.path("store")).into_iter().chain([out]) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(!contains(&bytes, KEY.as_bytes()), "{} holds the key", file.display());
    }
}

#[test]
fn raw_user_tokens_of_interaction_files_reach_no_store_artifact_or_report() {
    let s = Scratch::new();
    let dir = s.path("toy");
    std::fs::create_dir_all(&dir).unwrap();
    let mut inter = String::from("user_id:token\titem_id:token\ttimestamp:float\n");
    for u in 0..40 {
        for j in 0..8 {
            inter.push_str(&format!("zqx-raw-user-{u:03}\titem{}\t{}\n", (u * 3 + j * 7) % 25, u * 100 + j));
        }
    }
    std::fs::write(dir.join("toy.inter"), inter).unwrap();
    let spec = s.write(
        "toy.yaml",
        "name: toy\ndataset: { source: recbole-atomic, path: toy, pseudonymise: true }\n\
         protocol: { split: leave-one-out, order: time, metrics: [hit@5, ndcg@5], valid_metric: ndcg@5 }\n\
         train: { checkpoints: false, threads: 1 }\nmodels: [{ name: pop, model: Pop }]\n",
    );
    attnlab_env(&s, &["run", spec.to_str().unwrap()], Some(KEY)).ok();
    let out = s.path("report.html");
    attnlab_env(&s, &["report", "toy", "-o", out.to_str().unwrap()], None).ok();
    let files: Vec<PathBuf> = files_under(&s.path("store")).into_iter().chain([out]).collect();
    assert!(files.iter().any(|f| f.ends_with("per_user/test.csv")));
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        assert!(!contains(&bytes, b"zqx-raw-user"), "{} holds a raw user token", file.display());
    }
    let run = finished_runs(&s).pop().unwrap();
    let users = per_user_users(&artifact(&s, &run, "per_user/test.csv"));
    let expected: BTreeSet<u64> = (0..40).map(|u| pseudonym(KEY, u)).collect();
    assert_eq!(users, expected, "every test user, by the pseudonym of its dense id");
}

#[test]
fn privacy_spec_errors_are_located_and_exit_2() {
    let s = Scratch::new();
    let spec = s.write("private.yaml", DP_SPEC);
    let spec = spec.to_str().unwrap();
    // range errors inside the block: file, line and column
    for (from, to, needle) in [
        ("target_epsilon: 1.0,", "target_epsilon: 1.0, delta: 1.5,", "must be in (0, 1)"),
        ("max_grad_norm: 1.0", "max_grad_norm: 0", "must be a finite number > 0"),
        ("microbatch: 4", "microbatch: 4, noise: 2", "unknown field `noise`"),
    ] {
        let bad = s.write("bad.yaml", &DP_SPEC.replace(from, to));
        let r = s.attnlab(&["validate", bad.to_str().unwrap()]);
        assert_eq!(r.code(), 2, "{to}: {}", r.stderr());
        assert!(r.stderr().contains("bad.yaml:12:") && r.stderr().contains(needle), "{to}: {}", r.stderr());
    }
    // cross-field problems caused by an override name the override and the field
    for (overrides, needle) in [
        (&["train.privacy.noise_multiplier=1.0"][..], "exactly one of `noise_multiplier` and `target_epsilon`"),
        (&["train.clip_grad_norm=1.0"], "use train.privacy.max_grad_norm"),
        (&["train.privacy=null", "train.federated={clients: 4, rounds: 2, clients_per_round: 5}"], "more than the 4 clients"),
    ] {
        let mut args = vec!["validate", spec];
        args.extend_from_slice(overrides);
        let r = s.attnlab(&args);
        assert_eq!(r.code(), 2, "{overrides:?}: {}", r.stderr());
        assert!(r.stderr().contains(needle), "{overrides:?}: {}", r.stderr());
        assert!(r.stderr().contains("from the command line: train."), "names the override: {}", r.stderr());
    }
    // a budget too small for one epoch fails the run, with the reason
    let r = s.attnlab(&["run", spec, "seeds=[1]", "train.privacy.stop_at_epsilon=0.01", "train.privacy.target_epsilon=null", "train.privacy.noise_multiplier=0.5"]);
    assert_ne!(r.code(), 0);
    assert!(r.stderr().contains("below the epsilon of a single epoch"), "{}", r.stderr());
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() { stack.push(path) } else { out.push(path) }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Negative numbers are values out of range (exit 2 naming the flag), not
/// unknown flags.
#[test]
fn negative_steps_and_rates_are_range_errors() {
    let s = Scratch::new();
    let steps = s.attnlab(&["privacy", "epsilon", "--sample-rate", "0.01", "--noise-multiplier", "1.1", "--steps", "-5"]);
    assert_eq!(steps.code(), 2, "{}", steps.stderr());
    assert_eq!(steps.stderr().trim(), "error: --steps: must be at least 1, got -5");
    let rate = s.attnlab(&["privacy", "epsilon", "--sample-rate", "-0.5", "--noise-multiplier", "1.1", "--steps", "5"]);
    assert_eq!(rate.code(), 2, "{}", rate.stderr());
    assert!(rate.stderr().contains("-0.5") && !rate.stderr().contains("unexpected argument"), "{}", rate.stderr());
}
