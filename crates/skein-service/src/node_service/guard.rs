//! Which requests the service answers. It signs with the wallet's keys, so it answers
//! programs on this machine and its own pages (GraphiQL), never another web page that a
//! browser happens to show: not one that posts to it (browsers send JSON across sites only
//! after asking, and this service grants nothing), not one that opens a WebSocket to it
//! (refused by its `Origin`), not one whose name was pointed at 127.0.0.1 (refused by its
//! `Host`).

use axum::{
    extract::{Request, State},
    http::{header, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// Refuses requests from other sites' pages, and POSTs that are not JSON.
pub(super) async fn local_only(State(port): State<u16>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let text = |name| headers.get(name).and_then(|value| value.to_str().ok());
    let hosts = [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ];
    if !text(header::HOST).is_some_and(|host| hosts.iter().any(|allowed| allowed == host)) {
        return refuse(
            StatusCode::FORBIDDEN,
            format!("this service answers requests to {} only", hosts[0]),
        );
    }
    if let Some(origin) = text(header::ORIGIN) {
        let ours = origin
            .strip_prefix("http://")
            .is_some_and(|origin| hosts.iter().any(|allowed| allowed == origin));
        if !ours {
            return refuse(
                StatusCode::FORBIDDEN,
                format!("pages from {origin} may not use this service"),
            );
        }
    }
    if request.method() == Method::POST
        && !text(header::CONTENT_TYPE).is_some_and(|kind| kind.starts_with("application/json"))
    {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send GraphQL requests as JSON, with the header `Content-Type: application/json`"
                .to_string(),
        );
    }
    next.run(request).await
}

fn refuse(status: StatusCode, message: String) -> Response {
    (status, message).into_response()
}
