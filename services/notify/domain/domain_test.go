package domain_test

import (
	"slices"
	"testing"

	"github.com/avenir-normandie/avenir/services/notify/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
)

func fold(evs ...domain.Event) domain.Notification {
	var n domain.Notification
	for _, e := range evs {
		n = domain.Evolve(n, e)
	}
	return n
}

func TestNotificationLifecycle(t *testing.T) {
	n := domain.Notification{ID: "n-1", Recipient: "learner:l-1", Kind: domain.KindPlaceBooked}
	created := domain.Created{Notification: n}
	cases := []struct {
		name   string
		given  []domain.Event
		when   func(domain.Notification) ([]domain.Event, error)
		then   []domain.Event
		refuse apperr.Kind
	}{
		{"created once", nil, func(s domain.Notification) ([]domain.Event, error) { return domain.Create(s, n) }, []domain.Event{created}, 0},
		{"created again: nothing", []domain.Event{created}, func(s domain.Notification) ([]domain.Event, error) { return domain.Create(s, n) }, nil, 0},
		{"no recipient", nil, func(s domain.Notification) ([]domain.Event, error) {
			return domain.Create(s, domain.Notification{ID: "n-2", Kind: domain.KindPlaceBooked})
		}, nil, apperr.KindInvalidArgument},
		{"sent", []domain.Event{created}, func(s domain.Notification) ([]domain.Event, error) { return domain.MarkSent(s, "m") }, []domain.Event{domain.Sent{ID: "n-1", MessageID: "m"}}, 0},
		{"sent twice: nothing", []domain.Event{created, domain.Sent{ID: "n-1"}}, func(s domain.Notification) ([]domain.Event, error) { return domain.MarkSent(s, "m") }, nil, 0},
		{"failed after sent: nothing", []domain.Event{created, domain.Sent{ID: "n-1"}}, func(s domain.Notification) ([]domain.Event, error) { return domain.MarkFailed(s, "x", 3) }, nil, 0},
		{"failed", []domain.Event{created}, func(s domain.Notification) ([]domain.Event, error) { return domain.MarkFailed(s, "x", 3) }, []domain.Event{domain.Failed{ID: "n-1", Reason: "x", Deliveries: 3}}, 0},
		{"read", []domain.Event{created}, domain.MarkRead, []domain.Event{domain.Read{ID: "n-1"}}, 0},
		{"read twice: nothing", []domain.Event{created, domain.Read{ID: "n-1"}}, domain.MarkRead, nil, 0},
		{"read unknown", nil, domain.MarkRead, nil, apperr.KindNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.when(fold(c.given...))
			if c.refuse != 0 {
				if apperr.KindOf(err) != c.refuse {
					t.Fatalf("got %v, want a %v", err, c.refuse)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.then) {
				t.Fatalf("got %v, want %v", got, c.then)
			}
		})
	}
}

func TestSetPreferences(t *testing.T) {
	def := domain.DefaultPreferences("referent:r-1")
	if def.Set || def.Email != "" || !def.WantsEmail(domain.KindBookingCancelled) {
		t.Fatalf("defaults %+v", def)
	}
	evs, err := domain.SetPreferences(def, domain.Preferences{Email: " anne@afpa.example ", EmailKinds: []domain.Kind{domain.KindReferentAssigned}})
	if err != nil || len(evs) != 1 {
		t.Fatalf("%v %v", evs, err)
	}
	p := domain.EvolvePreferences(def, evs[0])
	if p.Email != "anne@afpa.example" || p.Recipient != "referent:r-1" || !p.Set || p.WantsEmail(domain.KindPlaceBooked) || !p.WantsEmail(domain.KindReferentAssigned) {
		t.Fatalf("preferences %+v", p)
	}
	if evs, err := domain.SetPreferences(p, domain.Preferences{Email: "anne@afpa.example", EmailKinds: []domain.Kind{domain.KindReferentAssigned}}); err != nil || evs != nil {
		t.Fatalf("the same again: %v %v", evs, err)
	}
	for _, bad := range []domain.Preferences{
		{Email: "Anne <anne@afpa.example>"},
		{Email: "pas une adresse"},
		{EmailKinds: []domain.Kind{domain.KindPlaceBooked, domain.KindPlaceBooked}},
		{EmailKinds: []domain.Kind{99}},
	} {
		if _, err := domain.SetPreferences(def, bad); apperr.KindOf(err) != apperr.KindInvalidArgument {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}
