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
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// assertionLifetime is how long a client assertion is valid: short, as RFC 7523 section 3 asks.
const assertionLifetime = time.Minute

// ClientAssertionType is the client_assertion_type of RFC 7523 section 2.2.
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// SigningKey is a private key for private_key_jwt: RSA (RS256, at least 2048 bits) or P-256
// ECDSA (ES256).
type SigningKey struct {
	signer crypto.Signer
	alg    string
	keyID  string
}

// Algorithm is the JWS alg the key signs with.
func (k *SigningKey) Algorithm() string { return k.alg }

// ParseSigningKey reads a PEM private key: PKCS #8, PKCS #1 (RSA) or SEC 1 (EC).
func ParseSigningKey(pemBytes []byte, keyID string) (*SigningKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key (want PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot parse the %s: %v", block.Type, err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("the RSA key has %d bits; RS256 needs at least 2048", k.N.BitLen())
		}
		return &SigningKey{signer: k, alg: "RS256", keyID: keyID}, nil
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("the EC key is on %s; ES256 needs P-256", k.Curve.Params().Name)
		}
		return &SigningKey{signer: k, alg: "ES256", keyID: keyID}, nil
	}
	return nil, fmt.Errorf("a %T key cannot sign RS256 or ES256", key)
}

// assertionClaims are the claims of a client assertion (RFC 7523 section 3).
type assertionClaims struct {
	Issuer    string `json:"iss"`
	Subject   string `json:"sub"`
	Audience  string `json:"aud"`
	JWTID     string `json:"jti"`
	IssuedAt  int64  `json:"iat"`
	NotBefore int64  `json:"nbf"`
	Expiry    int64  `json:"exp"`
}

// assertion signs a client assertion for clientID, addressed to audience (the authorization
// server's issuer identifier), valid for one minute from now, with a random jti.
func (k *SigningKey) assertion(clientID, audience string, now time.Time) (string, error) {
	header := map[string]string{"alg": k.alg, "typ": "JWT"}
	if k.keyID != "" {
		header["kid"] = k.keyID
	}
	jti := make([]byte, 18)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	claims := assertionClaims{
		Issuer: clientID, Subject: clientID, Audience: audience,
		JWTID:    base64.RawURLEncoding.EncodeToString(jti),
		IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: now.Add(assertionLifetime).Unix(),
	}
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signingInput := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	digest := sha256.Sum256([]byte(signingInput))
	var sig []byte
	switch key := k.signer.(type) {
	case *rsa.PrivateKey:
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	case *ecdsa.PrivateKey:
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand.Reader, key, digest[:])
		if err == nil {
			// JWS wants the 64-byte concatenation R || S (RFC 7518 section 3.4), not ASN.1.
			sig = make([]byte, 64)
			r.FillBytes(sig[:32])
			s.FillBytes(sig[32:])
		}
	default:
		err = fmt.Errorf("unsupported key %T", k.signer)
	}
	if err != nil {
		return "", fmt.Errorf("cannot sign the client assertion: %w", err)
	}
	return signingInput + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
