//! Real-time feedback: the durable event log and the users' live histories.
//!
//! Every accepted event is appended to an append-only JSON-lines file and
//! the file is fsync'd *before* the request is answered, so an acknowledged
//! event survives a crash (kill -9, power loss). On start the log is read
//! back into the live histories. A last line without its newline is a
//! write the crash cut short, never acknowledged: it is dropped. The log is
//! also the attention log for a next training run.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::request::Event;
use crate::{Result, ServeError};

/// The log file and the state it rebuilds; one lock guards both, so the
/// histories follow the log's order.
pub struct Feedback {
    file: File,
    path: PathBuf,
    /// Per user (original id), the items they consumed, oldest first.
    consumed: HashMap<String, Vec<String>>,
    events: u64,
}

impl Feedback {
    /// Opens (creating) the log at `path` and replays it.
    pub fn open(path: &Path) -> Result<Feedback> {
        let shown = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(ServeError::io(format!("creating {}", dir.display())))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(ServeError::io(format!("opening the event log {shown}")))?;
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(ServeError::io(format!("reading the event log {shown}")))?;
        let complete = text.rfind('\n').map_or(0, |i| i + 1);
        if complete < text.len() {
            // a torn, unacknowledged last write
            file.set_len(complete as u64).map_err(ServeError::io(format!("dropping the torn last line of {shown}")))?;
            file.seek(SeekFrom::End(0)).map_err(ServeError::io(format!("seeking in {shown}")))?;
        }
        let mut feedback = Feedback { file, path: path.to_path_buf(), consumed: HashMap::new(), events: 0 };
        for event in parse_log(&text[..complete], &shown)? {
            feedback.apply(&event);
        }
        Ok(feedback)
    }

    /// Writes `events` to the log and syncs it to disk, then applies them.
    pub fn append(&mut self, events: &[Event]) -> std::io::Result<()> {
        let mut lines = String::new();
        for e in events {
            lines.push_str(&e.to_json().to_string());
            lines.push('\n');
        }
        self.file.write_all(lines.as_bytes())?;
        self.file.sync_data()?;
        for e in events {
            self.apply(e);
        }
        Ok(())
    }

    fn apply(&mut self, event: &Event) {
        self.events += 1;
        if event.kind.consumed() {
            self.consumed.entry(event.user.clone()).or_default().push(event.item.clone());
        }
    }

    /// The items `user` consumed through events.
    pub fn consumed(&self, user: &str) -> Vec<String> {
        self.consumed.get(user).cloned().unwrap_or_default()
    }

    /// Events in the log.
    pub fn events(&self) -> u64 {
        self.events
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes the log to disk (at shutdown; every append already syncs).
    pub fn sync(&self) -> std::io::Result<()> {
        self.file.sync_all()
    }
}

/// The events of the complete lines `text` of the log `shown`; a line that
/// is no event is refused by its line number.
pub fn parse_log(text: &str, shown: &str) -> Result<Vec<Event>> {
    text.lines()
        .enumerate()
        .map(|(n, line)| {
            let at = format!("{shown}:{}", n + 1);
            let value: serde_json::Value = serde_json::from_str(line).map_err(|e| ServeError::bad(format!("{at}: not an event: {e}")))?;
            Event::from_json(&value, "event", 0).map_err(|e| ServeError::bad(format!("{at}: {}: {}", e.field.unwrap_or_default(), e.message)))
        })
        .collect()
}

/// Reads the event log at `path` without changing it: the events of its
/// complete lines (a torn last line was never acknowledged).
pub fn read_log(path: &Path) -> Result<Vec<Event>> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ServeError::bad(format!("{shown}: {e}")))?;
    let complete = text.rfind('\n').map_or(0, |i| i + 1);
    parse_log(&text[..complete], &shown)
}
