//! Services that answer GraphQL with a schema of their own (feature `graphql`).
//!
//! A [`Service`](crate::Service) whose `Query` is an [`async_graphql::Request`] and whose
//! `QueryResponse` is an [`async_graphql::Response`] answers GraphQL: the node service
//! passes requests sent to `/chains/CHAIN/applications/APPLICATION/graphql` to it as they
//! are, GraphiQL included (introspection is a query like any other), and `skein
//! query-application` sends it `{"query": "…"}`.
//!
//! ```
//! use skein_sdk::graphql::{async_graphql, execute};
//! use async_graphql::{EmptyMutation, EmptySubscription, Object, Request, Schema};
//!
//! struct Query {
//!     value: u64,
//! }
//!
//! #[Object]
//! impl Query {
//!     async fn value(&self) -> u64 {
//!         self.value
//!     }
//! }
//!
//! let schema = Schema::new(Query { value: 42 }, EmptyMutation, EmptySubscription);
//! let response = execute(&schema, Request::new("{ value }"));
//! assert_eq!(response.data.to_string(), "{value: 42}");
//! ```

use std::{
    future::Future,
    task::{Context, Poll, Waker},
};

pub use async_graphql;
use async_graphql::{ObjectType, Request, Response, Schema, SubscriptionType};

/// Runs `request` against `schema` to its end. A service's resolvers read its state through
/// host calls that answer at once, so nothing ever waits: the loop only drives the
/// executor's own steps (and a resolver that did wait would run out of fuel).
pub fn execute<Q, M, S>(schema: &Schema<Q, M, S>, request: Request) -> Response
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let mut future = std::pin::pin!(schema.execute(request));
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(response) = future.as_mut().poll(&mut context) {
            return response;
        }
    }
}
