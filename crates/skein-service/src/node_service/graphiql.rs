//! GraphiQL, the in-browser GraphQL editor, served from files compiled into the binary
//! (`assets/graphiql/`): the page needs no other host.

use axum::{
    extract::Path,
    http::{header, StatusCode},
    response::{Html, IntoResponse, Response},
};

/// The files the page loads, by name: gzip-compressed, with their content type.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "graphiql.min.js",
        "text/javascript",
        include_bytes!("../../assets/graphiql/graphiql.min.js.gz"),
    ),
    (
        "graphiql.min.css",
        "text/css",
        include_bytes!("../../assets/graphiql/graphiql.min.css.gz"),
    ),
    (
        "react.production.min.js",
        "text/javascript",
        include_bytes!("../../assets/graphiql/react.production.min.js.gz"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript",
        include_bytes!("../../assets/graphiql/react-dom.production.min.js.gz"),
    ),
];

/// Where the page finds its files.
pub const ASSETS_PATH: &str = "/graphiql";

/// The GraphiQL page for the endpoint at `endpoint` (a path on this server); the
/// system endpoint's subscriptions are at `/ws`.
pub fn page(endpoint: &str) -> Html<String> {
    // JSON is a JavaScript literal; with `<` escaped, nothing in it can close the script.
    let endpoint = serde_json::Value::from(endpoint)
        .to_string()
        .replace('<', "\\u003c");
    Html(format!(
        r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Skein GraphiQL</title>
  <link rel="stylesheet" href="{ASSETS_PATH}/graphiql.min.css">
  <style>body {{ margin: 0; }} #graphiql {{ height: 100vh; }}</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="{ASSETS_PATH}/react.production.min.js"></script>
  <script src="{ASSETS_PATH}/react-dom.production.min.js"></script>
  <script src="{ASSETS_PATH}/graphiql.min.js"></script>
  <script>
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const fetcher = GraphiQL.createFetcher({{
      url: {endpoint},
      subscriptionUrl: scheme + window.location.host + "/ws",
    }});
    ReactDOM.createRoot(document.getElementById("graphiql"))
      .render(React.createElement(GraphiQL, {{ fetcher, defaultEditorToolsVisibility: true }}));
  </script>
</body>
</html>
"#
    ))
}

/// `GET /graphiql/FILE`
pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(file, _, _)| *file == name) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CONTENT_ENCODING, "gzip"),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            *bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, format!("no file {name} here")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_the_page_loads_only_files_of_this_server() {
        let Html(page) = page("/chains/x/applications/y");
        for (file, _, bytes) in ASSETS {
            assert!(page.contains(&format!("{ASSETS_PATH}/{file}")), "{file}");
            // gzip's magic number: the files are compressed as the header says.
            assert_eq!(&bytes[..2], &[0x1f, 0x8b], "{file}");
        }
        assert!(
            !page.contains("http://") && !page.contains("https://"),
            "{page}"
        );
        assert!(
            page.contains(r#"url: "/chains/x/applications/y""#),
            "{page}"
        );
    }

    #[test]
    fn test_a_path_cannot_escape_the_script() {
        let Html(page) = page("/\"</script><script>alert(1)</script>");
        assert!(!page.contains("<script>alert"), "{page}");
    }
}
