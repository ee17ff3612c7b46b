package capguard_test

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/capguard/capguard"
	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/acldiff"
	"github.com/capguard/capguard/audit"
	"github.com/capguard/capguard/biometric"
	"github.com/capguard/capguard/demo"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/gen"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/sim"
	"github.com/capguard/capguard/policy"
	"github.com/capguard/capguard/policy/rego"
	"github.com/capguard/capguard/schema"
)

// zeroPackages are the packages whose exported API the zero-value walker
// covers: folder → package name as used in zeroTable's keys.
var zeroPackages = map[string]string{
	".": "capguard", "acl": "acl", "acldiff": "acldiff", "audit": "audit", "biometric": "biometric",
	"demo": "demo", "gen": "gen", "ipc": "ipc", "native": "native", "native/sim": "sim",
	"policy": "policy", "policy/rego": "rego", "schema": "schema", "examples": "examples",
}

// zeroTable lists every exported type and function of zeroPackages: a
// type's methods are called on its zero value (and, for pointer methods,
// on a nil pointer), a function is called with zero arguments (nil, "",
// 0, an empty struct, one nil option), each with a context and a
// recorder where one is needed. A new exported name fails
// TestZeroValuesWalk until it is added here.
var zeroTable = map[string]any{
	// .
	"capguard.App":                reflect.TypeFor[capguard.App](),
	"capguard.Option":             reflect.TypeFor[capguard.Option](),
	"capguard.WithEngine":         capguard.WithEngine,
	"capguard.Verbose":            capguard.Verbose,
	"capguard.WithObserver":       capguard.WithObserver,
	"capguard.WithAudit":          capguard.WithAudit,
	"capguard.WithReload":         capguard.WithReload,
	"capguard.ConfirmRemoval":     capguard.ConfirmRemoval,
	"capguard.RefuseRemoval":      capguard.RefuseRemoval,
	"capguard.WithBuilder":        capguard.WithBuilder,
	"capguard.WithExtension":      capguard.WithExtension,
	"capguard.WithSource":         capguard.WithSource,
	"capguard.WithStepUp":         capguard.WithStepUp,
	"capguard.WithSecretObserver": capguard.WithSecretObserver,
	"capguard.New":                capguard.New,
	"capguard.Load":               capguard.Load,
	"capguard.LoadFS":             capguard.LoadFS,
	"capguard.ReferenceEngine":    capguard.ReferenceEngine,
	// acl
	"acl.App":                       reflect.TypeFor[acl.App](),
	"acl.LoadApp":                   acl.LoadApp,
	"acl.LoadAppFS":                 acl.LoadAppFS,
	"acl.Request":                   reflect.TypeFor[acl.Request](),
	"acl.Decision":                  reflect.TypeFor[acl.Decision](),
	"acl.PrettyCommand":             acl.PrettyCommand,
	"acl.AllowedOn":                 acl.AllowedOn,
	"acl.ContextList":               acl.ContextList,
	"acl.Grant":                     reflect.TypeFor[acl.Grant](),
	"acl.IsInputError":              acl.IsInputError,
	"acl.Position":                  reflect.TypeFor[acl.Position](),
	"acl.Error":                     reflect.TypeFor[acl.Error](),
	"acl.Extension":                 reflect.TypeFor[acl.Extension](),
	"acl.ObligationRule":            reflect.TypeFor[acl.ObligationRule](),
	"acl.ParseExtension":            acl.ParseExtension,
	"acl.ReadExtension":             acl.ReadExtension,
	"acl.LoadExtensionFS":           acl.LoadExtensionFS,
	"acl.LoadExtension":             acl.LoadExtension,
	"acl.KnownCommands":             acl.KnownCommands,
	"acl.ParsePermissionFile":       acl.ParsePermissionFile,
	"acl.ReadPermissionFile":        acl.ReadPermissionFile,
	"acl.PermissionFilePaths":       acl.PermissionFilePaths,
	"acl.LoadPermissionFS":          acl.LoadPermissionFS,
	"acl.LoadPermissionDir":         acl.LoadPermissionDir,
	"acl.ParseCapabilityFile":       acl.ParseCapabilityFile,
	"acl.ReadCapabilityFile":        acl.ReadCapabilityFile,
	"acl.CapabilitySet":             reflect.TypeFor[acl.CapabilitySet](),
	"acl.LoadCapabilityFS":          acl.LoadCapabilityFS,
	"acl.LoadCapabilities":          acl.LoadCapabilities,
	"acl.Glob":                      reflect.TypeFor[acl.Glob](),
	"acl.GlobError":                 reflect.TypeFor[acl.GlobError](),
	"acl.CompileGlob":               acl.CompileGlob,
	"acl.Identifier":                reflect.TypeFor[acl.Identifier](),
	"acl.ParseIdentifier":           acl.ParseIdentifier,
	"acl.MustIdentifier":            acl.MustIdentifier,
	"acl.DisplayKey":                acl.DisplayKey,
	"acl.CommandName":               acl.CommandName,
	"acl.ParseManifests":            acl.ParseManifests,
	"acl.ReadManifests":             acl.ReadManifests,
	"acl.MarshalManifests":          acl.MarshalManifests,
	"acl.WriteManifests":            acl.WriteManifests,
	"acl.MarshalCapabilities":       acl.MarshalCapabilities,
	"acl.ParseCompiledCapabilities": acl.ParseCompiledCapabilities,
	"acl.Source":                    reflect.TypeFor[acl.Source](),
	"acl.Commands":                  reflect.TypeFor[acl.Commands](),
	"acl.Scopes":                    reflect.TypeFor[acl.Scopes](),
	"acl.Permission":                reflect.TypeFor[acl.Permission](),
	"acl.PermissionSet":             reflect.TypeFor[acl.PermissionSet](),
	"acl.DefaultPermission":         reflect.TypeFor[acl.DefaultPermission](),
	"acl.PermissionFile":            reflect.TypeFor[acl.PermissionFile](),
	"acl.Manifest":                  reflect.TypeFor[acl.Manifest](),
	"acl.GlobalScopeSource":         reflect.TypeFor[acl.GlobalScopeSource](),
	"acl.Manifests":                 reflect.TypeFor[acl.Manifests](),
	"acl.Remote":                    reflect.TypeFor[acl.Remote](),
	"acl.PermissionEntry":           reflect.TypeFor[acl.PermissionEntry](),
	"acl.Capability":                reflect.TypeFor[acl.Capability](),
	"acl.NewManifest":               acl.NewManifest,
	"acl.RemotePattern":             reflect.TypeFor[acl.RemotePattern](),
	"acl.CompileRemote":             acl.CompileRemote,
	"acl.Origin":                    reflect.TypeFor[acl.Origin](),
	"acl.OriginKey":                 acl.OriginKey,
	"acl.ParseOrigin":               acl.ParseOrigin,
	"acl.MustOrigin":                acl.MustOrigin,
	"acl.Context":                   reflect.TypeFor[acl.Context](),
	"acl.ResolvedCommand":           reflect.TypeFor[acl.ResolvedCommand](),
	"acl.ResolvedScope":             reflect.TypeFor[acl.ResolvedScope](),
	"acl.Resolved":                  reflect.TypeFor[acl.Resolved](),
	"acl.Resolve":                   acl.Resolve,
	"acl.MarshalResolved":           acl.MarshalResolved,
	"acl.Target":                    reflect.TypeFor[acl.Target](),
	"acl.ParseTarget":               acl.ParseTarget,
	"acl.ValueKind":                 reflect.TypeFor[acl.ValueKind](),
	"acl.Value":                     reflect.TypeFor[acl.Value](),
	"acl.MapEntry":                  reflect.TypeFor[acl.MapEntry](),
	"acl.Null":                      acl.Null,
	"acl.Bool":                      acl.Bool,
	"acl.Int":                       acl.Int,
	"acl.Float":                     acl.Float,
	"acl.String":                    acl.String,
	"acl.List":                      acl.List,
	"acl.Map":                       acl.Map,
	// acldiff
	"acldiff.Verdict":      reflect.TypeFor[acldiff.Verdict](),
	"acldiff.Kind":         reflect.TypeFor[acldiff.Kind](),
	"acldiff.Op":           reflect.TypeFor[acldiff.Op](),
	"acldiff.Effect":       reflect.TypeFor[acldiff.Effect](),
	"acldiff.Cause":        reflect.TypeFor[acldiff.Cause](),
	"acldiff.Change":       reflect.TypeFor[acldiff.Change](),
	"acldiff.Report":       reflect.TypeFor[acldiff.Report](),
	"acldiff.Skip":         reflect.TypeFor[acldiff.Skip](),
	"acldiff.Side":         reflect.TypeFor[acldiff.Side](),
	"acldiff.Compare":      acldiff.Compare,
	"acldiff.Format":       reflect.TypeFor[acldiff.Format](),
	"acldiff.Open":         acldiff.Open,
	"acldiff.NotCompared":  reflect.TypeFor[acldiff.NotCompared](),
	"acldiff.Warning":      reflect.TypeFor[acldiff.Warning](),
	"acldiff.Options":      reflect.TypeFor[acldiff.Options](),
	"acldiff.CompareWith":  acldiff.CompareWith,
	"acldiff.WriteOptions": reflect.TypeFor[acldiff.WriteOptions](),
	"acldiff.Risk":         reflect.TypeFor[acldiff.Risk](),
	"acldiff.ParseRisk":    acldiff.ParseRisk,
	"acldiff.OpenOptions":  reflect.TypeFor[acldiff.OpenOptions](),
	// audit
	"audit.Entry":          reflect.TypeFor[audit.Entry](),
	"audit.Class":          reflect.TypeFor[audit.Class](),
	"audit.Refusals":       reflect.TypeFor[audit.Refusals](),
	"audit.Secret":         reflect.TypeFor[audit.Secret](),
	"audit.NewSecretEntry": audit.NewSecretEntry,
	"audit.Reload":         reflect.TypeFor[audit.Reload](),
	"audit.NewReloadEntry": audit.NewReloadEntry,
	"audit.Input":          reflect.TypeFor[audit.Input](),
	"audit.Origin":         reflect.TypeFor[audit.Origin](),
	"audit.Result":         reflect.TypeFor[audit.Result](),
	"audit.Reference":      reflect.TypeFor[audit.Reference](),
	"audit.Obligation":     reflect.TypeFor[audit.Obligation](),
	"audit.NewEntry":       audit.NewEntry,
	"audit.Sink":           reflect.TypeFor[audit.Sink](),
	"audit.SinkFunc":       reflect.TypeFor[audit.SinkFunc](),
	"audit.JSONLines":      reflect.TypeFor[audit.JSONLines](),
	"audit.NewJSONLines":   audit.NewJSONLines,
	"audit.OpenFile":       audit.OpenFile,
	"audit.OnError":        audit.OnError,
	"audit.Option":         reflect.TypeFor[audit.Option](),
	"audit.Queue":          audit.Queue,
	"audit.QueueBytes":     audit.QueueBytes,
	"audit.Block":          audit.Block,
	"audit.Labels":         audit.Labels,
	"audit.Stats":          reflect.TypeFor[audit.Stats](),
	"audit.Log":            reflect.TypeFor[audit.Log](),
	"audit.New":            audit.New,
	// biometric
	"biometric.BiometryPermissions": biometric.BiometryPermissions,
	"biometric.BiometryManifest":    biometric.BiometryManifest,
	"biometric.BiometryCommands":    biometric.BiometryCommands,
	"biometric.ScopeEntry":          reflect.TypeFor[biometric.ScopeEntry](),
	"biometric.BiometryStatus":      reflect.TypeFor[biometric.BiometryStatus](),
	"biometric.BiometryError":       reflect.TypeFor[biometric.BiometryError](),
	"biometric.SecretOp":            reflect.TypeFor[biometric.SecretOp](),
	"biometric.SecretEvent":         reflect.TypeFor[biometric.SecretEvent](),
	"biometric.OnSecretAccess":      biometric.OnSecretAccess,
	"biometric.BiometryType":        reflect.TypeFor[biometric.BiometryType](),
	"biometric.Code":                reflect.TypeFor[biometric.Code](),
	"biometric.Error":               reflect.TypeFor[biometric.Error](),
	"biometric.Status":              reflect.TypeFor[biometric.Status](),
	"biometric.Biometric":           reflect.TypeFor[biometric.Biometric](),
	"biometric.New":                 biometric.New,
	"biometric.Option":              reflect.TypeFor[biometric.Option](),
	"biometric.PermissionCommands":  biometric.PermissionCommands,
	"biometric.Commands":            biometric.Commands,
	"biometric.AuthOptions":         reflect.TypeFor[biometric.AuthOptions](),
	"biometric.Permissions":         biometric.Permissions,
	"biometric.Manifest":            biometric.Manifest,
	"biometric.WithChallengeTTL":    biometric.WithChallengeTTL,
	"biometric.WithStepUpKey":       biometric.WithStepUpKey,
	"biometric.Challenge":           reflect.TypeFor[biometric.Challenge](),
	"biometric.StepUp":              reflect.TypeFor[biometric.StepUp](),
	"biometric.StepUpOption":        reflect.TypeFor[biometric.StepUpOption](),
	"biometric.WithClock":           biometric.WithClock,
	"biometric.WithEntries":         biometric.WithEntries,
	"biometric.WithPromptOptions":   biometric.WithPromptOptions,
	"biometric.StepUpOutcome":       reflect.TypeFor[biometric.StepUpOutcome](),
	"biometric.StepUpEvent":         reflect.TypeFor[biometric.StepUpEvent](),
	"biometric.OnStepUp":            biometric.OnStepUp,
	"biometric.NewStepUp":           biometric.NewStepUp,
	// demo
	"demo.Config":        reflect.TypeFor[demo.Config](),
	"demo.DefaultDevice": demo.DefaultDevice,
	"demo.Window":        reflect.TypeFor[demo.Window](),
	"demo.Server":        reflect.TypeFor[demo.Server](),
	"demo.Start":         demo.Start,
	"demo.Packages":      reflect.TypeFor[demo.Packages](),
	"demo.Entry":         reflect.TypeFor[demo.Entry](),
	"demo.Obligation":    reflect.TypeFor[demo.Obligation](),
	"demo.AuditLine":     reflect.TypeFor[demo.AuditLine](),
	// gen
	"gen.Plugin":                 reflect.TypeFor[gen.Plugin](),
	"gen.File":                   reflect.TypeFor[gen.File](),
	"gen.Output":                 reflect.TypeFor[gen.Output](),
	"gen.Reference":              gen.Reference,
	"gen.PermissionSchema":       gen.PermissionSchema,
	"gen.ParseGlobalScopeSchema": gen.ParseGlobalScopeSchema,
	"gen.ReadGlobalScopeSchema":  gen.ReadGlobalScopeSchema,
	// ipc
	"ipc.DeniedError":       reflect.TypeFor[ipc.DeniedError](),
	"ipc.ObligationFunc":    reflect.TypeFor[ipc.ObligationFunc](),
	"ipc.Explainer":         reflect.TypeFor[ipc.Explainer](),
	"ipc.GuardOption":       reflect.TypeFor[ipc.GuardOption](),
	"ipc.Verbose":           ipc.Verbose,
	"ipc.WithScopes":        ipc.WithScopes,
	"ipc.Versioned":         reflect.TypeFor[ipc.Versioned](),
	"ipc.WithObligation":    ipc.WithObligation,
	"ipc.Guard":             ipc.Guard,
	"ipc.Access":            reflect.TypeFor[ipc.Access](),
	"ipc.Guarded":           reflect.TypeFor[ipc.Guarded](),
	"ipc.RejectValue":       ipc.RejectValue,
	"ipc.BridgeConfig":      reflect.TypeFor[ipc.BridgeConfig](),
	"ipc.Rejection":         reflect.TypeFor[ipc.Rejection](),
	"ipc.Binding":           reflect.TypeFor[ipc.Binding](),
	"ipc.Page":              reflect.TypeFor[ipc.Page](),
	"ipc.Bridge":            reflect.TypeFor[ipc.Bridge](),
	"ipc.NewBridge":         ipc.NewBridge,
	"ipc.Invocation":        reflect.TypeFor[ipc.Invocation](),
	"ipc.Handler":           reflect.TypeFor[ipc.Handler](),
	"ipc.HandlerFunc":       reflect.TypeFor[ipc.HandlerFunc](),
	"ipc.Middleware":        reflect.TypeFor[ipc.Middleware](),
	"ipc.DecisionEvent":     reflect.TypeFor[ipc.DecisionEvent](),
	"ipc.ObligationOutcome": reflect.TypeFor[ipc.ObligationOutcome](),
	"ipc.WithObserver":      ipc.WithObserver,
	"ipc.Router":            reflect.TypeFor[ipc.Router](),
	"ipc.NewRouter":         ipc.NewRouter,
	"ipc.Scope":             reflect.TypeFor[ipc.Scope[any]](),
	"ipc.DecodeScope":       ipc.DecodeScope[any],
	"ipc.ServerConfig":      reflect.TypeFor[ipc.ServerConfig](),
	"ipc.NewServer":         ipc.NewServer,
	"ipc.LimitListener":     ipc.LimitListener,
	// native
	"native.Code":              reflect.TypeFor[native.Code](),
	"native.StorageCodes":      native.StorageCodes,
	"native.Codes":             native.Codes,
	"native.Error":             reflect.TypeFor[native.Error](),
	"native.NewError":          native.NewError,
	"native.CodeOf":            native.CodeOf,
	"native.Canceled":          native.Canceled,
	"native.Shim":              reflect.TypeFor[native.Shim](),
	"native.BiometryType":      reflect.TypeFor[native.BiometryType](),
	"native.ParseBiometryType": native.ParseBiometryType,
	"native.Status":            reflect.TypeFor[native.Status](),
	"native.Prompt":            reflect.TypeFor[native.Prompt](),
	"native.Binding":           reflect.TypeFor[native.Binding](),
	"native.Vault":             reflect.TypeFor[native.Vault](),
	"native.Signer":            reflect.TypeFor[native.Signer](),
	"native.CheckRecord":       native.CheckRecord,
	"native.CheckData":         native.CheckData,
	"native.RecordAAD":         native.RecordAAD,
	// native/sim
	"sim.ScriptError": reflect.TypeFor[sim.ScriptError](),
	"sim.ReadScript":  sim.ReadScript,
	"sim.ParseScript": sim.ParseScript,
	"sim.Outcome":     reflect.TypeFor[sim.Outcome](),
	"sim.Outcomes":    sim.Outcomes,
	"sim.Step":        reflect.TypeFor[sim.Step](),
	"sim.Config":      reflect.TypeFor[sim.Config](),
	"sim.Ready":       sim.Ready,
	"sim.Method":      reflect.TypeFor[sim.Method](),
	"sim.Call":        reflect.TypeFor[sim.Call](),
	"sim.Sim":         reflect.TypeFor[sim.Sim](),
	"sim.New":         sim.New,
	// policy
	"policy.FromEntries":    policy.FromEntries,
	"policy.Native":         reflect.TypeFor[policy.Native](),
	"policy.Compile":        policy.Compile,
	"policy.Extended":       reflect.TypeFor[policy.Extended](),
	"policy.WithExtension":  policy.WithExtension,
	"policy.Request":        reflect.TypeFor[policy.Request](),
	"policy.Reference":      reflect.TypeFor[policy.Reference](),
	"policy.Obligation":     reflect.TypeFor[policy.Obligation](),
	"policy.Decision":       reflect.TypeFor[policy.Decision](),
	"policy.Engine":         reflect.TypeFor[policy.Engine](),
	"policy.Removed":        reflect.TypeFor[policy.Removed](),
	"policy.ConfirmRemoval": policy.ConfirmRemoval,
	"policy.RefuseRemoval":  policy.RefuseRemoval,
	"policy.Notify":         policy.Notify,
	"policy.RuleText":       policy.RuleText,
	"policy.Added":          reflect.TypeFor[policy.Added](),
	"policy.Extend":         policy.Extend,
	"policy.Input":          reflect.TypeFor[policy.Input](),
	"policy.Source":         reflect.TypeFor[policy.Source](),
	"policy.Builder":        reflect.TypeFor[policy.Builder](),
	"policy.CompileEngine":  policy.CompileEngine,
	"policy.Static":         policy.Static,
	"policy.Version":        reflect.TypeFor[policy.Version](),
	"policy.Store":          reflect.TypeFor[policy.Store](),
	"policy.StoreOption":    reflect.TypeFor[policy.StoreOption](),
	"policy.WithBuilder":    policy.WithBuilder,
	"policy.PinScopes":      policy.PinScopes,
	"policy.WithClock":      policy.WithClock,
	"policy.NewStore":       policy.NewStore,
	"policy.SameScopes":     policy.SameScopes,
	"policy.AppSource":      policy.AppSource,
	"policy.AppSourceFS":    policy.AppSourceFS,
	"policy.ReloadEvent":    reflect.TypeFor[policy.ReloadEvent](),
	"policy.WatchOption":    reflect.TypeFor[policy.WatchOption](),
	"policy.Debounce":       policy.Debounce,
	"policy.MaxWait":        policy.MaxWait,
	"policy.OnReload":       policy.OnReload,
	"policy.Watcher":        reflect.TypeFor[policy.Watcher](),
	"policy.Watch":          policy.Watch,
	// policy/rego
	"rego.Module":      reflect.TypeFor[rego.Module](),
	"rego.Builtin":     rego.Builtin,
	"rego.Engine":      reflect.TypeFor[rego.Engine](),
	"rego.New":         rego.New,
	"rego.LoadModules": rego.LoadModules,
	"rego.TestResult":  reflect.TypeFor[rego.TestResult](),
	"rego.RunTests":    rego.RunTests,
	// schema
	"schema.Options":         reflect.TypeFor[schema.Options](),
	"schema.ValidateApp":     schema.ValidateApp,
	"schema.ValidateAppFS":   schema.ValidateAppFS,
	"schema.ValidateFiles":   schema.ValidateFiles,
	"schema.FileResult":      reflect.TypeFor[schema.FileResult](),
	"schema.Severity":        reflect.TypeFor[schema.Severity](),
	"schema.Finding":         reflect.TypeFor[schema.Finding](),
	"schema.Report":          reflect.TypeFor[schema.Report](),
	"schema.Formats":         schema.Formats,
	"schema.FormatFor":       schema.FormatFor,
	"schema.GenerateOptions": reflect.TypeFor[schema.GenerateOptions](),
	"schema.Generate":        schema.Generate,
	"schema.FileNames":       schema.FileNames,
	"schema.WriteFiles":      schema.WriteFiles,
	"schema.Lock":            reflect.TypeFor[schema.Lock](),
	"schema.FindLock":        schema.FindLock,
	"schema.ParseLock":       schema.ParseLock,
	"schema.LockedFormat":    schema.LockedFormat,
	"schema.Format":          reflect.TypeFor[schema.Format](),
	"schema.Validator":       reflect.TypeFor[schema.Validator](),
	"schema.CompileOptions":  reflect.TypeFor[schema.CompileOptions](),
	"schema.Compile":         schema.Compile,
	// examples
	"examples.App":     examples.App,
	"examples.Resolve": examples.Resolve,
	"examples.CopyTo":  examples.CopyTo,
}

