package paging_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/paging"
)

func TestSize(t *testing.T) {
	for in, want := range map[int32]int{0: 50, 1: 1, 50: 50, 200: 200, 201: 200, 1 << 30: 200} {
		var v apperr.Violations
		if got := paging.Size(&v, in); got != want || v.Err() != nil {
			t.Errorf("Size(%d) = %d (%v), want %d", in, got, v.Err(), want)
		}
	}
	var v apperr.Violations
	paging.Size(&v, -1)
	if v.Err() == nil {
		t.Error("negative page size accepted")
	}
}

func TestTokens(t *testing.T) {
	q := paging.Fingerprint("search", "lef", "T05")
	tok := paging.Encode(q, "lefevre\x00anais\x00l-1")
	var v apperr.Violations
	if after := paging.Decode(&v, tok, q); after != "lefevre\x00anais\x00l-1" || v.Err() != nil {
		t.Fatalf("decode: %q %v", after, v.Err())
	}
	if after := paging.Decode(&v, "", q); after != "" || v.Err() != nil {
		t.Fatalf("no token: %q %v", after, v.Err())
	}
	if paging.Encode(q, "") != "" {
		t.Error("a last page has a next token")
	}
	if paging.Fingerprint("a", "b") == paging.Fingerprint("ab") || paging.Fingerprint("a;", "b") == paging.Fingerprint("a", ";b") {
		t.Error("fingerprints of different filters collide")
	}
	for _, bad := range []string{"!!", tok[:10], paging.Encode(paging.Fingerprint("search", "le", "T05"), "x")} {
		var v apperr.Violations
		paging.Decode(&v, bad, q)
		if v.Err() == nil {
			t.Errorf("token %q accepted", bad)
		}
	}
}

func TestAllGathersEveryPageAndRefusesALoop(t *testing.T) {
	pages := map[string]struct {
		items []int
		next  string
	}{"": {[]int{1, 2}, "b"}, "b": {[]int{3}, "c"}, "c": {nil, ""}}
	got, err := paging.All(func(token string) ([]int, string, error) {
		p := pages[token]
		return p.items, p.next, nil
	})
	if err != nil || !slices.Equal(got, []int{1, 2, 3}) {
		t.Fatalf("All = %v, %v", got, err)
	}
	loop := func(token string) ([]int, string, error) { return []int{1}, "again", nil }
	if got, err := paging.All(loop); err == nil {
		t.Fatalf("a repeated token was followed: %v", got)
	}
	boom := errors.New("unavailable")
	if _, err := paging.All(func(string) ([]int, string, error) { return nil, "", boom }); !errors.Is(err, boom) {
		t.Fatalf("the error of a page: %v", err)
	}
}
