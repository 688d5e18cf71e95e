use std::collections::{BTreeMap, VecDeque};

use futures::executor::block_on;
use proptest::prelude::*;

use crate::{
    CollectionView, HashedView, KeyValueStore, KeyValueView, LogView, MapView, MemoryStore,
    QueueView, RegisterView, SetView, View, ViewContext,
};

#[derive(crate::View)]
struct Inbox<S> {
    cursor: RegisterView<S, u64>,
    pending: QueueView<S, String>,
}

#[derive(crate::View)]
struct Chain<S> {
    height: RegisterView<S, u64>,
    log: LogView<S, u32>,
    balances: MapView<S, String, u64>,
    flags: SetView<S, u8>,
    inboxes: CollectionView<S, u32, Inbox<S>>,
}

fn context(store: &MemoryStore) -> ViewContext<MemoryStore> {
    ViewContext::new(store.clone(), b"chain".to_vec())
}

async fn load(store: &MemoryStore) -> Chain<MemoryStore> {
    Chain::load(context(store)).await.unwrap()
}

#[test]
fn test_derived_view_saves_and_reloads_every_field() {
    block_on(async {
        let store = MemoryStore::new();
        let mut chain = load(&store).await;
        assert!(!chain.has_pending_changes());
        chain.height.set(3);
        chain.log.push(10);
        chain.log.push(11);
        chain.balances.insert(&"alice".into(), 5);
        chain.flags.insert(&7);
        let inbox = chain.inboxes.load_entry_mut(&1).await.unwrap();
        inbox.cursor.set(9);
        inbox.pending.push_back("m1".into());
        inbox.pending.push_back("m2".into());
        assert!(chain.has_pending_changes());
        chain.save().await.unwrap();
        assert!(!chain.has_pending_changes());

        let mut chain = load(&store).await;
        assert_eq!(*chain.height.get(), 3);
        assert_eq!(chain.log.read(0..10).await.unwrap(), vec![10, 11]);
        assert_eq!(chain.log.get(1).await.unwrap(), Some(11));
        assert_eq!(chain.balances.get(&"alice".into()).await.unwrap(), Some(5));
        assert!(chain.flags.contains(&7).await.unwrap());
        assert_eq!(chain.inboxes.indices().await.unwrap(), vec![1]);
        let inbox = chain.inboxes.load_entry_mut(&1).await.unwrap();
        assert_eq!(*inbox.cursor.get(), 9);
        assert_eq!(inbox.pending.front().await.unwrap(), Some("m1".to_string()));
        inbox.pending.delete_front();
        assert_eq!(
            inbox.pending.elements().await.unwrap(),
            vec!["m2".to_string()]
        );
    });
}

#[test]
fn test_rollback_restores_the_stored_state() {
    block_on(async {
        let store = MemoryStore::new();
        let mut chain = load(&store).await;
        chain.height.set(1);
        chain.balances.insert(&"bob".into(), 2);
        chain
            .inboxes
            .load_entry_mut(&4)
            .await
            .unwrap()
            .cursor
            .set(1);
        chain.save().await.unwrap();
        let stored_keys = store.len();

        chain.height.set(100);
        chain.log.push(5);
        chain.balances.remove(&"bob".into());
        chain.inboxes.remove_entry(&4);
        chain
            .inboxes
            .load_entry_mut(&5)
            .await
            .unwrap()
            .cursor
            .set(7);
        chain.rollback();
        assert!(!chain.has_pending_changes());
        assert_eq!(*chain.height.get(), 1);
        assert_eq!(chain.log.count(), 0);
        assert_eq!(chain.balances.get(&"bob".into()).await.unwrap(), Some(2));
        assert_eq!(chain.inboxes.indices().await.unwrap(), vec![4]);
        assert_eq!(
            *chain.inboxes.load_entry_mut(&4).await.unwrap().cursor.get(),
            1
        );
        chain.save().await.unwrap();
        assert_eq!(
            store.len(),
            stored_keys,
            "a rolled-back view writes nothing"
        );
    });
}

