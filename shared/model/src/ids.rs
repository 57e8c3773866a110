//! Ids. Every message carries its own id and the correlation id of the work that
//! caused it (the bar that started a trade, the request a user sent).

/// A new unique id (22 characters, URL- and subject-safe).
pub fn new_id() -> String {
    nuid::next().to_string()
}

/// Correlation id of a new unit of work.
pub fn new_correlation_id() -> String {
    new_id()
}

/// FNV-1a (64 bit) of `bytes`: the same on every process, build and Rust
/// version (std's hashers promise none of that), for ids derived from data.
pub fn stable_hash64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    #[test]
    fn stable_hash_is_fnv1a_64() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(super::stable_hash64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::stable_hash64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
