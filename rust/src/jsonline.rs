//! Reading back one line of a session file: is it a record (a JSON object that
//! Python's `json.loads` accepts), and what are its top-level `id` and `type`?
//!
//! The Python kernel answers with `json.loads`, so this scanner accepts what
//! `json.loads` accepts: `NaN`, `Infinity`, `-Infinity`, lone `\uXXXX`
//! surrogates, duplicate keys (the last one wins); and it refuses what it
//! refuses: control characters inside strings, invalid UTF-8, integers of more
//! than 4,300 digits (CPython's default int-to-string limit).

/// CPython's default `sys.get_int_max_str_digits()`.
const MAX_INT_DIGITS: usize = 4300;
/// Nesting deeper than this is refused rather than risk the stack. It is CPython's
/// default recursion limit, near where `json.loads` gives up with RecursionError
/// (a little earlier, by the depth of the caller's stack); the library itself
/// never writes more than 64 levels.
const MAX_NESTING: usize = 1000;

/// What a record's top-level `type` says, as far as ids and end records care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Init,
    End,
    Other,
}

/// A parsed record: its top-level integer `id` (decimal text) if it has one, and its kind.
#[derive(Debug, PartialEq, Eq)]
pub struct Record {
    pub id: Option<String>,
    pub kind: Kind,
}

/// Scan one line (without its newline). `None` when it is not a JSON object `json.loads` accepts.
pub fn scan_record(line: &[u8]) -> Option<Record> {
    let text = std::str::from_utf8(line).ok()?;
    let mut parser = Parser {
        bytes: text.as_bytes(),
        pos: 0,
    };
    parser.skip_ws();
    if parser.peek() != Some(b'{') {
        return None;
    }
    let record = parser.top_object()?;
    parser.skip_ws();
    (parser.pos == parser.bytes.len()).then_some(record)
}

/// `text + 1` for the decimal text of an integer (`-?(0|[1-9][0-9]*)`), exactly, at any size.
pub fn add_one(text: &str) -> String {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let mut digits: Vec<u8> = digits.bytes().collect();
    if !negative {
        increment(&mut digits);
        return String::from_utf8(digits).expect("ascii digits");
    }
    if digits.iter().all(|d| *d == b'0') {
        return "1".to_owned(); // -0 + 1
    }
    decrement(&mut digits);
    let first = digits.iter().position(|d| *d != b'0').unwrap_or(digits.len() - 1);
    let magnitude = std::str::from_utf8(&digits[first..]).expect("ascii digits");
    if magnitude == "0" {
        "0".to_owned()
    } else {
        format!("-{magnitude}")
    }
}

fn increment(digits: &mut Vec<u8>) {
    for digit in digits.iter_mut().rev() {
        if *digit == b'9' {
            *digit = b'0';
        } else {
            *digit += 1;
            return;
        }
    }
    digits.insert(0, b'1');
}

fn decrement(digits: &mut [u8]) {
    for digit in digits.iter_mut().rev() {
        if *digit == b'0' {
            *digit = b'9';
        } else {
            *digit -= 1;
            return;
        }
    }
}

/// Whether text is a JSON integer token: `-?(0|[1-9][0-9]*)`.
pub fn is_integer_text(text: &[u8]) -> bool {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) && (digits == b"0" || digits[0] != b'0')
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

