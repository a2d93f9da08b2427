package insight

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/batonhq/baton/audit"

	"github.com/batonhq/baton/internal/auditstore"
)

// TrailSource streams whole trails (auditstore.Store).
type TrailSource interface {
	Trails(ctx context.Context, f auditstore.TrailFilter, fn func([]audit.Entry) error) error
}

// Window selects trails: by their end in [Since, Until], or with Started by
// their start (ended or running); of Process ("" every process).
type Window struct {
	Process      string
	Since, Until time.Time
	Started      bool
	// Need says what the reader needs of the entries' data: NeedAll (the
	// zero value), NeedEnd (the completed entry's: figures, discovery) or
	// NeedSpecs (and the task-opened entries': conformance). Decisions
	// are read from their details either way.
	Need Need
}

// Need is what a reader needs of the entries' data.
type Need int

// What readers need.
const (
	NeedAll Need = iota
	NeedEnd
	NeedSpecs
)

// dataOf is the actions whose data the need reads (nil: all).
func (n Need) dataOf() []string {
	switch n {
	case NeedEnd:
		return []string{audit.ActionCompleted}
	case NeedSpecs:
		return []string{audit.ActionCompleted, audit.ActionTaskOpened}
	}
	return nil
}

// ReadTrails reads the window's trails from src, parsing each while the
// next is read.
func ReadTrails(ctx context.Context, src TrailSource, w Window) ([]*Trail, error) {
	f := auditstore.TrailFilter{Process: w.Process, Since: w.Since, Until: w.Until, ByStart: w.Started,
		StartAction: audit.ActionStarted, EndActions: []string{audit.ActionCompleted, audit.ActionFailed}, DataOf: w.Need.dataOf()}
	in := make(chan []audit.Entry, 512)
	done := make(chan []*Trail)
	for range readParts {
		go func() {
			var out []*Trail
			for entries := range in {
				t := NewTrail(entries)
				if w.Started || t.endedIn(w.Since, w.Until) {
					out = append(out, t)
				}
			}
			done <- out
		}()
	}
	errs := make(chan error, readParts)
	for part := range readParts {
		go func() {
			f := f
			f.Part, f.Parts = part, readParts
			errs <- src.Trails(ctx, f, func(entries []audit.Entry) error {
				select {
				case in <- entries:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
		}()
	}
	var err error
	for range readParts {
		err = cmp.Or(err, <-errs)
	}
	close(in)
	var trails []*Trail
	for range readParts {
		trails = append(trails, <-done...)
	}
	if err != nil {
		return nil, err
	}
	// In the order the store lists them (by workflow ID), whatever part
	// read them.
	slices.SortFunc(trails, func(a, b *Trail) int { return cmp.Compare(a.WorkflowID, b.WorkflowID) })
	return trails, nil
}

// readParts is how many queries read a window in parallel (the machine's
// two cores: one decodes rows while the other parses trails).
const readParts = 2

// endedIn reports whether the trail's end (of its last run) is in the
// window: an instance reset after it ended counts by its latest end.
func (t *Trail) endedIn(since, until time.Time) bool {
	c := t.Span.Close
	return t.Ended != "" && (since.IsZero() || !c.Before(since)) && (until.IsZero() || !c.After(until))
}
