package service

import (
	"cmp"
	"context"
	"slices"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/intake/domain"
)

// ListTerritories implements intakev1.IntakeServiceServer: the reference
// set the service was built with (Config.Territories, TerritoriesFile or
// the one shipped), in code order. It tells nothing about learners: every
// role may call it.
func (s *Service) ListTerritories(context.Context, *intakev1.ListTerritoriesRequest) (*intakev1.ListTerritoriesResponse, error) {
	all := s.territories.All()
	slices.SortFunc(all, func(a, b domain.Territory) int { return cmp.Compare(a.Code, b.Code) })
	out := &intakev1.ListTerritoriesResponse{Version: s.territories.Version, Territories: make([]*intakev1.Territory, len(all))}
	for i, t := range all {
		out.Territories[i] = &intakev1.Territory{Code: t.Code, Name: t.Name, Department: t.Department}
	}
	return out, nil
}
