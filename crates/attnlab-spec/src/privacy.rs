//! The spec sections of privacy-preserving training: `train.privacy`
//! (DP-SGD) and `train.federated` (federated averaging, optionally with
//! user-level DP on client updates). Cross-field rules are in
//! `validate.rs` ([`rules`]).

use serde::{Deserialize, Serialize};

use crate::range::{at_least_one, optional_positive_f64, positive_f64, probability};
use crate::Spec;

/// DP-SGD: per-example clipping, Gaussian noise, an RDP accountant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacySpec {
    /// Clip each example's (microbatch's) gradient to this L2 norm (C).
    #[serde(deserialize_with = "positive_f64")]
    pub max_grad_norm: f64,
    /// Noise standard deviation over C (σ); give this or `target_epsilon`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "optional_positive_f64")]
    pub noise_multiplier: Option<f64>,
    /// Solve σ so that all `epochs` end at this ε (at `delta`).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "optional_positive_f64")]
    pub target_epsilon: Option<f64>,
    /// δ of the reported (ε, δ); in (0, 1).
    #[serde(default = "default_delta", deserialize_with = "probability")]
    pub delta: f64,
    /// Examples per clipped unit; 1 = per-example clipping.
    #[serde(default = "one", deserialize_with = "at_least_one")]
    pub microbatch: u64,
    /// Stop before the epoch that would push ε past this.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "optional_positive_f64")]
    pub stop_at_epsilon: Option<f64>,
}

/// Federated averaging over clients made of users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederatedSpec {
    /// Number of clients K the training users are split into.
    #[serde(deserialize_with = "at_least_one")]
    pub clients: u64,
    #[serde(default)]
    pub partition: PartitionKind,
    /// Communication rounds (logged as steps).
    #[serde(deserialize_with = "at_least_one")]
    pub rounds: u64,
    /// Clients sampled per round (the expected number when `dp` is set).
    #[serde(deserialize_with = "at_least_one")]
    pub clients_per_round: u64,
    /// Passes over its own data a sampled client makes per round.
    #[serde(default = "one", deserialize_with = "at_least_one")]
    pub local_epochs: u64,
    /// User-level DP on client updates (DP-FedAvg).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp: Option<FederatedDpSpec>,
}

/// How users become clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartitionKind {
    /// Users assigned to clients uniformly at random (IID-like).
    #[default]
    Random,
    /// Users grouped by their dominant interest (the category they click
    /// most in train): the simulator has no regions, and interest
    /// communities are its natural non-IID grouping.
    Interest,
}

/// Clip each client's update and add Gaussian noise to their sum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederatedDpSpec {
    /// L2 bound of one client's update (weights after minus before).
    #[serde(deserialize_with = "positive_f64")]
    pub clip: f64,
    #[serde(deserialize_with = "positive_f64")]
    pub noise_multiplier: f64,
    #[serde(default = "default_delta", deserialize_with = "probability")]
    pub delta: f64,
}

fn default_delta() -> f64 {
    1e-5
}

fn one() -> u64 {
    1
}

/// The cross-field problems of the privacy sections, as (field, message).
pub(crate) fn rules(spec: &Spec) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let t = &spec.train;
    if let Some(p) = &t.privacy {
        if p.noise_multiplier.is_some() == p.target_epsilon.is_some() {
            out.push(("train.privacy".into(), "give exactly one of `noise_multiplier` and `target_epsilon`".into()));
        }
        if let (Some(target), Some(stop)) = (p.target_epsilon, p.stop_at_epsilon)
            && stop < target
        {
            out.push(("train.privacy.stop_at_epsilon".into(), format!("{stop} is below target_epsilon {target}")));
        }
        if t.clip_grad_norm.is_some() {
            out.push(("train.clip_grad_norm".into(), "DP-SGD clips per example: use train.privacy.max_grad_norm".into()));
        }
        if t.amp != crate::AmpSpec::None {
            out.push(("train.amp".into(), "DP-SGD trains in full precision: set amp: none".into()));
        }
        if p.microbatch > t.batch_size {
            out.push(("train.privacy.microbatch".into(), format!("{} is larger than batch_size {}", p.microbatch, t.batch_size)));
        }
    }
    if let Some(f) = &t.federated {
        if t.privacy.is_some() {
            out.push(("train.federated".into(), "private federated training is `federated.dp`, not train.privacy".into()));
        }
        if f.clients < 2 {
            out.push(("train.federated.clients".into(), "federated averaging needs at least 2 clients".into()));
        }
        if f.clients_per_round > f.clients {
            out.push((
                "train.federated.clients_per_round".into(),
                format!("{} is more than the {} clients", f.clients_per_round, f.clients),
            ));
        }
        if spec.dataset.source != crate::DataSource::Simulator {
            out.push(("train.federated".into(), "clients are made of impression users: use the simulator".into()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::parse_spec;

    const BASE: &str = "name: p\ndataset: { source: simulator }\nmodels: [{ name: lr, model: LR }]\ntrain:\n";

    fn problems(train: &str) -> Vec<(String, String)> {
        super::rules(&parse_spec(&format!("{BASE}{train}"), Path::new("p.yaml"), &[]).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn defaults_and_cross_field_rules() {
        let spec = parse_spec(&format!("{BASE}  privacy: {{ max_grad_norm: 1, noise_multiplier: 1.1 }}\n"), Path::new("p.yaml"), &[]).unwrap();
        let p = spec.train.privacy.unwrap();
        assert_eq!((p.delta, p.microbatch, p.target_epsilon), (1e-5, 1, None));
        assert!(problems("  privacy: { max_grad_norm: 1, noise_multiplier: 1.1 }\n").is_empty());
        let both = problems("  privacy: { max_grad_norm: 1, noise_multiplier: 1.1, target_epsilon: 3 }\n");
        assert_eq!(both[0].0, "train.privacy");
        let neither = problems("  privacy: { max_grad_norm: 1 }\n");
        assert_eq!(neither[0].0, "train.privacy");
        let stop = problems("  privacy: { max_grad_norm: 1, target_epsilon: 3, stop_at_epsilon: 2 }\n");
        assert_eq!(stop[0].0, "train.privacy.stop_at_epsilon");
        let fed = problems("  federated: { clients: 1, rounds: 2, clients_per_round: 2 }\n");
        let fields: Vec<&str> = fed.iter().map(|p| p.0.as_str()).collect();
        assert_eq!(fields, ["train.federated.clients", "train.federated.clients_per_round"]);
        assert!(problems("  federated: { clients: 8, partition: interest, rounds: 2, clients_per_round: 2, dp: { clip: 1, noise_multiplier: 1 } }\n").is_empty());
    }

    #[test]
    fn unset_sections_leave_the_fingerprint_alone() {
        let spec = parse_spec(&format!("{BASE}  epochs: 2\n"), Path::new("p.yaml"), &[]).unwrap();
        let json = serde_json::to_string(&spec).unwrap();
        assert!(!json.contains("privacy") && !json.contains("federated") && !json.contains("pseudonymise"), "{json}");
    }
}
