//! Byte-level JSON text: string escapes and Python's float `repr`, without Python.

// The escapers' block helpers must be inlined into them (and into their target features).
#![allow(clippy::inline_always)]

use std::fmt::Write as _;

/// Write `bytes` (UTF-8, or WTF-8 where lone surrogates are 3-byte `ED A0..BF xx`
/// sequences) as a JSON string literal the way Python's `json` writes it with
/// `ensure_ascii=False`: `\" \\ \n \r \t \b \f`, other controls `\u00XX`, lone
/// surrogates `\udXXX`, everything else as itself.
pub fn write_json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    let (mut start, mut from) = (0, 0);
    while let Some(offset) = memchr::memchr(0xED, &bytes[from..]) {
        let index = from + offset;
        from = index + 1;
        if index + 2 < bytes.len() && bytes[index + 1] >= 0xA0 {
            // A surrogate code point (U+D800..U+DFFF) in its 3-byte form.
            escape_utf8(out, &bytes[start..index]);
            let code = (u32::from(bytes[index] & 0x0F) << 12)
                | (u32::from(bytes[index + 1] & 0x3F) << 6)
                | u32::from(bytes[index + 2] & 0x3F);
            out.extend_from_slice(b"\\u");
            out.extend([12, 8, 4, 0].map(|shift| HEX[((code >> shift) & 0xF) as usize]));
            start = index + 3;
            from = start;
        }
    }
    escape_utf8(out, &bytes[start..]);
    out.push(b'"');
}

/// `write_json_string` for text known to be UTF-8 (a `str`'s own UTF-8 form): no lone surrogates.
pub fn write_json_utf8(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'"');
    escape_utf8(out, text);
    out.push(b'"');
}

/// Bytes of text taken at a time; a block is read from a place readable for two.
const BLOCK: usize = 32;

/// The escaper (the inside of the quotes). The text goes a block at a time: a few
/// vector comparisons find every byte of the block that needs an escape, as a bit mask;
/// the plain bytes between them are copied by fixed-size moves that may run past
/// them (what follows overwrites the excess), and each escape is one store from a
/// table: the only branches on the text are whether a block has escapes, and how many.
fn escape_utf8(out: &mut Vec<u8>, text: &[u8]) {
    // A piece at a time: the room reserved for the worst case follows the text, instead
    // of six times a whole (say 100 MB) string. Only ASCII bytes are escaped, so a piece
    // may end inside a character.
    for piece in text.chunks(PIECE) {
        escape_piece(out, piece);
    }
}

/// The most text escaped into one reservation.
const PIECE: usize = 1 << 16;

fn escape_piece(out: &mut Vec<u8>, text: &[u8]) {
    // Six bytes (`\u00XX`) per byte at worst; a block's moves reach BLOCK bytes past
    // what they keep, an escape's store 8; the padding of the last blocks adds < BLOCK.
    out.reserve(text.len() * 6 + 3 * BLOCK);
    // SAFETY: the room is reserved as both escapers require; they return how many
    // bytes they wrote there, all initialised.
    unsafe {
        let start = out.as_mut_ptr().add(out.len());
        #[cfg(target_arch = "x86_64")]
        let written = if avx512::available() {
            avx512::escape(text, start)
        } else {
            escape_blocks(text, start)
        };
        #[cfg(not(target_arch = "x86_64"))]
        let written = escape_blocks(text, start);
        out.set_len(out.len() + written);
    }
}

/// Escape `text` to `start` a block at a time; return how many bytes were written.
///
/// # Safety
/// `start` must be writable for `text.len() * 6 + 3 * BLOCK` bytes.
unsafe fn escape_blocks(text: &[u8], start: *mut u8) -> usize {
    // SAFETY: reads: escape_block reads 2 * BLOCK bytes from its start, which the loop
    // keeps inside `text` and the padded copy of the tail provides. Writes: at most 6
    // bytes per byte consumed, plus the reach of the last block's moves and its padding.
    unsafe {
        let mut dst = start;
        let mut src = text.as_ptr();
        let mut left = text.len();
        while left >= 2 * BLOCK {
            dst = escape_block(src, dst);
            src = src.add(BLOCK);
            left -= BLOCK;
        }
        // The last bytes, padded with spaces to whole blocks and a block further. A space
        // is written as itself, after everything else: dropping them is moving back.
        let mut padded = [b' '; 3 * BLOCK];
        std::ptr::copy_nonoverlapping(src, padded.as_mut_ptr(), left);
        let blocks = left.div_ceil(BLOCK);
        for block in 0..blocks {
            dst = escape_block(padded.as_ptr().add(block * BLOCK), dst);
        }
        dst = dst.sub(blocks * BLOCK - left);
        usize::try_from(dst.offset_from(start)).expect("the output only grows")
    }
}

