package domain_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/funding/domain"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// TestStatementsProperty runs random report sequences — batches with
// invalid, duplicate and over-cap lines, corrections, rate changes and
// closures seen late by the deciders — and checks that:
//   - the statements' totals add up to the sum of the accepted lines'
//     amounts at their rates plus the corrections' deltas, which is also the
//     sum over the ledgers of Amount(current minutes, rate);
//   - no learner-day or learner-week exceeds its cap;
//   - a closed statement never changes after its closure;
//   - each export's TOTAL row equals its statement's total;
//   - folding the same events again gives the same statements.
func TestStatementsProperty(t *testing.T) {
	for seed := uint64(1); seed <= 60; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { statementsProperty(t, seed) })
	}
}

func statementsProperty(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 2026))
	tm := terms()
	tm.TraineeHourCents = rng.Int64N(5000) + 1
	log := []domain.Event{domain.ContractCreated{ContractID: "c-1", Terms: tm}}
	b := domain.NewBooks()
	b.Apply(log[0])
	emit := func(evs ...domain.Event) {
		for _, ev := range evs {
			log = append(log, ev)
			b.Apply(ev)
		}
	}
	enrol := domain.Episodes{}
	for i := range 6 {
		enrol[fmt.Sprint("l-", i)] = []domain.Episode{{Number: 1, Entry: day(time.January, 1)}}
	}
	ledgers := map[domain.LedgerBatchKey]*domain.HoursLedger{}
	owner := map[string]domain.LedgerBatchKey{}
	view := domain.Closed{} // what the deciders know: lags the closures
	var pendingClose []civil.Month
	nextClose := month(time.January)
	closedTotals := map[civil.Month]domain.Totals{}
	var expected int64
	nextID := 0
	var ids []string

	for range 120 {
		switch op := rng.IntN(10); {
		case op < 6: // a report
			n := rng.IntN(40) + 1
			lines := make([]domain.ReportedLine, n)
			for i := range lines {
				id := fmt.Sprint("L", nextID)
				nextID++
				if len(ids) > 0 && rng.IntN(10) == 0 {
					id = ids[rng.IntN(len(ids))] // a retried or clashing id
				}
				lines[i] = domain.ReportedLine{Index: i, ID: id, LearnerID: fmt.Sprint("l-", rng.IntN(6)),
					Date: day(time.January, 1).AddDays(rng.IntN(120)), Minutes: rng.IntN(300) - 5, Activity: domain.ActivityFaceToFace}
			}
			groups, _ := domain.SplitReport(lines, nil)
			for _, g := range groups {
				k := domain.LedgerBatchKey{LearnerID: g.LearnerID, Week: g.Week}
				l := ledgers[k]
				if l == nil {
					l = domain.NewHoursLedger()
					ledgers[k] = l
				}
				evs, results := domain.DecideHours(l, domain.ReportHours{
					LedgerID: fmt.Sprint(k), ContractID: "c-1", LearnerID: g.LearnerID, Week: g.Week, RequestID: "r", Terms: tm,
					Lines: g.Lines, Enrolment: enrol, Closed: view,
					TakenElsewhere: func(id string) bool { o, ok := owner[id]; return ok && o != k },
				})
				for _, r := range results {
					if r.Accepted && !r.Already {
						expected += r.AmountCts
						owner[r.LineID] = k
						ids = append(ids, r.LineID)
					}
				}
				for _, ev := range evs {
					l.Apply(ev)
				}
				emit(evs...)
			}
		case op < 8 && len(ids) > 0: // a correction
			id := ids[rng.IntN(len(ids))]
			k := owner[id]
			l := ledgers[k]
			if _, isLine := l.Lines[id]; !isLine {
				continue
			}
			cid := fmt.Sprint("C", nextID)
			nextID++
			evs, r, err := domain.DecideCorrection(l, domain.CorrectLine{LearnerID: k.LearnerID, CorrectsID: id, LineID: cid, Minutes: rng.IntN(300),
				Activity: domain.ActivityDistance, Reason: "fix", Terms: tm, Enrolment: enrol, Closed: view,
				TakenElsewhere: func(id string) bool { _, ok := owner[id]; return ok }})
			if err != nil {
				t.Fatal(err)
			}
			if r.Accepted && !r.Already {
				expected += r.AmountCts
				owner[cid] = k
			}
			for _, ev := range evs {
				l.Apply(ev)
			}
			emit(evs...)
		case op == 8: // a closure, seen by the deciders one operation later
			if nextClose.Compare(month(time.April)) > 0 {
				continue
			}
			st := domain.StatementState{}
			today := nextClose.Last().AddDays(1)
			evs, err := domain.DecideStatement(st, domain.CloseStatement{ContractID: "c-1", Period: nextClose, Today: today, Terms: tm, Totals: b.Statement(nextClose).Totals})
			if err != nil {
				t.Fatal(err)
			}
			emit(evs...)
			closedTotals[nextClose] = b.Statement(nextClose).Totals
			pendingClose = append(pendingClose, nextClose)
			nextClose = nextClose.Next()
			continue
		default: // a new rate: lines already reported keep theirs
			tm.TraineeHourCents = rng.Int64N(5000)
			emit(domain.ContractUpdated{ContractID: "c-1", Terms: tm, Reason: "rate"})
		}
		for _, p := range pendingClose {
			view[p] = true
		}
		pendingClose = nil
	}

	var fromLedgers int64
	for k, l := range ledgers {
		days := map[civil.Date]int{}
		week := 0
		for _, ln := range l.Lines {
			fromLedgers += domain.Amount(ln.Current, ln.Rate)
			days[ln.Date] += ln.Current
			week += ln.Current
		}
		for d, m := range days {
			if m > tm.DailyCapMinutes {
				t.Fatalf("%v: %d minutes on %s", k, m, d)
			}
		}
		if week > tm.WeeklyCapMinutes {
			t.Fatalf("%v: %d minutes in the week", k, week)
		}
	}
	var total int64
	for _, p := range b.Periods() {
		st := b.Statement(p)
		total += st.Totals.Amount
		if want, ok := closedTotals[p]; ok && st.Totals != want {
			t.Fatalf("closed statement %s changed: %+v, was %+v", p, st.Totals, want)
		}
		csv := domain.ExportCSV(st)
		rows := bytes.Split(bytes.TrimSuffix(csv, []byte("\r\n")), []byte("\r\n"))
		last := bytes.Split(rows[len(rows)-1], []byte(";"))
		if n, _ := strconv.ParseInt(string(last[len(last)-2]), 10, 64); n != st.Totals.Amount {
			t.Fatalf("export of %s totals %d, statement %d", p, n, st.Totals.Amount)
		}
	}
	if total != expected || total != fromLedgers {
		t.Fatalf("statements total %d, accepted lines and corrections %d, ledgers %d", total, expected, fromLedgers)
	}
	again := domain.NewBooks()
	for _, ev := range log {
		again.Apply(ev)
	}
	if !reflect.DeepEqual(again.Periods(), b.Periods()) {
		t.Fatalf("periods %v, replayed %v", b.Periods(), again.Periods())
	}
	for _, p := range b.Periods() {
		if !reflect.DeepEqual(again.Statement(p), b.Statement(p)) {
			t.Fatalf("statement %s differs when replayed", p)
		}
	}
}
