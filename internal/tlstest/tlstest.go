// Package tlstest makes a throwaway certificate authority and a server
// certificate for 127.0.0.1, ::1 and localhost (ECDSA P-256), for tests
// that run real TLS clients: Go's, curl, openssl, Node and Chromium.
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Certs is a CA and a server certificate it signed, as Go values and as
// PEM files in a temporary directory.
type Certs struct {
	CA     *x509.CertPool
	Server tls.Certificate
	// Files: CAFile (the CA certificate), CertFile and KeyFile (the
	// server's certificate and key).
	CAFile, CertFile, KeyFile string
	Dir                       string

	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
}

// New makes a CA and a server certificate valid for an hour (names:
// localhost, 127.0.0.1, ::1, and any in extra).
func New(tb testing.TB, extra ...string) *Certs {
	tb.Helper()
	dir := tb.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gnetty test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	c := &Certs{CA: x509.NewCertPool(), Dir: dir}
	c.CA.AddCert(caCert)
	c.Server, c.CertFile, c.KeyFile = Leaf(tb, caCert, caKey, dir, "server", append([]string{"localhost", "127.0.0.1", "::1"}, extra...)...)
	c.CAFile = filepath.Join(dir, "ca.pem")
	writePEM(tb, c.CAFile, "CERTIFICATE", caDER)
	c.caCert, c.caKey = caCert, caKey
	return c
}

// Sign makes another certificate from the same CA, for names (a second
// SNI name, a client certificate).
func (c *Certs) Sign(tb testing.TB, file string, names ...string) (tls.Certificate, string, string) {
	return Leaf(tb, c.caCert, c.caKey, c.Dir, file, names...)
}

// Leaf makes a certificate for names signed by ca, written to dir as
// file.pem and file-key.pem.
func Leaf(tb testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey, dir, file string, names ...string) (tls.Certificate, string, string) {
	tb.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: names[0]},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := filepath.Join(dir, file+".pem"), filepath.Join(dir, file+"-key.pem")
	writePEM(tb, certFile, "CERTIFICATE", der)
	writePEM(tb, keyFile, "EC PRIVATE KEY", keyDER)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		tb.Fatal(err)
	}
	return cert, certFile, keyFile
}

func writePEM(tb testing.TB, file, typ string, der []byte) {
	tb.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
}

// ServerConfig is a server configuration with the certificate, offering
// ALPN http/1.1.
func (c *Certs) ServerConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{c.Server}, NextProtos: []string{"http/1.1"}}
}

// ClientConfig trusts the CA.
func (c *Certs) ClientConfig() *tls.Config {
	return &tls.Config{RootCAs: c.CA, ServerName: "127.0.0.1"}
}
