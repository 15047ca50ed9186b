package server

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// writeError writes a FastAPI-shaped JSON error {"detail": detail}.
func writeError(w http.ResponseWriter, status int, detail string) {
	writeDetail(w, status, detail)
}

// writeDetail answers status with the JSON body {"detail": detail}.
func writeDetail(w http.ResponseWriter, status int, detail any) {
	body, err := json.Marshal(struct {
		Detail any `json:"detail"`
	}{detail})
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"detail":"Internal Server Error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Del("Content-Encoding")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
