//! Self-contained HTML comparison reports for attnlab experiments.
//!
//! The caller collects everything it wants shown into a [`ReportInput`]
//! (plain data, no dependency on the tracking store) and renders it with
//! [`render_html`]; the caller writes it where it wants. The output is a single
//! HTML file: inline CSS, inline SVG charts, an inline script and no
//! external resources, so it can be archived, mailed or printed as is, and
//! opened from `file://`. Every table and chart is in the HTML itself; the
//! script only adds sorting, filtering, comparing, hover and toggles
//! (progressive enhancement), reading a JSON data block.
//!
//! Every string taken from the input is HTML-escaped, both by the template
//! (Tera autoescaping) and by the SVG generator for text it embeds itself;
//! the JSON block is escaped so nothing in it can close its `<script>`.

mod attention;
mod curves;
mod data;
mod error;
mod heatmaps;
mod html;
mod input;
mod market;
mod ope;
mod privacy;
mod summary;
pub mod svg;
mod sweep;

pub use error::{ReportError, Result};
pub use html::render_html;
mod export;
pub use export::{render_table, TableFormat};
pub use market::{AbArm, AbDifference, AbPower, AbTestReport, AbTradeOff, AbTradeOffPoint, AB_TEST_ARTIFACT};
pub use ope::{OpeRow, OpeSection, OPE_ARTIFACT};
pub use input::{MetricSpec, ReportInput, RunSummary, Significance, TargetVerdict};
pub use attention::{AttendedItem, AttentionKind, AttentionRun, AttentionSample, SampleUser, ATTENTION_ARTIFACT};
