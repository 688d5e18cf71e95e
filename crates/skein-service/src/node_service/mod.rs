//! `skein service`: the wallet's chains over GraphQL, on 127.0.0.1.
//!
//! | Path | GET | POST |
//! |---|---|---|
//! | `/` | GraphiQL | the system schema ([`system`]) |
//! | `/ws` | subscriptions to the system schema (GraphQL over WebSocket) | |
//! | `/chains/CHAIN/applications/APPLICATION` | GraphiQL | that application's schema ([`application`]) |
//! | `/chains/CHAIN/applications/APPLICATION/graphql` | GraphiQL | the application's own GraphQL, for services that speak it |
//! | `/graphiql/FILE` | GraphiQL's files, from the binary | |
//! | `/ready` | `ready` once serving | |
//!
//! The service follows the validators' notifications ([`listener`]): it keeps the wallet's
//! chains up to date, accepts their incoming messages as they arrive, and forwards the
//! notifications to subscribers. Mutations sign with the wallet's keys, which is why the
//! service listens on 127.0.0.1 only, and answers programs on this machine and its own
//! pages only ([`guard`]); `/ws` carries subscriptions and queries, never mutations.

mod application;
mod graphiql;
mod guard;
mod listener;
mod node;
mod objects;
mod scalars;
mod system;

use std::{future::Future, net::SocketAddr, str::FromStr, sync::Arc};

use anyhow::Context as _;
use async_graphql::{EmptyMutation, EmptySubscription, ObjectType, Schema, SubscriptionType};
use async_graphql_axum::GraphQLSubscription;
use axum::{
    body::Bytes,
    extract::{DefaultBodyLimit, Path, State},
    http::{header, StatusCode},
    middleware,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use skein_base::{ApplicationId, ChainId};

use self::{
    application::{ApplicationMutation, ApplicationQuery, Target},
    node::Node,
    system::{MutationRoot, QueryRoot, SubscriptionRoot},
};
use crate::{cli::ServiceOptions, context::Context};

/// What resolvers return: errors are GraphQL errors, with the whole chain of causes.
type Result<T> = std::result::Result<T, async_graphql::Error>;

/// An error for a GraphQL answer, with its causes (`anyhow`'s alternate form).
fn failure(error: impl std::fmt::Display) -> async_graphql::Error {
    async_graphql::Error::new(format!("{error:#}"))
}

/// How long requests under way may take to finish once the service is asked to stop.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// The largest request body: operations and queries are JSON of modest size.
const REQUEST_BODY_BYTES_MAX: usize = 2 << 20;

/// The deepest selection a request may make: GraphiQL's introspection needs 13 levels.
const QUERY_DEPTH_MAX: usize = 32;

/// What one request may cost in all: a field costs 1 unless marked. Repeating costly
/// fields under aliases runs into it, so no request holds a chain for long.
const COMPLEXITY_MAX: usize = 1_000;

/// What asking an application's service (or having it encode an operation) costs: a
/// Wasm call with up to `FUEL_PER_QUERY_MAX` fuel, holding the chain's lock.
const COMPLEXITY_SERVICE_CALL: usize = 100;

/// What a list read from a chain's state (accounts, inbox, applications) costs.
const COMPLEXITY_LIST: usize = 20;

type SystemSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;
type ApplicationSchema = Schema<ApplicationQuery, ApplicationMutation, EmptySubscription>;

#[derive(Clone)]
struct Schemas {
    system: SystemSchema,
    application: ApplicationSchema,
    node: Arc<Node>,
}

/// Serves the wallet's chains until `shutdown` completes.
pub async fn serve(
    context: Context,
    options: ServiceOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let address = SocketAddr::from(([127, 0, 0, 1], options.port));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    // The port the system chose, if asked for port 0.
    let address = listener.local_addr()?;
    let node = Arc::new(Node::new(context, &options));
    let follower = tokio::spawn(listener::follow(node.clone()));
    let router = router(node.clone(), address.port());
    output_line!("serving GraphQL at http://{address}/ (open it in a browser for GraphiQL)");
    if options.read_only {
        output_line!("read-only: queries and notifications only");
    }
    output_line!("each application: http://{address}/chains/CHAIN/applications/APPLICATION");
    output_line!("Ctrl-C to stop");
    let stop = Arc::new(tokio::sync::Notify::new());
    let mut server = tokio::spawn({
        let stop = stop.clone();
        async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.notified().await })
                .await
        }
    });
    tokio::select! {
        served = &mut server => {
            served.context("the server failed")?.context("the server stopped")?;
        }
        () = shutdown => {}
    }
    // Requests under way finish (blocks they make get confirmed); subscriptions, which
    // stay open for as long as their clients like, are cut after a grace period.
    stop.notify_one();
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, &mut server).await;
    server.abort();
    follower.abort();
    let _ = follower.await;
    node.client()
        .finish_background_tasks_before_exit(crate::BACKGROUND_WAIT)
        .await;
    Ok(())
}

fn router(node: Arc<Node>, port: u16) -> Router {
    let system = schema(QueryRoot, MutationRoot, SubscriptionRoot, &node);
    // Subscriptions and queries: a WebSocket is no place for mutations.
    let subscriptions = schema(QueryRoot, EmptyMutation, SubscriptionRoot, &node);
    let application = schema(
        ApplicationQuery,
        ApplicationMutation,
        EmptySubscription,
        &node,
    );
    Router::new()
        .route("/", get(system_graphiql).post(system_request))
        .route_service("/ws", GraphQLSubscription::new(subscriptions))
        .route(
            "/chains/{chain_id}/applications/{application_id}",
            get(application_graphiql).post(application_request),
        )
        .route(
            "/chains/{chain_id}/applications/{application_id}/graphql",
            get(application_graphiql).post(service_request),
        )
        .route(
            &format!("{}/{{file}}", graphiql::ASSETS_PATH),
            get(graphiql::asset),
        )
        .route("/ready", get(|| async { "ready" }))
        .layer(DefaultBodyLimit::max(REQUEST_BODY_BYTES_MAX))
        .layer(middleware::from_fn_with_state(port, guard::local_only))
        .with_state(Schemas {
            system,
            application,
            node,
        })
}

