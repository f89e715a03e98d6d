use std::path::Path;

use attnlab_spec::load_spec;

use crate::prepare::check;

pub fn validate(spec: &Path, overrides: &[String]) -> anyhow::Result<()> {
    let loaded = load_spec(spec, overrides)?;
    check(&loaded)?;
    let s = &loaded.spec;
    println!(
        "{}: ok ({} models x {} seeds = {} runs; spec fingerprint {})",
        spec.display(),
        s.models.len(),
        s.seeds.len(),
        s.models.len() * s.seeds.len(),
        loaded.fingerprint
    );
    Ok(())
}
