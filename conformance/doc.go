// Package conformance holds capguard's differential tests against Tauri
// itself: the Go tests in this folder drive the oracle program in
// tauri-oracle/ (a Cargo project built on the real tauri-utils and tauri
// crates from the crate registry) and compare its answers with capguard's,
// for resolution, runtime decisions, rejected files and generated schemas,
// across the tauri-utils 2.x releases.
//
// Build the oracle with scripts/build-oracle.sh, then run
//
//	go test ./conformance/
//
// CAPGUARD_TAURI=off turns every test here into a printed skip, for users
// without Rust; without it a missing oracle build fails the tests. The
// package exports nothing: see docs/conformance.md.
package conformance
