//! Files the commands write at a user's path: written whole, and never
//! over something that is not a regular file.

use std::os::unix::fs::FileTypeExt;

use crate::util::{quickstart, Scratch};

/// `data simulate -o` and `report -o` refuse a directory, a symlink and a
/// FIFO (exit 2, the path left as it was) and replace a regular file.
#[test]
fn outputs_never_replace_what_is_not_a_regular_file() {
    let s = Scratch::new();
    s.attnlab(&["run", &quickstart(), "train.epochs=1", "dataset.simulator.users=60", "models.1.params.embed_dim=4"]).ok();
    let dir = s.path("a-dir");
    std::fs::create_dir(&dir).unwrap();
    let target = s.write("target.txt", "keep me");
    let link = s.path("link.html");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let fifo = s.path("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);

    let commands: [&dyn Fn(&str) -> Vec<String>; 3] = [
        &|out| ["data", "simulate", &quickstart(), "dataset.simulator.users=20", "-o", out].map(String::from).to_vec(),
        &|out| ["report", "quickstart", "-o", out].map(String::from).to_vec(),
        &|out| ["report", "quickstart", "--format", "csv", "-o", out].map(String::from).to_vec(),
    ];
    for args in commands {
        for (path, what) in [(&dir, "a directory"), (&link, "a symbolic link"), (&fifo, "not a regular file")] {
            let args = args(path.to_str().unwrap());
            let run = s.attnlab(&args.iter().map(String::as_str).collect::<Vec<_>>());
            assert_eq!(run.code(), 2, "{args:?}: {}", run.stderr());
            assert!(run.stderr().contains(&format!("{} is {what}", path.display())), "{args:?}: {}", run.stderr());
        }
        assert!(dir.is_dir() && std::fs::read_dir(&dir).unwrap().next().is_none(), "the directory is untouched");
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link is still a link");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
        assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "the FIFO is still a FIFO");
    }

    // a regular file is replaced whole, with nothing left beside it
    let html = s.write("r.html", "old");
    s.attnlab(&["report", "quickstart", "-o", html.to_str().unwrap()]).ok();
    assert!(std::fs::read_to_string(&html).unwrap().starts_with("<!DOCTYPE html>"));
    let csv = s.path("sim.csv");
    s.attnlab(&["data", "simulate", &quickstart(), "dataset.simulator.users=20", "-o", csv.to_str().unwrap()]).ok();
    assert!(std::fs::read_to_string(&csv).unwrap().lines().count() > 1);
    let leftovers: Vec<_> = std::fs::read_dir(s.dir.path()).unwrap().map(|e| e.unwrap().file_name()).filter(|n| n.to_string_lossy().starts_with(".tmp")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
