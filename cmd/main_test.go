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

package main

import (
	"flag"
	"strings"
	"testing"
	"time"
)

func TestValidateLeaderElection(t *testing.T) {
	cases := []struct {
		name                string
		lease, renew, retry time.Duration
		wantErr             string
	}{
		{name: "defaults", lease: 15 * time.Second, renew: 10 * time.Second, retry: 2 * time.Second},
		{name: "fast failover", lease: 4 * time.Second, renew: 3 * time.Second, retry: 500 * time.Millisecond},
		{name: "retry not positive", lease: 15 * time.Second, renew: 10 * time.Second, retry: 0, wantErr: "--leader-elect-retry-period"},
		{name: "renew within jitter of retry", lease: 15 * time.Second, renew: 2 * time.Second, retry: 2 * time.Second, wantErr: "--leader-elect-renew-deadline"},
		{name: "lease not above renew", lease: 10 * time.Second, renew: 10 * time.Second, retry: 2 * time.Second, wantErr: "--leader-elect-lease-duration"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := validateLeaderElection(tc.lease, tc.renew, tc.retry)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v does not name %s", err, tc.wantErr)
			}
		})
	}
}

// A bad flag fails the manager before it contacts anything, naming the flag.
func TestRunRejectsBadFlags(t *testing.T) {
	for _, tc := range []struct{ args, want string }{
		{"--endpoint-deny-cidrs=10.0.0.0/8,not-a-cidr", `invalid --endpoint-deny-cidrs entry "not-a-cidr"`},
		{"--endpoint-allow-cidrs=10.0.0.0/40", `invalid --endpoint-allow-cidrs entry "10.0.0.0/40"`},
		{"--max-requests-per-host=0", "invalid --max-requests-per-host 0"},
		{"--max-live-streams=-1", "invalid --max-live-streams -1"},
	} {
		var opts options
		fs := flag.NewFlagSet("manager", flag.ContinueOnError)
		opts.bindFlags(fs)
		if err := fs.Parse([]string{tc.args}); err != nil {
			t.Fatal(err)
		}
		if err := run(opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: run = %v, want %q", tc.args, err, tc.want)
		}
	}
}
