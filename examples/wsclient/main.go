// Command wsclient is a WebSocket client in the manner of wscat, built on
// websocket.Dial: every line of standard input is sent as a text
// message, every message that arrives is written to standard output (a
// text message as it is, a binary one as "binary: " and its hex). At the
// end of input it waits for replies until none has come for -wait (1 s),
// then sends close 1000 and waits for the server's answer.
//
//	go run ./examples/wsclient -url ws://127.0.0.1:9001/
//	go run ./examples/wsclient -url wss://example.com/chat -ca ca.pem -H 'Cookie: sid=...' -subprotocol chat.v1 -compress
//
// Its exit status tells how the connection ended: 0 after a close
// handshake with 1000 (normal) or 1001 (going away), 1 when the dial or
// the handshake failed (the server's status and the start of its answer
// go to standard error), 2 on bad flags, 3 when the connection was lost
// or closed with any other code.
//
// With -autobahn it is the client under test of the Autobahn TestSuite's
// fuzzing server (wstest -m fuzzingserver): it asks the server for the
// number of cases, runs each one (echoing every message, permessage-deflate
// offered), and asks the server to write its reports for -agent.
//
//	go run ./examples/wsclient -autobahn ws://127.0.0.1:9001 -agent gnetty
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/handler/ws/upgrade"
	"github.com/gnetty/gnetty/internal/logflag"
	"github.com/gnetty/gnetty/preset/websocket"
)

// Exit statuses.
const (
	exitOK       = 0
	exitDial     = 1
	exitUsage    = 2
	exitAbnormal = 3
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// headers is a repeatable -H flag.
type headers http.Header

func (h headers) String() string { return "" }

func (h headers) Set(s string) error {
	name, value, ok := strings.Cut(s, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("want 'Name: value', got %q", s)
	}
	http.Header(h).Add(strings.TrimSpace(name), strings.TrimSpace(value))
	return nil
}

// run is the command with its streams, so tests run it in process.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wsclient", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rawURL := fs.String("url", "", "ws:// or wss:// URL to connect to")
	hdr := headers{}
	fs.Var(hdr, "H", "a header field for the upgrade request, 'Name: value' (repeatable)")
	origin := fs.String("origin", "", "Origin to send")
	subprotocols := fs.String("subprotocol", "", "subprotocols to offer, comma-separated, in order of preference")
	compress := fs.Bool("compress", false, "offer permessage-deflate")
	caFile := fs.String("ca", "", "PEM file of the CA certificates to trust for wss:// (default: the system's)")
	insecure := fs.Bool("insecure", false, "skip the wss:// certificate check (tests only)")
	ping := fs.Duration("ping", 25*time.Second, "send a ping after this much silence")
	maxMessage := fs.Int("max-message", 1<<20, "largest message accepted, bytes")
	timeout := fs.Duration("timeout", 10*time.Second, "bound on the connection and the handshake")
	wait := fs.Duration("wait", time.Second, "at the end of input, close once no message has come for this long")
	autobahn := fs.String("autobahn", "", "run the Autobahn TestSuite's cases against this fuzzing server URL (ws://host:port)")
	agent := fs.String("agent", "gnetty", "agent name for -autobahn's reports")
	logFlags := logflag.Add(fs)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	logger, err := logFlags.Logger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "wsclient:", err)
		return exitUsage
	}
	slog.SetDefault(logger) // gnetty's own log lines (the shared client loops log through it)
	if *autobahn != "" {
		if err := runAutobahn(*autobahn, *agent, stdout); err != nil {
			fmt.Fprintln(stderr, "wsclient:", err)
			return exitDial
		}
		return exitOK
	}
	if *rawURL == "" && fs.NArg() == 1 {
		*rawURL = fs.Arg(0)
	}
	if *rawURL == "" {
		fmt.Fprintln(stderr, "wsclient: -url is required")
		fs.Usage()
		return exitUsage
	}
	cfg := websocket.DialConfig{
		Header: http.Header(hdr), Origin: *origin, Compression: *compress, ContextTakeover: true,
		Frame:            wsframe.Config{MaxMessageSize: *maxMessage},
		HandshakeTimeout: *timeout, PingInterval: *ping,
	}
	if *subprotocols != "" {
		for _, p := range strings.Split(*subprotocols, ",") {
			cfg.Subprotocols = append(cfg.Subprotocols, strings.TrimSpace(p))
		}
	}
	if *caFile != "" || *insecure {
		cfg.TLS = &tls.Config{InsecureSkipVerify: *insecure}
		if *caFile != "" {
			pem, err := os.ReadFile(*caFile)
			if err != nil {
				fmt.Fprintln(stderr, "wsclient: -ca:", err)
				return exitUsage
			}
			cfg.TLS.RootCAs = x509.NewCertPool()
			if !cfg.TLS.RootCAs.AppendCertsFromPEM(pem) {
				fmt.Fprintf(stderr, "wsclient: -ca: no certificate in %s\n", *caFile)
				return exitUsage
			}
		}
	}
	return session(*rawURL, cfg, *wait, stdin, stdout, stderr)
}

