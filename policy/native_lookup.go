package policy

import "math/bits"

// commandTable finds a command's compiled form by name: open addressing
// over a power-of-two table, keyed by a hash of the name's length and its
// first, middle and last eight bytes. Command names share long prefixes
// ("plugin:fs|") but differ near their end, and a hash of 24 bytes is
// cheaper than the map's hash of the whole name; a full comparison of the
// name decides. It is built once by Compile and only read after.
type commandTable struct {
	slots []*command
	mask  uint64
}

func newCommandTable(cmds map[string]*command) commandTable {
	n := 8
	for n < 2*len(cmds) {
		n <<= 1
	}
	t := commandTable{slots: make([]*command, n), mask: uint64(n - 1)}
	for name, c := range cmds {
		for i := nameHash(name) & t.mask; ; i = (i + 1) & t.mask {
			if t.slots[i] == nil {
				t.slots[i] = c
				break
			}
		}
	}
	return t
}

func (t *commandTable) lookup(name string) *command {
	if len(t.slots) == 0 {
		return nil // a Native not made by Compile
	}
	for i := nameHash(name) & t.mask; ; i = (i + 1) & t.mask {
		c := t.slots[i]
		if c == nil || c.name == name {
			return c
		}
	}
}

// nameHash mixes a name's length with its first, middle and last eight
// bytes (fewer for short names).
func nameHash(s string) uint64 {
	h := uint64(len(s)) * 0x9e3779b97f4a7c15
	if len(s) >= 8 {
		h ^= load64(s, 0)
		h = bits.RotateLeft64(h*0xff51afd7ed558ccd, 29)
		h ^= load64(s, (len(s)-8)/2)
		h = bits.RotateLeft64(h*0xc4ceb9fe1a85ec53, 31)
		h ^= load64(s, len(s)-8)
	} else {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i]) << (8 * uint(i))
		}
	}
	h *= 0xff51afd7ed558ccd
	return h ^ h>>33
}

func load64(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}
