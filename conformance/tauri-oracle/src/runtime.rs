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

/// One capability to add at run time, as the test sends it: a capability
/// file's text (Tauri's `RuntimeCapability` for strings: JSON, else TOML),
/// or the fields of a `CapabilityBuilder`.
enum Added {
    Text(String),
    Builder(Json),
}

fn added_capability(v: &Json) -> Result<Added, String> {
    if let Some(text) = v.get("text").and_then(Json::as_str) {
        return Ok(Added::Text(text.to_string()));
    }
    v.get("builder")
        .cloned()
        .map(Added::Builder)
        .ok_or_else(|| "an added capability needs \"text\" or \"builder\"".to_string())
}

/// The CapabilityBuilder calls for the builder's fields; it panics where
/// the builder does (an invalid permission identifier).
fn builder(b: &Json) -> tauri::ipc::CapabilityBuilder {
    let strs = |name: &str| -> Vec<String> {
        b.get(name)
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut c = tauri::ipc::CapabilityBuilder::new(
        b.get("identifier")
            .and_then(Json::as_str)
            .unwrap_or_default(),
    );
    c = c.windows(strs("windows")).webviews(strs("webviews"));
    if let Some(local) = b.get("local").and_then(Json::as_bool) {
        c = c.local(local);
    }
    for url in strs("remote") {
        c = c.remote(url);
    }
    for p in b
        .get("permissions")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default()
    {
        c = match p {
            Json::String(id) => c.permission(id),
            obj => {
                let list = |name: &str| {
                    obj.get(name)
                        .and_then(Json::as_array)
                        .cloned()
                        .unwrap_or_default()
                };
                c.permission_scoped(
                    obj.get("identifier")
                        .and_then(Json::as_str)
                        .unwrap_or_default(),
                    list("allow"),
                    list("deny"),
                )
            }
        };
    }
    for t in strs("platforms") {
        c = c.platform(utils::parse_target(&t).expect("platform"));
    }
    c
}

impl Added {
    /// The capability file Tauri builds from it (RuntimeCapability::build).
    fn file(&self) -> tauri_utils::acl::capability::CapabilityFile {
        use tauri::ipc::RuntimeCapability;
        match self {
            Added::Text(t) => t.as_str().build(),
            Added::Builder(b) => builder(b).build(),
        }
    }
}

/// Runs f, turning a panic into an error with its text.
fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| utils::panic_text(&p))
}

/// Batch operation "runtime": the app's RuntimeAuthority, then each
/// capability of "add" added with `RuntimeAuthority::add_capability` (the
/// call behind `Manager::add_capability`, dynamic-acl) in order, then the
/// requests decided. Tauri resolves an added capability for the platform
/// it runs on (`Target::current()`, linux here), whatever the app's
/// target. "added" says, per capability, whether Tauri took it or
/// panicked (it unwraps the resolver's error). The entries of allowed
/// decisions show scope values of the added capabilities' scope ids as
/// tauri-utils resolves them with the same base id (Tauri's
/// `resolve_with_base_scope_id`, the call add_capability makes).
pub fn batch_runtime(op: &Json) -> Result<Json, String> {
    use tauri_utils::acl::capability::CapabilityFile;
    let (app, target) = batch_app(op)?;
    let (shown_app, _) = batch_app(op)?;
    let mut shown = utils::resolve(&app, target)?;
    let mut auth = authority(app, target)?;
    let adds = op
        .get("add")
        .and_then(Json::as_array)
        .ok_or("runtime needs an \"add\" array")?;
    let mut added = Vec::with_capacity(adds.len());
    for a in adds {
        let cap = added_capability(a)?;
        // Handed over as an app would: the text itself, or the builder.
        let add = catch(|| match &cap {
            Added::Text(t) => auth.add_capability(t.as_str()),
            Added::Builder(b) => auth.add_capability(builder(b)),
        });
        match add {
            Ok(Ok(())) => {
                // The same resolution add_capability made, for the scope
                // values of its new scope ids.
                let caps: std::collections::BTreeMap<_, _> = match cap.file() {
                    CapabilityFile::Capability(c) => [(c.identifier.clone(), c)].into(),
                    CapabilityFile::List(l) | CapabilityFile::NamedList { capabilities: l } => {
                        l.into_iter().map(|c| (c.identifier.clone(), c)).collect()
                    }
                };
                let base = shown.command_scope.keys().next_back().copied().unwrap_or(0);
                let r = tauri_utils::acl::resolved::Resolved::resolve_with_base_scope_id(
                    &shown_app.manifests,
                    caps,
                    tauri_utils::platform::Target::current(),
                    base,
                )
                .map_err(|e| e.to_string())?;
                shown.command_scope.extend(r.command_scope);
                added.push(json!({"ok": true}));
            }
            Ok(Err(e)) => added.push(json!({"ok": false, "error": e.to_string()})),
            Err(p) => added.push(json!({"ok": false, "panic": p})),
        }
    }
    let requests = op
        .get("requests")
        .and_then(Json::as_array)
        .ok_or("runtime needs a \"requests\" array")?;
    let mut out = Vec::with_capacity(requests.len());
    for r in requests {
        out.push(decide_one(&auth, &shown, &parse_request(r)?));
    }
    Ok(json!({"ok": true, "added": added, "decisions": out}))
}

