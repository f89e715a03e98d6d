//! `dataset.obd`: which log of the Open Bandit Dataset a `source: obd`
//! spec trains on.
//!
//! ```yaml
//! dataset:
//!   source: obd
//!   path: data/obd                         # where `attnlab data fetch obd` put it
//!   obd: { policy: random, campaign: all }
//! ```

use serde::{Deserialize, Serialize};

use crate::ObdRef;

/// One policy x campaign log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObdSource {
    pub policy: ObdPolicy,
    pub campaign: ObdCampaign,
}

/// The logging policy of a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ObdPolicy {
    /// Uniform random.
    Random,
    /// Bernoulli Thompson sampling.
    Bts,
}

/// The campaign of a log: the items it shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ObdCampaign {
    All,
    Men,
    Women,
}

impl ObdSource {
    /// The same log as an `obd:POLICY/CAMPAIGN` reference.
    pub fn log(&self) -> ObdRef {
        let policy = match self.policy {
            ObdPolicy::Random => "random",
            ObdPolicy::Bts => "bts",
        };
        let campaign = match self.campaign {
            ObdCampaign::All => "all",
            ObdCampaign::Men => "men",
            ObdCampaign::Women => "women",
        };
        ObdRef { policy: policy.into(), campaign: campaign.into() }
    }
}

/// Where the data set lies when `dataset.path` is not set.
pub const OBD_DEFAULT_PATH: &str = "data/obd";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_ope_references() {
        let s: ObdSource = serde_json::from_str(r#"{ "policy": "bts", "campaign": "women" }"#).unwrap();
        assert_eq!(s.log().to_string(), "obd:bts/women");
        assert_eq!(s.log(), "obd:bts/women".parse::<ObdRef>().unwrap());
        assert!(serde_json::from_str::<ObdSource>(r#"{ "policy": "greedy", "campaign": "all" }"#).is_err());
        assert!(serde_json::from_str::<ObdSource>(r#"{ "policy": "bts" }"#).is_err());
    }
}
