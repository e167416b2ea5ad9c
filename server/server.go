// Package server is the HTTP side of the vouch key server: the Matrix
// client-server endpoints for accounts, device keys, cross-signing,
// signatures (filtered per viewer), device-list changes, to-device messages,
// account data and room-key backups, with the middleware around them
// (authentication, body and rate limits, panic recovery, metrics).
//
// It speaks only to the store interfaces (never to a backend), and asks
// packages keys, signedjson and trust for every decision about keys and
// signatures. It is not a homeserver: there are no rooms or federation.
package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"vouch/api"
	"vouch/store"
)

// Server serves the client-server API over a store.
type Server struct {
	cfg      Config
	st       store.Store
	log      *slog.Logger
	notifier Notifier
	metrics  *metrics
	ipLimit  *limiter
	usrLimit *limiter
	mux      *http.ServeMux
	now      func() time.Time
	// dummyHash is verified against when a login names an unknown user, so
	// that the answer takes as long as for a wrong password.
	dummyHash string
	once      sync.Once
	waiting   atomic.Int64 // /sync requests currently long-polling
	closing   chan struct{}
	closeOnce sync.Once
	queryBufs sync.Pool // of *queryAnswer (query.go)
	prepared  preparedKeys
	proxies   proxies // trusted_proxies, parsed
	// The expiry sweep (sweepLoop): its interval, and the channel closed
	// when its goroutine has returned.
	sweepEvery time.Duration
	sweepDone  chan struct{}
}

// Close makes every long-polling /sync return at once (with what it has) so
// that a graceful shutdown does not wait for their timeouts, and stops the
// periodic expiry sweep, waiting for a sweep in progress to end (so the
// store may be closed afterwards) for at most closeSweepWait: a sweep whose
// write shares a group commit with other writes cannot be cancelled, and a
// stuck database must not hold the shutdown. The server keeps answering
// other requests.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
	select {
	case <-s.sweepDone:
	case <-time.After(closeSweepWait):
		s.log.Warn("expiry sweep still running at shutdown; not waiting for it")
	}
}

// closeSweepWait bounds how long Close waits for a running expiry sweep.
const closeSweepWait = 5 * time.Second

// Option changes how New builds a Server.
type Option func(*Server)

// WithNotifier replaces the in-process /sync wake-up (for example with one
// fed by PostgreSQL LISTEN/NOTIFY when several processes share a database).
func WithNotifier(n Notifier) Option { return func(s *Server) { s.notifier = n } }

// WithClock replaces time.Now as the server's clock (UIA session expiry,
// the cut-off of the transaction-ID sweep, registration nonces, creation
// times), so that tests can move time. Transaction IDs themselves are
// stamped by the store with its own clock when they are stored. now must be
// safe for concurrent use.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithSweepInterval sets how often the expiry sweep runs (default
// [DefaultSweepInterval]); d <= 0 keeps the default.
func WithSweepInterval(d time.Duration) Option {
	return func(s *Server) {
		if d > 0 {
			s.sweepEvery = d
		}
	}
}

// New returns a server over st. log receives one line per failed request
// and never a secret.
func New(cfg Config, st store.Store, log *slog.Logger, opts ...Option) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("server config: %w", err)
	}
	if log == nil {
		return nil, errors.New("server: nil logger")
	}
	trusted, err := parseProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("server config: %w", err)
	}
	s := &Server{
		cfg: cfg, st: st, log: log, proxies: trusted,
		notifier: NewLocalNotifier(),
		ipLimit:  newLimiter(cfg.RateLimit.PerIPPerSecond, cfg.RateLimit.PerIPBurst),
		usrLimit: newLimiter(cfg.RateLimit.PerUserPerSecond, cfg.RateLimit.PerUserBurst),
		now:      time.Now,
		closing:  make(chan struct{}),

		sweepEvery: DefaultSweepInterval,
		sweepDone:  make(chan struct{}),
	}
	s.metrics = newMetrics(s.syncWaiters, st)
	for _, o := range opts {
		o(s)
	}
	s.routes()
	go s.sweepLoop()
	return s, nil
}

// DefaultSweepInterval is how often the server deletes expired UIA sessions,
// to-device transaction IDs and registration nonces.
const DefaultSweepInterval = time.Minute

// sweepLoop runs SweepExpired every sweepEvery (the first one an interval
// after the start) until Close. Every instance sharing a PostgreSQL database
// runs its own; the deletes are idempotent, so that only costs a few
// redundant statements.
func (s *Server) sweepLoop() {
	defer close(s.sweepDone)
	// Close cancels a sweep in progress (a store that hangs must not hold
	// up the shutdown) and waits for this goroutine, so the store is closed
	// only after it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	t := time.NewTicker(s.sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, _, _, err := s.SweepExpired(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("expiry sweep failed", "err", err)
		}
	}
}

