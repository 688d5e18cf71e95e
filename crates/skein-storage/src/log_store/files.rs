//! The files of a log store directory, by generation.
//!
//! Generation `n` has a log, `log.n`, and may have a snapshot, `snapshot.n`, holding
//! everything the logs before `n` held. Compaction starts log `n + 1`, writes
//! `snapshot.(n + 1)` beside it (as a temporary file renamed into place once synced), then
//! deletes the older files. Opening takes the newest snapshot and replays the logs from its
//! generation on; a crash at any point of a compaction leaves a directory that opens to the
//! same contents.

use std::{
    collections::BTreeSet,
    fs::File,
    io::{BufWriter, Write},
    path::{Path, PathBuf},
};

use skein_views::StoreError;

use super::record::{encode_batch, io, record};

/// Snapshot records hold about this many bytes of entries.
const SNAPSHOT_RECORD_BYTES: usize = 1 << 20;

/// The log of generation `generation`.
pub(super) fn log_path(directory: &Path, generation: u64) -> PathBuf {
    directory.join(format!("log.{generation}"))
}

/// The snapshot of generation `generation`.
pub(super) fn snapshot_path(directory: &Path, generation: u64) -> PathBuf {
    directory.join(format!("snapshot.{generation}"))
}

/// The generations a directory holds files of.
#[derive(Debug, Default)]
pub(super) struct Generations {
    /// Generations with a log.
    pub(super) logs: BTreeSet<u64>,
    /// Generations with a (complete) snapshot.
    pub(super) snapshots: BTreeSet<u64>,
    /// Snapshots a crash left half written.
    pub(super) temporaries: Vec<PathBuf>,
}

impl Generations {
    /// Lists `directory`.
    pub(super) fn list(directory: &Path) -> Result<Self, StoreError> {
        let mut generations = Self::default();
        let entries = std::fs::read_dir(directory).map_err(|error| io(directory, error))?;
        for entry in entries {
            let entry = entry.map_err(|error| io(directory, error))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.ends_with(".tmp") {
                generations.temporaries.push(entry.path());
            } else if let Some(Ok(generation)) = name.strip_prefix("log.").map(str::parse) {
                generations.logs.insert(generation);
            } else if let Some(Ok(generation)) = name.strip_prefix("snapshot.").map(str::parse) {
                generations.snapshots.insert(generation);
            }
        }
        Ok(generations)
    }

    /// The generation of the newest snapshot.
    pub(super) fn base(&self) -> Option<u64> {
        self.snapshots.last().copied()
    }
}

/// Forces a directory's entries (creations, renames, deletions) to disk.
pub(super) fn sync_directory(directory: &Path) -> Result<(), StoreError> {
    File::open(directory)
        .and_then(|file| file.sync_all())
        .map_err(|error| io(directory, error))
}

/// Writes `entries` as `snapshot.generation`: to a temporary file, synced, renamed into
/// place, the directory synced. Returns the snapshot's bytes.
pub(super) fn write_snapshot<'a>(
    directory: &Path,
    generation: u64,
    entries: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
) -> Result<u64, StoreError> {
    let target = snapshot_path(directory, generation);
    let temporary = directory.join(format!("snapshot.{generation}.tmp"));
    let file = File::create(&temporary).map_err(|error| io(&temporary, error))?;
    let mut writer = BufWriter::new(file);
    let mut written = 0u64;
    let mut pending = skein_views::Batch::new();
    let mut pending_bytes = 0;
    let mut flush =
        |batch: &mut skein_views::Batch, writer: &mut BufWriter<File>| -> Result<(), StoreError> {
            let bytes = record([encode_batch(batch).as_slice()]);
            written += bytes.len() as u64;
            *batch = skein_views::Batch::new();
            writer
                .write_all(&bytes)
                .map_err(|error| io(&temporary, error))
        };
    for (key, value) in entries {
        pending_bytes += key.len() + value.len() + 9;
        pending.put(key.to_vec(), value.to_vec());
        if pending_bytes >= SNAPSHOT_RECORD_BYTES {
            flush(&mut pending, &mut writer)?;
            pending_bytes = 0;
        }
    }
    if !pending.is_empty() {
        flush(&mut pending, &mut writer)?;
    }
    let file = writer
        .into_inner()
        .map_err(|error| io(&temporary, error.into_error()))?;
    file.sync_all().map_err(|error| io(&temporary, error))?;
    drop(file);
    std::fs::rename(&temporary, &target).map_err(|error| io(&target, error))?;
    sync_directory(directory)?;
    Ok(written)
}

/// Deletes the logs and snapshots of generations before `generation`.
pub(super) fn delete_before(directory: &Path, generation: u64) -> Result<(), StoreError> {
    let generations = Generations::list(directory)?;
    for old in generations.logs.range(..generation) {
        let path = log_path(directory, *old);
        std::fs::remove_file(&path).map_err(|error| io(&path, error))?;
    }
    for old in generations.snapshots.range(..generation) {
        let path = snapshot_path(directory, *old);
        std::fs::remove_file(&path).map_err(|error| io(&path, error))?;
    }
    sync_directory(directory)
}
