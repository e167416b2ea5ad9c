package server

import (
	"net/http"
	"testing"
)

// TestClientIP: X-Forwarded-For counts only when the peer is a trusted
// proxy, and then the right-most address that is not a trusted proxy is
// the client; forged entries to its left change nothing.
func TestClientIP(t *testing.T) {
	trusted, err := parseProxies([]string{"10.0.0.0/8", "127.0.0.1", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		ps     proxies
		remote string
		xff    []string
		want   string
	}{
		{"no proxies configured: header ignored", nil, "127.0.0.1:5000", []string{"203.0.113.9"}, "127.0.0.1"},
		{"untrusted peer: header ignored", trusted, "198.51.100.7:5000", []string{"203.0.113.9"}, "198.51.100.7"},
		{"trusted peer, one hop", trusted, "127.0.0.1:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"trusted peer, no header", trusted, "127.0.0.1:5000", nil, "127.0.0.1"},
		{"chain of trusted proxies", trusted, "127.0.0.1:5000", []string{"203.0.113.9, 10.1.2.3, 10.4.5.6"}, "203.0.113.9"},
		{"client-forged entries to the left", trusted, "127.0.0.1:5000", []string{"1.2.3.4, 5.6.7.8, 203.0.113.9"}, "203.0.113.9"},
		{"several header lines", trusted, "127.0.0.1:5000", []string{"1.2.3.4", "203.0.113.9, 10.0.0.1"}, "203.0.113.9"},
		{"all trusted: the left-most", trusted, "127.0.0.1:5000", []string{"10.9.9.9, 10.0.0.1"}, "10.9.9.9"},
		{"garbage stops the walk", trusted, "127.0.0.1:5000", []string{"not-an-ip, 10.0.0.1"}, "10.0.0.1"},
		{"garbage right away", trusted, "127.0.0.1:5000", []string{"bogus"}, "127.0.0.1"},
		{"IPv6 peer", trusted, "[::1]:5000", []string{"2001:db8::1"}, "2001:db8::1"},
		{"IPv4-mapped peer", trusted, "[::ffff:127.0.0.1]:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"no port", trusted, "198.51.100.7", nil, "198.51.100.7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, _ := http.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.remote
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := c.ps.clientIP(r); got != c.want {
				t.Fatalf("clientIP = %q, want %q", got, c.want)
			}
		})
	}
}

func TestParseProxiesRefuses(t *testing.T) {
	for _, bad := range []string{"", "10.0.0.0/33", "example.org", "10.0.0.1/8/1"} {
		if _, err := parseProxies([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if err := (Config{TrustedProxies: []string{"nope"}}).Validate(); err == nil {
		t.Error("Validate accepted a bad trusted_proxies entry")
	}
}
