package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Defaults of the retry policy.
const (
	DefaultMaxRetries = 3
	DefaultMinBackoff = 200 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
	// DefaultMaxRateLimitWait caps one wait after M_LIMIT_EXCEEDED, whatever
	// retry_after_ms asks for.
	DefaultMaxRateLimitWait = 30 * time.Second
	// maxResponse caps a response body read into memory.
	maxResponse = 64 << 20
	// clientPrefix is the path of the client-server API.
	clientPrefix = "/_matrix/client/v3"
)

// Client is a typed client of one homeserver. It is safe for concurrent use.
// The access token is set by Login and Register (or WithAccessToken) and
// cleared by Logout.
type Client struct {
	base       *url.URL
	hc         *http.Client
	maxRetries int
	minBackoff time.Duration
	maxBackoff time.Duration
	maxWait    time.Duration
	sleep      func(context.Context, time.Duration) error

	mu    sync.RWMutex
	token string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the http.Client used for requests.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithAccessToken sets the access token of an existing login.
func WithAccessToken(token string) Option { return func(c *Client) { c.token = token } }

// WithRetries sets how many times a request is retried after a rate limit or
// a transient network error (0 disables retries) and the backoff bounds.
func WithRetries(n int, minBackoff, maxBackoff time.Duration) Option {
	return func(c *Client) {
		c.maxRetries, c.minBackoff, c.maxBackoff = max(n, 0), minBackoff, maxBackoff
	}
}

// WithMaxRateLimitWait caps how long one retry after M_LIMIT_EXCEEDED waits.
func WithMaxRateLimitWait(d time.Duration) Option { return func(c *Client) { c.maxWait = d } }

// WithSleep replaces the function that waits between retries (for tests).
func WithSleep(sleep func(context.Context, time.Duration) error) Option {
	return func(c *Client) { c.sleep = sleep }
}

// New returns a client for the homeserver at baseURL (for example
// "http://127.0.0.1:8008").
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("%w: %q: want an absolute URL such as http://127.0.0.1:8008 (%v)", ErrBadURL, baseURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: %q: want http:// or https:// and a host, such as http://127.0.0.1:8008", ErrBadURL, baseURL)
	}
	c := &Client{
		base:       u,
		hc:         &http.Client{Timeout: 0},
		maxRetries: DefaultMaxRetries,
		minBackoff: DefaultMinBackoff,
		maxBackoff: DefaultMaxBackoff,
		maxWait:    DefaultMaxRateLimitWait,
		sleep:      sleepCtx,
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// BaseURL returns the homeserver base URL.
func (c *Client) BaseURL() string { return c.base.String() }

// AccessToken returns the current access token ("" when logged out).
func (c *Client) AccessToken() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.token
}

// SetAccessToken replaces the access token.
func (c *Client) SetAccessToken(token string) {
	c.mu.Lock()
	c.token = token
	c.mu.Unlock()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// request describes one call.
type request struct {
	method string
	path   string // below clientPrefix, already escaped
	query  url.Values
	body   any
	auth   bool // send the access token
	// idempotent requests are retried after network errors that may have
	// happened after the server received them.
	idempotent bool
	// raw paths are below /_matrix/client instead of /_matrix/client/v3.
	raw bool
}

// pathEscape escapes one path segment.
func pathEscape(s string) string { return url.PathEscape(s) }

// do sends r and decodes a 2xx body into out (when not nil).
func (c *Client) do(ctx context.Context, r request, out any) error {
	_, err := c.doRaw(ctx, r, out)
	return err
}

// doRaw is do that also returns the raw error body of a non-2xx answer for
// the UIA handling.
func (c *Client) doRaw(ctx context.Context, r request, out any) ([]byte, error) {
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return nil, fmt.Errorf("client: encoding %s %s: %w", r.method, r.path, err)
		}
	}
	token := ""
	if r.auth {
		if token = c.AccessToken(); token == "" {
			return nil, fmt.Errorf("%s %s: %w", r.method, r.path, ErrNotLoggedIn)
		}
	}
	u := *c.base
	prefix := clientPrefix
	if r.raw {
		prefix = strings.TrimSuffix(clientPrefix, "/v3")
	}
	u.RawPath = strings.TrimRight(c.base.EscapedPath(), "/") + prefix + r.path
	p, err := url.PathUnescape(u.RawPath)
	if err != nil {
		return nil, fmt.Errorf("client: bad path %q: %w", r.path, err)
	}
	u.Path = p
	u.RawQuery = r.query.Encode()
	for attempt := 0; ; attempt++ {
		var body io.Reader
		if payload != nil {
			body = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
		if err != nil {
			return nil, fmt.Errorf("client: building %s %s: %w", r.method, r.path, err)
		}
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Accept", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if attempt < c.maxRetries && transient(err, r.idempotent) {
				if serr := c.sleep(ctx, c.backoff(attempt)); serr != nil {
					return nil, serr
				}
				continue
			}
			return nil, fmt.Errorf("%w at %s: %v", ErrNetwork, c.base.Host, stripURL(err))
		}
		raw, rerr := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
		resp.Body.Close()
		if rerr != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if attempt < c.maxRetries && r.idempotent {
				if serr := c.sleep(ctx, c.backoff(attempt)); serr != nil {
					return nil, serr
				}
				continue
			}
			return nil, fmt.Errorf("%w: reading %s %s: %v", ErrNetwork, r.method, r.path, rerr)
		}
		if len(raw) > maxResponse {
			return nil, fmt.Errorf("%w: %s %s: body over %d bytes", ErrBadResponse, r.method, r.path, maxResponse)
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			if out != nil {
				if err := json.Unmarshal(raw, out); err != nil {
					return nil, fmt.Errorf("%w: %s %s: %v", ErrBadResponse, r.method, r.path, err)
				}
			}
			return nil, nil
		}
		merr := decodeError(resp, raw)
		if merr.Code == CodeLimitExceeded && attempt < c.maxRetries {
			wait := time.Duration(merr.RetryAfterMs) * time.Millisecond
			if wait <= 0 {
				wait = c.backoff(attempt)
			}
			if serr := c.sleep(ctx, min(wait, c.maxWait)); serr != nil {
				return nil, serr
			}
			continue
		}
		// 502/503/504 from a proxy in front of the server are transient.
		if (resp.StatusCode == 502 || resp.StatusCode == 503 || resp.StatusCode == 504) && r.idempotent && attempt < c.maxRetries {
			if serr := c.sleep(ctx, c.backoff(attempt)); serr != nil {
				return nil, serr
			}
			continue
		}
		return raw, fmt.Errorf("%s %s: %w", r.method, r.path, merr)
	}
}

