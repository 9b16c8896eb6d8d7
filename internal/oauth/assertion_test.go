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

package oauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"
)

// Keys are generated once: RSA generation is slow under the race detector.
var (
	keysOnce sync.Once
	rsaKey   *rsa.PrivateKey
	ecKey    *ecdsa.PrivateKey
)

func testKeys(t *testing.T) (*rsa.PrivateKey, *ecdsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
	})
	return rsaKey, ecKey
}

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pkcs8PEM(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pemOf("PRIVATE KEY", der)
}

func sec1PEM(t *testing.T, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pemOf("EC PRIVATE KEY", der)
}

func TestParseSigningKey(t *testing.T) {
	rsaK, ecK := testKeys(t)
	tests := []struct {
		name    string
		pem     func(t *testing.T) []byte
		alg     string
		wantErr string
	}{
		{name: "PKCS#8 RSA", pem: func(t *testing.T) []byte { return pkcs8PEM(t, rsaK) }, alg: "RS256"},
		{name: "PKCS#1 RSA", pem: func(*testing.T) []byte { return pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaK)) }, alg: "RS256"},
		{name: "SEC 1 EC P-256", pem: func(t *testing.T) []byte { return sec1PEM(t, ecK) }, alg: "ES256"},
		{name: "PKCS#8 EC P-256", pem: func(t *testing.T) []byte { return pkcs8PEM(t, ecK) }, alg: "ES256"},
		{
			name: "PEM after leading text",
			pem:  func(t *testing.T) []byte { return append([]byte("a comment\n"), sec1PEM(t, ecK)...) },
			alg:  "ES256",
		},
		{
			name: "RSA 1024",
			pem: func(t *testing.T) []byte {
				k, err := rsa.GenerateKey(rand.Reader, 1024)
				if err != nil {
					t.Skipf("cannot generate a 1024-bit key here: %v", err)
				}
				return pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k))
			},
			wantErr: "at least 2048",
		},
		{
			name: "EC P-384",
			pem: func(t *testing.T) []byte {
				k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				return sec1PEM(t, k)
			},
			wantErr: "P-256",
		},
		{
			name: "ed25519",
			pem: func(t *testing.T) []byte {
				_, k, err := ed25519.GenerateKey(rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				return pkcs8PEM(t, k)
			},
			wantErr: "cannot sign RS256 or ES256",
		},
		{name: "garbage", pem: func(*testing.T) []byte { return []byte("not a key at all") }, wantErr: "no PEM block"},
		{name: "empty", pem: func(*testing.T) []byte { return nil }, wantErr: "no PEM block"},
		{name: "garbage in a PRIVATE KEY block", pem: func(*testing.T) []byte { return pemOf("PRIVATE KEY", []byte("junk")) }, wantErr: "cannot parse"},
		{name: "RSA block holding an EC key", pem: func(t *testing.T) []byte {
			der, err := x509.MarshalECPrivateKey(ecK)
			if err != nil {
				t.Fatal(err)
			}
			return pemOf("RSA PRIVATE KEY", der)
		}, wantErr: "cannot parse"},
		{
			name: "certificate",
			pem: func(t *testing.T) []byte {
				tmpl := &x509.Certificate{
					SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
					NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<32, 0),
				}
				der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ecK.PublicKey, ecK)
				if err != nil {
					t.Fatal(err)
				}
				return pemOf("CERTIFICATE", der)
			},
			wantErr: `"CERTIFICATE" is not a private key`,
		},
		{name: "public key", pem: func(t *testing.T) []byte {
			der, err := x509.MarshalPKIXPublicKey(&ecK.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			return pemOf("PUBLIC KEY", der)
		}, wantErr: "is not a private key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := tt.pem(t)
			k, err := ParseSigningKey(raw, "kid-1")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if k != nil {
					t.Errorf("a key with the error: %+v", k)
				}
				assertNoSecrets(t, "the error", err.Error(), string(raw))
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.Algorithm() != tt.alg {
				t.Errorf("alg %s, want %s", k.Algorithm(), tt.alg)
			}
		})
	}
}

