package db

import (
	"context"
	"log/slog"
	"time"
)

// RunEvery is the loop of every background worker: it calls round at once,
// then every interval and whenever wake fires (nil: never), until ctx ends.
// woken tells a round started by wake from a scheduled one. A round's error
// is logged as a warning, with what, and the next round tries again; log
// nil discards it.
func RunEvery(ctx context.Context, every time.Duration, wake <-chan struct{}, log *slog.Logger, what string,
	round func(ctx context.Context, woken bool) error) {
	if log == nil {
		log = quietLogger()
	}
	t := time.NewTicker(every)
	defer t.Stop()
	woken := false
	for {
		if err := round(ctx, woken); err != nil && ctx.Err() == nil {
			log.Warn(what, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			woken = false
		case <-wake:
			woken = true
		}
	}
}
