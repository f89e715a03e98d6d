//! Ctrl-C (SIGINT) and SIGTERM during `attnlab run`: the run in progress is
//! marked KILLED in the store and the process exits with 130 (SIGINT) or
//! 143 (SIGTERM), 128 + the signal as shells report it. Its last
//! checkpoint stays, so the next `attnlab run` resumes it.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The run being trained now, with its store.
static CURRENT: Mutex<Option<(PathBuf, String)>> = Mutex::new(None);

/// Set by [`on_sigterm`]: the signal was SIGTERM, not SIGINT.
static TERMINATED: AtomicBool = AtomicBool::new(false);
/// The SIGTERM handler `ctrlc` installed, which [`on_sigterm`] calls on.
static NEXT_SIGTERM_HANDLER: AtomicUsize = AtomicUsize::new(0);

/// `ctrlc` handles SIGINT and SIGTERM alike and does not say which came;
/// this handler, put in front of its SIGTERM handler, notes that it was
/// SIGTERM and passes the signal on. Only async-signal-safe work here.
extern "C" fn on_sigterm(signal: libc::c_int) {
    TERMINATED.store(true, Ordering::SeqCst);
    let next = NEXT_SIGTERM_HANDLER.load(Ordering::SeqCst);
    if next > libc::SIG_IGN {
        // SAFETY: `next` is the plain handler ctrlc installed (no SA_SIGINFO).
        let next: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(next) };
        next(signal);
    }
}

/// Chains [`on_sigterm`] in front of the SIGTERM handler in place.
fn note_sigterm() {
    // SAFETY: plain sigaction calls on zero-initialised structs we own.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGTERM, std::ptr::null(), &mut current) != 0 {
            return;
        }
        NEXT_SIGTERM_HANDLER.store(current.sa_sigaction, Ordering::SeqCst);
        let mut ours: libc::sigaction = std::mem::zeroed();
        ours.sa_sigaction = on_sigterm as extern "C" fn(libc::c_int) as usize;
        ours.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut ours.sa_mask);
        libc::sigaction(libc::SIGTERM, &ours, std::ptr::null_mut());
    }
}

/// A closed stdout (`attnlab runs list --json | head`) ends the process as
/// it ends `cat` or `grep`: by SIGPIPE, quietly. Rust starts with SIGPIPE
/// ignored, and then `println!` panics on the broken pipe. `serve` keeps it
/// ignored: a client that goes away must not end the server.
pub fn end_quietly_on_closed_stdout() {
    // SAFETY: setting a signal's disposition to its default is always sound.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Installs the handler once per process; a failure to install only loses
/// the nicety (the reaper still marks the run KILLED on the next start).
pub fn install() {
    let installed = ctrlc::set_handler(|| {
        let code = if TERMINATED.load(Ordering::SeqCst) { 143 } else { 130 };
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
        unsafe { libc::_exit(code) };
    });
    if installed.is_ok() {
        note_sigterm();
    }
}

/// Marks `run_id` as the one to kill on an interrupt (`None`: no run active).
pub fn set_current(run: Option<(PathBuf, String)>) {
    if let Ok(mut current) = CURRENT.lock() {
        *current = run;
    }
}