/// The escaper with AVX-512 (BW and VL, on 32-byte vectors), where the processor has
/// it: a block without escapes is stored from the register it was loaded into, and
/// the last bytes go by masked loads and stores, which touch only the bytes of the
/// text and the bytes kept, so they need no padded copy.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::{
        __m256i, _mm256_cmpeq_epi8_mask, _mm256_cmplt_epu8_mask, _mm256_loadu_si256, _mm256_mask_storeu_epi8,
        _mm256_maskz_loadu_epi8, _mm256_set1_epi8, _mm256_storeu_si256,
    };

    use super::{write_escape, BLOCK};

    pub fn available() -> bool {
        std::arch::is_x86_feature_detected!("avx512bw") && std::arch::is_x86_feature_detected!("avx512vl")
    }

    /// The bits `from..to` of a block's mask.
    #[inline(always)]
    fn span(from: usize, to: usize) -> u32 {
        let below = |count: usize| if count >= BLOCK { u32::MAX } else { (1u32 << count) - 1 };
        below(to) & !below(from)
    }

    /// Escape `text` to `start`; return how many bytes were written.
    ///
    /// # Safety
    /// The processor must have AVX-512 BW and VL (`available`); `start` must be writable
    /// for `text.len() * 6 + 3 * BLOCK` bytes.
    #[target_feature(enable = "avx512bw,avx512vl")]
    pub unsafe fn escape(text: &[u8], start: *mut u8) -> usize {
        // SAFETY: whole blocks are read and written as `escape_stops` says, a block
        // further being text; then the masked loads read only bytes of `text`, the
        // masked stores write only the kept bytes at their place in the output, and an
        // escape's store reaches 8 bytes from where it starts. The output never exceeds
        // 6 bytes per byte read, and no store reaches BLOCK bytes past it.
        unsafe {
            let mut dst = start;
            let mut src = text.as_ptr();
            let mut left = text.len();
            // Whole blocks while a block further is text, as the portable escaper does.
            while left >= 2 * BLOCK {
                #[allow(clippy::cast_ptr_alignment)] // an unaligned load
                let block = _mm256_loadu_si256(src.cast::<__m256i>());
                let found = stops(block);
                if found == 0 {
                    #[allow(clippy::cast_ptr_alignment)] // an unaligned store
                    _mm256_storeu_si256(dst.cast::<__m256i>(), block);
                    dst = dst.add(BLOCK);
                } else {
                    dst = super::escape_stops(src, dst, found);
                }
                src = src.add(BLOCK);
                left -= BLOCK;
            }
            // The rest by masked loads and stores.
            while left > 0 {
                let count = left.min(BLOCK);
                let block = _mm256_maskz_loadu_epi8(span(0, count), src.cast::<i8>());
                let mut stops = stops(block) & span(0, count);
                let mut from = 0;
                while stops != 0 {
                    let at = stops.trailing_zeros() as usize;
                    store(dst.sub(from), span(from, at), block);
                    dst = write_escape(dst.add(at - from), *src.add(at));
                    from = at + 1;
                    stops &= stops - 1;
                }
                store(dst.sub(from), span(from, count), block);
                dst = dst.add(count - from);
                src = src.add(count);
                left -= count;
            }
            usize::try_from(dst.offset_from(start)).expect("the output only grows")
        }
    }

    /// A bit for each byte of `block` that needs an escape.
    ///
    /// # Safety
    /// As `escape`: inlined into it, where AVX-512 is enabled.
    #[inline(always)]
    unsafe fn stops(block: __m256i) -> u32 {
        // SAFETY: the caller's.
        unsafe {
            let spread = |byte: u8| _mm256_set1_epi8(byte as i8);
            _mm256_cmplt_epu8_mask(block, spread(0x20))
                | _mm256_cmpeq_epi8_mask(block, spread(b'"'))
                | _mm256_cmpeq_epi8_mask(block, spread(b'\\'))
        }
    }

    /// Store the bytes of `block` chosen by `mask` at their offsets from `base`.
    #[inline(always)]
    unsafe fn store(base: *mut u8, mask: u32, block: __m256i) {
        // SAFETY: the caller's; masked-off bytes are not accessed.
        unsafe { _mm256_mask_storeu_epi8(base.cast::<i8>(), mask, block) }
    }
}

