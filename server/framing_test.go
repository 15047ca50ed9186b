package server

import (
	"fmt"
	"strings"
	"testing"
)

// fakeHead is body text shaped like a smuggling head.
const fakeHead = "X: 1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"

func TestHeadScanner(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		wantBad bool
	}{
		{"plain get", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", false},
		{"cl and te", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", true},
		{"te and cl lower case", "POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\ncontent-length: 5\r\n\r\n", true},
		{"duplicate cl equal", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", true},
		{"body looking like headers", fmt.Sprintf("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%sGET / HTTP/1.1\r\nHost: a\r\n\r\n", len(fakeHead), fakeHead), false},
		{"chunked body looking like headers", fmt.Sprintf("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", len(fakeHead), fakeHead), false},
		{"second pipelined request bad", "GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", true},
		{"leading empty line", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, size := range []int{1, 3, 7, 4096} { // any split of the reads
				var s headScanner
				for in := tt.input; len(in) > 0; {
					n := min(size, len(in))
					s.feed([]byte(in[:n]))
					in = in[n:]
				}
				if s.bad != tt.wantBad {
					t.Errorf("reads of %d bytes: bad = %v; want %v", size, s.bad, tt.wantBad)
				}
			}
		})
	}
}

func FuzzHeadScanner(f *testing.F) {
	f.Add("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		var s headScanner
		s.feed([]byte(in))
		if len(s.line) > maxScanLine {
			t.Fatalf("line buffer grew to %d", len(s.line))
		}
		_ = strings.ToLower(in)
	})
}
