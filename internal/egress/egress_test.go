/*
Copyright 2026 The mcp-registry-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package egress

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	defaults, err := NewPolicy(DefaultDenyCIDRs, nil)
	if err != nil {
		t.Fatal(err)
	}
	devLoopback, err := NewPolicy(DefaultDenyCIDRs, []string{"127.0.0.1/32"})
	if err != nil {
		t.Fatal(err)
	}
	onlyTen, err := NewPolicy([]string{"0.0.0.0/0", "::/0"}, []string{"10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		policy *Policy
		name   string
		addr   string
		denied string // the deny range, or "" when allowed
	}{
		{defaults, "loopback", "127.0.0.1", "127.0.0.0/8"},
		{defaults, "another loopback", "127.3.2.1", "127.0.0.0/8"},
		{defaults, "IPv6 loopback", "::1", "::1/128"},
		{defaults, "unspecified", "0.0.0.0", "0.0.0.0/8"},
		{defaults, "IPv6 unspecified", "::", "::/128"},
		{defaults, "cloud metadata (AWS, GCP, Azure)", "169.254.169.254", "169.254.0.0/16"},
		{defaults, "link-local", "169.254.10.1", "169.254.0.0/16"},
		{defaults, "IPv6 link-local", "fe80::1", "fe80::/10"},
		{defaults, "IPv6 link-local with a zone", "fe80::1%eth0", "fe80::/10"},
		{defaults, "AWS IPv6 metadata", "fd00:ec2::254", "fd00:ec2::254/128"},
		{defaults, "Alibaba metadata", "100.100.100.200", "100.100.100.200/32"},
		{defaults, "IPv4-mapped loopback", "::ffff:127.0.0.1", "127.0.0.0/8"},
		{defaults, "IPv4-mapped metadata", "::ffff:169.254.169.254", "169.254.0.0/16"},
		{defaults, "private 10/8 (in-cluster Services)", "10.96.0.10", ""},
		{defaults, "private 172.16/12", "172.20.1.1", ""},
		{defaults, "private 192.168/16", "192.168.1.1", ""},
		{defaults, "IPv6 unique local", "fd12::1", ""},
		{defaults, "public", "203.0.113.7", ""},
		{defaults, "the rest of 100.64/10 (CGNAT)", "100.100.100.201", ""},
		{devLoopback, "allowed loopback", "127.0.0.1", ""},
		{devLoopback, "allowed loopback, IPv4-mapped", "::ffff:127.0.0.1", ""},
		{devLoopback, "other loopback still denied", "127.0.0.2", "127.0.0.0/8"},
		{devLoopback, "metadata still denied", "169.254.169.254", "169.254.0.0/16"},
		{onlyTen, "tightened: 10/8 allowed", "10.1.2.3", ""},
		{onlyTen, "tightened: 192.168 denied", "192.168.1.1", "0.0.0.0/0"},
		{onlyTen, "tightened: IPv6 denied", "fd12::1", "::/0"},
		{nil, "no policy", "127.0.0.1", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.policy.Check(netip.MustParseAddr(tc.addr))
			var denied *DeniedError
			switch {
			case tc.denied == "" && err != nil:
				t.Fatalf("Check(%s) = %v, want allowed", tc.addr, err)
			case tc.denied != "" && !errors.As(err, &denied):
				t.Fatalf("Check(%s) = %v, want denied by %s", tc.addr, err, tc.denied)
			case tc.denied != "" && denied.Prefix.String() != tc.denied:
				t.Fatalf("Check(%s) denied by %s, want %s", tc.addr, denied.Prefix, tc.denied)
			case tc.denied != "" && (!errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), AllowFlag)):
				t.Fatalf("the refusal does not say what to change: %v", err)
			}
		})
	}
}

func TestNewPolicyRejectsBadCIDRs(t *testing.T) {
	for _, tc := range []struct {
		deny, allow []string
		want        string
	}{
		{deny: []string{"10.0.0.0/33"}, want: `invalid --endpoint-deny-cidrs entry "10.0.0.0/33"`},
		{allow: []string{"example.com"}, want: `invalid --endpoint-allow-cidrs entry "example.com"`},
		{allow: []string{"::ffff:10.0.0.0/104"}, want: "write IPv4 ranges as IPv4"},
	} {
		if _, err := NewPolicy(tc.deny, tc.allow); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewPolicy(%v, %v) = %v, want %q", tc.deny, tc.allow, err, tc.want)
		}
	}
	p, err := NewPolicy(ParseList(" 10.0.0.0/8 , ,192.168.1.1"), nil)
	if err != nil || p.String() != "deny=10.0.0.0/8,192.168.1.1/32 allow=" {
		t.Fatalf("ParseList with spaces, an empty entry and a bare address: %v, %v", p, err)
	}
}

// listen serves h on addr (a loopback address standing for a host) and counts the connections it
// accepts.
func listen(t *testing.T, addr string, h http.Handler) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	accepted := &atomic.Int64{}
	s := httptest.NewUnstartedServer(h)
	s.Listener = &countingListener{Listener: l, n: accepted}
	s.Start()
	t.Cleanup(s.Close)
	return s, accepted
}

type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

func get(t *testing.T, e *Egress, endpoint, authorization string) (*http.Response, error) {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, endpoint, nil)
	resp, err := e.Client(ClientOptions{Origin: u, Authorization: authorization}).Do(req)
	if resp != nil {
		_ = resp.Body.Close()
	}
	return resp, err
}

func loopbackEgress(t *testing.T) *Egress {
	t.Helper()
	p, err := NewPolicy(DefaultDenyCIDRs, []string{"127.0.0.1/32"})
	if err != nil {
		t.Fatal(err)
	}
	return New(p, 0, nil)
}

func TestDeniedEndpointGetsNoConnection(t *testing.T) {
	denied, accepted := listen(t, "127.0.0.2:0", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	_, err := get(t, loopbackEgress(t), denied.URL+"/mcp", "Bearer s3cret")
	if !errors.Is(err, ErrDenied) {
		t.Fatalf("GET %s: %v, want the endpoint policy's refusal", denied.URL, err)
	}
	if accepted.Load() != 0 {
		t.Fatalf("the denied host accepted %d connections", accepted.Load())
	}

	// A name is checked on what it resolves to: under the default policy, localhost (127.0.0.1 and
	// ::1) is refused although 127.0.0.1 is listening.
	open, openAccepted := listen(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defaults, _ := NewPolicy(DefaultDenyCIDRs, nil)
	byName := strings.Replace(open.URL, "127.0.0.1", "localhost", 1)
	if _, err := get(t, New(defaults, 0, nil), byName+"/mcp", ""); !errors.Is(err, ErrDenied) {
		t.Fatalf("GET %s under the default policy: %v, want refused", byName, err)
	}
	// Other spellings of 127.0.0.1 (decimal, hex, IPv4-mapped): each either fails to resolve or is
	// refused on the address it resolves to; none connects.
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(open.URL, "http://"))
	for _, host := range []string{"2130706433", "0x7f000001", "0177.0.0.1", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]"} {
		if _, err := get(t, New(defaults, 0, nil), "http://"+host+":"+port+"/mcp", ""); err == nil {
			t.Errorf("GET via %s succeeded under the default policy", host)
		}
	}
	if openAccepted.Load() != 0 {
		t.Fatalf("the loopback listener accepted %d connections", openAccepted.Load())
	}
}

func TestRedirects(t *testing.T) {
	e := loopbackEgress(t)
	var sawAuth sync.Map
	record := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			sawAuth.Store(name, r.Header.Get("Authorization"))
		}
	}
	// Same host (127.0.0.1), another port: followed, without credentials.
	samehostOther, _ := listen(t, "127.0.0.1:0", record("same-host-other-port"))
	// Another host the policy would allow if dialed (localhost names 127.0.0.1 too): refused.
	otherHost := strings.Replace(samehostOther.URL, "127.0.0.1", "localhost", 1)
	// A denied host: refused by the redirect rule before any dial.
	deniedHost, deniedAccepted := listen(t, "127.0.0.2:0", record("denied"))

	origin, _ := listen(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawAuth.Store("origin "+r.URL.Path, r.Header.Get("Authorization"))
		switch r.URL.Path {
		case "/same-origin":
			http.Redirect(w, r, "/mcp", http.StatusTemporaryRedirect)
		case "/same-host":
			http.Redirect(w, r, samehostOther.URL+"/", http.StatusTemporaryRedirect)
		case "/other-host":
			http.Redirect(w, r, otherHost+"/", http.StatusTemporaryRedirect)
		case "/denied-host":
			http.Redirect(w, r, deniedHost.URL+"/", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		}
	}))

	if _, err := get(t, e, origin.URL+"/same-origin", "Bearer s3cret"); err != nil {
		t.Fatalf("same-origin redirect: %v", err)
	}
	if v, _ := sawAuth.Load("origin /mcp"); v != "Bearer s3cret" {
		t.Errorf("the origin's redirect target got Authorization %q, want the token", v)
	}

	if _, err := get(t, e, origin.URL+"/same-host", "Bearer s3cret"); err != nil {
		t.Fatalf("same-host redirect: %v", err)
	}
	if v, ok := sawAuth.Load("same-host-other-port"); !ok || v != "" {
		t.Errorf("another port of the host got Authorization %q (reached: %v), want none", v, ok)
	}

	for _, path := range []string{"/other-host", "/denied-host", "/loop"} {
		_, err := get(t, e, origin.URL+path, "Bearer s3cret")
		if !errors.Is(err, ErrRedirectRefused) {
			t.Errorf("%s: %v, want the redirect refused", path, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error shows the token: %v", path, err)
		}
	}
	if deniedAccepted.Load() != 0 {
		t.Errorf("the denied host accepted %d connections", deniedAccepted.Load())
	}
	if _, ok := sawAuth.Load("denied"); ok {
		t.Error("the denied host was reached")
	}
}

// A request the client itself sends to another host (as an SSE server can make it do, by naming
// any URL in its endpoint event) is refused before any dial, with or without credentials.
func TestRequestsStayOnTheEndpointsHost(t *testing.T) {
	other, accepted := listen(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	origin, _ := url.Parse("http://localhost:1/mcp")
	client := loopbackEgress(t).Client(ClientOptions{Origin: origin, Authorization: "Bearer s3cret"})
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, other.URL+"/message", nil)
	_, err := client.Do(req)
	if !errors.Is(err, ErrOtherHost) || accepted.Load() != 0 {
		t.Fatalf("a request to another host: %v, %d connections; want refused, none", err, accepted.Load())
	}
}

func TestRetryAfterQuietsTheHostForEveryServer(t *testing.T) {
	var requests atomic.Int64
	var codes []int
	var mu sync.Mutex
	throttling, _ := listen(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	p, _ := NewPolicy(DefaultDenyCIDRs, []string{"127.0.0.1/32"})
	e := New(p, 0, func(code int) { mu.Lock(); codes = append(codes, code); mu.Unlock() })

	resp, err := get(t, e, throttling.URL+"/a", "")
	if err != nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("first request: %v %v", resp, err)
	}
	// A second MCPServer naming the same host: nothing is sent until the wait has passed.
	_, err = get(t, e, throttling.URL+"/b", "")
	var throttled *ThrottledError
	if !errors.As(err, &throttled) || throttled.Code != http.StatusTooManyRequests || time.Until(throttled.Until) < 100*time.Second {
		t.Fatalf("second request: %v, want refused until Retry-After (120 s) has passed", err)
	}
	if requests.Load() != 1 {
		t.Fatalf("the host got %d requests, want 1", requests.Load())
	}
	u, _ := url.Parse(throttling.URL)
	if err := e.Explain(u, errors.New("tools/list failed")); !errors.As(err, &throttled) {
		t.Fatalf("Explain did not say the host asked to wait: %v", err)
	}
	if len(codes) != 1 || codes[0] != http.StatusTooManyRequests {
		t.Fatalf("onThrottle saw %v, want [429]", codes)
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"30", 30 * time.Second, true},
		{"0", time.Second, true},
		{"999999", 10 * time.Minute, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), time.Second, true},
		{"", 0, false},
		{"-5", 0, false},
		{"soon", 0, false},
	} {
		got, ok := retryAfter(tc.value, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("retryAfter(%q) = %s, %v; want %s, %v", tc.value, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRequestsPerHostAreBounded(t *testing.T) {
	var inFlight, peak atomic.Int64
	release := make(chan struct{})
	slow, _ := listen(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		inFlight.Add(-1)
	}))
	p, _ := NewPolicy(DefaultDenyCIDRs, []string{"127.0.0.1/32"})
	e := New(p, 2, nil)
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() { _, _ = get(t, e, slow.URL+"/mcp", "") })
	}
	deadline := time.Now().Add(5 * time.Second)
	for inFlight.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if peak.Load() != 2 {
		t.Fatalf("at most %d requests were in flight to one host, want 2", peak.Load())
	}
}
