//! The records of a log or snapshot file, and how replaying one tells a torn tail (a crash
//! cut the last write short) from damage in the middle (something else changed the file).
//!
//! A record is `magic, length, CRC-32 of length and payload, payload`; the payload holds one
//! or more batches, each prefixed by its length. A group commit writes its batches as one
//! record, so a power loss during a write tears at most the last record. Damage followed by
//! an intact record cannot come from a torn write: replaying stops there with an error
//! instead of dropping everything after it.

use std::{
    fs::File,
    io::{BufReader, Read, Seek, SeekFrom},
    path::Path,
};

use skein_views::{Batch, StoreError, WriteOperation};

/// Begins every record: the mark that finds records again after damage.
const MAGIC: [u8; 4] = *b"SKL2";

const HEADER_BYTES: usize = 12;

/// Largest payload written or accepted: a corrupt length never makes us allocate more.
pub(super) const PAYLOAD_BYTES_MAX: usize = 1 << 30;

pub(super) fn io(path: &Path, error: std::io::Error) -> StoreError {
    StoreError::Backend(format!("{}: {error}", path.display()))
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// The operations of a batch, as a record's payload holds them.
pub(super) fn encode_batch(batch: &Batch) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    for operation in &batch.operations {
        match operation {
            WriteOperation::Put { key, value } => {
                out.push(0);
                put_bytes(&mut out, key);
                put_bytes(&mut out, value);
            }
            WriteOperation::Delete { key } => {
                out.push(1);
                put_bytes(&mut out, key);
            }
            WriteOperation::DeletePrefix { key_prefix } => {
                out.push(2);
                put_bytes(&mut out, key_prefix);
            }
        }
    }
    out
}

fn take<'a>(input: &mut &'a [u8]) -> Option<&'a [u8]> {
    let length = u32::from_le_bytes(input.get(..4)?.try_into().ok()?) as usize;
    let bytes = input.get(4..4usize.checked_add(length)?)?;
    *input = &input[4 + length..];
    Some(bytes)
}

/// Reads back what [`encode_batch`] wrote.
pub(super) fn decode_batch(mut payload: &[u8]) -> Option<Batch> {
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

fn checksum(length: &[u8], payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(length);
    hasher.update(payload);
    hasher.finalize()
}

/// One record holding `batches` (each as [`encode_batch`] wrote it).
pub(super) fn record<'a>(batches: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut payload = Vec::new();
    for batch in batches {
        put_bytes(&mut payload, batch);
    }
    let length = u32::try_from(payload.len())
        .unwrap_or(u32::MAX)
        .to_le_bytes();
    let mut bytes = Vec::with_capacity(HEADER_BYTES + payload.len());
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&length);
    bytes.extend_from_slice(&checksum(&length, &payload).to_le_bytes());
    bytes.extend_from_slice(&payload);
    bytes
}

/// The batches of an intact payload, or `None`.
fn decode_payload(mut payload: &[u8]) -> Option<Vec<Batch>> {
    let mut batches = Vec::new();
    while !payload.is_empty() {
        batches.push(decode_batch(take(&mut payload)?)?);
    }
    Some(batches)
}

/// The payload length a header announces, if the header is one.
fn header_length(header: &[u8]) -> Option<usize> {
    if header.get(..4)? != MAGIC {
        return None;
    }
    let length = u32::from_le_bytes(header.get(4..8)?.try_into().ok()?) as usize;
    (length <= PAYLOAD_BYTES_MAX).then_some(length)
}

/// The batches of the intact record at the start of `bytes`, if there is one.
fn intact_record(bytes: &[u8]) -> Option<Vec<Batch>> {
    let length = header_length(bytes)?;
    let payload = bytes.get(HEADER_BYTES..HEADER_BYTES.checked_add(length)?)?;
    let expected = u32::from_le_bytes(bytes.get(8..12)?.try_into().ok()?);
    if checksum(&bytes[4..8], payload) != expected {
        return None;
    }
    decode_payload(payload)
}

/// How a file's records end.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum End {
    /// With the last byte of the last record.
    Clean,
    /// With an incomplete or damaged record and nothing intact after it: a write cut short.
    Torn,
    /// With a damaged record followed by an intact one at `intact_at`.
    Damaged {
        /// Where the intact record begins.
        intact_at: u64,
    },
}

/// What replaying a file found.
#[derive(Debug)]
pub(super) struct Replayed {
    /// The bytes of intact records before the end (the whole file when clean).
    pub(super) good_bytes: u64,
    /// How the records end.
    pub(super) end: End,
}

