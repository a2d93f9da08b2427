package insight

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
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

// Verify checks one record read from the store: its hash and its writer's
// attestation (auditlog.Attested with the configured writer keys); an
// empty kind means it holds.
type Verify func(audit.Stored) (kind, detail string)

// RecordSource is the store as ReadVerified reads it (auditstore.Store).
type RecordSource interface {
	Endings(ctx context.Context, f auditstore.TrailFilter, fn func(r audit.Stored, more bool) error) error
	Records(ctx context.Context, f auditstore.TrailFilter, fn func([]audit.Stored) error) error
}

// LeftOut is an instance left out of every figure because a record read of
// it fails verification: the first such record, and how many failed.
type LeftOut struct {
	WorkflowID string `json:"workflowId"`
	Process    string `json:"process"`
	Pos        int64  `json:"pos"`
	Action     string `json:"action"`
	Kind       string `json:"kind"`
	Detail     string `json:"detail"`
	Failed     int    `json:"failed"`
}

// Read is what ReadVerified read: the trails, the instances left out, and
// how many trails were read from their terminal entry's course and how
// many whole.
type Read struct {
	Trails     []*Trail
	LeftOut    []LeftOut
	FromCourse int
	Whole      int
}

// ReadVerified reads the window's trails from the store, checking every
// record it reads with verify (nil checks nothing): an instance a record of
// which fails is left out and listed in LeftOut, never counted. It is the
// one rule of every reader of the store (report, discover, conformance,
// and whatif, which reads the terminal entry only): what is read is
// verified.
//
// Ended instances (a window by end) are read from their terminal entry:
// its data carries the run's course (record.Course), so one attested row
// per instance is read. An instance whose terminal entry has no course
// (recorded before it existed, or over the store's bound), or that has
// entries after it (a later run, a late refusal) or entries its workflow
// did not write (validator refusals), is read whole. A row inserted into
// an ended instance's chain can only follow its terminal entry (positions
// are unique and the genuine ones leave no gap), so such an instance is
// read whole and the row verified. A window by start (Started) reads every
// instance whole, running ones included.
func ReadVerified(ctx context.Context, src RecordSource, w Window, verify Verify) (Read, error) {
	f := auditstore.TrailFilter{Process: w.Process, Since: w.Since, Until: w.Until, ByStart: w.Started,
		StartAction: audit.ActionStarted, EndActions: []string{audit.ActionCompleted, audit.ActionFailed}}
	var (
		mu    sync.Mutex
		out   Read
		whole []string
	)
	// check verifies an instance's records; false when it is left out.
	check := func(recs []audit.Stored) bool {
		if verify == nil {
			return true
		}
		var lo *LeftOut
		for _, r := range recs {
			if kind, detail := verify(r); kind != "" {
				if lo == nil {
					lo = &LeftOut{WorkflowID: r.WorkflowID, Process: r.Process, Pos: r.Pos, Action: r.Action, Kind: kind, Detail: detail}
				}
				lo.Failed++
			}
		}
		if lo != nil {
			mu.Lock()
			out.LeftOut = append(out.LeftOut, *lo)
			mu.Unlock()
		}
		return lo == nil
	}
	wholeTrail := func(recs []audit.Stored) *Trail {
		entries := make([]audit.Entry, len(recs))
		for i, r := range recs {
			entries[i] = r.Entry
		}
		return NewTrail(entries)
	}
	full := func(ctx context.Context, id string) (*Trail, error) {
		var t *Trail
		var failed error
		err := src.Records(ctx, auditstore.TrailFilter{IDs: []string{id}}, func(recs []audit.Stored) error {
			for _, r := range recs {
				if verify == nil {
					break
				}
				if kind, detail := verify(r); kind != "" {
					failed = fmt.Errorf("its trail was read again for the evidence and an entry fails verification (%s: %s)", kind, detail)
					return nil
				}
			}
			t = wholeTrail(recs)
			return nil
		})
		if err == nil && failed == nil && t == nil {
			failed = errors.New("its trail is not in the store")
		}
		return t, cmp.Or(err, failed)
	}
	keep := func(t *Trail, fromCourse bool) {
		if !w.Started && !t.endedIn(w.Since, w.Until) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		out.Trails = append(out.Trails, t)
		if fromCourse {
			out.FromCourse++
		} else {
			out.Whole++
		}
	}
	// Records are verified and parsed by one worker per core while the
	// parts are read.
	type group struct {
		recs []audit.Stored
		more bool
	}
	in := make(chan group, 512)
	var workers sync.WaitGroup
	for range max(2, runtime.GOMAXPROCS(0)) {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for g := range in {
				if w.Started {
					if check(g.recs) {
						keep(wholeTrail(g.recs), false)
					}
					continue
				}
				r := g.recs[0]
				if !g.more {
					if !check(g.recs) {
						continue
					}
					if t, ok := courseTrail([]audit.Entry{r.Entry}, 0); ok {
						id := t.WorkflowID
						t.Full = func(ctx context.Context) (*Trail, error) { return full(ctx, id) }
						keep(t, true)
						continue
					}
				}
				// Without a course, or with entries beyond the terminal
				// one: read whole.
				mu.Lock()
				whole = append(whole, r.WorkflowID)
				mu.Unlock()
			}
		}()
	}
	errs := make(chan error, readParts)
	for part := range readParts {
		go func() {
			f := f
			f.Part, f.Parts = part, readParts
			send := func(g group) error {
				select {
				case in <- g:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			if w.Started {
				errs <- src.Records(ctx, f, func(recs []audit.Stored) error { return send(group{recs: recs}) })
				return
			}
			errs <- src.Endings(ctx, f, func(r audit.Stored, more bool) error {
				return send(group{recs: []audit.Stored{r}, more: more})
			})
		}()
	}
	var err error
	for range readParts {
		err = cmp.Or(err, <-errs)
	}
	close(in)
	workers.Wait()
	if err != nil {
		return Read{}, err
	}
	if len(whole) > 0 {
		// An instance that ended twice in the window (a reset after its
		// end) is listed once, by the whole trail.
		slices.Sort(whole)
		whole = slices.Compact(whole)
		err := src.Records(ctx, auditstore.TrailFilter{IDs: whole}, func(recs []audit.Stored) error {
			if check(recs) {
				keep(wholeTrail(recs), false)
			}
			return nil
		})
		if err != nil {
			return Read{}, err
		}
		out.Trails = slices.DeleteFunc(out.Trails, func(t *Trail) bool {
			_, again := slices.BinarySearch(whole, t.WorkflowID)
			if t.FromCourse && again {
				out.FromCourse--
			}
			return t.FromCourse && again
		})
	}
	slices.SortFunc(out.Trails, func(a, b *Trail) int { return cmp.Compare(a.WorkflowID, b.WorkflowID) })
	slices.SortStableFunc(out.LeftOut, func(a, b LeftOut) int { return cmp.Compare(a.WorkflowID, b.WorkflowID) })
	out.LeftOut = slices.CompactFunc(out.LeftOut, func(a, b LeftOut) bool { return a.WorkflowID == b.WorkflowID })
	// An instance left out is not counted, however else it was read.
	out.Trails = slices.DeleteFunc(out.Trails, func(t *Trail) bool {
		_, left := slices.BinarySearchFunc(out.LeftOut, t.WorkflowID, func(l LeftOut, id string) int { return cmp.Compare(l.WorkflowID, id) })
		if left {
			if t.FromCourse {
				out.FromCourse--
			} else {
				out.Whole--
			}
		}
		return left
	})
	return out, nil
}
