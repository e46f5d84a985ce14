//! Byte-level JSON text: string escapes and Python's float `repr`, without Python.

use std::fmt::Write as _;

/// Write `bytes` (UTF-8, or WTF-8 where lone surrogates are 3-byte `ED A0..BF xx`
/// sequences) as a JSON string literal the way Python's `json` writes it with
/// `ensure_ascii=False`: `\" \\ \n \r \t \b \f`, other controls `\u00XX`, lone
/// surrogates `\udXXX`, everything else as itself.
pub fn write_json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    // Room for the quotes and a short escape every 8 bytes: one allocation for most text.
    out.reserve(bytes.len() + bytes.len() / 8 + 2);
    out.push(b'"');
    let mut start = 0;
    while let Some(index) = next_special(bytes, start) {
        out.extend_from_slice(&bytes[start..index]);
        let byte = bytes[index];
        start = index + 1;
        match byte {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => {
                out.push(b'\\');
                out.push(SHORT_ESCAPE[usize::from(byte)]);
            }
            0xED if index + 2 < bytes.len() && bytes[index + 1] >= 0xA0 => {
                // A surrogate code point (U+D800..U+DFFF) in its 3-byte form.
                let code = (u32::from(byte & 0x0F) << 12)
                    | (u32::from(bytes[index + 1] & 0x3F) << 6)
                    | u32::from(bytes[index + 2] & 0x3F);
                write_unicode_escape(out, code);
                start = index + 3;
            }
            0xED => out.push(byte),
            _ => write_unicode_escape(out, u32::from(byte)),
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// `\\uXXXX` with lowercase hex, as Python's json writes it.
fn write_unicode_escape(out: &mut Vec<u8>, code: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(b"\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX[((code >> shift) & 0xF) as usize]);
    }
}

/// An i64 in decimal, without going through the formatting machinery.
pub fn write_i64(out: &mut Vec<u8>, value: i64) {
    let mut digits = [0u8; 20];
    let mut magnitude = value.unsigned_abs();
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    if value < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[start..]);
}

/// The index of the first byte at or after `from` that needs attention (see `SPECIAL`).
/// Eight bytes at a time: most text is long runs of plain bytes.
fn next_special(bytes: &[u8], from: usize) -> Option<usize> {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The high bit of each zero byte of `word` (exact for the lowest one, which is all we use).
    const fn zero_bytes(word: u64) -> u64 {
        word.wrapping_sub(LOW) & !word & HIGH
    }
    let mut index = from;
    while index + 8 <= bytes.len() {
        let word = u64::from_le_bytes(bytes[index..index + 8].try_into().expect("8 bytes"));
        // Bytes below 0x20 are those with (b & 0xE0) == 0.
        let mask = zero_bytes(word & 0xE0E0_E0E0_E0E0_E0E0)
            | zero_bytes(word ^ (LOW * u64::from(b'"')))
            | zero_bytes(word ^ (LOW * u64::from(b'\\')))
            | zero_bytes(word ^ (LOW * 0xED));
        if mask != 0 {
            return Some(index + (mask.trailing_zeros() / 8) as usize);
        }
        index += 8;
    }
    bytes[index..]
        .iter()
        .position(|b| SPECIAL[usize::from(*b)])
        .map(|offset| index + offset)
}

/// The letter after the backslash of the two-character escapes.
static SHORT_ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table[b'\n' as usize] = b'n';
    table[b'\r' as usize] = b'r';
    table[b'\t' as usize] = b't';
    table[0x08] = b'b';
    table[0x0c] = b'f';
    table
};

/// Bytes that stop the plain copy: controls, `"`, `\`, and 0xED (which may start a surrogate).
static SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = true;
        byte += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table[0xED] = true;
    table
};

