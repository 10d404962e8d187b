package httpclient_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gnetty/gnetty/preset/httpclient"
)

// A GET and a POST on one keep-alive connection.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.Method, r.URL.Path)
	}))
	defer srv.Close()

	c, err := httpclient.New(httpclient.Config{})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	resp, err := c.Get(context.Background(), srv.URL+"/health")
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Status, string(resp.Body))
	resp, err = c.Post(context.Background(), srv.URL+"/hook", "application/json", []byte(`{"event":"deploy"}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Status, string(resp.Body))
	// Output:
	// 200 GET /health
	// 200 POST /hook
}
