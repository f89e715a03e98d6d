//! `attnlab ope` on the Open Bandit Dataset in `data/obd` (`make test`
//! fetches it): flags and JSON, the shipped spec, and bad input (exit 2).

use crate::util::{repo, Scratch};

fn data() -> String {
    let dir = repo("data/obd");
    assert!(dir.join("random/all/all.csv").exists(), "run `make test` (it fetches data/obd first)");
    dir.display().to_string()
}

#[test]
fn flags_give_json_per_estimator() {
    let s = Scratch::new();
    let args = ["ope", "--logs", "obd:random/all", "--target", "uniform", "--estimators", "ipw,snipw,dr", "--bootstrap", "200", "--seed", "3"];
    let run = s.attnlab(&[&args[..], &["--data", &data(), "--json"]].concat()).ok();
    let v: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    let e = v["estimators"].as_object().unwrap();
    assert_eq!(e.keys().collect::<Vec<_>>(), ["dr", "ipw", "snipw"]);
    // the uniform policy on its own logs: every weight is 1, IPW is the mean click 38 / 10000
    assert_eq!(e["ipw"]["estimate"], 0.0038);
    for (name, r) in e {
        let (lo, est, hi) = (r["ci_low"].as_f64().unwrap(), r["estimate"].as_f64().unwrap(), r["ci_high"].as_f64().unwrap());
        assert!(lo < est && est < hi, "{name}: {r}");
    }
    assert_eq!((v["records"].clone(), v["resamples"].clone(), v["target"].clone()), (10_000.into(), 200.into(), "uniform".into()));
    assert!(v.get("truth").is_none(), "uniform has no logs of its own here");
    // the same seed gives the same output
    let again = s.attnlab(&[&args[..], &["--data", &data(), "--json"]].concat()).ok();
    assert_eq!(again.stdout(), run.stdout());
}

#[test]
fn uniform_from_bts_logs_with_the_random_logs_as_truth() {
    let s = Scratch::new();
    let args = ["ope", "--logs", "obd:bts/all", "--target", "uniform", "--truth", "obd:random/all", "--estimators", "ipw,snipw"];
    let run = s.attnlab(&[&args[..], &["--data", &data(), "--json"]].concat()).ok();
    let v: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!((v["truth"].clone(), v["truth_from"].clone()), (0.0038.into(), "obd:random/all".into()));
    for name in ["ipw", "snipw"] {
        let r = &v["estimators"][name];
        assert!(r["ci_low"].as_f64().unwrap() <= 0.0038 && 0.0038 <= r["ci_high"].as_f64().unwrap(), "{name}: {r}");
        assert!(r["relative_error_mean"].as_f64().unwrap() > 0.0, "{name}: {r}");
    }
    let table = s.attnlab(&[&args[..], &["--data", &data()]].concat()).ok().stdout();
    assert!(table.starts_with("uniform estimated from obd:bts/all (truth: mean click of obd:random/all)\n"), "{table}");
}

#[test]
fn the_shipped_spec_prints_the_relative_errors() {
    let s = Scratch::new();
    let spec = repo("experiments/ope/obd-ope.yaml");
    // the spec names data/obd relative to the working directory: run from the repository
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_attnlab"))
        .args(["ope", spec.to_str().unwrap()])
        .current_dir(repo(""))
        .env("ATTNLAB_DB", s.db())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.starts_with("obd:bts/all estimated from obd:random/all (truth: mean click of obd:bts/all)\n"), "{stdout}");
    assert!(stdout.contains("truth (on-policy mean reward): 0.004200"), "{stdout}");
    for name in ["dm ", "ipw ", "snipw ", "dr ", "sndr ", "switch-dr(tau=10) ", "dros(lambda=10) "] {
        let line = stdout.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name}: {stdout}"));
        assert!(line.contains(" ± "), "{line}");
    }
}

