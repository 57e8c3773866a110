//! Password hashes: argon2id with the crate's default parameters (19 MiB,
//! 2 passes), PHC strings with a random salt.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use bus::ServiceError;

pub fn hash(password: &str) -> Result<String, ServiceError> {
    let salt = SaltString::encode_b64(&super::store::random::<16>()?)
        .map_err(|e| ServiceError::internal(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::internal(e.to_string()))
}

pub fn verify(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    #[test]
    fn hash_and_verify() {
        let h = super::hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify(&h, "correct horse"));
        assert!(!super::verify(&h, "wrong horse"));
        assert!(!super::verify("not a hash", "correct horse"));
    }
}
