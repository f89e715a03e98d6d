//! Keys and values as MLflow accepts them.
//!
//! MLflow (3.x, `mlflow/utils/validation.py`) accepts metric, param and tag
//! keys made of alphanumerics (Python's Unicode `\w`), `_`, `-`, `.`, ` `,
//! `/` and, except on a Windows server, `:`; at most 250 characters; and
//! "unique paths": `posixpath.normpath(key) == key`, not `.`, not starting
//! with `..` or `/`. [`sanitize_key`] keeps to the subset every server
//! accepts (ASCII alphanumerics, no `:`), so a key maps the same way
//! whichever server it goes to. Lengths are counted in Unicode code points
//! (Python `len`), so everything here counts `char`s.

/// Longest metric, param or tag key the server accepts.
pub const MAX_KEY_LEN: usize = 250;
/// Longest param value the server accepts (MLflow >= 2.x: 6000).
pub const MAX_PARAM_VALUE_LEN: usize = 6000;
/// Longest tag value the server accepts (MLflow 3.x: 8000).
pub const MAX_TAG_VALUE_LEN: usize = 8000;
/// Suffix of the tag that carries the blake3 of a truncated param's full value.
pub const DIGEST_TAG_SUFFIX: &str = ".blake3";

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | '/')
}

/// Maps `key` to a key MLflow accepts: disallowed characters become `_`,
/// the key is cut to [`MAX_KEY_LEN`] characters, and path oddities MLflow
/// rejects (`//`, `./`, leading or trailing `/`, `..` at the start or as a
/// segment) are normalised away. An empty result becomes `_`.
///
/// Deterministic and idempotent: `sanitize_key(&sanitize_key(k)) == sanitize_key(k)`.
/// Distinct inputs may map to the same key (e.g. `a b` and `a\tb` do not,
/// but `a\tb` and `a\nb` do); callers that need uniqueness must check.
pub fn sanitize_key(key: &str) -> String {
    let replaced: String = key
        .chars()
        .take(MAX_KEY_LEN)
        .map(|c| if allowed(c) { c } else { '_' })
        .collect();
    let mut segments: Vec<String> = Vec::new();
    for seg in replaced.split('/') {
        match seg {
            "" | "." => {}
            ".." => segments.push("__".to_owned()),
            s => segments.push(s.to_owned()),
        }
    }
    let mut out = segments.join("/");
    if out.starts_with("..") {
        out.replace_range(0..1, "_");
    }
    if out.is_empty() {
        out.push('_');
    }
    out
}

/// Fits a param for MLflow: returns `(key, value, full_value)`.
///
/// The key is [`sanitize_key`]'d. A value longer than [`MAX_PARAM_VALUE_LEN`]
/// characters is cut to that length and the untouched value is returned as
/// `Some(full_value)`, so the caller can keep it elsewhere (an artifact) and
/// log [`digest_tag`]`(key, full_value)` beside the param. Otherwise the value
/// is returned as is and `full_value` is `None`.
pub fn fit_param(key: &str, value: &str) -> (String, String, Option<String>) {
    let key = sanitize_key(key);
    if value.chars().count() <= MAX_PARAM_VALUE_LEN {
        return (key, value.to_owned(), None);
    }
    let cut: String = value.chars().take(MAX_PARAM_VALUE_LEN).collect();
    (key, cut, Some(value.to_owned()))
}

/// The tag recording the blake3 (hex) of a truncated param's full value:
/// key `<key>.blake3` (the param key shortened if needed to stay within
/// [`MAX_KEY_LEN`]), value the 64-character hex digest.
pub fn digest_tag(param_key: &str, full_value: &str) -> (String, String) {
    let base = sanitize_key(param_key);
    let keep = MAX_KEY_LEN - DIGEST_TAG_SUFFIX.len();
    let mut base: String = base.chars().take(keep).collect();
    while base.ends_with('/') {
        base.pop();
    }
    let key = sanitize_key(&format!("{base}{DIGEST_TAG_SUFFIX}"));
    (
        key,
        blake3::hash(full_value.as_bytes()).to_hex().to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Python's `posixpath.normpath` for the inputs sanitize_key produces.
    fn is_unique_path(k: &str) -> bool {
        let norm_ok = !(k.contains("//")
            || k.split('/').any(|s| s == "." || s == "..")
            || (k.len() > 1 && k.ends_with('/')));
        norm_ok && k != "." && !k.starts_with("..") && !k.starts_with('/')
    }

    #[test]
    fn sanitize_keeps_valid_keys() {
        for k in ["loss", "val/auc", "a b-c.d_e", "train.loss/epoch 1"] {
            assert_eq!(sanitize_key(k), k);
        }
    }

    #[test]
    fn sanitize_fixes_invalid_keys() {
        assert_eq!(sanitize_key("auc@10"), "auc_10");
        assert_eq!(sanitize_key("eval:auc"), "eval_auc");
        assert_eq!(sanitize_key("τ=0.5"), "__0.5");
        assert_eq!(sanitize_key("/a//b/./c/"), "a/b/c");
        assert_eq!(sanitize_key("a/../b"), "a/__/b");
        assert_eq!(sanitize_key("..x"), "_.x");
        assert_eq!(sanitize_key(""), "_");
        assert_eq!(sanitize_key("."), "_");
        assert_eq!(sanitize_key("///"), "_");
        let long = "k".repeat(300);
        assert_eq!(sanitize_key(&long).chars().count(), MAX_KEY_LEN);
    }

    #[test]
    fn sanitize_is_idempotent_and_valid() {
        let samples = [
            "a", "a/b/", "..", "../..", "./.", "x/./../y", " / ", "é/ü", "a\tb\nc", "...", "a/...",
        ];
        for s in samples {
            let once = sanitize_key(s);
            assert_eq!(sanitize_key(&once), once, "{s:?}");
            assert!(is_unique_path(&once), "{s:?} -> {once:?}");
            assert!(once.chars().all(allowed), "{s:?} -> {once:?}");
        }
    }

    #[test]
    fn fit_param_truncates_on_chars_and_returns_full_value() {
        let (k, v, full) = fit_param("lr", "0.001");
        assert_eq!((k.as_str(), v.as_str(), full), ("lr", "0.001", None));
        let exact = "x".repeat(MAX_PARAM_VALUE_LEN);
        assert!(fit_param("p", &exact).2.is_none());
        let long = "é".repeat(MAX_PARAM_VALUE_LEN + 5);
        let (_, v, full) = fit_param("p", &long);
        assert_eq!(v.chars().count(), MAX_PARAM_VALUE_LEN);
        assert_eq!(full.as_deref(), Some(long.as_str()));
    }

    #[test]
    fn digest_tag_key_fits() {
        let (k, v) = digest_tag("model/params", "abc");
        assert_eq!(k, "model/params.blake3");
        assert_eq!(v, blake3::hash(b"abc").to_hex().to_string());
        let (k, _) = digest_tag(&"a/".repeat(200), "x");
        assert!(k.chars().count() <= MAX_KEY_LEN);
        assert!(k.ends_with(DIGEST_TAG_SUFFIX));
    }
}
