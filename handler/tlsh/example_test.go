package tlsh_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"time"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/frame"
	"github.com/gnetty/gnetty/handler/tlsh"
	"github.com/gnetty/gnetty/pipeline"
)

// A line echo server over TLS: Initializer puts the TLS handler first on
// every channel, and the handlers after it see plaintext.
func ExampleInitializer() {
	cert, pool := selfSigned()
	srv, err := bootstrap.New(bootstrap.Config{
		Addrs: []string{"127.0.0.1:0"}, Workers: 1, Logger: slog.New(slog.DiscardHandler),
		Initializer: tlsh.Initializer(tlsh.Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}}, func(ch *pipeline.Channel) {
			p := ch.Pipeline()
			_ = p.AddLast("lines", frame.NewLineDecoder(frame.LineConfig{}))
			_ = p.AddLast("strings", frame.NewStringCodec(frame.StringConfig{Delimiter: "\n"}))
			_ = p.AddLast("echo", pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
				state := tlsh.FromChannel(ctx.Channel()).State()
				ctx.WriteAndFlush(fmt.Sprintf("%s over %s\n", msg, tls.VersionName(state.Version)))
			}))
		}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := srv.Start(); err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown(context.Background())
	c, err := tls.Dial("tcp", srv.Addrs()[0].String(), &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	fmt.Fprint(c, "hello\n")
	line, _ := bufio.NewReader(c).ReadString('\n')
	fmt.Print(line)
	// Output: hello over TLS 1.3
}

// selfSigned makes a certificate for localhost and a pool that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
