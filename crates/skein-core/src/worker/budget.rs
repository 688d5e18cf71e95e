//! [`ResponseBudget`]: what keeps a validator's answer (certificates, bundles) within the
//! bytes one message may carry, however large the items are.
//!
//! Answers are lists a client pages through (certificates from a height on, the bundles
//! waiting in an inbox, the bundles of a cross-chain request): a cut list is a page, and
//! the client asks again from where it stopped. Counting items alone is not enough, since
//! one certified block may weigh megabytes; the budget counts the bytes.

use serde::Serialize;
use skein_base::limits;

/// The bytes left for one answer.
#[derive(Debug)]
pub(crate) struct ResponseBudget {
    left: usize,
    empty: bool,
}

impl ResponseBudget {
    /// A budget for one whole answer.
    pub(crate) fn new() -> Self {
        Self::with_bytes(limits::RESPONSE_BYTES_MAX)
    }

    /// A budget of `bytes`, for tests.
    pub(crate) fn with_bytes(bytes: usize) -> Self {
        Self {
            left: bytes,
            empty: true,
        }
    }

    /// Whether `item` may go in the answer; if so, its bytes are counted. The first item
    /// of an answer always may (every item fits a message on its own by the block limits),
    /// so a page is never empty while items remain.
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
}

#[cfg(test)]
mod tests {
    use super::ResponseBudget;

    #[test]
    fn test_a_budget_keeps_a_prefix_and_never_nothing() {
        let items = vec![vec![1u8; 100], vec![2; 100], vec![3; 10]];
        // Each vector encodes as one length byte plus its contents.
        assert_eq!(ResponseBudget::with_bytes(202).take(items.clone()).len(), 2);
        assert_eq!(ResponseBudget::with_bytes(201).take(items.clone()).len(), 1);
        assert_eq!(
            ResponseBudget::with_bytes(5).take(items.clone()).len(),
            1,
            "the first item alone, too large or not"
        );
        let mut shared = ResponseBudget::with_bytes(150);
        assert_eq!(shared.take(items.clone()).len(), 1);
        assert!(
            shared.take(items).is_empty(),
            "a later list of the same answer gets only what is left"
        );
    }
}
