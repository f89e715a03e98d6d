//! A small YAML key locator: the outline of a spec file (which key or list
//! item sits on which line), enough to say where a value was written.
//!
//! It understands block mappings, `- item` lists (including `- key: value`
//! items continued on the next lines), quoted keys, comments, block scalars
//! (`|`, `>`, skipped) and flow collections `{ a: 1, b: [2, 3] }`, also when
//! they span lines. It does not understand anchors and aliases (`&a`, `*a`,
//! `<<`), complex keys (`? `), tags, several documents in one file or tabs as
//! indentation; there it answers with the nearest key it did find. It never
//! decides what a file means (serde_yaml does); it only finds lines.

pub(crate) struct Node {
    pub kind: Kind,
}

pub(crate) enum Kind {
    /// Keys with the line each is written on.
    Map(Vec<(String, usize, Node)>),
    /// Items with the line of each.
    Seq(Vec<(usize, Node)>),
    Leaf,
}

/// The line of `key` (dotted path segments; list items by index), or of the
/// deepest part of it that the file holds; `None` when not even the first.
pub(crate) fn key_line(root: &Node, key: &[String]) -> Option<usize> {
    let mut node = root;
    let mut best = None;
    for segment in key {
        let next = match &node.kind {
            Kind::Map(entries) => entries.iter().rev().find(|(k, _, _)| k == segment).map(|(_, line, n)| (*line, n)),
            Kind::Seq(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)).map(|(line, n)| (*line, n)),
            Kind::Leaf => None,
        };
        let Some((line, child)) = next else { break };
        best = Some(line);
        node = child;
    }
    best
}

/// Keys written twice in one mapping, with the lines of their first and
/// second occurrence, depth first.
pub(crate) fn duplicate_keys(root: &Node) -> Vec<(Vec<String>, usize, usize)> {
    fn walk(node: &Node, key: &mut Vec<String>, out: &mut Vec<(Vec<String>, usize, usize)>) {
        match &node.kind {
            Kind::Map(entries) => {
                for (i, (k, line, child)) in entries.iter().enumerate() {
                    key.push(k.clone());
                    if let Some((_, first, _)) = entries[..i].iter().find(|(other, _, _)| other == k) {
                        out.push((key.clone(), *first, *line));
                    }
                    walk(child, key, out);
                    key.pop();
                }
            }
            Kind::Seq(items) => {
                for (i, (_, child)) in items.iter().enumerate() {
                    key.push(i.to_string());
                    walk(child, key, out);
                    key.pop();
                }
            }
            Kind::Leaf => {}
        }
    }
    let mut out = Vec::new();
    walk(root, &mut Vec::new(), &mut out);
    out
}

struct Line {
    no: usize,
    indent: usize,
    text: String,
}

pub(crate) fn outline(text: &str) -> Node {
    let lines = text
        .lines()
        .enumerate()
        .filter_map(|(i, raw)| {
            let body = strip_comment(raw).trim_end().to_string();
            let indent = body.len() - body.trim_start_matches(' ').len();
            let text = body[indent..].to_string();
            let directive = text == "---" || text == "..." || text.starts_with('%');
            (!text.is_empty() && !directive).then_some(Line { no: i + 1, indent, text })
        })
        .collect::<Vec<_>>();
    let mut p = Parser { lines, i: 0 };
    match p.lines.first().map(|l| l.indent) {
        Some(indent) => p.block(indent),
        None => Node { kind: Kind::Leaf },
    }
}

/// Cuts a `#` comment: at the start or after whitespace, outside quotes that
/// open a token.
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '#' && prev.is_whitespace() => return &line[..i],
            None if (c == '"' || c == '\'') && (prev.is_whitespace() || ":[{,".contains(prev)) => quote = Some(c),
            None => {}
        }
        prev = c;
    }
    line
}

