package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/capguard/capguard/acl"
)

// Removed is what a new version of the ACL drops compared with the one it
// replaces: capabilities (by identifier) and capguard.json obligation
// rules (each as a one-line text). Deleting capguard.json, or writing
// "{}" into it, removes every step-up obligation at once; a reload that
// does so is reported, and can be refused or made to wait for a
// confirmation (ConfirmRemoval, RefuseRemoval).
type Removed struct {
	Capabilities []string
	Obligations  []string
}

// Empty tells whether nothing was removed.
func (r Removed) Empty() bool { return len(r.Capabilities) == 0 && len(r.Obligations) == 0 }

// String names what was removed, for logs: "capabilities a, b;
// obligations open_vault: biometric (max age 60 s)".
func (r Removed) String() string {
	var parts []string
	if len(r.Capabilities) > 0 {
		parts = append(parts, "capabilities "+strings.Join(r.Capabilities, ", "))
	}
	if len(r.Obligations) > 0 {
		parts = append(parts, "obligations "+strings.Join(r.Obligations, "; "))
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, "; ")
}

// ErrRemoval is wrapped by the error of a reload refused because it
// removes capabilities or obligations (see ConfirmRemoval).
var ErrRemoval = errors.New("the new version removes capabilities or obligations")

// ConfirmRemoval makes the store ask f before it swaps in a version that
// removes capabilities or obligations of the current one (next is the
// version, not yet published, and next.Removed says what it removes). A
// nil error lets the reload go on; any other refuses it: the current
// version stays, and the reload's error wraps ErrReload, ErrRemoval and
// f's error. f runs on the reloading goroutine with the store's reload
// lock held; it may wait for a person to confirm, within ctx.
func ConfirmRemoval(f func(ctx context.Context, next *Version) error) StoreOption {
	return func(s *Store) { s.confirm = f }
}

// RefuseRemoval makes the store refuse every version that removes
// capabilities or obligations of the current one: such a change then
// needs a restart of the app (or Store.Load by its own code).
func RefuseRemoval() StoreOption {
	return ConfirmRemoval(func(context.Context, *Version) error { return errors.New("refused (policy.RefuseRemoval)") })
}

// Notify makes the store report every reload (Reload and Load), whether it
// succeeded or failed, to f: Version (with Version.Removed) or Err is set;
// Changed is empty. f runs on the reloading goroutine after the swap: an
// audit log records reloads with it (audit.Log.ObserveReload).
func Notify(f func(ReloadEvent)) StoreOption {
	return func(s *Store) {
		if f != nil {
			s.notify = append(s.notify, f)
		}
	}
}

// removed compares two versions' inputs.
func removed(old, next *Version) Removed {
	var r Removed
	if old == nil || next == nil {
		return r
	}
	// Capabilities added at run time are kept by every version: compare
	// the files' capabilities only (a file capability removed is removed
	// even when a runtime one has its identifier).
	have := map[string]bool{}
	if next.Resolved != nil {
		for _, c := range next.Resolved.Capabilities {
			if !next.IsRuntime(c) {
				have[c.Identifier] = true
			}
		}
	}
	if old.Resolved != nil {
		for _, c := range old.Resolved.Capabilities {
			if !old.IsRuntime(c) && !have[c.Identifier] {
				r.Capabilities = append(r.Capabilities, c.Identifier)
			}
		}
	}
	rules := map[string]bool{}
	if next.Extension != nil {
		for _, o := range next.Extension.Obligations {
			rules[RuleText(o)] = true
		}
	}
	if old.Extension != nil {
		for _, o := range old.Extension.Obligations {
			if t := RuleText(o); !rules[t] {
				r.Obligations = append(r.Obligations, t)
			}
		}
	}
	slices.Sort(r.Capabilities)
	r.Capabilities = slices.Compact(r.Capabilities)
	r.Obligations = slices.Compact(r.Obligations)
	return r
}

// RuleText is an obligation rule of capguard.json in one line:
// "open_vault from windows main: biometric (max age 60 s, "Unlock")". Two
// rules with the same text ask the same of the same calls.
func RuleText(r *acl.ObligationRule) string {
	if r == nil {
		return ""
	}
	var b strings.Builder
	globs := func(gs []*acl.Glob) {
		for i, g := range gs {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(g.String())
		}
	}
	globs(r.Commands)
	if len(r.Windows) > 0 {
		b.WriteString(" from windows ")
		globs(r.Windows)
	}
	if len(r.Webviews) > 0 {
		b.WriteString(" from webviews ")
		globs(r.Webviews)
	}
	b.WriteString(": " + r.Type)
	if r.Binding == BindingSigned {
		// Dropping the signature from a rule weakens it: the text
		// changes, so a reload that does it reports the signed rule as
		// removed.
		b.WriteString(", signed")
	}
	b.WriteString(" (max age " + strconv.Itoa(r.MaxAgeS) + " s")
	if r.Reason != "" {
		b.WriteString(", " + strconv.Quote(r.Reason))
	}
	b.WriteString(")")
	return b.String()
}

// checkRemoval asks the store's confirmation for a version that removes
// something; s.mu is held.
func (s *Store) checkRemoval(ctx context.Context, next *Version) error {
	if s.confirm == nil || next.Removed.Empty() {
		return nil
	}
	if err := s.confirm(ctx, next); err != nil {
		return fmt.Errorf("%w (%s): %w", ErrRemoval, next.Removed, err)
	}
	return nil
}