// jwtParts decodes a compact JWS and checks its signature with pub.
func verifyJWT(t *testing.T, token string, pub crypto.PublicKey) (header map[string]string, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("a JWS has 3 parts, got %d: %q", len(parts), token)
	}
	decode := func(s string) []byte {
		t.Helper()
		if strings.ContainsAny(s, "=+/") {
			t.Fatalf("not unpadded base64url: %q", s)
		}
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("base64url: %v", err)
		}
		return b
	}
	if err := json.Unmarshal(decode(parts[0]), &header); err != nil {
		t.Fatalf("header: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(decode(parts[1]))))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil {
		t.Fatalf("claims: %v", err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	sig := decode(parts[2])
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		if header["alg"] != "RS256" {
			t.Fatalf("alg %q for an RSA key", header["alg"])
		}
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
			t.Fatalf("RS256 signature: %v", err)
		}
	case *ecdsa.PublicKey:
		if header["alg"] != "ES256" {
			t.Fatalf("alg %q for an EC key", header["alg"])
		}
		if len(sig) != 64 {
			t.Fatalf("ES256 signature of %d bytes, want 64 (R || S)", len(sig))
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(pub, digest[:], r, s) {
			t.Fatal("ES256 signature does not verify")
		}
	default:
		t.Fatalf("unexpected key %T", pub)
	}
	return header, claims
}

func claimInt(t *testing.T, claims map[string]any, name string) int64 {
	t.Helper()
	n, ok := claims[name].(json.Number)
	if !ok {
		t.Fatalf("claim %s = %#v, want a number", name, claims[name])
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatalf("claim %s = %v, want an integer", name, n)
	}
	return i
}

func TestAssertion(t *testing.T) {
	rsaK, ecK := testKeys(t)
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	const issuer = "https://as.example.com/tenant"
	tests := []struct {
		name  string
		pem   []byte
		kid   string
		pub   crypto.PublicKey
		alg   string
		clnID string
	}{
		{name: "RS256 with kid", pem: pkcs8PEM(t, rsaK), kid: "rsa-1", pub: &rsaK.PublicKey, alg: "RS256", clnID: "client-rsa"},
		{name: "RS256 without kid", pem: pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaK)), pub: &rsaK.PublicKey, alg: "RS256", clnID: "c"},
		{name: "ES256 with kid", pem: sec1PEM(t, ecK), kid: "ec-1", pub: &ecK.PublicKey, alg: "ES256", clnID: "client-ec"},
		{name: "ES256 without kid", pem: pkcs8PEM(t, ecK), pub: &ecK.PublicKey, alg: "ES256", clnID: "client with spaces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseSigningKey(tt.pem, tt.kid)
			if err != nil {
				t.Fatal(err)
			}
			jtis := map[string]bool{}
			for i := range 8 { // ES256 signatures are randomised: several rounds exercise R, S padding
				tok, err := k.assertion(tt.clnID, issuer, now)
				if err != nil {
					t.Fatal(err)
				}
				header, claims := verifyJWT(t, tok, tt.pub)
				if header["alg"] != tt.alg || header["typ"] != "JWT" {
					t.Errorf("header %v", header)
				}
				kid, hasKid := header["kid"]
				if tt.kid == "" && hasKid {
					t.Errorf("kid %q without a key id", kid)
				}
				if tt.kid != "" && kid != tt.kid {
					t.Errorf("kid %q, want %q", kid, tt.kid)
				}
				if claims["iss"] != tt.clnID || claims["sub"] != tt.clnID {
					t.Errorf("iss %v, sub %v; want %q", claims["iss"], claims["sub"], tt.clnID)
				}
				if claims["aud"] != issuer {
					t.Errorf("aud %v, want %q", claims["aud"], issuer)
				}
				iat, nbf, exp := claimInt(t, claims, "iat"), claimInt(t, claims, "nbf"), claimInt(t, claims, "exp")
				if iat != now.Unix() || nbf != now.Unix() {
					t.Errorf("iat %d, nbf %d; want %d", iat, nbf, now.Unix())
				}
				if exp-iat != 60 {
					t.Errorf("exp - iat = %d s, want 60", exp-iat)
				}
				jti, _ := claims["jti"].(string)
				if len(jti) < 16 {
					t.Errorf("jti %q too short", jti)
				}
				if jtis[jti] {
					t.Errorf("jti %q repeated on call %d", jti, i)
				}
				jtis[jti] = true
			}
		})
	}
}

func TestAssertionWrongKeyDoesNotVerify(t *testing.T) {
	_, ecK := testKeys(t)
	k, err := ParseSigningKey(sec1PEM(t, ecK), "")
	if err != nil {
		t.Fatal(err)
	}
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := k.assertion("c", "https://as", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if ecdsa.Verify(&other.PublicKey, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("verified with another key: the check is vacuous")
	}
}

// An ES256 signature whose R (or S) is shorter than 32 bytes is left-padded, not shifted: about
// one signature in 256 has a leading zero byte in R, as many in S. Every signature with a zero byte
// at either end of either half is verified (a shifted one would show its zero at the far end).
func TestAssertionES256ShortComponent(t *testing.T) {
	_, ecK := testKeys(t)
	k, err := ParseSigningKey(sec1PEM(t, ecK), "")
	if err != nil {
		t.Fatal(err)
	}
	for range 3000 {
		tok, err := k.assertion("c", "https://as", t0)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := base64.RawURLEncoding.DecodeString(tok[strings.LastIndexByte(tok, '.')+1:])
		if err != nil || len(sig) != 64 {
			t.Fatalf("signature of %d bytes, %v", len(sig), err)
		}
		if sig[0] == 0 || sig[31] == 0 || sig[32] == 0 || sig[63] == 0 {
			verifyJWT(t, tok, &ecK.PublicKey)
		}
	}
}
