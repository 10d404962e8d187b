package peer

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
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

// Mode is one way a benchmark binary runs as a process of its own: when
// the variable Env is set, Run runs with its value instead of the tests.
type Mode struct {
	Env string
	Run func(value string) error
}

// Main is the TestMain of a benchmark package whose binary is also the
// server and load processes its benchmarks start (Self): it runs the
// first Mode whose variable is set, writing a CPU profile to the file
// the variable cpuProfile names when that is set too, and exits 1 with
// the error on standard error when Run fails; with no mode set it runs
// the tests and benchmarks.
func Main(m *testing.M, cpuProfile string, modes ...Mode) {
	for _, md := range modes {
		v := os.Getenv(md.Env)
		if v == "" {
			continue
		}
		if path := os.Getenv(cpuProfile); path != "" {
			if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
				defer pprof.StopCPUProfile()
			}
		}
		if err := md.Run(v); err != nil {
			pprof.StopCPUProfile()
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

// RSSKiB reads a process's resident memory (VmRSS) in KiB; 0 when it
// cannot.
func RSSKiB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			v, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return v
		}
	}
	return 0
}

// Load runs a load process (Self on CPU 1 with env) to its end and
// decodes the JSON it prints into out; a failed run or output that does
// not decode fails the benchmark.
func Load(tb testing.TB, env []string, out any) {
	tb.Helper()
	b, err := Self(1, env).Output()
	if err != nil {
		tb.Fatalf("load: %v\n%s", err, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		tb.Fatalf("load output %q: %v", b, err)
	}
}

// Percentiles sorts lat and returns its median and 99th percentile in
// microseconds (0, 0 without samples): the load processes' latency
// figures.
func Percentiles(lat []time.Duration) (p50, p99 float64) {
	n := len(lat)
	if n == 0 {
		return 0, 0
	}
	slices.Sort(lat)
	return float64(lat[n/2].Microseconds()), float64(lat[n*99/100].Microseconds())
}
