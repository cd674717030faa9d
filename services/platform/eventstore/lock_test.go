package eventstore

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestKeyedLocksSerialiseOneKeyAndLeaveOthersFree(t *testing.T) {
	var l keyedLocks
	ctx := context.Background()
	var (
		mu      sync.Mutex
		inside  int
		maxSeen int
		wg      sync.WaitGroup
	)
	for range 50 {
		wg.Go(func() {
			release, err := l.lock(ctx, "b", "a")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			inside++
			maxSeen = max(maxSeen, inside)
			mu.Unlock()
			time.Sleep(100 * time.Microsecond)
			mu.Lock()
			inside--
			mu.Unlock()
			release()
		})
		wg.Go(func() {
			release, err := l.lock(ctx, "a")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			inside++
			maxSeen = max(maxSeen, inside)
			mu.Unlock()
			mu.Lock()
			inside--
			mu.Unlock()
			release()
		})
	}
	wg.Wait()
	if maxSeen != 1 {
		t.Fatalf("%d holders of key a at once, want 1", maxSeen)
	}
	if len(l.locks) != 0 {
		t.Fatalf("%d locks left after every holder released", len(l.locks))
	}

	release, err := l.lock(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	other, err := l.lock(ctx, "c")
	if err != nil {
		t.Fatalf("key c waited for key a: %v", err)
	}
	other()
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := l.lock(short, "c", "a"); err == nil {
		t.Fatal("took key a while it was held")
	}
	release()
	if len(l.locks) != 0 {
		t.Fatalf("%d locks left after a cancelled wait", len(l.locks))
	}
}
