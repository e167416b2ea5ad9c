package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// maxResponseBody bounds what the bench reads from any response.
const maxResponseBody = 64 << 20

// requestTimeout bounds every request of the bench.
const requestTimeout = 2 * time.Minute

// CheckLoopback returns nil when rawURL is an http URL whose host is a
// loopback address (an IP literal, or a name that resolves only to loopback
// addresses).
func CheckLoopback(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("%w: server URL %q: %w", ErrConfig, rawURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: server URL %q is not http or https", ErrConfig, rawURL)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("%w: server URL %q has no host", ErrConfig, rawURL)
	}
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return fmt.Errorf("%w: %s", ErrNotLoopback, host)
		}
		return nil
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return fmt.Errorf("%w: resolving %s: %w", ErrNotLoopback, host, err)
	}
	if len(addrs) == 0 {
		return fmt.Errorf("%w: %s has no address", ErrNotLoopback, host)
	}
	for _, a := range addrs {
		if !a.IP.IsLoopback() {
			return fmt.Errorf("%w: %s resolves to %s", ErrNotLoopback, host, a.IP)
		}
	}
	return nil
}

// newHTTPClient returns the client every timed phase uses, against the
// ceiling and the server alike: keep-alive connections, enough idle
// connections for conns concurrent requests, no compression, HTTP/1.1.
func newHTTPClient(conns int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        conns * 2,
			MaxIdleConnsPerHost: conns * 2,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		},
		// A bound on any request, long polls (30 s) included, so that a
		// stuck server cannot hold a phase forever.
		Timeout: requestTimeout,
	}
}

// endpoint is one base URL and the client used to reach it.
type endpoint struct {
	base string
	hc   *http.Client
}

// matrixError is the standard Matrix error body.
type matrixError struct {
	Errcode string `json:"errcode"`
	Error   string `json:"error"`
	Session string `json:"session"`
}

// statusError is a non-200 response with its Matrix error, if any.
type statusError struct {
	status int
	body   matrixError
	raw    []byte
}

func (e *statusError) Error() string {
	if e.body.Errcode != "" {
		return fmt.Sprintf("HTTP %d %s: %s", e.status, e.body.Errcode, e.body.Error)
	}
	return fmt.Sprintf("HTTP %d: %.200q", e.status, e.raw)
}

func (e *statusError) Unwrap() error { return ErrHTTPStatus }

// send performs one request and returns the status and body. It never
// returns a nil body with a nil error.
func (e endpoint) send(ctx context.Context, method, path, token string, body []byte) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.base+path, r)
	if err != nil {
		return 0, nil, fmt.Errorf("bench: %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("bench: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("bench: %s %s: reading response: %w", method, path, err)
	}
	return resp.StatusCode, out, nil
}

// call performs a request that must answer 200 and decodes the body into out
// when out is not nil.
func (e endpoint) call(ctx context.Context, method, path, token string, body []byte, out any) error {
	status, raw, err := e.send(ctx, method, path, token, body)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		se := &statusError{status: status, raw: raw}
		_ = json.Unmarshal(raw, &se.body)
		return fmt.Errorf("bench: %s %s: %w", method, path, se)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%w: %s %s: %w", ErrBadResponse, method, path, err)
		}
	}
	return nil
}
