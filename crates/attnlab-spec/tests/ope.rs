//! OPE specs: the shipped one, defaults, and errors that name the field
//! (with line and column where the parser knows them).

use std::path::{Path, PathBuf};

use attnlab_spec::{load_ope, ObdRef, OpeEstimator, OpeSpec, OpeTarget};

fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ope.yaml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn error(text: &str) -> String {
    let (_dir, path) = write(text);
    load_ope(&path).unwrap_err().to_string().replace(&path.display().to_string(), "ope.yaml")
}

#[test]
fn the_shipped_spec_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments/ope/obd-ope.yaml");
    let file = load_ope(&path).unwrap();
    assert_eq!(file.name, "obd-ope");
    let ope = file.ope;
    assert_eq!(ope.logs, ObdRef { policy: "random".into(), campaign: "all".into() });
    assert_eq!(ope.target, OpeTarget::Logged(ObdRef { policy: "bts".into(), campaign: "all".into() }));
    assert_eq!(ope.estimators, OpeEstimator::ALL.to_vec());
    assert_eq!((ope.bootstrap, ope.seed, ope.switch_tau, ope.dros_lambda), (1000, 2024, 10.0, 10.0));
}

#[test]
fn defaults_and_flags_share_one_section() {
    let (_dir, path) = write("name: x\nope: { logs: obd:bts/men, target: uniform }\n");
    let ope = load_ope(&path).unwrap().ope;
    let from_flags = OpeSpec::new("obd:bts/men".parse().unwrap(), "uniform".parse().unwrap());
    assert_eq!(ope, from_flags);
    assert_eq!(ope.logs.dir(Path::new("data/obd")), Path::new("data/obd/bts/men"));
    assert_eq!(ope.logs.to_string(), "obd:bts/men");
    assert_eq!("switch-dr".parse::<OpeEstimator>(), Ok(OpeEstimator::SwitchDr));
    assert!("ips".parse::<OpeEstimator>().unwrap_err().contains("known: dm, ipw"));
}

#[test]
fn bad_values_name_the_field() {
    assert_eq!(
        error("name: x\nope:\n  logs: obd:random/kids\n  target: uniform\n"),
        "ope.yaml:3:3: ope: logs: expected obd:POLICY/CAMPAIGN (POLICY random|bts, CAMPAIGN all|men|women), found `obd:random/kids`"
    );
    // serde_yaml places a field's own error at its mapping (line 3 here); the message names the field
    assert_eq!(
        error("name: x\nope:\n  logs: obd:random/all\n  target: greedy\n"),
        "ope.yaml:3:3: ope: target: expected `uniform`, obd:POLICY/CAMPAIGN (POLICY random|bts, CAMPAIGN all|men|women) or run:EXPERIMENT/MODEL or run:RUN_ID_PREFIX, found `greedy`"
    );
    let e = error("name: x\nope:\n  logs: obd:random/all\n  target: uniform\n  estimators: [ipw, ips]\n");
    assert!(e.starts_with("ope.yaml:5:21: ope.estimators[1]: unknown variant `ips`"), "{e}");
    let e = error("name: x\nope:\n  logs: obd:random/all\n  target: uniform\n  bootstraps: 10\n");
    assert!(e.starts_with("ope.yaml:5:3: ope: unknown field `bootstraps`") && e.contains("did you mean `bootstrap`"), "{e}");
    let checks = [
        ("bootstrap: 1", "ope.yaml: ope.bootstrap: 1 resamples cannot make an interval (at least 2)"),
        ("switch_tau: -1", "ope.yaml: ope.switch_tau: -1 must be >= 0 (.inf allowed)"),
        ("dros_lambda: .nan", "ope.yaml: ope.dros_lambda: NaN must be >= 0 (.inf allowed)"),
        ("reward_prior: .inf", "ope.yaml: ope.reward_prior: inf must be a finite number >= 0"),
        ("estimators: []", "ope.yaml: ope.estimators: needs at least one estimator"),
        ("estimators: [dr, ipw, dr]", "ope.yaml: ope.estimators[2]: `dr` is listed twice"),
        ("truth: obd:random/men", "ope.yaml: ope.truth: campaign `men` shows other items than the logs' campaign `all`"),
    ];
    for (line, expected) in checks {
        assert_eq!(error(&format!("name: x\nope:\n  logs: obd:random/all\n  target: uniform\n  {line}\n")), expected);
    }
    assert_eq!(
        error("name: x\nope: { logs: obd:random/all, target: obd:bts/men }\n"),
        "ope.yaml: ope.target: campaign `men` shows other items than the logs' campaign `all`"
    );
    let (_dir, path) = write("name: x\nope: { logs: obd:bts/all, target: uniform, truth: obd:random/all }\n");
    assert_eq!(load_ope(&path).unwrap().ope.truth, Some("obd:random/all".parse().unwrap()));
    assert!(error("name: x\nope: { logs: obd:bts/all, target: uniform, truth: uniform }\n").contains("ope: truth: expected obd:POLICY"));
    // infinite thresholds are allowed: Switch-DR and DRos become DR
    let (_dir, path) = write("name: x\nope: { logs: obd:random/all, target: uniform, switch_tau: .inf, dros_lambda: .inf }\n");
    assert!(load_ope(&path).unwrap().ope.switch_tau.is_infinite());
}
