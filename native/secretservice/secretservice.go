// Package secretservice keeps capguard's sealed secrets on Linux machines
// without a TPM, in the desktop's keyring through the Secret Service API
// (org.freedesktop.secrets on the session bus: gnome-keyring, KeePassXC,
// KWallet's bridge), over D-Bus with godbus.
//
// Each record (domain, name) is one item of the default collection with
// the attributes
//
//	xdg:schema       app.capguard.Vault
//	domain           the record's domain
//	name             the record's name
//	capguard-format  1
//
// whose secret is
//
//	"cgss" 0 0 0 version(1) || tag (32) || digest of native.RecordAAD (32) || data || SHA-256 of the preceding bytes
//
// The tag is SHA-256 of a label and the binding (native/linux passes a
// digest of the fingers enrolled in fprintd): a record whose tag differs
// was stored under another enrollment, and answers DataNeedsReenrollment
// and is deleted. The AAD digest ties the secret to its record, so an item
// whose attributes were changed answers DecryptionFailed, as a damaged
// secret does (left alone). Unlike the TPM's authValue, the binding is a
// check made by capguard, not a key: anything that can read the keyring
// reads the data.
//
// Secrets cross the bus encrypted (the "dh-ietf1024-sha256-aes128-cbc-pkcs7"
// session algorithm). A locked collection is unlocked through the
// service's prompt (the keyring's password dialog); a dismissed prompt is
// UserCancel.
//
// What it protects: the keyring's file is encrypted with the user's login
// password, so the data is safe at rest while the keyring is locked (a
// stolen disk of a machine that was off). While the user is logged in the
// keyring is unlocked, and any process of the user can read every item:
// the release after a fingerprint match is the app's decision, not the
// keyring's.
//
// This package and native/fprintd are the only ones of capguard that
// import godbus.
package secretservice

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/godbus/dbus/v5"

	"github.com/capguard/capguard/native"
)

// D-Bus names of the Secret Service API.
const (
	busName        = "org.freedesktop.secrets"
	servicePath    = dbus.ObjectPath("/org/freedesktop/secrets")
	serviceIface   = "org.freedesktop.Secret.Service"
	collectionIfc  = "org.freedesktop.Secret.Collection"
	itemIface      = "org.freedesktop.Secret.Item"
	sessionIface   = "org.freedesktop.Secret.Session"
	promptIface    = "org.freedesktop.Secret.Prompt"
	schema         = "app.capguard.Vault"
	formatVersion  = 1
	bindingLen     = 32
	noPrompt       = dbus.ObjectPath("/")
	defaultAlias   = "default"
	contentType    = "application/octet-stream"
	attrSchema     = "xdg:schema"
	attrFormat     = "capguard-format"
	attrDomain     = "domain"
	attrName       = "name"
	propLabel      = itemIface + ".Label"
	propAttributes = itemIface + ".Attributes"
)

// Messages of the store's errors.
const (
	msgNotFound   = "No data is stored under this domain and name."
	msgReenrolled = "The data was stored for another set of enrolled fingerprints; it was removed and must be stored again."
	msgDamaged    = "The stored data does not open: the keyring's item is damaged, or not stored for this domain and name."
	msgBadBinding = "The binding must be 32 bytes."
	msgLocked     = "The keyring was not unlocked."
)

// Options configure a Store.
type Options struct {
	// Address is the D-Bus address of the session bus the Secret Service
	// is on; empty means the session bus (DBUS_SESSION_BUS_ADDRESS).
	Address string
	// Collection is the alias of the collection that holds the records;
	// empty means "default" (the login keyring).
	Collection string
}

// Store is the records in a Secret Service collection. It holds no
// connection between calls and is safe for concurrent use.
type Store struct {
	opts Options
	mu   sync.Mutex // serializes read-check-delete against writes
}

// New returns a store; it does not contact the service (Probe does).
func New(opts Options) (*Store, error) {
	if opts.Collection == "" {
		opts.Collection = defaultAlias
	}
	return &Store{opts: opts}, nil
}

