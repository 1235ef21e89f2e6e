//! One control connection on a worker: its session, its control socket
//! ([`control`]), its data side ([`data`]: passive listener and transfer),
//! the helper request it waits for ([`asked`]) and the failed-login delay
//! ([`guard`]). Session actions are carried out
//! here and their answers fed back as events. The parts own their state and
//! know nothing of `Conn`.

mod asked;
mod control;
mod data;
mod guard;
mod passive;
mod proxied;
mod report;
mod secure;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use super::ctx::Ctx;
use super::pool::JobOutput;
use super::tags::Tags;
use super::timers::Armed;
use super::token::Purpose;
use super::transfer::Limits;
use crate::engine::{Completion, FixedBuf, Sock};
use crate::fs::{FsError, Root};
use crate::proto::session::{Action, Event, FsOp, Session};

use crate::obs::labels::RefusalReason;
use asked::Asked;
use control::{Control, Received};
use data::{DataChannel, Parts};
use proxied::{Fed, ProxyWait};
use report::Report;
use secure::{ControlTls, Decrypted};

/// One control connection.
pub struct Conn {
    tags: Tags,
    /// The client: the proxied address behind a PROXY-protocol balancer.
    peer: SocketAddr,
    local: SocketAddr,
    /// Waiting for the PROXY header (`--proxy-protocol`); no greeting yet.
    proxy: Option<ProxyWait>,
    /// Counted in the per-address table (released when the slot is freed).
    admitted: bool,
    /// The client closed the control connection first.
    client_left: bool,
    report: Report,
    session: Session,
    ctrl: Control,
    data: DataChannel,
    closed: bool,
    /// The logged-in user's root.
    root: Option<Arc<Root>>,
    /// The helper request whose answer the session waits for.
    asked: Asked,
    /// The login's quota and rates.
    limits: Limits,
    /// When a refused login's delayed 530 is due ([`guard`]).
    login_delay_until: Option<Instant>,
    /// This connection's live entry in the worker's deadline heap.
    pub armed: Armed,
    /// Accepted on an implicit FTPS listener: TLS from the first byte
    /// (after the PROXY header, when one is awaited).
    implicit_tls: bool,
    /// The control connection's TLS, once AUTH TLS was answered (or from the
    /// first byte on an implicit FTPS listener).
    tls: Option<ControlTls>,
    /// Plaintext between the session and the TLS layer (reused).
    plain: Vec<u8>,
}

