//! Sizes a spec can set, checked against the machine before anything is
//! allocated. A spec that asks for 10^11 simulated users or an embedding of
//! 10^8 dimensions would otherwise abort the process inside an allocator
//! (Rust's or libtorch's), which no error path can catch. The estimates are
//! lower bounds of what preparing the data and training would hold at once:
//! when even they exceed the budget, the run cannot succeed.

use attnlab_spec::{DataSource, LoadedSpec, SpecError};

use crate::ExperimentError;

/// How much memory a run may use: the machine's, or what `--max-memory` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryBudget {
    pub bytes: u64,
    /// Set by the user (`--max-memory`) rather than read off the machine.
    pub from_user: bool,
}

impl MemoryBudget {
    /// The machine's total memory (`/proc/meminfo`); `None` where it cannot be read.
    pub fn of_machine() -> Option<MemoryBudget> {
        let text = std::fs::read_to_string("/proc/meminfo").ok()?;
        let kib: u64 = text.lines().find_map(|l| l.strip_prefix("MemTotal:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(MemoryBudget { bytes: kib.saturating_mul(1024), from_user: false })
    }

    /// `--max-memory`: bytes, or a number with K, M, G or T (powers of 1024).
    pub fn parse(text: &str) -> Result<MemoryBudget, ExperimentError> {
        let bad = |why: &str| ExperimentError::bad(format!("`{text}`: {why}"));
        let t = text.trim();
        let (number, unit) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
            Some((i, _)) => (&t[..i], t[i..].trim_end_matches(['b', 'B', 'i'])),
            None => (t, ""),
        };
        let shift = match unit.to_ascii_uppercase().as_str() {
            "" => 0,
            "K" => 10,
            "M" => 20,
            "G" => 30,
            "T" => 40,
            _ => return Err(bad(NOT_A_SIZE)),
        };
        let value: f64 = number.trim().parse().map_err(|_| bad(NOT_A_SIZE))?;
        if !(value.is_finite() && value > 0.0) {
            return Err(bad("the size must be positive"));
        }
        Ok(MemoryBudget { bytes: (value * (1u64 << shift) as f64).min(u64::MAX as f64) as u64, from_user: true })
    }

    fn describe(&self) -> String {
        if self.from_user {
            format!("--max-memory allows {}", size(self.bytes as f64))
        } else {
            format!("this machine has {}", size(self.bytes as f64))
        }
    }
}

const NOT_A_SIZE: &str = "a size is bytes or a number with K, M, G or T, e.g. 16G";

/// The simulator's default `protocol.history_len`.
const DEFAULT_HISTORY: f64 = 20.0;

/// One part of a run's memory and the spec key that sets it.
struct Need {
    key: String,
    value: String,
    bytes: f64,
    what: String,
}

/// Exits early (a [`SpecError::Invalid`] naming the key, the estimate and the
/// budget) when the spec's data or a model's parameters cannot fit.
pub fn check_sizes(loaded: &LoadedSpec, budget: MemoryBudget) -> Result<(), SpecError> {
    let spec = &loaded.spec;
    let mut needs = Vec::new();
    // data: only the simulator's size is known before anything is read
    let mut vocabulary = None;
    if spec.dataset.source == DataSource::Simulator {
        let sim = &spec.dataset.simulator;
        let rows = sim.users as f64 * sim.sessions_per_user as f64 * sim.slots as f64;
        let history = spec.protocol.history_len as f64;
        // about 60 bytes of labels, ids and prices a row, and two ids a history position
        let bytes = |history: f64| rows * (60.0 + history * 8.0);
        // the history is to blame when the same rows with a default history would fit
        let need = if history > DEFAULT_HISTORY && bytes(DEFAULT_HISTORY) <= budget.bytes as f64 {
            Need {
                key: "protocol.history_len".into(),
                value: spec.protocol.history_len.to_string(),
                bytes: bytes(history),
                what: format!("the histories of {} simulated impressions", count(rows)),
            }
        } else {
            Need {
                key: "dataset.simulator.users".into(),
                value: sim.users.to_string(),
                bytes: bytes(history),
                what: format!("{} simulated impressions (users x sessions_per_user x slots)", count(rows)),
            }
        };
        needs.push(need);
        vocabulary = Some(sim.users as f64 + sim.items as f64 + sim.topics as f64 + sim.slots as f64 + 2.0);
    }
    // parameters: weights, gradients and two optimiser moments, 4 bytes each
    for (i, model) in spec.models.iter().enumerate() {
        for (name, value) in &model.params {
            let Some(width) = value.as_f64().filter(|_| matches!(name.as_str(), "embed_dim" | "hidden")) else { continue };
            // an embedding table of every id (ids read from files are not
            // known yet: then at least one width x width layer)
            let rows = vocabulary.unwrap_or(width);
            needs.push(Need {
                key: format!("models[{i}].params.{name}"),
                value: value.to_string(),
                bytes: rows * width * 16.0,
                what: "parameters (with gradients and Adam's moments)".into(),
            });
        }
    }
    let total: f64 = needs.iter().map(|n| n.bytes).sum();
    if total <= budget.bytes as f64 {
        return Ok(());
    }
    let Some(worst) = needs.into_iter().max_by(|a, b| a.bytes.total_cmp(&b.bytes)) else { return Ok(()) };
    let all = if total > worst.bytes * 1.01 { format!(" ({} in all)", size(total)) } else { String::new() };
    Err(SpecError::Invalid {
        path: loaded.path.clone(),
        field: worst.key,
        message: format!("{} needs ~{} for {}{all}; {}", worst.value, size(worst.bytes), worst.what, budget.describe()),
    })
}

fn size(bytes: f64) -> String {
    let g = bytes / (1u64 << 30) as f64;
    if g >= 10.0 {
        format!("{g:.0} GB")
    } else if g >= 1.0 {
        format!("{g:.1} GB")
    } else {
        format!("{:.1} MB", bytes / (1u64 << 20) as f64)
    }
}

fn count(n: f64) -> String {
    if n >= 1e6 { format!("{n:.2e}") } else { format!("{n:.0}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(MemoryBudget::parse("16G").unwrap().bytes, 16 << 30);
        assert_eq!(MemoryBudget::parse("512MiB").unwrap().bytes, 512 << 20);
        assert_eq!(MemoryBudget::parse("1000").unwrap().bytes, 1000);
        assert_eq!(MemoryBudget::parse("1.5k").unwrap().bytes, 1536);
        for bad in ["", "-1G", "lots", "3X", "0"] {
            assert!(MemoryBudget::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_machine_reports_its_memory() {
        let m = MemoryBudget::of_machine().expect("/proc/meminfo on Linux");
        assert!(m.bytes > 1 << 28 && !m.from_user);
    }
}
