//! Crashes, failed writes and damage, against the files of a real directory.

use std::{collections::BTreeMap, path::Path};

use futures::executor::block_on;
use skein_views::{Batch, KeyValueStore};

use super::{
    files::{log_path, snapshot_path},
    legacy,
    record::{encode_batch, record},
    LogStore,
};

fn put(key: u8, value: u8) -> Batch {
    let mut batch = Batch::new();
    batch.put(vec![key], vec![value; 10]);
    batch
}

fn write(store: &LogStore, batch: Batch) {
    block_on(store.write_batch(batch)).unwrap();
}

fn contents(directory: &Path) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let store = LogStore::open(directory, false).unwrap();
    block_on(store.find_key_values_by_prefix(&[]))
        .unwrap()
        .into_iter()
        .collect()
}

fn expected(pairs: &[(u8, u8)]) -> BTreeMap<Vec<u8>, Vec<u8>> {
    pairs
        .iter()
        .map(|(key, value)| (vec![*key], vec![*value; 10]))
        .collect()
}

fn records_of(batches: &[Batch]) -> Vec<u8> {
    batches
        .iter()
        .flat_map(|batch| record([encode_batch(batch).as_slice()]))
        .collect()
}

/// A crash in the middle of writing a batch: the torn batch is dropped whole, everything
/// before it is kept, and the store goes on from there.
#[test]
fn test_a_torn_last_batch_is_dropped_and_writing_goes_on() {
    let directory = tempfile::tempdir().unwrap();
    {
        let store = LogStore::open(directory.path(), false).unwrap();
        for key in 0u8..3 {
            write(&store, put(key, key));
        }
    }
    let log = log_path(directory.path(), 0);
    let length = std::fs::metadata(&log).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&log).unwrap();
    file.set_len(length - 5).unwrap();
    drop(file);
    {
        let store = LogStore::open(directory.path(), false).unwrap();
        assert_eq!(
            block_on(store.find_key_values_by_prefix(&[]))
                .unwrap()
                .len(),
            2,
            "the torn batch is gone whole"
        );
        write(&store, put(9, 9));
    }
    // Zeros after the last batch (a file extended, its data never written) go too.
    let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    std::io::Write::write_all(&mut file, &[0; 4_096]).unwrap();
    drop(file);
    assert_eq!(
        contents(directory.path()),
        expected(&[(0, 0), (1, 1), (9, 9)])
    );
}

/// Damage with intact records after it is not a crash: the store refuses to open, names
/// the file and byte, and leaves the file as it found it.
#[test]
fn test_damage_in_the_middle_refuses_to_open() {
    let directory = tempfile::tempdir().unwrap();
    {
        let store = LogStore::open(directory.path(), true).unwrap();
        for key in 0u8..5 {
            write(&store, put(key, key));
        }
    }
    let log = log_path(directory.path(), 0);
    let mut bytes = std::fs::read(&log).unwrap();
    let second_record = bytes.len() / 5;
    bytes[second_record + 20] ^= 0x01;
    std::fs::write(&log, &bytes).unwrap();
    let error = LogStore::open(directory.path(), false)
        .err()
        .expect("refused");
    let message = error.to_string();
    assert!(
        message.contains("log.0 is damaged at byte")
            && message.contains(&format!("byte {second_record}"))
            && message.contains("intact record follows"),
        "{message}"
    );
    assert_eq!(std::fs::read(&log).unwrap(), bytes, "nothing was cut");
}

/// A write that fails half way is cut from the log at once: the batches written after it
/// are not lost behind a torn record when the store is opened again.
#[test]
fn test_a_failed_partial_append_loses_no_later_batch() {
    let directory = tempfile::tempdir().unwrap();
    {
        let store = LogStore::open(directory.path(), true).unwrap();
        write(&store, put(1, 1));
        store.fail_next_append_after(7);
        let error = block_on(store.write_batch(put(2, 2))).unwrap_err();
        assert!(
            error.to_string().contains("injected write failure"),
            "{error}"
        );
        assert_eq!(
            block_on(store.read_value(&[2])).unwrap(),
            None,
            "a failed batch is not visible"
        );
        write(&store, put(3, 3));
    }
    assert_eq!(contents(directory.path()), expected(&[(1, 1), (3, 3)]));
}

/// Compaction runs beside the writes: a snapshot of the next generation replaces the old
/// files, and the contents are the same when opened again.
#[test]
fn test_compaction_keeps_contents_and_removes_old_generations() {
    let directory = tempfile::tempdir().unwrap();
    let mut model = BTreeMap::new();
    {
        let store = LogStore::open_with_compaction(directory.path(), false, 4_096).unwrap();
        for round in 0u32..2_000 {
            let mut batch = Batch::new();
            let key = (round % 37).to_be_bytes().to_vec();
            if round % 5 == 0 {
                batch.delete(key.clone());
                model.remove(&key);
            } else {
                batch.put(key.clone(), round.to_le_bytes().to_vec());
                model.insert(key, round.to_le_bytes().to_vec());
            }
            block_on(store.write_batch(batch)).unwrap();
        }
        store.wait_for_compaction();
        let generation = store.shared.state.lock().generation;
        assert!(generation >= 1, "the log was compacted");
        assert!(snapshot_path(directory.path(), generation).exists());
        assert!(!log_path(directory.path(), generation - 1).exists());
        assert!(!snapshot_path(directory.path(), generation - 1).exists());
    }
    let store = LogStore::open(directory.path(), false).unwrap();
    let reopened: BTreeMap<Vec<u8>, Vec<u8>> = block_on(store.find_key_values_by_prefix(&[]))
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(reopened, model);
}

