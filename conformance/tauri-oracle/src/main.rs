//! tauri-oracle: ask the real Tauri crates how they read, resolve and decide
//! a Tauri app's ACL, so that capguard's answers can be compared with
//! Tauri's own. See docs/conformance.md in the capguard repository.
//!
//! Every build wraps one tauri-utils release; the default build (with the
//! `runtime` feature) also links the tauri runtime, whose RuntimeAuthority
//! makes the IPC decisions.

mod utils;

#[cfg(feature = "runtime")]
mod runtime;

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{json, Value as Json};

const USAGE: &str = "usage:
  tauri-oracle resolve SRC_TAURI_DIR --target T [--manifests FILE] [--tauri-utils V]
  tauri-oracle schema --manifests FILE --target T [--tauri-utils V]
  tauri-oracle decide SRC_TAURI_DIR --target T [--manifests FILE]   (requests as JSON lines on stdin)
  tauri-oracle bench SRC_TAURI_DIR --target T [--iterations N]      (requests as JSON lines on stdin)
  tauri-oracle batch                                                (operations as JSON lines on stdin)
  tauri-oracle version";

struct Args {
    positional: Vec<String>,
    target: Option<String>,
    manifests: Option<PathBuf>,
    tauri_utils: Option<String>,
    iterations: u64,
}

fn parse_args(raw: &[String]) -> Result<Args, String> {
    let mut a = Args {
        positional: Vec::new(),
        target: None,
        manifests: None,
        tauri_utils: None,
        iterations: 200,
    };
    let mut it = raw.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--target" => a.target = Some(value("--target")?),
            "--manifests" => a.manifests = Some(PathBuf::from(value("--manifests")?)),
            "--tauri-utils" => a.tauri_utils = Some(value("--tauri-utils")?),
            "--iterations" => {
                a.iterations = value("--iterations")?
                    .parse()
                    .map_err(|_| "--iterations: expected a number".to_string())?
            }
            s if s.starts_with("--") => return Err(format!("unknown flag {s}")),
            _ => a.positional.push(arg.clone()),
        }
    }
    Ok(a)
}