#[test]
fn test_collection_removal_erases_the_sub_view() {
    block_on(async {
        let store = MemoryStore::new();
        let mut chain = load(&store).await;
        let inbox = chain.inboxes.load_entry_mut(&2).await.unwrap();
        inbox.pending.push_back("old".into());
        chain.save().await.unwrap();

        chain.inboxes.remove_entry(&2);
        assert!(!chain.inboxes.contains_key(&2).await.unwrap());
        // Re-creating the entry in the same batch starts from empty.
        let inbox = chain.inboxes.load_entry_mut(&2).await.unwrap();
        assert!(inbox.pending.is_empty());
        inbox.pending.push_back("new".into());
        chain.save().await.unwrap();

        let mut chain = load(&store).await;
        let inbox = chain.inboxes.load_entry_mut(&2).await.unwrap();
        assert_eq!(
            inbox.pending.elements().await.unwrap(),
            vec!["new".to_string()]
        );

        chain.inboxes.remove_entry(&2);
        chain.save().await.unwrap();
        let chain = load(&store).await;
        assert!(chain.inboxes.indices().await.unwrap().is_empty());
        let remaining = store
            .find_keys_by_prefix(b"chain")
            .await
            .unwrap()
            .into_iter()
            .filter(|key| key.first() == Some(&4))
            .count();
        assert_eq!(remaining, 0, "no key of the removed inbox is left behind");
    });
}

#[test]
fn test_clear_then_save_empties_everything() {
    block_on(async {
        let store = MemoryStore::new();
        let mut chain = load(&store).await;
        chain.log.push(1);
        chain.balances.insert(&"x".into(), 1);
        chain
            .inboxes
            .load_entry_mut(&1)
            .await
            .unwrap()
            .cursor
            .set(3);
        chain.save().await.unwrap();
        chain.clear();
        chain.save().await.unwrap();
        let mut chain = load(&store).await;
        assert_eq!(chain.log.count(), 0);
        assert!(chain.balances.key_values().await.unwrap().is_empty());
        assert!(chain.inboxes.indices().await.unwrap().is_empty());
        assert_eq!(
            *chain.inboxes.load_entry_mut(&1).await.unwrap().cursor.get(),
            0
        );
    });
}

#[test]
fn test_hashed_view_agrees_across_replicas_and_ignores_location() {
    block_on(async {
        type Hashed = HashedView<MemoryStore, Chain<MemoryStore>>;
        let first_store = MemoryStore::new();
        let second_store = MemoryStore::new();
        let mut first = Hashed::load(ViewContext::new(first_store.clone(), vec![1]))
            .await
            .unwrap();
        let mut second = Hashed::load(ViewContext::new(second_store, vec![2, 2, 2]))
            .await
            .unwrap();
        assert_eq!(first.hash().unwrap(), second.hash().unwrap());
        let initial = first.hash().unwrap();

        for view in [&mut first, &mut second] {
            view.height.set(1);
            view.balances.insert(&"a".into(), 10);
        }
        let pending = first.hash().unwrap();
        assert_ne!(pending, initial);
        assert_eq!(pending, second.hash().unwrap());
        first.save().await.unwrap();
        second.save().await.unwrap();
        assert_eq!(
            first.hash().unwrap(),
            pending,
            "saving keeps the announced hash"
        );

        let reloaded = Hashed::load(ViewContext::new(first_store, vec![1]))
            .await
            .unwrap();
        assert_eq!(reloaded.hash().unwrap(), pending);

        first.balances.insert(&"a".into(), 11);
        assert_ne!(first.hash().unwrap(), second.hash().unwrap());
        first.rollback();
        assert_eq!(first.hash().unwrap(), second.hash().unwrap());
    });
}

#[derive(Clone, Debug)]
enum Step {
    Insert(u8, u16),
    Remove(u8),
    Push(u16),
    PopFront,
    Save,
    Rollback,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (any::<u8>(), any::<u16>()).prop_map(|(k, v)| Step::Insert(k % 16, v)),
        any::<u8>().prop_map(|k| Step::Remove(k % 16)),
        any::<u16>().prop_map(Step::Push),
        Just(Step::PopFront),
        Just(Step::Save),
        Just(Step::Rollback),
    ]
}