/// Every point at which a crash can stop a compaction opens to the same contents.
#[test]
fn test_a_compaction_stopped_anywhere_opens_to_the_same_contents() {
    let old = [put(1, 1), put(2, 2)];
    let new = [put(2, 7), put(3, 3)];
    let want = expected(&[(1, 1), (2, 7), (3, 3)]);
    let snapshot_of_old = records_of(&[{
        let mut batch = put(1, 1);
        batch.put(vec![2], vec![2; 10]);
        batch
    }]);
    type Files = Vec<(&'static str, Vec<u8>)>;
    let stages: [(&str, Files); 4] = [
        (
            "the new log started, no snapshot yet",
            vec![("log.0", records_of(&old)), ("log.1", records_of(&new))],
        ),
        (
            "the snapshot half written",
            vec![
                ("log.0", records_of(&old)),
                ("log.1", records_of(&new)),
                ("snapshot.1.tmp", snapshot_of_old[..9].to_vec()),
            ],
        ),
        (
            "the snapshot in place, the old log not yet deleted",
            vec![
                ("log.0", records_of(&old)),
                ("snapshot.1", snapshot_of_old.clone()),
                ("log.1", records_of(&new)),
            ],
        ),
        (
            "the old files deleted",
            vec![
                ("snapshot.1", snapshot_of_old.clone()),
                ("log.1", records_of(&new)),
            ],
        ),
    ];
    for (stage, files) in stages {
        let directory = tempfile::tempdir().unwrap();
        for (name, bytes) in &files {
            std::fs::write(directory.path().join(name), bytes).unwrap();
        }
        assert_eq!(contents(directory.path()), want, "{stage}");
        let names: Vec<String> = std::fs::read_dir(directory.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| name != "LOCK")
            .collect();
        let snapshot_in_place = names.iter().any(|name| name == "snapshot.1");
        assert!(
            names.iter().all(|name| !name.ends_with(".tmp")),
            "{stage}: {names:?}"
        );
        assert_eq!(
            names.iter().any(|name| name == "log.0"),
            !snapshot_in_place,
            "{stage}: the old log goes once the snapshot holds it: {names:?}"
        );
    }
}

/// A log that is not the newest was synced before the next began: a torn end there is
/// damage, and so is a missing generation.
#[test]
fn test_older_logs_must_be_whole() {
    let directory = tempfile::tempdir().unwrap();
    let mut older = records_of(&[put(1, 1), put(2, 2)]);
    older.truncate(older.len() - 3);
    std::fs::write(directory.path().join("log.0"), &older).unwrap();
    std::fs::write(directory.path().join("log.1"), records_of(&[put(3, 3)])).unwrap();
    let message = LogStore::open(directory.path(), false)
        .err()
        .expect("refused")
        .to_string();
    assert!(message.contains("log.0 is damaged"), "{message}");

    let directory = tempfile::tempdir().unwrap();
    std::fs::write(directory.path().join("log.0"), records_of(&[put(1, 1)])).unwrap();
    std::fs::write(directory.path().join("log.2"), records_of(&[put(3, 3)])).unwrap();
    let message = LogStore::open(directory.path(), false)
        .err()
        .expect("refused")
        .to_string();
    assert!(message.contains("log.1 is missing"), "{message}");
}

/// A directory of the first format (a wallet's store from an older release) opens with its
/// contents and is moved to generations.
#[test]
fn test_a_directory_of_the_first_format_is_moved() {
    let directory = tempfile::tempdir().unwrap();
    legacy::write_for_test(directory.path(), &[put(1, 1), put(2, 2)], &[put(2, 5)]);
    assert_eq!(contents(directory.path()), expected(&[(1, 1), (2, 5)]));
    assert!(!directory.path().join(legacy::LOG).exists());
    assert!(!directory.path().join(legacy::SNAPSHOT).exists());
    {
        let store = LogStore::open(directory.path(), true).unwrap();
        write(&store, put(3, 3));
    }
    assert_eq!(
        contents(directory.path()),
        expected(&[(1, 1), (2, 5), (3, 3)])
    );
}

/// Writers on many threads share group commits; every acknowledged batch is there after
/// opening again, in an order consistent with each writer's own.
#[test]
fn test_concurrent_synced_writers_lose_nothing() {
    let directory = tempfile::tempdir().unwrap();
    {
        let store = LogStore::open_with_compaction(directory.path(), true, 64 << 10).unwrap();
        std::thread::scope(|scope| {
            for writer in 0u8..6 {
                let store = store.clone();
                scope.spawn(move || {
                    for round in 0u8..60 {
                        let mut batch = Batch::new();
                        batch.put(vec![writer], vec![round; 300]);
                        batch.put(vec![writer, round], vec![round]);
                        block_on(store.write_batch(batch)).unwrap();
                    }
                });
            }
        });
    }
    let reopened = contents(directory.path());
    for writer in 0u8..6 {
        assert_eq!(reopened[&vec![writer]], vec![59; 300]);
        for round in 0u8..60 {
            assert_eq!(reopened[&vec![writer, round]], vec![round]);
        }
    }
}