#[test]
fn bad_input_exits_2_and_says_where() {
    let s = Scratch::new();
    let d = data();
    let run = s.attnlab(&["ope", "--logs", "obd:random/kids", "--target", "uniform", "--data", &d]);
    assert_eq!(run.code(), 2);
    assert!(run.stderr().contains("--logs: expected obd:POLICY/CAMPAIGN"), "{}", run.stderr());
    let run = s.attnlab(&["ope", "--logs", "obd:random/all", "--target", "uniform", "--estimators", "ipw,ips", "--data", &d]);
    assert_eq!(run.code(), 2);
    assert!(run.stderr().contains("unknown estimator `ips`"), "{}", run.stderr());
    let run = s.attnlab(&["ope", "--logs", "obd:random/all", "--target", "uniform", "--bootstrap", "1", "--data", &d]);
    assert_eq!(run.code(), 2);
    assert!(run.stderr().contains("ope.bootstrap"), "{}", run.stderr());
    let run = s.attnlab(&["ope", "--logs", "obd:random/all", "--target", "uniform", "--data", s.path("nowhere").to_str().unwrap()]);
    assert_eq!(run.code(), 2);
    assert!(run.stderr().contains("attnlab data fetch obd"), "{}", run.stderr());
    let spec = s.write("bad.yaml", "name: x\nope:\n  logs: obd:random/all\n  target: uniform\n  estimators: [ipw, ips]\n");
    let run = s.attnlab(&["ope", spec.to_str().unwrap()]);
    assert_eq!(run.code(), 2);
    assert!(run.stderr().contains("bad.yaml:5:21") && run.stderr().contains("ips"), "{}", run.stderr());

    // bad data: a copy of the random logs with one broken value each
    let good = std::fs::read_to_string(repo("data/obd/random/all/all.csv")).unwrap();
    let items = std::fs::read(repo("data/obd/random/all/item_context.csv")).unwrap();
    let broken = |name: &str, edit: &dyn Fn(&str) -> String| {
        let dir = s.path(name).join("random/all");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("item_context.csv"), &items).unwrap();
        std::fs::write(dir.join("all.csv"), edit(&good)).unwrap();
        s.attnlab(&["ope", "--logs", "obd:random/all", "--target", "uniform", "--data", s.path(name).to_str().unwrap()])
    };
    // line 3 is the second row: `1,TIME,ITEM,POSITION,CLICK,PROPENSITY,...`
    let set_field = |field: usize, value: &'static str| {
        move |text: &str| {
            let mut lines: Vec<String> = text.lines().map(String::from).collect();
            let mut f: Vec<&str> = lines[2].split(',').collect();
            f[field] = value;
            lines[2] = f.join(",");
            lines.join("\n") + "\n"
        }
    };
    for (name, field, value, expected) in [
        ("zero", 5, "0", "all.csv:3: field 6 (propensity_score): propensity 0 is not a probability in (0, 1]"),
        ("above", 5, "1.5", "all.csv:3: field 6 (propensity_score): propensity 1.5 is not a probability in (0, 1]"),
        ("slot", 3, "4", "all.csv:3: field 4 (position): position 4 is outside the slots 1..=3 (0..=2 zero-based)"),
    ] {
        let run = broken(name, &set_field(field, value));
        assert_eq!(run.code(), 2, "{name}: {}", run.stderr());
        assert!(run.stderr().contains(expected), "{name}: {}", run.stderr());
    }
    let run = broken("missing", &|text: &str| text.replacen(",propensity_score", ",pscore", 1));
    assert_eq!(run.code(), 2);
    assert!(run.stderr().contains("all.csv:1: field 6 (pscore): unexpected column `pscore`"), "{}", run.stderr());
    let run = broken("dropped", &|text: &str| {
        text.lines().map(|l| l.split(',').enumerate().filter(|(i, _)| *i != 5).map(|(_, f)| f).collect::<Vec<_>>().join(",")).collect::<Vec<_>>().join("\n")
    });
    assert_eq!(run.code(), 2);
    assert!(run.stderr().contains("all.csv:1: missing column `propensity_score`"), "{}", run.stderr());
}
