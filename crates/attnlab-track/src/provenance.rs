//! Where a run came from: code version, lock file, machine and command.
//! Collected once per run and stored as `prov.*` tags. Nothing here is an
//! error: a fact that cannot be found is `None`, because a missing git or a
//! spec outside a repository must never stop an experiment.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};

use serde::Serialize;

use crate::host::host_name;

/// The provenance of a run. See [`Provenance::to_tags`] for the tag keys.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Provenance {
    /// `HEAD` of the git repository holding the spec; `None` outside a
    /// repository, in one without commits, or when git is not installed.
    pub git_commit: Option<String>,
    /// Whether that work tree has changes, untracked files included.
    pub git_dirty: Option<bool>,
    /// blake3 (hex) of the Cargo.lock the binary was built from.
    pub cargo_lock_blake3: Option<String>,
    /// `model name` from /proc/cpuinfo.
    pub cpu_model: Option<String>,
    /// CPUs this process may use (affinity and cgroup quotas respected).
    pub cpu_cores: usize,
    pub host: String,
    /// PRETTY_NAME from /etc/os-release.
    pub os: Option<String>,
    /// Kernel release from /proc/sys/kernel/osrelease.
    pub kernel: Option<String>,
    /// This process's arguments, shell-quoted so the line can be pasted back.
    pub command: String,
    /// Peak resident memory so far (see [`peak_memory_bytes`]); refresh it
    /// at the end of a run, since it only grows.
    pub peak_memory_bytes: Option<u64>,
    /// The Slurm job this process runs in (`SLURM_JOB_ID`), when it does.
    pub slurm_job_id: Option<String>,
    /// Its array job and task, `ARRAYJOB_TASK` as `squeue` shows them.
    pub slurm_array_task: Option<String>,
}

impl Provenance {
    /// Gathers everything; `spec_dir` is the directory of the spec file
    /// (git is asked about the repository containing it), `cargo_lock` the
    /// lock file to fingerprint, if known.
    pub fn collect(spec_dir: &Path, cargo_lock: Option<&Path>) -> Provenance {
        let git_commit = git(spec_dir, &["rev-parse", "--verify", "HEAD"])
            .map(|out| out.trim().to_owned())
            .filter(|c| !c.is_empty());
        // Dirtiness only means something for a repository with a commit.
        let git_dirty = git_commit
            .as_ref()
            .and_then(|_| git(spec_dir, &["status", "--porcelain"]))
            .map(|out| !out.trim().is_empty());
        Provenance {
            git_commit,
            git_dirty,
            cargo_lock_blake3: cargo_lock
                .and_then(|p| std::fs::read(p).ok())
                .map(|bytes| blake3::hash(&bytes).to_hex().to_string()),
            cpu_model: std::fs::read_to_string("/proc/cpuinfo")
                .ok()
                .and_then(|text| cpu_model(&text)),
            cpu_cores: cpu_cores(),
            host: host_name(),
            os: std::fs::read_to_string("/etc/os-release")
                .ok()
                .and_then(|text| os_pretty_name(&text)),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
            command: shell_join(std::env::args_os()).unwrap_or_default(),
            peak_memory_bytes: peak_memory_bytes(),
            slurm_job_id: env("SLURM_JOB_ID"),
            slurm_array_task: env("SLURM_ARRAY_JOB_ID").zip(env("SLURM_ARRAY_TASK_ID")).map(|(job, task)| format!("{job}_{task}")),
        }
    }