/// Applies every intact record of `path` in order, up to its end or first damage.
pub(super) fn replay(path: &Path, mut apply: impl FnMut(Batch)) -> Result<Replayed, StoreError> {
    let mut file = File::open(path).map_err(|error| io(path, error))?;
    let size = file.metadata().map_err(|error| io(path, error))?.len();
    let mut reader = BufReader::new(&mut file);
    let mut offset = 0u64;
    let mut payload = Vec::new();
    while offset < size {
        let mut header = [0u8; HEADER_BYTES];
        let intact = size - offset >= HEADER_BYTES as u64
            && reader.read_exact(&mut header).is_ok()
            && match header_length(&header) {
                Some(length) if offset + (HEADER_BYTES + length) as u64 <= size => {
                    payload.resize(length, 0);
                    reader.read_exact(&mut payload).is_ok()
                        && checksum(&header[4..8], &payload)
                            == u32::from_le_bytes(header[8..].try_into().expect("four bytes"))
                }
                _ => false,
            };
        let batches = if intact {
            decode_payload(&payload)
        } else {
            None
        };
        let Some(batches) = batches else {
            drop(reader);
            let end = classify_damage(path, &mut file, offset)?;
            return Ok(Replayed {
                good_bytes: offset,
                end,
            });
        };
        batches.into_iter().for_each(&mut apply);
        offset += (HEADER_BYTES + payload.len()) as u64;
    }
    Ok(Replayed {
        good_bytes: offset,
        end: End::Clean,
    })
}

/// Whether an intact record follows the damaged one at `offset`: then the damage is not a
/// torn write.
fn classify_damage(path: &Path, file: &mut File, offset: u64) -> Result<End, StoreError> {
    file.seek(SeekFrom::Start(offset + 1))
        .map_err(|error| io(path, error))?;
    let mut rest = Vec::new();
    file.read_to_end(&mut rest)
        .map_err(|error| io(path, error))?;
    let found = rest
        .windows(MAGIC.len())
        .enumerate()
        .filter(|(_, window)| *window == MAGIC)
        .find(|(position, _)| intact_record(&rest[*position..]).is_some());
    Ok(match found {
        Some((position, _)) => End::Damaged {
            intact_at: offset + 1 + position as u64,
        },
        None => End::Torn,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(key: u8, value_bytes: usize) -> Batch {
        let mut batch = Batch::new();
        batch.put(vec![key], vec![key; value_bytes]);
        batch.delete(vec![key, 1]);
        batch.delete_prefix(vec![key, 2]);
        batch
    }

    fn file_of(records: &[Vec<u8>]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), records.concat()).unwrap();
        file
    }

    fn replay_keys(path: &Path) -> (Vec<u8>, Replayed) {
        let mut keys = Vec::new();
        let replayed = replay(path, |batch| match batch.operations.first() {
            Some(WriteOperation::Put { key, .. }) => keys.push(key[0]),
            Some(_) => panic!("puts first"),
            None => {}
        })
        .unwrap();
        (keys, replayed)
    }

    fn records(count: u8) -> Vec<Vec<u8>> {
        (0..count)
            .map(|key| record([encode_batch(&batch(key, 40)).as_slice()]))
            .collect()
    }

    #[test]
    fn test_batches_round_trip_through_a_record() {
        let batches = [batch(1, 0), batch(2, 1_000), Batch::new()];
        let encoded: Vec<Vec<u8>> = batches.iter().map(encode_batch).collect();
        let bytes = record(encoded.iter().map(Vec::as_slice));
        assert_eq!(intact_record(&bytes).unwrap(), batches);
        let file = file_of(&[bytes]);
        let (keys, replayed) = replay_keys(file.path());
        assert_eq!(keys, [1, 2]);
        assert_eq!(replayed.end, End::Clean);
    }

    #[test]
    fn test_every_cut_of_the_last_record_is_a_torn_tail() {
        let records = records(3);
        let whole = records.concat();
        let last_start = records[0].len() + records[1].len();
        for cut in last_start + 1..whole.len() {
            let file = file_of(&[whole[..cut].to_vec()]);
            let (keys, replayed) = replay_keys(file.path());
            assert_eq!(keys, [0, 1], "cut at {cut}");
            assert_eq!(replayed.good_bytes, last_start as u64);
            assert_eq!(replayed.end, End::Torn, "cut at {cut}");
        }
    }

    #[test]
    fn test_zeros_or_garbage_after_the_last_record_are_a_torn_tail() {
        for tail in [vec![0u8; 4_096], vec![0xa5; 100], MAGIC.to_vec()] {
            let mut records = records(2);
            records.push(tail);
            let file = file_of(&records);
            let (keys, replayed) = replay_keys(file.path());
            assert_eq!(keys, [0, 1]);
            assert_eq!(replayed.end, End::Torn);
        }
    }

    #[test]
    fn test_a_flipped_byte_before_an_intact_record_is_damage() {
        let records = records(3);
        let whole = records.concat();
        // Every byte of the first record: header, length, checksum, payload.
        for position in 0..records[0].len() {
            let mut bytes = whole.clone();
            bytes[position] ^= 0x40;
            let file = file_of(&[bytes]);
            let (keys, replayed) = replay_keys(file.path());
            assert!(keys.is_empty(), "byte {position}");
            assert_eq!(replayed.good_bytes, 0);
            assert!(
                matches!(replayed.end, End::Damaged { intact_at } if intact_at == records[0].len() as u64),
                "byte {position}: {:?}",
                replayed.end
            );
        }
    }

    #[test]
    fn test_lengths_that_lie_are_refused_without_allocating() {
        let mut bytes = records(1).concat();
        bytes[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(intact_record(&bytes).is_none());
        let file = file_of(&[bytes]);
        assert_eq!(replay_keys(file.path()).1.end, End::Torn);
        assert!(decode_batch(&[0, 0xff, 0xff, 0xff, 0xff]).is_none());
        assert!(decode_batch(&[7]).is_none());
    }
}