/// Escape the BLOCK bytes at `src` to `dst`; return where the output ends.
///
/// # Safety
/// `src` must be readable for 2 * BLOCK bytes, `dst` writable for 6 * BLOCK + BLOCK.
#[inline(always)]
unsafe fn escape_block(src: *const u8, dst: *mut u8) -> *mut u8 {
    // SAFETY: the caller's.
    unsafe { escape_stops(src, dst, block_stops(src)) }
}

/// Escape the BLOCK bytes at `src`, whose bytes to escape are the bits of `stops`, to
/// `dst`: the plain bytes between them by fixed-size moves that may run past them
/// (what follows overwrites the excess), each escape by one store from a table.
///
/// # Safety
/// As `escape_block`.
#[inline(always)]
unsafe fn escape_stops(src: *const u8, mut dst: *mut u8, mut stops: u32) -> *mut u8 {
    // SAFETY: every read is below src + 2 * BLOCK; every write below dst + 6 * BLOCK + BLOCK.
    unsafe {
        let mut from = 0;
        while stops != 0 {
            let at = stops.trailing_zeros() as usize;
            std::ptr::copy_nonoverlapping(src.add(from), dst, BLOCK);
            dst = write_escape(dst.add(at - from), *src.add(at));
            from = at + 1;
            stops &= stops - 1;
        }
        std::ptr::copy_nonoverlapping(src.add(from), dst, BLOCK);
        dst.add(BLOCK - from)
    }
}

/// Write the escape of `byte` (one that needs it) at `dst`, as one 8-byte store of its
/// table entry; return where the escape ends.
///
/// # Safety
/// `dst` must be writable for 8 bytes.
#[inline(always)]
unsafe fn write_escape(dst: *mut u8, byte: u8) -> *mut u8 {
    let escape = ESCAPE[usize::from(byte)];
    // SAFETY: the caller's.
    unsafe {
        dst.cast::<[u8; 8]>().write_unaligned(escape);
        dst.add(usize::from(escape[7]))
    }
}

/// A bit for each of the BLOCK bytes at `src` that needs an escape: controls, `"`, `\`.
/// SSE2 (part of every x86-64), two halves of 16.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn block_stops(src: *const u8) -> u32 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    // SAFETY: the caller vouches for BLOCK readable bytes; the loads are unaligned.
    unsafe {
        let half = |at: usize| {
            #[allow(clippy::cast_ptr_alignment)] // an unaligned load
            let text = _mm_loadu_si128(src.add(at).cast::<__m128i>());
            let spread = |byte: u8| _mm_set1_epi8(byte as i8);
            // Bytes up to 0x1F are those left unchanged by max(b, 0x1F) == 0x1F.
            let controls = _mm_cmpeq_epi8(_mm_max_epu8(text, spread(0x1F)), spread(0x1F));
            let quotes = _mm_or_si128(_mm_cmpeq_epi8(text, spread(b'"')), _mm_cmpeq_epi8(text, spread(b'\\')));
            _mm_movemask_epi8(_mm_or_si128(controls, quotes)) as u32 & 0xFFFF
        };
        half(0) | (half(16) << 16)
    }
}

