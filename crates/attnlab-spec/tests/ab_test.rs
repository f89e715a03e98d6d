//! The `ab_test:` section: strict parsing, cross-field checks, and its
//! absence from the fingerprint.

use std::path::Path;

use attnlab_spec::{fingerprint, parse_spec, validate_all, ArmPolicy, ArmSource, MechanismSpec, SpecError, TradeOffSpec};

const MARKET: &str = "\
name: market
dataset:
  source: simulator
  simulator: { users: 100, slots: 8, ads: { advertisers: 4, slots: [1, 4] } }
models:
  - { name: din, model: DIN }
  - { name: esmm, model: ESMM }
ab_test:
  arms:
    - { name: by-bid, policy: bid-only }
    - { name: esmm, model: esmm }
    - { name: old, run: 1a2b3c4d }
  sessions: 500
  mechanism: vcg
  reserve: 0.05
  trade_off: { ad_loads: [0, 1, 2, 3] }
  power: { lift: 0.02 }
";

fn problems(text: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    std::fs::write(&path, text).unwrap();
    validate_all(&path, &[]).iter().map(|e| e.to_string()).collect()
}

#[test]
fn parses_arms_and_settings() {
    let spec = parse_spec(MARKET, Path::new("m.yaml"), &[]).unwrap();
    let ab = spec.ab_test.as_ref().unwrap();
    let sources: Vec<ArmSource> = ab.arms.iter().map(|a| a.source().unwrap()).collect();
    assert_eq!(sources, vec![ArmSource::Policy(ArmPolicy::BidOnly), ArmSource::Model("esmm"), ArmSource::Run("1a2b3c4d")]);
    assert_eq!((ab.sessions, ab.mechanism, ab.reserve, ab.pacing), (500, MechanismSpec::Vcg, 0.05, false));
    assert_eq!(ab.trade_off, Some(TradeOffSpec { ad_loads: Some(vec![0, 1, 2, 3]), reserves: None, lambdas: None }));
    let power = ab.power.as_ref().unwrap();
    assert_eq!((power.lift, power.alpha, power.power), (0.02, 0.05, 0.8));
    assert!(problems(MARKET).is_empty(), "{:?}", problems(MARKET));
}

#[test]
fn unknown_keys_and_values_are_located() {
    let text = MARKET.replace("  mechanism: vcg", "  mechanizm: vcg");
    match parse_spec(&text, Path::new("m.yaml"), &[]).unwrap_err() {
        SpecError::At { line, message, .. } => {
            assert_eq!(line, 14);
            assert!(message.contains("mechanizm") && message.contains("mechanism"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let text = MARKET.replace("policy: bid-only", "policy: bid_only");
    match parse_spec(&text, Path::new("m.yaml"), &[]).unwrap_err() {
        SpecError::At { line, message, .. } => assert!(line == 10 && message.contains("bid-only"), "{line}: {message}"),
        other => panic!("{other:?}"),
    }
    let text = MARKET.replace("sessions: 500", "sessions: 0");
    let err = parse_spec(&text, Path::new("m.yaml"), &[]).unwrap_err();
    assert!(matches!(&err, SpecError::At { message, .. } if message.contains("at least 1")), "{err}");
}

#[test]
fn an_arm_naming_an_unknown_model_is_an_error() {
    let found = problems(&MARKET.replace("model: esmm }", "model: esm }"));
    assert!(found[0].contains("ab_test.arms[1].model") && found[0].contains("`esm` names an unknown model"), "{}", found[0]);
    assert!(found[0].contains("din, esmm"), "lists the spec's models: {}", found[0]);
}

#[test]
fn cross_field_rules() {
    let cases = [
        ("    - { name: old, run: 1a2b3c4d }\n", "    - { name: old, run: 1a2b3c4d, policy: bid-only }\n", "ab_test.arms[2]: give exactly one"),
        ("    - { name: old, run: 1a2b3c4d }\n", "    - { name: esmm, run: 1a2b3c4d }\n", "`esmm` is used twice"),
        ("  sessions: 500\n", "  sessions: 500\n  ad_slots: [1, 8]\n", "position 8 is past the last slot 7"),
        ("  sessions: 500\n", "  sessions: 500\n  ad_slots: [1]\n  ad_load: 2\n", "either `ad_slots` or `ad_load`"),
        ("ad_loads: [0, 1, 2, 3]", "ad_loads: [2, 8]", "8 ad slots do not fit"),
        ("ad_loads: [0, 1, 2, 3]", "reserves: []", "trade_off.reserves: needs at least one value"),
        ("ad_loads: [0, 1, 2, 3]", "ad_loads: [1], reserves: [0.1]", "give exactly one of `ad_loads`, `reserves` or `lambdas`"),
        ("reserve: 0.05", "reserve: -1", "ab_test.reserve: -1 must be a finite price >= 0"),
        ("lift: 0.02", "lift: 0.0", "ab_test.power.lift"),
        ("lift: 0.02", "lift: 0.02, power: 1.0", "ab_test.power.power"),
        (", ads: { advertisers: 4, slots: [1, 4] }", "", "needs `dataset.source: simulator` with `dataset.simulator.ads`"),
    ];
    for (from, to, expected) in cases {
        let text = MARKET.replace(from, to);
        assert_ne!(text, MARKET, "{from}");
        let found = problems(&text);
        assert!(found.iter().any(|p| p.contains(expected)), "{to:?}: expected {expected:?} in {found:?}");
    }
    let one_arm = MARKET.replace("    - { name: esmm, model: esmm }\n    - { name: old, run: 1a2b3c4d }\n", "");
    assert!(problems(&one_arm).iter().any(|p| p.contains("at least two arms")));
}

#[test]
fn the_ab_test_is_not_part_of_the_fingerprint() {
    let with = parse_spec(MARKET, Path::new("m.yaml"), &[]).unwrap();
    let mut without = with.clone();
    without.ab_test = None;
    assert_eq!(fingerprint(&with), fingerprint(&without));
}
