//! The first format of the log store (`snapshot` and `log`, records without a mark), read
//! once to move a directory to the current format.

use std::{
    fs::File,
    io::{BufReader, Read},
    path::Path,
};

use skein_views::{MemoryStore, StoreError};

use super::record::{decode_batch, io, PAYLOAD_BYTES_MAX};

/// The snapshot file of the first format.
pub(super) const SNAPSHOT: &str = "snapshot";
/// The log file of the first format.
pub(super) const LOG: &str = "log";

/// Whether `directory` holds files of the first format.
pub(super) fn present(directory: &Path) -> bool {
    directory.join(SNAPSHOT).exists() || directory.join(LOG).exists()
}

/// Loads the first format's snapshot and log into `memory`. As that format did, the log is
/// replayed up to its first incomplete or damaged record.
pub(super) fn load(directory: &Path, memory: &MemoryStore) -> Result<(), StoreError> {
    let snapshot = directory.join(SNAPSHOT);
    if snapshot.exists() {
        let size = std::fs::metadata(&snapshot)
            .map_err(|error| io(&snapshot, error))?
            .len();
        if replay(&snapshot, memory)? != size {
            return Err(StoreError::Backend(format!(
                "{} is damaged: restore the directory from a backup",
                snapshot.display()
            )));
        }
    }
    let log = directory.join(LOG);
    if log.exists() {
        replay(&log, memory)?;
    }
    Ok(())
}

/// Applies intact records of the first format, returning their bytes.
fn replay(path: &Path, memory: &MemoryStore) -> Result<u64, StoreError> {
    let file = File::open(path).map_err(|error| io(path, error))?;
    let mut reader = BufReader::new(file);
    let mut good = 0u64;
    loop {
        let mut header = [0u8; 8];
        if reader.read_exact(&mut header).is_err() {
            return Ok(good);
        }
        let length = u32::from_le_bytes(header[..4].try_into().expect("four bytes")) as usize;
        let checksum = u32::from_le_bytes(header[4..].try_into().expect("four bytes"));
        if length > PAYLOAD_BYTES_MAX {
            return Ok(good);
        }
        let mut payload = vec![0u8; length];
        if reader.read_exact(&mut payload).is_err() || crc32fast::hash(&payload) != checksum {
            return Ok(good);
        }
        let Some(batch) = decode_batch(&payload) else {
            return Ok(good);
        };
        memory.apply(batch);
        good += 8 + length as u64;
    }
}

/// Writes a directory in the first format, for the test that moves it.
#[cfg(test)]
pub(super) fn write_for_test(
    directory: &Path,
    snapshot: &[skein_views::Batch],
    log: &[skein_views::Batch],
) {
    let encode = |batches: &[skein_views::Batch]| {
        let mut bytes = Vec::new();
        for batch in batches {
            let payload = super::record::encode_batch(batch);
            bytes.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_le_bytes());
            bytes.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
            bytes.extend_from_slice(&payload);
        }
        bytes
    };
    std::fs::write(directory.join(SNAPSHOT), encode(snapshot)).unwrap();
    std::fs::write(directory.join(LOG), encode(log)).unwrap();
}
