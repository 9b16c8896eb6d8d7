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

// Package egress decides where the operator may open connections, and builds the one HTTP
// transport every outbound call uses (MCP discovery today; OAuth and live streams later).
//
// Any namespace user who may create an MCPServer makes the operator connect, from its own network
// position, to a URL of their choosing. The policy is checked at dial time, on the address
// actually dialed: so a DNS name that resolves to a denied address, a DNS answer that changes
// between checks (rebinding), a redirect, an IPv4-mapped IPv6 address and a decimal or hex IPv4
// spelling are all caught by the same rule, and a refused endpoint makes no connection at all.
package egress

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// Flag names, quoted in refusals so that a person knows what to change.
const (
	DenyFlag  = "--endpoint-deny-cidrs"
	AllowFlag = "--endpoint-allow-cidrs"
)

// DefaultDenyCIDRs are denied unless --endpoint-deny-cidrs replaces them: loopback, unspecified,
// link-local (which holds the cloud metadata address 169.254.169.254), and the metadata addresses
// outside it (AWS's IPv6 fd00:ec2::254, Alibaba's 100.100.100.200). Private ranges stay allowed:
// in-cluster MCP Services are the main use.
var DefaultDenyCIDRs = []string{
	"127.0.0.0/8", "::1/128",
	"0.0.0.0/8", "::/128",
	"169.254.0.0/16", "fe80::/10",
	"fd00:ec2::254/128", "100.100.100.200/32",
}

// Policy says which addresses the operator may connect to: any address not in a deny range, or in
// an allow range (allow exempts from deny). The zero value allows everything.
type Policy struct {
	deny, allow []netip.Prefix
}

// NewPolicy builds a policy from deny and allow CIDRs, e.g. DefaultDenyCIDRs and the flags.
func NewPolicy(deny, allow []string) (*Policy, error) {
	p := &Policy{}
	var err error
	if p.deny, err = parsePrefixes(deny, DenyFlag); err != nil {
		return nil, err
	}
	if p.allow, err = parsePrefixes(allow, AllowFlag); err != nil {
		return nil, err
	}
	return p, nil
}

// ParseList splits a comma-separated flag value into CIDRs; empty entries are skipped.
func ParseList(value string) []string {
	var out []string
	for _, s := range strings.Split(value, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func parsePrefixes(cidrs []string, flag string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(cidrs))
	for _, c := range cidrs {
		prefix, err := netip.ParsePrefix(c)
		if err != nil {
			// A bare address is accepted as its own /32 or /128.
			addr, addrErr := netip.ParseAddr(c)
			if addrErr != nil {
				return nil, fmt.Errorf("invalid %s entry %q: want a CIDR such as 10.0.0.0/8 or fd00::/8", flag, c)
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		if prefix.Addr().Is4In6() {
			return nil, fmt.Errorf("invalid %s entry %q: write IPv4 ranges as IPv4 (IPv4-mapped IPv6 addresses are checked as IPv4)", flag, c)
		}
		out = append(out, prefix.Masked())
	}
	return out, nil
}

// DeniedError is a connection the policy refused.
type DeniedError struct {
	// Addr is the address that would have been dialed.
	Addr netip.Addr
	// Prefix is the deny range it is in.
	Prefix netip.Prefix
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("connection to %s refused by the endpoint policy: %s is in %s; to allow it, add it (or a range holding it) to %s",
		e.Addr, e.Prefix, DenyFlag, AllowFlag)
}

// ErrDenied is matched by errors.Is for every DeniedError.
var ErrDenied = errors.New("refused by the endpoint policy")

// Is makes errors.Is(err, ErrDenied) true.
func (e *DeniedError) Is(target error) bool { return target == ErrDenied }

// Check returns a *DeniedError when addr may not be dialed. IPv4-mapped IPv6 addresses are
// checked as the IPv4 address they carry.
func (p *Policy) Check(addr netip.Addr) error {
	if p == nil {
		return nil
	}
	addr = addr.Unmap().WithZone("")
	for _, a := range p.allow {
		if a.Contains(addr) {
			return nil
		}
	}
	for _, d := range p.deny {
		if d.Contains(addr) {
			return &DeniedError{Addr: addr, Prefix: d}
		}
	}
	return nil
}

// Control is a net.Dialer Control hook: it runs after name resolution, on the address about to be
// dialed, and refuses it before any packet is sent.
func (p *Policy) Control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("endpoint policy: cannot read dial address %q: %w", address, err)
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("endpoint policy: dial address %q is not an IP address", address)
	}
	return p.Check(addr)
}

// String lists the rules, for the manager's start-up log.
func (p *Policy) String() string {
	join := func(ps []netip.Prefix) string {
		s := make([]string, len(ps))
		for i, x := range ps {
			s[i] = x.String()
		}
		return strings.Join(s, ",")
	}
	return "deny=" + join(p.deny) + " allow=" + join(p.allow)
}
