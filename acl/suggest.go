package acl

import (
	"sort"
	"strconv"
	"strings"

	"github.com/capguard/capguard/internal/textdist"
)

// closest returns up to n candidates nearest to s by edit distance, nearest
// first (ties in byte order), leaving out those too far to be a typo.
func closest(s string, candidates []string, n int) []string {
	type scored struct {
		c string
		d int
	}
	limit := max(3, len(s)/2)
	var list []scored
	for _, c := range candidates {
		d := textdist.Distance(s, c)
		if d <= limit || strings.Contains(c, s) || strings.Contains(s, c) && len(c) > 2 {
			list = append(list, scored{c, d})
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].d != list[j].d {
			return list[i].d < list[j].d
		}
		return list[i].c < list[j].c
	})
	out := make([]string, 0, n)
	for i := 0; i < len(list) && i < n; i++ {
		out = append(out, list[i].c)
	}
	return out
}

// suggest phrases the three closest candidates as "did you mean ...?", or
// returns "" when none is close.
func suggest(s string, candidates []string) string {
	c := closest(s, candidates, 3)
	if len(c) == 0 {
		return ""
	}
	q := make([]string, len(c))
	for i, x := range c {
		q[i] = strconv.Quote(x)
	}
	if len(q) == 1 {
		return "did you mean " + q[0] + "?"
	}
	return "did you mean " + strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1] + "?"
}
