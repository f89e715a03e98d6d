//! The live table of a sweep's trials while they run in other processes
//! (`--jobs N`, Slurm array tasks): redrawn in place on a terminal, one
//! line per change otherwise (logs stay readable).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};

use attnlab_track::{RunRecord, RunStatus};

use crate::table::Table;

pub struct TrialBoard {
    /// (trial index, swept values)
    trials: Vec<(usize, String)>,
    runs_per_trial: usize,
    shown: Vec<String>,
    tty: bool,
    drawn_lines: usize,
}

impl TrialBoard {
    pub fn new(trials: Vec<(usize, String)>, runs_per_trial: usize) -> TrialBoard {
        let shown = vec![String::new(); trials.len()];
        TrialBoard { trials, runs_per_trial, shown, tty: std::io::stderr().is_terminal(), drawn_lines: 0 }
    }

    /// Shows the trials as the given runs (a sweep parent's children, from
    /// any number of stores) say they stand.
    pub fn update(&mut self, runs: &[RunRecord]) {
        let rows: Vec<[String; 4]> = self.trials.iter().map(|(index, label)| self.row(*index, label, runs)).collect();
        let texts: Vec<String> = rows.iter().map(|r| r.join("  ")).collect();
        if texts == self.shown {
            return;
        }
        let mut err = std::io::stderr().lock();
        if self.tty {
            let mut table = Table::new(&["trial", "values", "status", "valid"]);
            for row in &rows {
                table.row(row.to_vec());
            }
            let text = table.render();
            if self.drawn_lines > 0 {
                let _ = write!(err, "\x1b[{}A", self.drawn_lines);
            }
            for line in text.lines() {
                let _ = writeln!(err, "\x1b[2K{line}");
            }
            self.drawn_lines = text.lines().count();
        } else {
            for (i, text) in texts.iter().enumerate() {
                if *text != self.shown[i] {
                    let [trial, values, status, valid] = &rows[i];
                    let _ = writeln!(err, "trial {trial} [{values}]: {status} {valid}");
                }
            }
        }
        self.shown = texts;
    }

    fn row(&self, index: usize, label: &str, runs: &[RunRecord]) -> [String; 4] {
        // the latest attempt per run identity (a retried run replaces its KILLED one)
        let mut latest: BTreeMap<&str, &RunRecord> = BTreeMap::new();
        for r in runs.iter().filter(|r| r.tags.get("sweep.trial").map(String::as_str) == Some(&index.to_string())) {
            latest.insert(&r.run_key, r);
        }
        let count = |s: RunStatus| latest.values().filter(|r| r.status == s).count();
        let (finished, failed, running) = (count(RunStatus::Finished), count(RunStatus::Failed) + count(RunStatus::Killed), count(RunStatus::Running));
        let total = self.runs_per_trial;
        let status = if latest.is_empty() {
            "pending".to_string()
        } else if failed > 0 {
            format!("FAILED {failed}/{total}")
        } else if finished == total {
            format!("FINISHED {finished}/{total}")
        } else {
            format!("RUNNING {}/{total}", finished + running)
        };
        [index.to_string(), label.to_string(), status, best_valid(latest.values().copied())]
    }
}

/// The best validation value among the runs so far: `best.valid.*` once a
/// run has finished, else its latest `valid.*`.
fn best_valid<'a>(runs: impl Iterator<Item = &'a RunRecord>) -> String {
    let mut best: Option<(String, f64)> = None;
    for r in runs {
        let found = r
            .metrics
            .iter()
            .find(|(k, _)| k.starts_with("best.valid."))
            .map(|(k, v)| (k.trim_start_matches("best.").to_string(), *v))
            .or_else(|| r.metrics.iter().find(|(k, _)| k.starts_with("valid.")).map(|(k, v)| (k.clone(), *v)));
        if let Some((key, value)) = found {
            let higher = attnlab_eval::TaskMetric::parse(key.trim_start_matches("valid.")).map_or(true, |m| m.higher_is_better());
            let better = best.as_ref().is_none_or(|(_, b)| if higher { value > *b } else { value < *b });
            if better {
                best = Some((key, value));
            }
        }
    }
    best.map_or(String::new(), |(k, v)| format!("{k} {v:.4}"))
}
