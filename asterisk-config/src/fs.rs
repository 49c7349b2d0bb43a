//! The one part of the crate that touches the filesystem: a [`Resolver`]
//! that reads files from a configuration directory, as Asterisk reads them
//! from its `astetcdir`.

use std::path::{Path, PathBuf};

use crate::glob;
use crate::read::{ReadRequest, Resolver, SourceFile};

/// Reads files from a configuration directory. Relative names are taken
/// relative to it, patterns are expanded as Asterisk expands them, and
/// what is not a regular file is skipped. `#exec` is refused (wrap this
/// resolver to run programs).
#[derive(Clone, Debug)]
pub struct FsResolver {
    dir: PathBuf,
}

impl FsResolver {
    /// A resolver for the configuration directory `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> FsResolver {
        FsResolver { dir: dir.into() }
    }

    /// The configuration directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Resolver for FsResolver {
    fn read(&mut self, request: &ReadRequest) -> Vec<SourceFile> {
        let pattern = if request.pattern.starts_with('/') {
            request.pattern.clone()
        } else {
            format!(
                "{}/{}",
                self.dir.to_string_lossy().trim_end_matches('/'),
                request.pattern
            )
        };
        let mut list = |dir: &str| -> Option<Vec<String>> {
            let entries = std::fs::read_dir(dir).ok()?;
            Some(
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect(),
            )
        };
        let mut exists = |p: &str| Path::new(p).exists();
        glob::expand(&pattern, &mut list, &mut exists)
            .into_iter()
            .filter_map(|path| {
                let meta = std::fs::metadata(&path).ok()?;
                if !meta.is_file() {
                    return None;
                }
                let bytes = std::fs::read(&path).ok()?;
                Some(SourceFile::new(path, bytes))
            })
            .collect()
    }
}
