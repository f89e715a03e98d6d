//! Quantiles of a run and its one-line JSON report.

use crate::load::Outcome;

/// What a run measured; latencies in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Requests sent: answered 200 plus errors.
    pub sent: u64,
    pub errors: u64,
    /// Requests answered 200 per second of the run.
    pub rps: f64,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
    pub p999: Option<f64>,
}

/// The nearest-rank `q` quantile of ascending `sorted`: the smallest value
/// with at least `q` of the values at or below it.
pub fn quantile(sorted: &[u64], q: f64) -> Option<u64> {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len().max(1)) - 1).copied()
}

impl Summary {
    pub fn of(outcome: &Outcome) -> Summary {
        let ms = |q: f64| quantile(&outcome.latencies, q).map(|ns| ns as f64 / 1e6);
        let secs = outcome.elapsed.as_secs_f64();
        Summary {
            sent: outcome.latencies.len() as u64 + outcome.errors,
            errors: outcome.errors,
            rps: if secs > 0.0 { outcome.latencies.len() as f64 / secs } else { 0.0 },
            p50: ms(0.5),
            p90: ms(0.9),
            p99: ms(0.99),
            p999: ms(0.999),
        }
    }

    /// One JSON object: `sent`, `errors`, `rps`, `p50`, `p90`, `p99`,
    /// `p999` (milliseconds, `null` when nothing was answered), and
    /// `client_cpu_s`, the generator's own CPU time when known.
    pub fn to_json(&self, client_cpu_s: Option<f64>) -> String {
        let num = |v: Option<f64>| v.map_or_else(|| "null".to_string(), |v| format!("{v:.3}"));
        format!(
            "{{\"sent\": {}, \"errors\": {}, \"rps\": {:.1}, \"p50\": {}, \"p90\": {}, \"p99\": {}, \"p999\": {}, \"client_cpu_s\": {}}}",
            self.sent,
            self.errors,
            self.rps,
            num(self.p50),
            num(self.p90),
            num(self.p99),
            num(self.p999),
            num(client_cpu_s)
        )
    }
}

/// This process's user plus system CPU time so far (Linux: /proc/self/stat;
/// `None` elsewhere).
pub fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // fields after the command name, which is in parentheses and may hold spaces
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux the generator runs on
    Some(ticks as f64 / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn quantiles_are_nearest_rank() {
        let v: Vec<u64> = (1..=1000).collect();
        assert_eq!([0.5, 0.9, 0.99, 0.999, 1.0].map(|q| quantile(&v, q)), [500, 900, 990, 999, 1000].map(Some));
        assert_eq!(quantile(&[7], 0.999), Some(7));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn a_summary_counts_errors_as_sent_and_rates_only_answers() {
        let outcome = Outcome { latencies: vec![1_000_000, 2_000_000, 3_000_000, 4_000_000], errors: 2, elapsed: Duration::from_secs(2) };
        let s = outcome.summary();
        assert_eq!((s.sent, s.errors, s.rps, s.p50, s.p999), (6, 2, 2.0, Some(2.0), Some(4.0)));
        assert_eq!(
            s.to_json(Some(0.25)),
            "{\"sent\": 6, \"errors\": 2, \"rps\": 2.0, \"p50\": 2.000, \"p90\": 4.000, \"p99\": 4.000, \"p999\": 4.000, \"client_cpu_s\": 0.250}"
        );
        let empty = Outcome { latencies: vec![], errors: 0, elapsed: Duration::ZERO }.summary();
        assert_eq!(empty.to_json(None), "{\"sent\": 0, \"errors\": 0, \"rps\": 0.0, \"p50\": null, \"p90\": null, \"p99\": null, \"p999\": null, \"client_cpu_s\": null}");
    }
}
