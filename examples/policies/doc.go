// Package policies holds example user policies for capguard's Rego engine
// (package policy/rego), each with Rego unit tests:
//
//   - working_hours.rego denies plugin:biometric|authenticate to remote
//     pages outside working hours;
//   - fresh_biometric.rego requires a biometric authentication at most five
//     minutes old before the app command open_vault runs.
//
// Use them with `capguard check --policy examples/policies ...`, or load
// them with rego.LoadModules. The Go tests run the Rego unit tests through
// OPA's tester and check the policies against the example app.
package policies
