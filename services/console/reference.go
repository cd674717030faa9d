package console

import (
	"context"
	"sync"
	"time"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
)

// territoriesTTL is how long the territories read from intake are kept:
// reference data, changed by a redeployment at most.
const territoriesTTL = 10 * time.Minute

// territories keeps the territories intake knows, to show names beside
// codes ("Caen (T01)").
type territories struct {
	mu      sync.Mutex
	list    []*intakev1.Territory
	byCode  map[string]string
	fetched time.Time
}

// refresh reads the territories when they are stale, with the caller's
// token (every role may list them); a failure keeps what was known.
func (t *territories) refresh(ctx context.Context, intake intakev1.IntakeServiceClient) {
	t.mu.Lock()
	fresh := time.Since(t.fetched) < territoriesTTL
	t.mu.Unlock()
	if fresh {
		return
	}
	res, err := intake.ListTerritories(ctx, &intakev1.ListTerritoriesRequest{})
	if err != nil {
		return
	}
	byCode := make(map[string]string, len(res.GetTerritories()))
	for _, tr := range res.GetTerritories() {
		byCode[tr.GetCode()] = tr.GetName()
	}
	t.mu.Lock()
	t.list, t.byCode, t.fetched = res.GetTerritories(), byCode, time.Now()
	t.mu.Unlock()
}

// label is "Name (code)", or the code when the name is not known.
func (t *territories) label(code string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := t.byCode[code]; n != "" {
		return n + " (" + code + ")"
	}
	return code
}

// all is every territory known, in code order.
func (t *territories) all() []*intakev1.Territory {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.list
}
