package acldiff

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing/fstest"

	"github.com/capguard/capguard/acl"
)

// ErrSpec is returned for a side that is neither a directory nor a
// usable git revision.
var ErrSpec = errors.New("invalid side")

// OpenOptions say where revisions are read from.
type OpenOptions struct {
	// Repo is the git repository (or a folder in its work tree) that
	// revisions are read from; "" is the current directory.
	Repo string
	// Path is the app's folder, from the top of the repository, for a
	// revision given without one ("REV"); "" picks the revision's
	// src-tauri folder, or its top folder when that is an app.
	Path string
	// Plugins are permission folders of plugins kept in the repository
	// (NAME → folder relative to the app's folder) whose files a revision
	// side must bring too (see Options.Plugins).
	Plugins map[string]string
}

// Open reads one side of a diff. spec is a src-tauri directory, or a git
// revision of the repository opt.Repo: "REV" (the folder opt.Path, or
// its src-tauri folder, or its top folder when that is a src-tauri
// directory) or "REV:path/to/src-tauri" (path from the top of the
// repository). An existing directory wins over a revision of the same
// name. Revisions are read from git objects with the git command, without
// a checkout, and only the files capguard reads (tauri*.conf.json*,
// Tauri*.toml, capabilities/**, permissions/**,
// gen/schemas/acl-manifests.json): another file of the tree is never
// read, so an object missing from a partial clone does not matter unless
// it is one of those. A revision that does not have the folder is an app
// without capabilities (Side.Empty says so): an app's first Tauri commit
// compares as everything added.
func Open(spec string, opt OpenOptions) (Side, error) {
	if st, err := os.Stat(spec); err == nil && st.IsDir() {
		return Side{Name: spec, FS: os.DirFS(spec), Dir: spec}, nil
	}
	repo := opt.Repo
	if repo == "" {
		repo = "."
	}
	rev, p, hasPath, err := parseSpec(spec)
	if err != nil {
		return Side{}, err
	}
	if _, err := git(repo, nil, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{tree}"); err != nil {
		return Side{}, fmt.Errorf("%w %q: no such directory, and not a revision of the repository at %s (%v)", ErrSpec, rev, repo, err)
	}
	if !hasPath {
		if opt.Path != "" {
			p = strings.Trim(path.Clean(filepath.ToSlash(opt.Path)), "/")
			if p == "." {
				p = ""
			}
		} else if p, err = defaultPath(repo, rev); err != nil {
			if !errors.Is(err, errNoApp) {
				return Side{}, err
			}
			return Side{Name: spec, FS: fstest.MapFS{}, Dir: "src-tauri", Empty: err.Error()}, nil
		}
	}
	dir := p
	if dir == "" {
		dir = "."
	}
	fsys, empty, err := gitFS(repo, rev, p, opt.Plugins)
	if err != nil {
		return Side{}, err
	}
	return Side{Name: spec, FS: fsys, Dir: dir, Empty: empty}, nil
}

// parseSpec splits a revision side "REV" or "REV:path" into the revision
// and the path (cleaned, relative to the top of the repository, "" for the
// top itself). It refuses what git could read as an option, absolute
// paths and paths that leave the repository.
func parseSpec(spec string) (rev, p string, hasPath bool, err error) {
	rev, p, hasPath = strings.Cut(spec, ":")
	switch {
	case rev == "":
		return "", "", false, fmt.Errorf("%w %q: expected a directory, REV or REV:path", ErrSpec, spec)
	case strings.HasPrefix(rev, "-"):
		return "", "", false, fmt.Errorf("%w %q: a revision cannot start with '-'", ErrSpec, spec)
	case strings.ContainsAny(rev, " \t\r\n\x00"):
		return "", "", false, fmt.Errorf("%w %q: a revision cannot contain spaces or control characters", ErrSpec, spec)
	}
	if !hasPath {
		return rev, "", false, nil
	}
	if strings.ContainsAny(p, "\x00\r\n") {
		return "", "", false, fmt.Errorf("%w %q: the path contains a control character", ErrSpec, spec)
	}
	// Backslashes count as separators, so that "\\x" (written for Windows)
	// is absolute too.
	clean := path.Clean(strings.ReplaceAll(p, "\\", "/"))
	if strings.HasPrefix(clean, "/") {
		return "", "", false, fmt.Errorf("%w %q: the path after ':' is relative to the top of the repository, not absolute", ErrSpec, spec)
	}
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", "", false, fmt.Errorf("%w %q: the path leaves the repository", ErrSpec, spec)
	}
	if clean == "." {
		clean = ""
	}
	return rev, clean, true, nil
}

