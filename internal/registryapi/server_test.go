/*
Copyright 2026 The mcp-registry-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package registryapi_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"

	"github.com/toolregistry/mcp-registry-operator/internal/registryapi"
	"github.com/toolregistry/mcp-registry-operator/internal/registryapi/openapitest"
)

// With a certificate (--registry-cert-path), the registry serves HTTPS only, HTTP/1.1 unless
// asked for HTTP/2, and answers as over HTTP.
func TestServerTLS(t *testing.T) {
	// httptest's certificate, valid for 127.0.0.1, written as a mounted Secret would be.
	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	ts.StartTLS()
	cert := ts.TLS.Certificates[0]
	ts.Close()
	dir := t.TempDir()
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{
		"tls.crt": {Type: "CERTIFICATE", Bytes: cert.Certificate[0]},
		"tls.key": {Type: "PRIVATE KEY", Bytes: key},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	certs, err := certwatcher.New(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	handler := registryapi.New(registryapi.Options{Reader: newClient(t, server("tools", "github")), NamePrefix: "com.example"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- (&registryapi.Server{Addr: addr, Handler: handler, Log: logr.Discard(), Certs: certs}).Start(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	})

	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	var resp *http.Response
	for deadline := time.Now().Add(10 * time.Second); ; {
		if resp, err = c.Get("https://" + addr + "/v0.1/servers"); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	openapitest.Validate(t, resp.Request, resp.StatusCode, resp.Header, body)
	if resp.StatusCode != http.StatusOK || resp.TLS == nil || resp.Proto != "HTTP/1.1" {
		t.Errorf("HTTPS: %d %s over %s, TLS %v", resp.StatusCode, body, resp.Proto, resp.TLS != nil)
	}
	// Plain HTTP is refused (Go's TLS server answers 400 to an HTTP request).
	if plain, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/v0.1/servers"); err == nil {
		_ = plain.Body.Close()
		if plain.StatusCode == http.StatusOK {
			t.Errorf("plain HTTP answered %d", plain.StatusCode)
		}
	}
}
