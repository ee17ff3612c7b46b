package childproc

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestOutputAndExit: both output streams are gathered, and Done closes
// when the process exits by itself.
func TestOutputAndExit(t *testing.T) {
	p, err := Start(exec.Command("sh", "-c", "echo out; echo err >&2"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("sh did not exit")
	}
	if got := p.Output(); !strings.Contains(got, "out") || !strings.Contains(got, "err") {
		t.Fatalf("output %q lacks a stream", got)
	}
	p.Stop() // returns at once: the process has exited
}

// TestStopInterrupts: Stop ends a process that runs on, and the process's
// end is seen through Done.
func TestStopInterrupts(t *testing.T) {
	p, err := Start(exec.Command("sleep", "60"))
	if err != nil {
		t.Fatal(err)
	}
	p.Stop()
	select {
	case <-p.Done():
	default:
		t.Fatal("Stop returned while the process still ran")
	}
}

// TestStartFails: a program that does not exist is an error, not a
// Process.
func TestStartFails(t *testing.T) {
	if p, err := Start(exec.Command("/nonexistent/capguard-child")); err == nil || p != nil {
		t.Fatalf("Start of a missing program: %v, %v", p, err)
	}
}
