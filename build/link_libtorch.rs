//! Build script shared by every package whose binaries or tests link libtorch.
//!
//! torch-sys passes its rpath only to the compile of libtch, never to our final
//! link, so binaries would need LD_LIBRARY_PATH. We add the rpath here (the
//! package must depend on torch-sys directly to see DEP_TCH_LIBTORCH_LIB), and
//! force-link libtorch so the linker keeps libtorch_cuda: without it
//! `Cuda::is_available()` is false even on a GPU machine.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" {
        if let Some(lib) = std::env::var_os("DEP_TCH_LIBTORCH_LIB") {
            println!("cargo:rustc-link-arg=-Wl,-rpath={}", lib.to_string_lossy());
            // The Python package beside lib/ records the version we link.
            let version_py = std::path::Path::new(&lib).join("../version.py");
            let version = std::fs::read_to_string(version_py).ok().and_then(|text| {
                let line = text.lines().find(|l| l.starts_with("__version__"))?;
                Some(line.split(['\'', '"']).nth(1)?.to_string())
            });
            println!("cargo:rustc-env=ATTNLAB_LIBTORCH_VERSION={}", version.as_deref().unwrap_or("unknown"));
        } else {
            println!("cargo:rustc-env=ATTNLAB_LIBTORCH_VERSION=unknown");
        }
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch");
    }
}