// zeroSkips are the entries of zeroTable (or "pkg.Type.Method") the
// walker does not call, each with why.
var zeroSkips = map[string]string{
	"acl.MustIdentifier": "Must functions panic on bad input by contract (for literals in tests and examples)",
	"acl.MustOrigin":     "Must functions panic on bad input by contract (for literals in tests and examples)",
}

// zeroPending are calls known to panic still, each with the reason it is
// not fixed yet; each must keep failing until it is fixed, then leave
// this list. Empty: every exported name answers its zero value.
var zeroPending = map[string]string{}

// exportedNames lists the exported types and functions of the package in
// dir (without its tests), as "pkg.Name".
func exportedNames(t *testing.T, dir, pkg string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			switch d := d.(type) {
			case *ast.GenDecl:
				for _, s := range d.Specs {
					if ts, ok := s.(*ast.TypeSpec); ok && ts.Name.IsExported() {
						out = append(out, pkg+"."+ts.Name.Name)
					}
				}
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.IsExported() {
					out = append(out, pkg+"."+d.Name.Name)
				}
			}
		}
	}
	return out
}

// zeroArg is the argument the walker passes for a parameter of type t.
func zeroArg(t reflect.Type) reflect.Value {
	switch t {
	case reflect.TypeFor[context.Context]():
		return reflect.ValueOf(context.Background())
	case reflect.TypeFor[http.ResponseWriter]():
		return reflect.ValueOf(httptest.NewRecorder())
	case reflect.TypeFor[*http.Request]():
		return reflect.ValueOf(httptest.NewRequest(http.MethodPost, "/", strings.NewReader("")))
	case reflect.TypeFor[io.Writer]():
		return reflect.ValueOf(io.Discard)
	case reflect.TypeFor[io.Reader]():
		return reflect.ValueOf(strings.NewReader(""))
	}
	return reflect.Zero(t)
}

