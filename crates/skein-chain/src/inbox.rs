//! [`InboxStateView`]: the bundles one sender sent to a chain.
//!
//! A bundle is *added* when the cross-chain request carrying it arrives and *removed* when a
//! block consumes it. The two happen in any order: a certified block may consume a bundle
//! this validator has not received yet ("by anticipation"); the bundle then waits in
//! `removed_bundles` until it arrives and the two cancel out. Adding and removing commute,
//! which is what lets validators receive cross-chain requests in different orders and still
//! agree. At any time at least one of the two queues is empty.

use serde::{Deserialize, Serialize};
use skein_base::BlockHeight;
use skein_views::{KeyValueStore, QueueView, RegisterView, View};

use crate::block::{Cursor, MessageBundle};

/// Why a bundle could not be added to or removed from an inbox.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum InboxError {
    /// A bundle at this position was already consumed.
    #[error("the bundle at height {} index {} was already consumed", .cursor.height, .cursor.index)]
    AlreadyConsumed {
        /// Its position.
        cursor: Cursor,
    },
    /// A block skips over a bundle that must be consumed first.
    #[error("the bundle at height {} index {} must be consumed first", .expected.height, .expected.index)]
    SkippedBundle {
        /// The position of the bundle that comes first.
        expected: Cursor,
    },
    /// The bundle differs from the one at the same position.
    #[error("the bundle at height {} index {} differs from the one the sender sent", .cursor.height, .cursor.index)]
    UnexpectedBundle {
        /// Its position.
        cursor: Cursor,
    },
    /// The state could not be read.
    #[error("inbox storage error: {0}")]
    Storage(String),
}

impl From<skein_views::ViewError> for InboxError {
    fn from(error: skein_views::ViewError) -> Self {
        InboxError::Storage(error.to_string())
    }
}

/// The inbox of one sender.
#[derive(View)]
pub struct InboxStateView<S> {
    /// Bundles below this cursor have been added.
    next_cursor_to_add: RegisterView<S, Cursor>,
    /// Bundles below this cursor have been consumed.
    next_cursor_to_remove: RegisterView<S, Cursor>,
    /// Added, not yet consumed.
    added_bundles: QueueView<S, MessageBundle>,
    /// Consumed by anticipation, not yet added.
    removed_bundles: QueueView<S, MessageBundle>,
}

/// The cursor right after `cursor`.
fn next(cursor: Cursor) -> Cursor {
    Cursor {
        height: cursor.height,
        index: cursor.index.saturating_add(1),
    }
}

impl<S: KeyValueStore> InboxStateView<S> {
    /// The position after the last bundle added.
    pub fn next_cursor_to_add(&self) -> Cursor {
        *self.next_cursor_to_add.get()
    }

    /// The position after the last bundle consumed.
    pub fn next_cursor_to_remove(&self) -> Cursor {
        *self.next_cursor_to_remove.get()
    }

    /// Records the arrival of a bundle. Returns `false`, changing nothing, if a bundle at
    /// this position was already added: arrivals are idempotent.
    pub async fn add_bundle(&mut self, bundle: MessageBundle) -> Result<bool, InboxError> {
        let cursor = bundle.cursor();
        if cursor < self.next_cursor_to_add() {
            return Ok(false);
        }
        // Removals wait in order; the first one either is this bundle or lies beyond it.
        match self.removed_bundles.front().await? {
            Some(removed) if removed.cursor() == cursor => {
                if removed != bundle {
                    return Err(InboxError::UnexpectedBundle { cursor });
                }
                self.removed_bundles.delete_front();
            }
            Some(removed) if removed.cursor() < cursor => {
                return Err(InboxError::SkippedBundle {
                    expected: removed.cursor(),
                });
            }
            // A later bundle was consumed first: this one was skipped by a certified block
            // and is dropped, as every validator does.
            Some(_) => {}
            None => self.added_bundles.push_back(bundle),
        }
        self.next_cursor_to_add.set(next(cursor));
        Ok(true)
    }

    /// Takes the bundles consumed by anticipation before `cursor` as received. Only for a
    /// node that follows some of a chain's senders and not others (a client's): it executes
    /// blocks consuming bundles it will never receive, then learns of later ones.
    pub async fn skip_consumed_before(&mut self, cursor: Cursor) -> Result<(), InboxError> {
        while let Some(removed) = self.removed_bundles.front().await? {
            if removed.cursor() >= cursor {
                break;
            }
            self.removed_bundles.delete_front();
            let after = next(removed.cursor());
            if after > self.next_cursor_to_add() {
                self.next_cursor_to_add.set(after);
            }
        }
        Ok(())
    }

    /// Consumes a bundle picked by a block. Bundles must be consumed in order, none
    /// skipped; one not yet added is recorded as consumed by anticipation.
    pub async fn remove_bundle(&mut self, bundle: &MessageBundle) -> Result<(), InboxError> {
        let cursor = bundle.cursor();
        if cursor < self.next_cursor_to_remove() {
            return Err(InboxError::AlreadyConsumed { cursor });
        }
        match self.added_bundles.front().await? {
            Some(added) if added.cursor() == cursor => {
                if added != *bundle {
                    return Err(InboxError::UnexpectedBundle { cursor });
                }
                self.added_bundles.delete_front();
            }
            Some(added) => {
                return Err(InboxError::SkippedBundle {
                    expected: added.cursor(),
                });
            }
            None => {
                if cursor < self.next_cursor_to_add() {
                    // Added earlier and already consumed, or never sent: either way not
                    // something a block may consume now.
                    return Err(InboxError::AlreadyConsumed { cursor });
                }
                self.removed_bundles.push_back(bundle.clone());
            }
        }
        self.next_cursor_to_remove.set(next(cursor));
        Ok(())
    }

    /// The bundles received and not yet consumed.
    pub async fn pending_bundles(&self, count: usize) -> Result<Vec<MessageBundle>, InboxError> {
        Ok(self.added_bundles.read_front(count).await?)
    }

    /// The number of bundles received and not yet consumed.
    pub fn pending_count(&self) -> usize {
        self.added_bundles.count()
    }

    /// The first bundle consumed by anticipation and not yet received, if any: a proposal
    /// may not rely on such a bundle.
    pub async fn first_anticipated(&self) -> Result<Option<BlockHeight>, InboxError> {
        Ok(self
            .removed_bundles
            .front()
            .await?
            .map(|bundle| bundle.height))
    }

    /// Checks that at least one queue is empty.
    pub fn assert_invariants(&self) {
        assert!(
            self.added_bundles.is_empty() || self.removed_bundles.is_empty(),
            "an inbox holds both received and anticipated bundles"
        );
        assert!(
            self.added_bundles.is_empty()
                || self.next_cursor_to_remove() <= self.next_cursor_to_add(),
            "cursors are out of order"
        );
    }
}
