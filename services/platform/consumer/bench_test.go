package consumer_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/platform/consumer"
	"github.com/avenir-normandie/avenir/services/platform/event"
)

// BenchmarkConsume measures how fast a runner drains b.N pre-published events
// with a no-op handler, from Start to the last handler call.
func BenchmarkConsume(b *testing.B) {
	for _, bc := range []struct {
		name    string
		ordered bool
	}{{"plain", false}, {"ordered", true}} {
		b.Run(bc.name, func(b *testing.B) {
			h := newHarness(b)
			publishAsync(b, h, b.N)
			var handled atomic.Int64
			done := make(chan struct{})
			s := consumer.Spec{Stream: testStream, Name: "bench", Ordered: bc.ordered}
			b.ResetTimer()
			h.start(s, func(context.Context, event.Event) error {
				if handled.Add(1) == int64(b.N) {
					close(done)
				}
				return nil
			})
			<-done
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// publishAsync publishes n events, a thousand at a time, without waiting
// for each acknowledgement.
func publishAsync(b *testing.B, h *harness, n int) {
	b.Helper()
	const chunk = 1000
	for i := range n {
		if _, err := h.js.PublishMsgAsync(eventMsg(b, context.Background(), i)); err != nil {
			b.Fatal(err)
		}
		if (i+1)%chunk != 0 && i+1 != n {
			continue
		}
		select {
		case <-h.js.PublishAsyncComplete():
		case <-time.After(time.Minute):
			b.Fatal("publishing timed out")
		}
	}
}
