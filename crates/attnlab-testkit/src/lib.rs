//! What several packages' tests share, as one dev-only crate (so no test
//! includes another package's files): a real `mlflow server` on a free
//! port ([`mlflow_server`]) and a headless Chromium driven over the
//! DevTools protocol ([`chromium`]), and the fetched data sets with
//! wheels rebuilt from them ([`pinned_data`]). Never a dependency of a library.

pub mod chromium;
pub mod mlflow_server;
pub mod pinned_data;