fn schema<Q, M, S>(query: Q, mutation: M, subscription: S, node: &Arc<Node>) -> Schema<Q, M, S>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    Schema::build(query, mutation, subscription)
        .data(node.clone())
        .limit_depth(QUERY_DEPTH_MAX)
        .limit_complexity(COMPLEXITY_MAX)
        .finish()
}

async fn system_graphiql() -> impl IntoResponse {
    graphiql::page("/")
}

async fn system_request(State(schemas): State<Schemas>, body: Bytes) -> Response {
    match graphql_request(&body) {
        Ok(request) => json(&schemas.system.execute(request).await),
        Err(message) => bad_request(message),
    }
}

/// GraphiQL for an application's endpoint (either of them): the page talks to the path
/// it was served from.
async fn application_graphiql(
    uri: axum::http::Uri,
    Path((chain_id, application_id)): Path<(String, String)>,
) -> Response {
    match target(&chain_id, &application_id) {
        Ok(_) => graphiql::page(uri.path()).into_response(),
        Err(message) => bad_request(message),
    }
}

async fn application_request(
    State(schemas): State<Schemas>,
    Path((chain_id, application_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let request = target(&chain_id, &application_id)
        .and_then(|target| Ok(graphql_request(&body)?.data(target)));
    match request {
        Ok(request) => json(&schemas.application.execute(request).await),
        Err(message) => bad_request(message),
    }
}

/// A GraphQL request for a service that speaks GraphQL itself, passed to it as it is: its
/// answer (a GraphQL response) comes back as it is too.
async fn service_request(
    State(schemas): State<Schemas>,
    Path((chain_id, application_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let target = match target(&chain_id, &application_id) {
        Ok(target) => target,
        Err(message) => return bad_request(message),
    };
    if let Err(message) = graphql_request(&body) {
        return bad_request(message);
    }
    let answer = schemas
        .node
        .client()
        .local_node()
        .query_application(target.chain_id, target.application_id, body.to_vec())
        .await;
    let error = match answer {
        Ok(answer) if serde_json::from_slice::<serde::de::IgnoredAny>(&answer).is_ok() => {
            return ([(header::CONTENT_TYPE, "application/json")], answer).into_response();
        }
        Ok(_) => "the service answered something that is not JSON".to_string(),
        Err(error) => format!("{error:#}"),
    };
    json_body(&serde_json::json!({ "errors": [{ "message": error }] })).into_response()
}

/// The application and chain a path names, or why not.
fn target(chain_id: &str, application_id: &str) -> std::result::Result<Target, String> {
    let chain_id = ChainId::from_str(chain_id)
        .map_err(|error| format!("{chain_id:?} is not a chain id: {error}"))?;
    let application_id = ApplicationId::from_str(application_id)
        .map_err(|error| format!("{application_id:?} is not an application id: {error}"))?;
    Ok(Target {
        chain_id,
        application_id,
    })
}

/// A GraphQL request (`{"query": …, "variables": …, "operationName": …}`), or why not.
fn graphql_request(body: &[u8]) -> std::result::Result<async_graphql::Request, String> {
    serde_json::from_slice(body).map_err(|error| {
        format!(
            "the body is not a GraphQL request ({{\"query\": \"…\", \"variables\": {{…}}}}): {error}"
        )
    })
}

/// A GraphQL-shaped error, for requests that never reached the schema.
fn bad_request(message: String) -> Response {
    let body = serde_json::json!({ "errors": [{ "message": message }] });
    (StatusCode::BAD_REQUEST, json_body(&body)).into_response()
}

fn json(response: &async_graphql::Response) -> Response {
    json_body(response).into_response()
}

fn json_body(value: &impl serde::Serialize) -> impl IntoResponse {
    let body = serde_json::to_vec(value).unwrap_or_else(|error| {
        format!(r#"{{"errors":[{{"message":"cannot encode the answer: {error}"}}]}}"#).into_bytes()
    });
    ([(header::CONTENT_TYPE, "application/json")], body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_a_path_names_a_chain_and_an_application() {
        let chain_id = ChainId::root(1);
        let application_id = ApplicationId(skein_base::crypto::CryptoHash::of_bytes(b"app"));
        let named = target(&chain_id.to_string(), &application_id.to_string()).unwrap();
        assert_eq!(named.chain_id, chain_id);
        assert_eq!(named.application_id, application_id);
        let refused = target("1234", &application_id.to_string()).err().unwrap();
        assert!(refused.contains("\"1234\" is not a chain id"), "{refused}");
        let refused = target(&chain_id.to_string(), "").err().unwrap();
        assert!(refused.contains("is not an application id"), "{refused}");
    }

    #[test]
    fn test_a_body_must_be_a_graphql_request() {
        let request =
            graphql_request(br#"{"query": "{ version }", "variables": {"a": 1}}"#).unwrap();
        assert_eq!(request.query, "{ version }");
        for body in [&b""[..], b"{ version }", b"[1, 2]", b"{\"query\": 5}"] {
            let refused = graphql_request(body).err().unwrap();
            assert!(refused.contains("not a GraphQL request"), "{refused}");
        }
    }
}
