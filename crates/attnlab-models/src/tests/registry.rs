//! The registry: tasks, typed params with defaults, name lookup, and
//! building each task's models through the right entry point.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use tch::nn;
use tch::Device;

use super::*;
use crate::{build_any, check_params, task_of, BuiltModel, ModelError};

#[test]
fn din_rejects_zero_sizes_and_bad_dropout() {
    let _guard = rng_lock();
    for bad in [
        json!({"embed_dim": 0}),
        json!({"attention_hidden": [8, 0]}),
        json!({"mlp_hidden": [0]}),
        json!({"dropout": 1.0}),
        json!({"dropout": -0.1}),
    ] {
        let err = check_params("DIN", &params(bad.clone())).expect_err(&format!("DIN accepted {bad}"));
        assert!(matches!(err, ModelError::Params { ref model, .. } if model == "DIN"), "{bad}: {err:?}");
        let vs = nn::VarStore::new(Device::Cpu);
        assert!(build("DIN", &vs.root(), &SIZES, &params(bad.clone())).is_err(), "build accepted {bad}");
        assert!(vs.variables().is_empty(), "a rejected build must not create variables ({bad})");
    }
}

#[test]
fn valid_params_are_accepted_and_used() {
    let _guard = rng_lock();
    let good = params(json!({"embed_dim": 4, "attention_hidden": [8], "mlp_hidden": [16], "dropout": 0.5}));
    check_params("DIN", &good).unwrap();
    check_params("DIN", &no_params()).unwrap();
    check_params("LR", &no_params()).unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    let _model = build("DIN", &vs.root(), &SIZES, &good).unwrap();
    assert_eq!(variable(&vs, "item.weight").size(), vec![SIZES.items as i64, 4]);
    assert_eq!(variable(&vs, "category.weight").size(), vec![SIZES.categories as i64, 4]);
}

#[test]
fn unknown_param_keys_are_rejected_by_name() {
    let _guard = rng_lock();
    let err = check_params("DIN", &params(json!({"embed_dimm": 8}))).unwrap_err();
    assert!(matches!(err, ModelError::Params { .. }), "{err:?}");
    assert!(err.to_string().contains("embed_dimm"), "message does not name the key: {err}");
    let err = check_params("LR", &params(json!({"embed_dim": 8}))).unwrap_err();
    assert!(err.to_string().contains("embed_dim"), "message does not name the key: {err}");
    let vs = nn::VarStore::new(Device::Cpu);
    assert!(build("LR", &vs.root(), &SIZES, &params(json!({"l2": 0.1}))).is_err());
}

#[test]
fn unknown_model_lists_the_known_ones() {
    let _guard = rng_lock();
    let err = check_params("NoSuchModel", &no_params()).unwrap_err();
    assert!(matches!(err, ModelError::UnknownModel { ref name, .. } if name == "NoSuchModel"), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("NoSuchModel"), "{message}");
    for info in REGISTRY {
        assert!(message.contains(info.name), "`{}` missing from: {message}", info.name);
    }
    let vs = nn::VarStore::new(Device::Cpu);
    assert!(matches!(build("NoSuchModel", &vs.root(), &SIZES, &no_params()), Err(ModelError::UnknownModel { .. })));
}

#[test]
fn model_names_are_case_insensitive() {
    let _guard = rng_lock();
    for name in ["din", "Din", "DIN", "lr", "Lr", "LR"] {
        check_params(name, &no_params()).unwrap_or_else(|e| panic!("`{name}`: {e}"));
        let vs = nn::VarStore::new(Device::Cpu);
        build(name, &vs.root(), &SIZES, &no_params()).unwrap_or_else(|e| panic!("`{name}`: {e}"));
    }
    // a different spelling is not a different model
    let (vs_upper, vs_lower) = (nn::VarStore::new(Device::Cpu), nn::VarStore::new(Device::Cpu));
    build("DIN", &vs_upper.root(), &SIZES, &no_params()).unwrap();
    build("din", &vs_lower.root(), &SIZES, &no_params()).unwrap();
    let names = |vs: &nn::VarStore| vs.variables().keys().cloned().collect::<BTreeSet<_>>();
    assert_eq!(names(&vs_upper), names(&vs_lower));
    assert!(check_params("D I N", &no_params()).is_err());
}

