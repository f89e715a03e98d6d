//! Progress on stderr: a bar per epoch on a terminal, one line per epoch
//! otherwise (logs and CI stay readable).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    label: String,
}

impl Progress {
    pub fn new(label: &str) -> Progress {
        Progress { bar: None, label: label.to_string() }
    }

    pub fn start_epoch(&mut self, epoch: usize, batches: usize) {
        if !std::io::stderr().is_terminal() {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(batches as u64), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(format!("{} epoch {epoch}", self.label));
        self.bar = Some(bar);
    }

    pub fn step(&self, loss: f64, lr: f64, samples_per_s: f64) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(format!("loss {loss:.4}  lr {lr:.3e}  {samples_per_s:.0} samples/s"));
        }
    }

    /// Ends the epoch's bar and prints its summary line.
    pub fn finish_epoch(&mut self, line: &str) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        eprintln!("{} {line}", self.label);
    }
}
