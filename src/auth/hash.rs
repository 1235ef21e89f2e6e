//! Password hashes: argon2id (PHC string) and sha512-crypt (`$6$`).
//!
//! Only these two forms are accepted: argon2id is what `ringftpd passwd`
//! writes, sha512-crypt is what `/etc/shadow`, `openssl passwd -6` and
//! `mkpasswd` produce, so existing hashes can be reused. Each hash is checked
//! for shape (and for cost parameters that would let one login exhaust the
//! server) before any verification runs.

use argon2::password_hash::{Error as PhError, PasswordHasher, PasswordVerifier};
use argon2::{Argon2, PasswordHash};
use sha_crypt::{Params as ShaParams, ShaCrypt};

/// A hash string that is neither argon2id nor sha512-crypt, or is malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashError(pub String);

impl std::fmt::Display for HashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HashError {}

const ARGON2ID_PREFIX: &str = "$argon2id$";
const SHA512_PREFIX: &str = "$6$";

/// Largest argon2 memory cost accepted, in KiB (1 GiB): one login must not be
/// able to take the server's memory.
const ARGON2_M_COST_MAX: u32 = 1 << 20;
/// Largest argon2 time cost accepted.
const ARGON2_T_COST_MAX: u32 = 64;
/// Largest argon2 parallelism accepted.
const ARGON2_P_COST_MAX: u32 = 16;
/// Length of the sha512-crypt digest in crypt base64.
const SHA512_DIGEST_CHARS: usize = 86;

fn err(msg: impl Into<String>) -> HashError {
    HashError(msg.into())
}

/// Parses and bounds-checks an argon2id PHC string.
fn parse_argon2id(hash: &str) -> Result<PasswordHash, HashError> {
    let parsed =
        PasswordHash::new(hash).map_err(|e| err(format!("malformed argon2id hash: {e}")))?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(err("not an argon2id hash"));
    }
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err(err("argon2id hash without salt or output"));
    }
    let params = argon2::Params::try_from(&parsed)
        .map_err(|e| err(format!("bad argon2id parameters: {e}")))?;
    if params.m_cost() > ARGON2_M_COST_MAX
        || params.t_cost() > ARGON2_T_COST_MAX
        || params.p_cost() > ARGON2_P_COST_MAX
    {
        return Err(err("argon2id cost parameters too large"));
    }
    Ok(parsed)
}

/// Checks the shape of `$6$[rounds=N$]salt$digest`.
fn check_sha512(hash: &str) -> Result<(), HashError> {
    let rest = hash
        .strip_prefix(SHA512_PREFIX)
        .ok_or_else(|| err("not a sha512-crypt hash"))?;
    let fields: Vec<&str> = rest.split('$').collect();
    let (salt, digest) = match fields.as_slice() {
        [rounds, salt, digest] => {
            let n = rounds
                .strip_prefix("rounds=")
                .and_then(|n| n.parse::<u32>().ok())
                .ok_or_else(|| err("malformed sha512-crypt rounds"))?;
            ShaParams::new(n).map_err(|_| err("sha512-crypt rounds out of range"))?;
            (*salt, *digest)
        }
        [salt, digest] => (*salt, *digest),
        _ => return Err(err("malformed sha512-crypt hash")),
    };
    if salt.is_empty() || salt.starts_with("rounds=") || salt.contains(|c: char| c.is_control()) {
        return Err(err("malformed sha512-crypt salt"));
    }
    let b64 = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '/';
    if digest.len() != SHA512_DIGEST_CHARS || !digest.chars().all(b64) {
        return Err(err("malformed sha512-crypt digest"));
    }
    Ok(())
}

/// Maps a verifier result: mismatch is `Ok(false)`, other failures are the
/// hash's fault.
fn outcome(r: Result<(), PhError>) -> Result<bool, HashError> {
    match r {
        Ok(()) => Ok(true),
        Err(PhError::PasswordInvalid) => Ok(false),
        Err(e) => Err(err(format!("hash not usable: {e}"))),
    }
}

