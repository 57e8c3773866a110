//! HS256 JSON Web Tokens (RFC 7519) from a login: header, claims, HMAC-SHA256
//! signature, base64url without padding. The secret is in KV, so every
//! gateway instance verifies what any of them issued.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::hmac;
use serde::{Deserialize, Serialize};

use bus::api::gateway::Role;

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// `user:<username>`.
    pub sub: String,
    pub role: Role,
    pub accounts: Vec<String>,
    /// Issued and expiry times, seconds since the epoch.
    pub iat: u64,
    pub exp: u64,
}

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

pub fn sign(key: &hmac::Key, claims: &Claims) -> String {
    let header = URL_SAFE_NO_PAD.encode(HEADER);
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = format!("{header}.{body}");
    let tag = hmac::sign(key, signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// The claims of a token whose signature verifies, that names HS256 and has
/// not expired at `now` (seconds); `None` otherwise.
pub fn verify(key: &hmac::Key, token: &str, now: u64) -> Option<Claims> {
    let mut parts = token.split('.');
    let (header, body, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    let signing_input = &token[..header.len() + 1 + body.len()];
    hmac::verify(key, signing_input.as_bytes(), &signature).ok()?;
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    if header.get("alg")?.as_str()? != "HS256" {
        return None;
    }
    let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()?;
    (claims.exp > now).then_some(claims)
}

/// Whether `token` looks like a JWT (three base64url parts) rather than an API key.
pub fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.matches('.').count() == 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> Claims {
        Claims {
            sub: "user:alice".into(),
            role: Role::Trader,
            accounts: vec!["paper".into()],
            iat: 100,
            exp,
        }
    }

    #[test]
    fn round_trip_expiry_and_tampering() {
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"secret");
        let token = sign(&key, &claims(200));
        assert!(looks_like_jwt(&token));
        assert_eq!(verify(&key, &token, 150), Some(claims(200)));
        assert_eq!(verify(&key, &token, 200), None, "expired");
        let other = hmac::Key::new(hmac::HMAC_SHA256, b"other");
        assert_eq!(verify(&other, &token, 150), None, "wrong secret");
        // An admin claim with the old signature does not verify.
        let (head, rest) = token.split_once('.').unwrap();
        let sig = rest.split_once('.').unwrap().1;
        let mut forged = claims(200);
        forged.role = Role::Admin;
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(verify(&key, &format!("{head}.{body}.{sig}"), 150), None);
    }

    /// The signature of RFC 7515 appendix A.1's example (HS256 with its key).
    #[test]
    fn rfc7515_example_signature() {
        let k = URL_SAFE_NO_PAD
            .decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
            .unwrap();
        let key = hmac::Key::new(hmac::HMAC_SHA256, &k);
        let input = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
        let tag = hmac::sign(&key, input.as_bytes());
        assert_eq!(
            URL_SAFE_NO_PAD.encode(tag.as_ref()),
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        );
    }
}
