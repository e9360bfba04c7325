//! Credentials: bouncer API keys (stored as `hex(SHA-512(key))`, as CrowdSec does, so a key from
//! `cscli bouncers add` and one from `palisade bouncers add` are interchangeable), machine
//! passwords (salted PBKDF2-HMAC-SHA256) and machine tokens (HS256 JWTs with CrowdSec's claims
//! `id`, `exp`, `orig_iat`, one hour long).

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

type HmacSha256 = Hmac<Sha256>;

/// How long a machine token lasts.
pub const TOKEN_LIFETIME: TimeDelta = TimeDelta::hours(1);
const PBKDF2_ROUNDS: u32 = 10_000;

/// `hex(SHA-512(key))`, the form keys are stored and looked up in.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha512::digest(key.as_bytes()))
}

/// `n` random bytes from the OS (through uuid v4, already a dependency).
fn random_bytes(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 16);
    while out.len() < n {
        out.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    out.truncate(n);
    out
}

/// A new API key: 32 random bytes in base64 without `=` padding (some bouncers choke on `=`).
pub fn generate_key() -> String {
    STANDARD_NO_PAD.encode(random_bytes(32))
}

fn pbkdf2(password: &[u8], salt: &[u8], rounds: u32) -> [u8; 32] {
    let mac = HmacSha256::new_from_slice(password).expect("HMAC takes any key length");
    let mut u = {
        let mut m = mac.clone();
        m.update(salt);
        m.update(&1u32.to_be_bytes());
        m.finalize().into_bytes()
    };
    let mut out: [u8; 32] = u.into();
    for _ in 1..rounds {
        let mut m = mac.clone();
        m.update(&u);
        u = m.finalize().into_bytes();
        for (o, b) in out.iter_mut().zip(u.iter()) {
            *o ^= b;
        }
    }
    out
}

/// Hashes a machine password: `pbkdf2-sha256$<rounds>$<salt hex>$<hash hex>`.
pub fn hash_password(password: &str) -> String {
    let salt = random_bytes(16);
    let h = pbkdf2(password.as_bytes(), &salt, PBKDF2_ROUNDS);
    format!(
        "pbkdf2-sha256${PBKDF2_ROUNDS}${}${}",
        hex::encode(salt),
        hex::encode(h)
    )
}

/// Whether `password` matches a hash made by [`hash_password`] (compared in constant time).
pub fn verify_password(password: &str, stored: &str) -> bool {
    let parts: Vec<&str> = stored.split('$').collect();
    let [_, rounds, salt, hash] = parts.as_slice() else {
        return false;
    };
    let (Ok(rounds), Ok(salt), Ok(hash)) =
        (rounds.parse::<u32>(), hex::decode(salt), hex::decode(hash))
    else {
        return false;
    };
    let got = pbkdf2(password.as_bytes(), &salt, rounds.clamp(1, 10_000_000));
    hash.len() == got.len()
        && hash
            .iter()
            .zip(got.iter())
            .fold(0u8, |a, (x, y)| a | (x ^ y))
            == 0
}

/// Splits a User-Agent as CrowdSec does: exactly `<type>/<version>`.
pub fn parse_user_agent(ua: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = ua.split('/').collect();
    match parts.as_slice() {
        [t, v] => Some((t.to_string(), v.to_string())),
        _ => None,
    }
}

/// The claims of a machine token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Claims {
    /// Expiry (Unix seconds).
    pub exp: i64,
    /// The machine id.
    pub id: String,
    /// When the first token of this session was issued (Unix seconds).
    pub orig_iat: i64,
}

/// Signs and checks machine tokens (HS256).
#[derive(Clone)]
pub struct Jwt {
    secret: Vec<u8>,
}

impl std::fmt::Debug for Jwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Jwt { secret: <hidden> }")
    }
}

impl Jwt {
    /// A signer with this secret (CrowdSec refuses secrets under 64 bytes; so does
    /// [`Jwt::from_env_or_random`]).
    pub fn new(secret: Vec<u8>) -> Jwt {
        Jwt { secret }
    }

