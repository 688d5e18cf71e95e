//! The same conformance checks, run on every backend.

use futures::executor::block_on;
use skein_views::{Batch, KeyValueStore, MapView, MemoryStore, View, ViewContext};

use crate::{AnyStore, LogStore, LsmStore, StorageUri};

async fn check_store_semantics<S: KeyValueStore>(store: S) {
    let mut batch = Batch::new();
    batch.put(b"a1".to_vec(), b"x".to_vec());
    batch.put(b"a2".to_vec(), b"y".to_vec());
    batch.put(b"b1".to_vec(), b"z".to_vec());
    batch.put(vec![0xff, 0xff], b"edge".to_vec());
    store.write_batch(batch).await.unwrap();

    assert_eq!(store.read_value(b"a1").await.unwrap(), Some(b"x".to_vec()));
    assert_eq!(store.read_value(b"zz").await.unwrap(), None);
    assert_eq!(
        store
            .read_multi_values(&[b"b1".to_vec(), b"nope".to_vec(), b"a2".to_vec()])
            .await
            .unwrap(),
        vec![Some(b"z".to_vec()), None, Some(b"y".to_vec())]
    );
    assert_eq!(
        store.find_key_values_by_prefix(b"a").await.unwrap(),
        vec![
            (b"1".to_vec(), b"x".to_vec()),
            (b"2".to_vec(), b"y".to_vec())
        ]
    );
    assert_eq!(
        store.find_keys_by_prefix(&[0xff]).await.unwrap(),
        vec![vec![0xff]]
    );
    // A scan cut short keeps the first keys, in order.
    for (limit, expected) in [(0, 0), (1, 1), (2, 2), (5, 2)] {
        let keys = store.find_keys_by_prefix_up_to(b"a", limit).await.unwrap();
        assert_eq!(
            keys,
            [b"1".to_vec(), b"2".to_vec()][..expected],
            "limit {limit}"
        );
    }
    assert_eq!(
        store.find_keys_by_prefix_up_to(&[], 1).await.unwrap(),
        vec![b"a1".to_vec()]
    );

    // Within one batch, operations apply in order: a prefix deletion removes keys stored
    // before and keys put earlier in the batch, but not keys put after it.
    let mut batch = Batch::new();
    batch.put(b"a3".to_vec(), b"w".to_vec());
    batch.delete_prefix(b"a".to_vec());
    batch.put(b"a4".to_vec(), b"v".to_vec());
    batch.delete(b"b1".to_vec());
    store.write_batch(batch).await.unwrap();
    assert_eq!(
        store.find_keys_by_prefix(b"a").await.unwrap(),
        vec![b"4".to_vec()]
    );
    assert_eq!(store.read_value(b"b1").await.unwrap(), None);

    // Views work on top of the backend.
    let context = ViewContext::new(store.clone(), vec![9]);
    let mut map = MapView::<S, u32, String>::load(context.clone())
        .await
        .unwrap();
    map.insert(&1, "one".into());
    map.save().await.unwrap();
    let map = MapView::<S, u32, String>::load(context).await.unwrap();
    assert_eq!(map.get(&1).await.unwrap(), Some("one".to_string()));
}

#[test]
fn test_memory_store_semantics() {
    block_on(check_store_semantics(MemoryStore::new()));
}

#[test]
fn test_lsm_store_semantics_and_persistence() {
    let directory = tempfile::tempdir().unwrap();
    {
        let store = LsmStore::open(directory.path(), false).unwrap();
        block_on(check_store_semantics(store));
    }
    let reopened = LsmStore::open(directory.path(), true).unwrap();
    assert_eq!(
        block_on(reopened.read_value(b"a4")).unwrap(),
        Some(b"v".to_vec()),
        "data written before closing is there after reopening"
    );
}