#[derive(crate::View)]
struct Model<S> {
    map: MapView<S, u8, u16>,
    queue: QueueView<S, u16>,
    log: LogView<S, u16>,
    raw: KeyValueView<S>,
}

/// A raw key for `KeyValueView`: keys share one of four first bytes, so prefix scans
/// have something to tell apart.
fn raw_key(key: u8) -> Vec<u8> {
    vec![key % 4, key]
}

/// The model's keys under `prefix`, without it, as `KeyValueView` lists them.
fn model_keys(map: &BTreeMap<u8, u16>, prefix: &[u8]) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = map
        .keys()
        .map(|key| raw_key(*key))
        .filter_map(|key| key.strip_prefix(prefix).map(<[u8]>::to_vec))
        .collect();
    keys.sort();
    keys
}

proptest! {
    /// Views behave like their in-memory models through any mix of changes, saves and
    /// rollbacks, and a reload always sees exactly what was last saved.
    #[test]
    fn prop_views_match_models(steps in prop::collection::vec(step(), 0..60)) {
        block_on(async {
            let store = MemoryStore::new();
            let context = ViewContext::new(store.clone(), vec![9]);
            let mut view = Model::load(context.clone()).await.unwrap();
            let (mut map, mut queue, mut log) = (BTreeMap::new(), VecDeque::new(), Vec::new());
            let mut saved = (map.clone(), queue.clone(), log.clone());
            for step in steps {
                match step {
                    Step::Insert(key, value) => {
                        view.map.insert(&key, value); map.insert(key, value);
                        view.raw.insert(raw_key(key), value.to_be_bytes().to_vec());
                    }
                    Step::Remove(key) => { view.map.remove(&key); map.remove(&key); view.raw.remove(raw_key(key)); }
                    Step::Push(value) => {
                        view.queue.push_back(value); queue.push_back(value);
                        view.log.push(value); log.push(value);
                    }
                    Step::PopFront => { view.queue.delete_front(); queue.pop_front(); }
                    Step::Save => { view.save().await.unwrap(); saved = (map.clone(), queue.clone(), log.clone()); }
                    Step::Rollback => { view.rollback(); (map, queue, log) = saved.clone(); }
                }
                let entries: BTreeMap<u8, u16> = view.map.key_values().await.unwrap().into_iter().collect();
                assert_eq!(entries, map);
                assert_eq!(view.queue.elements().await.unwrap(), Vec::from(queue.clone()));
                assert_eq!(view.queue.front().await.unwrap(), queue.front().copied());
                assert_eq!(view.log.read(0..u64::MAX).await.unwrap(), log);
                for prefix in [&[][..], &[1], &[2, 6]] {
                    // A scan cut short sees the same first keys, whatever is pending.
                    for limit in [0, 1, 2, 5, usize::MAX] {
                        let expected: Vec<Vec<u8>> = model_keys(&map, prefix).into_iter().take(limit).collect();
                        assert_eq!(view.raw.find_keys_by_prefix(prefix, limit).await.unwrap(), expected);
                    }
                }
                for key in 0..16u8 {
                    let expected = map.get(&key).map(|value| value.to_be_bytes().to_vec());
                    assert_eq!(view.raw.get(&raw_key(key)).await.unwrap(), expected);
                }
            }
            let reloaded = Model::load(context).await.unwrap();
            let entries: BTreeMap<u8, u16> = reloaded.map.key_values().await.unwrap().into_iter().collect();
            assert_eq!(entries, saved.0);
            assert_eq!(reloaded.queue.elements().await.unwrap(), Vec::from(saved.1));
            assert_eq!(reloaded.log.read(0..u64::MAX).await.unwrap(), saved.2);
            assert_eq!(reloaded.raw.find_keys_by_prefix(&[], usize::MAX).await.unwrap(), model_keys(&saved.0, &[]));
        });
    }
}