impl Conn {
    /// A new connection; the session queues its greeting. With
    /// `await_proxy`, nothing is sent until the PROXY header has named the
    /// client (the session is then made again for it); otherwise the
    /// connection has been admitted already.
    // Each argument is a different fact about the accepted socket; a struct
    // made only for this one call would say no more.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        (index, gen): (usize, u32),
        fd: Sock,
        (peer, local): (SocketAddr, SocketAddr),
        session_id: u64,
        await_proxy: bool,
        implicit_tls: bool,
        ctx: &Ctx,
    ) -> Conn {
        let mut c = Conn {
            tags: Tags::new(index, gen),
            peer,
            local,
            proxy: await_proxy.then(|| ProxyWait::new(ctx.now.mono)),
            admitted: !await_proxy,
            client_left: false,
            report: Report::new(session_id, peer, ctx.now.mono),
            session: Session::new(ctx.shared.session_cfg.clone(), peer, local, ctx.now),
            ctrl: Control::new(fd),
            data: DataChannel::new(peer, local),
            closed: false,
            root: None,
            asked: Asked::Nothing,
            limits: Limits::default(),
            login_delay_until: None,
            armed: Armed::default(),
            implicit_tls,
            tls: None,
            plain: Vec::new(),
        };
        if !await_proxy {
            c.report.opened(&ctx.obs);
            c.start_implicit_tls(ctx);
        }
        c
    }

    /// On an implicit FTPS listener, TLS starts before the greeting. Without
    /// a usable certificate the client is never answered in the clear: the
    /// greeting is dropped and the connection closed.
    fn start_implicit_tls(&mut self, ctx: &Ctx) {
        if !self.implicit_tls {
            return;
        }
        self.session.set_implicit_tls();
        self.tls = ControlTls::new(ctx.shared.tls().as_ref());
        if self.tls.is_none() {
            let _ = self.session.take_output();
            self.session.handle_closed();
            self.ctrl.close_after_flush();
        }
    }

    /// True when the connection holds a place in the per-address table.
    pub fn admitted(&self) -> bool {
        self.admitted
    }

    /// The session has ended and its slot is freed: counted and logged.
    pub fn report_closed(&self, ctx: &Ctx) {
        let draining = ctx.shared.phase() != crate::server::shared::Phase::Serving;
        self.report
            .closed(&ctx.obs, self.client_left, draining, ctx.now.mono);
    }

    /// True when this is the connection a token or tag with `gen` was made for.
    pub fn is(&self, gen: u32) -> bool {
        self.tags.id().1 == gen
    }

    /// The generation its tokens and timer entries carry.
    pub fn gen(&self) -> u32 {
        self.tags.id().1
    }

    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// True when closed and no op can still complete for it.
    pub fn is_finished(&self) -> bool {
        self.closed && self.tags.in_flight() == 0
    }

    /// Borrows what the data side needs.
    fn parts<'a>(
        ctx: &'a mut Ctx,
        tags: &'a mut Tags,
        session: &'a mut Session,
        report: &'a Report,
    ) -> Parts<'a> {
        Parts {
            ctx,
            tags,
            session,
            report,
        }
    }

    /// Carries out the session's actions, sends its output, keeps reading.
    pub fn pump(&mut self, ctx: &mut Ctx) {
        if self.proxy.is_some() {
            // Nothing is said before the PROXY header (spec §2).
            if !self.closed {
                self.ctrl.arm_recv(ctx, &mut self.tags);
            }
            return;
        }
        while let Some(a) = self.session.poll_action() {
            self.exec(ctx, a);
        }
        if self.closed {
            return;
        }
        self.output(ctx);
        self.ctrl.flush(ctx, &mut self.tags);
        if self.ctrl.ready_to_close() {
            return self.close(ctx);
        }
        if self.session.wants_input() {
            self.ctrl.arm_recv(ctx, &mut self.tags);
        }
    }

    fn exec(&mut self, ctx: &mut Ctx, a: Action) {
        let now = ctx.now;
        let parts = |ctx, tags, session, report| Conn::parts(ctx, tags, session, report);
        match a {
            Action::Login { user, pass } => {
                self.report.user = Some(user.clone());
                self.exec_login(ctx, user, pass)
            }
            Action::Fs(op) => self.exec_fs(ctx, op),
            Action::OpenPassive => {
                self.data
                    .open_passive(parts(ctx, &mut self.tags, &mut self.session, &self.report))
            }
            Action::ClosePassive => self.data.close_passive(ctx),
            Action::Transfer(t) => {
                let root = self.root.clone();
                let tls = self.tls.as_ref().map(|t| t.sess.clone());
                let p = parts(ctx, &mut self.tags, &mut self.session, &self.report);
                self.data.start(p, t, root, &self.limits, tls);
            }
            Action::QueryProgress => {
                let n = self.data.progress();
                self.session.handle_event(Event::Progress(n), now);
            }
            Action::Abort => {
                self.data
                    .abort(parts(ctx, &mut self.tags, &mut self.session, &self.report))
            }
            Action::CancelFs => self.asked.cancel(),
            Action::SelectHost(_) => {
                // One host: every name selects the same root (RFC 7151 §3.2 allows it).
                let g = ctx.shared.session_cfg.greeting.clone();
                self.session.handle_event(Event::HostSelected(Some(g)), now);
            }
            Action::Close => self.ctrl.close_after_flush(),
            Action::StartTls => self.start_tls(ctx),
        }
    }

    /// Moves the session's replies to the control socket's queue, through
    /// TLS when it is on; close_notify follows the last reply.
    /// The session's replies to the control socket's buffer, encrypted
    /// under TLS; each is counted for the metrics.
    fn output(&mut self, ctx: &Ctx) {
        match self.tls.as_mut() {
            Some(t) => {
                self.plain.clear();
                self.session.poll_output(&mut self.plain);
                self.report.scan_replies(&self.plain, &ctx.obs);
                t.send(&self.plain, self.ctrl.out());
                if self.session.is_closing() {
                    t.close_notify(self.ctrl.out());
                }
            }
            None => {
                let before = self.ctrl.out().len();
                self.session.poll_output(self.ctrl.out());
                self.report
                    .scan_replies(&self.ctrl.out()[before..], &ctx.obs);
            }
        }
    }

    /// AUTH TLS was answered: the 234 leaves in the clear, then every byte
    /// either way is TLS.
    fn start_tls(&mut self, ctx: &mut Ctx) {
        let before = self.ctrl.out().len();
        self.session.poll_output(self.ctrl.out());
        self.report
            .scan_replies(&self.ctrl.out()[before..], &ctx.obs);
        self.tls = ControlTls::new(ctx.shared.tls().as_ref());
        if self.tls.is_none() {
            ctx.log(format_args!("{}: TLS could not start", self.peer));
            self.ctrl.close_after_flush();
        }
    }

    /// Control bytes received: to the session, decrypted first under TLS.
    fn on_control_bytes(&mut self, ctx: &mut Ctx, bytes: &[u8]) {
        let Some(t) = self.tls.as_mut() else {
            return self.session.handle_input(bytes, ctx.now);
        };
        self.plain.clear();
        match t.received(bytes, &mut self.plain) {
            Decrypted::Plain => {
                if let Some(v) = t.established() {
                    ctx.log(format_args!("{}: control connection is {v}", self.peer));
                }
                // Handshake answers (and alerts) go out with the next flush.
                t.send(&[], self.ctrl.out());
                if !self.plain.is_empty() {
                    let plain = std::mem::take(&mut self.plain);
                    self.session.handle_input(&plain, ctx.now);
                    self.plain = plain;
                }
            }
            Decrypted::Failed => {
                ctx.log(format_args!(
                    "{}: TLS handshake or record failed; closing",
                    self.peer
                ));
                t.send(&[], self.ctrl.out());
                self.session.handle_closed();
                while let Some(a) = self.session.poll_action() {
                    if a != Action::Close {
                        self.exec(ctx, a);
                    }
                }
                self.ctrl.close_after_flush();
            }
        }
    }

    fn exec_login(&mut self, ctx: &mut Ctx, user: String, pass: String) {
        if !self.asked.login(ctx, &mut self.tags, user, pass) {
            self.session.handle_event(Event::LoginBusy, ctx.now);
        }
    }

    fn exec_fs(&mut self, ctx: &mut Ctx, op: FsOp) {
        let now = ctx.now;
        let Some(root) = self.root.clone() else {
            let e = Event::Fs(Err(FsError::PermissionDenied));
            return self.session.handle_event(e, now);
        };
        let quota = self.limits.quota.clone();
        if !self.asked.fs(ctx, &mut self.tags, root, op, quota) {
            // 450: the helper queue is full, the request is not run here.
            let busy = Event::Fs(Err(FsError::ServerBusy));
            self.session.handle_event(busy, now);
        }
    }

    /// Routes the completion of one of this connection's ops.
    pub fn on_completion(&mut self, ctx: &mut Ctx, purpose: Purpose, c: Completion) {
        if !c.more {
            self.tags.completed();
        }
        let parts = Conn::parts;
        match purpose {
            Purpose::CtrlRecv => match self.ctrl.on_recv(c.kind, self.closed) {
                Received::Data(buf) if !self.closed && self.proxy.is_some() => {
                    self.on_proxy_bytes(ctx, buf.data())
                }
                Received::Data(buf) if !self.closed => self.on_control_bytes(ctx, buf.data()),
                Received::Data(_) | Received::Nothing => {}
                Received::Closed => self.client_left(ctx),
            },
            Purpose::CtrlSend => {
                if !self.ctrl.on_sent(c.kind) {
                    self.close(ctx);
                }
            }
            Purpose::PasvAccept => self.data.on_pasv_accept(
                parts(ctx, &mut self.tags, &mut self.session, &self.report),
                c.kind,
            ),
            Purpose::DataConnect | Purpose::DataIo => self.data.on_completion(
                parts(ctx, &mut self.tags, &mut self.session, &self.report),
                purpose,
                c.op,
                c.kind,
            ),
            Purpose::CtrlShutdown | Purpose::CtrlAccept | Purpose::Wake => {}
        }
        if !self.closed {
            self.pump(ctx);
        }
    }

    /// The client closed the control connection (or it failed): a running
    /// transfer or long job is stopped, then everything closes.
    fn client_left(&mut self, ctx: &mut Ctx) {
        self.client_left = true;
        self.session.handle_closed();
        while let Some(a) = self.session.poll_action() {
            self.exec(ctx, a);
        }
        self.close(ctx);
    }

    /// A helper job's result.
    pub fn on_job(&mut self, ctx: &mut Ctx, seq: u64, out: JobOutput) {
        if self.closed {
            return;
        }
        let now = ctx.now;
        match out {
            JobOutput::Login(r) if self.asked.is(seq) => {
                self.asked.answered();
                let ok = r.map(|(ok, root)| {
                    self.root = Some(root);
                    self.limits = Limits {
                        quota: ok.quota.clone(),
                        rates: ok.rates,
                    };
                    ok
                });
                self.report_login(ctx, ok.as_ref());
                match &ok {
                    Some(ok) => ctx.log(format_args!("{} logged in as {}", self.peer, ok.user)),
                    None => {
                        // Answered when the delay's deadline falls (`on_timer`).
                        self.login_delay_until = guard::login_refused(ctx, self.peer);
                        if self.login_delay_until.is_some() {
                            return self.pump(ctx);
                        }
                    }
                }
                self.session.handle_event(Event::Login(ok), now);
            }
            JobOutput::Fs(r) if self.asked.is(seq) => {
                if let (Ok(_), Some(path)) = (&r, self.asked.answered()) {
                    self.report.deleted(&ctx.obs, &path);
                }
                self.session.handle_event(Event::Fs(r), now)
            }
            JobOutput::Undone => {
                let p = Conn::parts(ctx, &mut self.tags, &mut self.session, &self.report);
                self.data.on_undone(p, seq);
            }
            JobOutput::ListMore(r) => {
                let p = Conn::parts(ctx, &mut self.tags, &mut self.session, &self.report);
                self.data.on_list_more(p, seq, r);
            }
            out @ (JobOutput::OpenRead(_) | JobOutput::OpenWrite(_) | JobOutput::Listing(_)) => {
                let p = Conn::parts(ctx, &mut self.tags, &mut self.session, &self.report);
                self.data.on_opened(p, seq, out);
            }
            _ => {}
        }
        self.pump(ctx);
    }

    /// When [`Conn::on_timer`] has something to do: the PROXY header's
    /// deadline, the session's timers (login, idle, held-back lines), the
    /// data side's (data connect, stall, unused passive listener) and a
    /// refused login's delayed answer.
    pub fn deadline(&self, ctx: &Ctx) -> Option<Instant> {
        if self.closed {
            return None;
        }
        if let Some(p) = &self.proxy {
            return Some(p.expires_at());
        }
        [
            self.session.poll_timeout(),
            self.data.deadline(ctx),
            self.login_delay_until,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// A deadline fell: whatever is due runs (the PROXY header's wait, the
    /// login delay's 530, idle, login and transfer timeouts, held-back
    /// lines); the rest waits.
    pub fn on_timer(&mut self, ctx: &mut Ctx) {
        if self.closed {
            return;
        }
        if self.login_delay_until.is_some_and(|t| t <= ctx.now.mono) {
            self.login_delay_until = None;
            self.session.handle_event(Event::Login(None), ctx.now);
        }
        if let Some(p) = &self.proxy {
            if p.expired(ctx.now.mono) {
                self.proxy_refused(ctx, RefusalReason::ProxyHeader);
            }
            return;
        }
        self.session.handle_tick(ctx.now);
        self.data.check_deadlines(Conn::parts(
            ctx,
            &mut self.tags,
            &mut self.session,
            &self.report,
        ));
        self.data.expire_unused_passive(ctx);
        self.pump(ctx);
    }

    /// A registered buffer became free for this connection's upload.
    pub fn resume_with_buf(&mut self, ctx: &mut Ctx, buf: FixedBuf) {
        let p = Conn::parts(ctx, &mut self.tags, &mut self.session, &self.report);
        self.data.resume_with_buf(p, buf);
        self.pump(ctx);
    }

    /// Bytes received before the PROXY header was complete
    /// (`conn/proxied.rs`): once it names the client, the connection is
    /// admitted as that client, and its session, data side and reports are
    /// made again for it.
    fn on_proxy_bytes(&mut self, ctx: &mut Ctx, bytes: &[u8]) {
        let Some(wait) = self.proxy.as_mut() else {
            return;
        };
        let (client, proxy, consumed) = match wait.feed(bytes, self.peer) {
            Fed::NeedMore => return,
            Fed::Invalid(why) => {
                ctx.log(format_args!("{}: PROXY header refused: {why}", self.peer));
                return self.proxy_refused(ctx, RefusalReason::ProxyHeader);
            }
            Fed::Client {
                client,
                proxy,
                consumed,
            } => (client, proxy, consumed),
        };
        self.proxy = None;
        if let Err(why) = ctx.shared.admit(client.ip(), ctx.now.mono) {
            ctx.log(format_args!(
                "{client} (via {}) refused: {why:?}",
                self.peer
            ));
            self.ctrl.send_now(ctx, &mut self.tags, &why.reply());
            ctx.obs.refused(client, why.reason());
            return self.close(ctx);
        }
        self.admitted = true;
        self.peer = client;
        self.session = Session::new(ctx.shared.session_cfg.clone(), client, self.local, ctx.now);
        self.data = DataChannel::new(client, self.local);
        self.report.peer = client;
        self.report.proxy = proxy;
        self.report.opened(&ctx.obs);
        self.start_implicit_tls(ctx);
        if let Some(rest) = bytes.get(consumed..).filter(|r| !r.is_empty()) {
            self.on_control_bytes(ctx, rest);
        }
    }

    /// No valid PROXY header (or none in time): closed without a word, counted.
    fn proxy_refused(&mut self, ctx: &mut Ctx, reason: RefusalReason) {
        self.proxy = None;
        ctx.obs.refused(self.peer, reason);
        self.close(ctx);
    }

    /// A login was decided: counted and logged.
    fn report_login(&mut self, ctx: &Ctx, ok: Option<&crate::proto::session::LoginOk>) {
        ctx.obs.metrics.login(ok.is_some());
        let given = self.report.user.as_deref().unwrap_or("");
        let anonymous = match ok {
            Some(ok) => ok.anonymous,
            None => given.eq_ignore_ascii_case("anonymous") || given.eq_ignore_ascii_case("ftp"),
        };
        if let Some(ok) = ok {
            self.report.user = Some(ok.user.clone());
            self.report.anonymous = ok.anonymous;
        }
        let kind = crate::obs::event::EventKind::Login {
            ok: ok.is_some(),
            anonymous,
        };
        ctx.obs.event(self.report.who(), kind);
    }

    /// The server is shutting down (`hard`: the grace time is over, a
    /// running transfer is aborted with 426). A session without a transfer
    /// gets 421 and closes; call again after each event until it has.
    pub fn drain(&mut self, ctx: &mut Ctx, hard: bool) {
        if self.closed {
            return;
        }
        if self.proxy.is_some() {
            return self.close(ctx);
        }
        if hard && self.session.is_transferring() {
            let p = Conn::parts(ctx, &mut self.tags, &mut self.session, &self.report);
            self.data.abort_once(p);
        }
        if self.session.handle_shutdown() {
            self.pump(ctx);
        }
    }

    /// Closes everything; the slot is freed once all ops have completed.
    pub fn close(&mut self, ctx: &mut Ctx) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.asked.cancel();
        self.data.close(ctx, &mut self.tags, &self.report);
        self.ctrl.close(ctx, &mut self.tags);
    }
}
