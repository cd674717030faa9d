package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
)

// fakeReferents answers as a referent service would, and keeps what it
// was asked.
type fakeReferents struct {
	referentv1.UnimplementedReferentServiceServer
	mu      sync.Mutex
	updates []*referentv1.UpdateReferentRequest
	lists   []string // territories listed, in order
}

func (s *fakeReferents) UpdateReferent(_ context.Context, req *referentv1.UpdateReferentRequest) (*referentv1.UpdateReferentResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updates = append(s.updates, proto.CloneOf(req))
	return &referentv1.UpdateReferentResponse{Referent: &referentv1.Referent{ReferentId: req.GetReferentId(), Profile: req.GetProfile()}}, nil
}

// ListReferents lists one referent per territory; T14 is out of reach.
func (s *fakeReferents) ListReferents(_ context.Context, req *referentv1.ListReferentsRequest) (*referentv1.ListReferentsResponse, error) {
	s.mu.Lock()
	s.lists = append(s.lists, req.GetTerritoryCode())
	s.mu.Unlock()
	if req.GetTerritoryCode() == "T14" {
		return nil, status.Error(codes.Unavailable, "the referents read model does not answer")
	}
	return &referentv1.ListReferentsResponse{
		Referents: []*referentv1.Referent{
			{ReferentId: "ref-" + req.GetTerritoryCode(), Profile: &referentv1.ReferentProfile{Name: "Referent of " + req.GetTerritoryCode(), TerritoryCodes: []string{req.GetTerritoryCode()}}},
			// Serves both territories: listed once.
			{ReferentId: "ref-both", Profile: &referentv1.ReferentProfile{Name: "Both", TerritoryCodes: []string{"T05", "T06"}}},
		},
		NextPageToken: "next-" + req.GetTerritoryCode(),
	}, nil
}

// fakeReferentServer serves fake on a free port and returns a runner of
// the command line against it.
func fakeReferentServer(t *testing.T, fake *fakeReferents) func(args ...string) (int, string, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	referentv1.RegisterReferentServiceServer(srv, fake)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := Main(context.Background(), append(args, "--addr", lis.Addr().String()), &out, &errOut)
		return code, out.String(), errOut.String()
	}
}

// referents update sends the fields whose flags are given, named in the
// update mask, and nothing else.
func TestReferentsUpdateSendsOnlyTheFlagsGiven(t *testing.T) {
	t.Parallel()
	fake := &fakeReferents{}
	run := fakeReferentServer(t, fake)
	for _, c := range []struct {
		args []string
		want *referentv1.UpdateReferentRequest
	}{
		{[]string{"--capacity", "45"}, &referentv1.UpdateReferentRequest{Profile: &referentv1.ReferentProfile{Capacity: 45}}},
		{[]string{"--territory", "T05", "--territory", "T06,T05", "--languages", "fr,ar", "--name", "Anne Leroy"},
			&referentv1.UpdateReferentRequest{Profile: &referentv1.ReferentProfile{Name: "Anne Leroy", TerritoryCodes: []string{"T05", "T06"}, Languages: []string{"fr", "ar"}}}},
		// Given empty, a list is cleared: it is in the mask with no value.
		{[]string{"--specialties", "", "--organisation", "AFPA Caen"},
			&referentv1.UpdateReferentRequest{Profile: &referentv1.ReferentProfile{Organisation: "AFPA Caen"}}},
	} {
		code, out, errOut := run(append([]string{"referents", "update", "ref-1", "--request-id", "r"}, c.args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", c.args, code, out, errOut)
		}
		got := fake.updates[len(fake.updates)-1]
		var paths []string
		for _, a := range c.args {
			switch a {
			case "--capacity", "--name", "--organisation", "--specialties", "--languages":
				paths = append(paths, strings.TrimPrefix(a, "--"))
			case "--territory":
				if !slices.Contains(paths, "territory_codes") {
					paths = append(paths, "territory_codes")
				}
			}
		}
		if !sameSet(got.GetUpdateMask().GetPaths(), paths) {
			t.Errorf("%v: mask %v, want %v", c.args, got.GetUpdateMask().GetPaths(), paths)
		}
		if !proto.Equal(got.GetProfile(), c.want.GetProfile()) || got.GetReferentId() != "ref-1" {
			t.Errorf("%v: sent %v, want the profile %v", c.args, got, c.want.GetProfile())
		}
	}
	if code, _, errOut := run("referents", "update", "ref-1"); code != exitUsage || !strings.Contains(errOut, "nothing to change") {
		t.Fatalf("update without flags: %d %s", code, errOut)
	}
	if code, _, errOut := run("referents", "update", "ref-1", "--kind", "economic"); code != exitUsage || !strings.Contains(errOut, "--kind") {
		t.Fatalf("update --kind (a kind never changes): %d %s", code, errOut)
	}
	if len(fake.updates) != 3 {
		t.Fatalf("%d updates sent, want 3", len(fake.updates))
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// A command whose API takes one territory asks each territory given in
// turn and prints the answers together; one territory not answering
// leaves the others printed, in the table and in JSON, and exits 1.
func TestSeveralTerritoriesAreAskedInTurnAndAFailureIsNotHidden(t *testing.T) {
	t.Parallel()
	fake := &fakeReferents{}
	run := fakeReferentServer(t, fake)

	code, out, errOut := run("referents", "list", "--territory", "T05", "--territory", "T06")
	if code != 0 || strings.Count(out, "ref-both") != 1 || !strings.Contains(out, "ref-T05") || !strings.Contains(out, "ref-T06") ||
		!strings.Contains(out, "NEXT PAGE TOKEN (--territory T05): next-T05") || !strings.Contains(out, "NEXT PAGE TOKEN (--territory T06): next-T06") {
		t.Fatalf("two territories: %d\n%s%s", code, out, errOut)
	}
	// One territory: the answer as it is.
	if code, out, _ = run("referents", "list", "--territory", "T05"); code != 0 || !strings.Contains(out, "NEXT PAGE TOKEN: next-T05") {
		t.Fatalf("one territory: %d\n%s", code, out)
	}

	code, out, errOut = run("referents", "list", "--territory", "T05,T14,T06")
	if code != exitIncomplete || !strings.Contains(out, "ref-T05") || !strings.Contains(out, "ref-T06") ||
		!strings.Contains(errOut, "1 of 3 territories not answered") || !strings.Contains(errOut, "T14: Unavailable") {
		t.Fatalf("a territory failing (table): %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = run("referents", "list", "--territory", "T05,T14", "-o", "json")
	var doc struct {
		Territories []struct {
			TerritoryCode string          `json:"territory_code"`
			Answer        json.RawMessage `json:"answer"`
			Error         *struct{ Code, Message string }
		} `json:"territories"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != exitIncomplete || len(doc.Territories) != 2 ||
		!strings.Contains(string(doc.Territories[0].Answer), "ref-T05") || doc.Territories[1].Error == nil ||
		doc.Territories[1].Error.Code != "Unavailable" || !strings.Contains(errOut, "T14") {
		t.Fatalf("a territory failing (json): %d %v\n%s%s", code, err, out, errOut)
	}

	// A page token continues one territory: with several, a usage error,
	// and nothing is asked.
	asked := len(fake.lists)
	if code, _, errOut = run("referents", "list", "--territory", "T05,T06", "--page-token", "next-T05"); code != exitUsage || !strings.Contains(errOut, "--page-token") {
		t.Fatalf("--page-token with two territories: %d %s", code, errOut)
	}
	if len(fake.lists) != asked {
		t.Fatalf("a usage error asked the server")
	}
}