// ended is how a connection closed.
type ended struct {
	code   websocket.StatusCode
	reason string
}

// session connects, sends stdin's lines, prints what arrives and returns
// the exit status.
func session(rawURL string, cfg websocket.DialConfig, wait time.Duration, stdin io.Reader, stdout, stderr io.Writer) int {
	// The callbacks run on the client's event loop: they hand everything
	// to this goroutine, which alone writes to stdout.
	msgs := make(chan string, 256)
	closed := make(chan ended, 1)
	cfg.Handler = websocket.Funcs{
		Message: func(c *websocket.Conn, typ websocket.MessageType, data []byte) {
			if typ == websocket.Binary {
				msgs <- "binary: " + hex.EncodeToString(data)
			} else {
				msgs <- string(data)
			}
		},
		Close: func(c *websocket.Conn, code websocket.StatusCode, reason string) {
			closed <- ended{code, reason}
		},
	}
	c, hs, err := websocket.Dial(context.Background(), rawURL, cfg)
	if err != nil {
		var he *upgrade.HandshakeError
		if errors.As(err, &he) && he.Status != 0 {
			fmt.Fprintf(stderr, "wsclient: the server refused: %d %s\n", he.Status, he.Reason)
			if len(he.Body) > 0 {
				fmt.Fprintf(stderr, "%s\n", he.Body)
			}
		} else {
			fmt.Fprintln(stderr, "wsclient:", err)
		}
		return exitDial
	}
	fmt.Fprintf(stderr, "wsclient: connected to %s (subprotocol %q, compression %v)\n", rawURL, hs.Subprotocol, hs.Compressed)
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	in := lines
	var quiet *time.Timer // after the input: no reply for wait
	var quietC <-chan time.Time
	for {
		select {
		case m := <-msgs:
			fmt.Fprintln(stdout, m)
			if quiet != nil {
				quiet.Reset(wait)
			}
		case line, ok := <-in:
			if !ok {
				in = nil
				quiet = time.NewTimer(wait)
				quietC = quiet.C
				continue
			}
			if err := c.WriteText(line); err != nil {
				fmt.Fprintln(stderr, "wsclient:", err)
			}
		case <-quietC:
			quietC = nil
			c.Close(websocket.StatusNormalClosure, "")
		case e := <-closed:
			for len(msgs) > 0 { // what arrived before the close
				fmt.Fprintln(stdout, <-msgs)
			}
			fmt.Fprintf(stderr, "wsclient: closed: %d %s\n", e.code, e.reason)
			if e.code == websocket.StatusNormalClosure || e.code == websocket.StatusGoingAway {
				return exitOK
			}
			return exitAbnormal
		}
	}
}

// runAutobahn plays the client's part of the Autobahn TestSuite.
func runAutobahn(base, agent string, stdout io.Writer) error {
	base = strings.TrimSuffix(base, "/")
	// getCaseCount answers with one text message.
	count := -1
	if err := autobahnCall(base+"/getCaseCount", func(c *websocket.Conn, data []byte) {
		count, _ = strconv.Atoi(string(data))
	}); err != nil {
		return fmt.Errorf("getCaseCount: %w", err)
	}
	if count < 0 {
		return errors.New("getCaseCount: no count")
	}
	q := url.QueryEscape(agent)
	for i := 1; i <= count; i++ {
		err := autobahnCall(fmt.Sprintf("%s/runCase?case=%d&agent=%s", base, i, q), nil)
		if err != nil {
			var he *upgrade.HandshakeError
			if !errors.As(err, &he) { // a refused case is the case's result; no server is not
				return fmt.Errorf("case %d: %w", i, err)
			}
		}
		fmt.Fprintf(stdout, "case %d/%d\n", i, count)
	}
	if err := autobahnCall(base+"/updateReports?agent="+q, nil); err != nil {
		return fmt.Errorf("updateReports: %w", err)
	}
	return nil
}

// autobahnCall connects to one fuzzing server URL, echoes every message
// (or hands it to got) and waits for the connection to end.
func autobahnCall(rawURL string, got func(c *websocket.Conn, data []byte)) error {
	done := make(chan struct{})
	h := websocket.Funcs{
		Message: func(c *websocket.Conn, typ websocket.MessageType, data []byte) {
			if got != nil {
				got(c, data)
				return
			}
			_ = c.WriteMessage(typ, data)
		},
		Close: func(*websocket.Conn, websocket.StatusCode, string) { close(done) },
	}
	_, _, err := websocket.Dial(context.Background(), rawURL, websocket.DialConfig{
		Handler: h, Compression: true, ContextTakeover: true,
		// The cases send messages of up to 16 MiB.
		Frame: wsframe.Config{MaxMessageSize: 64 << 20},
	})
	if err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-time.After(5 * time.Minute):
		return errors.New("the case did not end within 5 minutes")
	}
}
