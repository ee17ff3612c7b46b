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
	"strconv"
	"strings"
	"testing/fstest"

	"github.com/capguard/capguard/acl"
)

// ErrSpec is returned for a side that is neither a directory nor a
// usable git revision.
var ErrSpec = errors.New("invalid side")

// Open reads one side of a diff. spec is a src-tauri directory, or a git
// revision of the repository whose work tree holds repo: "REV" (its
// src-tauri folder, or its top folder when that is a src-tauri
// directory) or "REV:path/to/src-tauri" (path from the top of the
// repository). An existing directory wins over a revision of the same
// name. Revisions are read from git objects with the git command, without
// a checkout: only the files capguard reads (tauri*.conf.json*,
// Tauri*.toml, capabilities/**, gen/schemas/acl-manifests.json).
func Open(spec, repo string) (Side, error) {
	if st, err := os.Stat(spec); err == nil && st.IsDir() {
		return Side{Name: spec, FS: os.DirFS(spec), Dir: spec}, nil
	}
	rev, p, hasPath, err := parseSpec(spec)
	if err != nil {
		return Side{}, err
	}
	if !hasPath {
		if p, err = defaultPath(repo, rev); err != nil {
			return Side{}, err
		}
	}
	fsys, err := gitFS(repo, rev, p)
	if err != nil {
		return Side{}, err
	}
	dir := p
	if dir == "" {
		dir = "."
	}
	return Side{Name: spec, FS: fsys, Dir: dir}, nil
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

// defaultPath picks the src-tauri folder of a revision: "src-tauri" when
// the top folder has one, the top folder when it is an app itself.
func defaultPath(repo, rev string) (string, error) {
	out, err := git(repo, nil, "ls-tree", "-z", "--name-only", rev+"^{tree}")
	if err != nil {
		return "", fmt.Errorf("%w %q: no such directory, and not a revision of the repository at %s (%v)", ErrSpec, rev, repo, err)
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
	return "", fmt.Errorf("%w %q: the revision has no src-tauri folder at its top; name it as %s:path/to/src-tauri", ErrSpec, rev, rev)
}

// treeEntry is one line of `git ls-tree -r -l -z`.
type treeEntry struct {
	Mode, Type, Object string
	Size               int64 // -1 when git prints "-"
	Path               string
}

// parseTree reads the output of `git ls-tree -r -l -z`: records
// "<mode> <type> <object> <size>\t<path>", each ended by a NUL byte.
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
		if len(f) != 4 {
			return nil, fmt.Errorf("git ls-tree record %d: expected mode, type, object and size, got %q", i+1, meta)
		}
		e := treeEntry{Mode: f[0], Type: f[1], Object: f[2], Path: string(p), Size: -1}
		if f[3] != "-" {
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

// wanted tells whether LoadAppFS reads a file of a src-tauri tree.
func wanted(p string) bool {
	if strings.HasPrefix(p, "capabilities/") || p == "gen/schemas/acl-manifests.json" {
		return true
	}
	if strings.Contains(p, "/") {
		return false
	}
	return strings.HasPrefix(p, "tauri.") && (strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".json5")) ||
		strings.HasPrefix(p, "Tauri.") && strings.HasSuffix(p, ".toml")
}

// gitFS reads the files of rev:p that an app is read from into memory.
// The map file system of testing/fstest is used as a plain in-memory
// fs.FS: it derives folders from file paths, as needed here.
func gitFS(repo, rev, p string) (fstest.MapFS, error) {
	obj := rev + ":" + p
	if _, err := git(repo, nil, "cat-file", "-e", obj); err != nil {
		return nil, fmt.Errorf("%w %q: %s does not exist (%v)", ErrSpec, rev+":"+p, obj, err)
	}
	kind, err := git(repo, nil, "cat-file", "-t", obj)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(string(kind)) != "tree" {
		return nil, fmt.Errorf("%w %q: %s is a %s, not a folder", ErrSpec, rev+":"+p, obj, strings.TrimSpace(string(kind)))
	}
	out, err := git(repo, nil, "ls-tree", "-r", "-l", "-z", obj)
	if err != nil {
		return nil, err
	}
	entries, err := parseTree(out)
	if err != nil {
		return nil, err
	}
	var blobs []treeEntry
	for _, e := range entries {
		if e.Type != "blob" || e.Mode == "120000" || !wanted(e.Path) {
			continue
		}
		if e.Size > acl.MaxFileSize {
			return nil, fmt.Errorf("%s: %d bytes, more than the %d a capability, config or manifests file may have", path.Join(p, e.Path), e.Size, acl.MaxFileSize)
		}
		blobs = append(blobs, e)
	}
	fsys := fstest.MapFS{}
	if len(blobs) == 0 {
		return fsys, nil
	}
	var in bytes.Buffer
	for _, e := range blobs {
		in.WriteString(e.Object + "\n")
	}
	data, err := git(repo, &in, "cat-file", "--batch")
	if err != nil {
		return nil, err
	}
	r := bufio.NewReader(bytes.NewReader(data))
	for _, e := range blobs {
		header, err := r.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("git cat-file --batch: short output at %s", e.Path)
		}
		f := strings.Fields(header)
		if len(f) != 3 || f[0] != e.Object || f[1] != "blob" {
			return nil, fmt.Errorf("git cat-file --batch: unexpected header %q for %s", strings.TrimSpace(header), e.Path)
		}
		n, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || n != e.Size {
			return nil, fmt.Errorf("git cat-file --batch: size %q for %s, expected %d", f[2], e.Path, e.Size)
		}
		body := make([]byte, n+1)
		if _, err := io.ReadFull(r, body); err != nil || body[n] != '\n' {
			return nil, fmt.Errorf("git cat-file --batch: short object %s", e.Path)
		}
		fsys[e.Path] = &fstest.MapFile{Data: body[:n], Mode: 0o644}
	}
	return fsys, nil
}
