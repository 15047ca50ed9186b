package server

import (
	"encoding/json"
	"net/http"
)

// writeError writes a FastAPI-shaped JSON error {"detail": detail}.
func writeError(w http.ResponseWriter, status int, detail string) {
	body, _ := json.Marshal(struct {
		Detail string `json:"detail"`
	}{detail})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", itoa(len(body)))
	h.Del("Content-Encoding")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// itoa is strconv.Itoa for the non-negative lengths used in headers.
func itoa(n int) string {
	if n >= 0 && n < 10 {
		return string(rune('0' + n))
	}
	var buf [20]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[i:])
}
