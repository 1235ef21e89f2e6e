//! A data connection's view of its control session's resumption state: it
//! may resume what the control connection issued, never add to it.
//!
//! Without this, a stranger who wins the race to a passive port could make a
//! full handshake there (refused with 522), but leave with a ticket or a
//! cached session ID of *this* control session, and resume it on the next
//! data connection. So data connections decrypt tickets but issue none, and
//! read the session cache but never write it.

use std::sync::Arc;

use rustls::server::{ProducesTickets, StoresServerSessions};

/// Decrypts the control session's tickets; issues none (TLS 1.3 then sends
/// no NewSessionTicket, TLS 1.2 an empty one, which resumes nothing).
#[derive(Debug)]
pub(super) struct DecryptOnly(pub(super) Arc<dyn ProducesTickets>);

impl ProducesTickets for DecryptOnly {
    fn enabled(&self) -> bool {
        self.0.enabled()
    }

    fn lifetime(&self) -> u32 {
        self.0.lifetime()
    }

    fn encrypt(&self, _plain: &[u8]) -> Option<Vec<u8>> {
        None
    }

    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        self.0.decrypt(cipher)
    }
}

/// Looks sessions up in the control session's cache; stores none.
#[derive(Debug)]
pub(super) struct ReadOnly(pub(super) Arc<dyn StoresServerSessions>);

impl StoresServerSessions for ReadOnly {
    fn put(&self, _key: Vec<u8>, _value: Vec<u8>) -> bool {
        false
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.get(key)
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.take(key)
    }

    /// False: a full handshake here gets no session ID to come back with.
    fn can_cache(&self) -> bool {
        false
    }
}
