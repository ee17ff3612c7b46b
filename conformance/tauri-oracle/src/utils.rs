//! What tauri-utils answers about an app folder: its capabilities as Tauri's
//! build reads them, the resolved ACL and the capability schema. This file
//! compiles against every tauri-utils 2.x release (see versions/), so it only
//! uses the API those releases share.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value as Json};
use tauri_utils::acl::capability::Capability;
use tauri_utils::acl::manifest::Manifest;
use tauri_utils::acl::resolved::{Resolved, ResolvedCommand, ResolvedScope};
use tauri_utils::acl::ExecutionContext;
use tauri_utils::config::CapabilityEntry;
use tauri_utils::platform::Target;

/// The app's inputs, read with Tauri's own types.
pub struct App {
    pub manifests: BTreeMap<String, Manifest>,
    pub capabilities: BTreeMap<String, Capability>,
}

/// Reads a target name as Tauri spells it ("linux", "macOS", "windows",
/// "android", "iOS").
pub fn parse_target(name: &str) -> Result<Target, String> {
    serde_json::from_value(Json::String(name.to_string())).map_err(|_| {
        format!("unknown target {name:?}: expected linux, macOS, windows, android or iOS")
    })
}

/// Reads `dir/gen/schemas/acl-manifests.json` (or `manifests` when given).
pub fn read_manifests(
    dir: &Path,
    manifests: Option<&Path>,
) -> Result<BTreeMap<String, Manifest>, String> {
    let path = manifests
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dir.join("gen").join("schemas").join("acl-manifests.json"));
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Loads an app folder the way tauri-build does: every capability file under
/// `capabilities/` (tauri-utils' own reader), then the selection that
/// `app > security > capabilities` of the configuration (with the target's
/// platform file merged in) makes.
pub fn load_app(dir: &Path, target: Target, manifests: Option<&Path>) -> Result<App, String> {
    let manifests = read_manifests(dir, manifests)?;
    let pattern = dir.join("capabilities").join("**").join("*");
    let from_files = tauri_utils::acl::build::parse_capabilities(&pattern.to_string_lossy())
        .map_err(|e| e.to_string())?;
    let capabilities = select_capabilities(dir, target, from_files)?;
    Ok(App {
        manifests,
        capabilities,
    })
}

/// The capability list of the configuration: absent or empty means every
/// capability file; otherwise inline capabilities and references to files by
/// identifier (an unknown reference is an error, as in tauri-build).
fn select_capabilities(
    dir: &Path,
    target: Target,
    mut from_files: BTreeMap<String, Capability>,
) -> Result<BTreeMap<String, Capability>, String> {
    let config = match read_config(dir, target)? {
        Some(config) => config,
        None => return Ok(from_files),
    };
    let list = config
        .get("app")
        .and_then(|a| a.get("security"))
        .and_then(|s| s.get("capabilities"))
        .cloned()
        .unwrap_or(Json::Array(Vec::new()));
    let entries: Vec<CapabilityEntry> =
        serde_json::from_value(list).map_err(|e| format!("app > security > capabilities: {e}"))?;
    if entries.is_empty() {
        return Ok(from_files);
    }
    let mut out = BTreeMap::new();
    for entry in entries {
        match entry {
            CapabilityEntry::Inlined(c) => {
                out.insert(c.identifier.clone(), c);
            }
            CapabilityEntry::Reference(id) => {
                let c = from_files
                    .remove(&id)
                    .ok_or_else(|| format!("capability with identifier {id} not found"))?;
                out.insert(id, c);
            }
        }
    }
    Ok(out)
}

/// The configuration with the platform file merged in (RFC 7396), read by
/// tauri-utils' own config parser; None when the folder has no config.
fn read_config(dir: &Path, target: Target) -> Result<Option<Json>, String> {
    use tauri_utils::config::parse;
    let base = dir.join("tauri.conf.json");
    let has_config = ["tauri.conf.json", "tauri.conf.json5", "Tauri.toml"]
        .iter()
        .any(|n| dir.join(n).exists());
    if !has_config {
        return Ok(None);
    }
    let (mut config, _) = parse::parse_value(target, base).map_err(|e| e.to_string())?;
    // read_platform takes a PathBuf in early 2.x releases and a &Path in later
    // ones: `into()` fits both (and is a no-op on the newer ones).
    #[allow(clippy::useless_conversion)]
    let platform = parse::read_platform(target, dir.into()).map_err(|e| e.to_string())?;
    if let Some((platform, _)) = platform {
        json_patch::merge(&mut config, &platform);
    }
    Ok(Some(config))
}

/// Resolves with tauri-utils; a panic inside the resolver (Tauri panics on an
/// invalid remote URL pattern) becomes an error with the panic's text.
pub fn resolve(app: &App, target: Target) -> Result<Resolved, String> {
    let caps = app.capabilities.clone();
    let manifests = &app.manifests;
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Resolved::resolve(manifests, caps, target)
    }));
    match run {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => Err(e.to_string()),
        Err(p) => Err(format!("panic: {}", panic_text(&p))),
    }
}

