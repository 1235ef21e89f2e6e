//! LIST/NLST/MLSD: send the formatted chunk the helper made, then ask the
//! helper pool for the next one with the cursor that owns the open directory
//! ([`crate::server::listing_stream`]); the worker never reads a directory.

use super::{net_or_read_error, Io, Link, Step};
use crate::engine::CompletionKind;
use crate::fs::FsError;
use crate::proto::session::TransferError;
use crate::server::jobs;
use crate::server::listing_stream::{ListChunk, ListCursor};

pub(super) struct ListSend {
    chunk: Vec<u8>,
    /// Bytes of `chunk` sent.
    sent: usize,
    /// The cursor for the rest (`None`: this chunk is the last).
    more: Option<Box<ListCursor>>,
    /// The helper request for the next chunk, if one is out.
    waiting: Option<u64>,
}

impl ListSend {
    pub(super) fn new(first: ListChunk) -> ListSend {
        ListSend {
            chunk: first.data,
            sent: 0,
            more: first.more,
            waiting: None,
        }
    }

    pub(super) fn step(&mut self, l: &mut Link, io: &mut Io) -> Step {
        if self.sent < self.chunk.len() {
            let data = std::mem::take(&mut self.chunk);
            return l.send(io, data, self.sent);
        }
        let Some(cursor) = self.more.take() else {
            return l.done_ok();
        };
        let tag = io.tags.job();
        match io
            .ctx
            .submit_job(tag, Box::new(move || jobs::listing_more(cursor)))
        {
            Ok(()) => {
                self.waiting = Some(tag.seq);
                Step::Continue
            }
            Err(_) => Step::Done(Err(TransferError::Read(FsError::ServerBusy))),
        }
    }

    pub(super) fn on_io(&mut self, l: &mut Link, io: &mut Io, kind: CompletionKind) -> Step {
        match kind {
            CompletionKind::Send(Ok(0), data) if self.sent < data.len() => {
                Step::Done(Err(TransferError::ConnectionLost))
            }
            CompletionKind::Send(Ok(n), data) => {
                l.moved(n, io);
                self.sent += n;
                self.chunk = data;
                self.step(l, io)
            }
            CompletionKind::Send(Err(e), _) => Step::Done(Err(net_or_read_error(e))),
            _ => Step::Done(Err(TransferError::ConnectionLost)),
        }
    }

    /// The helper's next chunk.
    pub(super) fn on_more(
        &mut self,
        l: &mut Link,
        io: &mut Io,
        seq: u64,
        r: Result<ListChunk, FsError>,
    ) -> Step {
        if self.waiting != Some(seq) {
            return Step::Continue;
        }
        self.waiting = None;
        match r {
            Ok(chunk) => {
                self.chunk = chunk.data;
                self.more = chunk.more;
                self.sent = 0;
                self.step(l, io)
            }
            Err(e) => Step::Done(Err(TransferError::Read(e))),
        }
    }
}