// callZero calls f with zero arguments (one nil element for a variadic
// parameter) and reports a panic or a call that does not return.
func callZero(f reflect.Value) error {
	ft := f.Type()
	var args []reflect.Value
	for i := range ft.NumIn() {
		in := ft.In(i)
		if ft.IsVariadic() && i == ft.NumIn()-1 {
			args = append(args, zeroArg(in.Elem()))
			continue
		}
		args = append(args, zeroArg(in))
	}
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("panicked: %v", p)
			}
		}()
		f.Call(args)
		done <- nil
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		return fmt.Errorf("did not return within 5 s")
	}
}

// handleTypes are the types of zeroTable that an exported function or
// method returns by pointer beside an error (App, Bridge, Store, Watcher,
// Report, …): a constructor that fails returns a nil one with its error,
// so their pointer methods must be safe on a nil pointer too. Error types are not
// handles: a nil *Error is never returned as an error (as in the standard
// library, its Error method is for non-nil values).
func handleTypes() map[reflect.Type]bool {
	inTable := map[reflect.Type]bool{}
	for _, v := range zeroTable {
		if t, ok := v.(reflect.Type); ok {
			inTable[t] = true
		}
	}
	handles := map[reflect.Type]bool{}
	results := func(ft reflect.Type) {
		if ft.NumOut() < 2 || ft.Out(ft.NumOut()-1) != reflect.TypeFor[error]() {
			return
		}
		for i := range ft.NumOut() {
			if o := ft.Out(i); o.Kind() == reflect.Pointer && inTable[o.Elem()] && !o.Implements(reflect.TypeFor[error]()) {
				handles[o.Elem()] = true
			}
		}
	}
	for _, v := range zeroTable {
		switch v := v.(type) {
		case reflect.Type:
			pt := reflect.PointerTo(v)
			for i := range pt.NumMethod() {
				results(pt.Method(i).Type)
			}
		default:
			results(reflect.TypeOf(v))
		}
	}
	return handles
}

