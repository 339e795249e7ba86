//! Randomness the platform needs: unguessable tokens (leases, intents, claims, ids) and retry jitter.

/// `bytes` random bytes as lowercase hex.
pub fn hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::fill(&mut b[..]);
    crate::domain::ids::hex_lower(&b)
}

/// A random pause below `max_ms`, spreading retries that would otherwise collide.
pub fn jitter_ms(max_ms: u8) -> u64 {
    let mut b = [0u8; 1];
    rand::fill(&mut b);
    u64::from(b[0] % max_ms.max(1))
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_has_two_digits_a_byte_and_differs() {
        let (a, b) = (super::hex(12), super::hex(12));
        assert_eq!(a.len(), 24);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert!(super::jitter_ms(50) < 50);
    }
}