/// Batch operation "urls": how the url crate (the WHATWG URL parser Tauri
/// turns a page's URL into its origin with) reads each of "urls", and,
/// for those it accepts, which of "patterns" (remote URL patterns, read
/// as tauri-utils reads a capability's remote.urls) match it.
pub fn batch_urls(op: &Json) -> Result<Json, String> {
    use tauri_utils::acl::RemoteUrlPattern;
    let patterns = op
        .get("patterns")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|p| {
            let s = p.as_str().ok_or("patterns must be strings")?;
            s.parse::<RemoteUrlPattern>()
                .map_err(|e| format!("pattern {s:?}: {e}"))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let urls = op
        .get("urls")
        .and_then(Json::as_array)
        .ok_or("urls needs a \"urls\" array")?;
    let mut out = Vec::with_capacity(urls.len());
    for u in urls {
        let s = u.as_str().ok_or("urls must be strings")?;
        out.push(match url::Url::parse(s) {
            Ok(url) => json!({
              "ok": true,
              "href": url.as_str(),
              "host": url.host_str(),
              "matches": patterns.iter().map(|p| p.test(&url)).collect::<Vec<_>>(),
            }),
            Err(e) => json!({"ok": false, "error": e.to_string()}),
        });
    }
    Ok(json!({"ok": true, "results": out}))
}

/// Batch operation "runtime_ipc": the mock app, each capability of "add"
/// added with `Manager::add_capability` (which holds the runtime
/// authority's mutex while it resolves), then each request sent through
/// the whole IPC path, as batch_ipc does. A panic while adding poisons the
/// mutex; what the IPC path does afterwards is part of the answer.
pub fn batch_runtime_ipc(op: &Json) -> Result<Json, String> {
    let (app_in, target) = batch_app(op)?;
    let resolved = utils::resolve(&app_in, target)?;
    let app = mock_app(app_in, resolved)?;
    let adds = op
        .get("add")
        .and_then(Json::as_array)
        .ok_or("runtime_ipc needs an \"add\" array")?;
    let mut added = Vec::with_capacity(adds.len());
    for a in adds {
        let cap = added_capability(a)?;
        let add = catch(|| match &cap {
            Added::Text(t) => app.add_capability(t.as_str()),
            Added::Builder(b) => app.add_capability(builder(b)),
        });
        added.push(match add {
            Ok(Ok(())) => json!({"ok": true}),
            Ok(Err(e)) => json!({"ok": false, "error": e.to_string()}),
            Err(p) => json!({"ok": false, "panic": p}),
        });
    }
    let requests = op
        .get("requests")
        .and_then(Json::as_array)
        .ok_or("runtime_ipc needs a \"requests\" array")?
        .iter()
        .map(parse_request)
        .collect::<Result<Vec<_>, _>>()?;
    let out = requests
        .iter()
        .map(|r| {
            catch(|| ipc_call(&app, r)).unwrap_or_else(|p| json!({"reached": false, "panic": p}))
        })
        .collect::<Vec<_>>();
    Ok(json!({"ok": true, "added": added, "results": out}))
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

    let app = mock_app(app_in, resolved)?;

    let out = requests
        .iter()
        .map(|r| ipc_call(&app, r))
        .collect::<Vec<_>>();
    Ok(json!({"ok": true, "results": out}))
}

/// The mock runtime's app over the app's ACL, with a command handler that
/// answers every call that gets past the ACL.
fn mock_app(
    app_in: utils::App,
    resolved: tauri_utils::acl::resolved::Resolved,
) -> Result<tauri::App<tauri::test::MockRuntime>, String> {
    let mut context = mock_context(noop_assets());
    *context.runtime_authority_mut() = RuntimeAuthority::new(app_in.manifests, resolved);
    mock_builder()
        .invoke_handler(|invoke| {
            invoke.resolver.resolve("reached the command handler");
            true
        })
        .build(context)
        .map_err(|e| e.to_string())
}

/// One request through the mock app's IPC path (see batch_ipc).
fn ipc_call(app: &tauri::App<tauri::test::MockRuntime>, r: &Request) -> Json {
    if r.window != r.webview {
        return json!({"skipped": true});
    }
    let window = match app.get_webview_window(&r.window) {
        Some(w) => w,
        None => {
            match WebviewWindowBuilder::new(app, &r.window, WebviewUrl::App("index.html".into()))
                .build()
            {
                Ok(w) => w,
                // Tauri refuses some labels (only alphanumerics, -, /, : and _):
                // no page can call from such a window.
                Err(e) => return json!({"skipped": true, "reason": e.to_string()}),
            }
        }
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
    match tauri::test::get_ipc_response(&window, request) {
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
    }
}