// decodeError turns a non-2xx answer into an *Error, with the Retry-After
// header as a fallback for retry_after_ms.
func decodeError(resp *http.Response, raw []byte) *Error {
	e := &Error{}
	if err := json.Unmarshal(raw, e); err != nil || e.Code == "" {
		e = &Error{Code: "M_UNKNOWN", Msg: strings.TrimSpace(http.StatusText(resp.StatusCode))}
		if resp.StatusCode == http.StatusUnauthorized {
			// A UIA 401 has flows but no errcode: keep it recognisable.
			var info UIAInfo
			if json.Unmarshal(raw, &info) == nil && len(info.Flows) > 0 {
				e.Code, e.Msg = "", "user-interactive authentication required"
			}
		}
	}
	e.Status = resp.StatusCode
	if e.RetryAfterMs == 0 {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			e.RetryAfterMs = int64(s) * 1000
		}
	}
	return e
}

// backoff is the wait before retry number attempt+1: exponential with
// jitter between minBackoff and maxBackoff.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.minBackoff << min(attempt, 20)
	if d > c.maxBackoff || d <= 0 {
		d = c.maxBackoff
	}
	if d <= 0 {
		return 0
	}
	// Up to 25% jitter so that many clients do not retry in step.
	return d - time.Duration(rand.Int64N(int64(d)/4+1))
}

// transient reports whether a transport error may go away by retrying. A
// refused or unreachable connection never reached the server, so any
// request may be retried; other errors only for idempotent requests.
func transient(err error, idempotent bool) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || (errors.Is(err, syscall.ECONNRESET) && idempotent) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return idempotent
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	return idempotent && (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF))
}

// stripURL removes the URL from a *url.Error so that no query string (none
// carries secrets here, but keep it short) ends up in messages.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Call sends a JSON request to an endpoint this package has no method for
// (path below /_matrix/client/v3, its segments already escaped), with the
// access token, the retry policy and the error decoding of every other
// method. Requests other than POST are retried as idempotent. out may be nil.
func (c *Client) Call(ctx context.Context, method, path string, query url.Values, body, out any) error {
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("client: path %q must start with /", path)
	}
	return c.do(ctx, request{method: method, path: path, query: query, body: body, auth: true, idempotent: method != http.MethodPost}, out)
}
