package chat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"strings"

	gorilla "github.com/gorilla/websocket"

	"github.com/gnetty/gnetty/preset/chat"
)

// The whole chat service in one call: a user logs in over HTTP (a session
// cookie), opens the lobby over WebSocket, and posts a message that comes
// back numbered by the room.
func Example() {
	srv, err := chat.New(chat.Config{
		Addr:   "127.0.0.1:0",
		Store:  chat.NewMemoryStore(), // chat.OpenBoltStore keeps history on disk
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	if err := srv.Start(); err != nil {
		panic(err)
	}
	defer srv.Shutdown(context.Background())
	base := "http://" + srv.Addrs()[0].String()

	jar, _ := cookiejar.New(nil)
	web := &http.Client{Jar: jar}
	resp, err := web.Post(base+"/login", "application/json", strings.NewReader(`{"name":"ann","avatar":"owl"}`))
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println("login:", resp.Status)

	dialer := gorilla.Dialer{Jar: jar}
	conn, _, err := dialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws/chat/lobby", nil)
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	next := func(want string) map[string]any {
		for {
			var m map[string]any
			if err := conn.ReadJSON(&m); err != nil {
				panic(err)
			}
			if m["type"] == want {
				return m
			}
		}
	}
	fmt.Println("handShake for", next("handShake")["user"].(map[string]any)["username"])
	fmt.Println("online in lobby:", next("login")["count"])
	_ = conn.WriteJSON(map[string]any{"type": "user", "room": "lobby", "msg": "hello, room"})
	m := next("user")
	b, _ := json.Marshal(map[string]any{"from": m["from"], "msg": m["msg"], "id": m["id"], "room": m["room"]})
	fmt.Println("message:", string(b))
	// Output:
	// login: 200 OK
	// handShake for ann
	// online in lobby: 1
	// message: {"from":"ann","id":1,"msg":"hello, room","room":"lobby"}
}
