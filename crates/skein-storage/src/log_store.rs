//! [`LogStore`]: the whole store in memory, every batch appended to a log on disk.
//!
//! Reads never touch the disk; a write is one `write` call appending the batch (and, with
//! `sync`, one `fdatasync`). When the log grows well past the data it describes, the store
//! writes a snapshot of its contents and starts the log afresh.
//!
//! Crash safety: each log record carries its length and a CRC-32 of its contents. On
//! opening, the snapshot is loaded and the log replayed up to the first incomplete or
//! damaged record (a batch cut short by a crash), which is dropped with everything after
//! it: a batch is applied entirely or not at all. Snapshots are written to a temporary file
//! and renamed into place; replaying the log over a newer snapshot gives the same state,
//! because every operation of a batch sets or removes keys outright.
//!
//! The data must fit in memory. Validators whose state does not should use the LSM store
//! ([`crate::LsmStore`]) or a shared database.

use std::{
    fs::{File, OpenOptions},
    io::{BufReader, BufWriter, Read, Write},
    path::{Path, PathBuf},
    sync::Arc,
};

use parking_lot::Mutex;
use skein_views::{Batch, KeyValueStore, KeyValues, MemoryStore, StoreError, WriteOperation};

/// The log is compacted into a snapshot once it exceeds this many bytes and twice the size
/// of the last snapshot.
const COMPACTION_BYTES_MIN: u64 = 64 << 20;

/// Largest record accepted when replaying: a corrupt length never makes us allocate more.
const RECORD_BYTES_MAX: u32 = 1 << 30;

const SNAPSHOT: &str = "snapshot";
const LOG: &str = "log";

fn io(path: &Path, error: std::io::Error) -> StoreError {
    StoreError::Backend(format!("{}: {error}", path.display()))
}

/// A store in memory, logged to a directory.
#[derive(Clone)]
pub struct LogStore {
    memory: MemoryStore,
    log: Arc<Mutex<LogFile>>,
}

struct LogFile {
    directory: PathBuf,
    compaction_bytes_min: u64,
    file: File,
    sync: bool,
    log_bytes: u64,
    snapshot_bytes: u64,
    /// Held for the life of the store: one process per directory.
    _lock: File,
}

fn encode_operations(batch: &Batch, out: &mut Vec<u8>) {
    let put_bytes = |out: &mut Vec<u8>, bytes: &[u8]| {
        out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(bytes);
    };
    for operation in &batch.operations {
        match operation {
            WriteOperation::Put { key, value } => {
                out.push(0);
                put_bytes(out, key);
                put_bytes(out, value);
            }
            WriteOperation::Delete { key } => {
                out.push(1);
                put_bytes(out, key);
            }
            WriteOperation::DeletePrefix { key_prefix } => {
                out.push(2);
                put_bytes(out, key_prefix);
            }
        }
    }
}

fn decode_operations(mut payload: &[u8]) -> Option<Batch> {
    fn take<'a>(input: &mut &'a [u8]) -> Option<&'a [u8]> {
        let length = u32::from_le_bytes(input.get(..4)?.try_into().ok()?) as usize;
        let bytes = input.get(4..4 + length)?;
        *input = &input[4 + length..];
        Some(bytes)
    }
    let mut batch = Batch::new();
    while let Some((&tag, rest)) = payload.split_first() {
        payload = rest;
        match tag {
            0 => {
                let key = take(&mut payload)?.to_vec();
                let value = take(&mut payload)?.to_vec();
                batch.put(key, value);
            }
            1 => batch.delete(take(&mut payload)?.to_vec()),
            2 => batch.delete_prefix(take(&mut payload)?.to_vec()),
            _ => return None,
        }
    }
    Some(batch)
}

