package domain

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/avenir-normandie/avenir/services/platform/ident"
)

// Territory is one of the #Avenir territories where people are welcomed.
type Territory struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	Department string `json:"department"`
}

// Territories is a validated, versioned set of territories.
type Territories struct {
	Version string
	list    []Territory
	byCode  map[string]Territory
}

//go:embed reference/territories.json
var defaultTerritories []byte

// normandy lists the departments of Normandy: Calvados, Eure, Manche, Orne,
// Seine-Maritime.
var normandy = []string{"14", "27", "50", "61", "76"}

// DefaultTerritories returns the 18 territories shipped with avenir.
func DefaultTerritories() *Territories {
	t, err := ParseTerritories(defaultTerritories)
	if err != nil {
		// The embedded file is checked by the tests; reaching this is a build defect.
		panic(fmt.Sprintf("embedded territories: %v", err))
	}
	return t
}

// ParseTerritories reads and validates a territories file (JSON: version and
// a list of code, name, department). Every problem is reported.
func ParseTerritories(data []byte) (*Territories, error) {
	var f struct {
		Version     string      `json:"version"`
		Territories []Territory `json:"territories"`
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("territories: %w", err)
	}
	var problems []error
	if f.Version == "" {
		problems = append(problems, errors.New("missing version"))
	}
	if len(f.Territories) == 0 {
		problems = append(problems, errors.New("no territories"))
	}
	t := &Territories{Version: f.Version, byCode: make(map[string]Territory, len(f.Territories))}
	for i, ter := range f.Territories {
		if ident.CheckTerritory(ter.Code) != "" {
			problems = append(problems, fmt.Errorf("entry %d: code %q is not T followed by two digits", i+1, ter.Code))
		}
		if strings.TrimSpace(ter.Name) == "" {
			problems = append(problems, fmt.Errorf("entry %d (%s): empty name", i+1, ter.Code))
		}
		if !slices.Contains(normandy, ter.Department) {
			problems = append(problems, fmt.Errorf("entry %d (%s): department %q is not in Normandy", i+1, ter.Code, ter.Department))
		}
		if _, dup := t.byCode[ter.Code]; dup {
			problems = append(problems, fmt.Errorf("entry %d: duplicate code %s", i+1, ter.Code))
		}
		t.byCode[ter.Code] = ter
		t.list = append(t.list, ter)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("territories: %w", errors.Join(problems...))
	}
	return t, nil
}

// Lookup finds a territory by code.
func (t *Territories) Lookup(code string) (Territory, bool) {
	ter, ok := t.byCode[code]
	return ter, ok
}

// All lists the territories in file order.
func (t *Territories) All() []Territory { return slices.Clone(t.list) }
