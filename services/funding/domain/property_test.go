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

// TestStatementsProperty runs random report sequences under two contracts
// sharing their learners — batches with invalid, duplicate and over-cap
// lines, corrections, rate changes and closures seen late by the deciders,
// learners with immersion days — and checks that:
//   - each contract's statements' totals add up to the sum of its accepted
//     lines' amounts at their rates plus its corrections' deltas, which is
//     also the sum over the ledgers of Amount(current minutes, rate) of its
//     lines;
//   - no learner-day exceeds the scheme's daily cap across both contracts
//     and the immersion, nor a contract's own cap; no learner-week the
//     weekly caps;
//   - a closed statement never changes after its closure;
//   - each export's TOTAL row equals its statement's total;
//   - folding the same events again gives the same statements.
func TestStatementsProperty(t *testing.T) {
	for seed := uint64(1); seed <= 60; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { statementsProperty(t, seed) })
	}
}

// propertyContract is one contract of the property: its terms, its events
// and books, and what its deciders know.
type propertyContract struct {
	id           string
	tm           domain.Terms
	log          []domain.Event
	b            *domain.Books
	owner        map[string]domain.LedgerBatchKey
	ids          []string
	view         domain.Closed // what the deciders know: lags the closures
	pendingClose []civil.Month
	nextClose    civil.Month
	closedTotals map[civil.Month]domain.Totals
	expected     int64
}

func (pc *propertyContract) emit(evs ...domain.Event) {
	for _, ev := range evs {
		pc.log = append(pc.log, ev)
		pc.b.Apply(ev)
	}
}

