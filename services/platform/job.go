package platform

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// Job is periodic work of a service: freezing a month's statistics, the
// daily retention run. Start runs each job once every read model has caught
// up and every consumer has started, then every Every, until Stop. A failed
// run is logged and tried again at the next tick. Jobs decide on the
// services' clock (Deps.Now), so a demonstration's clock moves them; each
// replica of a service runs its jobs, so a job makes what it appends
// conditional (an expected sequence) and doing it twice is harmless.
type Job struct {
	// Name identifies the job in logs ("pathway-freeze-breakdowns").
	Name string
	// Every is the time between two runs; at least a second.
	Every time.Duration
	// Run does the work once.
	Run func(ctx context.Context) error
}

// jobRunner runs one job until stopped.
type jobRunner struct {
	job    Job
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}
}

// minJobEvery bounds how often a job runs.
const minJobEvery = time.Second

func startJob(ctx context.Context, job Job, log *slog.Logger) (*jobRunner, error) {
	if job.Name == "" || job.Run == nil {
		return nil, errors.New("platform: a job needs a name and a Run function")
	}
	if job.Every < minJobEvery {
		job.Every = minJobEvery
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	j := &jobRunner{job: job, log: log.With("job", job.Name), cancel: cancel, done: make(chan struct{})}
	go j.loop(ctx)
	return j, nil
}

func (j *jobRunner) loop(ctx context.Context) {
	defer close(j.done)
	t := time.NewTicker(j.job.Every)
	defer t.Stop()
	for {
		if err := j.job.Run(ctx); err != nil && ctx.Err() == nil {
			j.log.Warn("job failed; trying again at the next tick", "error", err, "every", j.job.Every)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Stop stops the job, waiting for a run in progress to end or ctx.
func (j *jobRunner) Stop(ctx context.Context) error {
	j.cancel()
	select {
	case <-j.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stopJobs stops every job together.
func stopJobs(ctx context.Context, jobs []*jobRunner) error {
	var wg sync.WaitGroup
	errs := make([]error, len(jobs))
	for i, j := range jobs {
		wg.Go(func() { errs[i] = j.Stop(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// retireEvery is how often a service's retired read models are looked for:
// the first run after an upgrade deletes them, later ones read a
// checkpoint each.
const retireEvery = time.Hour

// retireJob deletes the read models a service declares retired
// (Wiring.Retired), with RetireReadModels.
func retireJob(service string, names []string, store projection.Store, log *slog.Logger) Job {
	return Job{Name: service + "-retire-read-models", Every: retireEvery, Run: func(ctx context.Context) error {
		return RetireReadModels(ctx, store, names, log)
	}}
}

// RetireReadModels deletes from store the read models named that still
// hold data (a checkpoint): read models of earlier versions, which may keep
// personal data of people erased since
// (docs/adr/0065-erasure-retention-and-access.md) and which nothing reads.
func RetireReadModels(ctx context.Context, store projection.Store, names []string, log *slog.Logger) error {
	for _, name := range names {
		cp, err := store.Checkpoint(ctx, name)
		if err != nil {
			return err
		}
		if cp == 0 {
			continue
		}
		if err := store.Reset(ctx, name); err != nil {
			return err
		}
		log.InfoContext(ctx, "read model of an earlier version deleted", "projection", name)
	}
	return nil
}