// TestZeroValuesWalk is issue 25's item 5: docs/security.md promises
// errors, never panics (nor hangs), for nil or zero inputs. It checks that
// zeroTable covers every exported type and function of zeroPackages, then
// calls each function with zero arguments, each method on a zero value
// (a fresh one per method), and each pointer method of a handle type
// (handleTypes) on a nil pointer. The calls of zeroPending must still
// fail: when one is fixed, the test says to remove it from the list.
func TestZeroValuesWalk(t *testing.T) {
	var listed []string
	for dir, pkg := range zeroPackages {
		listed = append(listed, exportedNames(t, dir, pkg)...)
	}
	for _, n := range listed {
		if _, ok := zeroTable[n]; !ok {
			t.Errorf("%s is exported but not in zeroTable: add it (zero_walk_test.go) so that its zero value is checked", n)
		}
	}
	for n := range zeroTable {
		if !slices.Contains(listed, n) {
			t.Errorf("zeroTable lists %s, which is no longer exported", n)
		}
	}
	t.Chdir(t.TempDir()) // a zero path is the current folder: write nothing into the tree
	handles := handleTypes()
	var names []string
	for n := range zeroTable {
		names = append(names, n)
	}
	slices.Sort(names)
	calls := 0
	seen := map[string]bool{}
	check := func(what string, f func() reflect.Value) {
		if _, skip := zeroSkips[what]; skip {
			return
		}
		calls++
		seen[what] = true
		err := callZero(f())
		_, pending := zeroPending[what]
		switch {
		case err != nil && !pending:
			t.Errorf("%s: %v", what, err)
		case err == nil && pending:
			t.Errorf("%s no longer fails: remove it from zeroPending", what)
		}
	}
	for _, n := range names {
		if _, skip := zeroSkips[n]; skip {
			continue
		}
		switch v := zeroTable[n].(type) {
		case reflect.Type:
			if v.Kind() == reflect.Interface || v.Kind() == reflect.Func {
				continue // no value to call methods on (a nil func panics by the language)
			}
			pt := reflect.PointerTo(v)
			for i := range pt.NumMethod() {
				name := pt.Method(i).Name
				check(n+"."+name, func() reflect.Value { return reflect.New(v).MethodByName(name) })
				if _, byValue := v.MethodByName(name); handles[v] && !byValue {
					check(n+"."+name+" (nil)", func() reflect.Value { return reflect.Zero(pt).MethodByName(name) })
				}
			}
		default:
			check(n, func() reflect.Value { return reflect.ValueOf(v) })
		}
	}
	for what := range zeroPending {
		if !seen[what] {
			t.Errorf("zeroPending lists %s, which the walker no longer calls", what)
		}
	}
	t.Logf("%d exported names, %d calls, %d handle types, %d pending", len(listed), calls, len(handles), len(zeroPending))
}