#[test]
fn every_model_declares_its_task_and_builds_through_the_matching_entry_point() {
    let _guard = rng_lock();
    let expected = [
        ("LR", Task::Ctr),
        ("DIN", Task::Ctr),
        ("FM", Task::Ctr),
        ("DeepFM", Task::Ctr),
        ("DCN-V2", Task::Ctr),
        ("AutoInt", Task::Ctr),
        ("SharedBottom", Task::MultiTask),
        ("ESMM", Task::MultiTask),
        ("MMoE", Task::MultiTask),
        ("PLE", Task::MultiTask),
        ("Pop", Task::NextItem),
        ("GRU4Rec", Task::NextItem),
        ("Caser", Task::NextItem),
        ("SASRec", Task::NextItem),
        ("HSTU", Task::NextItem),
        ("BERT4Rec", Task::NextItem),
        ("BPR", Task::NextItem),
    ];
    assert_eq!(REGISTRY.iter().map(|m| (m.name, m.task)).collect::<Vec<_>>(), expected);
    for (name, task) in expected {
        assert_eq!(task_of(name).unwrap(), task);
        let vs = nn::VarStore::new(Device::Cpu);
        let built = build_any(name, &vs.root(), sizes_for(task), &no_params()).unwrap();
        assert_eq!(built.task(), task, "{name}");
        // Pop alone has nothing to train
        assert_eq!(vs.variables().is_empty(), name == "Pop", "{name}: variables {:?}", vs.variables().keys());
        // the other entry point refuses the name before creating anything
        let vs = nn::VarStore::new(Device::Cpu);
        let err = match task {
            Task::Ctr => build_multitask(name, &vs.root(), &SIZES, &no_params()).map(drop).unwrap_err(),
            _ => build(name, &vs.root(), &SIZES, &no_params()).map(drop).unwrap_err(),
        };
        assert!(matches!(err, ModelError::WrongTask { ref model, actual, .. } if model == name && actual == task), "{name}: {err:?}");
        assert!(err.to_string().contains(name), "{err}");
        assert!(vs.variables().is_empty(), "{name}: a refused build created variables");
    }
    let vs = nn::VarStore::new(Device::Cpu);
    assert!(matches!(build_any("esmm", &vs.root(), &SIZES, &no_params()).unwrap(), BuiltModel::MultiTask(_)));
}

#[test]
fn every_model_documents_defaults_that_parse_back() {
    let _guard = rng_lock();
    for info in REGISTRY {
        let defaults = info.defaults();
        let map = params(defaults.clone());
        check_params(info.name, &map).unwrap_or_else(|e| panic!("{}: defaults {defaults} rejected: {e}", info.name));
        // the defaults are what an empty params map means: same variables
        let (a, b) = (nn::VarStore::new(Device::Cpu), nn::VarStore::new(Device::Cpu));
        build_any(info.name, &a.root(), sizes_for(info.task), &map).unwrap();
        build_any(info.name, &b.root(), sizes_for(info.task), &no_params()).unwrap();
        let shapes = |vs: &nn::VarStore| vs.variables().into_iter().map(|(k, v)| (k, v.size())).collect::<Vec<_>>();
        let (mut sa, mut sb) = (shapes(&a), shapes(&b));
        sa.sort();
        sb.sort();
        assert_eq!(sa, sb, "{}", info.name);
    }
}

/// For every model, every size in its defaults set to 0, every layer list
/// given a 0, and dropout 1 are rejected, by `check_params` and `build`
/// alike, with no variable created; unknown keys are rejected by name.
#[test]
fn every_model_rejects_bad_params_by_key() {
    let _guard = rng_lock();
    for info in REGISTRY {
        let defaults = params(info.defaults());
        let mut bad: Vec<(String, Value)> = vec![("no_such_key".into(), json!(1))];
        for (key, value) in &defaults {
            match value {
                Value::Number(n) if key == "dropout" => {
                    assert!(n.as_f64().is_some());
                    bad.push((key.clone(), json!(1.0)));
                    bad.push((key.clone(), json!(-0.1)));
                }
                Value::Number(n) if n.is_u64() => bad.push((key.clone(), json!(0))),
                Value::Array(_) => bad.push((key.clone(), json!([4, 0]))),
                _ => {}
            }
        }
        for (key, value) in bad {
            let mut p = defaults.clone();
            p.insert(key.clone(), value.clone());
            let err = check_params(info.name, &p).expect_err(&format!("{} accepted {key}={value}", info.name));
            assert!(matches!(err, ModelError::Params { ref model, .. } if model == info.name), "{err:?}");
            assert!(err.to_string().contains(&key), "{}: message does not name `{key}`: {err}", info.name);
            let vs = nn::VarStore::new(Device::Cpu);
            assert!(build_any(info.name, &vs.root(), sizes_for(info.task), &p).is_err(), "{}: build accepted {key}={value}", info.name);
            assert!(vs.variables().is_empty(), "{}: a rejected build created variables", info.name);
        }
    }
    let err = check_params("AutoInt", &params(json!({"heads": 4, "attention_dim": 30}))).unwrap_err();
    assert!(err.to_string().contains("multiple of"), "{err}");
    check_params("DCN-V2", &params(json!({"structure": "stacked", "mlp_hidden": []}))).unwrap();
    assert!(check_params("DCN-V2", &params(json!({"structure": "sideways"}))).is_err());
}

#[test]
fn variable_names_follow_the_params() {
    let _guard = rng_lock();
    let vs = nn::VarStore::new(Device::Cpu);
    build_any("DCN-V2", &vs.root(), &SIZES, &params(json!({"embed_dim": 4, "cross_layers": 2, "history": false}))).unwrap();
    let names: BTreeSet<String> = vs.variables().keys().cloned().collect();
    assert!(names.contains("cross.1.weight") && !names.contains("cross.2.weight"), "{names:?}");
    assert_eq!(variable(&vs, "cross.0.weight").size(), vec![16, 16], "4 fields x 4 dims");
    assert!(!names.iter().any(|n| n.contains("first_order")), "DCN-V2 has no first-order weights: {names:?}");
    let vs = nn::VarStore::new(Device::Cpu);
    build_any("PLE", &vs.root(), &SIZES, &params(json!({"levels": 3}))).unwrap();
    let names: BTreeSet<String> = vs.variables().keys().cloned().collect();
    assert!(names.contains("cgc.1.gate.shared.weight"), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("cgc.2.gate.shared")), "the last level has no shared gate: {names:?}");
}
