//! Escapes and character classes.

use super::Parser;
use crate::rules::pyre::{Ast, Width, NOT_SPACE, NOT_WORD, SPACE, SPACE_IN, WORD, WORD_IN};

impl Parser {
    /// An escape outside a class (the backslash was read).
    pub(super) fn escape(&mut self) -> Result<Ast, String> {
        let c = self.next().ok_or("bad escape (end of pattern)")?;
        let (text, width) = match c {
            'A' => (r"\A", Width::Zero),
            'Z' => (r"\z", Width::Zero),
            'b' => (r"\b", Width::Zero),
            'B' => (r"\B", Width::Zero),
            'd' => (r"\d", Width::One),
            'D' => (r"\D", Width::One),
            's' => (SPACE, Width::One),
            'S' => (NOT_SPACE, Width::One),
            'w' => (WORD, Width::One),
            'W' => (NOT_WORD, Width::One),
            '0' => {
                let code = self.octal(0, 2);
                return Ok(self.char(code));
            }
            '1'..='9' => {
                // Python: three octal digits are a character, anything else a group reference.
                let (second, third) = (self.peek(), self.chars.get(self.pos + 1).copied());
                let octal = |d: Option<char>| d.is_some_and(|d| ('0'..='7').contains(&d));
                if octal(Some(c)) && octal(second) && octal(third) {
                    let code = self.octal(c.to_digit(8).unwrap_or(0), 2);
                    if code > 0o377 {
                        return Err("octal escape value outside of range 0-0o377".into());
                    }
                    return Ok(self.char(code));
                }
                return Err("backreferences are not supported by the regex crate".into());
            }
            _ => {
                let code = self.char_escape(c)?;
                return Ok(self.char(code));
            }
        };
        Ok(Ast::Raw { text, width })
    }

    /// The escapes that stand for one character in and outside classes: the code point.
    fn char_escape(&mut self, c: char) -> Result<u32, String> {
        Ok(match c {
            'a' => 0x07,
            'f' => 0x0C,
            'n' => 0x0A,
            'r' => 0x0D,
            't' => 0x09,
            'v' => 0x0B,
            'x' => self.hex(2)?,
            'u' => self.hex(4)?,
            'U' => {
                let code = self.hex(8)?;
                if code > 0x10FFFF {
                    return Err("bad escape \\U: not a code point".into());
                }
                code
            }
            'N' => return Err("named characters (\\N{...}) are not supported".into()),
            c if c.is_ascii_alphanumeric() => return Err(format!("bad escape \\{c}")),
            c => u32::from(c),
        })
    }

    fn hex(&mut self, count: usize) -> Result<u32, String> {
        let digits: String = self.chars.iter().skip(self.pos).take(count).collect();
        if digits.chars().count() != count || !digits.chars().all(|d| d.is_ascii_hexdigit()) {
            return Err("incomplete escape".into());
        }
        self.pos += count;
        u32::from_str_radix(&digits, 16).map_err(|e| e.to_string())
    }

    /// Octal digits after a first value: up to `more` further digits.
    fn octal(&mut self, mut value: u32, more: usize) -> u32 {
        for _ in 0..more {
            match self.peek().and_then(|d| d.to_digit(8)) {
                Some(d) => {
                    value = value * 8 + d;
                    self.pos += 1;
                }
                None => break,
            }
        }
        value
    }

    /// A character class (the `[` was read).
    pub(super) fn class(&mut self) -> Result<Ast, String> {
        let negate = self.eat('^');
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        let mut sets: Vec<&'static str> = Vec::new();
        let mut empty = true;
        loop {
            let c = self.next().ok_or("unterminated character set")?;
            if c == ']' && !empty {
                break;
            }
            empty = false;
            let first = if c == '\\' {
                self.class_escape()?
            } else {
                Item::Char(u32::from(c))
            };
            if !self.eat('-') {
                match first {
                    Item::Char(code) => ranges.push((code, code)),
                    Item::Set(set) => sets.push(set),
                }
                continue;
            }
            let that = self.next().ok_or("unterminated character set")?;
            if that == ']' {
                match first {
                    Item::Char(code) => ranges.push((code, code)),
                    Item::Set(set) => sets.push(set),
                }
                ranges.push((u32::from('-'), u32::from('-')));
                break;
            }
            let second = if that == '\\' {
                self.class_escape()?
            } else {
                Item::Char(u32::from(that))
            };
            match (first, second) {
                (Item::Char(low), Item::Char(high)) if low <= high => ranges.push((low, high)),
                _ => return Err("bad character range".into()),
            }
        }
        Ok(Ast::Class {
            negate,
            ranges,
            sets,
            fold: self.flags.ignore_case,
        })
    }

    /// An escape inside a class (the backslash was read).
    fn class_escape(&mut self) -> Result<Item, String> {
        let c = self.next().ok_or("unterminated character set")?;
        Ok(match c {
            'b' => Item::Char(0x08),
            'd' => Item::Set(r"\d"),
            'D' => Item::Set(r"\D"),
            's' => Item::Set(SPACE_IN),
            'S' => Item::Set(NOT_SPACE),
            'w' => Item::Set(WORD_IN),
            'W' => Item::Set(NOT_WORD),
            '0'..='7' => {
                let code = self.octal(c.to_digit(8).unwrap_or(0), 2);
                if code > 0o377 {
                    return Err("octal escape value outside of range 0-0o377".into());
                }
                Item::Char(code)
            }
            '8' | '9' => return Err(format!("bad escape \\{c}")),
            _ => Item::Char(self.char_escape(c)?),
        })
    }
}

/// One item of a character class while parsing.
enum Item {
    Char(u32),
    Set(&'static str),
}
