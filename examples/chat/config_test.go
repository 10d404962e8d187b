package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gnetty/gnetty/internal/servertest"
)

func envOf(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func TestOptionsFromFlagsAndEnvironment(t *testing.T) {
	o, err := parseOptions([]string{"-rate", "30"}, envOf(map[string]string{
		"CHAT_RATE": "5", "CHAT_MAX_ROOMS": "4", "CHAT_PRESENCE_TTL": "1m30s", "CHAT_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1/32",
		"CHAT_API_KEY": "0123456789abcdef", "CHAT_NO_GUESTS": "true", "CHAT_JWT_AUDIENCE": "chat", "CHAT_METRICS_TOKEN": "a-metrics-token-16",
		"CHAT_REDIS_CLUSTER": "redis://127.0.0.1:7000?addr=127.0.0.1:7001", "CHAT_REDIS_WAIT": "1",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.redisCluster != "redis://127.0.0.1:7000?addr=127.0.0.1:7001" || o.redisWait != 1 || o.redisURL != "" {
		t.Fatalf("redis cluster %q, wait %d, redis %q", o.redisCluster, o.redisWait, o.redisURL)
	}
	if !o.noGuests || o.jwtAudience != "chat" || o.metricsToken != "a-metrics-token-16" {
		t.Fatalf("no guests %v, audience %q, metrics token %q", o.noGuests, o.jwtAudience, o.metricsToken)
	}
	if o.apiKey != "0123456789abcdef" {
		t.Fatalf("api key %q", o.apiKey)
	}
	if o.rate != 30 || o.maxRooms != 4 || o.presenceTTL != 90*time.Second || len(o.trustedProxies) != 2 {
		t.Fatalf("%+v (a flag wins over its variable; the variables fill the rest)", o)
	}
}

func TestBadOptionsNameTheVariable(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{env: map[string]string{"CHAT_RATE": "abc"}, want: `CHAT_RATE="abc"`},
		{env: map[string]string{"CHAT_PRESENCE_TTL": "15"}, want: `CHAT_PRESENCE_TTL="15"`}, // a duration, as the flag takes
		{env: map[string]string{"CHAT_MAX_MESSAGE_LEN": "0"}, want: "-max-message-len (CHAT_MAX_MESSAGE_LEN) must be at least 1"},
		{args: []string{"-rate", "-3"}, want: "-rate (CHAT_RATE) must be at least 1"},
		{env: map[string]string{"CHAT_TRUSTED_PROXIES": "10.0.0.1"}, want: "CHAT_TRUSTED_PROXIES"},
		{args: []string{"-presence-ttl", "1ms"}, want: "-presence-ttl (CHAT_PRESENCE_TTL) must be at least 1s"},
		{env: map[string]string{"CHAT_JWT_SECRET": "short"}, want: "-jwt-secret (CHAT_JWT_SECRET) must be at least 32 bytes"},
		{env: map[string]string{"CHAT_API_KEY": "short"}, want: "-api-key (CHAT_API_KEY) must be at least 16 characters"},
		{env: map[string]string{"CHAT_METRICS_TOKEN": "short"}, want: "-metrics-token (CHAT_METRICS_TOKEN) must be at least 16 characters"},
		{env: map[string]string{"CHAT_NO_GUESTS": "maybe"}, want: `CHAT_NO_GUESTS="maybe"`},
		{env: map[string]string{"CHAT_TLS_CERT": "cert.pem"}, want: "-tls-cert (CHAT_TLS_CERT) and -tls-key (CHAT_TLS_KEY) go together"},
		{env: map[string]string{"CHAT_ADDR": "nonsense"}, want: `-addr (CHAT_ADDR) "nonsense": not host:port`},
		{args: []string{"-addr", "127.0.0.1:99999"}, want: `-addr (CHAT_ADDR) "127.0.0.1:99999": port "99999" is not a number from 0 to 65535`},
		{args: []string{"-metrics-addr", "localhost"}, want: "-metrics-addr (CHAT_METRICS_ADDR)"},
		{args: []string{"-rate", "5", "extra"}, want: `unexpected argument "extra"`},
		{env: map[string]string{"CHAT_LOG_FORMAT": "xml"}, want: "-log-format (CHAT_LOG_FORMAT) must be text or json"},
		{args: []string{"-log-level", "loud"}, want: "-log-level (CHAT_LOG_LEVEL) must be debug, info, warn or error"},
		{args: []string{"-redis", "redis://127.0.0.1:6379/0", "-redis-cluster", "redis://127.0.0.1:7000"}, want: "-redis (CHAT_REDIS) and -redis-cluster (CHAT_REDIS_CLUSTER) are one or the other"},
		{env: map[string]string{"CHAT_REDIS": "http://127.0.0.1:6379"}, want: "-redis (CHAT_REDIS): a Redis URL is redis://host:port/db"},
		{env: map[string]string{"CHAT_REDIS": "redis://127.0.0.1:26379/0?master_name="}, want: "-redis (CHAT_REDIS): a Sentinel URL needs master_name=NAME"},
		{env: map[string]string{"CHAT_REDIS_CLUSTER": "ftp://x"}, want: "-redis-cluster (CHAT_REDIS_CLUSTER): a cluster URL is redis://SEED:PORT"},
		{args: []string{"-redis", "redis://127.0.0.1:6379/0", "-redis-wait", "-1"}, want: "-redis-wait (CHAT_REDIS_WAIT) must be 0 or more"},
		{env: map[string]string{"CHAT_REDIS_WAIT": "1"}, want: "-redis-wait (CHAT_REDIS_WAIT) needs -redis or -redis-cluster"},
	} {
		_, err := parseOptions(tc.args, envOf(tc.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: error %v, want one naming %s", tc.args, tc.env, err, tc.want)
		}
	}
	// A value that does not parse is reported once: no second, misleading
	// line about the zero it left behind.
	if _, err := parseOptions(nil, envOf(map[string]string{"CHAT_RATE": "abc"}), io.Discard); err == nil || strings.Count(err.Error(), "\n") != 0 {
		t.Errorf("CHAT_RATE=abc: %q", err)
	}
	if _, err := parseOptions([]string{"-rate", "x"}, envOf(nil), io.Discard); !errors.Is(err, errUsage) {
		t.Errorf("a bad flag: %v", err)
	}
}

// TestBadEnvironmentStopsTheBinary: the command exits with status 2 and
// says which variable is wrong, instead of running on a silent default.
func TestBadEnvironmentStopsTheBinary(t *testing.T) {
	bin := servertest.BuildBinary(t, "chat")
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-data", "")
	cmd.Env = append(cmd.Environ(), "CHAT_RATE=abc")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), `chat: CHAT_RATE="abc"`) {
		t.Fatalf("exit %v, output %q", err, out)
	}
}

// runUntilExit runs the chat binary with args and env and returns its
// exit status and output; it must exit by itself (bounded).
func runUntilExit(t *testing.T, bin string, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(cmd.Environ(), env...)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%v did not exit: %s", args, out)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// Startup failures exit 2, name the flag and its variable, and never
// print "open ... in a browser".
func TestStartupErrorsNameTheSetting(t *testing.T) {
	bin := servertest.BuildBinary(t, "chat")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	data := t.TempDir()
	holder := exec.Command(bin, "-addr", "127.0.0.1:0", "-data", data)
	stderr, _ := holder.StderrPipe()
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = holder.Process.Kill(); _ = holder.Wait() }()
	sc := bufio.NewScanner(stderr)
	for sc.Scan() && !strings.Contains(sc.Text(), "in a browser") {
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	for _, tc := range []struct {
		env  []string
		args []string
		want string
	}{
		{env: []string{"CHAT_ADDR=nonsense"}, args: []string{"-data", ""}, want: `-addr (CHAT_ADDR) "nonsense"`},
		{args: []string{"-addr", "127.0.0.1:99999", "-data", ""}, want: `port "99999" is not a number`},
		{args: []string{"-addr", busy.Addr().String(), "-data", ""}, want: "cannot listen on -addr (CHAT_ADDR) " + busy.Addr().String()},
		{args: []string{"-addr", "127.0.0.1:0", "-data", data}, want: "another chat process holds " + data},
		{args: []string{"-addr", "127.0.0.1:0", "-data", "", "stray"}, want: `unexpected argument`},
	} {
		code, out := runUntilExit(t, bin, tc.env, tc.args...)
		if code != 2 || !strings.Contains(out, tc.want) || strings.Contains(out, "in a browser") {
			t.Errorf("%v %v: exit %d, output %q, want %q", tc.env, tc.args, code, out, tc.want)
		}
	}
}

// -log-format json makes every line JSON.
func TestJSONLogs(t *testing.T) {
	bin := servertest.BuildBinary(t, "chat")
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-data", "", "-log-format", "json")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	// Every line JSON, up to the one that says where to go.
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("a line that is not JSON: %q", sc.Text())
		}
		if strings.Contains(fmt.Sprint(rec["msg"]), "in a browser") {
			return
		}
	}
	t.Fatal("the chat exited before it listened")
}