pub fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else {
        "unknown panic".to_string()
    }
}

/// A JSON value whose objects keep the order they are built in, so that the
/// output has the key order of `capguard resolve --format json` (serde_json
/// itself sorts keys unless its preserve_order feature is on, and turning it
/// on would change Tauri's own behaviour in this build).
pub enum Out {
    Obj(Vec<(&'static str, Out)>),
    Map(Vec<(String, Out)>),
    Arr(Vec<Out>),
    Leaf(Json),
}

impl serde::Serialize for Out {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Out::Obj(fields) => {
                let mut m = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
            Out::Map(fields) => {
                let mut m = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
            Out::Arr(items) => {
                let mut q = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    q.serialize_element(v)?;
                }
                q.end()
            }
            Out::Leaf(v) => v.serialize(s),
        }
    }
}

impl Out {
    /// The value as plain JSON (objects with sorted keys).
    pub fn json(&self) -> Json {
        serde_json::to_value(self).unwrap_or(Json::Null)
    }
}

fn values(list: &[tauri_utils::acl::Value]) -> Out {
    Out::Arr(
        list.iter()
            .map(|v| Out::Leaf(serde_json::to_value(v).unwrap_or(Json::Null)))
            .collect(),
    )
}

fn scope_out(s: &ResolvedScope) -> Out {
    Out::Obj(vec![("allow", values(&s.allow)), ("deny", values(&s.deny))])
}

fn globs(list: &[glob::Pattern]) -> Out {
    Out::Arr(list.iter().map(|g| Out::Leaf(json!(g.as_str()))).collect())
}

/// One resolved entry in the form of `capguard resolve --format json`.
pub fn entry_out(r: &Resolved, e: &ResolvedCommand) -> Out {
    let context = match &e.context {
        ExecutionContext::Local => Out::Leaf(json!("local")),
        ExecutionContext::Remote { url } => {
            Out::Obj(vec![("remote", Out::Leaf(json!(url.as_str())))])
        }
    };
    let scope = e
        .scope_id
        .and_then(|id| r.command_scope.get(&id))
        .map(scope_out)
        .unwrap_or(Out::Leaf(Json::Null));
    Out::Obj(vec![
        ("context", context),
        ("windows", globs(&e.windows)),
        ("webviews", globs(&e.webviews)),
        ("scope_id", Out::Leaf(json!(e.scope_id))),
        ("scope", scope),
    ])
}

/// The resolved ACL in the form of `capguard resolve --format json` (the
/// layout of Tauri's resolver fixtures), keys in the same order.
pub fn resolved_out(r: &Resolved) -> Out {
    let commands = |m: &BTreeMap<String, Vec<ResolvedCommand>>| {
        Out::Map(
            m.iter()
                .map(|(cmd, list)| {
                    (
                        cmd.clone(),
                        Out::Arr(list.iter().map(|e| entry_out(r, e)).collect()),
                    )
                })
                .collect(),
        )
    };
    Out::Obj(vec![
        ("allowed_commands", commands(&r.allowed_commands)),
        ("denied_commands", commands(&r.denied_commands)),
        (
            "command_scope",
            Out::Map(
                r.command_scope
                    .iter()
                    .map(|(id, s)| (id.to_string(), scope_out(s)))
                    .collect(),
            ),
        ),
        (
            "global_scope",
            Out::Map(
                r.global_scope
                    .iter()
                    .map(|(k, s)| (k.clone(), scope_out(s)))
                    .collect(),
            ),
        ),
    ])
}

/// The capability schema tauri-utils writes for `target`, as text. The crate
/// writes into `gen/schemas` below the working directory, so this runs it in
/// a scratch directory.
pub fn schema(manifests: &BTreeMap<String, Manifest>, target: Target) -> Result<String, String> {
    let scratch = std::env::temp_dir().join(format!(
        "tauri-oracle-schema-{}-{}",
        std::process::id(),
        SCHEMA_RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let back = std::env::current_dir().map_err(|e| e.to_string())?;
    std::env::set_current_dir(&scratch).map_err(|e| e.to_string())?;
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tauri_utils::acl::schema::generate_capability_schema(manifests, target)
    }));
    let _ = std::env::set_current_dir(back);
    let out = match run {
        Ok(Ok(())) => {
            let file = scratch
                .join("gen")
                .join("schemas")
                .join(format!("{target}-schema.json"));
            std::fs::read_to_string(&file).map_err(|e| format!("reading {}: {e}", file.display()))
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(p) => Err(format!("panic: {}", panic_text(&p))),
    };
    let _ = std::fs::remove_dir_all(&scratch);
    out
}

static SCHEMA_RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The tauri-utils version this binary was built with: each build's package
/// version is the version of the tauri-utils release it wraps.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
