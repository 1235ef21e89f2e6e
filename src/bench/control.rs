//! The control connection of a session: socket and connect, receives into
//! the ring's provided buffers, one send in flight with the rest queued,
//! and the timestamps of the login histograms.

use std::rc::Rc;
use std::time::Instant;

use nix::errno::Errno;

use super::client::{Client, ClientConfig, Mark};
use super::net;
use super::session::{Sess, Times};
use super::stats::Metric;
use super::tls::{self, TlsMode};
use super::token::{self, Purpose};
use super::worker::Worker;
use crate::engine::ProvidedBuf;
use crate::tls::Fed;

impl Worker {
    /// Starts a new control session in `slot` now (the login window has room).
    pub(super) fn open_now(&mut self, slot: usize) {
        let plan = self.plan.clone();
        let opened = self.slots[slot].opened;
        let src = plan.source_for(self.id, slot, opened);
        self.slots[slot].opened += 1;
        let fd = match net::client_socket(plan.server.ip(), src) {
            Ok(fd) => Rc::new(fd),
            Err(e) => {
                self.local_error(slot, "socket", e);
                return self.login_settled();
            }
        };
        let gen = self.gen();
        let now = Instant::now();
        let cfg = ClientConfig {
            user: plan.user.clone(),
            pass: plan.pass.clone(),
            mode: plan.mode,
            server_ip: plan.server.ip(),
            tls: plan.tls,
        };
        self.slots[slot].sess = Some(Sess {
            gen,
            client: Client::new(cfg),
            ctrl: fd.clone(),
            local_ip: src.unwrap_or(plan.server.ip()),
            sending: false,
            outq: Vec::new(),
            t: Times::new(now),
            data: None,
            last_progress: now,
            quitting: false,
            logged_in: false,
            tls_cfg: plan.tls_base.as_ref().map(tls::session_config),
            tls: None,
        });
        self.stats.sessions_opened += 1;
        self.live.add(&self.live.sessions, 1);
        self.ring.connect(
            &fd,
            plan.server,
            token::pack(Purpose::CtrlConnect, slot, gen),
        );
    }

    /// A failure before there is a session to close (socket creation).
    fn local_error(&mut self, slot: usize, what: &str, e: Errno) {
        self.stats.error(&format!("{what}:{e}"));
        self.live.add(&self.live.errors, 1);
        self.slots[slot].retired = true;
    }

    pub(super) fn on_connect(&mut self, slot: usize, r: Result<(), Errno>) {
        if let Err(e) = r {
            return self.fail(slot, &format!("connect:{e}"));
        }
        let Some(s) = self.slots[slot].sess.as_mut() else {
            return;
        };
        s.t.connected = Instant::now();
        let d = s.t.connected - s.t.connect;
        s.client.connected();
        if self.plan.tls == Some(TlsMode::Implicit) {
            // Implicit FTPS: the ClientHello goes first, the greeting comes
            // over TLS.
            self.start_tls(slot);
        }
        let Some(s) = self.slots[slot].sess.as_mut() else {
            return;
        };
        // The address the kernel bound: what the server sees, and what the
        // report counts per source address.
        if let Some(a) = net::local_addr(&s.ctrl) {
            s.local_ip = a.ip();
        }
        let (fd, gen, ip) = (s.ctrl.clone(), s.gen, s.local_ip);
        self.stats.record(Metric::Connect, d);
        self.stats.local_addr(ip);
        self.ring
            .recv_provided(&fd, token::pack(Purpose::CtrlRecv, slot, gen));
    }

