package acl

// Lookup finds what name means in the manifest, as a capability or a
// permission set names it (the part after the plugin prefix): the
// "default" set, another set, a permission, or the allow-/deny-
// permission of a command the manifest lists (allow-* and deny-* too for
// the application's own manifest, app set). ok is false when the
// manifest has none of them; "default" is then still ok when the
// manifest has no default set (it grants nothing), as in Tauri.
func (m *Manifest) Lookup(name string, app bool) (p *Permission, s *PermissionSet, ok bool) {
	switch {
	case name == "default":
		return nil, m.Default, true
	case m.Sets[name] != nil:
		return nil, m.Sets[name], true
	case m.Permissions[name] != nil:
		return m.Permissions[name], nil, true
	}
	if p := m.commandPermission(name, app); p != nil {
		return p, nil, true
	}
	return nil, nil, false
}
