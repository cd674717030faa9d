package paging_test

import (
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