// conn is one operation's connection, with an open encrypted session.
type conn struct {
	c          *dbus.Conn
	session    dbus.ObjectPath
	key        []byte
	collection dbus.ObjectPath
}

// secret is the Secret Service's Secret struct, (oayays).
type secret struct {
	Session     dbus.ObjectPath
	Parameters  []byte
	Value       []byte
	ContentType string
}

// connect opens a connection, an encrypted session and the collection,
// unlocked.
func (s *Store) connect(ctx context.Context) (*conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, native.Canceled(ctx)
	}
	var c *dbus.Conn
	var err error
	if s.opts.Address == "" {
		c, err = dbus.ConnectSessionBus()
	} else {
		c, err = dbus.Connect(s.opts.Address)
	}
	if err != nil {
		return nil, internal("connect to the session bus", err)
	}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	svc := c.Object(busName, servicePath)
	d := newDH()
	var out dbus.Variant
	var session dbus.ObjectPath
	if err := svc.CallWithContext(ctx, serviceIface+".OpenSession", 0, algorithm, dbus.MakeVariant(d.public())).Store(&out, &session); err != nil {
		return nil, callError(ctx, "open a session with the Secret Service", err)
	}
	peer, _ := out.Value().([]byte)
	key, err := d.key(peer)
	if err != nil {
		return nil, internal("agree on a session key", err)
	}
	cn := &conn{c: c, session: session, key: key}
	if err := svc.CallWithContext(ctx, serviceIface+".ReadAlias", 0, s.opts.Collection).Store(&cn.collection); err != nil {
		return nil, callError(ctx, "find the keyring", err)
	}
	if cn.collection == noPrompt {
		return nil, native.NewError(native.InternalError, fmt.Sprintf("The Secret Service has no %q keyring.", s.opts.Collection))
	}
	if err := cn.unlock(ctx); err != nil {
		return nil, err
	}
	ok = true
	return cn, nil
}

// close ends the session and the connection.
func (cn *conn) close() {
	_ = cn.c.Object(busName, cn.session).Call(sessionIface+".Close", 0).Err
	cn.c.Close()
}

// unlock unlocks the collection if it is locked, through the service's
// prompt.
func (cn *conn) unlock(ctx context.Context) error {
	v, err := cn.c.Object(busName, cn.collection).GetProperty(collectionIfc + ".Locked")
	if err != nil {
		return callError(ctx, "read the keyring's state", err)
	}
	if locked, _ := v.Value().(bool); !locked {
		return nil
	}
	var unlocked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := cn.c.Object(busName, servicePath).CallWithContext(ctx, serviceIface+".Unlock", 0, []dbus.ObjectPath{cn.collection}).Store(&unlocked, &prompt); err != nil {
		return callError(ctx, "unlock the keyring", err)
	}
	if prompt == noPrompt {
		return nil
	}
	if dismissed, err := cn.prompt(ctx, prompt); err != nil {
		return err
	} else if dismissed {
		return native.NewError(native.UserCancel, msgLocked)
	}
	return nil
}

// prompt runs a prompt of the service and waits for its Completed signal;
// when ctx ends it dismisses it.
func (cn *conn) prompt(ctx context.Context, path dbus.ObjectPath) (dismissed bool, err error) {
	ch := make(chan *dbus.Signal, 4)
	cn.c.Signal(ch)
	defer cn.c.RemoveSignal(ch)
	if err := cn.c.AddMatchSignalContext(ctx, dbus.WithMatchObjectPath(path), dbus.WithMatchInterface(promptIface), dbus.WithMatchMember("Completed")); err != nil {
		return false, callError(ctx, "watch the keyring's prompt", err)
	}
	var owner string
	if err := cn.c.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetNameOwner", 0, busName).Store(&owner); err != nil {
		return false, callError(ctx, "find the Secret Service", err)
	}
	p := cn.c.Object(busName, path)
	if err := p.CallWithContext(ctx, promptIface+".Prompt", 0, "").Err; err != nil {
		return false, callError(ctx, "show the keyring's prompt", err)
	}
	for {
		select {
		case <-ctx.Done():
			_ = p.Call(promptIface+".Dismiss", 0).Err
			return false, native.Canceled(ctx)
		case sig := <-ch:
			if sig.Sender != owner || sig.Path != path || sig.Name != promptIface+".Completed" || len(sig.Body) < 1 {
				continue
			}
			d, _ := sig.Body[0].(bool)
			return d, nil
		}
	}
}

