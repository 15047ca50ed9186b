package pyruntime

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gofastapi/gofastapi/server"
)

// Frames between the server and a worker process (docs/protocol.md §5).
// Every frame is a 4-byte big-endian length, a 1-byte kind and a payload of
// length-1 bytes. Strings in payloads are a 4-byte length and the bytes.

// Frame kinds.
const (
	frameRequest  byte = 'Q' // server → worker: one request
	frameResponse byte = 'R' // worker → server: status, headers, body
	frameError    byte = 'E' // worker → server: type, message, traceback
	frameReady    byte = 'D' // worker → server: the app description
)

// maxFrame bounds a frame, so a corrupt length cannot allocate the world.
const maxFrame = 1 << 30

// frameWriter builds one frame in a reusable buffer.
type frameWriter struct{ buf []byte }

func (f *frameWriter) start(kind byte) {
	f.buf = append(f.buf[:0], 0, 0, 0, 0, kind)
}

func (f *frameWriter) u64(v uint64) { f.buf = binary.BigEndian.AppendUint64(f.buf, v) }

func (f *frameWriter) bytes(b []byte) {
	f.buf = binary.BigEndian.AppendUint32(f.buf, uint32(len(b)))
	f.buf = append(f.buf, b...)
}

func (f *frameWriter) str(s string) {
	f.buf = binary.BigEndian.AppendUint32(f.buf, uint32(len(s)))
	f.buf = append(f.buf, s...)
}

// send finishes the frame and writes it with one write call.
func (f *frameWriter) send(w io.Writer) error {
	binary.BigEndian.PutUint32(f.buf, uint32(len(f.buf)-4))
	_, err := w.Write(f.buf)
	return err
}

// readFrame reads one frame: its kind and payload (valid until the next call
// with the same buffer).
func readFrame(r *bufio.Reader, buf *[]byte) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n < 1 || n > maxFrame {
		return 0, nil, fmt.Errorf("bad frame length %d", n)
	}
	if cap(*buf) < int(n-1) {
		*buf = make([]byte, n-1)
	}
	b := (*buf)[:n-1]
	if _, err := io.ReadFull(r, b); err != nil {
		return 0, nil, err
	}
	return hdr[4], b, nil
}

// frameReader takes fields off a payload.
type frameReader struct {
	b   []byte
	err error
}

var errShortFrame = errors.New("truncated frame")

func (f *frameReader) u64() uint64 {
	if len(f.b) < 8 {
		f.err = errShortFrame
		return 0
	}
	v := binary.BigEndian.Uint64(f.b)
	f.b = f.b[8:]
	return v
}

func (f *frameReader) bytes() []byte {
	if len(f.b) < 4 {
		f.err = errShortFrame
		return nil
	}
	n := binary.BigEndian.Uint32(f.b)
	if uint32(len(f.b)-4) < n {
		f.err = errShortFrame
		return nil
	}
	v := f.b[4 : 4+n]
	f.b = f.b[4+n:]
	return v
}

func (f *frameReader) str() string { return string(f.bytes()) }

// putRequest encodes r as a request frame.
func (f *frameWriter) putRequest(r *server.Request) {
	f.start(frameRequest)
	f.u64(uint64(r.RouteID))
	f.u64(uint64(r.ClientPort))
	for _, s := range []string{r.Method, r.Path, r.RawQuery, r.ClientHost, r.Scheme, r.RequestID} {
		f.str(s)
	}
	f.bytes(r.Header)
	f.bytes(r.Body)
	f.u64(uint64(len(r.PathValues)))
	for _, v := range r.PathValues {
		f.str(v)
	}
}

// putError encodes err as an error frame, with the refusal count as in
// putResponse.
func (f *frameWriter) putError(err error, refused uint64) {
	f.start(frameError)
	var pe *PythonError
	if errors.As(err, &pe) {
		f.str(pe.Type)
		f.str(pe.Message)
		f.str(pe.Traceback)
	} else {
		f.str("Error")
		f.str(err.Error())
		f.str("")
	}
	f.u64(refused)
}

// getError decodes an error frame's payload and its refusal count.
func getError(b []byte) (error, uint64) {
	f := &frameReader{b: b}
	e := &PythonError{Type: f.str(), Message: f.str(), Traceback: f.str()}
	refused := f.u64()
	if f.err != nil {
		return f.err, 0
	}
	return e, refused
}
