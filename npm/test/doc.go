// Package test holds the tests of capguard's npm packages and GitHub
// Action: it builds the tarballs with scripts/build-npm.sh, installs them
// offline into a scratch project, and runs the steps of action.yml with
// the environment GitHub gives them. It is a module of its own so that
// its YAML reader stays out of capguard's go.mod and so that
// `go test ./...` at the top does not run it: scripts/test-npm.sh does.
package test
