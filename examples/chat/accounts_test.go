package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gnetty/gnetty/internal/redistest"
	"github.com/gnetty/gnetty/internal/servertest"
)

// TestAccountsScenario runs tests/interop/chat_accounts.mjs (Node's fetch
// and ws) against two chat processes sharing a real redis-server: a name
// claimed with a password, a wrong password, the account on the second
// node, look-alike names, a guest name reused, a token subject that
// /login cannot take; then node A restarts and the account logs in again
// with its messages.
func TestAccountsScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs Node")
	}
	const secret = "an-hs256-secret-of-32-bytes-long"
	rs := redistest.Start(t)
	bin := servertest.BuildBinary(t, "chat")
	args := func(node string) []string {
		return []string{"-redis", "redis://" + rs.Addr + "/0", "-node", node, "-jwt-secret", secret}
	}
	a := runChat(t, bin, "127.0.0.1:0", args("a")...)
	b := runChat(t, bin, "127.0.0.1:0", args("b")...)
	addrA, addrB := a.addr, b.addr // node A restarts on its port
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "tess", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	logs := joinedLogs{a.logs, b.logs}
	res := runScript(t, logs, nil, "chat_accounts.mjs", "before", "http://"+addrA, "http://"+addrB, tok)
	if !strings.HasPrefix(res.Account, "a:") {
		t.Fatalf("the scenario claimed %q", res.Account)
	}
	a.kill()
	a = runChat(t, bin, addrA, args("a")...)
	runScript(t, joinedLogs{a.logs, b.logs}, nil, "chat_accounts.mjs", "after", "http://"+addrA, res.Account)
}

// joinedLogs shows several processes' logs on failure.
type joinedLogs []fmt.Stringer

func (j joinedLogs) String() string {
	var b strings.Builder
	for i, l := range j {
		fmt.Fprintf(&b, "--- process %d\n%s", i, l)
	}
	return b.String()
}