// git runs a git command in repo and returns its standard output; a
// failure carries git's message.
func git(repo string, stdin io.Reader, args ...string) ([]byte, error) {
	cmd := exec.Command("git", append([]string{"-C", repo}, args...)...)
	cmd.Stdin = stdin
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("git %s: %s", strings.Join(args, " "), msg)
	}
	return out, nil
}

// errNoApp: a revision has no app folder to compare.
var errNoApp = errors.New("no app")

// defaultPath picks the src-tauri folder of a revision: "src-tauri" when
// the top folder has one, the top folder when it is an app itself; when
// neither, an error wrapping errNoApp.
func defaultPath(repo, rev string) (string, error) {
	out, err := git(repo, nil, "ls-tree", "--full-tree", "-z", "--name-only", "--end-of-options", rev+"^{tree}")
	if err != nil {
		return "", fmt.Errorf("%w %q: not a revision of the repository at %s (%v)", ErrSpec, rev, repo, err)
	}
	names := map[string]bool{}
	for _, n := range strings.Split(string(out), "\x00") {
		names[n] = true
	}
	if names["src-tauri"] {
		return "src-tauri", nil
	}
	for _, n := range []string{"tauri.conf.json", "tauri.conf.json5", "Tauri.toml", "capabilities"} {
		if names[n] {
			return "", nil
		}
	}
	return "", fmt.Errorf("%w: %s has no src-tauri folder at its top (name the app's folder as %s:path/to/src-tauri)", errNoApp, rev, rev)
}

// treeEntry is one line of `git ls-tree -r -z` (Size -1) or of
// `git ls-tree -r -l -z`.
type treeEntry struct {
	Mode, Type, Object string
	Size               int64 // -1 when unknown or when git prints "-"
	Path               string
}

// parseTree reads the output of `git ls-tree -r -z`: records
// "<mode> <type> <object>\t<path>" (with -l, a size after the object),
// each ended by a NUL byte.
func parseTree(data []byte) ([]treeEntry, error) {
	var out []treeEntry
	for i, rec := range bytes.Split(data, []byte{0}) {
		if len(rec) == 0 {
			continue // the NUL that ends the last record
		}
		meta, p, ok := bytes.Cut(rec, []byte{'\t'})
		if !ok || len(p) == 0 {
			return nil, fmt.Errorf("git ls-tree record %d: no tab before the path", i+1)
		}
		f := strings.Fields(string(meta))
		if len(f) != 3 && len(f) != 4 {
			return nil, fmt.Errorf("git ls-tree record %d: expected mode, type, object (and size), got %q", i+1, meta)
		}
		e := treeEntry{Mode: f[0], Type: f[1], Object: f[2], Path: string(p), Size: -1}
		if len(f) == 4 && f[3] != "-" {
			n, err := strconv.ParseInt(f[3], 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("git ls-tree record %d: bad size %q", i+1, f[3])
			}
			e.Size = n
		}
		if !isHex(e.Object) {
			return nil, fmt.Errorf("git ls-tree record %d: bad object name %q", i+1, e.Object)
		}
		out = append(out, e)
	}
	return out, nil
}

