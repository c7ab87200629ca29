package inspect

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkSQLiteAdd measures the store's write path as the capture
// endpoint drives it: 32 concurrent callers, each adding a 1 KiB JSON
// exchange and waiting for its commit.
//
//	go test -run '^$' -bench SQLiteAdd -benchtime 20000x ./inspect/
func BenchmarkSQLiteAdd(b *testing.B) {
	for _, c := range []struct {
		retain  int64
		callers int
	}{{0, 1}, {0, 2}, {0, 3}, {0, 32}, {5000, 32}} {
		retain := c.retain
		b.Run(fmt.Sprintf("retain=%d/callers=%d", retain, c.callers), func(b *testing.B) {
			s, err := OpenSQLite(b.TempDir(), Options{RetainCount: retain})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			body := []byte(`{"data":"` + strings.Repeat("x", 1000) + `"}`)
			var ids IDs
			var n atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			cpu0 := cpuTime()
			for range c.callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n.Add(1) <= int64(b.N) {
						now := time.Now()
						ex := &Exchange{ID: ids.New(now), Bin: "default", Source: SourceCapture, Time: now,
							Request: Request{Method: "POST", URL: "http://127.0.0.1:8080/webhook", Proto: "HTTP/1.1", Host: "127.0.0.1:8080",
								RemoteAddr: "127.0.0.1:40000", Headers: Headers{{"Host", "127.0.0.1:8080"}, {"Content-Type", "application/json"}, {"Content-Length", "1010"}},
								Body: body, Size: int64(len(body))},
							Response: &Response{Status: 200, Headers: Headers{{"Content-Type", "application/json"}}, Body: []byte(`{"ok":true,"id":"x","bin":"default"}`), Size: 36}}
						if err := s.Add(context.Background(), ex); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			s.Close()
			b.ReportMetric(float64(s.commits.Load())/float64(b.N), "commits/op")
			// CPU time is steadier than wall time on a shared machine.
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
