use futures::executor::block_on;
use proptest::prelude::*;
use skein_base::{crypto::CryptoHash, BlockHeight, Timestamp};
use skein_execution::{Message, MessageKind, SystemMessage};
use skein_views::{MemoryStore, View, ViewContext};

use crate::{Cursor, InboxError, InboxStateView, MessageBundle, PostedMessage};

fn bundle(height: u64, index: u32) -> MessageBundle {
    MessageBundle {
        height: BlockHeight(height),
        timestamp: Timestamp::from_micros(height),
        block_hash: CryptoHash::of_bytes(&height.to_le_bytes()),
        transaction_index: index,
        messages: vec![PostedMessage {
            authenticated_signer: None,
            kind: MessageKind::Tracked,
            message: Message::System(SystemMessage::Credit {
                source: None,
                target: None,
                amount: skein_base::Amount::from_attos(u128::from(height) * 10 + u128::from(index)),
            }),
        }],
    }
}

async fn inbox(store: &MemoryStore) -> InboxStateView<MemoryStore> {
    InboxStateView::load(ViewContext::new(store.clone(), vec![1]))
        .await
        .unwrap()
}

#[test]
fn test_inbox_add_then_remove_in_order() {
    block_on(async {
        let store = MemoryStore::new();
        let mut inbox = inbox(&store).await;
        assert!(inbox.add_bundle(bundle(1, 0)).await.unwrap());
        assert!(inbox.add_bundle(bundle(1, 2)).await.unwrap());
        assert!(
            !inbox.add_bundle(bundle(1, 0)).await.unwrap(),
            "a duplicate changes nothing"
        );
        assert_eq!(inbox.pending_count(), 2);
        // Skipping the first pending bundle is refused.
        assert_eq!(
            inbox.remove_bundle(&bundle(1, 2)).await,
            Err(InboxError::SkippedBundle {
                expected: Cursor {
                    height: BlockHeight(1),
                    index: 0
                }
            })
        );
        inbox.remove_bundle(&bundle(1, 0)).await.unwrap();
        assert_eq!(
            inbox.remove_bundle(&bundle(1, 0)).await,
            Err(InboxError::AlreadyConsumed {
                cursor: Cursor {
                    height: BlockHeight(1),
                    index: 0
                }
            })
        );
        inbox.remove_bundle(&bundle(1, 2)).await.unwrap();
        assert_eq!(inbox.pending_count(), 0);
        inbox.assert_invariants();
    });
}

#[test]
fn test_inbox_consumption_by_anticipation_is_reconciled() {
    block_on(async {
        let store = MemoryStore::new();
        let mut inbox = inbox(&store).await;
        inbox.remove_bundle(&bundle(2, 0)).await.unwrap();
        inbox.remove_bundle(&bundle(3, 1)).await.unwrap();
        assert_eq!(
            inbox.first_anticipated().await.unwrap(),
            Some(BlockHeight(2))
        );
        // A bundle that differs from what was consumed is refused.
        let mut forged = bundle(2, 0);
        forged.timestamp = Timestamp::from_micros(999);
        assert!(matches!(
            inbox.add_bundle(forged).await,
            Err(InboxError::UnexpectedBundle { .. })
        ));
        assert!(inbox.add_bundle(bundle(2, 0)).await.unwrap());
        assert!(inbox.add_bundle(bundle(3, 1)).await.unwrap());
        assert_eq!(inbox.first_anticipated().await.unwrap(), None);
        assert_eq!(
            inbox.pending_count(),
            0,
            "reconciled bundles are not queued again"
        );
        inbox.save().await.unwrap();
        let reloaded = inbox_reload(&store).await;
        assert_eq!(
            reloaded.next_cursor_to_add(),
            Cursor {
                height: BlockHeight(3),
                index: 2
            }
        );
        assert_eq!(
            reloaded.next_cursor_to_remove(),
            Cursor {
                height: BlockHeight(3),
                index: 2
            }
        );
    });
}

/// A client's node consumed bundles it never receives (blocks of a chain it follows took
/// them from a sender it does not follow); it can still take later bundles from that sender.
#[test]
fn test_partial_node_skips_bundles_it_will_never_receive() {
    block_on(async {
        let store = MemoryStore::new();
        let mut inbox = inbox(&store).await;
        for height in 1..=3 {
            inbox.remove_bundle(&bundle(height, 0)).await.unwrap();
        }
        // A validator would refuse a gap in arrivals.
        assert_eq!(
            inbox.add_bundle(bundle(5, 0)).await,
            Err(InboxError::SkippedBundle {
                expected: bundle(1, 0).cursor()
            })
        );
        inbox
            .skip_consumed_before(bundle(3, 0).cursor())
            .await
            .unwrap();
        // The third was consumed and arrives now: they cancel out.
        assert!(inbox.add_bundle(bundle(3, 0)).await.unwrap());
        assert!(
            !inbox.add_bundle(bundle(1, 0)).await.unwrap(),
            "skipped ones are old"
        );
        inbox
            .skip_consumed_before(bundle(5, 0).cursor())
            .await
            .unwrap();
        assert!(inbox.add_bundle(bundle(5, 0)).await.unwrap());
        assert_eq!(inbox.pending_count(), 1);
        inbox.remove_bundle(&bundle(5, 0)).await.unwrap();
        assert_eq!(inbox.pending_count(), 0);
    });
}

async fn inbox_reload(store: &MemoryStore) -> InboxStateView<MemoryStore> {
    inbox(store).await
}

proptest! {
    /// Adding and removing commute: for any interleaving of the arrivals (in order) and the
    /// consumptions (in order) of the same bundles, the inbox ends empty with the same
    /// cursors, and every step succeeds.
    #[test]
    fn prop_inbox_add_and_remove_commute(
        heights in prop::collection::btree_set(0u64..50, 1..12),
        interleaving in prop::collection::vec(any::<bool>(), 0..40),
        consumed_count in 0usize..12,
    ) {
        block_on(async {
            let bundles: Vec<MessageBundle> = heights.iter().map(|h| bundle(*h, (*h % 3) as u32)).collect();
            let consumed = consumed_count.min(bundles.len());
            let store = MemoryStore::new();
            let mut inbox = inbox(&store).await;
            let (mut added, mut removed) = (0, 0);
            let mut choices = interleaving.into_iter();
            while added < bundles.len() || removed < consumed {
                let add = match (added < bundles.len(), removed < consumed) {
                    (true, true) => choices.next().unwrap_or(true),
                    (can_add, _) => can_add,
                };
                if add {
                    assert!(inbox.add_bundle(bundles[added].clone()).await.unwrap());
                    added += 1;
                } else {
                    inbox.remove_bundle(&bundles[removed]).await.unwrap();
                    removed += 1;
                }
                inbox.assert_invariants();
            }
            assert_eq!(inbox.first_anticipated().await.unwrap(), None);
            let pending = inbox.pending_bundles(usize::MAX).await.unwrap();
            assert_eq!(pending, bundles[consumed..].to_vec());
            let last = bundles.last().unwrap().cursor();
            assert_eq!(inbox.next_cursor_to_add(), Cursor { height: last.height, index: last.index + 1 });
        });
    }
}