    /// `$CS_LAPI_SECRET` when set (at least 64 bytes), else 64 random bytes: tokens then do not
    /// survive a restart, and machines simply log in again.
    pub fn from_env_or_random() -> Result<Jwt, String> {
        match std::env::var("CS_LAPI_SECRET") {
            Ok(s) if s.len() >= 64 => Ok(Jwt::new(s.into_bytes())),
            Ok(s) if !s.is_empty() => Err(format!(
                "CS_LAPI_SECRET is {} bytes; it must be at least 64",
                s.len()
            )),
            _ => Ok(Jwt::new(random_bytes(64))),
        }
    }

    /// A token for `machine_id`, with its expiry.
    pub fn issue(
        &self,
        machine_id: &str,
        now: DateTime<Utc>,
        orig_iat: Option<i64>,
    ) -> (String, DateTime<Utc>) {
        let expire = now + TOKEN_LIFETIME;
        let claims = Claims {
            exp: expire.timestamp(),
            id: machine_id.to_string(),
            orig_iat: orig_iat.unwrap_or(now.timestamp()),
        };
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap_or_default());
        let signing = format!("{header}.{body}");
        let sig = URL_SAFE_NO_PAD.encode(self.sign(signing.as_bytes()));
        (format!("{signing}.{sig}"), expire)
    }

    fn sign(&self, data: &[u8]) -> Vec<u8> {
        let mut m = HmacSha256::new_from_slice(&self.secret).expect("HMAC takes any key length");
        m.update(data);
        m.finalize().into_bytes().to_vec()
    }

    /// Checks a token's signature, algorithm and expiry; returns its claims or gin-jwt's
    /// message for the failure.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, &'static str> {
        let mut parts = token.split('.');
        let (Some(h), Some(b), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("token contains an invalid number of segments");
        };
        let header: serde_json::Value = URL_SAFE_NO_PAD
            .decode(h)
            .ok()
            .and_then(|h| serde_json::from_slice(&h).ok())
            .ok_or("illegal base64 data in token header")?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
            return Err("signing method (alg) is unavailable");
        }
        let sig = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| "signature is invalid")?;
        let mut m = HmacSha256::new_from_slice(&self.secret).expect("HMAC takes any key length");
        m.update(h.as_bytes());
        m.update(b".");
        m.update(b.as_bytes());
        m.verify_slice(&sig).map_err(|_| "signature is invalid")?;
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(b)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or("token claims are invalid")?;
        if claims.exp < now.timestamp() {
            return Err("Token is expired");
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hash_like_crowdsec() {
        // SHA-512 of "abc" (FIPS 180-2 test vector).
        assert!(hash_key("abc").starts_with("ddaf35a193617aba"));
        let k = generate_key();
        assert_eq!(k.len(), 43);
        assert!(!k.contains('='));
        assert_ne!(generate_key(), k);
    }

    #[test]
    fn passwords_verify_only_when_right() {
        let h = hash_password("s3cret");
        assert!(verify_password("s3cret", &h));
        assert!(!verify_password("s3cret!", &h));
        assert!(!verify_password("s3cret", "garbage"));
        assert_ne!(hash_password("s3cret"), h, "salted");
    }

    #[test]
    fn tokens_round_trip_and_expire() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let jwt = Jwt::new(vec![7; 64]);
        let (t, exp) = jwt.issue("m1", now, None);
        assert_eq!(exp, now + TOKEN_LIFETIME);
        let c = jwt.verify(&t, now).unwrap();
        assert_eq!(c.id, "m1");
        assert_eq!(c.orig_iat, now.timestamp());
        assert_eq!(
            jwt.verify(&t, now + TimeDelta::hours(2)),
            Err("Token is expired")
        );
        assert_eq!(
            Jwt::new(vec![8; 64]).verify(&t, now),
            Err("signature is invalid")
        );
        assert!(jwt.verify("a.b", now).is_err());
        let mut forged = t.clone();
        forged.replace_range(t.len() - 3.., "AAA");
        assert!(jwt.verify(&forged, now).is_err());
    }

    #[test]
    fn user_agents_split_in_two() {
        assert_eq!(
            parse_user_agent("crowdsec-firewall-bouncer/-"),
            Some(("crowdsec-firewall-bouncer".into(), "-".into()))
        );
        assert_eq!(parse_user_agent("curl"), None);
        assert_eq!(parse_user_agent("a/b/c"), None);
    }
}
