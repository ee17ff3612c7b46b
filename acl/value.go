package acl

import (
	"math"
	"sort"
	"strconv"

	"github.com/capguard/capguard/internal/doc"
)

// ValueKind is the type of a scope Value.
type ValueKind uint8

// The kinds of Tauri's acl::Value. Integers and floats are kept apart, as
// Tauri's Number is either an i64 or an f64.
const (
	NullValue ValueKind = iota
	BoolValue
	IntValue
	FloatValue
	StringValue
	ListValue
	MapValue
)

// Value is a scope value: what a capability or permission lists under
// allow or deny. Maps keep the order in which their keys were written;
// Tauri stores them sorted, and the JSON writers sort them too.
type Value struct {
	kind ValueKind
	b    bool
	i    int64
	f    float64
	s    string
	list []Value
	m    []MapEntry
}

// MapEntry is one key of a map Value.
type MapEntry struct {
	Key   string
	Value Value
}

// Null returns the null value.
func Null() Value { return Value{} }

// Bool returns a boolean value.
func Bool(b bool) Value { return Value{kind: BoolValue, b: b} }

// Int returns an integer value.
func Int(i int64) Value { return Value{kind: IntValue, i: i} }

// Float returns a floating-point value.
func Float(f float64) Value { return Value{kind: FloatValue, f: f} }

// String returns a string value.
func String(s string) Value { return Value{kind: StringValue, s: s} }

// List returns a list value.
func List(items ...Value) Value {
	if items == nil {
		items = []Value{}
	}
	return Value{kind: ListValue, list: items}
}

// Map returns a map value with the entries in the given order. A repeated
// key keeps its first place and its last value.
func Map(entries ...MapEntry) Value {
	out := make([]MapEntry, 0, len(entries))
	index := map[string]int{}
	for _, e := range entries {
		if i, ok := index[e.Key]; ok {
			out[i].Value = e.Value
			continue
		}
		index[e.Key] = len(out)
		out = append(out, e)
	}
	return Value{kind: MapValue, m: out}
}

// Kind returns the value's type.
func (v Value) Kind() ValueKind { return v.kind }

// Bool returns the value of a boolean.
func (v Value) Bool() bool { return v.b }

// Int returns the value of an integer.
func (v Value) Int() int64 { return v.i }

// Float returns the value of a float (or of an integer, converted).
func (v Value) Float() float64 {
	if v.kind == IntValue {
		return float64(v.i)
	}
	return v.f
}

// Str returns the value of a string.
func (v Value) Str() string { return v.s }

// List returns the items of a list.
func (v Value) List() []Value { return v.list }

// Entries returns the entries of a map in written order.
func (v Value) Entries() []MapEntry { return v.m }

// Get returns the value of key in a map.
func (v Value) Get(key string) (Value, bool) {
	for _, e := range v.m {
		if e.Key == key {
			return e.Value, true
		}
	}
	return Value{}, false
}

// Interface converts the value to plain Go values: nil, bool, int64,
// float64, string, []any and map[string]any.
func (v Value) Interface() any {
	switch v.kind {
	case BoolValue:
		return v.b
	case IntValue:
		return v.i
	case FloatValue:
		return v.f
	case StringValue:
		return v.s
	case ListValue:
		out := make([]any, len(v.list))
		for i, it := range v.list {
			out[i] = it.Interface()
		}
		return out
	case MapValue:
		out := make(map[string]any, len(v.m))
		for _, e := range v.m {
			out[e.Key] = e.Value.Interface()
		}
		return out
	}
	return nil
}

// Equal reports whether two values are the same, map key order aside.
func (v Value) Equal(o Value) bool {
	if v.kind != o.kind {
		return false
	}
	switch v.kind {
	case NullValue:
		return true
	case BoolValue:
		return v.b == o.b
	case IntValue:
		return v.i == o.i
	case FloatValue:
		return v.f == o.f || math.IsNaN(v.f) && math.IsNaN(o.f)
	case StringValue:
		return v.s == o.s
	case ListValue:
		if len(v.list) != len(o.list) {
			return false
		}
		for i := range v.list {
			if !v.list[i].Equal(o.list[i]) {
				return false
			}
		}
		return true
	case MapValue:
		if len(v.m) != len(o.m) {
			return false
		}
		for _, e := range v.m {
			x, ok := o.Get(e.Key)
			if !ok || !e.Value.Equal(x) {
				return false
			}
		}
		return true
	}
	return false
}

// MarshalJSON writes the value as Tauri's serde_json would: map keys in
// byte order, floats with a fraction, non-finite floats as null.
func (v Value) MarshalJSON() ([]byte, error) {
	w := doc.NewWriter(false)
	v.write(w)
	return w.Bytes(), nil
}

// String returns the compact JSON text of the value.
func (v Value) String() string {
	b, _ := v.MarshalJSON()
	return string(b)
}

func (v Value) write(w *doc.Writer) {
	switch v.kind {
	case NullValue:
		w.Null()
	case BoolValue:
		w.Bool(v.b)
	case IntValue:
		w.Int(v.i)
	case FloatValue:
		w.Float(v.f)
	case StringValue:
		w.Str(v.s)
	case ListValue:
		w.BeginArray()
		for _, it := range v.list {
			it.write(w)
		}
		w.EndArray()
	case MapValue:
		entries := append([]MapEntry(nil), v.m...)
		sort.SliceStable(entries, func(i, j int) bool { return entries[i].Key < entries[j].Key })
		w.BeginObject()
		for _, e := range entries {
			w.Key(e.Key)
			e.Value.write(w)
		}
		w.EndObject()
	}
}

// tomlDatetimeKey is the key under which the toml crate hands a datetime
// to serde when the target type is untyped; Tauri's Value keeps it as a
// one-key map.
const tomlDatetimeKey = "$__toml_private_datetime"

// valueFromNode converts a parsed node the way serde fills Tauri's untagged
// Value: integers that fit an i64 stay integers, other numbers are floats.
// When viaJSON is set, non-finite floats become null, as they do when the
// value passes through serde_json::Value (capability files).
func valueFromNode(n *doc.Node, viaJSON bool) Value {
	switch n.Kind {
	case doc.Bool:
		return Bool(n.Bool)
	case doc.String:
		return String(n.Text)
	case doc.Datetime:
		return Map(MapEntry{Key: tomlDatetimeKey, Value: String(n.Text)})
	case doc.Number:
		if n.Int {
			if i, err := strconv.ParseInt(n.Text, 10, 64); err == nil && n.Text != "-0" {
				return Int(i)
			}
		}
		f := n.Float()
		if viaJSON && (math.IsNaN(f) || math.IsInf(f, 0)) {
			return Null()
		}
		return Float(f)
	case doc.Array:
		items := make([]Value, len(n.Items))
		for i, it := range n.Items {
			items[i] = valueFromNode(it, viaJSON)
		}
		return List(items...)
	case doc.Object:
		entries := make([]MapEntry, len(n.Members))
		for i, m := range n.Members {
			entries[i] = MapEntry{Key: m.Key, Value: valueFromNode(m.Value, viaJSON)}
		}
		return Map(entries...)
	}
	return Null()
}
