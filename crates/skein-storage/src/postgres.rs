//! [`PostgresStore`]: a store shared by the shards of a validator, over the PostgreSQL wire
//! protocol (so CockroachDB and YugabyteDB serve too).
//!
//! One table of `(k BYTEA PRIMARY KEY, v BYTEA)`. A batch is one transaction of three
//! statements — range deletions, key deletions, upserts of the final values — so a batch
//! commits entirely or not at all, whatever its size. Connections are pooled; a broken one
//! is replaced on next use.

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};

use skein_views::{
    prefix_upper_bound, Batch, KeyValueStore, KeyValues, StoreError, WriteOperation,
};
use tokio::sync::Mutex;
use tokio_postgres::{Client, NoTls};

/// Connections per store: enough for the concurrent requests of one shard.
const CONNECTIONS: usize = 8;

fn backend(error: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("postgres: {error}"))
}

/// A store in one table of a PostgreSQL database.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    table: String,
    connections: Vec<Mutex<Option<Client>>>,
    next: AtomicUsize,
}

/// Whether `name` is safe to splice into SQL as a table name.
pub(crate) fn is_valid_table_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

impl PostgresStore {
    /// Connects to the database at `url` (a `postgres://` URL) and creates `table` if needed.
    pub async fn connect(url: &str, table: &str) -> Result<Self, StoreError> {
        if !is_valid_table_name(table) {
            return Err(backend(format!(
                "invalid table name {table:?}: use lowercase letters, digits and underscores"
            )));
        }
        let inner = Inner {
            url: url.to_string(),
            table: table.to_string(),
            connections: (0..CONNECTIONS).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
        };
        let store = Self {
            inner: Arc::new(inner),
        };
        let create =
            format!("CREATE TABLE IF NOT EXISTS {table} (k BYTEA PRIMARY KEY, v BYTEA NOT NULL)");
        // Shards starting together may race to create the table: the loser retries.
        let mut attempts = 0;
        loop {
            let result = store
                .with_client(|client| {
                    let create = create.clone();
                    Box::pin(async move { client.batch_execute(&create).await.map_err(backend) })
                })
                .await;
            match result {
                Ok(()) => return Ok(store),
                Err(error) if attempts < 3 => {
                    attempts += 1;
                    tracing::debug!(%error, "creating the table again");
                }
                Err(error) => return Err(error),
            }
        }
    }

    async fn connect_one(url: &str) -> Result<Client, StoreError> {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await.map_err(backend)?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::warn!(%error, "postgres connection closed");
            }
        });
        Ok(client)
    }

    /// Runs `work` on a pooled connection, (re)connecting it first if needed.
    async fn with_client<T>(
        &self,
        work: impl for<'a> FnOnce(
            &'a mut Client,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<T, StoreError>> + Send + 'a>,
        >,
    ) -> Result<T, StoreError> {
        let index = self.inner.next.fetch_add(1, Ordering::Relaxed) % CONNECTIONS;
        let mut slot = self.inner.connections[index].lock().await;
        if slot.as_ref().is_none_or(|client| client.is_closed()) {
            *slot = Some(Self::connect_one(&self.inner.url).await?);
        }
        let client = slot.as_mut().expect("connected just above");
        let result = work(client).await;
        if result.is_err() && client.is_closed() {
            *slot = None;
        }
        result
    }

    fn range_query(&self, prefix: &[u8], columns: &str) -> (String, Vec<Vec<u8>>) {
        let table = &self.inner.table;
        match prefix_upper_bound(prefix) {
            Some(upper) => (
                format!("SELECT {columns} FROM {table} WHERE k >= $1 AND k < $2 ORDER BY k"),
                vec![prefix.to_vec(), upper],
            ),
            None => (
                format!("SELECT {columns} FROM {table} WHERE k >= $1 ORDER BY k"),
                vec![prefix.to_vec()],
            ),
        }
    }
}

