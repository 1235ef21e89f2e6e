//! Shutdown (SIGTERM): the server stops taking connections and each session
//! ends as soon as it holds no transfer. RFC 959 §4.2 names 421 for this:
//! "Service not available, closing control connection. This may be a reply
//! to any command if the service knows it must shut down."

use super::{Action, Busy, Session};
use crate::proto::reply;

impl Session {
    /// The server is shutting down. An idle session (or one waiting for a
    /// login check or a filesystem answer) gets 421 and closes, and true is
    /// returned; a running transfer goes on and false is returned: call
    /// again once it has ended. A long job (HASH, SITE CPTO) is cancelled.
    pub fn handle_shutdown(&mut self) -> bool {
        if self.closing {
            return true;
        }
        if matches!(self.busy, Busy::Transferring(_)) {
            return false;
        }
        if let Busy::Waiting(w) = &self.busy {
            if w.is_long_job() {
                self.actions.push_back(Action::CancelFs);
            }
        }
        self.busy = Busy::Idle;
        self.reply(
            reply::SERVICE_NOT_AVAILABLE,
            "Server shutting down; closing control connection.",
        );
        self.close();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::Script;
    use super::*;
    use crate::proto::session::Event;

    #[test]
    fn an_idle_session_gets_421_and_closes() {
        let mut s = Script::anon();
        assert!(s.s.handle_shutdown());
        assert!(s.out().starts_with("421 Server shutting down"));
        assert_eq!(s.action(), Some(Action::ClosePassive));
        assert_eq!(s.action(), Some(Action::Close));
        assert!(s.s.handle_shutdown(), "closing already: nothing more");
        assert_eq!(s.out(), "");
    }

    #[test]
    fn a_transfer_goes_on_and_the_421_follows_its_226() {
        let mut s = Script::anon();
        s.pasv(50000);
        assert_eq!(s.send("RETR /f"), "");
        assert!(matches!(s.action(), Some(Action::Transfer(_))));
        assert!(!s.s.handle_shutdown(), "a running transfer is not cut");
        assert_eq!(s.out(), "");
        let r = s.event(Event::TransferReady {
            size: Some(3),
            name: None,
        });
        assert!(r.starts_with("150"), "{r}");
        assert!(s.event(Event::TransferDone(Ok(3))).starts_with("226"));
        assert!(s.s.handle_shutdown());
        assert!(s.out().starts_with("421 "));
    }
}
