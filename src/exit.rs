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

pub fn code_for(err: &anyhow::Error) -> u8 {
    if err.chain().any(is_bad_input) { 2 } else { 1 }
}

fn is_bad_input(cause: &(dyn std::error::Error + 'static)) -> bool {
    if let Some(e) = cause.downcast_ref::<ExperimentError>() {
        // the library's own bad input, or an error of another crate it carries
        return matches!(e, ExperimentError::BadInput(_)) || e.wrapped().is_some_and(is_bad_input);
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
            ))
}

/// Opens a store that must already exist: reading commands never create one.
pub fn open_existing_store(path: &std::path::Path) -> anyhow::Result<attnlab_track::Store> {
    if !path.exists() {
        return Err(BadInput(format!(
            "no run store at {} (run `attnlab run SPEC` first, or pass --db / set ATTNLAB_DB)",
            path.display()
        ))
        .into());
    }
    Ok(attnlab_track::Store::open(path)?)
}