fn as_params(values: &[Vec<u8>]) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)> {
    values
        .iter()
        .map(|value| value as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect()
}

impl KeyValueStore for PostgresStore {
    async fn read_value(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let query = format!("SELECT v FROM {} WHERE k = $1", self.inner.table);
        let key = key.to_vec();
        self.with_client(move |client| {
            Box::pin(async move {
                let row = client.query_opt(&query, &[&key]).await.map_err(backend)?;
                Ok(row.map(|row| row.get::<_, Vec<u8>>(0)))
            })
        })
        .await
    }

    async fn read_multi_values(
        &self,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let query = format!("SELECT k, v FROM {} WHERE k = ANY($1)", self.inner.table);
        let wanted = keys.to_vec();
        let found: BTreeMap<Vec<u8>, Vec<u8>> = self
            .with_client(move |client| {
                Box::pin(async move {
                    let rows = client.query(&query, &[&wanted]).await.map_err(backend)?;
                    Ok(rows
                        .into_iter()
                        .map(|row| (row.get::<_, Vec<u8>>(0), row.get::<_, Vec<u8>>(1)))
                        .collect())
                })
            })
            .await?;
        Ok(keys.iter().map(|key| found.get(key).cloned()).collect())
    }

    async fn find_key_values_by_prefix(&self, prefix: &[u8]) -> Result<KeyValues, StoreError> {
        let (query, params) = self.range_query(prefix, "k, v");
        let skip = prefix.len();
        self.with_client(move |client| {
            Box::pin(async move {
                let rows = client
                    .query(&query, &as_params(&params))
                    .await
                    .map_err(backend)?;
                Ok(rows
                    .into_iter()
                    .map(|row| {
                        let key: Vec<u8> = row.get(0);
                        (key[skip..].to_vec(), row.get::<_, Vec<u8>>(1))
                    })
                    .collect())
            })
        })
        .await
    }

    async fn find_keys_by_prefix(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        self.find_keys_by_prefix_up_to(prefix, usize::MAX).await
    }

    async fn find_keys_by_prefix_up_to(
        &self,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let (mut query, params) = self.range_query(prefix, "k");
        // PostgreSQL's LIMIT takes a bigint: beyond it there is no limit at all.
        if let Ok(limit) = i64::try_from(limit) {
            query.push_str(&format!(" LIMIT {limit}"));
        }
        let skip = prefix.len();
        self.with_client(move |client| {
            Box::pin(async move {
                let rows = client
                    .query(&query, &as_params(&params))
                    .await
                    .map_err(backend)?;
                Ok(rows
                    .into_iter()
                    .map(|row| row.get::<_, Vec<u8>>(0)[skip..].to_vec())
                    .collect())
            })
        })
        .await
    }

    async fn write_batch(&self, batch: Batch) -> Result<(), StoreError> {
        // Resolve the batch: prefix deletions first, then the final value of each key.
        let mut ranges: Vec<(Vec<u8>, Option<Vec<u8>>)> = Vec::new();
        let mut outcome: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        for operation in batch.operations {
            match operation {
                WriteOperation::Put { key, value } => {
                    outcome.insert(key, Some(value));
                }
                WriteOperation::Delete { key } => {
                    outcome.insert(key, None);
                }
                WriteOperation::DeletePrefix { key_prefix } => {
                    for (key, value) in outcome.iter_mut() {
                        if key.starts_with(&key_prefix) {
                            *value = None;
                        }
                    }
                    let upper = prefix_upper_bound(&key_prefix);
                    ranges.push((key_prefix, upper));
                }
            }
        }
        let (mut put_keys, mut put_values, mut deleted) = (Vec::new(), Vec::new(), Vec::new());
        for (key, value) in outcome {
            match value {
                Some(value) => {
                    put_keys.push(key);
                    put_values.push(value);
                }
                None => deleted.push(key),
            }
        }
        let table = self.inner.table.clone();
        self.with_client(move |client| {
            Box::pin(async move {
                let transaction = client.transaction().await.map_err(backend)?;
                for (lower, upper) in &ranges {
                    match upper {
                        Some(upper) => {
                            let query = format!("DELETE FROM {table} WHERE k >= $1 AND k < $2");
                            transaction
                                .execute(&query, &[lower, upper])
                                .await
                                .map_err(backend)?;
                        }
                        None => {
                            let query = format!("DELETE FROM {table} WHERE k >= $1");
                            transaction
                                .execute(&query, &[lower])
                                .await
                                .map_err(backend)?;
                        }
                    }
                }
                if !deleted.is_empty() {
                    let query = format!("DELETE FROM {table} WHERE k = ANY($1)");
                    transaction
                        .execute(&query, &[&deleted])
                        .await
                        .map_err(backend)?;
                }
                if !put_keys.is_empty() {
                    let query = format!(
                        "INSERT INTO {table} (k, v) SELECT * FROM UNNEST($1::BYTEA[], $2::BYTEA[]) \
                         ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v"
                    );
                    transaction
                        .execute(&query, &[&put_keys, &put_values])
                        .await
                        .map_err(backend)?;
                }
                transaction.commit().await.map_err(backend)
            })
        })
        .await
    }
}
