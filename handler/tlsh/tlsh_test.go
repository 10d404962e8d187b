package tlsh_test

import (
	"crypto/tls"
	"os"
	"testing"
	"time"

	"github.com/gnetty/gnetty/handler/tlsh"
	"github.com/gnetty/gnetty/internal/tlstest"
)

func TestCertFileReloadsWhenTheFilesChange(t *testing.T) {
	certs := tlstest.New(t)
	_, certB, keyB := certs.Sign(t, "renewed", "renewed.test")
	cf, err := tlsh.NewCertFile(certs.CertFile, certs.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func() string {
		c, err := cf.GetCertificate(&tls.ClientHelloInfo{})
		if err != nil {
			t.Fatal(err)
		}
		return c.Leaf.Subject.CommonName
	}
	if got := leaf(); got != "localhost" {
		t.Fatalf("serving %q", got)
	}
	// A broken renewal keeps the last good certificate.
	if err := os.WriteFile(certs.CertFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cf.Reload(); err == nil {
		t.Fatal("a broken pair loaded")
	}
	if got := leaf(); got != "localhost" {
		t.Fatalf("after a broken renewal serving %q", got)
	}
	// The renewed pair is picked up without a call, within a second or so.
	for _, f := range [][2]string{{certB, certs.CertFile}, {keyB, certs.KeyFile}} {
		b, _ := os.ReadFile(f[0])
		if err := os.WriteFile(f[1], b, 0o600); err != nil {
			t.Fatal(err)
		}
		later := time.Now().Add(2 * time.Second)
		_ = os.Chtimes(f[1], later, later) // a new modification time even on a coarse clock
	}
	deadline := time.Now().Add(20 * time.Second)
	for leaf() != "renewed.test" {
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate was never served")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if cf.Err() != nil {
		t.Fatal(cf.Err())
	}
}
