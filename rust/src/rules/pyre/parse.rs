//! Python 3.11's reading of a str pattern (`re._parser`), to an `Ast`.

mod escapes;

use super::{Ast, Width, END};

/// The pattern parsed as Python reads it (`ignore_case`: compiled with IGNORECASE).
pub fn parse(pattern: &str, ignore_case: bool) -> Result<Ast, String> {
    let mut parser = Parser {
        chars: pattern.chars().collect(),
        pos: 0,
        flags: Flags {
            ignore_case,
            multi_line: false,
        },
        started: false,
    };
    let ast = parser.alternation(0)?;
    if parser.pos < parser.chars.len() {
        return Err("unbalanced parenthesis".into());
    }
    Ok(ast)
}

#[derive(Clone, Copy)]
struct Flags {
    ignore_case: bool,
    multi_line: bool,
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    flags: Flags,
    /// Whether anything but global flags and comments was read (global flags must come first).
    started: bool,
}

/// Groups nest at most this deep (the parser recurses).
const MAX_NESTING: usize = 200;

impl Parser {
    fn next(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Branches separated by `|`, up to `)` or the end (not consumed).
    fn alternation(&mut self, depth: usize) -> Result<Ast, String> {
        if depth > MAX_NESTING {
            return Err("groups nested too deeply".into());
        }
        let mut branches = vec![self.concat(depth)?];
        while self.eat('|') {
            branches.push(self.concat(depth)?);
        }
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or(Ast::Concat(Vec::new()))
        } else {
            Ast::Alternate(branches)
        })
    }

    fn concat(&mut self, depth: usize) -> Result<Ast, String> {
        let mut items: Vec<Ast> = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            self.pos += 1;
            let item = match c {
                '(' => match self.group(depth)? {
                    Some(item) => item,
                    None => continue, // a comment, or global flags
                },
                '\\' => self.escape()?,
                '[' => self.class()?,
                '.' => Ast::Raw {
                    text: ".",
                    width: Width::One,
                },
                '^' => Ast::Raw {
                    text: "^",
                    width: Width::Zero,
                },
                '$' if self.flags.multi_line => Ast::Raw {
                    text: "$",
                    width: Width::Zero,
                },
                '$' => Ast::Raw {
                    text: END,
                    width: Width::End,
                },
                '*' | '+' | '?' => {
                    let (min, max) = match c {
                        '*' => (0, None),
                        '+' => (1, None),
                        _ => (0, Some(1)),
                    };
                    self.repeat(&mut items, min, max)?;
                    continue;
                }
                '{' => match self.counted()? {
                    Some((min, max)) => {
                        self.repeat(&mut items, min, max)?;
                        continue;
                    }
                    None => self.char(u32::from('{')),
                },
                _ => self.char(u32::from(c)),
            };
            // Global flags may follow global flags.
            self.started |= !matches!(item, Ast::Flags(_));
            items.push(item);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Ast::Concat(Vec::new()))
        } else {
            Ast::Concat(items)
        })
    }

    fn char(&self, code: u32) -> Ast {
        Ast::Char {
            code,
            fold: self.flags.ignore_case,
        }
    }

    /// A quantifier on the last item: Python's checks, then its lazy or possessive mark.
    fn repeat(&mut self, items: &mut Vec<Ast>, min: u32, max: Option<u32>) -> Result<(), String> {
        let inner = match items.pop() {
            None
            | Some(
                Ast::Flags(_)
                | Ast::Raw {
                    width: Width::Zero | Width::End,
                    ..
                },
            ) => return Err("nothing to repeat".into()),
            Some(Ast::Repeat { .. }) => return Err("multiple repeat".into()),
            Some(item) => item,
        };
        let lazy = self.eat('?');
        if !lazy && self.peek() == Some('+') {
            return Err("possessive quantifiers are not supported by the regex crate".into());
        }
        items.push(Ast::Repeat {
            inner: Box::new(inner),
            min,
            max,
            lazy,
        });
        Ok(())
    }

    /// After `{`: Python's counted repetition (`{m}`, `{m,}`, `{,n}`, `{m,n}`, `{,}`), or
    /// None when it reads a literal `{` (the position is then just after it).
    fn counted(&mut self) -> Result<Option<(u32, Option<u32>)>, String> {
        let here = self.pos;
        let number = |t: &mut Self| -> Result<Option<u32>, String> {
            let start = t.pos;
            while t.peek().is_some_and(|d| d.is_ascii_digit()) {
                t.pos += 1;
            }
            if t.pos == start {
                return Ok(None);
            }
            let digits: String = t.chars[start..t.pos].iter().collect();
            digits
                .parse::<u32>()
                .map(Some)
                .map_err(|_| "the repetition number is too large".to_string())
        };
        if self.peek() != Some('}') {
            let low = number(self)?;
            let comma = self.eat(',');
            let high = if comma { number(self)? } else { low };
            if self.eat('}') {
                let min = low.unwrap_or(0);
                if high.is_some_and(|high| high < min) {
                    return Err("min repeat greater than max repeat".into());
                }
                return Ok(Some((min, high)));
            }
        }
        self.pos = here;
        Ok(None)
    }

    /// After `(`: a group, or None for a comment or global flags.
    fn group(&mut self, depth: usize) -> Result<Option<Ast>, String> {
        let mut open = "(?:".to_string();
        let mut inner_flags = self.flags;
        if self.eat('?') {
            match self.next() {
                Some(':') => {}
                Some('P') => match self.next() {
                    Some('<') => while self.next().ok_or("missing >, unterminated name")? != '>' {},
                    Some('=') => return Err("backreferences are not supported by the regex crate".into()),
                    _ => return Err("unknown extension ?P".into()),
                },
                Some('#') => {
                    // A comment: skipped, escapes included (Python reads `\)` as one token).
                    loop {
                        match self.next() {
                            None => return Err("missing ), unterminated comment".into()),
                            Some('\\') => {
                                self.next();
                            }
                            Some(')') => return Ok(None),
                            Some(_) => {}
                        }
                    }
                }
                Some('=' | '!') => return Err("lookahead is not supported by the regex crate".into()),
                Some('<') => {
                    return Err(match self.peek() {
                        Some('=' | '!') => "lookbehind is not supported by the regex crate".into(),
                        _ => "unknown extension ?<".into(),
                    })
                }
                Some('(') => return Err("conditional groups are not supported by the regex crate".into()),
                Some('>') => return Err("atomic groups are not supported by the regex crate".into()),
                Some(c) if c == '-' || "aiLmsux".contains(c) => {
                    let (flags, rust, global) = self.inline_flags(c)?;
                    if global {
                        if self.started {
                            return Err("global flags not at the start of the expression".into());
                        }
                        self.flags = flags;
                        return Ok(if rust.is_empty() {
                            None
                        } else {
                            Some(Ast::Flags(format!("(?{rust})")))
                        });
                    }
                    inner_flags = flags;
                    open = format!("(?{rust}:");
                }
                _ => return Err("unknown extension".into()),
            }
        }
        self.started = true;
        let outer = std::mem::replace(&mut self.flags, inner_flags);
        let inner = self.alternation(depth + 1)?;
        self.flags = outer;
        if !self.eat(')') {
            return Err("missing ), unterminated subpattern".into());
        }
        Ok(Some(Ast::Group {
            open,
            inner: Box::new(inner),
        }))
    }

    /// The flags of `(?on-off:` or `(?on)` (after the first letter): the new flags, the
    /// crate's letters for them (IGNORECASE is written out, `u` is the default), and
    /// whether they are global (`)`).
    fn inline_flags(&mut self, first: char) -> Result<(Flags, String, bool), String> {
        let mut on = String::new();
        let mut off = String::new();
        let mut c = first;
        if c != '-' {
            loop {
                on.push(c);
                c = self.next().ok_or("missing -, : or )")?;
                if ")-:".contains(c) {
                    break;
                }
            }
        }
        if c == '-' {
            loop {
                c = self.next().ok_or("missing :")?;
                if c == ':' {
                    break;
                }
                off.push(c);
            }
        }
        let mut flags = self.flags;
        let (mut rust_on, mut rust_off) = (String::new(), String::new());
        for (letters, value) in [(&on, true), (&off, false)] {
            for flag in letters.chars() {
                match flag {
                    'i' => flags.ignore_case = value,
                    'm' => flags.multi_line = value,
                    's' => {}
                    'u' if value => continue,
                    'a' | 'L' | 'u' => return Err(format!("the inline flag {flag:?} is not supported")),
                    'x' => return Err("verbose patterns (flag x) are not supported".into()),
                    _ => return Err(format!("unknown flag {flag:?}")),
                }
                if flag != 'i' {
                    if value { &mut rust_on } else { &mut rust_off }.push(flag);
                }
            }
        }
        let rust = if rust_off.is_empty() {
            rust_on
        } else {
            format!("{rust_on}-{rust_off}")
        };
        Ok((flags, rust, c == ')'))
    }
}
