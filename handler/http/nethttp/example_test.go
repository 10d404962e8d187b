package nethttp_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/handler/http/nethttp"
	"github.com/gnetty/gnetty/handler/http/router"
)

// Any net/http handler on a gnetty route: it runs off the event loop, in
// order per connection, and answers through the channel.
func ExampleHandler() {
	api := http.NewServeMux()
	api.HandleFunc("GET /api/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "hello from net/http, %s", r.URL.Query().Get("name"))
	})
	r := router.New()
	_ = r.Handle("GET", "/api/{path...}", nethttp.Handler(api))
	srv, err := bootstrap.New(bootstrap.Config{Addrs: []string{"127.0.0.1:0"}, Workers: 1,
		Logger: slog.New(slog.DiscardHandler), Initializer: router.Front{Router: r}.Initializer()})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := srv.Start(); err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown(context.Background())
	resp, err := http.Get("http://" + srv.Addrs()[0].String() + "/api/hello?name=gopher")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 hello from net/http, gopher
}
