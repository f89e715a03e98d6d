use std::path::Path;

use tch::Cuda;

use attnlab_experiment::{LIBTORCH_VERSION, VERSION};

pub fn doctor(store: &Path) -> anyhow::Result<()> {
    let cuda = Cuda::is_available();
    let devices = if cuda { Cuda::device_count() } else { 0 };
    let cudnn = if Cuda::cudnn_is_available() {
        format!("available (version {})", tch::utils::version_cudnn())
    } else {
        "not available".to_string()
    };
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let lines = [
        ("attnlab", VERSION.to_string()),
        ("libtorch", LIBTORCH_VERSION.to_string()),
        ("cuda", if cuda { format!("available, {devices} device(s)") } else { "not available".into() }),
        ("cudnn", cudnn),
        ("torch threads", format!("{} intra-op, {} inter-op", tch::get_num_threads(), tch::get_num_interop_threads())),
        ("cpu cores", cores.to_string()),
        ("store", format!("{} ({})", store.display(), if store.exists() { "exists" } else { "not created yet" })),
    ];
    for (key, value) in lines {
        println!("{key:<14} {value}");
    }
    Ok(())
}
