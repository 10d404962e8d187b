package peer

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
)

// Pinned returns a command that runs args on one CPU (taskset, when the
// machine has two or more) with GOMAXPROCS=1 and env added; its stderr is
// the benchmark's.
func Pinned(cpu int, env []string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if ts, err := exec.LookPath("taskset"); err == nil && runtime.NumCPU() >= 2 {
		cmd = exec.Command(ts, append([]string{"-c", strconv.Itoa(cpu)}, args...)...)
	} else {
		cmd = exec.Command(args[0], args[1:]...)
	}
	cmd.Env = append(append(os.Environ(), env...), "GOMAXPROCS=1")
	cmd.Stderr = os.Stderr
	return cmd
}

// Self runs the benchmark binary itself with no tests (its TestMain picks
// a server or load mode from env).
func Self(cpu int, env []string) *exec.Cmd {
	self, _ := os.Executable()
	return Pinned(cpu, env, self, "-test.run=^$")
}

// CPUSeconds reads a process's user+system CPU time from /proc.
func CPUSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}