fn is_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// `key: rest` of a block mapping line (quoted keys unquoted).
fn split_key(text: &str) -> Option<(String, &str)> {
    if text.starts_with(['{', '[']) || is_item(text) {
        return None;
    }
    let (key, after) = match text.chars().next()? {
        q @ ('"' | '\'') => {
            let close = text[1..].find(q)? + 1;
            (text[1..close].to_string(), &text[close + 1..])
        }
        _ => {
            let pos = text.find(": ").or_else(|| text.ends_with(':').then(|| text.len() - 1))?;
            (text[..pos].trim().to_string(), &text[pos..])
        }
    };
    let rest = after.trim_start().strip_prefix(':')?;
    (rest.is_empty() || rest.starts_with(' ')).then(|| (key, rest.trim()))
}

struct Parser {
    lines: Vec<Line>,
    i: usize,
}

impl Parser {
    fn block(&mut self, indent: usize) -> Node {
        let text = &self.lines[self.i].text;
        if is_item(text) {
            self.seq(indent)
        } else if split_key(text).is_some() {
            self.map(indent)
        } else {
            let (no, rest) = (self.lines[self.i].no, text.clone());
            self.i += 1;
            self.value(indent, no, &rest)
        }
    }

    fn here(&self) -> Option<&Line> {
        self.lines.get(self.i)
    }

    fn map(&mut self, indent: usize) -> Node {
        let mut entries = Vec::new();
        while let Some(line) = self.here().filter(|l| l.indent == indent) {
            let Some((key, rest)) = split_key(&line.text) else { break };
            let (no, rest) = (line.no, rest.to_string());
            self.i += 1;
            let child = if rest.is_empty() {
                match self.here() {
                    Some(next) if next.indent > indent => self.block(next.indent),
                    Some(next) if next.indent == indent && is_item(&next.text) => self.seq(indent),
                    _ => Node { kind: Kind::Leaf },
                }
            } else {
                self.value(indent, no, &rest)
            };
            entries.push((key, no, child));
        }
        Node { kind: Kind::Map(entries) }
    }

    fn seq(&mut self, indent: usize) -> Node {
        let mut items = Vec::new();
        while let Some(line) = self.here().filter(|l| l.indent == indent && is_item(&l.text)) {
            let no = line.no;
            let after = &line.text[1..];
            let content = after.trim_start().to_string();
            let child = if content.is_empty() {
                self.i += 1;
                match self.here() {
                    Some(next) if next.indent > indent => self.block(next.indent),
                    _ => Node { kind: Kind::Leaf },
                }
            } else {
                // `- key: v` continues as a mapping at the column of `key`.
                let inner = indent + 1 + (after.len() - content.len());
                self.lines[self.i] = Line { no, indent: inner, text: content };
                self.block(inner)
            };
            items.push((no, child));
        }
        Node { kind: Kind::Seq(items) }
    }

    /// The value written after a key (its line already consumed): a flow
    /// collection, possibly continued on the next lines, or a scalar whose
    /// continuation lines (deeper indent) are skipped.
    fn value(&mut self, indent: usize, no: usize, rest: &str) -> Node {
        if rest.starts_with(['{', '[']) {
            let mut chars: Vec<(char, usize)> = rest.chars().map(|c| (c, no)).collect();
            while !balanced(&chars) {
                let Some(next) = self.here() else { break };
                chars.push(('\n', next.no));
                chars.extend(next.text.chars().map(|c| (c, next.no)));
                self.i += 1;
            }
            return Flow { chars, at: 0 }.node();
        }
        while self.here().is_some_and(|l| l.indent > indent) {
            self.i += 1;
        }
        Node { kind: Kind::Leaf }
    }
}

fn balanced(chars: &[(char, usize)]) -> bool {
    let mut depth = 0i32;
    let mut quote = None;
    for &(c, _) in chars {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') => depth -= 1,
            _ => {}
        }
    }
    depth <= 0
}