    pub(super) fn on_recv(&mut self, slot: usize, r: Result<Option<ProvidedBuf>, Errno>) {
        let Some(s) = self.slots[slot].sess.as_mut() else {
            return;
        };
        match r {
            Ok(Some(buf)) => {
                match s.tls.as_mut() {
                    Some(t) => {
                        let mut plain = Vec::new();
                        if t.feed(buf.data(), &mut plain) == Fed::Failed {
                            drop(buf);
                            return self.fail(slot, "ctrl-tls");
                        }
                        if !plain.is_empty() {
                            s.client.received(&plain, &mut self.acts);
                        }
                        // Handshake records to answer.
                        t.take_ciphertext(&mut s.outq);
                        if self.stats.tls.is_none() && !t.is_handshaking() {
                            self.stats.tls = t.negotiated();
                        }
                    }
                    None => s.client.received(buf.data(), &mut self.acts),
                }
                // The buffer goes back to the kernel as it drops.
                drop(buf);
                let (fd, gen) = (s.ctrl.clone(), s.gen);
                self.ring
                    .recv_provided(&fd, token::pack(Purpose::CtrlRecv, slot, gen));
                self.send_queued(slot);
            }
            Ok(None) => s.client.eof(&mut self.acts),
            // The provided-buffer pool was empty: try again on the next tick.
            Err(Errno::ENOBUFS) => self.rearm_recv.push(slot),
            Err(e) => self.fail(slot, &format!("ctrl-recv:{e}")),
        }
    }

    /// Re-arms the receive of a session whose last one found no buffer.
    pub(super) fn rearm(&mut self, slot: usize) {
        if let Some(s) = self.slots[slot].sess.as_ref() {
            let (fd, gen) = (s.ctrl.clone(), s.gen);
            self.ring
                .recv_provided(&fd, token::pack(Purpose::CtrlRecv, slot, gen));
        }
    }

    pub(super) fn on_sent(&mut self, slot: usize, r: Result<usize, Errno>, mut buf: Vec<u8>) {
        let n = match r {
            Ok(n) => n,
            Err(e) => return self.fail(slot, &format!("ctrl-send:{e}")),
        };
        let Some(s) = self.slots[slot].sess.as_mut() else {
            return;
        };
        // A short send: the rest goes first, ahead of anything queued since.
        buf.drain(..n.min(buf.len()));
        buf.append(&mut s.outq);
        s.outq = buf;
        s.sending = false;
        self.send_queued(slot);
    }

    pub(super) fn send_queued(&mut self, slot: usize) {
        let spare = self.slots[slot].send_buf.take();
        let Some(s) = self.slots[slot].sess.as_mut() else {
            return;
        };
        if s.sending || s.outq.is_empty() {
            self.slots[slot].send_buf = spare;
            return;
        }
        let next = spare.unwrap_or_default();
        let data = std::mem::replace(&mut s.outq, next);
        s.outq.clear();
        s.sending = true;
        let (fd, gen) = (s.ctrl.clone(), s.gen);
        self.ring
            .send(&fd, data, token::pack(Purpose::CtrlSend, slot, gen));
    }

    /// Starts TLS on the control connection (after 234, or at connect for
    /// implicit FTPS); the ClientHello is queued to send.
    pub(super) fn start_tls(&mut self, slot: usize) {
        let Some(s) = self.slots[slot].sess.as_mut() else {
            return;
        };
        match s.tls_cfg.as_ref().and_then(tls::client) {
            Some(mut t) => {
                t.take_ciphertext(&mut s.outq);
                s.tls = Some(t);
                self.send_queued(slot);
            }
            None => self.fail(slot, "ctrl-tls"),
        }
    }

    /// Queues control bytes, through TLS when it is on.
    pub(super) fn queue(&mut self, slot: usize, bytes: &[u8]) {
        if let Some(s) = self.slots[slot].sess.as_mut() {
            match s.tls.as_mut() {
                Some(t) => {
                    t.write_plain(bytes);
                    t.take_ciphertext(&mut s.outq);
                }
                None => s.outq.extend_from_slice(bytes),
            }
        }
        self.send_queued(slot);
    }

    pub(super) fn mark(&mut self, slot: usize, m: Mark, now: Instant) {
        let Some(s) = self.slots[slot].sess.as_mut() else {
            return;
        };
        match m {
            Mark::Greeted => {
                s.t.greeted = now;
                self.stats.record(Metric::Greeting, now - s.t.connected);
                self.stats
                    .record(Metric::ConnectToGreeting, now - s.t.connect);
            }
            Mark::LoggedIn => {
                self.stats.record(Metric::Login, now - s.t.greeted);
                self.stats.record(Metric::ConnectToLogin, now - s.t.connect);
            }
            Mark::DataAddress => {
                if let Some(d) = s.data.as_mut() {
                    d.mark_address(now);
                }
            }
            Mark::CommandSent => {
                if let Some(d) = s.data.as_mut() {
                    d.mark_command(now);
                }
            }
        }
    }
}
