//! What a logged-in user may do. Checked by the session before it asks the
//! filesystem for anything, so a refusal never touches the disk.

/// A set of permissions (bit flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Perms(u16);

impl Perms {
    /// LIST, NLST, MLSD, MLST, STAT path.
    pub const LIST: Perms = Perms(1 << 0);
    /// RETR, SIZE, MDTM, HASH.
    pub const READ: Perms = Perms(1 << 1);
    /// STOR, STOU (create and overwrite).
    pub const WRITE: Perms = Perms(1 << 2);
    /// APPE, and REST+STOR.
    pub const APPEND: Perms = Perms(1 << 3);
    /// DELE.
    pub const DELETE: Perms = Perms(1 << 4);
    /// RNFR/RNTO (rename and move).
    pub const RENAME: Perms = Perms(1 << 5);
    /// MKD and RMD.
    pub const MKDIR: Perms = Perms(1 << 6);
    /// SITE CPFR/CPTO.
    pub const COPY: Perms = Perms(1 << 7);
    /// SITE CHMOD, MFMT.
    pub const CHMOD: Perms = Perms(1 << 8);
    /// The drop-box right: without `write`, STOR/STOU may create new files
    /// directly in the directory a rule names, never overwrite, nothing else
    /// (see [`crate::proto::rules`]). Not part of `all`.
    pub const UPLOAD_ONLY: Perms = Perms(1 << 9);

    /// No permission at all.
    pub const NONE: Perms = Perms(0);
    /// Anonymous default: list and read.
    pub const READ_ONLY: Perms = Perms(Self::LIST.0 | Self::READ.0);
    /// Everything (but `upload_only`, which only narrows a missing `write`).
    pub const ALL: Perms = Perms(0x1ff);

    /// Names as written in the users file and the config file, in bit order.
    pub const NAMES: [(&'static str, Perms); 10] = [
        ("list", Self::LIST),
        ("read", Self::READ),
        ("write", Self::WRITE),
        ("append", Self::APPEND),
        ("delete", Self::DELETE),
        ("rename", Self::RENAME),
        ("mkdir", Self::MKDIR),
        ("copy", Self::COPY),
        ("chmod", Self::CHMOD),
        ("upload_only", Self::UPLOAD_ONLY),
    ];

    /// True when every permission in `other` is in `self`.
    pub fn contains(self, other: Perms) -> bool {
        self.0 & other.0 == other.0
    }

    /// Union.
    pub fn with(self, other: Perms) -> Perms {
        Perms(self.0 | other.0)
    }

    /// The permissions of `self` that `other` lacks.
    pub fn without(self, other: Perms) -> Perms {
        Perms(self.0 & !other.0)
    }

    /// True when no permission is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The names of the set permissions, in bit order.
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .filter(|(_, v)| self.contains(*v))
            .map(|(n, _)| *n)
            .collect()
    }

    /// One permission name, or `all`, `ro`, `none`.
    pub fn parse_name(word: &str) -> Result<Perms, String> {
        match word {
            "all" => Ok(Perms::ALL),
            "ro" | "readonly" => Ok(Perms::READ_ONLY),
            "none" => Ok(Perms::NONE),
            _ => Self::NAMES
                .iter()
                .find(|(n, _)| *n == word)
                .map(|(_, v)| *v)
                .ok_or_else(|| format!("unknown permission '{word}'")),
        }
    }

    /// Parses a comma list (`list,read,write`), or `all`, `ro`, `none`.
    pub fn parse(s: &str) -> Result<Perms, String> {
        let mut p = Perms::NONE;
        for word in s.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            p = p.with(Self::parse_name(word)?);
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_lists_and_aliases() {
        assert_eq!(Perms::parse("ro").unwrap(), Perms::READ_ONLY);
        assert_eq!(Perms::parse("all").unwrap(), Perms::ALL);
        let p = Perms::parse("list, read,write").unwrap();
        assert!(p.contains(Perms::WRITE) && !p.contains(Perms::DELETE));
        assert!(Perms::parse("fly").is_err());
        assert_eq!(Perms::parse("upload_only").unwrap(), Perms::UPLOAD_ONLY);
        assert!(!Perms::ALL.contains(Perms::UPLOAD_ONLY));
        assert_eq!(Perms::READ_ONLY.names(), ["list", "read"]);
        assert_eq!(Perms::ALL.without(Perms::READ_ONLY).names().len(), 7);
    }
}
