//! "Did you mean": serde lists the names it expected after an unknown field
//! or variant; the closest one (edit distance <= 2) is suggested.

/// `message` with `, did you mean `x`?` appended when one name is close.
/// Every message of serde passes here, so here its quotes of the file are
/// cut to an excerpt ([`crate::excerpt`]).
pub(crate) fn suggest(message: &str) -> String {
    let message = &crate::excerpt::excerpt(message);
    for marker in ["unknown field `", "unknown variant `"] {
        let Some(start) = message.find(marker) else { continue };
        let rest = &message[start + marker.len()..];
        let Some(end) = rest.find('`') else { continue };
        let word = &rest[..end];
        let Some(expected) = rest[end..].find("expected") else { continue };
        let candidates = rest[end + expected..].split('`').skip(1).step_by(2);
        let best = candidates
            .map(|c| (distance(&word.to_lowercase(), &c.to_lowercase()), c))
            .filter(|(d, _)| *d <= 2 && *d < word.chars().count())
            .min_by_key(|(d, _)| *d);
        if let Some((_, c)) = best {
            return format!("{message}, did you mean `{c}`?");
        }
    }
    message.to_string()
}

/// Optimal string alignment distance (Levenshtein plus adjacent swaps).
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    d[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_closest_expected_name() {
        let m = "train: unknown field `epochz`, expected one of `epochs`, `batch_size`";
        assert_eq!(suggest(m), format!("{m}, did you mean `epochs`?"));
        let m = "unknown variant `adamx`, expected one of `adam`, `adamw`, `sgd`";
        assert!(suggest(m).ends_with("did you mean `adam`?"), "{}", suggest(m));
        let m = "unknown field `zzz`, expected `epochs` or `lr`";
        assert_eq!(suggest(m), m, "nothing close");
        assert_eq!(distance("bacth", "batch"), 1);
    }
}