#[test]
fn test_log_store_semantics_and_persistence() {
    let directory = tempfile::tempdir().unwrap();
    {
        let store = LogStore::open(directory.path(), false).unwrap();
        block_on(check_store_semantics(store.clone()));
        assert!(
            LogStore::open(directory.path(), false).is_err(),
            "one process per directory"
        );
    }
    let reopened = LogStore::open(directory.path(), true).unwrap();
    assert_eq!(
        block_on(reopened.read_value(b"a4")).unwrap(),
        Some(b"v".to_vec())
    );
    assert_eq!(
        block_on(reopened.read_value(b"a1")).unwrap(),
        None,
        "deletions replay too"
    );
    assert_eq!(
        block_on(reopened.find_keys_by_prefix(b"a")).unwrap(),
        vec![b"4".to_vec()]
    );
}

#[test]
fn test_any_store_from_uri() {
    let directory = tempfile::tempdir().unwrap();
    let uri: StorageUri = format!("embedded:{}?sync", directory.path().display())
        .parse()
        .unwrap();
    assert!(matches!(uri, StorageUri::Embedded { sync: true, .. }));
    assert_eq!(uri.to_string().parse::<StorageUri>().unwrap(), uri);
    block_on(async {
        check_store_semantics(AnyStore::open(&uri).await.unwrap()).await;
        check_store_semantics(AnyStore::open(&"memory".parse().unwrap()).await.unwrap()).await;
    });
    let postgres: StorageUri = "postgres://me@localhost:5432/db?sslmode=disable&table=validator_1"
        .parse()
        .unwrap();
    assert_eq!(
        postgres,
        StorageUri::Postgres {
            url: "postgres://me@localhost:5432/db?sslmode=disable".into(),
            table: "validator_1".into()
        }
    );
    assert_eq!(
        postgres.to_string().parse::<StorageUri>().unwrap(),
        postgres
    );
    assert!("postgres://h/db?table=Robert'); DROP"
        .parse::<StorageUri>()
        .is_err());
    assert!("embedded:".parse::<StorageUri>().is_err());
    let lsm: StorageUri = format!("lsm:{}", directory.path().join("lsm").display())
        .parse()
        .unwrap();
    assert!(
        matches!(lsm, StorageUri::Lsm { sync: true, .. }),
        "local stores are durable unless told otherwise"
    );
    let fast: StorageUri = format!("embedded:{}?nosync", directory.path().display())
        .parse()
        .unwrap();
    assert!(matches!(fast, StorageUri::Embedded { sync: false, .. }));
    assert_eq!(fast.to_string().parse::<StorageUri>().unwrap(), fast);
    assert_eq!(
        uri.to_string(),
        format!("embedded:{}", directory.path().display())
    );
    block_on(async {
        check_store_semantics(AnyStore::open(&lsm).await.unwrap()).await;
    });
    assert!("rocksdb:/tmp".parse::<StorageUri>().is_err());
}

/// The same checks against a real PostgreSQL server that the test starts, plus several
/// stores (shards) sharing one table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_postgres_store_semantics() {
    let server =
        crate::test_postgres::TestPostgres::start().expect("a PostgreSQL server for the test");
    let store = crate::PostgresStore::connect(&server.url(), "semantics")
        .await
        .unwrap();
    check_store_semantics(store.clone()).await;
    // A second connection pool on the same table sees the same data.
    let other = crate::PostgresStore::connect(&server.url(), "semantics")
        .await
        .unwrap();
    assert_eq!(other.read_value(b"a4").await.unwrap(), Some(b"v".to_vec()));
    // Another table is another store.
    let separate = crate::PostgresStore::connect(&server.url(), "other_table")
        .await
        .unwrap();
    assert_eq!(separate.read_value(b"a4").await.unwrap(), None);
    // Large batches commit whole.
    let mut batch = Batch::new();
    for index in 0u32..2_000 {
        batch.put(index.to_be_bytes().to_vec(), vec![7; 100]);
    }
    separate.write_batch(batch).await.unwrap();
    assert_eq!(
        separate.find_keys_by_prefix(&[]).await.unwrap().len(),
        2_000
    );
}
