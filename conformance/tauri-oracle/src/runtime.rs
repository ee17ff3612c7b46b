//! What the tauri runtime decides: `RuntimeAuthority::resolve_access`, the
//! check every IPC call passes, and for a sample the whole IPC path of the
//! mock runtime (the page URL becomes the origin, the ACL check rejects or
//! the call reaches the command handler).

use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Instant;

use serde_json::{json, Value as Json};
use tauri::ipc::{Origin, RuntimeAuthority};
use tauri::test::{mock_builder, mock_context, noop_assets, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{Manager, WebviewUrl, WebviewWindowBuilder};

use crate::{batch_app, utils, Failure};

/// One request to decide.
struct Request {
    command: String,
    window: String,
    webview: String,
    origin: Origin,
    url: Option<url::Url>,
}

fn parse_request(v: &Json) -> Result<Request, String> {
    let s = |name: &str| -> Result<String, String> {
        v.get(name)
            .and_then(Json::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("request needs a string field {name:?}: {v}"))
    };
    let origin_text = s("origin")?;
    let (origin, url) = if origin_text == "local" {
        (Origin::Local, None)
    } else {
        let url =
            url::Url::parse(&origin_text).map_err(|e| format!("origin {origin_text:?}: {e}"))?;
        (Origin::Remote { url: url.clone() }, Some(url))
    };
    Ok(Request {
        command: s("command")?,
        window: s("window")?,
        webview: s("webview")?,
        origin,
        url,
    })
}

/// Tauri's runtime check for an app; it owns the manifests (they are not
/// Clone), so the app is moved in.
fn authority(
    app: utils::App,
    target: tauri_utils::platform::Target,
) -> Result<RuntimeAuthority, String> {
    let resolved = utils::resolve(&app, target)?;
    Ok(RuntimeAuthority::new(app.manifests, resolved))
}

fn decide_one(
    auth: &RuntimeAuthority,
    shown: &tauri_utils::acl::resolved::Resolved,
    r: &Request,
) -> Json {
    match auth.resolve_access(&r.command, &r.window, &r.webview, &r.origin) {
        Some(list) => json!({
          "allowed": true,
          "entries": list.iter().map(|e| utils::entry_out(shown, e).json()).collect::<Vec<_>>(),
        }),
        None => json!({"allowed": false, "entries": []}),
    }
}

pub fn batch_decide(op: &Json) -> Result<Json, String> {
    let (app, target) = batch_app(op)?;
    let shown = utils::resolve(&app, target)?;
    let auth = authority(app, target)?;
    let requests = op
        .get("requests")
        .and_then(Json::as_array)
        .ok_or("decide needs a \"requests\" array")?;
    let mut out = Vec::with_capacity(requests.len());
    for r in requests {
        out.push(decide_one(&auth, &shown, &parse_request(r)?));
    }
    Ok(json!({"ok": true, "decisions": out}))
}

pub fn cmd_decide(
    positional: &[String],
    target: &Option<String>,
    manifests: Option<&Path>,
) -> Result<(), Failure> {
    let [dir] = positional else {
        return Err(Failure::Usage("decide takes one SRC_TAURI_DIR".into()));
    };
    let target = crate::need_target(target)?;
    let app = utils::load_app(Path::new(dir), target, manifests).map_err(Failure::Tauri)?;
    let shown = utils::resolve(&app, target).map_err(Failure::Tauri)?;
    let auth = authority(app, target).map_err(Failure::Tauri)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| Failure::Usage(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let answer = serde_json::from_str::<Json>(&line)
            .map_err(|e| e.to_string())
            .and_then(|v| parse_request(&v))
            .map(|r| decide_one(&auth, &shown, &r))
            .unwrap_or_else(|e| json!({"error": e}));
        writeln!(out, "{answer}").map_err(|e| Failure::Usage(e.to_string()))?;
    }
    Ok(())
}

/// Times `resolve_access` over the requests on stdin, the way capguard's
/// Go benchmark times its engine over the same requests.
pub fn cmd_bench(
    positional: &[String],
    target: &Option<String>,
    iterations: u64,
) -> Result<(), Failure> {
    let [dir] = positional else {
        return Err(Failure::Usage("bench takes one SRC_TAURI_DIR".into()));
    };
    let target = crate::need_target(target)?;
    let app = utils::load_app(Path::new(dir), target, None).map_err(Failure::Tauri)?;
    let auth = authority(app, target).map_err(Failure::Tauri)?;
    let mut requests = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| Failure::Usage(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Json = serde_json::from_str(&line).map_err(|e| Failure::Usage(e.to_string()))?;
        requests.push(parse_request(&v).map_err(Failure::Usage)?);
    }
    if requests.is_empty() {
        return Err(Failure::Usage("bench needs requests on stdin".into()));
    }
    let mut allowed = 0u64;
    // Warm up once, then measure.
    for r in &requests {
        allowed += auth
            .resolve_access(&r.command, &r.window, &r.webview, &r.origin)
            .is_some() as u64;
    }
    let start = Instant::now();
    for _ in 0..iterations {
        for r in &requests {
            let d = auth.resolve_access(
                std::hint::black_box(&r.command),
                std::hint::black_box(&r.window),
                std::hint::black_box(&r.webview),
                std::hint::black_box(&r.origin),
            );
            std::hint::black_box(&d);
        }
    }
    let elapsed = start.elapsed();
    let n = iterations * requests.len() as u64;
    println!(
        "{}",
        json!({
          "decisions": n,
          "requests": requests.len(),
          "allowed_per_pass": allowed,
          "ns_per_decision": elapsed.as_nanos() as f64 / n as f64,
        })
    );
    Ok(())
}

/// Sends each request through the mock runtime's whole IPC path: a webview
/// window labelled like the request, a page URL (tauri://localhost for the
/// local origin), and a command handler that answers when the call gets past
/// the ACL. Requests whose webview label differs from the window label are
/// answered {"skipped": true}: a webview window has one label for both; so
/// are labels Tauri refuses for a window.
pub fn batch_ipc(op: &Json) -> Result<Json, String> {
    let (app_in, target) = batch_app(op)?;
    let resolved = utils::resolve(&app_in, target)?;
    let requests = op
        .get("requests")
        .and_then(Json::as_array)
        .ok_or("ipc needs a \"requests\" array")?;
    let requests = requests
        .iter()
        .map(parse_request)
        .collect::<Result<Vec<_>, _>>()?;

    let mut context = mock_context(noop_assets());
    *context.runtime_authority_mut() = RuntimeAuthority::new(app_in.manifests, resolved);
    let app = mock_builder()
        .invoke_handler(|invoke| {
            invoke.resolver.resolve("reached the command handler");
            true
        })
        .build(context)
        .map_err(|e| e.to_string())?;

    let mut out = Vec::with_capacity(requests.len());
    for r in &requests {
        if r.window != r.webview {
            out.push(json!({"skipped": true}));
            continue;
        }
        let window = match app.get_webview_window(&r.window) {
            Some(w) => w,
            None => match WebviewWindowBuilder::new(
                &app,
                &r.window,
                WebviewUrl::App("index.html".into()),
            )
            .build()
            {
                Ok(w) => w,
                // Tauri refuses some labels (only alphanumerics, -, /, : and _):
                // no page can call from such a window.
                Err(e) => {
                    out.push(json!({"skipped": true, "reason": e.to_string()}));
                    continue;
                }
            },
        };
        let url = r
            .url
            .clone()
            .unwrap_or_else(|| url::Url::parse("tauri://localhost/index.html").unwrap());
        let request = InvokeRequest {
            cmd: r.command.clone(),
            callback: tauri::ipc::CallbackFn(0),
            error: tauri::ipc::CallbackFn(1),
            url,
            body: tauri::ipc::InvokeBody::default(),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        let answer = match tauri::test::get_ipc_response(&window, request) {
            Ok(body) => json!({
              "reached": true,
              "message": body.deserialize::<Json>().unwrap_or(Json::Null),
            }),
            Err(e) => {
                let text = e
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| e.to_string());
                json!({
                  "reached": false,
                  "acl_rejected": text.contains("not allowed"),
                  "message": text,
                })
            }
        };
        out.push(answer);
    }
    Ok(json!({"ok": true, "results": out}))
}