/// The same, a byte at a time, for other targets.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
unsafe fn block_stops(src: *const u8) -> u32 {
    // SAFETY: the caller vouches for BLOCK readable bytes.
    let block = unsafe { &*src.cast::<[u8; BLOCK]>() };
    block.iter().enumerate().fold(0, |stops, (index, byte)| {
        stops | (u32::from(ESCAPE[usize::from(*byte)][7] != 0) << index)
    })
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The escape of each byte that needs one (controls, `"`, `\`): its text, zeros,
/// and its length in the last byte; all zeros for the others. Python's json writes
/// `\u00XX` in lowercase.
static ESCAPE: [[u8; 8]; 256] = {
    let mut table = [[0u8; 8]; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = [b'\\', b'u', b'0', b'0', HEX[byte >> 4], HEX[byte & 0xF], 0, 6];
        byte += 1;
    }
    let short = [
        (b'"', b'"'),
        (b'\\', b'\\'),
        (b'\n', b'n'),
        (b'\r', b'r'),
        (b'\t', b't'),
        (0x08, b'b'),
        (0x0c, b'f'),
    ];
    let mut index = 0;
    while index < short.len() {
        let (byte, letter) = short[index];
        table[byte as usize] = [b'\\', letter, 0, 0, 0, 0, 0, 2];
        index += 1;
    }
    table
};

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

    /// The escapes one byte at a time: what every escaper must write.
    fn plain_escape(text: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for &byte in text {
            let escape = ESCAPE[usize::from(byte)];
            if escape[7] == 0 {
                out.push(byte);
            } else {
                out.extend_from_slice(&escape[..usize::from(escape[7])]);
            }
        }
        out
    }

    /// Each escaper this processor can run, by name, writing into room it reserves.
    type Escaper = (&'static str, fn(&[u8]) -> Vec<u8>);

    fn escapers() -> Vec<Escaper> {
        fn run(text: &[u8], escape: unsafe fn(&[u8], *mut u8) -> usize) -> Vec<u8> {
            let mut out = Vec::with_capacity(text.len() * 6 + 3 * BLOCK);
            // SAFETY: the room is reserved as the escapers require.
            unsafe {
                let written = escape(text, out.as_mut_ptr());
                out.set_len(written);
            }
            out
        }
        #[allow(unused_mut)]
        let mut found: Vec<Escaper> = vec![("blocks", |text| run(text, escape_blocks))];
        #[cfg(target_arch = "x86_64")]
        if avx512::available() {
            found.push(("avx512", |text| run(text, avx512::escape)));
        }
        found
    }

    proptest::proptest! {
        #[test]
        fn every_escaper_writes_the_plain_escapes(
            text in proptest::collection::vec(
                proptest::sample::select(vec![b'a', b' ', b'"', b'\\', b'\n', 0x00, 0x1f, 0x7f, 0xc3, 0xa9, 0xed]),
                0..300,
            )
        ) {
            let expected = plain_escape(&text);
            for (name, escape) in escapers() {
                proptest::prop_assert_eq!(&escape(&text), &expected, "{}", name);
            }
        }
    }

    #[test]
    fn escapers_agree_at_every_length_and_place() {
        // A quote at each place of texts of every length around the block sizes.
        for len in 0..(4 * BLOCK + 3) {
            for at in 0..=len {
                let mut text = vec![b'x'; len];
                if at < len {
                    text[at] = b'"';
                }
                let expected = plain_escape(&text);
                for (name, escape) in escapers() {
                    assert_eq!(escape(&text), expected, "{name}: length {len}, quote at {at}");
                }
            }
        }
    }

    #[test]
    fn long_text_goes_in_pieces_without_a_seam() {
        // Escapes and a multi-byte character on each side of the pieces' borders.
        let mut text = "é".repeat(PIECE + 7).into_bytes();
        for at in [PIECE - 1, PIECE, PIECE + 1, 2 * PIECE - 1, 2 * PIECE] {
            text[at] = b'"';
        }
        text.push(b'\n');
        let mut out = Vec::new();
        write_json_utf8(&mut out, &text);
        let mut expected = vec![b'"'];
        expected.extend(plain_escape(&text));
        expected.push(b'"');
        assert_eq!(out, expected);
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