// attributes are the item attributes of a record.
func attributes(domain, name string) map[string]string {
	return map[string]string{attrSchema: schema, attrFormat: fmt.Sprint(formatVersion), attrDomain: domain, attrName: name}
}

// find returns the record's items (normally one).
func (cn *conn) find(ctx context.Context, domain, name string) ([]dbus.ObjectPath, error) {
	var items []dbus.ObjectPath
	if err := cn.c.Object(busName, cn.collection).CallWithContext(ctx, collectionIfc+".SearchItems", 0, attributes(domain, name)).Store(&items); err != nil {
		return nil, callError(ctx, "search the keyring", err)
	}
	return items, nil
}

// Probe tells whether the Secret Service answers and its collection is
// usable: nil when the store can seal.
func (s *Store) Probe(ctx context.Context) error {
	cn, err := s.connect(ctx)
	if err != nil {
		return err
	}
	cn.close()
	return nil
}

// Seal stores data as the record, bound to binding, replacing any record
// of that name (the service replaces the item's secret in one call).
func (s *Store) Seal(ctx context.Context, domain, name string, binding, data []byte) error {
	if err := checkArgs(domain, name, binding); err != nil {
		return err
	}
	if err := native.CheckData(data); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cn, err := s.connect(ctx)
	if err != nil {
		return err
	}
	defer cn.close()
	value := encode(domain, name, binding, data)
	defer clear(value)
	iv, ct := encrypt(cn.key, value)
	props := map[string]dbus.Variant{
		propLabel:      dbus.MakeVariant("capguard: " + domain + " / " + name),
		propAttributes: dbus.MakeVariant(attributes(domain, name)),
	}
	var item, prompt dbus.ObjectPath
	err = cn.c.Object(busName, cn.collection).CallWithContext(ctx, collectionIfc+".CreateItem", 0,
		props, secret{Session: cn.session, Parameters: iv, Value: ct, ContentType: contentType}, true).Store(&item, &prompt)
	if err != nil {
		return callError(ctx, "store the item", err)
	}
	if prompt != noPrompt {
		if dismissed, err := cn.prompt(ctx, prompt); err != nil {
			return err
		} else if dismissed {
			return native.NewError(native.UserCancel, msgLocked)
		}
	}
	return nil
}

// Check tells whether the record exists and is bound to binding (see
// Unseal for the codes); nothing is returned of the data.
func (s *Store) Check(ctx context.Context, domain, name string, binding []byte) error {
	data, err := s.Unseal(ctx, domain, name, binding)
	clear(data)
	return err
}

// Unseal returns the record's data, which must be bound to binding:
// DataNotFound, DataNeedsReenrollment (the item is deleted),
// DecryptionFailed (left alone), InternalError.
func (s *Store) Unseal(ctx context.Context, domain, name string, binding []byte) ([]byte, error) {
	if err := checkArgs(domain, name, binding); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cn, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer cn.close()
	items, err := cn.find(ctx, domain, name)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, native.NewError(native.DataNotFound, msgNotFound)
	}
	var sec secret
	if err := cn.c.Object(busName, items[0]).CallWithContext(ctx, itemIface+".GetSecret", 0, cn.session).Store(&sec); err != nil {
		return nil, callError(ctx, "read the item", err)
	}
	value, err := decrypt(cn.key, sec.Parameters, sec.Value)
	if err != nil {
		return nil, &native.Error{Code: native.DecryptionFailed, Message: msgDamaged, Err: err}
	}
	defer clear(value)
	data, err := decode(domain, name, binding, value)
	if errors.Is(err, errOtherBinding) {
		for _, it := range items {
			if err := cn.delete(ctx, it); err != nil {
				return nil, err
			}
		}
		return nil, native.NewError(native.DataNeedsReenrollment, msgReenrolled)
	}
	if err != nil {
		return nil, &native.Error{Code: native.DecryptionFailed, Message: msgDamaged, Err: err}
	}
	return data, nil
}

