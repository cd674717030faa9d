package fr

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
)

// The imports above register every file of the public API; these values
// keep them used.
var _ = []protoreflect.Enum{
	commonv1.FundingProgramme(0), fundingv1.Unit(0), immersionv1.TradeFit(0),
	intakev1.EducationLevel(0), needsv1.SkillDomain(0), pathwayv1.PathwayPhase(0),
	referentv1.Specialty(0),
}

// apiEnums returns every enum declared (at top level or in a message) in the
// files of packages avenir.*, and the set of packages seen.
func apiEnums(t *testing.T) ([]protoreflect.EnumDescriptor, map[protoreflect.FullName]bool) {
	t.Helper()
	var enums []protoreflect.EnumDescriptor
	pkgs := map[protoreflect.FullName]bool{}
	var walk func(protoreflect.EnumDescriptors, protoreflect.MessageDescriptors)
	walk = func(es protoreflect.EnumDescriptors, ms protoreflect.MessageDescriptors) {
		for i := range es.Len() {
			enums = append(enums, es.Get(i))
		}
		for i := range ms.Len() {
			walk(ms.Get(i).Enums(), ms.Get(i).Messages())
		}
	}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if strings.HasPrefix(string(fd.Package()), "avenir.") {
			pkgs[fd.Package()] = true
			walk(fd.Enums(), fd.Messages())
		}
		return true
	})
	return enums, pkgs
}

var englishCode = regexp.MustCompile(`^[A-Z0-9_]+$`)

func enumValue(t *testing.T, vd protoreflect.EnumValueDescriptor) protoreflect.Enum {
	t.Helper()
	et, err := protoregistry.GlobalTypes.FindEnumByName(vd.Parent().FullName())
	if err != nil {
		t.Fatalf("enum type %s: %v", vd.Parent().FullName(), err)
	}
	return et.New(vd.Number())
}

func TestEveryEnumValueHasAFrenchLabel(t *testing.T) {
	enums, pkgs := apiEnums(t)
	for _, p := range []protoreflect.FullName{
		"avenir.common.v1", "avenir.funding.v1", "avenir.immersion.v1", "avenir.intake.v1",
		"avenir.needs.v1", "avenir.pathway.v1", "avenir.referent.v1",
	} {
		if !pkgs[p] {
			t.Errorf("package %s is not registered: the walk would miss its enums", p)
		}
	}
	if len(enums) < 30 {
		t.Fatalf("found %d enums under avenir.*, expected the whole public API", len(enums))
	}
	values := 0
	for _, ed := range enums {
		vals := ed.Values()
		for i := range vals.Len() {
			vd := vals.Get(i)
			got := Label(enumValue(t, vd))
			if vd.Number() == 0 {
				if got == "" || englishCode.MatchString(got) {
					t.Errorf("%s: zero value label %q", vd.FullName(), got)
				}
				continue
			}
			values++
			l, ok := labels[ed.FullName()][vd.Name()]
			switch {
			case !ok:
				t.Errorf("%s (%s = %d) has no French label", ed.FullName(), vd.Name(), vd.Number())
			case strings.TrimSpace(l) == "":
				t.Errorf("%s: empty label", vd.FullName())
			case englishCode.MatchString(l) || strings.Contains(l, "_") || l == string(vd.Name()):
				t.Errorf("%s: label %q looks like a code", vd.FullName(), l)
			case strings.ToUpper(l) == l:
				t.Errorf("%s: label %q has no lower-case letter", vd.FullName(), l)
			case got != l:
				t.Errorf("Label(%s) = %q, want %q", vd.FullName(), got, l)
			}
		}
	}
	t.Logf("%d enums, %d labelled values", len(enums), values)
}

func TestNoLabelForAValueThatDoesNotExist(t *testing.T) {
	for enum, vals := range labels {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(enum)
		if err != nil {
			t.Errorf("labels of %s: no such enum", enum)
			continue
		}
		ed, ok := d.(protoreflect.EnumDescriptor)
		if !ok {
			t.Errorf("labels of %s: not an enum", enum)
			continue
		}
		for name := range vals {
			if ed.Values().ByName(name) == nil {
				t.Errorf("label of %s.%s: no such value", enum, name)
			}
		}
	}
}

