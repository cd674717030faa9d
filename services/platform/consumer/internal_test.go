package consumer

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestBackoffPerDelivery(t *testing.T) {
	s, err := Spec{Stream: "S", Name: "n"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	for delivered, want := range map[uint64]time.Duration{
		0: time.Second, 1: time.Second, 2: 5 * time.Second, 5: 10 * time.Minute, 9: 10 * time.Minute,
	} {
		if got := s.backoff(delivered); got != want {
			t.Errorf("backoff(%d) = %v, want %v", delivered, got, want)
		}
	}
	if s.MaxDeliver != 10 || s.AckWait != 30*time.Second || s.Batch != 100 {
		t.Errorf("defaults: %+v", s)
	}
	s.BackOff[0] = time.Hour
	if defaultBackOff[0] != time.Second {
		t.Fatal("the spec shares the default BackOff slice")
	}
}

func TestPermanentIsRecognisedThroughWrapping(t *testing.T) {
	base := errors.New("bad input")
	err := fmt.Errorf("handler: %w", Permanent(base))
	if !isPermanent(err) || !errors.Is(err, base) {
		t.Fatalf("wrapped Permanent not recognised: %v", err)
	}
	if isPermanent(base) {
		t.Fatal("plain error taken for permanent")
	}
}

func TestHeaderValue(t *testing.T) {
	if got := headerValue("line one\r\nline two"); got != "line one  line two" {
		t.Errorf("newlines kept: %q", got)
	}
	long := strings.Repeat("é", maxReason) // 2 bytes each
	got := headerValue(long)
	if len(got) > maxReason || !utf8.ValidString(got) {
		t.Errorf("truncated to %d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
	}
	if got := headerValue("bad \xff byte"); !utf8.ValidString(got) {
		t.Errorf("invalid UTF-8 kept: %q", got)
	}
}
