//! [`LogStore`]: the whole store in memory, every batch appended to a log on disk.
//!
//! Reads never touch the disk. Writers that arrive together share one append and, with
//! `sync`, one `fdatasync` (group commit): a batch is applied in memory, and `write_batch`
//! returns, only once its record is written (and synced). When the log grows well past the
//! data it describes, the store starts a new log and a background thread writes a snapshot
//! of the contents, then deletes the old files (see [`files`] for the generations).
//!
//! Crash safety: a batch is applied entirely or not at all. A write that fails is cut from
//! the log at once, so no later batch sits behind a torn record; a failure that cannot be
//! undone (a failed sync, or a failed cut) makes the store refuse writes until it is opened
//! again. On opening, a record cut short at the end of the newest log is dropped (a crash in
//! the middle of a write); damage anywhere else refuses to open, with the file and byte.
//!
//! The data must fit in memory. Validators whose state does not should use the LSM store
//! ([`crate::LsmStore`]) or a shared database.

mod files;
mod legacy;
mod record;

use std::{
    fs::{File, OpenOptions},
    io::Write,
    path::{Path, PathBuf},
    sync::{Arc, Weak},
    thread::JoinHandle,
};

use parking_lot::{Condvar, Mutex, MutexGuard};
use skein_views::{Batch, KeyValueStore, KeyValues, MemoryStore, StoreError};

use self::{
    files::{log_path, snapshot_path, Generations},
    record::{encode_batch, io, End, PAYLOAD_BYTES_MAX},
};

/// The log is compacted into a snapshot once it exceeds this many bytes and twice the size
/// of the last snapshot.
const COMPACTION_BYTES_MIN: u64 = 64 << 20;

/// A store in memory, logged to a directory.
#[derive(Clone)]
pub struct LogStore {
    memory: MemoryStore,
    shared: Arc<Shared>,
}

struct Shared {
    directory: PathBuf,
    sync: bool,
    compaction_bytes_min: u64,
    state: Mutex<State>,
    /// Signalled when a group commit ends.
    committed: Condvar,
    compaction: Mutex<Option<JoinHandle<()>>>,
    /// Held for the life of the store: one process per directory.
    _lock: File,
}

struct State {
    /// The newest log, which writes append to.
    file: Arc<File>,
    generation: u64,
    /// Bytes of intact records in the newest log.
    log_bytes: u64,
    snapshot_bytes: u64,
    /// Batches waiting for the next group commit, with their tickets.
    pending: Vec<(u64, Vec<u8>, Batch)>,
    next_ticket: u64,
    /// Every ticket below this one is committed or failed.
    finished_below: u64,
    /// Tickets whose commit failed, with why.
    failures: Vec<(u64, String)>,
    /// Whether a writer is appending a group now.
    writing: bool,
    compacting: bool,
    /// Why the store refuses writes: a failure it could not undo.
    broken: Option<String>,
    /// Test hook: the next append writes only this many bytes, then fails.
    #[cfg(test)]
    fail_next_append_after: Option<usize>,
}

impl LogStore {
    /// Opens (or creates) the store in `directory`, replaying what it holds. With `sync`,
    /// every batch is forced to disk before `write_batch` returns.
    pub fn open(directory: &Path, sync: bool) -> Result<Self, StoreError> {
        Self::open_with_compaction(directory, sync, COMPACTION_BYTES_MIN)
    }

