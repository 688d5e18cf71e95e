//! Asking validators without waiting on one that is not needed.
//!
//! A validator on a hung machine keeps a connection open and never answers; each request to
//! it costs the whole request timeout. So the client asks everyone at once and stops
//! listening once the answers in hand weigh a quorum ([`Client::ask_quorum`]); it remembers
//! who kept it waiting, and asks those last when one answer is enough
//! ([`Client::validators_by_preference`]); and a command about to exit waits for
//! background deliveries only as long as a responsive validator would take
//! ([`Client::straggler_grace`]).

use std::{
    future::Future,
    sync::{atomic::Ordering, Arc},
};

use futures::{channel::mpsc, stream::FuturesUnordered, StreamExt};
use skein_base::{TimeDelta, ValidatorPublicKey};
use skein_chain::AnyCertificate;
use skein_views::KeyValueStore;

use super::{Client, Membership, ValidatorEntry};
use crate::node::NodeError;

/// The shortest a command waits for deliveries to slower validators before exiting.
const STRAGGLER_GRACE_MIN: TimeDelta = TimeDelta::from_millis(500);

/// How many times the slowest answer seen a straggler may take before it is left behind.
const STRAGGLER_GRACE_FACTOR: u64 = 4;

impl<S: KeyValueStore> Client<S> {
    /// Asks `validator` (with the request timeout), remembering whether it answered: one that
    /// times out or cannot be reached is asked last next time, one that answers is trusted
    /// again.
    pub(crate) async fn ask<T>(
        &self,
        validator: &ValidatorEntry,
        request: impl Future<Output = Result<T, NodeError>>,
    ) -> Result<T, NodeError> {
        let start = self.clock.now();
        let answer = self.with_timeout(request).await;
        match &answer {
            Err(NodeError::Timeout | NodeError::Unreachable(_)) => {
                self.stragglers.lock().insert(validator.public_key);
            }
            _ => {
                let took = self.clock.now().saturating_since(start).as_micros();
                self.slowest_answer_micros
                    .fetch_max(took, Ordering::Relaxed);
                self.stragglers.lock().remove(&validator.public_key);
            }
        }
        answer
    }

    /// Asks every validator at once and returns the answers in hand when the successful
    /// ones weigh a quorum, or when every validator answered. Those still silent then are
    /// remembered as stragglers; their requests are dropped.
    pub(crate) async fn ask_quorum<'a, T, Fut>(
        &'a self,
        request: impl Fn(&ValidatorEntry) -> Fut,
    ) -> Vec<(ValidatorPublicKey, Result<T, NodeError>)>
    where
        Fut: Future<Output = Result<T, NodeError>> + 'a,
    {
        self.ask_quorum_of(&self.membership(), request).await
    }

    /// [`Client::ask_quorum`] of the members of another epoch than the current one.
    pub(crate) async fn ask_quorum_of<'a, T, Fut>(
        &'a self,
        membership: &Membership,
        request: impl Fn(&ValidatorEntry) -> Fut,
    ) -> Vec<(ValidatorPublicKey, Result<T, NodeError>)>
    where
        Fut: Future<Output = Result<T, NodeError>> + 'a,
    {
        let quorum = membership.committee.quorum_threshold();
        self.ask_until_of(membership, request, |answered, _| answered >= quorum)
            .await
    }

    /// Asks every member of `membership` at once and returns the answers in hand as soon as `enough`
    /// says so, given the weight of the successful answers and of the failed ones so far
    /// (or when every validator answered). Those still silent then are remembered as
    /// stragglers; their requests are dropped.
    pub(crate) async fn ask_until_of<'a, T, Fut>(
        &'a self,
        membership: &Membership,
        request: impl Fn(&ValidatorEntry) -> Fut,
        enough: impl Fn(u64, u64) -> bool,
    ) -> Vec<(ValidatorPublicKey, Result<T, NodeError>)>
    where
        Fut: Future<Output = Result<T, NodeError>> + 'a,
    {
        let mut pending: FuturesUnordered<_> = membership
            .validators
            .iter()
            .map(|validator| {
                let request = request(validator);
                let validator = validator.clone();
                async move { (validator.public_key, self.ask(&validator, request).await) }
            })
            .collect();
        let mut answers = Vec::with_capacity(membership.validators.len());
        let (mut answered, mut failed) = (0, 0);
        while !enough(answered, failed) {
            let Some((validator, answer)) = pending.next().await else {
                break;
            };
            if answer.is_ok() {
                answered += membership.committee.weight(&validator);
            } else {
                failed += membership.committee.weight(&validator);
            }
            answers.push((validator, answer));
        }
        if !pending.is_empty() {
            let mut stragglers = self.stragglers.lock();
            for validator in &membership.validators {
                if !answers.iter().any(|(key, _)| *key == validator.public_key) {
                    stragglers.insert(validator.public_key);
                }
            }
        }
        answers
    }

    /// Uploads `certificate` to every validator, each in a task of its own, and returns once
    /// validators weighing a quorum have committed it (or every upload ended): the block is
    /// final then, and slower validators get it in the background.
    pub(crate) async fn upload_to_quorum(self: &Arc<Self>, certificate: AnyCertificate) {
        let (sender, mut committed) = mpsc::unbounded();
        let membership = self.membership();
        for validator in &membership.validators {
            let client = self.clone();
            let validator = validator.clone();
            let certificate = certificate.clone();
            let sender = sender.clone();
            self.spawn_background(async move {
                let result = client.upload_certificate_to(&validator, certificate).await;
                // Nobody listens once a quorum committed.
                let _ = sender.unbounded_send((validator.public_key, result.is_ok()));
            });
        }
        drop(sender);
        let mut weight = 0;
        while weight < membership.committee.quorum_threshold() {
            match committed.next().await {
                Some((validator, true)) => weight += membership.committee.weight(&validator),
                Some((_, false)) => {}
                None => break,
            }
        }
    }

    /// The validators in the order to ask them one at a time: those that kept a request
    /// waiting come last.
    pub(crate) fn validators_by_preference(&self) -> Vec<ValidatorEntry> {
        let stragglers = self.stragglers.lock();
        let (mut responsive, late): (Vec<_>, Vec<_>) = self
            .membership()
            .validators
            .iter()
            .cloned()
            .partition(|validator| !stragglers.contains(&validator.public_key));
        responsive.extend(late);
        responsive
    }

    /// How long a command about to exit waits for deliveries still running: a few times the
    /// slowest answer this client has seen, so a responsive validator is never cut short
    /// and a hung one costs a fraction of a second, not a request timeout. Whatever a
    /// straggler misses, the next client that needs it brings it up to date.
    pub(crate) fn straggler_grace(&self) -> TimeDelta {
        let slowest = self.slowest_answer_micros.load(Ordering::Relaxed);
        let grace = TimeDelta::from_micros(slowest.saturating_mul(STRAGGLER_GRACE_FACTOR));
        grace.max(STRAGGLER_GRACE_MIN)
    }
}
