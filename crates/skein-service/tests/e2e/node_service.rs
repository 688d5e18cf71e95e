//! `skein service` against a network started with `skein net up`: the wallet's chains,
//! blocks and inboxes over GraphQL, transfers and new chains as mutations, notifications
//! over WebSocket, an application's service at its own path, GraphiQL's page and files,
//! and the errors a client gets for what it got wrong.

use std::{
    net::TcpStream,
    sync::mpsc,
    time::{Duration, Instant},
};

use serde_json::{json, Value};
use tungstenite::{client::IntoClientRequest, Message};

use super::{common::*, examples::build_examples};

#[test]
fn test_the_node_service_serves_the_wallet_over_graphql() {
    let target = build_examples("cargo build --release --target wasm32-unknown-unknown -p counter");
    let modules = target.join("wasm32-unknown-unknown/release");
    let net = Net::up(&[]);
    let (c0, c1) = (chain(0), chain(1));
    // Code is published from the command line, before the service locks the wallet.
    let bytecode_id = ok(net.skein(&[
        "publish-bytecode",
        modules.join("counter_contract.wasm").to_str().unwrap(),
        modules.join("counter_service.wasm").to_str().unwrap(),
    ]));
    let service = Service::start(&net.wallet, &[]);

    let chains = service.data("/", "{ chains { list default } }");
    assert_eq!(chains["chains"]["default"], json!(c0));
    assert!(chains["chains"]["list"]
        .as_array()
        .unwrap()
        .contains(&json!(c1)));

    // Notifications about chain 1, over WebSocket, from before the transfer.
    let notifications = subscribe(
        service.port,
        &format!(
            r#"subscription {{ notifications(chainIds: ["{c1}"]) {{ chainId reason {{ __typename ... on NewBlock {{ height hash }} ... on NewIncomingBundle {{ origin height }} }} }} }}"#
        ),
    );

    let transfer = service.data(
        "/",
        &format!(r#"mutation {{ transfer(chainId: "{c0}", recipient: "{c1}", amount: "2.5") }}"#),
    );
    let hash = transfer["transfer"].as_str().unwrap().to_string();
    let block = service.data(
        "/",
        &format!(
            r#"{{ block(chainId: "{c0}") {{ hash height signatures sentMessages {{ destination kind message }} }} chain(chainId: "{c0}") {{ balance nextBlockHeight }} }}"#
        ),
    );
    assert_eq!(block["block"]["hash"], json!(hash));
    assert_eq!(block["block"]["sentMessages"][0]["destination"], json!(c1));
    assert_eq!(block["block"]["sentMessages"][0]["kind"], json!("TRACKED"));
    assert!(
        block["block"]["signatures"].as_u64().unwrap() >= 3,
        "{block}"
    );
    assert_eq!(block["chain"]["balance"], json!("999997.5"));

    // The service accepts chain 1's incoming transfer on its own.
    let received = eventually(|| {
        let data = service.data(
            "/",
            &format!(
                r#"{{ chain(chainId: "{c1}") {{ balance inbox {{ origin }} }} blocks(chainId: "{c1}") {{ height incomingBundles {{ origin action messages }} }} }}"#
            ),
        );
        (data["chain"]["balance"] == json!("1000002.5")).then_some(data)
    });
    assert_eq!(received["chain"]["inbox"], json!([]));
    let bundle = &received["blocks"][0]["incomingBundles"][0];
    assert_eq!(bundle["origin"], json!(c0));
    assert_eq!(bundle["action"], json!("ACCEPT"));
    assert!(
        bundle["messages"][0].as_str().unwrap().contains("2.5"),
        "{bundle}"
    );
    let heard: Vec<Value> = collect(&notifications, 2)
        .into_iter()
        .map(|payload| payload["data"]["notifications"].clone())
        .collect();
    let kinds: Vec<&Value> = heard
        .iter()
        .map(|notification| &notification["reason"]["__typename"])
        .collect();
    assert!(kinds.contains(&&json!("NewIncomingBundle")), "{heard:?}");
    assert!(kinds.contains(&&json!("NewBlock")), "{heard:?}");
    assert!(heard
        .iter()
        .all(|notification| notification["chainId"] == json!(c1)));

    // A new chain joins the wallet.
    let opened = service.data(
        "/",
        &format!(r#"mutation {{ openChain(chainId: "{c0}", balance: "1") }}"#),
    );
    let c2 = opened["openChain"].as_str().unwrap().to_string();
    let chains = service.data("/", "{ chains { list } }");
    assert!(chains["chains"]["list"]
        .as_array()
        .unwrap()
        .contains(&json!(c2)));
    let new_chain = service.data(
        "/",
        &format!(r#"{{ chain(chainId: "{c2}") {{ balance }} }}"#),
    );
    assert_eq!(new_chain["chain"]["balance"], json!("1"));

    // An application, created over GraphQL and used through its own path.
    let created = service.data(
        "/",
        &format!(
            r#"mutation {{ createApplication(chainId: "{c0}", bytecodeId: "{bytecode_id}", argument: 40) }}"#
        ),
    );
    let application_id = created["createApplication"].as_str().unwrap().to_string();
    let listed = service.data(
        "/",
        &format!(r#"{{ chain(chainId: "{c0}") {{ applications {{ id link }} }} }}"#),
    );
    let link = format!("/chains/{c0}/applications/{application_id}");
    assert_eq!(
        listed["chain"]["applications"],
        json!([{ "id": application_id, "link": link }])
    );
    // The counter's service speaks GraphQL: asked at its own path, or carried as JSON.
    let own = format!("{link}/graphql");
    let value = |service: &Service| service.data(&own, "{ value }")["value"].clone();
    assert_eq!(value(&service), json!(40));
    let carried = service.data(
        &link,
        r#"{ query(request: {query: "{ value updatedAt }"}) }"#,
    );
    assert_eq!(carried["query"]["data"]["value"], json!(40));
    service.data(&link, "mutation { execute(operation: 2) }");
    service.data(&link, "mutation { executeAll(operations: [1, 3]) }");
    assert_eq!(value(&service), json!(46));
    let schema = service.data(
        &own,
        r#"{ __type(name: "CounterState") { fields { name } } }"#,
    );
    assert!(schema.to_string().contains("updatedAt"), "{schema}");
    let wrong = service.graphql(&own, "{ nothing }");
    assert!(
        wrong["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nothing"),
        "{wrong}"
    );
    let (status, _, page) = service.get(&own);
    assert_eq!(status, 200);
    assert!(String::from_utf8(page).unwrap().contains(&own));
    // An operation the contract cannot read fails its block, and changes nothing.
    let refused = service.error(&link, r#"mutation { execute(operation: "two") }"#);
    assert!(refused.contains("does not decode"), "{refused}");
    let refused = service.error(&link, r#"mutation { executeAll(operations: [1, "two"]) }"#);
    assert!(refused.contains("does not decode"), "{refused}");
    assert_eq!(value(&service), json!(46));

    // What a client got wrong.
    let error = service.error("/", r#"{ chain(chainId: "12") { balance } }"#);
    assert!(error.contains("is not a ChainId"), "{error}");
    let stranger = "11".repeat(32);
    let error = service.error(
        "/",
        &format!(r#"{{ chain(chainId: "{stranger}") {{ balance }} }}"#),
    );
    assert!(error.contains("unknown to this node"), "{error}");
    let error = service.error(
        "/",
        &format!(
            r#"mutation {{ transfer(chainId: "{stranger}", recipient: "{c1}", amount: "1") }}"#
        ),
    );
    assert!(error.contains("not in the wallet"), "{error}");
    let error = service.error(
        "/",
        &format!(
            r#"mutation {{ transfer(chainId: "{c0}", recipient: "{c1}", amount: "5000000") }}"#
        ),
    );
    assert!(error.contains("insufficient balance"), "{error}");
    let error = service.error(
        &format!("/chains/{c0}/applications/{stranger}"),
        "{ query }",
    );
    assert!(error.contains("not registered on this chain"), "{error}");
    let error = service.error(&format!("/chains/{c0}/applications/xyz"), "{ query }");
    assert!(error.contains("is not an application id"), "{error}");
    let (status, answer) = service.post("/", "{not json");
    assert_eq!(status, 400);
    assert!(answer.contains("not a GraphQL request"), "{answer}");
    let error = service.error("/", "{ nothing }");
    assert!(error.contains("Unknown field"), "{error}");
    // A request that would hold the chain long, asking a service over and over, is refused.
    let greedy: String = (0..11).map(|n| format!("q{n}: query ")).collect();
    let error = service.error(&link, &format!("{{ {greedy} }}"));
    assert!(error.contains("too complex"), "{error}");
    let (status, _) = service.post("/", &"x".repeat(3 << 20));
    assert_eq!(status, 413, "an oversized body is refused");

    // Only programs on this machine and the service's own pages: not another site's page
    // (by its Origin), not a page whose name points here (by its Host), not a form or a
    // "simple" cross-site POST (not JSON).
    let transfer = format!(
        r#"{{"query": "mutation {{ transfer(chainId: \"{c0}\", recipient: \"{c1}\", amount: \"1\") }}"}}"#
    );
    let (status, answer) = service.post_with(
        "/",
        "Content-Type: application/json\r\nOrigin: http://evil.example\r\n",
        &transfer,
    );
    assert_eq!(status, 403, "{answer}");
    let (status, answer) = service.post_with("/", "Content-Type: text/plain\r\n", &transfer);
    assert_eq!(status, 415, "{answer}");
    assert!(answer.contains("application/json"), "{answer}");
    let origin = format!(
        "Content-Type: application/json\r\nOrigin: http://127.0.0.1:{}\r\n",
        service.port
    );
    let (status, answer) = service.post_with("/", &origin, r#"{"query": "{ version }"}"#);
    assert_eq!(status, 200, "GraphiQL's own requests: {answer}");
    let (status, _, _) = service.raw(&format!(
        "GET / HTTP/1.1\r\nHost: evil.example:{}\r\nConnection: close\r\n\r\n",
        service.port
    ));
    assert_eq!(status, 403);
    // Nor through the WebSocket, which carries no mutations at all.
    let balance = |service: &Service| {
        let data = service.data(
            "/",
            &format!(r#"{{ chain(chainId: "{c0}") {{ balance }} }}"#),
        );
        data["chain"]["balance"].clone()
    };
    let before = balance(&service);
    let over_socket = subscribe(
        service.port,
        &format!(r#"mutation {{ transfer(chainId: "{c0}", recipient: "{c1}", amount: "1") }}"#),
    );
    if let Ok(answer) = over_socket.recv_timeout(Duration::from_secs(2)) {
        assert!(answer["data"].is_null(), "{answer}");
        let error = answer["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(error.contains("mutation"), "{answer}");
    }
    assert_eq!(balance(&service), before);

    // GraphiQL, from this server only.
    let (status, _, page) = service.get("/");
    assert_eq!(status, 200);
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("/graphiql/graphiql.min.js") && !page.contains("https://"));
    let (status, _, page) = service.get(&link);
    assert_eq!(status, 200);
    assert!(String::from_utf8(page).unwrap().contains(&link));
    let (status, headers, script) = service.get("/graphiql/graphiql.min.js");
    assert_eq!(status, 200);
    assert!(headers.contains("content-encoding: gzip"), "{headers}");
    assert!(script.len() > 100_000 && script.starts_with(&[0x1f, 0x8b]));
    assert_eq!(service.get("/graphiql/missing.js").0, 404);

    // Stopped, the service frees the wallet; the command line sees what it did.
    service.stop();
    assert_eq!(ok(net.skein(&["balance", &c1])), "1000002.5");

    // Read-only, it answers and refuses to make blocks.
    let service = Service::start(&net.wallet, &["--read-only"]);
    assert_eq!(value(&service), json!(46));
    let error = service.error(
        "/",
        &format!(r#"mutation {{ transfer(chainId: "{c0}", recipient: "{c1}", amount: "1") }}"#),
    );
    assert!(error.contains("read-only"), "{error}");
    let error = service.error(&link, "mutation { execute(operation: 1) }");
    assert!(error.contains("read-only"), "{error}");

    // A port in use is a clear error.
    service.stop();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port().to_string();
    let error = fails(net.skein(&["service", "--port", &busy_port]), 1);
    assert!(error.contains("cannot listen on"), "{error}");
    drop(busy);
    net.down();
}

/// Subscribes over WebSocket (the graphql-transport-ws protocol); the payloads
/// (`{"data": …}` or `{"errors": …}`), as they come.
fn subscribe(port: u16, query: &str) -> mpsc::Receiver<Value> {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("the service listens");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("a timeout");
    let mut request = format!("ws://127.0.0.1:{port}/ws")
        .into_client_request()
        .expect("a request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tungstenite::client(request, stream).expect("a WebSocket");
    let mut send = |message: Value| {
        socket
            .send(Message::text(message.to_string()))
            .expect("sent")
    };
    send(json!({ "type": "connection_init" }));
    send(json!({ "id": "1", "type": "subscribe", "payload": { "query": query } }));
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        while let Ok(message) = socket.read() {
            let Ok(text) = message.into_text() else {
                continue;
            };
            let Ok(message) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            if message["type"] == json!("next") {
                let _ = sender.send(message["payload"].clone());
            }
        }
    });
    // The subscription is live once the server has read it.
    std::thread::sleep(Duration::from_millis(500));
    receiver
}

/// The first `count` items, waiting up to a minute for them.
fn collect(receiver: &mpsc::Receiver<Value>, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut items = Vec::new();
    while items.len() < count {
        let remaining = deadline.saturating_duration_since(Instant::now());
        match receiver.recv_timeout(remaining) {
            Ok(item) => items.push(item),
            Err(_) => panic!("only {} of {count} notifications: {items:?}", items.len()),
        }
    }
    items
}

/// The first `Some` that `check` returns, trying for up to a minute.
fn eventually<T>(mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "it did not happen within a minute"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
