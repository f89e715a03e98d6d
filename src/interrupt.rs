//! Ctrl-C (SIGINT) and SIGTERM during `attnlab run`: the run in progress is
//! marked KILLED in the store and the process exits with 130. Its last
//! checkpoint stays, so the next `attnlab run` resumes it.

use std::path::PathBuf;
use std::sync::Mutex;

/// The run being trained now, with its store.
static CURRENT: Mutex<Option<(PathBuf, String)>> = Mutex::new(None);

/// Installs the handler once per process; a failure to install only loses
/// the nicety (the reaper still marks the run KILLED on the next start).
pub fn install() {
    let _ = ctrlc::set_handler(|| {
        let current = CURRENT.lock().ok().and_then(|c| c.clone());
        if let Some((db, run_id)) = current {
            // a separate connection: the main thread's may be mid-transaction
            if let Ok(store) = attnlab_track::Store::open(&db) {
                let _ = store.finish_run(&run_id, attnlab_track::RunStatus::Killed);
            }
            eprintln!("\ninterrupted: run {run_id} marked KILLED; `attnlab run` again resumes it");
        }
        // _exit, not exit: running libtorch's static destructors while the
        // main thread is inside libtorch can crash the process instead
        // SAFETY: _exit has no preconditions; nothing is left to flush.
        unsafe { libc::_exit(130) };
    });
}

/// Marks `run_id` as the one to kill on an interrupt (`None`: no run active).
pub fn set_current(run: Option<(PathBuf, String)>) {
    if let Ok(mut current) = CURRENT.lock() {
        *current = run;
    }
}
