//! Which errors are the user's input (exit 2) and which are ours (exit 1).

use attnlab_data::DataError;
use attnlab_eval::EvalError;
use attnlab_experiment::ExperimentError;
use attnlab_models::ModelError;
use attnlab_spec::SpecError;

/// Marks an error as caused by bad input (arguments, spec, data).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// `err` with its causes, like `{err:#}`, but a cause whose text is already
/// shown is left out: errors that print their source in their own message
/// would otherwise repeat it ("No such file ...: No such file ...").
pub fn describe(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

pub fn code_for(err: &anyhow::Error) -> u8 {
    if err.chain().any(is_bad_input) { 2 } else { 1 }
}

fn is_bad_input(cause: &(dyn std::error::Error + 'static)) -> bool {
    if let Some(e) = cause.downcast_ref::<ExperimentError>() {
        // the library's own bad input, or an error of another crate it carries
        return matches!(e, ExperimentError::BadInput(_)) || e.wrapped().is_some_and(is_bad_input);
    }
    if let Some(e) = cause.downcast_ref::<attnlab_serve::ServeError>() {
        return match e {
            attnlab_serve::ServeError::BadInput(_) => true,
            attnlab_serve::ServeError::Experiment(inner) => is_bad_input(inner),
            attnlab_serve::ServeError::Track(inner) => is_bad_input(inner),
            attnlab_serve::ServeError::Io { .. } => false,
        };
    }
    cause.is::<BadInput>()
        || cause.is::<SpecError>()
        || matches!(cause.downcast_ref::<ModelError>(), Some(ModelError::UnknownModel { .. } | ModelError::Params { .. } | ModelError::WrongTask { .. }))
        || matches!(cause.downcast_ref::<EvalError>(), Some(EvalError::UnknownMetric { .. } | EvalError::Csv { .. }))
        || matches!(
            cause.downcast_ref::<DataError>(),
            Some(DataError::Parse { .. } | DataError::Schema { .. } | DataError::Config { .. } | DataError::EmptySplit { .. })
        )
        || matches!(cause.downcast_ref::<attnlab_track::TrackError>(), Some(
                attnlab_track::TrackError::UnknownExperiment { .. }
                    | attnlab_track::TrackError::NoRunMatches { .. }
                    | attnlab_track::TrackError::AmbiguousRunId { .. }
                    | attnlab_track::TrackError::RunIdTooShort { .. }
                    | attnlab_track::TrackError::UnknownRun { .. }
                    | attnlab_track::TrackError::NoStoreFound { .. }
                    | attnlab_track::TrackError::RunInUse { .. }
                    | attnlab_track::TrackError::Damaged { .. }
            ))
}

/// Opens a store that must already exist, to change it (`runs rm`, `sync`).
pub fn open_existing_store(path: &std::path::Path) -> anyhow::Result<attnlab_track::Store> {
    require_store(path)?;
    Ok(attnlab_track::Store::open(path)?)
}

/// Opens a store that must already exist, read-only: reading commands
/// never create, change or need write access to one.
pub fn open_store_for_reading(path: &std::path::Path) -> anyhow::Result<attnlab_track::Store> {
    require_store(path)?;
    Ok(attnlab_track::Store::open_for_reading(path)?)
}

fn require_store(path: &std::path::Path) -> anyhow::Result<()> {
    if !path.exists() {
        return Err(BadInput(format!(
            "no run store at {} (run `attnlab run SPEC` first, or pass --db / set ATTNLAB_DB)",
            path.display()
        ))
        .into());
    }
    Ok(())
}