/// Verifies `password` against `hash`. `Err` only when `hash` is not a
/// supported, well-formed hash; a wrong password is `Ok(false)`.
pub fn verify_password(hash: &str, password: &str) -> Result<bool, HashError> {
    if hash.starts_with(ARGON2ID_PREFIX) {
        let parsed = parse_argon2id(hash)?;
        outcome(Argon2::default().verify_password(password.as_bytes(), &parsed))
    } else if hash.starts_with(SHA512_PREFIX) {
        check_sha512(hash)?;
        outcome(ShaCrypt::SHA512.verify_password(password.as_bytes(), hash))
    } else {
        Err(err("unsupported hash (want $argon2id$ or $6$)"))
    }
}

/// Makes an argon2id hash with a random salt (for `ringftpd passwd`).
///
/// # Panics
/// If the system's random number generator fails (no entropy source at all);
/// there is no safe hash to return then.
pub fn hash_password(password: &str) -> String {
    let salt = argon2::password_hash::try_generate_salt().expect("system RNG failed");
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .expect("argon2id with default parameters and a 16-byte salt")
        .to_string()
}

/// True when `hash` has a supported form (used when loading the users file, so
/// a plain-text password is refused at start-up rather than at login).
pub fn is_supported_hash(hash: &str) -> bool {
    check_hash(hash).is_ok()
}

/// Like [`is_supported_hash`], with the reason when it is not.
pub(crate) fn check_hash(hash: &str) -> Result<(), HashError> {
    if hash.starts_with(ARGON2ID_PREFIX) {
        parse_argon2id(hash).map(drop)
    } else if hash.starts_with(SHA512_PREFIX) {
        check_sha512(hash)
    } else {
        Err(err(
            "unsupported hash (want $argon2id$ or $6$; plain text is refused)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `openssl passwd -6 -salt saltsalt secret`
    const SHA512: &str = "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1";
    /// `openssl passwd -6 -salt 'rounds=10000$saltsalt' secret`
    const SHA512_ROUNDS: &str = "$6$rounds=10000$saltsalt$WowrPBpEDVlCoruBosYlrZycTCx3//TyDHYqEhX9DUHHt0XTztUqzQDDUuvUGRA8aUe9p55hcAxeGcu58sm3u.";

    #[test]
    fn sha512_crypt_verifies() {
        assert!(is_supported_hash(SHA512) && is_supported_hash(SHA512_ROUNDS));
        assert_eq!(verify_password(SHA512, "secret"), Ok(true));
        assert_eq!(verify_password(SHA512, "Secret"), Ok(false));
        assert_eq!(verify_password(SHA512_ROUNDS, "secret"), Ok(true));
        assert_eq!(verify_password(SHA512_ROUNDS, "wrong"), Ok(false));
    }

    #[test]
    fn argon2id_roundtrip() {
        let h = hash_password("pa:ss wörd");
        assert!(h.starts_with("$argon2id$v=19$"), "{h}");
        assert!(is_supported_hash(&h));
        assert_eq!(verify_password(&h, "pa:ss wörd"), Ok(true));
        assert_eq!(verify_password(&h, "pa:ss word"), Ok(false));
        assert_ne!(h, hash_password("pa:ss wörd"), "salt must be random");
    }

    #[test]
    fn malformed_hashes_are_errors() {
        let bad = [
            "secret",
            "",
            "$argon2id$",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ",
            "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$6$",
            "$6$saltsalt$short",
            "$6$rounds=10$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1",
            "$6$rounds=x$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1",
            "$6$$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1",
            "$5$saltsalt$abc",
            "$1$salt$abc",
        ];
        for h in bad {
            assert!(!is_supported_hash(h), "{h}");
            assert!(verify_password(h, "secret").is_err(), "{h}");
        }
    }
}