struct Flow {
    chars: Vec<(char, usize)>,
    at: usize,
}

impl Flow {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).map(|(c, _)| *c)
    }

    fn line(&self) -> usize {
        self.chars.get(self.at).or(self.chars.last()).map_or(0, |(_, l)| *l)
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    /// A scalar: quoted, or plain up to `,`, `]`, `}` (and `: ` for keys).
    fn scalar(&mut self, key: bool) -> String {
        let mut out = String::new();
        if let Some(q @ ('"' | '\'')) = self.peek() {
            self.at += 1;
            while let Some(c) = self.peek() {
                self.at += 1;
                if c == q {
                    break;
                }
                out.push(c);
            }
            return out;
        }
        while let Some(c) = self.peek() {
            let colon = c == ':' && self.chars.get(self.at + 1).is_none_or(|(n, _)| n.is_whitespace() || ",]}".contains(*n));
            if ",]}".contains(c) || (key && colon) {
                break;
            }
            out.push(c);
            self.at += 1;
        }
        out.trim().to_string()
    }

    fn node(&mut self) -> Node {
        self.skip_ws();
        let (open, close) = match self.peek() {
            Some('{') => ('{', '}'),
            Some('[') => ('[', ']'),
            _ => {
                self.scalar(false);
                return Node { kind: Kind::Leaf };
            }
        };
        self.at += 1;
        let mut entries = Vec::new();
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            let start = self.at;
            match self.peek() {
                None => break,
                Some(c) if c == close => {
                    self.at += 1;
                    break;
                }
                Some(',') => self.at += 1,
                Some(_) if open == '{' => {
                    let line = self.line();
                    let key = self.scalar(true);
                    self.skip_ws();
                    let child = if self.peek() == Some(':') {
                        self.at += 1;
                        self.node()
                    } else {
                        Node { kind: Kind::Leaf }
                    };
                    entries.push((key, line, child));
                }
                Some(_) => {
                    let line = self.line();
                    items.push((line, self.node()));
                }
            }
            if self.at == start {
                self.at += 1; // never stall on input this parser does not know
            }
        }
        let kind = if open == '{' { Kind::Map(entries) } else { Kind::Seq(items) };
        Node { kind }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, key: &str) -> Option<usize> {
        key_line(&outline(text), &key.split('.').map(String::from).collect::<Vec<_>>())
    }

    #[test]
    fn finds_block_list_and_flow_keys() {
        let text = "\
# comment
name: demo   # trailing
train:
  epochs: 3
  optimizer: { name: adam, lr: 0.01 }
models:
  - { name: lr, model: LR }
  - name: din
    model: DIN
    params: { embed_dim: 8,
              mlp: [64, 32] }
notes: |
  epochs: not a key
seeds: [1, 2]
sweep:
  params:
    \"train.optimizer.lr\": [0.1, 0.2]
list_at_same_indent:
- a: 1
";
        assert_eq!(line(text, "name"), Some(2));
        assert_eq!(line(text, "train.epochs"), Some(4));
        assert_eq!(line(text, "train.optimizer.lr"), Some(5));
        assert_eq!(line(text, "models.0.model"), Some(7));
        assert_eq!(line(text, "models.1"), Some(8));
        assert_eq!(line(text, "models.1.model"), Some(9));
        assert_eq!(line(text, "models.1.params.mlp"), Some(11));
        assert_eq!(line(text, "seeds"), Some(14));
        assert_eq!(line(text, "sweep.params.train.optimizer.lr"), Some(16), "deepest found part");
        assert_eq!(key_line(&outline(text), &["sweep".into(), "params".into(), "train.optimizer.lr".into()]), Some(17));
        assert_eq!(line(text, "list_at_same_indent.0.a"), Some(19));
        assert_eq!(line(text, "train.batch_size"), Some(3), "nearest present key");
        assert_eq!(line(text, "nothing"), None);
    }
}