/// Adapter so `write!` can append ASCII to a byte buffer.
struct Hex<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Hex<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Write a finite float exactly as Python's `repr(float)`: the shortest digits that
/// round-trip, positional when the decimal exponent is in -4..16, else `d.ddde+XX`.
pub fn write_float(out: &mut Vec<u8>, value: f64) {
    // `{:e}` gives the shortest round-trip digits ("-1.2345e-7", "1e16", "0e0"), but
    // where two candidates of that length are equally near it may pick either;
    // Python picks the even one, which is what exact rounding to that length gives.
    let shortest = format!("{value:e}");
    let count = shortest
        .split_once('e')
        .map_or(1, |(m, _)| m.bytes().filter(u8::is_ascii_digit).count());
    let rounded = format!("{value:.prec$e}", prec = count.saturating_sub(1));
    let text = if rounded.parse::<f64>() == Ok(value) {
        rounded
    } else {
        shortest
    };
    let (mantissa, exponent) = text.split_once('e').expect("LowerExp always writes an exponent");
    let exponent: i32 = exponent.parse().expect("LowerExp writes a decimal exponent");
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let point = exponent + 1; // digits d1d2... stand for 0.d1d2... * 10^point
    if negative {
        out.push(b'-');
    }
    if (-3..=16).contains(&point) {
        let count = digits.len() as i32;
        if point <= 0 {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-point) as usize));
            out.extend_from_slice(digits.as_bytes());
        } else if point >= count {
            out.extend_from_slice(digits.as_bytes());
            out.extend(std::iter::repeat_n(b'0', (point - count) as usize));
            out.extend_from_slice(b".0");
        } else {
            out.extend_from_slice(&digits.as_bytes()[..point as usize]);
            out.push(b'.');
            out.extend_from_slice(&digits.as_bytes()[point as usize..]);
        }
    } else {
        out.extend_from_slice(&digits.as_bytes()[..1]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits.as_bytes()[1..]);
        }
        let shown = point - 1;
        let _ = write!(
            Hex(out),
            "e{}{:02}",
            if shown < 0 { '-' } else { '+' },
            shown.unsigned_abs()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(value: f64) -> String {
        let mut out = Vec::new();
        write_float(&mut out, value);
        String::from_utf8(out).unwrap()
    }

    fn string(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        write_json_string(&mut out, bytes);
        String::from_utf8(out).unwrap()
    }

    #[test]
    #[allow(clippy::excessive_precision)] // exact binary values whose ties decide the last digit
    fn floats_match_python_repr() {
        for (value, repr) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (0.1, "0.1"),
            (1.5, "1.5"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1234567890123456.0, "1234567890123456.0"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            (1e-05, "1e-05"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (1.5e-7, "1.5e-07"),
            (1e22, "1e+22"),
            (1e100, "1e+100"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (-123.456, "-123.456"),
            (100.0, "100.0"),
            (562_949_953_421_312.25, "562949953421312.2"),
            (111_659_285_584_252.125, "111659285584252.12"),
            (233_891_771_783_429.625, "233891771783429.62"),
        ] {
            assert_eq!(float(value), repr, "{value:e}");
        }
    }

    #[test]
    fn integers_in_decimal() {
        for value in [0, 7, -7, 10, 1_234_567, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            write_i64(&mut out, value);
            assert_eq!(String::from_utf8(out).unwrap(), value.to_string());
        }
    }

    #[test]
    fn strings_are_escaped_like_python_json() {
        assert_eq!(string(b"plain"), "\"plain\"");
        assert_eq!(string(b"q\"b\\n\nr\rt\tb\x08f\x0c"), r#""q\"b\\n\nr\rt\tb\bf\f""#);
        assert_eq!(string(b"\x00\x1f\x7f"), "\"\\u0000\\u001f\x7f\"");
        assert_eq!(string("é \u{2028} 😀".as_bytes()), "\"é \u{2028} 😀\"");
        assert_eq!(string(b"a\xed\xa0\x80b\xed\xbf\xbf"), r#""a\ud800b\udfff""#);
    }
}
