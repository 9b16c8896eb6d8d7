//go:build linux

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

package livesync

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/toolregistry/mcp-registry-operator/test/mcpserver"
	"github.com/toolregistry/mcp-registry-operator/test/utils"
)

// BenchmarkIdleStreams opens 1,000 live streams (Streamable HTTP, 2025-11-25 sessions) to one
// in-process stateful test server and reports, per stream, the goroutines and heap of both ends
// (the server's sessions are in the same process), and the requests made while they idle for
// 10 s (0: an idle stream costs nothing but its connection). Use -benchtime=1x.
func BenchmarkIdleStreams(b *testing.B) {
	const streams = 1000
	s, err := mcpserver.Start("127.0.0.1:0", mcpserver.Config{Tools: mcpserver.GeneratedTools(1), Stateful: true})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	for range b.N {
		m := New(Options{Egress: utils.LoopbackEgress(), MaxStreams: streams, Version: "bench"})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = m.Start(ctx) }()
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		goroutines := runtime.NumGoroutine()
		for i := range streams {
			m.Ensure(types.NamespacedName{Namespace: "bench", Name: fmt.Sprintf("s%04d", i)}, 1, testEndpoint(s, ""))
		}
		deadline := time.Now().Add(2 * time.Minute)
		for s.Sessions() < streams {
			if time.Now().After(deadline) {
				b.Fatalf("only %d of %d streams connected", s.Sessions(), streams)
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(time.Second)
		requests := s.Requests()
		cpuStart := time.Now()
		cpu := cpuTime()
		time.Sleep(10 * time.Second)
		idleCPU := cpuTime() - cpu
		idleRequests := s.Requests() - requests
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(runtime.NumGoroutine()-goroutines)/streams, "goroutines/stream")
		b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/streams/1024, "heap-KiB/stream")
		b.ReportMetric(float64(idleRequests), "idle-requests")
		b.ReportMetric(100*idleCPU.Seconds()/time.Since(cpuStart).Seconds(), "idle-cpu-%")
		cancel()
		<-done
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