// SweepExpired deletes the UIA sessions older than uia_session_lifetime,
// the to-device transaction IDs older than to_device_txn_retention and the
// shared-secret registration nonces past their expiry, as measured by the
// server's clock, counts them in vouch_expired_deleted_total and returns
// the counts. The server runs it periodically; calling it in between is
// harmless.
func (s *Server) SweepExpired(ctx context.Context) (uia, txns, nonces int, err error) {
	now := s.now()
	uia, txns, nonces, err = s.st.DeleteExpired(ctx, s.uiaCutoffMs(now), now.Add(-s.cfg.ToDeviceTxnRetention.Duration).UnixMilli(), now.UnixMilli())
	// Rows deleted by the batches that committed before a failure are gone
	// too, so they are counted either way.
	s.metrics.expired(uia, txns, nonces)
	if err != nil {
		return uia, txns, nonces, fmt.Errorf("sweep expired records: %w", err)
	}
	if uia+txns+nonces > 0 {
		s.log.Debug("expired records deleted", "uia_sessions", uia, "to_device_txns", txns, "registration_nonces", nonces)
	}
	return uia, txns, nonces, nil
}

// uiaCutoffMs is the creation time (Unix ms) before which a UIA session has
// expired at now.
func (s *Server) uiaCutoffMs(now time.Time) int64 {
	return now.Add(-s.cfg.UIASessionLifetime.Duration).UnixMilli()
}

// Handler returns the HTTP handler with all middleware.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

// handler is an endpoint: it returns the response body (marshalled as JSON
// with status 200) or an error (an *api.Error, a *uiaChallenge or anything
// mapped by errorTable).
type handler func(r *http.Request, a *caller) (any, error)

// caller is the authenticated user of a request (nil for public endpoints).
type caller struct {
	UserID   string
	DeviceID string
}

type route struct {
	auth bool
	h    handler
}

// handle registers methods of one path. The pattern has no method so that a
// wrong method is answered 405 M_UNRECOGNIZED by the route itself.
func (s *Server) handle(path string, methods map[string]route) {
	s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		rt, ok := methods[r.Method]
		if !ok && r.Method == http.MethodHead {
			rt, ok = methods[http.MethodGet]
		}
		if !ok {
			s.writeError(w, r, api.Errorf(http.StatusMethodNotAllowed, api.CodeUnrecognized, "method %s not allowed", r.Method))
			return
		}
		setRoute(w, path)
		var c *caller
		if rt.auth {
			var err error
			if c, err = s.authenticate(r); err != nil {
				s.writeError(w, r, err)
				return
			}
			if err := s.usrLimit.allow(c.UserID); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		resp, err := rt.h(r, c)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, resp)
	})
}

func get(h handler, auth bool) map[string]route {
	return map[string]route{http.MethodGet: {auth: auth, h: h}}
}

// serveHTTP is the outermost middleware: panic recovery, CORS, metrics,
// per-IP rate limit and body limit.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	// The route's name travels in the recorder (setRoute), not in a context
	// value: a derived request and context per request cost allocations.
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK, route: "unknown"}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("panic in handler", "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if !rec.wrote {
				s.writeError(rec, r, api.Errorf(http.StatusInternalServerError, api.CodeUnknown, "internal error"))
			}
		}
		s.metrics.observe(rec.route, rec.status, time.Since(start))
	}()
	h := rec.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "X-Requested-With, Content-Type, Authorization")
	if r.Method == http.MethodOptions {
		rec.route = "options"
		rec.WriteHeader(http.StatusOK)
		return
	}
	if err := s.ipLimit.allow(s.proxies.clientIP(r)); err != nil {
		s.writeError(rec, r, err)
		return
	}
	limit := s.bodyLimit(r)
	if r.ContentLength > limit {
		s.writeError(rec, r, tooLarge(limit))
		return
	}
	r.Body = http.MaxBytesReader(rec, r.Body, limit)
	s.mux.ServeHTTP(rec, r)
}