func isHex(s string) bool {
	if len(s) < 4 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// hasExt tells whether p ends in one of the extensions.
func hasExt(p string, exts ...string) bool {
	e := strings.TrimPrefix(path.Ext(p), ".")
	for _, x := range exts {
		if e == x {
			return true
		}
	}
	return false
}

// wanted tells whether the diff reads a file of a src-tauri tree: what
// acl.LoadAppFS reads (the configuration files at the top, the capability
// files, the manifests), the app's permission files, and those of the
// plugin folders given.
func wanted(p string, plugins map[string]string) bool {
	inSchemas := path.Base(path.Dir(p)) == "schemas"
	switch {
	case p == "gen/schemas/acl-manifests.json":
		return true
	case strings.HasPrefix(p, "capabilities/"):
		return hasExt(p, "json", "json5", "toml") && !inSchemas
	case strings.HasPrefix(p, "permissions/"):
		return hasExt(p, "json", "toml") && !inSchemas
	}
	for _, dir := range plugins {
		if d := strings.Trim(path.Clean(dir), "/"); strings.HasPrefix(p, d+"/") {
			return hasExt(p, "json", "toml") && !inSchemas
		}
	}
	if strings.Contains(p, "/") {
		return false
	}
	return strings.HasPrefix(p, "tauri.") && hasExt(p, "json", "json5") ||
		strings.HasPrefix(p, "Tauri.") && hasExt(p, "toml")
}

// gitFS reads the files of rev:p that the diff reads into memory; empty
// says why the side is an app without capabilities when rev has no p.
// The tree is listed without object sizes, so that git reads no object
// but those of the wanted files: an unrelated object missing from the
// clone (a partial clone, a mirror without its large files) is never
// touched. The map file system of testing/fstest is used as a plain
// in-memory fs.FS: it derives folders from file paths, as needed here.
func gitFS(repo, rev, p string, plugins map[string]string) (fsys fstest.MapFS, empty string, err error) {
	obj := rev + ":" + p
	kind, err := git(repo, nil, "cat-file", "-t", "--end-of-options", obj)
	if err != nil {
		if p == "" {
			return nil, "", err
		}
		return fstest.MapFS{}, fmt.Sprintf("%s has no folder %s: compared as an app without capabilities", rev, p), nil
	}
	if k := strings.TrimSpace(string(kind)); k != "tree" {
		return nil, "", fmt.Errorf("%w %q: %s is a %s, not a folder", ErrSpec, rev+":"+p, obj, k)
	}
	out, err := git(repo, nil, "ls-tree", "--full-tree", "-r", "-z", "--end-of-options", obj)
	if err != nil {
		return nil, "", err
	}
	entries, err := parseTree(out)
	if err != nil {
		return nil, "", err
	}
	var blobs []treeEntry
	for _, e := range entries {
		if e.Type != "blob" || e.Mode == "120000" || !wanted(e.Path, plugins) {
			continue
		}
		blobs = append(blobs, e)
	}
	fsys = fstest.MapFS{}
	if len(blobs) == 0 {
		return fsys, "", nil
	}
	// Sizes first, so that no file larger than acl.MaxFileSize is read.
	var in bytes.Buffer
	for _, e := range blobs {
		in.WriteString(e.Object + "\n")
	}
	check, err := git(repo, bytes.NewReader(in.Bytes()), "cat-file", "--batch-check")
	if err != nil {
		return nil, "", err
	}
	lines := strings.Split(strings.TrimSuffix(string(check), "\n"), "\n")
	if len(lines) != len(blobs) {
		return nil, "", fmt.Errorf("git cat-file --batch-check: %d answers for %d objects", len(lines), len(blobs))
	}
	for i, e := range blobs {
		f := strings.Fields(lines[i])
		if len(f) == 2 && f[1] == "missing" {
			return nil, "", fmt.Errorf("%s: the object %s is missing from the repository at %s (a partial or shallow clone?); fetch it, or check the folder out and diff the directory", path.Join(p, e.Path), e.Object, repo)
		}
		if len(f) != 3 || f[0] != e.Object || f[1] != "blob" {
			return nil, "", fmt.Errorf("git cat-file --batch-check: unexpected answer %q for %s", lines[i], e.Path)
		}
		n, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || n < 0 {
			return nil, "", fmt.Errorf("git cat-file --batch-check: bad size %q for %s", f[2], e.Path)
		}
		if n > acl.MaxFileSize {
			return nil, "", fmt.Errorf("%s: %d bytes, more than the %d a capability, config, permission or manifests file may have", path.Join(p, e.Path), n, acl.MaxFileSize)
		}
		blobs[i].Size = n
	}
	data, err := git(repo, bytes.NewReader(in.Bytes()), "cat-file", "--batch")
	if err != nil {
		return nil, "", err
	}
	r := bufio.NewReader(bytes.NewReader(data))
	for _, e := range blobs {
		header, err := r.ReadString('\n')
		if err != nil {
			return nil, "", fmt.Errorf("git cat-file --batch: short output at %s", e.Path)
		}
		f := strings.Fields(header)
		if len(f) != 3 || f[0] != e.Object || f[1] != "blob" {
			return nil, "", fmt.Errorf("git cat-file --batch: unexpected header %q for %s", strings.TrimSpace(header), e.Path)
		}
		n, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || n != e.Size {
			return nil, "", fmt.Errorf("git cat-file --batch: size %q for %s, expected %d", f[2], e.Path, e.Size)
		}
		body := make([]byte, n+1)
		if _, err := io.ReadFull(r, body); err != nil || body[n] != '\n' {
			return nil, "", fmt.Errorf("git cat-file --batch: short object %s", e.Path)
		}
		fsys[e.Path] = &fstest.MapFile{Data: body[:n], Mode: 0o644}
	}
	return fsys, "", nil
}
