package static_test

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/handler/http/static"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

var mod = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newFS() fstest.MapFS {
	return fstest.MapFS{
		"index.html":    {Data: []byte("<h1>home</h1>"), ModTime: mod},
		"css/site.css":  {Data: []byte("body{}"), ModTime: mod},
		"docs/":         {Mode: 0o755 | 1<<31, ModTime: mod},
		"blob":          {Data: []byte("\x89PNG\r\n\x1a\nrest"), ModTime: mod},
		"secret/../key": {Data: []byte("no")},
	}
}

// fetch runs one request through codec -> aggregator -> router -> static
// and waits for the answer (files are read on another goroutine).
func fetch(t *testing.T, req string) string {
	r := router.New()
	if err := r.Handle("GET", "/static/{path...}", static.New(static.Config{FS: newFS(), MaxAge: time.Hour})); err != nil {
		t.Fatal(err)
	}
	ch := pipelinetest.New(http1.NewServerCodec(http1.Config{}), http1.NewAggregator(0), r)
	ch.WriteInbound([]byte(req))
	var out []byte
	for deadline := time.Now().Add(5 * time.Second); len(out) == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		ch.RunPendingTasks()
		out = ch.ReadOutboundBytes()
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
	return string(out)
}

func get(path string, headers ...string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + strings.Join(headers, "") + "\r\n"
}

func TestStaticFiles(t *testing.T) {
	cases := []struct {
		name   string
		req    string
		has    []string
		hasNot []string
	}{
		{name: "css", req: get("/static/css/site.css"), has: []string{"200 OK", "Content-Type: text/css; charset=utf-8", "ETag: \"", "Last-Modified: Fri, 02 Jan 2026 03:04:05 GMT", "Cache-Control: public, max-age=3600", "\r\n\r\nbody{}"}},
		{name: "index", req: get("/static/"), has: []string{"200 OK", "text/html", "<h1>home</h1>"}},
		{name: "sniffed type", req: get("/static/blob"), has: []string{"Content-Type: image/png"}},
		{name: "head", req: "HEAD /static/css/site.css HTTP/1.1\r\nHost: x\r\n\r\n", has: []string{"200 OK", "Content-Length: 6"}, hasNot: []string{"body{}"}},
		{name: "missing", req: get("/static/nope.txt"), has: []string{"404 Not Found"}},
		{name: "dir without index", req: get("/static/docs/"), has: []string{"404 Not Found"}},
		{name: "traversal", req: get("/static/../go.mod"), has: []string{"404 Not Found"}},
		{name: "encoded traversal", req: get("/static/%2e%2e/secret"), has: []string{"404 Not Found"}},
		{name: "backslash", req: get("/static/css%5csite.css"), has: []string{"404 Not Found"}},
		{name: "if-modified-since", req: get("/static/css/site.css", "If-Modified-Since: Fri, 02 Jan 2026 03:04:05 GMT\r\n"), has: []string{"304 Not Modified"}, hasNot: []string{"body{}"}},
		{name: "modified since earlier", req: get("/static/css/site.css", "If-Modified-Since: Thu, 01 Jan 2026 00:00:00 GMT\r\n"), has: []string{"200 OK"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := fetch(t, tc.req)
			for _, h := range tc.has {
				if !strings.Contains(out, h) {
					t.Errorf("lacks %q:\n%s", h, out)
				}
			}
			for _, h := range tc.hasNot {
				if strings.Contains(out, h) {
					t.Errorf("has %q:\n%s", h, out)
				}
			}
		})
	}
}

func TestETagRevalidation(t *testing.T) {
	out := fetch(t, get("/static/css/site.css"))
	i := strings.Index(out, "ETag: ")
	etag := out[i+6 : i+6+strings.Index(out[i+6:], "\r\n")]
	if got := fetch(t, get("/static/css/site.css", "If-None-Match: "+etag+"\r\n")); !strings.Contains(got, "304 Not Modified") {
		t.Fatalf("matching ETag:\n%s", got)
	}
	if got := fetch(t, get("/static/css/site.css", "If-None-Match: \"other\"\r\n")); !strings.Contains(got, "200 OK") {
		t.Fatalf("other ETag:\n%s", got)
	}
}
