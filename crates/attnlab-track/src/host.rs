//! Facts about this machine and its processes, read from `/proc`.
//!
//! Nothing here fails: a fact that cannot be read is `None` (or, for the
//! host name, a fallback), so a store keeps working on systems without
//! `/proc`; only the crash reaper becomes more conservative there.

use std::path::Path;

/// The host name: `/proc/sys/kernel/hostname`, else `$HOSTNAME`, else `"unknown"`.
pub(crate) fn host_name() -> String {
    read_trimmed(Path::new("/proc/sys/kernel/hostname"))
        .or_else(|| {
            std::env::var("HOSTNAME")
                .ok()
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Identifies the current boot; changes on every reboot (Linux only).
pub(crate) fn boot_id() -> Option<String> {
    read_trimmed(Path::new("/proc/sys/kernel/random/boot_id"))
}

/// The pid namespace of this process (`pid:[4026531836]`); pids are only
/// comparable inside one namespace, e.g. not across containers.
pub(crate) fn pid_namespace() -> Option<String> {
    std::fs::read_link("/proc/self/ns/pid")
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// Who is writing: enough to recognise this process again later, even
/// after its pid has been handed to another process.
#[derive(Clone, Debug)]
pub(crate) struct ProcessIdentity {
    pub pid: i64,
    pub host: String,
    /// Start time in clock ticks after boot (`/proc/<pid>/stat` field 22).
    pub start_ticks: Option<i64>,
    pub boot_id: Option<String>,
    pub pid_ns: Option<String>,
}

impl ProcessIdentity {
    pub(crate) fn current() -> ProcessIdentity {
        let pid = i64::from(std::process::id());
        ProcessIdentity {
            pid,
            host: host_name(),
            start_ticks: proc_stat(pid)
                .and_then(|s| i64::try_from(s.start_ticks).ok()),
            boot_id: boot_id(),
            pid_ns: pid_namespace(),
        }
    }
}

/// Whether the process that wrote a run on this host still exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Liveness {
    Alive,
    Dead,
    /// No `/proc` or an unreadable entry: the reaper must not guess.
    Unknown,
}

/// The two fields of `/proc/<pid>/stat` the reaper needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ProcStat {
    pub state: char,
    pub start_ticks: u64,
}

/// Parses `/proc/<pid>/stat`. The command name (field 2) is in parentheses
/// and may itself contain spaces and parentheses, so fields are counted
/// from the LAST `)`: after it come state (field 3) ... starttime (field 22).
pub(crate) fn parse_stat(text: &str) -> Option<ProcStat> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let start_ticks = fields.nth(18)?.parse().ok()?;
    Some(ProcStat { state, start_ticks })
}

fn proc_stat(pid: i64) -> Option<ProcStat> {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|t| parse_stat(&t))
}

/// What a run recorded about its writer.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Recorded<'a> {
    pub pid: i64,
    pub start_ticks: Option<i64>,
    pub boot_id: Option<&'a str>,
    pub pid_ns: Option<&'a str>,
}

/// Decides whether the writer recorded in a run on THIS host is still
/// running. A writer in another pid namespace (another container) cannot
/// be seen, so it is [`Liveness::Unknown`]. A different boot id means the
/// machine rebooted since, so every process of the old boot is gone. A
/// missing `/proc/<pid>`, a zombie, or a process that started at another
/// tick than recorded (the pid was reused) is dead.
pub(crate) fn liveness(rec: Recorded<'_>) -> Liveness {
    let Recorded {
        pid,
        start_ticks,
        boot_id: boot,
        pid_ns,
    } = rec;
    if !Path::new("/proc/self/stat").exists() {
        return Liveness::Unknown;
    }
    if let (Some(recorded), Some(current)) = (pid_ns, pid_namespace()) {
        if recorded != current {
            return Liveness::Unknown;
        }
    }
    if let (Some(recorded), Some(current)) = (boot, boot_id()) {
        if recorded != current {
            return Liveness::Dead;
        }
    }
    if pid <= 0 {
        return Liveness::Dead;
    }
    let text = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Liveness::Dead,
        Err(_) => return Liveness::Unknown,
    };
    let Some(stat) = parse_stat(&text) else {
        return Liveness::Unknown;
    };
    if matches!(stat.state, 'Z' | 'X' | 'x') {
        return Liveness::Dead;
    }
    match start_ticks {
        Some(recorded) if i64::try_from(stat.start_ticks).ok() != Some(recorded) => Liveness::Dead,
        _ => Liveness::Alive,
    }
}

fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_parsing_counts_fields_after_the_last_paren() {
        // A command name with a space and a ')' of its own.
        let line = "4242 (evil) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(
            parse_stat(line),
            Some(ProcStat {
                state: 'S',
                start_ticks: 987_654
            })
        );
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) S 1 2"), None, "too few fields");
    }

    #[test]
    fn this_process_is_alive_and_a_reused_pid_is_not() {
        let me = ProcessIdentity::current();
        assert!(!me.host.is_empty());
        if !Path::new("/proc/self/stat").exists() {
            let rec = Recorded {
                pid: me.pid,
                ..Recorded::default()
            };
            assert_eq!(liveness(rec), Liveness::Unknown);
            return;
        }
        let start = me.start_ticks.expect("own start time readable");
        let rec = |pid, start_ticks| Recorded {
            pid,
            start_ticks,
            ..Recorded::default()
        };
        let exact = Recorded {
            boot_id: me.boot_id.as_deref(),
            pid_ns: me.pid_ns.as_deref(),
            ..rec(me.pid, Some(start))
        };
        assert_eq!(liveness(exact), Liveness::Alive);
        assert_eq!(liveness(rec(me.pid, None)), Liveness::Alive);
        assert_eq!(liveness(rec(me.pid, Some(start + 1))), Liveness::Dead, "pid reused");
        if me.boot_id.is_some() {
            let rebooted = Recorded {
                boot_id: Some("another-boot"),
                ..exact
            };
            assert_eq!(liveness(rebooted), Liveness::Dead);
        }
        if me.pid_ns.is_some() {
            let container = Recorded {
                pid_ns: Some("pid:[1]"),
                ..exact
            };
            assert_eq!(liveness(container), Liveness::Unknown);
        }
        assert_eq!(liveness(rec(-5, None)), Liveness::Dead);
    }
}
