package server

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const testSecret = "0123456789abcdef0123456789abcdef" // 32 bytes

func TestJWTVerifier(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	pubPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	secret, aud, iss := testSecret, json.RawMessage(`"api"`), "issuer"
	now := time.Now()
	hs := func(c jwt.MapClaims) string {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(testSecret))
		return s
	}
	rs := func(c jwt.MapClaims) string {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, c).SignedString(rsaKey)
		return s
	}
	good := func() jwt.MapClaims {
		return jwt.MapClaims{"user_id": 7, "aud": "api", "iss": "issuer", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
	}
	with := func(k string, v any) jwt.MapClaims { c := good(); c[k] = v; return c }
	without := func(k string) jwt.MapClaims { c := good(); delete(c, k); return c }
	none := func(c jwt.MapClaims) string {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
		return s
	}
	// HS/RS confusion: an HS256 token signed with the RSA public key as secret.
	confused, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, good()).SignedString([]byte(pubPEM))
	tamper := func(tok string) string {
		p := strings.Split(tok, ".")
		body, _ := base64.RawURLEncoding.DecodeString(p[1])
		body = []byte(strings.Replace(string(body), `"user_id":7`, `"user_id":1`, 1))
		p[1] = base64.RawURLEncoding.EncodeToString(body)
		return strings.Join(p, ".")
	}
	for _, family := range []struct {
		name string
		cfg  JWTConfig
		sign func(jwt.MapClaims) string
	}{
		{"HS256", JWTConfig{SecretKey: &secret, Algorithms: []string{"HS256"}, Audience: aud, Issuer: &iss, RequiredClaims: []string{"user_id"}}, hs},
		{"RS256", JWTConfig{PublicKey: &pubPEM, Algorithms: []string{"RS256"}, Audience: aud, Issuer: &iss, RequiredClaims: []string{"user_id"}}, rs},
	} {
		v, err := newJWTVerifier(&family.cfg)
		if err != nil {
			t.Fatal(err)
		}
		other := hs
		if family.name == "HS256" {
			other = rs
		}
		tests := []struct {
			name, token string
			ok          bool
		}{
			{"valid", family.sign(good()), true},
			{"alg none", none(good()), false},
			{"other algorithm", other(good()), false},
			{"hs with public key as secret", confused, false},
			{"expired", family.sign(with("exp", now.Add(-time.Minute).Unix())), false},
			{"not yet valid", family.sign(with("nbf", now.Add(time.Hour).Unix())), false},
			{"issued in the future", family.sign(with("iat", now.Add(time.Hour).Unix())), false},
			{"wrong audience", family.sign(with("aud", "other")), false},
			{"audience list ok", family.sign(with("aud", []string{"x", "api"})), true},
			{"wrong issuer", family.sign(with("iss", "evil")), false},
			{"missing required", family.sign(without("user_id")), false},
			{"tampered", tamper(family.sign(good())), false},
			{"garbage", "not.a.token", false},
			{"empty parts", "..", false},
			{"sub not string", family.sign(with("sub", 5)), false},
		}
		for _, tt := range tests {
			t.Run(family.name+"/"+tt.name, func(t *testing.T) {
				claims, reason := v.verify(tt.token)
				if (reason == "") != tt.ok {
					t.Fatalf("reason = %q; want ok %v", reason, tt.ok)
				}
				if tt.ok && !strings.Contains(string(claims), `"user_id":7`) {
					t.Errorf("claims = %s", claims)
				}
				if strings.Contains(reason, tt.token) && tt.token != "" {
					t.Errorf("reason echoes the token")
				}
			})
		}
	}
	t.Run("leeway", func(t *testing.T) {
		cfg := JWTConfig{SecretKey: &secret, Algorithms: []string{"HS256"}, Leeway: 120}
		v, _ := newJWTVerifier(&cfg)
		c := jwt.MapClaims{"exp": now.Add(-time.Minute).Unix()}
		if _, reason := v.verify(hs(c)); reason != "" {
			t.Errorf("expired within leeway refused: %s", reason)
		}
		if _, reason := v.verify(hs(jwt.MapClaims{"aud": "api"})); reason == "" {
			t.Error("token with aud accepted while no audience is configured")
		}
	})
}

func TestJWTConfigErrors(t *testing.T) {
	short, secret, junk := "short", testSecret, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
	tests := []struct {
		name string
		cfg  JWTConfig
	}{
		{"short secret", JWTConfig{SecretKey: &short, Algorithms: []string{"HS256"}}},
		{"hs512 needs 64", JWTConfig{SecretKey: &secret, Algorithms: []string{"HS512"}}},
		{"none", JWTConfig{SecretKey: &secret, Algorithms: []string{"none"}}},
		{"mixed families", JWTConfig{SecretKey: &secret, Algorithms: []string{"HS256", "RS256"}}},
		{"bad public key", JWTConfig{PublicKey: &junk, Algorithms: []string{"RS256"}}},
		{"no algorithms", JWTConfig{SecretKey: &secret}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := newJWTVerifier(&tt.cfg); err == nil {
				t.Error("accepted; want a start-up error")
			}
		})
	}
}
