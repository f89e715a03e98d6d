//! Every file a command writes at a path the user gives goes through
//! [`write_atomically`]: the content goes to a temporary file beside the
//! target, is synced, and is renamed over it, so nobody ever reads half a
//! file. A rename replaces whatever the path names, so the path is checked
//! first: only a regular file (or nothing) may be replaced; a directory,
//! symlink, FIFO, socket or device is refused as bad input (a rename would
//! turn `/dev/full` or a FIFO someone reads into a plain file).

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use crate::exit::BadInput;

/// Writes `path` with what `write` produces, atomically; refuses a path
/// that exists and is not a regular file. Creates missing parent folders.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    check_replaceable(path)?;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| format!("creating a file in {}", dir.display()))?;
    {
        let mut writer = std::io::BufWriter::new(tmp.as_file_mut());
        write(&mut writer).with_context(|| format!("writing {}", path.display()))?;
        writer.flush().with_context(|| format!("writing {}", path.display()))?;
    }
    tmp.as_file().sync_all().with_context(|| format!("writing {}", path.display()))?;
    // checked again just before the rename: a path made a FIFO meanwhile is still refused
    check_replaceable(path)?;
    tmp.persist(path).map_err(|e| e.error).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Nothing there, or a regular file: anything else is bad input.
fn check_replaceable(path: &Path) -> anyhow::Result<()> {
    if path.file_name().is_none() {
        return Err(BadInput(format!("{}: not a file name", path.display())).into());
    }
    let kind = match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("checking {}", path.display())),
        Ok(meta) => meta.file_type(),
    };
    let what = if kind.is_file() {
        return Ok(());
    } else if kind.is_dir() {
        "a directory; give the path of a file in it"
    } else if kind.is_symlink() {
        "a symbolic link; give the file it points to, or another path"
    } else {
        "not a regular file (a FIFO, socket or device)"
    };
    Err(BadInput(format!("{} is {what}; refusing to replace it", path.display())).into())
}
