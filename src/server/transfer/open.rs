//! A transfer's Opening stage: the helper pool opens the source or target
//! (or formats the first listing chunk), and its answer chooses the body
//! that moves the bytes (see the module above for the bodies).

use std::sync::Arc;
use std::time::Duration;

use super::{ascii, list, pacing, retr, store};
use super::{Body, Io, Limits, Link, Opened, Stage, Xfer};
use crate::engine::SharedFd;
use crate::fs::{FsError, Root};
use crate::proto::pace::Pace;
use crate::proto::session::{StoreMode, Transfer, TransferError, TransferKind};
use crate::server::args::RetrPath;
use crate::server::jobs;
use crate::server::listing_stream::{ListChunk, ListSpec};
use crate::server::pool::JobOutput;
use crate::tls::SessionTls;

impl Xfer {
    /// Starts a transfer: its source or target is opened on the helper pool.
    /// Under PROT P, `tls` is the control session's TLS, which the data
    /// connection must resume.
    pub fn start(
        io: &mut Io,
        t: Transfer,
        root: Arc<Root>,
        limits: &Limits,
        tls: Option<SessionTls>,
    ) -> Result<Xfer, TransferError> {
        if t.protected && tls.is_none() {
            return Err(TransferError::TlsHandshake);
        }
        let tag = io.tags.job();
        let now = io.ctx.now;
        let shared_root = root.clone();
        let args = &io.ctx.shared.args;
        let (dir, rate, chunk_max) = match &t.kind {
            TransferKind::Retr { .. } => (
                pacing::Dir::Down,
                limits.rates.download_bytes_per_sec,
                u64::from(args.retr_chunk_bytes),
            ),
            TransferKind::Store { .. } => (
                pacing::Dir::Up,
                limits.rates.upload_bytes_per_sec,
                u64::from(args.upload_buffer_size_bytes),
            ),
            TransferKind::List { .. } => (pacing::Dir::Unpaced, 0, 0),
        };
        let work: Box<dyn FnOnce() -> JobOutput + Send> = match t.kind.clone() {
            TransferKind::Retr { path, .. } => Box::new(move || jobs::open_read(&root, &path)),
            TransferKind::Store { path, mode } => {
                let seed = (now.unix_secs as u64) << 16 ^ tag.seq;
                let q = limits.quota.clone();
                Box::new(move || jobs::open_write(&root, &path, mode, seed, q.as_ref()))
            }
            TransferKind::List {
                path,
                format,
                glob,
                show_hidden,
                can_write,
            } => {
                let spec = ListSpec {
                    path,
                    format,
                    glob,
                    show_hidden,
                    can_write,
                    entries_max: io.ctx.shared.args.list_entries_max,
                    now_unix: now.unix_secs,
                };
                Box::new(move || jobs::listing(&root, spec))
            }
        };
        io.ctx
            .submit_job(tag, work)
            .map_err(|_| TransferError::Fs(FsError::ServerBusy))?;
        Ok(Xfer {
            seq: tag.seq,
            endpoint: t.endpoint,
            kind: t.kind,
            ascii: t.ascii,
            stage: Stage::Opening,
            body: Body::Pending,
            link: Link {
                sock: None,
                ops: [None, None],
                bytes: 0,
                last_progress: now.mono,
                dir,
                pace: Pace::new(rate, chunk_max, now.mono),
                paused: false,
                tls: None,
            },
            aborting: false,
            ending: None,
            started: now.mono,
            root: shared_root,
            target: None,
            protected: t.protected.then_some(tls).flatten(),
        })
    }

    /// The helper opened the source or target (or failed to).
    pub fn on_opened(&mut self, io: &mut Io, seq: u64, out: JobOutput) -> Opened {
        if seq != self.seq || self.stage != Stage::Opening {
            return Opened::NotOurs;
        }
        let (body, size, name) = match self.body_for(io, out) {
            Ok(b) => b,
            Err(e) => return Opened::Failed(e),
        };
        if let TransferKind::Store { path, mode } = &self.kind {
            self.target = match (mode, &name) {
                (StoreMode::Unique, Some(n)) => path.resolve(n).ok(),
                _ => Some(path.clone()),
            };
        }
        self.body = body;
        let limit = Duration::from_secs(io.ctx.shared.args.data_connect_timeout_secs);
        self.stage = Stage::Connecting {
            deadline: io.now() + limit,
        };
        Opened::Ready { size, name }
    }

    #[allow(clippy::type_complexity)]
    fn body_for(
        &self,
        io: &mut Io,
        out: JobOutput,
    ) -> Result<(Body, Option<u64>, Option<String>), TransferError> {
        Ok(match (out, &self.kind) {
            (JobOutput::OpenRead(r), TransferKind::Retr { offset, .. }) => {
                let (fd, size) = r.map_err(TransferError::Fs)?;
                if *offset > size {
                    // RFC 1123 §4.1.3.4: the file cannot be repositioned there.
                    return Err(TransferError::RestartBeyondEnd);
                }
                let file: SharedFd = std::rc::Rc::new(fd);
                let body = if self.ascii || self.protected.is_some() {
                    // TLS needs the bytes in memory: read, (convert,) send.
                    let chunk = match self.protected {
                        Some(_) => ascii::TLS_CHUNK_BYTES,
                        None => ascii::CHUNK_BYTES,
                    };
                    Body::Ascii(ascii::AsciiSend::new(
                        file, *offset, size, self.ascii, chunk,
                    ))
                } else {
                    match io.ctx.shared.args.retr_path {
                        RetrPath::Sendfile => {
                            Body::Sendfile(retr::FileSend::new(file, *offset, size))
                        }
                        RetrPath::Splice => {
                            Body::Splice(retr::SpliceSend::new(file, *offset, size))
                        }
                    }
                };
                (body, Some(size), None)
            }
            (JobOutput::OpenWrite(r), TransferKind::Store { mode, .. }) => {
                let (fd, name, quota) = r.map_err(TransferError::Fs)?;
                let offset = match mode {
                    StoreMode::At(n) => *n,
                    _ => 0,
                };
                let file = std::rc::Rc::new(fd);
                (
                    Body::Store(store::Receive::new(file, offset, self.ascii, quota)),
                    None,
                    name,
                )
            }
            (JobOutput::Listing(r), TransferKind::List { .. }) => {
                let chunk: ListChunk = r.map_err(TransferError::Fs)?;
                (Body::List(list::ListSend::new(chunk)), None, None)
            }
            _ => return Err(TransferError::Fs(FsError::Io(libc::EINVAL))),
        })
    }
}