func TestLabel(t *testing.T) {
	cases := []struct {
		v    protoreflect.Enum
		want string
	}{
		{nil, "Non renseigné"},
		{pathwayv1.PathwayPhase_PATHWAY_PHASE_UNSPECIFIED, "Non renseigné"},
		{pathwayv1.PathwayPhase_PATHWAY_PHASE_WELCOMED, "Accueil"},
		{pathwayv1.PathwayPhase_PATHWAY_PHASE_NEEDS_ANALYSED, "Analyse des besoins"},
		{pathwayv1.PathwayPhase(99), "Code inconnu (99)"},
		{pathwayv1.PathwayPhase(-3), "Code inconnu (-3)"},
		{intakev1.EducationLevel(2), "Code inconnu (2)"},
		{pathwayv1.ExitReason_EXIT_REASON_QUALIFYING_TRAINING, "Entrée en formation qualifiante (Qualif)"},
		{pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_UNSPECIFIED, "En attente de réponse"},
		{needsv1.BarrierKind_BARRIER_KIND_CHILDCARE, "Garde d'enfants"},
		{needsv1.SkillDomain_SKILL_DOMAIN_FRENCH_COMMUNICATION, "Communiquer en français"},
		{fundingv1.Unit_UNIT_TRAINEE_HOUR, "Heure stagiaire"},
		{commonv1.FundingProgramme_FUNDING_PROGRAMME_ACTION, "#Action (immersions)"},
	}
	for _, c := range cases {
		if got := Label(c.v); got != c.want {
			t.Errorf("Label(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}

func TestCleADomainsAreTheSevenOfficialNames(t *testing.T) {
	want := []string{
		"Communiquer en français",
		"Utiliser les règles de base de calcul et du raisonnement mathématique",
		"Utiliser les techniques usuelles de l'information et de la communication numérique",
		"Travailler dans le cadre de règles définies d'un travail en équipe",
		"Travailler en autonomie et réaliser un objectif individuel",
		"Apprendre à apprendre tout au long de la vie",
		"Maîtriser les gestes et postures, et respecter des règles d'hygiène, de sécurité et environnementales élémentaires",
	}
	opts := Options(needsv1.SkillDomain(0).Descriptor())
	if len(opts) != len(want) {
		t.Fatalf("%d CléA domains, want %d", len(opts), len(want))
	}
	for i, o := range opts {
		if o.Value != int32(i+1) || o.Label != want[i] {
			t.Errorf("domain %d = %+v, want %q", i+1, o, want[i])
		}
	}
}

func TestOptions(t *testing.T) {
	got := Options(pathwayv1.PathwayPhase(0).Descriptor())
	want := []Option{
		{1, "PATHWAY_PHASE_WELCOMED", "Accueil"},
		{2, "PATHWAY_PHASE_NEEDS_ANALYSED", "Analyse des besoins"},
		{3, "PATHWAY_PHASE_BUILDING_PROJECT", "Construction du projet"},
		{4, "PATHWAY_PHASE_DISCOVERING_TRADES", "Découverte des métiers"},
		{5, "PATHWAY_PHASE_IN_QUALIFYING_TRAINING", "Formation qualifiante"},
		{6, "PATHWAY_PHASE_EXITED", "Sortie"},
	}
	if len(got) != len(want) {
		t.Fatalf("Options(PathwayPhase) = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("option %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	// Numbers with a gap keep declaration order and their own numbers.
	levels := Options(intakev1.EducationLevel(0).Descriptor())
	var nums []int32
	for _, o := range levels {
		nums = append(nums, o.Value)
	}
	if want := []int32{1, 3, 4, 5, 6, 7, 8}; !slices.Equal(nums, want) {
		t.Errorf("EducationLevel option values = %v, want %v", nums, want)
	}
	if levels[0].Label != "Sans diplôme (niveaux 1 et 2)" {
		t.Errorf("first education level = %q", levels[0].Label)
	}

	// The pending referral is not an option: it is the absence of an outcome.
	for _, o := range Options(pathwayv1.ReferralOutcome(0).Descriptor()) {
		if o.Value == 0 {
			t.Errorf("ReferralOutcome options hold the zero value: %+v", o)
		}
	}
}
