//! Progress on stderr: a bar on a terminal, one plain line per finished run when piped, so
//! stdout carries only the report.

use std::io::{self, IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Progress over a known number of runs of known expected length.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    runs: usize,
    done: usize,
    /// Milliseconds of the runs finished so far (the bar's position between runs).
    done_ms: u64,
    label: String,
}

impl Progress {
    /// Progress over `runs` runs expected to take `total` altogether.
    pub fn new(runs: usize, total: Duration) -> Progress {
        let bar = io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(millis(total).max(1));
            let style = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] [{bar:30}] {msg} (ETA {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Progress {
            bar,
            runs,
            done: 0,
            done_ms: 0,
            label: String::new(),
        }
    }

    /// A run called `label` starts.
    pub fn start_run(&mut self, label: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("[{}/{}] {label}", self.done + 1, self.runs));
        }
        self.label = label;
    }

    /// The current run has been going for `elapsed`.
    pub fn advance(&self, elapsed: Duration) {
        if let Some(bar) = &self.bar {
            bar.set_position(self.done_ms + millis(elapsed));
        }
    }

    /// The current run, expected to take `expected`, finished with `outcome`.
    pub fn finish_run(&mut self, expected: Duration, outcome: &str) {
        self.done += 1;
        self.done_ms += millis(expected);
        let line = format!("[{}/{}] {}: {outcome}", self.done, self.runs, self.label);
        match &self.bar {
            Some(bar) => {
                bar.set_position(self.done_ms);
                bar.println(line);
            }
            None => {
                let _ = writeln!(io::stderr(), "{line}");
            }
        }
    }

    /// All runs are done: removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
