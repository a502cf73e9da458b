//! The page over real HTTP on 127.0.0.1:0: `/`, every asset the page loads (following
//! module imports), content types, cache validation, 404s, and merging into an API router
//! with its own state.

use axum::routing::get;
use axum::Router;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use reqwest::StatusCode;
use std::collections::BTreeSet;

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn header(res: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    res.headers()
        .get(&name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("{} has no {name} header", res.url()))
}

/// `/assets/…` URLs in `src="…"` / `href="…"` attributes of the HTML.
fn html_refs(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            let url = part.split('"').next().unwrap();
            if url.starts_with("/assets/") {
                out.push(url.to_string());
            }
        }
    }
    out
}

/// Relative module specifiers in `import … from "./x.js"` lines.
fn js_imports(js: &str) -> Vec<String> {
    js.lines()
        .filter(|l| l.trim_start().starts_with("import "))
        .filter_map(|l| l.split("from \"./").nth(1))
        .map(|rest| format!("/assets/{}", rest.split('"').next().unwrap()))
        .collect()
}

#[tokio::test]
async fn index_and_every_asset_it_loads_answer_with_their_content_types() {
    let base = serve(genmux_web::router()).await;
    let http = reqwest::Client::new();

    let res = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(header(&res, CACHE_CONTROL), "no-cache");
    assert!(header(&res, "content-security-policy".parse().unwrap()).contains("default-src 'self'"));
    let html = res.text().await.unwrap();
    assert!(
        html.contains(r#"<script type="module" src="/assets/app.js">"#),
        "{html}"
    );
    assert!(html.contains(r#"id="api-key""#) && html.contains(r#"id="model""#));

    // Walk index.html's references and the module graph: a missing file or a wrong
    // content type is a blank page for the user.
    let mut todo = html_refs(&html);
    let mut seen = BTreeSet::new();
    while let Some(url) = todo.pop() {
        if !seen.insert(url.clone()) {
            continue;
        }
        let res = http.get(format!("{base}{url}")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{url}");
        let ct = header(&res, CONTENT_TYPE);
        let want = match url.rsplit('.').next().unwrap() {
            "js" => "text/javascript; charset=utf-8",
            "css" => "text/css; charset=utf-8",
            "svg" => "image/svg+xml",
            other => panic!("unexpected asset type {other} for {url}"),
        };
        assert_eq!(ct, want, "{url}");
        assert_eq!(header(&res, CACHE_CONTROL), "no-cache", "{url}");
        assert_eq!(
            header(&res, "x-content-type-options".parse().unwrap()),
            "nosniff"
        );
        if url.ends_with(".js") {
            todo.extend(js_imports(&res.text().await.unwrap()));
        }
    }
    for module in [
        "app.js", "api.js", "form.js", "tasks.js", "usage.js", "chart.js",
    ] {
        assert!(
            seen.contains(&format!("/assets/{module}")),
            "{module} not reached: {seen:?}"
        );
    }
    assert!(seen.contains("/assets/style.css"), "{seen:?}");
    // The header's balance (issue 13 point 4).
    assert!(seen.contains("/assets/balance.js"), "{seen:?}");
}

#[tokio::test]
async fn a_cached_copy_is_revalidated_with_its_etag() {
    let base = serve(genmux_web::router()).await;
    let http = reqwest::Client::new();
    for path in ["/", "/assets/app.js"] {
        let first = http.get(format!("{base}{path}")).send().await.unwrap();
        let etag = header(&first, ETAG);
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
        let again = http
            .get(format!("{base}{path}"))
            .header(IF_NONE_MATCH, &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(header(&again, ETAG), etag);
        assert!(again.bytes().await.unwrap().is_empty());
        let stale = http
            .get(format!("{base}{path}"))
            .header(IF_NONE_MATCH, "\"0000\"")
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn unknown_assets_are_404_naming_the_path() {
    let base = serve(genmux_web::router()).await;
    let res = reqwest::get(format!("{base}/assets/nope.js"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("nope.js") && body.contains("app.js"),
        "{body}"
    );
    let res = reqwest::get(format!("{base}/assets/../Cargo.toml"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn merges_into_an_api_router_with_its_own_state() {
    #[derive(Clone)]
    struct ApiState {
        greeting: &'static str,
    }
    let api = Router::new().route(
        "/unified-video/models",
        get(|axum::extract::State(s): axum::extract::State<ApiState>| async move { s.greeting }),
    );
    let app = api
        .merge(genmux_web::router::<ApiState>())
        .with_state(ApiState { greeting: "models" });
    let base = serve(app).await;
    let page = reqwest::get(format!("{base}/")).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let models = reqwest::get(format!("{base}/unified-video/models"))
        .await
        .unwrap();
    assert_eq!(models.text().await.unwrap(), "models");
}
