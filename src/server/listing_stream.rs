//! LIST/NLST/MLSD output produced in bounded chunks on the helper pool.
//!
//! The first chunk comes with the transfer's opening ([`first_chunk`]); when
//! the worker has sent a chunk it asks for the next ([`next_chunk`]) with the
//! [`ListCursor`] the previous one returned. The cursor owns the open
//! directory, so a 1,000,000-entry directory is read once, front to back, and
//! at most one chunk of formatted text exists at a time. The worker never
//! reads a directory itself.

use crate::fs::{DirStream, FileInfo, FileKind, FsError, Root};
use crate::proto::listing;
use crate::proto::path::VPath;
use crate::proto::session::ListFormat;

/// Formatted bytes per chunk (a chunk may end one line beyond it).
pub const CHUNK_BYTES: usize = 256 * 1024;
/// Directory entries examined per chunk, so a glob matching nothing in a
/// huge directory still hands the helper back regularly.
const CHUNK_ENTRIES_MAX: usize = 8192;

/// What a listing shows, from a LIST/NLST/MLSD transfer.
pub struct ListSpec {
    pub path: VPath,
    pub format: ListFormat,
    pub glob: Option<String>,
    pub show_hidden: bool,
    pub can_write: bool,
    /// Entries listed at most (also the glob match limit).
    pub entries_max: usize,
    pub now_unix: i64,
}

/// Where a listing stands between two chunks.
pub struct ListCursor {
    spec: ListSpec,
    dir: DirStream,
    listed: usize,
}

/// One chunk of a listing, and the cursor for the rest (`None`: the end).
pub struct ListChunk {
    pub data: Vec<u8>,
    pub more: Option<Box<ListCursor>>,
}

/// Opens the listing and formats its first chunk.
pub fn first_chunk(root: &Root, spec: ListSpec) -> Result<ListChunk, FsError> {
    let info = root.stat(&spec.path)?;
    if info.kind != FileKind::Dir {
        // RFC 3659 §7.2.1: MLSD names a directory; LIST/NLST of a file lists it.
        if spec.format == ListFormat::Machine {
            return Err(FsError::NotADirectory);
        }
        let mut one = info;
        one.name = spec.path.file_name().unwrap_or("").to_string();
        let mut data = Vec::new();
        format_entry(&spec, &one, &mut data);
        return Ok(ListChunk { data, more: None });
    }
    let dir = root.dir_stream(&spec.path)?;
    next_chunk(Box::new(ListCursor {
        spec,
        dir,
        listed: 0,
    }))
}

/// Formats the next chunk.
pub fn next_chunk(mut cur: Box<ListCursor>) -> Result<ListChunk, FsError> {
    let mut data = Vec::with_capacity(CHUNK_BYTES.min(64 * 1024));
    let mut examined = 0;
    while data.len() < CHUNK_BYTES && examined < CHUNK_ENTRIES_MAX {
        if cur.listed >= cur.spec.entries_max {
            return Ok(ListChunk { data, more: None });
        }
        let e = match cur.dir.next_entry() {
            None => return Ok(ListChunk { data, more: None }),
            Some(e) => e?,
        };
        examined += 1;
        if shown(&cur.spec, &e) {
            format_entry(&cur.spec, &e, &mut data);
            cur.listed += 1;
        }
    }
    Ok(ListChunk {
        data,
        more: Some(cur),
    })
}

fn shown(spec: &ListSpec, e: &FileInfo) -> bool {
    let hidden = e.name.starts_with('.') && !spec.show_hidden;
    let matches = spec
        .glob
        .as_deref()
        .is_none_or(|g| listing::glob_match(g, &e.name));
    // A name with CR or LF could forge a listing line: never listed.
    !hidden && matches && listing::is_listable_name(&e.name)
}

fn format_entry(spec: &ListSpec, e: &FileInfo, out: &mut Vec<u8>) {
    match spec.format {
        ListFormat::Long => listing::format_list_line(e, spec.now_unix, out),
        ListFormat::Names => listing::format_nlst_line(&e.name, out),
        ListFormat::Machine => {
            listing::format_mlsx(e, spec.can_write, out);
            out.extend_from_slice(b"\r\n");
        }
    }
}
