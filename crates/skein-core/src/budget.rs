//! [`ByteBudget`]: what keeps a list within a number of bytes, however large its items are:
//! a validator's answer (certificates, bundles) within what one message carries, and the
//! bundles a client stages within what one block holds.
//!
//! Answers are lists a client pages through (certificates from a height on, the bundles
//! waiting in an inbox, the bundles of a cross-chain request): a cut list is a page, and
//! the client asks again from where it stopped. Counting items alone is not enough, since
//! one certified block may weigh megabytes; the budget counts the bytes.

use serde::Serialize;
use skein_base::limits;

/// The bytes left for one list (or several sharing one answer).
#[derive(Debug)]
pub(crate) struct ByteBudget {
    left: usize,
    empty: bool,
}

impl ByteBudget {
    /// A budget for one whole answer of a validator.
    pub(crate) fn for_answer() -> Self {
        Self::new(limits::RESPONSE_BYTES_MAX)
    }

    /// A budget of `bytes`.
    pub(crate) fn new(bytes: usize) -> Self {
        Self {
            left: bytes,
            empty: true,
        }
    }

    /// Whether `item` may go in; if so, its bytes are counted. The first item always may
    /// (every item fits a message, or a block, on its own by the block limits), so a page
    /// is never empty while items remain.
    pub(crate) fn admits(&mut self, item: &impl Serialize) -> bool {
        let bytes = skein_base::encoding::encoded_len(item);
        if bytes <= self.left || self.empty {
            self.left = self.left.saturating_sub(bytes);
            self.empty = false;
            true
        } else {
            self.left = 0;
            false
        }
    }

    /// The longest prefix of `items` the budget admits.
    pub(crate) fn take<T: Serialize>(&mut self, items: impl IntoIterator<Item = T>) -> Vec<T> {
        items
            .into_iter()
            .take_while(|item| self.admits(item))
            .collect()
    }

    /// Moves the longest prefix of `items` the budget admits into `out`; returns whether
    /// all of them fit, that is whether to go on with the next part of the list.
    pub(crate) fn take_into<T: Serialize>(&mut self, items: Vec<T>, out: &mut Vec<T>) -> bool {
        let offered = items.len();
        let kept = self.take(items);
        let all = kept.len() == offered;
        out.extend(kept);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::ByteBudget;

    #[test]
    fn test_a_budget_keeps_a_prefix_and_never_nothing() {
        let items = vec![vec![1u8; 100], vec![2; 100], vec![3; 10]];
        // Each vector encodes as one length byte plus its contents.
        assert_eq!(ByteBudget::new(202).take(items.clone()).len(), 2);
        assert_eq!(ByteBudget::new(201).take(items.clone()).len(), 1);
        assert_eq!(
            ByteBudget::new(5).take(items.clone()).len(),
            1,
            "the first item alone, too large or not"
        );
        let mut shared = ByteBudget::new(150);
        assert_eq!(shared.take(items.clone()).len(), 1);
        assert!(
            shared.take(items.clone()).is_empty(),
            "a later list of the same answer gets only what is left"
        );
        let mut out = Vec::new();
        assert!(ByteBudget::new(1_000).take_into(items.clone(), &mut out));
        assert_eq!(out.len(), 3);
        out.clear();
        assert!(!ByteBudget::new(150).take_into(items, &mut out));
        assert_eq!(out.len(), 1);
    }
}