/// What a value turned out to be, as far as the top-level keys care.
enum Scanned {
    Integer(usize, usize),
    Str(String),
    Other,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, literal: &[u8]) -> bool {
        if self.bytes[self.pos..].starts_with(literal) {
            self.pos += literal.len();
            true
        } else {
            false
        }
    }

    fn top_object(&mut self) -> Option<Record> {
        let mut record = Record {
            id: None,
            kind: Kind::Other,
        };
        self.object(0, |key, value, text| match key {
            "id" => {
                record.id = match value {
                    Scanned::Integer(start, end) => Some(String::from_utf8_lossy(&text[start..end]).into_owned()),
                    _ => None,
                }
            }
            "type" => {
                record.kind = match value {
                    Scanned::Str(s) if s == "init" => Kind::Init,
                    Scanned::Str(s) if s == "end" => Kind::End,
                    _ => Kind::Other,
                }
            }
            _ => {}
        })?;
        Some(record)
    }

    /// An object at `self.pos` (which holds `{`); `on_member` sees each key and value when `depth == 0`.
    fn object(&mut self, depth: usize, mut on_member: impl FnMut(&str, Scanned, &[u8])) -> Option<()> {
        self.pos += 1;
        self.skip_ws();
        if self.eat(b"}") {
            return Some(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return None;
            }
            let key = self.string(true)?;
            self.skip_ws();
            if !self.eat(b":") {
                return None;
            }
            self.skip_ws();
            let value = self.value(depth + 1, depth == 0)?;
            if depth == 0 {
                on_member(&key, value, self.bytes);
            }
            self.skip_ws();
            if self.eat(b"}") {
                return Some(());
            }
            if !self.eat(b",") {
                return None;
            }
            self.skip_ws();
        }
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        self.pos += 1;
        self.skip_ws();
        if self.eat(b"]") {
            return Some(());
        }
        loop {
            self.value(depth + 1, false)?;
            self.skip_ws();
            if self.eat(b"]") {
                return Some(());
            }
            if !self.eat(b",") {
                return None;
            }
            self.skip_ws();
        }
    }

    /// A value at `self.pos`; strings are decoded only when `keep` asks for them.
    fn value(&mut self, depth: usize, keep: bool) -> Option<Scanned> {
        if depth > MAX_NESTING {
            return None;
        }
        match self.peek()? {
            b'{' => self.object(depth, |_, _, _| {}).map(|()| Scanned::Other),
            b'[' => self.array(depth).map(|()| Scanned::Other),
            b'"' => self
                .string(keep)
                .map(|s| if keep { Scanned::Str(s) } else { Scanned::Other }),
            b'n' => self.eat(b"null").then_some(Scanned::Other),
            b't' => self.eat(b"true").then_some(Scanned::Other),
            b'f' => self.eat(b"false").then_some(Scanned::Other),
            b'N' => self.eat(b"NaN").then_some(Scanned::Other),
            b'I' => self.eat(b"Infinity").then_some(Scanned::Other),
            b'-' if self.bytes[self.pos..].starts_with(b"-Infinity") => {
                self.pos += 9;
                Some(Scanned::Other)
            }
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Option<Scanned> {
        let start = self.pos;
        self.eat(b"-");
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return None,
        }
        let int_end = self.pos;
        let mut is_float = false;
        if self.peek() == Some(b'.') && matches!(self.bytes.get(self.pos + 1), Some(b'0'..=b'9')) {
            self.pos += 1;
            self.digits();
            is_float = true;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            let before = self.pos;
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                self.pos = before; // not an exponent: the number ends before the 'e'
            } else {
                is_float = true;
            }
        }
        if is_float {
            return Some(Scanned::Other);
        }
        let magnitude = int_end - start - usize::from(self.bytes[start] == b'-');
        (magnitude <= MAX_INT_DIGITS).then_some(Scanned::Integer(start, int_end))
    }

    /// A string at `self.pos` (which holds `"`), decoded when `keep` (lone surrogates become U+FFFD).
    fn string(&mut self, keep: bool) -> Option<String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let start = self.pos;
            while let Some(byte) = self.peek() {
                if byte == b'"' || byte == b'\\' || byte < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            if keep {
                out.push_str(std::str::from_utf8(&self.bytes[start..self.pos]).ok()?);
            }
            match self.peek()? {
                b'"' => {
                    self.pos += 1;
                    return Some(out);
                }
                b'\\' => {
                    self.pos += 1;
                    let escaped = self.peek()?;
                    self.pos += 1;
                    let plain = match escaped {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hex = self.bytes.get(self.pos..self.pos + 4)?;
                            let text = std::str::from_utf8(hex).ok()?;
                            if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
                                return None;
                            }
                            self.pos += 4;
                            // Surrogates (paired or not) never spell "id", "type", "init" or "end".
                            char::from_u32(u32::from_str_radix(text, 16).ok()?).unwrap_or('\u{fffd}')
                        }
                        _ => return None,
                    };
                    if keep {
                        out.push(plain);
                    }
                }
                _ => return None, // a control character inside a string
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_of(line: &str) -> Option<String> {
        scan_record(line.as_bytes()).and_then(|r| r.id)
    }

    #[test]
    fn finds_the_top_level_integer_id() {
        assert_eq!(id_of(r#"{"type":"event","id":7,"x":{"id":9}}"#).as_deref(), Some("7"));
        assert_eq!(id_of(r#" {"id" : -0 } "#).as_deref(), Some("-0"));
        assert_eq!(id_of(r#"{"\u0069d":3}"#).as_deref(), Some("3"));
        assert_eq!(id_of(r#"{"id":1,"id":"x"}"#), None, "the last duplicate wins");
        assert_eq!(id_of(r#"{"id":"x","id":2}"#).as_deref(), Some("2"));
        assert_eq!(id_of(r#"{"id":1.0}"#), None);
        assert_eq!(id_of(r#"{"id":1e2}"#), None);
        assert_eq!(id_of(r#"{"id":true}"#), None);
    }

    #[test]
    fn accepts_what_python_json_accepts() {
        for line in [
            r#"{"a":NaN,"b":Infinity,"c":-Infinity}"#,
            r#"{"s":"\ud800 lone","t":"\udc00\ud83d\ude00"}"#,
            r#"{"a":[],"b":{},"c":[1,-2.5e+3,0.0,"x",null,true,false]}"#,
            "{\"u\":\"h\u{e9}llo \u{2028}\"}",
            r#"{"esc":"\"\\\/\b\f\n\r\t\u00e9"}"#,
        ] {
            assert!(scan_record(line.as_bytes()).is_some(), "{line}");
        }
    }

    #[test]
    fn refuses_what_python_json_refuses() {
        for line in [
            "",
            "[1]",
            "5",
            r#"{"a":1"#,
            r#"{"a":1,}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":1e}"#,
            r#"{"a":-}"#,
            r#"{"a":"x\qy"}"#,
            r#"{"a":"\u12"}"#,
            "{\"a\":\"tab\there\"}",
            r#"{a:1}"#,
            r#"{"a":1} x"#,
            r#"{"type":"event","id":3,"x":"torn"#,
            "\u{feff}{}",
        ] {
            assert!(scan_record(line.as_bytes()).is_none(), "{line}");
        }
        assert!(scan_record(b"{\"a\":\"\xff\"}").is_none(), "invalid UTF-8");
        assert!(
            scan_record(b"{\"a\":\"\xed\xa0\x80\"}").is_none(),
            "an encoded surrogate"
        );
    }

    #[test]
    fn limits_integer_digits_and_nesting() {
        let ok = format!("{{\"id\":{}}}", "9".repeat(4300));
        assert_eq!(scan_record(ok.as_bytes()).unwrap().id.unwrap().len(), 4300);
        let big = format!("{{\"x\":{}}}", "9".repeat(4301));
        assert!(scan_record(big.as_bytes()).is_none());
        let float = format!("{{\"x\":{}.5}}", "9".repeat(5000));
        assert!(scan_record(float.as_bytes()).is_some());
        let nested = format!("{{\"id\":1,\"x\":{}{}}}", "[".repeat(900), "]".repeat(900));
        assert_eq!(scan_record(nested.as_bytes()).unwrap().id.as_deref(), Some("1"));
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(1100), "]".repeat(1100));
        assert!(scan_record(deep.as_bytes()).is_none());
    }

    #[test]
    fn reads_the_kind() {
        assert_eq!(scan_record(br#"{"type":"init"}"#).unwrap().kind, Kind::Init);
        assert_eq!(
            scan_record(br#"{"type":"end","event_count":2}"#).unwrap().kind,
            Kind::End
        );
        assert_eq!(scan_record(br#"{"type":"end","type":"x"}"#).unwrap().kind, Kind::Other);
        assert_eq!(scan_record(br#"{"x":{"type":"end"}}"#).unwrap().kind, Kind::Other);
    }

    #[test]
    fn adds_one_exactly() {
        for (given, expected) in [
            ("0", "1"),
            ("9", "10"),
            ("1999", "2000"),
            ("-0", "1"),
            ("-1", "0"),
            ("-2", "-1"),
            ("-10", "-9"),
            ("-1000", "-999"),
            ("99999999999999999999999999", "100000000000000000000000000"),
        ] {
            assert_eq!(add_one(given), expected);
        }
        assert!(is_integer_text(b"-12") && is_integer_text(b"0"));
        assert!(
            !is_integer_text(b"01") && !is_integer_text(b"1.0") && !is_integer_text(b"\"1\"") && !is_integer_text(b"-")
        );
    }
}
