//! Inverse propensity scoring of clicks (Saito et al., "Unbiased
//! Recommender Learning from Missing-Not-At-Random Implicit Feedback",
//! WSDM 2020): a click in slot `p` counts `1 / θ_p`, where `θ_p` is the
//! probability that slot `p` is examined. The label `c / θ_p` has
//! expectation `P(click | examined)` in every slot, so cross-entropy on it
//! learns relevance instead of relevance times examination (the positive
//! term weighted by `1 / θ_p`, the negative by `1 - c / θ_p`).

use attnlab_data::Impressions;
use tch::{Kind, Tensor};

use crate::{Result, TrainError};

/// The IPS labels `clicks / θ[position]` of a batch (`[B]` each).
pub fn unbiased_clicks(clicks: &Tensor, position: &Tensor, propensities: &[f32]) -> Tensor {
    let inverse: Vec<f32> = propensities.iter().map(|p| 1.0 / p).collect();
    let slot = position.reshape([-1]).to_kind(Kind::Int64);
    let weight = Tensor::from_slice(&inverse).to_device(clicks.device()).index_select(0, &slot);
    clicks.to_kind(Kind::Float) * weight
}

/// Every slot of `data` has a propensity in (0, 1].
pub fn check_propensities(data: &Impressions, propensities: &[f32]) -> Result<()> {
    if let Some(p) = propensities.iter().find(|p| !(p.is_finite() && **p > 0.0 && **p <= 1.0)) {
        return Err(TrainError::Config(format!("an examination propensity is in (0, 1], got {p}")));
    }
    match data.position.iter().max() {
        Some(&max) if max as usize >= propensities.len() => Err(TrainError::Config(format!(
            "{} examination propensities, and the data has slots up to {max} (0-based)",
            propensities.len()
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clicks_count_the_inverse_of_their_slot_propensity() {
        let clicks = Tensor::from_slice(&[1.0f32, 0.0, 1.0, 1.0]);
        let position = Tensor::from_slice(&[0i64, 1, 1, 3]);
        let got = Vec::<f32>::try_from(unbiased_clicks(&clicks, &position, &[1.0, 0.5, 0.4, 0.25])).unwrap();
        assert_eq!(got, vec![1.0, 0.0, 2.0, 4.0]);
    }

    #[test]
    fn propensities_must_cover_every_slot_and_lie_in_0_1() {
        let data = Impressions { position: vec![0, 2, 1], ..Impressions::default() };
        assert!(check_propensities(&data, &[1.0, 0.5, 0.3]).is_ok());
        let e = check_propensities(&data, &[1.0, 0.5]).unwrap_err().to_string();
        assert!(e.contains("2 examination propensities") && e.contains("slots up to 2"), "{e}");
        assert!(check_propensities(&data, &[1.0, 0.0, 0.3]).is_err());
        assert!(check_propensities(&data, &[1.0, 1.5, 0.3]).is_err());
    }
}
