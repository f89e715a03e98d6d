mod ab_test;
mod data;
mod doctor;
mod export;
mod export_events;
mod metrics;
pub(crate) mod ope;
mod privacy;
mod report;
mod run;
mod runs;
mod serve;
mod sync;
mod validate;

use crate::cli::{Cli, Command, DataCommand, PrivacyCommand, RunsCommand, SynthCommand, SyncCommand};

pub fn dispatch(cli: Cli) -> anyhow::Result<()> {
    // sizes are checked against what the user allows, else the machine's memory
    let memory = cli.max_memory.or_else(attnlab_experiment::MemoryBudget::of_machine);
    match cli.command {
        Command::AbTest { spec, overrides, store } => ab_test::ab_test(&spec, &overrides, &store.path()),
        Command::Run { spec, overrides, force, trial, jobs, executor, store } => {
            let executor = crate::executor::Executor::from_args(executor)?;
            run::run(&spec, &overrides, &run::RunOptions { trial, force, jobs: jobs.max(1), executor, memory }, &store.path())
        }
        Command::Report { experiments, force, output, baseline, format, store } => report::report(
            &experiments,
            report::ReportOptions { output, baseline: baseline.as_deref(), format: &format, force },
            &store.path(),
        ),
        Command::Validate { spec, overrides } => validate::validate(&spec, &overrides, memory),
        Command::Explain { spec, overrides } => validate::explain(&spec, &overrides),
        Command::Runs { command } => match command {
            RunsCommand::List { experiment, status, tags, params, parent, json, store } => runs::list(
                runs::ListArgs {
                    experiment: experiment.as_deref(),
                    status: status.as_deref(),
                    tags: &tags,
                    params: &params,
                    parent: parent.as_deref(),
                    json,
                },
                &store.path(),
            ),
            RunsCommand::Show { run, json, store } => runs::show(&run, json, &store.path()),
            RunsCommand::Diff { runs: ids, json, store } => runs::diff(&ids, json, &store.path()),
            RunsCommand::Rm { runs: ids, force, store } => runs::remove(&ids, force, &store.path()),
            RunsCommand::Import { sources, store } => runs::import(&sources, &store.path()),
        },
        Command::Serve(args) => serve::serve(&args),
        Command::Export { run, output, quantize, store } => export::export(&run, &output, &quantize, &store.path()),
        Command::ExportEvents { events, output, store } => export_events::export_events(events.as_deref(), &output, &store.path()),
        Command::Doctor { store } => doctor::doctor(&store.path()),
        Command::Sync { command: SyncCommand::Mlflow { uri, experiment, into, budget, store } } => {
            let budget = std::time::Duration::from_secs(budget);
            sync::sync_mlflow(&uri, experiment.as_deref(), into.as_deref(), budget, &store.path())
        }
        Command::Data { command: DataCommand::Fetch { name, dest, python, wheel } } => {
            let source = match wheel {
                Some(wheel) => attnlab_data::FetchSource::Wheel(wheel),
                None => attnlab_data::FetchSource::Pip { python },
            };
            data::fetch(&name, dest, &source)
        }
        Command::Data { command: DataCommand::Simulate { spec, overrides, output } } => {
            data::simulate_log(&spec, &overrides, &output)
        }
        Command::Data { command: DataCommand::Synth { command: SynthCommand::Interactions { users, items, interactions, seed, output } } } => {
            data::synth_interactions(&attnlab_data::synth::interactions::InteractionsConfig::new(users, items, interactions, seed), &output)
        }
        Command::Data { command: DataCommand::Synth { command: SynthCommand::Criteo { rows, seed, output } } } => {
            data::synth_criteo(&attnlab_data::synth::criteo::CriteoConfig { rows, seed }, &output)
        }
        Command::Data { command: DataCommand::Stats { spec, overrides, json, store } } => {
            let cache = store.path().parent().unwrap_or(std::path::Path::new(".")).join("cache");
            data::stats(&spec, &overrides, &cache, memory, json)
        }
        Command::Privacy { command: PrivacyCommand::Epsilon { sample_rate, noise_multiplier, steps, delta, target_epsilon } } => {
            privacy::epsilon_command(sample_rate, noise_multiplier, steps, delta, target_epsilon)
        }
        Command::Metrics { file, metrics, labels, clip, json } => {
            let csv = attnlab_eval::CsvOptions { graded_labels: labels == "graded", clip_scores: clip, ..Default::default() };
            metrics::metrics(&file, &metrics, &csv, json)
        }
        Command::Ope(args) => ope::ope(&args),
    }
}
