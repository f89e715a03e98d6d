//! `attnlab ab-test SPEC`: the spec's `ab_test:` replayed on fresh
//! simulated sessions from runs that already finished (no training). The
//! same test ends `attnlab run` on a spec with an `ab_test:` section.

use std::path::Path;

use attnlab_experiment::{prepare, Pseudonymiser};
use attnlab_spec::load_spec;

use crate::exit::BadInput;

pub fn ab_test(spec_path: &Path, overrides: &[String], store_path: &Path) -> anyhow::Result<()> {
    let loaded = load_spec(spec_path, overrides)?;
    if loaded.spec.ab_test.is_none() {
        return Err(BadInput(format!("{}: the spec has no `ab_test:` section", spec_path.display())).into());
    }
    let store = crate::exit::open_existing_store(store_path)?;
    let prepared = prepare(&loaded, &store_path.parent().unwrap_or(Path::new(".")).join("cache"))?;
    crate::print_notes(&prepared);
    // the runs were made with the key of the environment, if any
    let pseudonyms = loaded.spec.dataset.pseudonymise.then(|| Pseudonymiser::from_env().ok()).flatten();
    crate::replay::replay_spec(&store, &loaded, &prepared, pseudonyms.as_ref())
}
