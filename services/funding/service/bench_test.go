package service_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// The volume of the benchmark: a month of an operator's trainee hours.
const (
	benchLearners = 4000
	benchDays     = 25 // working days from Monday 5 October 2026
	benchLines    = benchLearners * benchDays
	benchBatch    = 10_000
)

// BenchmarkReportTraineeHours ingests 100,000 trainee-hour lines (4,000
// learners, 25 working days each) through the batch RPC, 10,000 lines a
// call, over gRPC into JetStream on the embedded server (SyncAlways), and
// waits for the statement read model to have applied them all. In the same
// run it publishes as many messages of the same size straight to a stream
// with JetStream's async publish and waits for their acknowledgements: the
// raw ceiling of this machine. It reports both rates and their ratio.
// "sealed" runs funding as avenir does, the key store being the event
// codecs' Sealer; "unsealed" with plainSealer, which seals nothing: hour
// lines carry no personal field, so the difference is what looking for
// personal fields costs the ingest.
//
//	make bench BENCH=ReportTraineeHours
func BenchmarkReportTraineeHours(b *testing.B) {
	for _, bc := range []struct {
		name   string
		sealer event.Sealer
	}{
		{"sealed", nil},
		{"unsealed", plainSealer{}},
	} {
		b.Run(bc.name, func(b *testing.B) { benchReportTraineeHours(b, servicetest.Options{Sealer: bc.sealer}) })
	}
}

func benchReportTraineeHours(b *testing.B, opts servicetest.Options) {
	for range b.N {
		b.StopTimer()
		e := start(b, opts)
		tm := terms("op-5")
		tm.AnnualEnvelopeCents = 10_000_000_000 // a month of 4,000 learners is about 4.7 M€
		contract := createContract(b, e, tm)
		client := fundingv1.NewFundingServiceClient(e.ConnAs(b, operator5))
		learners := make([]string, benchLearners)
		for i := range learners {
			learners[i] = learner(b, e, day(time.October, 1), contract)
		}
		e.CaughtUp(b)
		days := workingDays(day(time.October, 5), benchDays)
		batches := make([]*fundingv1.ReportTraineeHoursRequest, 0, benchLines/benchBatch)
		var sample []byte
		n := 0
		for _, l := range learners {
			for _, d := range days {
				if n%benchBatch == 0 {
					batches = append(batches, &fundingv1.ReportTraineeHoursRequest{RequestId: event.NewID(), ContractId: contract})
				}
				ln := line(fmt.Sprintf("L-%06d", n), l, d, 210)
				batches[len(batches)-1].Lines = append(batches[len(batches)-1].Lines, ln)
				if sample == nil {
					sample, _ = proto.Marshal(ln)
				}
				n++
			}
		}

		b.StartTimer()
		began := time.Now()
		accepted := 0
		for _, req := range batches {
			resp, err := client.ReportTraineeHours(context.Background(), req)
			if err != nil {
				b.Fatal(err)
			}
			accepted += int(resp.GetAccepted())
		}
		waitForBooks(b, e)
		ingest := time.Since(began)
		b.StopTimer()
		if accepted != benchLines {
			b.Fatalf("%d lines accepted of %d", accepted, benchLines)
		}

		raw := rawPublish(b, e, sample, benchLines)
		lineRate, rawRate := float64(benchLines)/ingest.Seconds(), float64(benchLines)/raw.Seconds()
		b.ReportMetric(lineRate, "lines/s")
		b.ReportMetric(rawRate, "raw-msgs/s")
		b.ReportMetric(lineRate/rawRate, "ratio")
		b.StartTimer()
	}
}

// plainSealer "seals" by copying: personal fields are stored in clear.
// For measuring what sealing costs, never for storing anything.
type plainSealer struct{}

func (plainSealer) Seal(_ context.Context, keyID string, plaintext, _ []byte) (*commonv1.Sealed, error) {
	return &commonv1.Sealed{KeyId: keyID, Ciphertext: plaintext}, nil
}

func (plainSealer) Open(_ context.Context, s *commonv1.Sealed, _ []byte) ([]byte, error) {
	return s.GetCiphertext(), nil
}

// workingDays are n days from Monday from, Mondays to Fridays.
func workingDays(from civil.Date, n int) []civil.Date {
	var days []civil.Date
	for d := from; len(days) < n; d = d.AddDays(1) {
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			days = append(days, d)
		}
	}
	return days
}

// waitForBooks waits until the statement read model has applied every
// FUNDING event.
func waitForBooks(b *testing.B, e *env) {
	b.Helper()
	st, err := e.JS.Stream(context.Background(), "FUNDING")
	if err != nil {
		b.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	servicetest.Eventually(b, 5*time.Minute, func() error {
		cp, err := e.Deps.Projections.Checkpoint(context.Background(), "funding-books-v3")
		if err != nil {
			return err
		}
		if cp < info.State.LastSeq {
			return fmt.Errorf("funding-books-v3 at %d of %d", cp, info.State.LastSeq)
		}
		return nil
	})
}

// rawPublish publishes n messages of payload to a stream made like the
// services' on the same server, with async publish and a bounded window,
// and returns the time until the last acknowledgement.
func rawPublish(b *testing.B, e *env, payload []byte, n int) time.Duration {
	b.Helper()
	spec := natsx.StreamSpec{Name: "RAW_BENCH", Subjects: []string{"bench.raw.>"}}
	if _, err := natsx.EnsureStream(context.Background(), e.JS, spec, natsx.Topology{}); err != nil {
		b.Fatal(err)
	}
	const window = 1000
	began := time.Now()
	for i := range n {
		msg := &nats.Msg{Subject: fmt.Sprintf("bench.raw.%d", i%benchLearners), Data: payload}
		if _, err := e.JS.PublishMsgAsync(msg); err != nil {
			b.Fatal(err)
		}
		if (i+1)%window != 0 && i+1 != n {
			continue
		}
		select {
		case <-e.JS.PublishAsyncComplete():
		case <-time.After(time.Minute):
			b.Fatal("raw publish timed out")
		}
	}
	return time.Since(began)
}