// setRoute names the route of the request written to w, for the metrics.
func setRoute(w http.ResponseWriter, name string) {
	if rec, ok := w.(*statusRecorder); ok {
		rec.route = name
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
	route  string // the route's name for the metrics ("unknown" until set)
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Flush lets long responses stream.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func tooLarge(limit int64) *api.Error {
	return api.Errorf(http.StatusRequestEntityTooLarge, api.CodeTooLarge, "request body larger than %d bytes", limit)
}

// writeJSON writes v (or raw JSON bytes) with a status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var body []byte
	switch b := v.(type) {
	case *queryAnswer:
		// Written below before it goes back to its pool: net/http has
		// copied or sent the bytes when Write returns.
		defer b.release()
		body = b.out
	case json.RawMessage:
		body = b
	case []byte:
		body = b
	default:
		var err error
		if body, err = json.Marshal(v); err != nil {
			status = http.StatusInternalServerError
			body = []byte(`{"errcode":"M_UNKNOWN","error":"cannot encode response"}`)
		}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	// An explicit length spares chunked encoding and lets large answers go
	// out in one write.
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body) //nolint:errcheck // the client went away; nothing to do
}

// writeError writes err as a Matrix error. Unknown errors are logged and
// answered 500 M_UNKNOWN without detail.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var uia *uiaChallenge
	if errors.As(err, &uia) {
		writeJSON(w, http.StatusUnauthorized, uia.body)
		return
	}
	e := mapError(err)
	if r.Context().Err() != nil && errors.Is(err, r.Context().Err()) {
		// The client went away (a dropped long-poll, Ctrl-C): nothing failed.
		s.log.Debug("request abandoned by the client", "method", r.Method, "path", r.URL.Path)
		return
	}
	if e.Status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		s.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "errcode", e.Code, "err", e.Msg)
	}
	if e.Code == api.CodeLimitExceeded && e.RetryAfterMs > 0 {
		w.Header().Set("Retry-After", fmt.Sprint((e.RetryAfterMs+999)/1000))
	}
	writeJSON(w, e.Status, e)
}

// decodeJSON reads the request body into v: M_TOO_LARGE over the limit,
// M_NOT_JSON when it is not JSON, M_BAD_JSON when it does not fit v.
func decodeJSON(r *http.Request, v any) error {
	body, err := requestBody(r)
	if err != nil {
		return err
	}
	return decodeBytes(body, v)
}

// requestBody reads the request body: M_TOO_LARGE over the limit,
// M_BAD_JSON when it cannot be read.
func requestBody(r *http.Request) ([]byte, error) {
	body, err := readBody(r)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(mbe.Limit)
		}
		return nil, api.BadJSON("cannot read body: %v", err)
	}
	return body, nil
}

// readBody reads the whole request body. With a Content-Length (already
// checked against the body limit in serveHTTP) it reads into one buffer of
// that size instead of growing one from 512 bytes; a body longer than
// announced is still read in full (and cut by the MaxBytesReader).
func readBody(r *http.Request) ([]byte, error) {
	n := r.ContentLength
	if n <= 0 || n > 1<<20 {
		return io.ReadAll(r.Body)
	}
	// One byte more than announced, so that the read that reports EOF
	// finds room and the buffer never grows for an honest length.
	buf := make([]byte, 0, n+1)
	for {
		m, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) {
			rest, err := io.ReadAll(r.Body)
			return append(buf, rest...), err
		}
	}
}

func decodeBytes(body []byte, v any) error {
	i := 0
	for i < len(body) && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r') {
		i++
	}
	if i < len(body) && body[i] != '{' {
		if !json.Valid(body) {
			return api.Errorf(http.StatusBadRequest, api.CodeNotJSON, "body is not valid JSON")
		}
		return api.BadJSON("body must be a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) || i == len(body) || errors.Is(err, io.ErrUnexpectedEOF) {
			return api.Errorf(http.StatusBadRequest, api.CodeNotJSON, "body is not valid JSON")
		}
		if !json.Valid(body) {
			return api.Errorf(http.StatusBadRequest, api.CodeNotJSON, "body is not valid JSON")
		}
		return api.BadJSON("%v", err)
	}
	return nil
}

// authenticate finds the caller from the access token (Authorization header
// or access_token query parameter). Tokens are looked up by their SHA-256.
func (s *Server) authenticate(r *http.Request) (*caller, error) {
	tok := ""
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, rest, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return nil, api.Errorf(http.StatusUnauthorized, api.CodeMissingToken, "Authorization header is not a bearer token")
		}
		tok = strings.TrimSpace(rest)
	} else {
		tok = r.URL.Query().Get("access_token")
	}
	if tok == "" {
		return nil, api.Errorf(http.StatusUnauthorized, api.CodeMissingToken, "missing access token")
	}
	u, d, err := s.st.LookupToken(r.Context(), hashToken(tok))
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.Errorf(http.StatusUnauthorized, api.CodeUnknownToken, "unknown access token")
	}
	if err != nil {
		return nil, err
	}
	return &caller{UserID: u, DeviceID: d}, nil
}

func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// newToken returns a random access token ("vch_" + 43 base64url chars).
func newToken() (string, []byte) {
	var b [32]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand.Read never fails
	tok := "vch_" + base64URL(b[:])
	return tok, hashToken(tok)
}

// randomID returns n random characters from A-Z.
func randomID(n int) string {
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never fails
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}
