package server

//go:generate go test -count=1 -run TestDeployNATSConf . -update

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/privacy"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// Identities is the NATS permission table of the binary: one identity per
// service it can run, allowed to run exactly the durable consumers the
// service declares, then admin and ops (natsx.Identities). The dev server
// configures its embedded NATS server from it, and deploy/nats/avenir.conf
// is generated from it (go generate ./services/avenir/server).
func Identities() ([]natsx.Identity, error) {
	wirings, err := Wirings()
	if err != nil {
		return nil, err
	}
	return natsx.Identities(wirings), nil
}

// Wirings lists, for every service the binary can run, the durable
// consumers it declares. The services are built to read their declarations
// but not run: their NATS connection is never opened.
func Wirings() ([]natsx.ServiceWiring, error) {
	js, err := jetstream.New(new(nats.Conn))
	if err != nil {
		return nil, err
	}
	master, err := privacy.GenerateMasterKey()
	if err != nil {
		return nil, err
	}
	keys, err := privacy.New(js, privacy.Options{Master: master, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	deps := platform.Deps{
		Logger: slog.New(slog.DiscardHandler), NC: new(nats.Conn), JS: js,
		Projections: projection.NewMemory(), Now: time.Now, Keys: keys,
	}
	cfg := DevConfig("")
	var out []natsx.ServiceWiring
	for _, r := range registry {
		svc, err := r.new(deps, cfg)
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", r.name, err)
		}
		out = append(out, wiringOf(svc))
	}
	return out, nil
}

// wiringOf is what the permission table needs of a service.
func wiringOf(svc platform.Service) natsx.ServiceWiring {
	w := natsx.ServiceWiring{Name: svc.Name()}
	for _, p := range svc.Wiring().Projections {
		w.Consumers = append(w.Consumers, natsx.ConsumerRef{Stream: p.Stream, Name: p.Name})
	}
	for _, c := range svc.Wiring().Consumers {
		w.Consumers = append(w.Consumers, natsx.ConsumerRef{Stream: c.Spec.Stream, Name: c.Spec.Name})
	}
	return w
}
