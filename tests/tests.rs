//! End-to-end tests of the `attnlab` binary: one test executable (each one
//! links libtorch), with shared helpers in `util`.

mod util;

mod cli;
mod data;
mod quickstart;
mod runs;
