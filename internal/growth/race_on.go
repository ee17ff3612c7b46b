//go:build race

package growth

// raceEnabled: the race detector slows every memory access several times,
// so Linear measures smaller inputs (see Size).
const raceEnabled = true
