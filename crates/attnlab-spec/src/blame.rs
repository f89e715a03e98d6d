//! Where a problem is reported: the file, line and column of the value at
//! fault and its full key, or the command-line override that set it.
//!
//! serde stops at the first error of a document; [`file_problems`] removes
//! each offending key from the file's tree and parses the rest again, so
//! one mistake does not hide the next. Cross-field rules name a key
//! (`protocol.ratios`); [`locate_rule`] finds who wrote it, the way
//! `explain` does.

use std::path::Path;

use serde_yaml::Value;

use crate::explain::source_of;
use crate::load::Layer;
use crate::locate::{duplicate_keys, key_line, Node};
use crate::suggest::suggest;
use crate::{Override, Place, Source, Spec, SpecError};

/// Problems reported per file at most: beyond, the file is probably not a spec.
const MAX_PROBLEMS: usize = 20;

/// `models[1].params` (serde's paths, the rules' field names) as segments.
pub(crate) fn key_segments(key: &str) -> Vec<String> {
    key.replace('[', ".").replace(']', "").split('.').filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// The 1-based column of the value of `segment` written on `line` of
/// `text` (after `segment:`), or of the line's first character.
fn value_column(text: &str, line: usize, segment: &str) -> usize {
    let Some(body) = text.lines().nth(line.saturating_sub(1)) else { return 1 };
    let first = body.len() - body.trim_start().len() + 1;
    // the key as a whole word: `lr:` is not the end of `final_lr:`
    let starts_key = |i: usize| i == 0 || body[..i].ends_with([' ', '{', ',', '-']);
    let Some(at) = [format!("{segment}:"), format!("\"{segment}\":"), format!("'{segment}':")].iter().find_map(|k| {
        body.match_indices(k.as_str()).find(|(i, _)| starts_key(*i)).map(|(i, _)| i + k.len())
    }) else {
        return first;
    };
    let rest = &body[at..];
    let value = at + (rest.len() - rest.trim_start().len());
    if value >= body.len() { first } else { body[..value].chars().count() + 1 }
}

/// An error at `key` in a file, found by its outline: at the key itself
/// when the key is the mistake (an unknown field), else at its value.
fn at_key(path: &Path, text: &str, outline: &Node, key: &[String], message: String) -> SpecError {
    let the_key_is_wrong = message.contains("unknown field `");
    match key_line(outline, key) {
        Some(line) => {
            let column = match key.last() {
                Some(segment) if the_key_is_wrong => key_column(text, line, segment),
                Some(segment) => value_column(text, line, segment),
                None => 1,
            };
            SpecError::At { path: path.to_path_buf(), line, column, message }
        }
        None => SpecError::File { path: path.to_path_buf(), message },
    }
}

/// Keys written twice in one mapping: YAML keeps the last silently or
/// complains at the mapping's start; the second occurrence is the mistake.
pub(crate) fn duplicates(path: &Path, text: &str, outline: &Node) -> Vec<SpecError> {
    duplicate_keys(outline)
        .into_iter()
        .map(|(key, first, second)| {
            let shown = key.join(".");
            SpecError::At {
                path: path.to_path_buf(),
                line: second,
                column: key.last().map_or(1, |k| key_column(text, second, k)),
                message: format!("{shown}: written twice (first at line {first}); remove one"),
            }
        })
        .collect()
}

fn key_column(text: &str, line: usize, segment: &str) -> usize {
    let body = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
    body.find(segment).map_or(1, |i| body[..i].chars().count() + 1)
}

/// The key a serde message blames: its path, plus the field for an
/// unknown field (whose path is the enclosing mapping).
fn offending_key(message: &str) -> Option<Vec<String>> {
    let (path, rest) = match message.split_once(": ") {
        Some((p, rest)) if !p.contains([' ', '`', '"']) => (key_segments(p), rest),
        _ => (Vec::new(), message),
    };
    let unknown = rest.strip_prefix("unknown field `").and_then(|r| r.split_once('`')).map(|(field, _)| field.to_string());
    let key: Vec<String> = path.into_iter().chain(unknown).collect();
    (!key.is_empty()).then_some(key)
}

/// Removes `key` from a mapping tree; false when it is not there (or sits
/// in a list, whose items cannot go without renumbering the rest).
fn remove(tree: &mut Value, key: &[String]) -> bool {
    let Some((last, parents)) = key.split_last() else { return false };
    let mut node = tree;
    for segment in parents {
        node = match node {
            Value::Mapping(m) => match m.get_mut(segment) {
                Some(next) => next,
                None => return false,
            },
            _ => return false,
        };
    }
    match node {
        Value::Mapping(m) => m.shift_remove(last).is_some(),
        _ => false,
    }
}

/// Every typed-parse problem of one file (`text`, whose YAML tree is
/// `tree`). The first carries serde's own position; each later one is
/// found again in the original text by its key. A missing field is only a
/// problem when `missing_is_error` (a file of a composition may leave
/// fields to its other files).
pub(crate) fn file_problems(path: &Path, text: &str, tree: &Value, outline: &Node, missing_is_error: bool) -> Vec<SpecError> {
    let mut errors = Vec::new();
    let mut tree = tree.clone();
    for round in 0..MAX_PROBLEMS {
        let parsed = if round == 0 {
            serde_yaml::from_str::<Spec>(text)
        } else {
            serde_yaml::to_string(&tree).and_then(|t| serde_yaml::from_str::<Spec>(&t))
        };
        let Err(e) = parsed else { break };
        let message = strip_location(&e.to_string());
        if message.contains("missing field") {
            // after a removal a required field may be the one removed
            if round == 0 && missing_is_error {
                errors.push(crate::load::located(path, &e));
            }
            break;
        }
        let key = offending_key(&message);
        errors.push(match (round, &key) {
            (0, _) | (_, None) => crate::load::located(path, &e),
            (_, Some(key)) => at_key(path, text, outline, key, suggest(&message)),
        });
        match key {
            Some(key) if remove(&mut tree, &key) => {}
            _ => break,
        }
    }
    errors
}

/// serde_yaml appends " at line L column C"; we print the location up front.
pub(crate) fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// A cross-field rule's error, moved to where its key was written: the
/// override that set it, or the file line; unchanged when not found.
pub(crate) fn locate_rule(error: SpecError, overrides: &[Override], layers: &[Layer], outlines: &[Node]) -> SpecError {
    let SpecError::Invalid { path, field, message } = error else { return error };
    let key = key_segments(&field);
    let place = match source_of(&key, overrides, layers, outlines) {
        Source::Override { text } => Place::Override { text },
        Source::File { path: file, line } if line > 0 => {
            let text = layers.iter().find(|l| l.path == file).map_or("", |l| l.text.as_str());
            let column = key.last().map_or(1, |segment| value_column(text, line, segment));
            Place::Line { path: file, line, column }
        }
        _ => return SpecError::Invalid { path, field, message },
    };
    SpecError::Placed { place, field, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_columns_and_blamed_keys() {
        assert_eq!(key_segments("models[1].params.embed_dim"), ["models", "1", "params", "embed_dim"]);
        let text = "train:\n  batch_size: 0\n  optimizer: { name: adam, lr: 1e309 }\n";
        assert_eq!(value_column(text, 2, "batch_size"), 15);
        assert_eq!(value_column(text, 3, "lr"), 32);
        assert_eq!(value_column("  schedule: { final_lr: 0.1, lr: 2 }", 1, "lr"), 34);
        assert_eq!(offending_key("train.batch_size: must be at least 1"), Some(key_segments("train.batch_size")));
        assert_eq!(offending_key("train: unknown field `batchsize`, expected one of"), Some(key_segments("train.batchsize")));
        assert_eq!(offending_key("unknown field `trian`, expected one of"), Some(vec!["trian".to_string()]));
        assert_eq!(offending_key("invalid type: string \"x\", expected struct Spec"), None);
    }
}
