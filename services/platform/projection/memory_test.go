package projection_test

import (
	"testing"

	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projection/storetest"
)

func TestMemory(t *testing.T) {
	storetest.Run(t, func(*testing.T) projection.Store { return projection.NewMemory() })
}
