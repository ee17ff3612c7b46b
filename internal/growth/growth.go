// Package growth checks that capguard's costs grow linearly with its inputs.
//
// It builds Tauri apps in memory whose size grows along one dimension (window
// globs, remote URL patterns, permissions, scope values, nested sets,
// capabilities, files, obligation rules) in every file format capguard
// reads, and measures a stage (parse, resolve, compile, validate, diff) on n
// and on Factor·n entries. Linear fails a test when the larger input costs
// more than Limit times the smaller one: linear cost gives about Factor, a
// quadratic step Factor² (64), so the generous Limit holds on a loaded
// machine without ever letting a quadratic step through. Bench runs the same
// stages as sub-benchmarks at n and Factor·n for docs/performance.md.
package growth

import (
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// Factor is how many times more entries the large input has.
const Factor = 8

// Limit is the highest cost ratio of the large input to the small one that
// Linear accepts: 3·Factor. Linear cost measures about Factor (a little
// more with the garbage collector and caches), a quadratic step Factor².
const Limit = 3 * Factor

// attempts is how many times Linear measures before it fails: a ratio above
// Limit must be seen every time.
const attempts = 3

// minRun is the least time one measurement of the small input lasts: a
// stage that is faster is run several times in a row and the mean is taken.
const minRun = time.Millisecond

// Build prepares one input of n entries and returns the stage to measure on
// it. Preparation (generating the text, the stages before) is not measured.
type Build func(tb testing.TB, n int) func()

// Ratio measures run on n and on Factor·n entries, interleaved, each the
// best of three, and returns the cost of the large input over the small one.
// The cost is the process's CPU time (on Linux; the wall clock elsewhere):
// other processes on the machine do not inflate it. The test must not run
// in parallel with others of its process.
func Ratio(tb testing.TB, n int, build Build) float64 {
	tb.Helper()
	small, large := build(tb, n), build(tb, Factor*n)
	small()
	large()
	// The small stage is repeated so that a measurement lasts at least
	// minRun; the large one then runs as often (it lasts longer still).
	reps := 1
	for {
		d := timed(small, reps)
		if d >= minRun || reps >= 64 {
			break
		}
		reps *= 2
	}
	best := [2]time.Duration{math.MaxInt64, math.MaxInt64}
	for range 3 {
		for i, f := range [2]func(){small, large} {
			if d := timed(f, reps); d < best[i] {
				best[i] = d
			}
		}
	}
	return float64(best[1]) / float64(max(best[0], 1))
}

// timed runs f reps times and returns the CPU time the runs took. The
// garbage collector is off while f runs and collects between the runs,
// outside the measurement: a small input that never fills the collector's
// first 4 MB would otherwise run without collections while a large one
// pays for them, which is a constant of the runtime, not of capguard.
func timed(f func(), reps int) time.Duration {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	var total time.Duration
	for range reps {
		runtime.GC()
		start := cpuTime()
		f()
		total += cpuTime() - start
	}
	runtime.GC()
	return total
}

// raceDivisor is how many times smaller Linear's inputs are under the race
// detector (CI runs every test with -race): the ratio is still that of n
// to Factor·n, and a quadratic step still measures far above Limit, while
// the growth tests of all packages stay within seconds.
const raceDivisor = 8

// Size is the n that Linear measures for a shape's n: n itself, or under
// the race detector n/raceDivisor for the shapes of 100 entries or more.
func Size(n int) int {
	if raceEnabled && n >= 100 {
		return n / raceDivisor
	}
	return n
}

// Linear fails t unless running the stage on Factor·n entries costs at most
// Limit times running it on n. A measurement above Limit is repeated (a
// loaded machine can slow one run down); only a ratio above Limit in every
// attempt fails.
func Linear(t *testing.T, n int, build Build) {
	t.Helper()
	n = Size(n)
	var ratios []float64
	for range attempts {
		r := Ratio(t, n, build)
		ratios = append(ratios, r)
		if r <= Limit {
			t.Logf("%d → %d entries: cost ×%.1f (linear: ×%d, limit ×%d)", n, Factor*n, r, Factor, Limit)
			return
		}
	}
	t.Errorf("%d → %d entries: cost ×%s, above ×%d in every attempt: the stage grows faster than linearly", n, Factor*n, fmtRatios(ratios), Limit)
}

func fmtRatios(rs []float64) string {
	s := ""
	for i, r := range rs {
		if i > 0 {
			s += ", ×"
		}
		s += fmt.Sprintf("%.1f", r)
	}
	return s
}

// Bench runs the stage as sub-benchmarks named "n=<n>" and "n=<Factor·n>",
// reporting the entries per operation.
func Bench(b *testing.B, n int, build Build) {
	for _, size := range []int{n, Factor * n} {
		b.Run(fmt.Sprintf("n=%d", size), func(b *testing.B) {
			run := build(b, size)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				run()
			}
			b.ReportMetric(float64(size), "entries/op")
		})
	}
}
