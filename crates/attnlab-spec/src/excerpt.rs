//! Error messages quote values from the file they complain about (serde's
//! `invalid type: string "..."`). A file that is not a spec at all (a
//! `defaults:` entry naming `/etc/shadow`, a binary) would be echoed whole,
//! so every quoted value is cut to a short excerpt and every control
//! character is escaped: a message shows what was wrong, never the file.

/// Characters of one quoted value kept in a message.
const MAX_QUOTED: usize = 40;
/// Characters of a whole message kept (beyond the quoted values' cuts).
const MAX_MESSAGE: usize = 400;

/// `message` with each `"..."` or `` `...` `` cut to [`MAX_QUOTED`]
/// characters, control characters escaped, and the whole cut to [`MAX_MESSAGE`].
pub(crate) fn excerpt(message: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut quoted = 0usize;
    for c in message.chars() {
        match quote {
            Some(q) if c == q => {
                quote = None;
                out.push(c);
            }
            Some(_) => {
                quoted += 1;
                if quoted <= MAX_QUOTED {
                    push_escaped(&mut out, c);
                } else if quoted == MAX_QUOTED + 1 {
                    out.push('…');
                }
            }
            None => {
                if c == '"' || c == '`' {
                    quote = Some(c);
                    quoted = 0;
                }
                push_escaped(&mut out, c);
            }
        }
    }
    if out.chars().count() > MAX_MESSAGE {
        out = out.chars().take(MAX_MESSAGE).collect::<String>() + "…";
    }
    out
}

fn push_escaped(out: &mut String, c: char) {
    if c.is_control() {
        out.extend(c.escape_default());
    } else {
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_quoted_values_are_cut_and_control_characters_escaped() {
        let secret = format!("root:$6$salt$HASH{}:19000:0:99999:7:::\ndaemon:*:19000", "x".repeat(100));
        let message = format!("invalid type: string \"{secret}\", expected struct Spec");
        let shown = excerpt(&message);
        assert_eq!(shown, "invalid type: string \"root:$6$salt$HASHxxxxxxxxxxxxxxxxxxxxxxx…\", expected struct Spec");
        assert_eq!(excerpt("unknown field `batchsize`"), "unknown field `batchsize`");
        assert_eq!(excerpt("a\u{7}b"), "a\\u{7}b");
        assert_eq!(excerpt(&"y".repeat(1000)).chars().count(), MAX_MESSAGE + 1);
    }
}
