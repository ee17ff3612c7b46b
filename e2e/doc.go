// Package e2e holds capguard's browser test: it starts `capguard demo`,
// drives Chromium through the demo's pages with playwright-core
// (browser.mjs), and checks that the unmodified @tauri-apps/api and
// @tauri-apps/plugin-biometric packages get the guard's answers.
//
// The test needs Debian's chromium (/usr/bin/chromium, or $CHROMIUM),
// Node.js and the packages pinned in package-lock.json (npm ci; the
// repository's scripts/install-e2e.sh installs all three). It fails when
// they are missing, unless CAPGUARD_E2E=off, which skips it and says so.
package e2e