/// A record: length, CRC-32, payload.
fn record(payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(payload.len() + 8);
    bytes.extend_from_slice(
        &u32::try_from(payload.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    bytes.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// Reads records from `reader`, calling `apply` on each complete and intact one. Returns the
/// number of bytes of intact records.
fn replay(reader: &mut impl Read, mut apply: impl FnMut(Batch)) -> u64 {
    let mut good = 0u64;
    loop {
        let mut header = [0u8; 8];
        if reader.read_exact(&mut header).is_err() {
            return good;
        }
        let length = u32::from_le_bytes(header[..4].try_into().expect("four bytes"));
        let checksum = u32::from_le_bytes(header[4..].try_into().expect("four bytes"));
        if length > RECORD_BYTES_MAX {
            return good;
        }
        let mut payload = vec![0u8; length as usize];
        if reader.read_exact(&mut payload).is_err() || crc32fast::hash(&payload) != checksum {
            return good;
        }
        let Some(batch) = decode_operations(&payload) else {
            return good;
        };
        apply(batch);
        good += 8 + u64::from(length);
    }
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
        let snapshot_path = directory.join(SNAPSHOT);
        let mut snapshot_bytes = 0;
        if snapshot_path.exists() {
            let file = File::open(&snapshot_path).map_err(|error| io(&snapshot_path, error))?;
            let size = file
                .metadata()
                .map_err(|error| io(&snapshot_path, error))?
                .len();
            snapshot_bytes = replay(&mut BufReader::new(file), |batch| memory.apply(batch));
            if snapshot_bytes != size {
                return Err(StoreError::Backend(format!(
                    "{} is damaged after byte {snapshot_bytes}",
                    snapshot_path.display()
                )));
            }
        }
        let log_path = directory.join(LOG);
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .append(true)
            .open(&log_path)
            .map_err(|error| io(&log_path, error))?;
        let log_bytes = replay(&mut BufReader::new(&mut file), |batch| memory.apply(batch));
        // Drop whatever a crash cut short.
        file.set_len(log_bytes)
            .map_err(|error| io(&log_path, error))?;
        Ok(Self {
            memory,
            log: Arc::new(Mutex::new(LogFile {
                directory: directory.to_path_buf(),
                compaction_bytes_min,
                file,
                sync,
                log_bytes,
                snapshot_bytes,
                _lock: lock,
            })),
        })
    }

    fn compact(&self, log: &mut LogFile) -> Result<(), StoreError> {
        let temporary = log.directory.join("snapshot.tmp");
        let file = File::create(&temporary).map_err(|error| io(&temporary, error))?;
        let mut writer = BufWriter::new(file);
        let mut written = 0u64;
        let mut failure = None;
        // One record per entry keeps snapshot records small; replay applies them in order.
        self.memory.for_each_entry(|key, value| {
            if failure.is_some() {
                return;
            }
            let mut batch = Batch::new();
            batch.put(key.to_vec(), value.to_vec());
            let mut payload = Vec::new();
            encode_operations(&batch, &mut payload);
            let bytes = record(&payload);
            written += bytes.len() as u64;
            if let Err(error) = writer.write_all(&bytes) {
                failure = Some(error);
            }
        });
        if let Some(error) = failure {
            return Err(io(&temporary, error));
        }
        let file = writer
            .into_inner()
            .map_err(|error| io(&temporary, error.into_error()))?;
        file.sync_all().map_err(|error| io(&temporary, error))?;
        let snapshot = log.directory.join(SNAPSHOT);
        std::fs::rename(&temporary, &snapshot).map_err(|error| io(&snapshot, error))?;
        if let Ok(directory) = File::open(&log.directory) {
            let _ = directory.sync_all();
        }
        // Everything the log held is in the snapshot now.
        log.file
            .set_len(0)
            .map_err(|error| io(&log.directory, error))?;
        log.file
            .sync_all()
            .map_err(|error| io(&log.directory, error))?;
        log.log_bytes = 0;
        log.snapshot_bytes = written;
        Ok(())
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

    async fn write_batch(&self, batch: Batch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut payload = Vec::with_capacity(256);
        encode_operations(&batch, &mut payload);
        if payload.len() > RECORD_BYTES_MAX as usize {
            return Err(StoreError::TooLarge {
                what: "batch",
                size: payload.len(),
                limit: RECORD_BYTES_MAX as usize,
            });
        }
        let bytes = record(&payload);
        let mut log = self.log.lock();
        // The log first: a batch is in memory only once it is in the log.
        log.file
            .write_all(&bytes)
            .map_err(|error| io(&log.directory, error))?;
        if log.sync {
            log.file
                .sync_data()
                .map_err(|error| io(&log.directory, error))?;
        }
        log.log_bytes += bytes.len() as u64;
        self.memory.apply(batch);
        if log.log_bytes > log.compaction_bytes_min.max(2 * log.snapshot_bytes) {
            self.compact(&mut log)?;
        }
        Ok(())
    }
}