// Has tells whether the record's item exists.
func (s *Store) Has(ctx context.Context, domain, name string) (bool, error) {
	if err := native.CheckRecord(domain, name); err != nil {
		return false, err
	}
	cn, err := s.connect(ctx)
	if err != nil {
		return false, err
	}
	defer cn.close()
	items, err := cn.find(ctx, domain, name)
	return len(items) > 0, err
}

// Remove deletes the record's items; none is not an error.
func (s *Store) Remove(ctx context.Context, domain, name string) error {
	if err := native.CheckRecord(domain, name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cn, err := s.connect(ctx)
	if err != nil {
		return err
	}
	defer cn.close()
	items, err := cn.find(ctx, domain, name)
	if err != nil {
		return err
	}
	for _, it := range items {
		if err := cn.delete(ctx, it); err != nil {
			return err
		}
	}
	return nil
}

// delete deletes an item.
func (cn *conn) delete(ctx context.Context, item dbus.ObjectPath) error {
	var prompt dbus.ObjectPath
	if err := cn.c.Object(busName, item).CallWithContext(ctx, itemIface+".Delete", 0).Store(&prompt); err != nil {
		return callError(ctx, "delete the item", err)
	}
	if prompt != noPrompt {
		if dismissed, err := cn.prompt(ctx, prompt); err != nil {
			return err
		} else if dismissed {
			return native.NewError(native.UserCancel, "The item was not deleted.")
		}
	}
	return nil
}

// The secret's format.
var magic = []byte{'c', 'g', 's', 's', 0, 0, 0, formatVersion}

var (
	errOtherBinding = errors.New("secretservice: stored for another binding")
	errFormat       = errors.New("secretservice: the secret is damaged or not a capguard record")
)

func tag(binding []byte) []byte {
	h := sha256.New()
	h.Write([]byte("capguard-ss-binding"))
	h.Write(binding)
	return h.Sum(nil)
}

// encode makes a record's secret.
func encode(domain, name string, binding, data []byte) []byte {
	aad := sha256.Sum256(native.RecordAAD(formatVersion, domain, name))
	out := make([]byte, 0, len(magic)+64+len(data)+32)
	out = append(out, magic...)
	out = append(out, tag(binding)...)
	out = append(out, aad[:]...)
	out = append(out, data...)
	sum := sha256.Sum256(out)
	return append(out, sum[:]...)
}

// decode checks a record's secret and returns its data.
func decode(domain, name string, binding, value []byte) ([]byte, error) {
	if len(value) < len(magic)+96 || !bytes.Equal(value[:len(magic)], magic) {
		return nil, errFormat
	}
	body, sum := value[:len(value)-32], value[len(value)-32:]
	if want := sha256.Sum256(body); !bytes.Equal(sum, want[:]) {
		return nil, errFormat
	}
	rest := body[len(magic):]
	aad := sha256.Sum256(native.RecordAAD(formatVersion, domain, name))
	if !bytes.Equal(rest[32:64], aad[:]) {
		return nil, errFormat
	}
	if !bytes.Equal(rest[:32], tag(binding)) {
		return nil, errOtherBinding
	}
	return bytes.Clone(rest[64:]), nil
}

// checkArgs checks a record's names and its binding.
func checkArgs(domain, name string, binding []byte) error {
	if err := native.CheckRecord(domain, name); err != nil {
		return err
	}
	if len(binding) != bindingLen {
		return native.NewError(native.InvalidInput, msgBadBinding)
	}
	return nil
}

// internal is an InternalError with its cause.
func internal(what string, err error) error {
	return &native.Error{Code: native.InternalError, Message: "The Secret Service failed to " + what + ".", Err: fmt.Errorf("secretservice: %s: %w", what, err)}
}

// callError maps the failure of a call: AppCancel when ctx ended,
// InternalError otherwise, with the D-Bus error as the cause.
func callError(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return native.Canceled(ctx)
	}
	return internal(what, err)
}