fn main() -> ExitCode {
    // Tauri's resolver panics on some bad input (an invalid remote URL
    // pattern); the oracle catches those and answers with the panic's text,
    // so the default hook's report on stderr would only be noise.
    std::panic::set_hook(Box::new(|_| {}));
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = raw.first().cloned() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let args = match parse_args(&raw[1..]) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("tauri-oracle: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Some(v) = &args.tauri_utils {
        if v != utils::version() {
            return delegate(v, &raw);
        }
    }
    let result = match cmd.as_str() {
        "version" => {
            println!("tauri-utils {}", utils::version());
            Ok(())
        }
        "resolve" => cmd_resolve(&args),
        "schema" => cmd_schema(&args),
        "batch" => cmd_batch(),
        #[cfg(feature = "runtime")]
        "decide" => runtime::cmd_decide(&args.positional, &args.target, args.manifests.as_deref()),
        #[cfg(feature = "runtime")]
        "bench" => runtime::cmd_bench(&args.positional, &args.target, args.iterations),
        _ => Err(Failure::Usage(format!("unknown command {cmd:?}"))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(e)) => {
            eprintln!("tauri-oracle: {e}\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Tauri(e)) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

/// Why a command failed: bad usage (exit 2) or Tauri's own error (exit 1).
pub enum Failure {
    Usage(String),
    Tauri(String),
}

/// Runs the build of another tauri-utils release with the same arguments.
/// Those builds sit in versions/ (see docs/conformance.md); their folder is
/// `TAURI_ORACLE_VERSIONS` or `target/versions/debug` next to this binary's
/// target folder.
fn delegate(version: &str, raw: &[String]) -> ExitCode {
    let bin = version_binary(version);
    if !bin.exists() {
        eprintln!(
      "tauri-oracle: no build for tauri-utils {version} at {} (build it with scripts/build-oracle.sh {version})",
      bin.display()
    );
        return ExitCode::from(2);
    }
    let mut rest = Vec::new();
    let mut skip = false;
    for a in raw {
        if skip {
            skip = false;
            continue;
        }
        if a == "--tauri-utils" {
            skip = true;
            continue;
        }
        rest.push(a.clone());
    }
    match std::process::Command::new(&bin).args(&rest).status() {
        Ok(s) => ExitCode::from(s.code().unwrap_or(2) as u8),
        Err(e) => {
            eprintln!("tauri-oracle: running {}: {e}", bin.display());
            ExitCode::from(2)
        }
    }
}

/// The path of the build wrapping tauri-utils `version`.
pub fn version_binary(version: &str) -> PathBuf {
    let dir = std::env::var_os("TAURI_ORACLE_VERSIONS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let exe = std::env::current_exe().unwrap_or_default();
            let profile_dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
            profile_dir
                .parent()
                .map(|t| t.join("versions").join("debug"))
                .unwrap_or_default()
        });
    dir.join(format!("tauri-oracle-{}", version.replace('.', "_")))
}

fn need_target(t: &Option<String>) -> Result<tauri_utils::platform::Target, Failure> {
    let t = t
        .as_deref()
        .ok_or_else(|| Failure::Usage("--target is required".into()))?;
    utils::parse_target(t).map_err(Failure::Usage)
}

fn cmd_resolve(args: &Args) -> Result<(), Failure> {
    let [dir] = args.positional.as_slice() else {
        return Err(Failure::Usage("resolve takes one SRC_TAURI_DIR".into()));
    };
    let target = need_target(&args.target)?;
    let app = utils::load_app(Path::new(dir), target, args.manifests.as_deref())
        .map_err(Failure::Tauri)?;
    let resolved = utils::resolve(&app, target).map_err(Failure::Tauri)?;
    let text = serde_json::to_string_pretty(&utils::resolved_out(&resolved))
        .map_err(|e| Failure::Tauri(e.to_string()))?;
    println!("{text}");
    Ok(())
}

fn cmd_schema(args: &Args) -> Result<(), Failure> {
    let target = need_target(&args.target)?;
    let file = args
        .manifests
        .as_deref()
        .ok_or_else(|| Failure::Usage("schema needs --manifests FILE".into()))?;
    let manifests = utils::read_manifests(Path::new("."), Some(file)).map_err(Failure::Tauri)?;
    let schema = utils::schema(&manifests, target).map_err(Failure::Tauri)?;
    print!("{schema}");
    Ok(())
}

/// Batch mode: one JSON object per stdin line, one answer per stdout line,
/// in order. Operations: resolve {dir, target, manifests?}, schema
/// {manifests, target}, and with the runtime: decide and ipc {dir, target,
/// manifests?, requests}, runtime and runtime_ipc {dir, target,
/// manifests?, add, requests} (capabilities added at run time), urls
/// {urls, patterns}. A failing operation answers {"ok": false,
/// "error"}; the batch goes on.
fn cmd_batch() -> Result<(), Failure> {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for line in stdin.lock().lines() {
        let line = line.map_err(|e| Failure::Usage(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let answer = match serde_json::from_str::<Json>(&line) {
            Ok(op) => batch_op(&op).unwrap_or_else(|e| json!({"ok": false, "error": e})),
            Err(e) => json!({"ok": false, "error": format!("bad batch line: {e}")}),
        };
        serde_json::to_writer(&mut out, &answer).map_err(|e| Failure::Usage(e.to_string()))?;
        out.write_all(b"\n")
            .map_err(|e| Failure::Usage(e.to_string()))?;
        out.flush().map_err(|e| Failure::Usage(e.to_string()))?;
    }
    Ok(())
}

fn field<'a>(op: &'a Json, name: &str) -> Result<&'a str, String> {
    op.get(name)
        .and_then(Json::as_str)
        .ok_or_else(|| format!("batch operation needs a string field {name:?}"))
}

pub fn batch_app(op: &Json) -> Result<(utils::App, tauri_utils::platform::Target), String> {
    let target = utils::parse_target(field(op, "target")?)?;
    let manifests = op.get("manifests").and_then(Json::as_str).map(Path::new);
    let app = utils::load_app(Path::new(field(op, "dir")?), target, manifests)?;
    Ok((app, target))
}

fn batch_op(op: &Json) -> Result<Json, String> {
    match field(op, "op")? {
        "resolve" => {
            let (app, target) = batch_app(op)?;
            let resolved = utils::resolve(&app, target)?;
            Ok(json!({"ok": true, "resolved": utils::resolved_out(&resolved).json()}))
        }
        "schema" => {
            let target = utils::parse_target(field(op, "target")?)?;
            let manifests =
                utils::read_manifests(Path::new("."), Some(Path::new(field(op, "manifests")?)))?;
            Ok(json!({"ok": true, "schema": utils::schema(&manifests, target)?}))
        }
        #[cfg(feature = "runtime")]
        "decide" => runtime::batch_decide(op),
        #[cfg(feature = "runtime")]
        "ipc" => runtime::batch_ipc(op),
        #[cfg(feature = "runtime")]
        "runtime" => runtime::batch_runtime(op),
        #[cfg(feature = "runtime")]
        "runtime_ipc" => runtime::batch_runtime_ipc(op),
        #[cfg(feature = "runtime")]
        "urls" => runtime::batch_urls(op),
        other => Err(format!(
            "unknown batch operation {other:?} for this build (tauri-utils {})",
            utils::version()
        )),
    }
}
