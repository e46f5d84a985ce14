//! Property-based fuzzing of the parts that read bytes nobody vouches for: the JSON
//! line scanner (every append reads the file's last lines with it) and the stdin
//! parser (every hook parses Claude Code's payload with it), and the chain digest.
//!
//! `cargo test` runs each property on 256 inputs; `make fuzz` runs them on
//! `PROPTEST_CASES` inputs (100,000 by default). The property is always the same:
//! never panic, and what the strict parser takes as an object, the scanner takes too.

use _rust::{chain, decode, jsonline};
use proptest::prelude::*;

/// JSON-ish text: the scanner's hard cases (escapes, nesting, numbers, truncation)
/// come up far more often than in uniformly random bytes.
fn jsonish() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(b"{".to_vec()),
        Just(b"}".to_vec()),
        Just(b"[".to_vec()),
        Just(b"]".to_vec()),
        Just(b",".to_vec()),
        Just(b":".to_vec()),
        Just(b"\"id\"".to_vec()),
        Just(b"\"type\"".to_vec()),
        Just(b"\"end\"".to_vec()),
        Just(b"\"\\u00e9\\ud800\\n\\\"\"".to_vec()),
        Just(b"-0".to_vec()),
        Just(b"12345678901234567890123".to_vec()),
        Just(b"1e999".to_vec()),
        Just(b"null".to_vec()),
        Just(b"true".to_vec()),
        Just(b" ".to_vec()),
        prop::collection::vec(any::<u8>(), 0..4),
    ];
    prop::collection::vec(token, 0..40).prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn the_line_scanner_never_panics(line in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = jsonline::scan_record(&line);
    }

    #[test]
    fn the_parser_never_panics(data in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode::parse(&data);
    }

    #[test]
    fn what_the_parser_takes_as_an_object_the_scanner_takes_too(line in jsonish()) {
        // The scanner accepts what Python's json accepts, a superset of serde_json's
        // strict JSON (lone surrogate escapes, NaN): never the other way round.
        if matches!(decode::parse(&line), Ok(value) if value.is_object()) {
            let text = String::from_utf8_lossy(&line).into_owned();
            prop_assert!(jsonline::scan_record(&line).is_some(), "scanner refused {}", text);
        }
    }

    #[test]
    fn digests_are_well_formed(line in prop::collection::vec(any::<u8>(), 0..256), key in prop::option::of(prop::collection::vec(any::<u8>(), 0..80))) {
        let link = chain::digest(&line, key.as_deref());
        let (scheme, hex) = link.split_once(':').expect("scheme:hex");
        let expected = if key.is_some() { "hmac-sha256" } else { "sha256" };
        prop_assert_eq!(scheme, expected);
        prop_assert!(hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }
}