    /// The facts as tags: `prov.git.commit`, `prov.git.dirty` (`true`/`false`),
    /// `prov.cargo_lock.blake3`, `prov.cpu.model`, `prov.cpu.cores`,
    /// `prov.host`, `prov.os`, `prov.os.kernel`, `prov.command`,
    /// `prov.mem.peak_bytes`, and under Slurm `prov.slurm.job_id` and
    /// `prov.slurm.array_task`. Unknown facts are left out, not written empty.
    pub fn to_tags(&self) -> Vec<(String, String)> {
        let mut tags = Vec::new();
        let mut put = |key: &str, value: Option<String>| {
            if let Some(value) = value {
                tags.push((format!("prov.{key}"), value));
            }
        };
        put("git.commit", self.git_commit.clone());
        put("git.dirty", self.git_dirty.map(|d| d.to_string()));
        put("cargo_lock.blake3", self.cargo_lock_blake3.clone());
        put("cpu.model", self.cpu_model.clone());
        put("cpu.cores", Some(self.cpu_cores.to_string()));
        put("host", Some(self.host.clone()));
        put("os", self.os.clone());
        put("os.kernel", self.kernel.clone());
        put("command", Some(self.command.clone()));
        put("mem.peak_bytes", self.peak_memory_bytes.map(|b| b.to_string()));
        put("slurm.job_id", self.slurm_job_id.clone());
        put("slurm.array_task", self.slurm_array_task.clone());
        tags
    }
}

/// An environment variable that is set and not empty.
fn env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

/// Peak resident set size of this process (VmHWM in /proc/self/status), in bytes.
pub fn peak_memory_bytes() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|text| vm_hwm_bytes(&text))
}

/// Runs git in `dir` and returns its stdout, or `None` on any failure. The
/// variables that would point git at another repository are removed, and
/// prompts are off, so the answer is about `dir` and git never waits.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8(output.stdout).ok()
}

fn cpu_cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == "model name")
            .then(|| value.trim().to_owned())
            .filter(|v| !v.is_empty())
    })
}

fn os_pretty_name(os_release: &str) -> Option<String> {
    os_release.lines().find_map(|line| {
        let value = line.trim().strip_prefix("PRETTY_NAME=")?;
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        Some(value.to_owned()).filter(|v| !v.is_empty())
    })
}

fn vm_hwm_bytes(status: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix("VmHWM:")?;
        let mut parts = rest.split_whitespace();
        let amount: u64 = parts.next()?.parse().ok()?;
        let factor = match parts.next().unwrap_or("kB") {
            "B" => 1,
            "kB" => 1024,
            "mB" | "MB" => 1024 * 1024,
            "gB" | "GB" => 1024 * 1024 * 1024,
            _ => return None,
        };
        amount.checked_mul(factor)
    })
}

/// Quotes one argument for a POSIX shell: left bare when it is made only of
/// characters no shell treats specially, else single-quoted.
fn quote(arg: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !arg.is_empty() && arg.chars().all(safe) {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Joins arguments (lossily decoded) into one shell-quoted line; `None` when there are none.
fn shell_join<S: AsRef<OsStr>>(args: impl Iterator<Item = S>) -> Option<String> {
    let quoted: Vec<String> = args
        .map(|a| quote(&a.as_ref().to_string_lossy()))
        .collect();
    (!quoted.is_empty()).then(|| quoted.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_a_shell() {
        assert_eq!(quote("model=din"), "model=din");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("$HOME"), "'$HOME'");
        assert_eq!(
            shell_join(["run", "spec.yaml", "train.lr=0.1 x"].iter()),
            Some("run spec.yaml 'train.lr=0.1 x'".to_owned())
        );
        assert_eq!(shell_join(std::iter::empty::<&str>()), None);
    }

    #[test]
    fn proc_and_os_release_parsing() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n";
        assert_eq!(cpu_model(cpuinfo).as_deref(), Some("Intel(R) Xeon(R) CPU @ 2.20GHz"));
        assert_eq!(cpu_model("processor: 0\n"), None);
        let os = "NAME=\"Ubuntu\"\nPRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\nID=ubuntu\n";
        assert_eq!(os_pretty_name(os).as_deref(), Some("Ubuntu 24.04.1 LTS"));
        assert_eq!(os_pretty_name("PRETTY_NAME=Alpine\n").as_deref(), Some("Alpine"));
        let status = "Name:\tx\nVmPeak:\t  20000 kB\nVmHWM:\t    1234 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(vm_hwm_bytes(status), Some(1234 * 1024));
        assert_eq!(vm_hwm_bytes("VmRSS: 1 kB\n"), None);
    }
}
