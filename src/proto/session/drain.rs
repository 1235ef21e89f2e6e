//! Shutdown (SIGTERM): the server stops taking connections and each session
//! ends as soon as it holds no transfer. RFC 959 §4.2 names 421 for this:
//! "Service not available, closing control connection. This may be a reply
//! to any command if the service knows it must shut down."

use super::{Action, Busy, Session};

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
        self.reply(421, "Server shutting down; closing control connection.");
        self.close();
        true
    }
}
