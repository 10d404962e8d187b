package main

import (
	"bytes"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/gnetty/gnetty/internal/nodetest"
	"github.com/gnetty/gnetty/internal/tlstest"
)

// startTLS runs the echo over wss:// with a test CA's certificate.
func startTLS(t *testing.T) (*tlstest.Certs, string) {
	t.Helper()
	certs := tlstest.New(t)
	_, addr := startWith(t, certs.ServerConfig())
	return certs, addr
}

func TestGorillaOverWSS(t *testing.T) {
	certs, addr := startTLS(t)
	for _, compress := range []bool{false, true} {
		d := websocket.Dialer{EnableCompression: compress, HandshakeTimeout: 5 * time.Second, TLSClientConfig: certs.ClientConfig()}
		c, resp, err := d.Dial("wss://"+addr+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Header.Get("Sec-WebSocket-Extensions"); compress != strings.Contains(got, "permessage-deflate") {
			t.Fatalf("compress=%v: extensions %q", compress, got)
		}
		if st, ok := c.NetConn().(*tls.Conn); !ok || st.ConnectionState().Version != tls.VersionTLS13 {
			t.Fatalf("not TLS 1.3: %T", c.NetConn())
		}
		c.EnableWriteCompression(compress)
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		for _, m := range []struct {
			typ  int
			data []byte
		}{
			{websocket.TextMessage, []byte("hello")},
			{websocket.TextMessage, []byte(strings.Repeat("héllo wörld ", 80_000))},
			{websocket.BinaryMessage, bytes.Repeat([]byte{7, 8, 9}, 350_000)},
		} {
			echoed(t, c, m.typ, m.data)
		}
		_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4000, "bye"))
		if _, _, err := c.ReadMessage(); !websocket.IsCloseError(err, 4000) {
			t.Fatalf("close: %v", err)
		}
		c.Close()
	}
}

func TestNodeWsOverWSS(t *testing.T) {
	certs, addr := startTLS(t)
	for _, mode := range []string{"plain", "deflate"} {
		res := nodetest.Run(t, "wss_client.mjs", "wss://"+addr+"/", certs.CAFile, mode)
		if res["code"] != float64(4001) || len(res["seen"].([]any)) != 4 {
			t.Fatalf("node ws %s: %v", mode, res)
		}
		if ext, _ := res["extensions"].(string); (mode == "deflate") != strings.Contains(ext, "permessage-deflate") {
			t.Fatalf("node ws %s: extensions %q", mode, ext)
		}
		if res["protocol"] != "TLSv1.3" {
			t.Fatalf("node ws %s: %v", mode, res["protocol"])
		}
	}
}
