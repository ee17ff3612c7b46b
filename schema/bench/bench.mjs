// Compares capguard with ajv 8 on the capability schemas of the conformance
// corpus: for every app, compiling the schema that tauri-build would write
// for its acl-manifests.json, and validating the app's JSON capability
// files with it, warm. Both sides use the same schema text (written by
// "capguard gen schema") and the same files.
//
//   cd schema/bench && npm ci && npm run bench
//
// CAPGUARD_CONFORMANCE_DIR overrides ../../../shared/conformance. The Go
// side is BenchmarkPerApp in schema/bench_test.go, run by this script.
import Ajv from "ajv";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..", "..");
const corpus = process.env.CAPGUARD_CONFORMANCE_DIR || path.resolve(repo, "..", "shared", "conformance");
const appsDir = path.join(corpus, "apps");

function jsonFiles(dir) {
  const out = [];
  if (!fs.existsSync(dir)) return out;
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".json") && path.basename(d) !== "schemas") out.push(p);
    }
  };
  walk(dir);
  return out;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

// Warm validation: parse and validate every file of the app, repeated for
// at least 300 ms; the time of one round.
function timeRounds(fn) {
  for (let i = 0; i < 20; i++) fn();
  let rounds = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  while (elapsed < 300_000_000n || rounds < 50) {
    fn();
    rounds++;
    elapsed = process.hrtime.bigint() - start;
  }
  return Number(elapsed) / rounds / 1000; // µs
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "capguard-bench-"));
const bin = path.join(tmp, "capguard");
execFileSync("go", ["build", "-o", bin, "./cmd/capguard"], { cwd: repo, stdio: "inherit" });

// The Go side, in one run.
console.error("running go test -bench BenchmarkPerApp ...");
const goOut = execFileSync("go", ["test", "./schema", "-run", "^$", "-bench", "^BenchmarkPerApp$", "-benchtime", "300ms"], {
  cwd: repo,
  encoding: "utf8",
  maxBuffer: 64 << 20,
});
const goNs = {};
for (const line of goOut.split("\n")) {
  const m = line.match(/^BenchmarkPerApp\/(\w+)\/(\S+?)(-\d+)?\s+\d+\s+([\d.]+) ns\/op/);
  if (m) goNs[`${m[1]}/${m[2]}`] = Number(m[4]);
}

const rows = [];
for (const app of fs.readdirSync(appsDir).filter((a) => fs.statSync(path.join(appsDir, a)).isDirectory()).sort()) {
  const src = path.join(appsDir, app, "src-tauri");
  const manifests = path.join(src, "gen", "schemas", "acl-manifests.json");
  const files = jsonFiles(path.join(src, "capabilities"));
  if (files.length === 0) continue;
  const schemaText = execFileSync(bin, ["gen", "schema", "--manifests", manifests], { encoding: "utf8", maxBuffer: 64 << 20 });
  const schema = JSON.parse(schemaText);
  const t0 = process.hrtime.bigint();
  const ajv = new Ajv({ strict: false, allowUnionTypes: true });
  const validate = ajv.compile(schema);
  const compileMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const texts = files.map((f) => fs.readFileSync(f, "utf8"));
  const validateUs = timeRounds(() => {
    for (const t of texts) validate(JSON.parse(t));
  });
  rows.push({
    app,
    files: files.length,
    ajvCompileMs: compileMs,
    goCompileMs: goNs[`compile/${app}`] / 1e6,
    ajvValidateUs: validateUs,
    goSchemaUs: goNs[`schema/${app}`] / 1e3,
    goChecksUs: goNs[`checks/${app}`] / 1e3,
  });
  console.error(`${app}: ajv compile ${compileMs.toFixed(0)} ms, validate ${validateUs.toFixed(1)} µs`);
}

const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "-");
console.log("| app | JSON files | ajv compile (ms) | capguard compile (ms) | ratio | ajv validate (µs) | capguard schema (µs) | ratio | capguard all checks (µs) |");
console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const r of rows) {
  console.log(`| ${r.app} | ${r.files} | ${f(r.ajvCompileMs, 0)} | ${f(r.goCompileMs)} | ${f(r.ajvCompileMs / r.goCompileMs)}× | ${f(r.ajvValidateUs)} | ${f(r.goSchemaUs)} | ${f(r.ajvValidateUs / r.goSchemaUs)}× | ${f(r.goChecksUs)} |`);
}
const med = (k) => median(rows.map((r) => r[k]));
console.log(`| **median** | | ${f(med("ajvCompileMs"), 0)} | ${f(med("goCompileMs"))} | ${f(median(rows.map((r) => r.ajvCompileMs / r.goCompileMs)))}× | ${f(med("ajvValidateUs"))} | ${f(med("goSchemaUs"))} | ${f(median(rows.map((r) => r.ajvValidateUs / r.goSchemaUs)))}× | ${f(med("goChecksUs"))} |`);
fs.rmSync(tmp, { recursive: true, force: true });
