//! Password hashes: argon2id (PHC string) and sha512-crypt (`$6$`).

/// A hash string that is neither argon2id nor sha512-crypt, or is malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashError(pub String);

/// Verifies `password` against `hash`. `Err` only when `hash` is not a
/// supported, well-formed hash; a wrong password is `Ok(false)`.
pub fn verify_password(hash: &str, password: &str) -> Result<bool, HashError> {
    let _ = (hash, password);
    todo!()
}

/// Makes an argon2id hash with a random salt (for `ringftpd passwd`).
pub fn hash_password(password: &str) -> String {
    let _ = password;
    todo!()
}

/// True when `hash` has a supported form (used when loading the users file, so
/// a plain-text password is refused at start-up rather than at login).
pub fn is_supported_hash(hash: &str) -> bool {
    let _ = hash;
    todo!()
}
