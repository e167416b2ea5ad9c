package server

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// proxies is the parsed trusted_proxies setting: the addresses whose
// X-Forwarded-For the server believes.
type proxies []netip.Prefix

// parseProxies parses trusted_proxies entries: CIDR prefixes
// ("10.0.0.0/8") or single addresses ("127.0.0.1").
func parseProxies(entries []string) (proxies, error) {
	out := make(proxies, 0, len(entries))
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if p, err := netip.ParsePrefix(e); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(e)
		if err != nil {
			return nil, fmt.Errorf("trusted_proxies: %q is neither an address nor a CIDR prefix", e)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func (ps proxies) contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientIP is the address the per-IP rate limit counts a request against:
// the connection's peer, or, when the peer is a trusted proxy, the
// right-most address of X-Forwarded-For that is not itself a trusted proxy
// (every proxy appends the address it received from, so entries to the
// left of the first untrusted one were written by the client and prove
// nothing). A malformed entry ends the walk at the last address a trusted
// proxy vouched for.
func (ps proxies) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if len(ps) == 0 {
		return host
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !ps.contains(peer) {
		return host
	}
	client := peer
	headers := r.Header.Values("X-Forwarded-For")
	for h := len(headers) - 1; h >= 0; h-- {
		parts := strings.Split(headers[h], ",")
		for i := len(parts) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[i]))
			if err != nil {
				return client.Unmap().String()
			}
			client = a
			if !ps.contains(a) {
				return a.Unmap().String()
			}
		}
	}
	return client.Unmap().String()
}
