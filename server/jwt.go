package server

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// JWTConfig is a route's JWTBearer configuration (docs/protocol.md §2.1).
type JWTConfig struct {
	SecretKey      *string         `json:"secret_key"`
	PublicKey      *string         `json:"public_key"`
	Algorithms     []string        `json:"algorithms"`
	Audience       json.RawMessage `json:"audience"` // string, [string] or null
	Issuer         *string         `json:"issuer"`
	Leeway         float64         `json:"leeway"`
	RequiredClaims []string        `json:"required_claims"`
}

// claimsHeader carries verified claims to Python. Client-sent copies are
// always removed first, so only the edge can set it.
const claimsHeader = "X-Gofastapi-Jwt-Claims"

// jwtVerifier checks bearer tokens for one route before Python runs, which
// is also what makes RS/ES/EdDSA work in sub-interpreters. Safe for
// concurrent use.
type jwtVerifier struct {
	parser   *jwt.Parser
	key      any // []byte for HMAC, a public key otherwise
	audience []string
	issuer   string
	required []string
	leeway   float64 // seconds
	now      func() time.Time
}

var (
	hmacAlgs   = []string{"HS256", "HS384", "HS512"}
	publicAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
	minSecret  = map[string]int{"HS256": 32, "HS384": 48, "HS512": 64}
)

// newJWTVerifier validates c; a bad configuration is a start-up error.
func newJWTVerifier(c *JWTConfig) (*jwtVerifier, error) {
	if len(c.Algorithms) == 0 {
		return nil, errors.New("jwt: no algorithms")
	}
	v := &jwtVerifier{required: c.RequiredClaims, now: time.Now}
	hmac := slices.Contains(hmacAlgs, c.Algorithms[0])
	for _, a := range c.Algorithms {
		switch {
		case hmac && slices.Contains(hmacAlgs, a):
			if c.SecretKey == nil || len(*c.SecretKey) < minSecret[a] {
				return nil, fmt.Errorf("jwt: %s needs a secret_key of at least %d bytes", a, minSecret[a])
			}
		case !hmac && slices.Contains(publicAlgs, a):
		default:
			return nil, fmt.Errorf("jwt: algorithm %q refused: use only HMAC (HS*) or only public-key algorithms, never none", a)
		}
	}
	if hmac {
		v.key = []byte(*c.SecretKey)
	} else {
		if c.PublicKey == nil {
			return nil, errors.New("jwt: public-key algorithms need public_key")
		}
		key, err := parsePublicKey([]byte(*c.PublicKey))
		if err != nil {
			return nil, fmt.Errorf("jwt: public_key: %w", err)
		}
		v.key = key
	}
	if len(c.Audience) > 0 && string(c.Audience) != "null" {
		var one string
		if json.Unmarshal(c.Audience, &one) == nil {
			v.audience = []string{one}
		} else if err := json.Unmarshal(c.Audience, &v.audience); err != nil {
			return nil, errors.New("jwt: audience must be a string or a list of strings")
		}
	}
	if c.Issuer != nil {
		v.issuer = *c.Issuer
	}
	// Claims are checked by checkClaims, exactly as PyJWT does.
	v.parser = jwt.NewParser(jwt.WithValidMethods(c.Algorithms), jwt.WithoutClaimsValidation(), jwt.WithJSONNumber())
	v.leeway = c.Leeway
	return v, nil
}

func parsePublicKey(pem []byte) (crypto.PublicKey, error) {
	if k, err := jwt.ParseRSAPublicKeyFromPEM(pem); err == nil {
		return k, nil
	}
	if k, err := jwt.ParseECPublicKeyFromPEM(pem); err == nil {
		return k, nil
	}
	if k, err := jwt.ParseEdPublicKeyFromPEM(pem); err == nil {
		return k, nil
	}
	return nil, errors.New("not a PEM RSA, EC or Ed25519 public key")
}

// verify checks a compact JWS and returns its payload as compact JSON, or
// the reason for refusing it (never containing the token).
func (v *jwtVerifier) verify(token string) ([]byte, string) {
	claims := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) { return v.key, nil })
	if err != nil {
		switch {
		case errors.Is(err, jwt.ErrTokenSignatureInvalid):
			return nil, "bad signature"
		case errors.Is(err, jwt.ErrTokenUnverifiable), errors.Is(err, jwt.ErrTokenMalformed):
			return nil, "malformed or unverifiable token"
		}
		return nil, "invalid token"
	}
	if reason := v.checkClaims(claims); reason != "" {
		return nil, reason
	}
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, "malformed payload"
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, "malformed payload"
	}
	return buf.Bytes(), ""
}

// checkClaims applies PyJWT 2.10's checks (protocol.md §2.1).
func (v *jwtVerifier) checkClaims(c jwt.MapClaims) string {
	now := float64(v.now().UnixNano()) / 1e9
	for _, name := range v.required {
		if c[name] == nil {
			return "missing required claim " + name
		}
	}
	num := func(name string) (float64, bool, bool) { // value, present, ok
		x, present := c[name]
		if !present {
			return 0, false, true
		}
		n, ok := x.(json.Number)
		if !ok {
			return 0, true, false
		}
		f, err := n.Float64()
		return f, true, err == nil && !math.IsNaN(f)
	}
	if iat, present, ok := num("iat"); !ok || (present && iat > now+v.leeway) {
		return "bad or future iat"
	}
	if nbf, present, ok := num("nbf"); !ok || (present && nbf > now+v.leeway) {
		return "token not yet valid"
	}
	if exp, present, ok := num("exp"); !ok || (present && now >= exp+v.leeway) {
		return "token expired"
	}
	if v.issuer != "" {
		if iss, _ := c["iss"].(string); iss != v.issuer {
			return "wrong issuer"
		}
	}
	aud, hasAud := c["aud"]
	var auds []string
	switch a := aud.(type) {
	case nil:
	case string:
		auds = []string{a}
	case []any:
		for _, x := range a {
			s, ok := x.(string)
			if !ok {
				return "bad audience"
			}
			auds = append(auds, s)
		}
	default:
		return "bad audience"
	}
	if len(v.audience) == 0 {
		if hasAud && len(auds) > 0 {
			return "token has an audience but none is expected"
		}
	} else if !slices.ContainsFunc(auds, func(a string) bool { return slices.Contains(v.audience, a) }) {
		return "wrong audience"
	}
	for _, name := range []string{"sub", "jti"} {
		if x, present := c[name]; present {
			if _, ok := x.(string); !ok {
				return "bad " + name
			}
		}
	}
	return ""
}

// bearerToken returns the token of "Authorization: Bearer <token>", or "".
func bearerToken(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}
