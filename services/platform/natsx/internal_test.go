package natsx

import (
	"reflect"
	"testing"
	"time"
)

// Every setting StreamSpec.Config makes is compared by StreamDiffers: a new
// one that governed does not keep fails here.
func TestGovernedKeepsEverySettingOfTheSpec(t *testing.T) {
	for _, spec := range []StreamSpec{
		{Name: "ALL", Subjects: []string{"a.>", "b.>"}, Description: "d", MaxBytes: 3 << 20, MaxAge: time.Hour, AllowMsgDelete: true},
		{Name: "NONE", Subjects: []string{"n.>"}},
	} {
		cfg, err := spec.Config(Topology{Replicas: 3, StreamMaxBytes: 5 << 20})
		if err != nil {
			t.Fatal(err)
		}
		if got := governed(cfg); !reflect.DeepEqual(got, cfg) {
			t.Errorf("%s: governed drops settings of the spec:\n got %+v\nwant %+v", spec.Name, got, cfg)
		}
		changed := cfg
		changed.DenyDelete = !cfg.DenyDelete
		if !StreamDiffers(changed, cfg) {
			t.Errorf("%s: a change of DenyDelete goes unnoticed", spec.Name)
		}
		filled := cfg
		filled.MaxMsgSize, filled.FirstSeq, filled.Metadata = -1, 1, map[string]string{"_nats.level": "1"}
		if StreamDiffers(filled, cfg) {
			t.Errorf("%s: settings the server fills in count as differences", spec.Name)
		}
	}
}
