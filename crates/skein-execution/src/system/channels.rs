//! Pub/sub channels: each belongs to an application on the publishing chain, which keeps
//! its subscribers (chains whose subscription it accepted) and its last message, sent to
//! every new subscriber.

use serde::{Deserialize, Serialize};
use skein_base::{ApplicationId, ChainId};
use skein_views::{KeyValueStore, RegisterView, SetView, View};

use super::SystemExecutionStateView;
use crate::{
    message::{Message, MessageKind, OutgoingMessage},
    ExecutionError,
};

/// A channel: an application's, by name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ChannelName {
    /// The publishing application.
    pub application_id: ApplicationId,
    /// Its name for the channel.
    pub name: String,
}

/// A channel on its publishing chain.
#[derive(View)]
pub struct ChannelStateView<S> {
    subscribers: SetView<S, ChainId>,
    last_message: RegisterView<S, Option<Vec<u8>>>,
}

impl<S: KeyValueStore> SystemExecutionStateView<S> {
    /// Accepts `subscriber`'s subscription to a channel of an application registered here;
    /// sends it the channel's last message, if any.
    pub(super) async fn subscribe(
        &mut self,
        channel: ChannelName,
        subscriber: ChainId,
    ) -> Result<Vec<OutgoingMessage>, ExecutionError> {
        self.application(&channel.application_id).await?;
        let application_id = channel.application_id;
        let state = self.channels.load_entry_mut(&channel).await?;
        state.subscribers.insert(&subscriber);
        Ok(state
            .last_message
            .get()
            .clone()
            .map(|bytes| channel_message(subscriber, application_id, bytes))
            .into_iter()
            .collect())
    }

    /// Ends `subscriber`'s subscription.
    pub(super) async fn unsubscribe(
        &mut self,
        channel: ChannelName,
        subscriber: ChainId,
    ) -> Result<(), ExecutionError> {
        self.channels
            .load_entry_mut(&channel)
            .await?
            .subscribers
            .remove(&subscriber);
        Ok(())
    }

    /// Sends `bytes` to every subscriber of the channel and keeps it as its last message.
    pub async fn publish(
        &mut self,
        channel: ChannelName,
        bytes: Vec<u8>,
    ) -> Result<Vec<OutgoingMessage>, ExecutionError> {
        let application_id = channel.application_id;
        let state = self.channels.load_entry_mut(&channel).await?;
        let subscribers = state.subscribers.indices().await?;
        state.last_message.set(Some(bytes.clone()));
        Ok(subscribers
            .into_iter()
            .map(|subscriber| channel_message(subscriber, application_id, bytes.clone()))
            .collect())
    }

    /// The chains subscribed to a channel here.
    pub async fn subscribers(
        &mut self,
        channel: &ChannelName,
    ) -> Result<Vec<ChainId>, ExecutionError> {
        Ok(self
            .channels
            .load_entry_mut(channel)
            .await?
            .subscribers
            .indices()
            .await?)
    }
}

fn channel_message(
    subscriber: ChainId,
    application_id: ApplicationId,
    bytes: Vec<u8>,
) -> OutgoingMessage {
    OutgoingMessage {
        destination: subscriber,
        authenticated_signer: None,
        kind: MessageKind::Simple,
        message: Message::User {
            application_id,
            bytes,
        },
    }
}
