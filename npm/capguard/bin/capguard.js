#!/usr/bin/env node
// The capguard launcher: finds the binary of the @capguard/<os>-<cpu>
// package that npm installed for this platform (one of the launcher's
// optionalDependencies, each limited to its platform by its os and cpu
// fields) and runs it with the same arguments, standard streams and exit
// status. Nothing is downloaded: without a platform package it says so and
// exits 2, capguard's code for a usage or set-up error.
"use strict";

const { spawnSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const platformPackage = `@capguard/${process.platform}-${process.arch}`;
const exe = process.platform === "win32" ? "capguard.exe" : "capguard";

function binaryPath() {
  // CAPGUARD_BINARY_PATH runs another capguard binary (a local build).
  const override = process.env.CAPGUARD_BINARY_PATH;
  if (override) {
    if (!fs.existsSync(override)) {
      fail(`CAPGUARD_BINARY_PATH names ${override}, which does not exist`);
    }
    return override;
  }
  let manifest;
  try {
    manifest = require.resolve(`${platformPackage}/package.json`);
  } catch {
    fail(
      `the package ${platformPackage} is not installed, so there is no capguard binary for ${process.platform} ${process.arch}.\n` +
        `npm installs it with capguard unless optional dependencies are turned off (--no-optional, --omit=optional)\n` +
        `or the lock file was made on another platform; reinstall capguard with optional dependencies.\n` +
        `Platforms with a binary: linux, darwin and win32 on x64 and arm64.`
    );
  }
  const bin = path.join(path.dirname(manifest), "bin", exe);
  if (!fs.existsSync(bin)) {
    fail(`${platformPackage} is installed but has no bin/${exe}; reinstall capguard`);
  }
  return bin;
}

function fail(message) {
  process.stderr.write(`capguard (npm launcher): ${message}\n`);
  process.exit(2);
}

const result = spawnSync(binaryPath(), process.argv.slice(2), { stdio: "inherit", windowsHide: true });
if (result.error) {
  fail(`cannot run the capguard binary: ${result.error.message}`);
}
if (result.signal) {
  process.kill(process.pid, result.signal);
}
process.exit(result.status === null ? 2 : result.status);