func statementsProperty(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 2026))
	contracts := make([]*propertyContract, 2)
	for i := range contracts {
		tm := terms()
		tm.OperatorID = fmt.Sprint("op-", i+1)
		tm.TraineeHourCents = rng.Int64N(5000) + 1
		if i == 1 {
			tm.DailyCapMinutes, tm.WeeklyCapMinutes = 300, 1200
		}
		pc := &propertyContract{id: fmt.Sprint("c-", i+1), tm: tm, b: domain.NewBooks(), owner: map[string]domain.LedgerBatchKey{},
			view: domain.Closed{}, nextClose: month(time.January), closedTotals: map[civil.Month]domain.Totals{}}
		pc.emit(domain.ContractCreated{ContractID: pc.id, Terms: tm})
		contracts[i] = pc
	}
	learners := domain.Learners{}
	for i := range 6 {
		id := fmt.Sprint("l-", i)
		l := domain.Learner{ID: id, Territory: "T05", Immersion: map[civil.Date]int{}}
		for n, c := range contracts {
			l.Enrolments = append(l.Enrolments, domain.Enrolment{Number: n + 1, ContractID: c.id, From: day(time.January, 1)})
		}
		for range rng.IntN(4) {
			l.Immersion[day(time.January, 1).AddDays(rng.IntN(120))] = rng.IntN(420) + 1
		}
		learners[id] = l
	}
	ledgers := map[domain.LedgerBatchKey]*domain.HoursLedger{}
	nextID := 0

	for range 160 {
		pc := contracts[rng.IntN(len(contracts))]
		switch op := rng.IntN(10); {
		case op < 6: // a report
			n := rng.IntN(40) + 1
			lines := make([]domain.ReportedLine, n)
			for i := range lines {
				id := fmt.Sprint("L", nextID)
				nextID++
				if len(pc.ids) > 0 && rng.IntN(10) == 0 {
					id = pc.ids[rng.IntN(len(pc.ids))] // a retried or clashing id
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
					LedgerID: fmt.Sprint(k), ContractID: pc.id, LearnerID: g.LearnerID, Week: g.Week, RequestID: "r", Terms: pc.tm,
					Lines: g.Lines, Learner: learners.Get(g.LearnerID), Closed: pc.view, Today: today,
					TakenElsewhere: func(id string) bool { o, ok := pc.owner[id]; return ok && o != k },
				})
				for _, r := range results {
					if r.Accepted && !r.Already {
						pc.expected += r.AmountCts
						pc.owner[r.LineID] = k
						pc.ids = append(pc.ids, r.LineID)
					}
				}
				for _, ev := range evs {
					l.Apply(ev)
				}
				pc.emit(evs...)
			}
		case op < 8 && len(pc.ids) > 0: // a correction
			id := pc.ids[rng.IntN(len(pc.ids))]
			k := pc.owner[id]
			l := ledgers[k]
			if _, isLine := l.Lines[domain.LineRef{ContractID: pc.id, ID: id}]; !isLine {
				continue
			}
			cid := fmt.Sprint("C", nextID)
			nextID++
			evs, r, err := domain.DecideCorrection(l, domain.CorrectLine{ContractID: pc.id, LearnerID: k.LearnerID, CorrectsID: id, LineID: cid, Minutes: rng.IntN(300),
				Activity: domain.ActivityDistance, Reason: "fix", Terms: pc.tm, Learner: learners.Get(k.LearnerID), Closed: pc.view, Today: today,
				TakenElsewhere: func(id string) bool { _, ok := pc.owner[id]; return ok }})
			if err != nil {
				t.Fatal(err)
			}
			if r.Accepted && !r.Already {
				pc.expected += r.AmountCts
				pc.owner[cid] = k
			}
			for _, ev := range evs {
				l.Apply(ev)
			}
			pc.emit(evs...)
		case op == 8: // a closure, seen by the deciders one operation later
			if pc.nextClose.Compare(month(time.April)) > 0 {
				continue
			}
			st := domain.StatementState{}
			closedOn := pc.nextClose.Last().AddDays(1)
			evs, err := domain.DecideStatement(st, domain.CloseStatement{ContractID: pc.id, Period: pc.nextClose, Today: closedOn, Terms: pc.tm, Totals: pc.b.Statement(pc.nextClose).Totals})
			if err != nil {
				t.Fatal(err)
			}
			pc.emit(evs...)
			pc.closedTotals[pc.nextClose] = pc.b.Statement(pc.nextClose).Totals
			pc.pendingClose = append(pc.pendingClose, pc.nextClose)
			pc.nextClose = pc.nextClose.Next()
			continue
		default: // a new rate: lines already reported keep theirs
			pc.tm.TraineeHourCents = rng.Int64N(5000)
			pc.emit(domain.ContractUpdated{ContractID: pc.id, Terms: pc.tm, Reason: "rate"})
		}
		for _, p := range pc.pendingClose {
			pc.view[p] = true
		}
		pc.pendingClose = nil
	}

	fromLedgers := map[string]int64{}
	for k, l := range ledgers {
		days := map[civil.Date]int{}
		own := map[domain.LineRef]int{} // per contract and day (ID: the date)
		week := map[string]int{}
		total := 0
		for ref, ln := range l.Lines {
			fromLedgers[ref.ContractID] += domain.Amount(ln.Current, ln.Rate)
			days[ln.Date] += ln.Current
			own[domain.LineRef{ContractID: ref.ContractID, ID: ln.Date.String()}] += ln.Current
			week[ref.ContractID] += ln.Current
			total += ln.Current
		}
		imm := learners.Get(k.LearnerID).Immersion
		for d, m := range days {
			if m+imm[d] > domain.SchemeDailyCapMinutes {
				t.Fatalf("%v: %d minutes and %d of immersion on %s", k, m, imm[d], d)
			}
		}
		weekImm := 0
		for d, m := range imm {
			if domain.WeekOf(d) == k.Week {
				weekImm += m
			}
		}
		if total > 0 && total+weekImm > domain.SchemeWeeklyCapMinutes {
			t.Fatalf("%v: %d minutes and %d of immersion in the week", k, total, weekImm)
		}
		for _, pc := range contracts {
			if week[pc.id] > pc.tm.WeeklyCapMinutes {
				t.Fatalf("%v: %d minutes under %s in the week", k, week[pc.id], pc.id)
			}
			for ref, m := range own {
				if ref.ContractID == pc.id && m > pc.tm.DailyCapMinutes {
					t.Fatalf("%v: %d minutes under %s on %s", k, m, pc.id, ref.ID)
				}
			}
		}
	}
	for _, pc := range contracts {
		var total int64
		for _, p := range pc.b.Periods() {
			st := pc.b.Statement(p)
			total += st.Totals.Amount
			if want, ok := pc.closedTotals[p]; ok && st.Totals != want {
				t.Fatalf("%s: closed statement %s changed: %+v, was %+v", pc.id, p, st.Totals, want)
			}
			csv := domain.ExportCSV(st)
			rows := bytes.Split(bytes.TrimSuffix(csv, []byte("\r\n")), []byte("\r\n"))
			last := bytes.Split(rows[len(rows)-1], []byte(";"))
			if n, _ := strconv.ParseInt(string(last[len(last)-2]), 10, 64); n != st.Totals.Amount {
				t.Fatalf("%s: export of %s totals %d, statement %d", pc.id, p, n, st.Totals.Amount)
			}
		}
		if total != pc.expected || total != fromLedgers[pc.id] {
			t.Fatalf("%s: statements total %d, accepted lines and corrections %d, ledgers %d", pc.id, total, pc.expected, fromLedgers[pc.id])
		}
		again := domain.NewBooks()
		for _, ev := range pc.log {
			again.Apply(ev)
		}
		if !reflect.DeepEqual(again.Periods(), pc.b.Periods()) {
			t.Fatalf("%s: periods %v, replayed %v", pc.id, pc.b.Periods(), again.Periods())
		}
		for _, p := range pc.b.Periods() {
			if !reflect.DeepEqual(again.Statement(p), pc.b.Statement(p)) {
				t.Fatalf("%s: statement %s differs when replayed", pc.id, p)
			}
		}
	}
}
