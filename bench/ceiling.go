package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// MaxCeilingBody is the largest request body the ceiling handler reads, the
// same default cap as the key server's.
const MaxCeilingBody = 1 << 20

// CeilingReply is the fixed object the ceiling handler answers to every
// request that carries a body.
const CeilingReply = `{"ok":true}`

// Ceiling is a bare net/http handler that measures the HTTP and JSON floor
// of the machine: for every request with a body it reads the body, parses it
// as JSON and answers a fixed object. GET /sync with a since token
// long-polls until the next request with a body arrives (or its timeout
// passes) and answers a fixed sync object whose next_batch is the number of
// requests with a body seen, so that sync-wake has a floor too.
// It stores nothing and checks no access token.
type Ceiling struct {
	reply                  []byte // CeilingReply
	syncPrefix, syncSuffix []byte // the fixed sync reply around next_batch

	mu   sync.Mutex
	pos  int64         // number of requests with a body so far
	wake chan struct{} // closed and replaced by every request with a body
}

// NewCeiling returns a ceiling handler whose /sync answers list changed in
// device_lists.changed.
func NewCeiling(changed []string) (*Ceiling, error) {
	if changed == nil {
		changed = []string{}
	}
	lists, err := json.Marshal(map[string][]string{"changed": changed})
	if err != nil {
		return nil, fmt.Errorf("bench: ceiling sync reply: %w", err)
	}
	return &Ceiling{
		reply:      []byte(CeilingReply),
		syncPrefix: append(append([]byte(`{"device_lists":`), lists...), `,"next_batch":"`...),
		syncSuffix: []byte(`"}`),
		wake:       make(chan struct{}),
	}, nil
}

// state returns the position and the channel closed by the next request
// with a body.
func (c *Ceiling) state() (int64, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pos, c.wake
}

// broadcast advances the position and wakes every parked /sync.
func (c *Ceiling) broadcast() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pos++
	close(c.wake)
	c.wake = make(chan struct{})
}

// ServeHTTP implements http.Handler.
func (c *Ceiling) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodGet {
		c.serveSync(w, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxCeilingBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			_, _ = w.Write([]byte(`{"errcode":"M_TOO_LARGE","error":"request body too large"}`))
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"errcode":"M_BAD_JSON","error":"reading body"}`))
		return
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"errcode":"M_NOT_JSON","error":"body is not JSON"}`))
		return
	}
	c.broadcast()
	_, _ = w.Write(c.reply)
}

// serveSync answers a GET like a /sync reduced to its stream position: at
// once without a since token or when requests with a body arrived after the
// position since names; otherwise after the next one or the timeout
// (milliseconds, capped at a minute). next_batch is the position.
func (c *Ceiling) serveSync(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pos, wake := c.state()
	if s := q.Get("since"); s != "" {
		since, err := strconv.ParseInt(s, 10, 64)
		timeout, terr := strconv.Atoi(q.Get("timeout"))
		if terr != nil || timeout < 0 {
			timeout = 0
		}
		timeout = min(timeout, 60_000)
		if err == nil && since >= pos && timeout > 0 {
			t := time.NewTimer(time.Duration(timeout) * time.Millisecond)
			select {
			case <-wake:
			case <-t.C:
			case <-r.Context().Done():
			}
			t.Stop()
			pos, _ = c.state()
		}
	}
	out := make([]byte, 0, len(c.syncPrefix)+len(c.syncSuffix)+20)
	out = append(out, c.syncPrefix...)
	out = strconv.AppendInt(out, pos, 10)
	out = append(out, c.syncSuffix...)
	_, _ = w.Write(out)
}

// LocalServer is an HTTP server started by the bench on 127.0.0.1.
type LocalServer struct {
	// URL is the server's base URL, "http://127.0.0.1:PORT".
	URL string
	srv *http.Server
	ln  net.Listener
	err chan error
}

// StartLocal serves h on a fresh 127.0.0.1 port until Close.
func StartLocal(h http.Handler) (*LocalServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: listening on 127.0.0.1: %w", err)
	}
	s := &LocalServer{
		URL: "http://" + ln.Addr().String(),
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		ln:  ln,
		err: make(chan error, 1),
	}
	go func() { s.err <- s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server, waiting up to five seconds for requests in flight.
func (s *LocalServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if serr := <-s.err; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("bench: stopping local server: %w", err)
	}
	return nil
}