    /// Opens with another compaction threshold (tests use a small one).
    pub(crate) fn open_with_compaction(
        directory: &Path,
        sync: bool,
        compaction_bytes_min: u64,
    ) -> Result<Self, StoreError> {
        std::fs::create_dir_all(directory).map_err(|error| io(directory, error))?;
        let lock_path = directory.join("LOCK");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|error| io(&lock_path, error))?;
        lock.try_lock().map_err(|_| {
            StoreError::Backend(format!(
                "{} is in use by another process",
                directory.display()
            ))
        })?;
        let memory = MemoryStore::new();
        let mut generations = Generations::list(directory)?;
        for temporary in &generations.temporaries {
            std::fs::remove_file(temporary).map_err(|error| io(temporary, error))?;
        }
        if legacy::present(directory) {
            Self::move_legacy_files(directory, &memory, &generations)?;
            generations = Generations::list(directory)?;
        }
        let base = generations.base().unwrap_or(0);
        let mut snapshot_bytes = 0;
        if generations.snapshots.contains(&base) {
            let path = snapshot_path(directory, base);
            let replayed = record::replay(&path, |batch| memory.apply(batch))?;
            if replayed.end != End::Clean {
                return Err(damaged(&path, replayed.good_bytes, "it was synced whole"));
            }
            snapshot_bytes = replayed.good_bytes;
        }
        let logs: Vec<u64> = generations.logs.range(base..).copied().collect();
        if let Some(gap) = logs
            .iter()
            .zip(base..)
            .find(|(generation, expected)| **generation != *expected)
        {
            return Err(StoreError::Backend(format!(
                "{} is missing: restore the directory from a backup",
                log_path(directory, gap.1).display()
            )));
        }
        let newest = logs.last().copied().unwrap_or(base);
        let mut log_bytes = 0;
        for generation in &logs {
            let path = log_path(directory, *generation);
            let replayed = record::replay(&path, |batch| memory.apply(batch))?;
            match replayed.end {
                End::Clean => {}
                End::Torn if *generation == newest => tracing::warn!(
                    "{}: dropped a write cut short at byte {}",
                    path.display(),
                    replayed.good_bytes
                ),
                End::Torn => {
                    return Err(damaged(
                        &path,
                        replayed.good_bytes,
                        "a newer log follows it, and logs are synced before the next begins",
                    ))
                }
                End::Damaged { intact_at } => {
                    return Err(damaged(
                        &path,
                        replayed.good_bytes,
                        &format!("an intact record follows at byte {intact_at}, so this is not a write cut short"),
                    ))
                }
            }
            log_bytes = replayed.good_bytes;
        }
        files::delete_before(directory, base)?;
        let path = log_path(directory, newest);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .append(true)
            .open(&path)
            .map_err(|error| io(&path, error))?;
        // Drop whatever a crash cut short, before anything is appended after it.
        file.set_len(log_bytes).map_err(|error| io(&path, error))?;
        file.sync_all().map_err(|error| io(&path, error))?;
        files::sync_directory(directory)?;
        Ok(Self {
            memory,
            shared: Arc::new(Shared {
                directory: directory.to_path_buf(),
                sync,
                compaction_bytes_min,
                state: Mutex::new(State {
                    file: Arc::new(file),
                    generation: newest,
                    log_bytes,
                    snapshot_bytes,
                    pending: Vec::new(),
                    next_ticket: 0,
                    finished_below: 0,
                    failures: Vec::new(),
                    writing: false,
                    compacting: false,
                    broken: None,
                    #[cfg(test)]
                    fail_next_append_after: None,
                }),
                committed: Condvar::new(),
                compaction: Mutex::new(None),
                _lock: lock,
            }),
        })
    }

    /// Moves a directory of the first format to generations: its contents become the
    /// snapshot of a generation after any that exists, then the old files go.
    fn move_legacy_files(
        directory: &Path,
        memory: &MemoryStore,
        generations: &Generations,
    ) -> Result<(), StoreError> {
        legacy::load(directory, memory)?;
        let generation = generations
            .logs
            .iter()
            .chain(&generations.snapshots)
            .max()
            .map_or(1, |newest| newest + 1);
        let mut entries = Vec::new();
        memory.for_each_entry(|key, value| entries.push((key.to_vec(), value.to_vec())));
        files::write_snapshot(
            directory,
            generation,
            entries
                .iter()
                .map(|(key, value)| (key.as_slice(), value.as_slice())),
        )?;
        for name in [legacy::SNAPSHOT, legacy::LOG] {
            let path = directory.join(name);
            if path.exists() {
                std::fs::remove_file(&path).map_err(|error| io(&path, error))?;
            }
        }
        // The memory is filled again from the new snapshot.
        let mut clear = Batch::new();
        clear.delete_prefix(Vec::new());
        memory.apply(clear);
        files::sync_directory(directory)
    }

    /// Appends the pending batches as one record, applies them and wakes their writers.
    /// Called with `writing` set by this writer; the lock is released during the I/O.
    fn commit_group(&self, state: &mut MutexGuard<'_, State>) {
        if let Some(broken) = state.broken.clone() {
            let failed: Vec<u64> = state
                .pending
                .drain(..)
                .map(|(ticket, _, _)| ticket)
                .collect();
            if let Some(last) = failed.last() {
                state.finished_below = last + 1;
            }
            state
                .failures
                .extend(failed.into_iter().map(|ticket| (ticket, broken.clone())));
            return;
        }
        let mut group = Vec::new();
        let mut group_bytes = 0;
        while let Some((_, bytes, _)) = state.pending.first() {
            if !group.is_empty() && group_bytes + bytes.len() + 4 > PAYLOAD_BYTES_MAX {
                break;
            }
            group_bytes += bytes.len() + 4;
            group.push(state.pending.remove(0));
        }
        let Some(last_ticket) = group.last().map(|(ticket, _, _)| *ticket) else {
            return;
        };
        let file = state.file.clone();
        let good_bytes = state.log_bytes;
        let bytes = record::record(group.iter().map(|(_, bytes, _)| bytes.as_slice()));
        #[cfg(test)]
        let fail_after = state.fail_next_append_after.take();
        #[cfg(not(test))]
        let fail_after = None;
        let outcome =
            MutexGuard::unlocked(state, || self.append(&file, &bytes, good_bytes, fail_after));
        match outcome {
            Ok(()) => {
                state.log_bytes += bytes.len() as u64;
                for (_, _, batch) in group {
                    self.memory.apply(batch);
                }
            }
            Err(failure) => {
                if failure.undone {
                    tracing::warn!("{}", failure.message);
                } else {
                    tracing::error!("{}", failure.message);
                    state.broken = Some(failure.message.clone());
                }
                for (ticket, _, _) in group {
                    state.failures.push((ticket, failure.message.clone()));
                }
            }
        }
        state.finished_below = last_ticket + 1;
        if state.broken.is_none()
            && !state.compacting
            && state.log_bytes
                > self
                    .shared
                    .compaction_bytes_min
                    .max(2 * state.snapshot_bytes)
        {
            self.start_compaction(state);
        }
    }

    /// Writes `bytes` at the end of `file`, cutting the log back to `good_bytes` if the
    /// write fails.
    fn append(
        &self,
        file: &File,
        bytes: &[u8],
        good_bytes: u64,
        fail_after: Option<usize>,
    ) -> Result<(), AppendFailure> {
        let directory = &self.shared.directory;
        let written = match fail_after {
            Some(count) => (&*file)
                .write_all(&bytes[..count.min(bytes.len())])
                .and_then(|()| Err(std::io::Error::other("injected write failure"))),
            None => (&*file).write_all(bytes),
        };
        if let Err(error) = written {
            return Err(match file.set_len(good_bytes) {
                Ok(()) => AppendFailure {
                    undone: true,
                    message: format!("{}: writing the log failed: {error}", directory.display()),
                },
                Err(cut) => AppendFailure {
                    undone: false,
                    message: format!(
                        "{}: writing the log failed ({error}) and cutting the partial write failed ({cut}): writes are refused until the store is opened again",
                        directory.display()
                    ),
                },
            });
        }
        if self.shared.sync {
            // A failed sync may have lost written pages that the kernel now reports clean:
            // retrying could not tell, so the store stops writing.
            file.sync_data().map_err(|error| AppendFailure {
                undone: false,
                message: format!(
                    "{}: syncing the log failed ({error}): writes are refused until the store is opened again",
                    directory.display()
                ),
            })?;
        }
        Ok(())
    }

    /// Starts a new log and, on a thread, a snapshot of everything before it. Called with
    /// no write in flight, so the memory holds exactly what the logs hold.
    fn start_compaction(&self, state: &mut MutexGuard<'_, State>) {
        let directory = self.shared.directory.clone();
        let generation = state.generation + 1;
        let path = log_path(&directory, generation);
        let started = state
            .file
            .sync_all()
            .and_then(|()| {
                // A file of this name is a leftover of a compaction that never wrote to it.
                let file = OpenOptions::new().create(true).append(true).open(&path)?;
                file.set_len(0)?;
                Ok(file)
            })
            .map_err(|error| io(&path, error))
            .and_then(|file| files::sync_directory(&directory).map(|()| file));
        let file = match started {
            Ok(file) => file,
            Err(error) => {
                tracing::warn!("compaction postponed: {error}");
                return;
            }
        };
        let mut entries = Vec::with_capacity(self.memory.len());
        self.memory
            .for_each_entry(|key, value| entries.push((key.to_vec(), value.to_vec())));
        state.file = Arc::new(file);
        state.generation = generation;
        state.log_bytes = 0;
        state.compacting = true;
        let shared: Weak<Shared> = Arc::downgrade(&self.shared);
        let thread = std::thread::spawn(move || {
            let written = files::write_snapshot(
                &directory,
                generation,
                entries
                    .iter()
                    .map(|(key, value)| (key.as_slice(), value.as_slice())),
            )
            .and_then(|written| files::delete_before(&directory, generation).map(|()| written));
            if let Err(error) = &written {
                // The old files still hold everything; the next compaction tries again.
                tracing::warn!("compaction failed: {error}");
            }
            if let Some(shared) = shared.upgrade() {
                let mut state = shared.state.lock();
                state.compacting = false;
                if let Ok(written) = written {
                    state.snapshot_bytes = written;
                }
            }
        });
        let previous = self.shared.compaction.lock().replace(thread);
        if let Some(previous) = previous {
            let _ = previous.join();
        }
    }

    /// Waits for a compaction in progress to finish, for tests.
    #[cfg(test)]
    pub(crate) fn wait_for_compaction(&self) {
        if let Some(thread) = self.shared.compaction.lock().take() {
            thread.join().expect("the compaction thread does not panic");
        }
    }

    /// Makes the next append write only `bytes` bytes and fail, for tests.
    #[cfg(test)]
    pub(crate) fn fail_next_append_after(&self, bytes: usize) {
        self.shared.state.lock().fail_next_append_after = Some(bytes);
    }
}

