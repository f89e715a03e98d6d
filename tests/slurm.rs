//! `--executor slurm` against a real one-node Slurm cluster (Debian's
//! slurmctld, slurmd and munge) that the test starts in a temporary folder
//! on free ports and stops when it ends.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::experiments::{sweep_runs, sweep_spec};
use crate::util::Scratch;

struct SlurmCluster {
    dir: tempfile::TempDir,
    conf: PathBuf,
}

const NEEDED: [&str; 6] = ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol"];

impl SlurmCluster {
    fn start() -> SlurmCluster {
        for program in NEEDED {
            let found = Command::new("sh").arg("-c").arg(format!("command -v {program}")).output().unwrap();
            assert!(
                found.status.success(),
                "{program} is not installed: `make slurm` installs Slurm and munge (Debian: apt-get install slurmd slurmctld slurm-client munge)"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for sub in ["state", "spool", "log"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        let key = d.join("munge.key");
        std::fs::write(&key, (0..1024).map(|i| (i * 7919 % 251) as u8).collect::<Vec<u8>>()).unwrap();
        set_mode(&key, 0o400);
        set_mode(d, 0o700);
        let socket = d.join("munge.sock");
        let arg = |flag: &str, p: &Path| format!("--{flag}={}", p.display());
        let munged = Command::new("munged")
            .args(["--force", &arg("key-file", &key), &arg("socket", &socket), &arg("pid-file", &d.join("munged.pid"))])
            .args([&arg("log-file", &d.join("log/munged.log")), &arg("seed-file", &d.join("munged.seed"))])
            .status()
            .unwrap();
        assert!(munged.success(), "munged did not start");
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string();
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (ctl_port, node_port) = (free_port(), free_port());
        let p = |name: &str| d.join(name).display().to_string();
        let conf = d.join("slurm.conf");
        std::fs::write(
            &conf,
            format!(
                "ClusterName=attnlabtest
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={ctl_port}
SlurmdPort={node_port}
AuthType=auth/munge
AuthInfo=socket={socket}
CredType=cred/munge
StateSaveLocation={state}
SlurmdSpoolDir={spool}
SlurmctldPidFile={ctld_pid}
SlurmdPidFile={d_pid}
SlurmctldLogFile={ctld_log}
SlurmdLogFile={d_log}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=1000 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
",
                socket = socket.display(),
                state = p("state"),
                spool = p("spool"),
                ctld_pid = p("slurmctld.pid"),
                d_pid = p("slurmd.pid"),
                ctld_log = p("log/slurmctld.log"),
                d_log = p("log/slurmd.log"),
            ),
        )
        .unwrap();
        let cluster = SlurmCluster { dir, conf };
        for daemon in ["slurmctld", "slurmd"] {
            let started = Command::new(daemon).arg("-f").arg(&cluster.conf).status().unwrap();
            assert!(started.success(), "{daemon} did not start:\n{}", cluster.logs());
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let state = cluster.command("sinfo").args(["-h", "-o", "%T"]).output().unwrap();
            if String::from_utf8_lossy(&state.stdout).trim() == "idle" {
                break;
            }
            assert!(Instant::now() < deadline, "the node never became idle:\n{}", cluster.logs());
            std::thread::sleep(Duration::from_millis(300));
        }
        cluster
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("SLURM_CONF", &self.conf);
        cmd
    }

    fn logs(&self) -> String {
        ["log/slurmctld.log", "log/slurmd.log", "log/munged.log"]
            .iter()
            .map(|f| format!("--- {f}\n{}", std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default()))
            .collect()
    }
}

impl Drop for SlurmCluster {
    fn drop(&mut self) {
        let _ = self.command("scontrol").arg("shutdown").status();
        std::thread::sleep(Duration::from_millis(500));
        // whatever is still up, by the pid it wrote (never a process group)
        for pid_file in ["slurmd.pid", "slurmctld.pid", "munged.pid"] {
            if let Some(pid) = std::fs::read_to_string(self.dir.path().join(pid_file)).ok().and_then(|p| p.trim().parse::<i32>().ok()) {
                if pid > 1 {
                    unsafe { libc::kill(pid, libc::SIGTERM) };
                }
            }
        }
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn dry_run_prints_the_array_script_without_touching_the_store() {
    let s = Scratch::new();
    let spec = sweep_spec(&s);
    let out = s
        .attnlab(&["run", spec.to_str().unwrap(), "seeds=[3]", "--executor", "slurm", "--dry-run", "--cpus", "2", "--partition", "gpu", "--time", "01:00:00", "--gpus", "1", "--jobs", "1"])
        .ok()
        .stdout();
    for line in ["#SBATCH --array=0,1\n", "#SBATCH --cpus-per-task=2\n", "#SBATCH --partition=gpu\n", "#SBATCH --time=01:00:00\n", "#SBATCH --gpus=1\n"] {
        assert!(out.contains(line), "{line:?} missing from:\n{out}");
    }
    let exec = out.lines().find(|l| l.starts_with("exec ")).unwrap();
    assert!(exec.contains(" run ") && exec.contains("sweep.yaml") && exec.contains("'seeds=[3]'"), "{exec}");
    assert!(exec.contains("--trial \"$SLURM_ARRAY_TASK_ID\"") && exec.contains("/task-\"$SLURM_ARRAY_TASK_ID\"/attnlab.db"), "{exec}");
    assert!(!s.db().exists(), "a dry run writes nothing");
    let local = s.attnlab(&["run", spec.to_str().unwrap(), "--dry-run"]);
    assert_eq!(local.code(), 2, "{}", local.stderr());
    assert!(local.stderr().contains("--executor slurm"), "{}", local.stderr());
}

#[test]
fn a_sweep_runs_as_an_array_job_and_lands_under_its_parent() {
    let cluster = SlurmCluster::start();
    let s = Scratch::new();
    let spec = sweep_spec(&s);
    let run = Command::new(env!("CARGO_BIN_EXE_attnlab"))
        .args(["run", spec.to_str().unwrap(), "--executor", "slurm", "--wait"])
        .current_dir(s.dir.path())
        .env("ATTNLAB_DB", s.db())
        .env("SLURM_CONF", &cluster.conf)
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}\n{}", cluster.logs());
    assert!(stderr.contains("submitted Slurm array job"), "{stderr}");
    assert!(stdout.contains("din [lr=0.001]") && stdout.contains("din [lr=0.01]"), "{stdout}");
    let (parent, trials) = sweep_runs(&s);
    assert_eq!(trials.len(), 2, "both trials imported");
    assert_eq!(parent["status"], "FINISHED");
    for t in &trials {
        assert_eq!(t["status"], "FINISHED");
        // trained (one epoch) and tested in its task
        assert_eq!(t["metrics"]["best.epoch"].as_f64(), Some(1.0), "{t:#}");
        assert!(t["metrics"]["test.auc"].as_f64().is_some_and(|auc| (0.0..=1.0).contains(&auc)), "{t:#}");
    }
    let pids: std::collections::BTreeSet<i64> = trials.iter().map(|r| r["pid"].as_i64().unwrap()).collect();
    assert_eq!(pids.len(), 2, "one array task per trial");
    // each trial ran inside a task of the submitted array job, the one of its index
    let job = stderr.split("submitted Slurm array job ").nth(1).and_then(|r| r.split(':').next()).unwrap_or_default();
    let tasks: std::collections::BTreeSet<String> =
        trials.iter().map(|t| t["tags"]["prov.slurm.array_task"].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(tasks, [format!("{job}_0"), format!("{job}_1")].into(), "{trials:#?}");
    assert!(trials.iter().all(|t| t["tags"]["prov.slurm.job_id"].as_str().is_some_and(|j| !j.is_empty())), "{trials:#?}");
    // submitting again finds everything finished and submits nothing
    let again = s.attnlab(&["run", spec.to_str().unwrap(), "--executor", "slurm", "--wait"]).ok();
    assert!(again.stderr().contains("every trial already finished"), "{}", again.stderr());
}
