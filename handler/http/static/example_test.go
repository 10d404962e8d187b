package static_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing/fstest"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/handler/http/static"
)

// Files from any fs.FS (an embed.FS in a real program), read off the
// loop, with a content type, ETag and Last-Modified.
func ExampleNew() {
	files := fstest.MapFS{"hello.txt": {Data: []byte("hello from a file\n")}}
	r := router.New()
	_ = r.Handle("GET", "/static/{path...}", static.New(static.Config{FS: files}))
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
	resp, err := http.Get("http://" + srv.Addrs()[0].String() + "/static/hello.txt")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.StatusCode, " ", resp.Header.Get("Content-Type"), " ", resp.Header.Get("ETag") != "", " ", string(body))
	// Output: 200 text/plain; charset=utf-8 true hello from a file
}
