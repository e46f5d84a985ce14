//! The hash chain (README, "The hash chain"): each record after the init record ends with
//! `"prev"`, the digest of the previous complete, parsable line of the file.
//!
//! Plain: `sha256:<hex>` of the line's bytes (without its newline). Keyed (a key
//! file): `hmac-sha256:<hex>`, HMAC-SHA256 keyed with the file's bytes, so nobody
//! without the key can rebuild a chain over edited records. The digests come from
//! the maintained `sha2` and `hmac` crates.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The key a record's link is made with: none (plain sha256) or the key file's bytes.
pub type Key<'a> = Option<&'a [u8]>;

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// The link to `line` (its exact bytes, without the newline): `sha256:…` or `hmac-sha256:…`.
pub fn digest(line: &[u8], key: Key<'_>) -> String {
    match key {
        None => format!("sha256:{}", hex(&Sha256::digest(line))),
        Some(key) => {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
            mac.update(line);
            format!("hmac-sha256:{}", hex(&mac.finalize().into_bytes()))
        }
    }
}

/// `,"prev":"<digest>"`: the member that ends every chained record.
pub fn prev_member(link: &str) -> Vec<u8> {
    let mut member = Vec::with_capacity(link.len() + 11);
    member.extend_from_slice(b",\"prev\":\"");
    member.extend_from_slice(link.as_bytes());
    member.push(b'"');
    member
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_keyed_digests() {
        // sha256("") and HMAC-SHA256(key="key", msg="The quick brown fox jumps over the lazy dog")
        assert_eq!(
            digest(b"", None),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            digest(b"The quick brown fox jumps over the lazy dog", Some(b"key")),
            "hmac-sha256:f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
        assert_eq!(prev_member("sha256:ab"), b",\"prev\":\"sha256:ab\"");
    }
}