struct AppendFailure {
    /// Whether the log was cut back to its intact records.
    undone: bool,
    message: String,
}

fn damaged(path: &Path, at: u64, why: &str) -> StoreError {
    StoreError::Backend(format!(
        "{} is damaged at byte {at} ({why}); refusing to open rather than drop what follows: restore the directory from a backup, or from the other validators' data",
        path.display()
    ))
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The next process to open the directory finds the compaction finished. (The
        // compaction thread itself may hold the last reference for a moment; it does not
        // wait for itself.)
        if let Some(thread) = self.compaction.get_mut().take() {
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

impl KeyValueStore for LogStore {
    async fn read_value(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.memory.read_value(key).await
    }

    async fn read_multi_values(
        &self,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.memory.read_multi_values(keys).await
    }

    async fn find_key_values_by_prefix(&self, prefix: &[u8]) -> Result<KeyValues, StoreError> {
        self.memory.find_key_values_by_prefix(prefix).await
    }

    async fn find_keys_by_prefix(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        self.memory.find_keys_by_prefix(prefix).await
    }

    async fn find_keys_by_prefix_up_to(
        &self,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        self.memory.find_keys_by_prefix_up_to(prefix, limit).await
    }

    /// Waits (blocking, without an await point, so a dropped future never leaves a batch
    /// half-committed) until the batch's group is committed; the first waiting writer
    /// appends the group.
    async fn write_batch(&self, batch: Batch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let bytes = encode_batch(&batch);
        if bytes.len() + 4 > PAYLOAD_BYTES_MAX {
            return Err(StoreError::TooLarge {
                what: "batch",
                size: bytes.len(),
                limit: PAYLOAD_BYTES_MAX - 4,
            });
        }
        let mut state = self.shared.state.lock();
        if let Some(broken) = &state.broken {
            return Err(StoreError::Backend(broken.clone()));
        }
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.pending.push((ticket, bytes, batch));
        loop {
            if state.finished_below > ticket {
                return match state
                    .failures
                    .iter()
                    .position(|(failed, _)| *failed == ticket)
                {
                    Some(index) => Err(StoreError::Backend(state.failures.swap_remove(index).1)),
                    None => Ok(()),
                };
            }
            if state.writing {
                self.shared.committed.wait(&mut state);
            } else {
                state.writing = true;
                self.commit_group(&mut state);
                state.writing = false;
                self.shared.committed.notify_all();
            }
        }
    }
}

#[cfg(test)]
mod tests;
