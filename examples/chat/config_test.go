package main

import (
	"errors"
	"io"
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
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
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
	} {
		_, err := parseOptions(tc.args, envOf(tc.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: error %v, want one naming %s", tc.args, tc.env, err, tc.want)
		}
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
