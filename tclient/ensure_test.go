package tclient

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
)

// fakeServer answers the calls EnsureSearchAttributes makes the way a real
// server does while its caches catch up: scripted errors first, then the
// state it holds. Only those calls are implemented.
type fakeServer struct {
	client.Client

	mu         sync.Mutex
	have       map[string]enums.IndexedValueType
	listErrs   []error // returned by the next List calls, in order
	addErrs    []error
	countErrs  []error
	adds       int
	queries    []string
	otherAdder map[string]enums.IndexedValueType // added by "another replica" before our Add lands
}

func (f *fakeServer) OperatorService() operatorservice.OperatorServiceClient {
	return fakeOperator{f: f}
}
func (f *fakeServer) WorkflowService() workflowservice.WorkflowServiceClient {
	return fakeWorkflow{f: f}
}

type fakeOperator struct {
	operatorservice.OperatorServiceClient
	f *fakeServer
}

type fakeWorkflow struct {
	workflowservice.WorkflowServiceClient
	f *fakeServer
}

func next(errs *[]error) error {
	if len(*errs) == 0 {
		return nil
	}
	err := (*errs)[0]
	*errs = (*errs)[1:]
	return err
}

func (o fakeOperator) ListSearchAttributes(context.Context, *operatorservice.ListSearchAttributesRequest, ...grpc.CallOption) (*operatorservice.ListSearchAttributesResponse, error) {
	f := o.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := next(&f.listErrs); err != nil {
		return nil, err
	}
	custom := map[string]enums.IndexedValueType{}
	for k, v := range f.have {
		custom[k] = v
	}
	return &operatorservice.ListSearchAttributesResponse{CustomAttributes: custom}, nil
}

func (o fakeOperator) AddSearchAttributes(_ context.Context, req *operatorservice.AddSearchAttributesRequest, _ ...grpc.CallOption) (*operatorservice.AddSearchAttributesResponse, error) {
	f := o.f
	f.mu.Lock()
	defer f.mu.Unlock()
	f.adds++
	for k, v := range f.otherAdder {
		f.have[k] = v
	}
	f.otherAdder = nil
	if err := next(&f.addErrs); err != nil {
		return nil, err
	}
	for k, v := range req.GetSearchAttributes() {
		f.have[k] = v
	}
	return &operatorservice.AddSearchAttributesResponse{}, nil
}

func (w fakeWorkflow) CountWorkflowExecutions(_ context.Context, req *workflowservice.CountWorkflowExecutionsRequest, _ ...grpc.CallOption) (*workflowservice.CountWorkflowExecutionsResponse, error) {
	f := w.f
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, req.GetQuery())
	if err := next(&f.countErrs); err != nil {
		return nil, err
	}
	return &workflowservice.CountWorkflowExecutionsResponse{}, nil
}

var wantSA = map[string]enums.IndexedValueType{
	"BatonKey":      enums.INDEXED_VALUE_TYPE_KEYWORD,
	"BatonRoles":    enums.INDEXED_VALUE_TYPE_KEYWORD_LIST,
	"BatonDeadline": enums.INDEXED_VALUE_TYPE_DATETIME,
}

func fastRetries(t *testing.T) {
	old := ensureRetryEvery
	ensureRetryEvery = time.Millisecond
	t.Cleanup(func() { ensureRetryEvery = old })
}

// A namespace created a moment ago is not found at first; attributes just
// added are refused by queries until the server's cache refreshes. Both
// are waited out, and the attributes this call added are reported.
func TestEnsureWaitsForNamespaceAndUsableAttributes(t *testing.T) {
	fastRetries(t)
	f := &fakeServer{
		have:      map[string]enums.IndexedValueType{"BatonKey": enums.INDEXED_VALUE_TYPE_KEYWORD},
		listErrs:  []error{serviceerror.NewNamespaceNotFound("ns"), serviceerror.NewNamespaceNotFound("ns")},
		addErrs:   []error{serviceerror.NewUnavailable("Unable to get namespace ns info")},
		countErrs: []error{serviceerror.NewInvalidArgument("no mapping defined for search attribute BatonRoles")},
	}
	added, err := EnsureSearchAttributes(context.Background(), f, "ns", wantSA)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(added, ",") != "BatonDeadline,BatonRoles" {
		t.Errorf("added = %v, want the two that were missing", added)
	}
	if len(f.queries) != 2 {
		t.Errorf("queries = %v, want one refused, one accepted", f.queries)
	}
	if q := f.queries[len(f.queries)-1]; q != "BatonDeadline = '1970-01-01T00:00:00Z' OR BatonKey = '' OR BatonRoles = ''" {
		t.Errorf("usability query = %q", q)
	}
}

// Another replica adds the attributes between this one's list and add: the
// server skips them (or says they exist), and this call reports nothing.
func TestEnsureReportsOnlyWhatItCreated(t *testing.T) {
	fastRetries(t)
	f := &fakeServer{
		have:       map[string]enums.IndexedValueType{},
		otherAdder: wantSA,
		addErrs:    []error{serviceerror.NewAlreadyExists("search attribute BatonKey already exists")},
	}
	added, err := EnsureSearchAttributes(context.Background(), f, "ns", wantSA)
	if err != nil || len(added) != 0 {
		t.Fatalf("added %v, err %v; want nothing reported", added, err)
	}
	f = &fakeServer{
		have:       map[string]enums.IndexedValueType{},
		otherAdder: wantSA,
		addErrs:    []error{serviceerror.NewInvalidArgument("Custom search attribute field name already allocated.")},
	}
	added, err = EnsureSearchAttributes(context.Background(), f, "ns", wantSA)
	if err != nil || len(added) != 0 {
		t.Fatalf("field already allocated: added %v, err %v; want a retry that finds them", added, err)
	}
	f = &fakeServer{have: map[string]enums.IndexedValueType{}}
	for k, v := range wantSA {
		f.have[k] = v
	}
	added, err = EnsureSearchAttributes(context.Background(), f, "ns", wantSA)
	if err != nil || len(added) != 0 || f.adds != 0 {
		t.Fatalf("all present: added %v, adds %d, err %v; want no add", added, f.adds, err)
	}
}

// The retries are bounded: a namespace that never appears is an error
// naming it once the context ends.
func TestEnsureGivesUpOnAMissingNamespace(t *testing.T) {
	fastRetries(t)
	f := &fakeServer{have: map[string]enums.IndexedValueType{}}
	for range 10000 {
		f.listErrs = append(f.listErrs, serviceerror.NewNamespaceNotFound("nope"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := EnsureSearchAttributes(ctx, f, "nope", wantSA)
	if err == nil || !strings.Contains(err.Error(), "namespace nope: gave up after retrying") {
		t.Fatalf("err = %v", err)
	}
	var refused *OperatorRefusedError
	if errors.As(err, &refused) {
		t.Error("a missing namespace is not a refused operator API")
	}
}

// Only a refusing operator API is an *OperatorRefusedError (the worker
// warns and goes on); other errors are returned at once.
func TestEnsureClassifiesRefusalsAndErrors(t *testing.T) {
	fastRetries(t)
	for _, tc := range []struct {
		err     error
		refused bool
	}{
		{serviceerror.NewPermissionDenied("no", ""), true},
		{serviceerror.NewUnimplemented("no operator API"), true},
		{serviceerror.NewInvalidArgument("bad request"), false},
		{serviceerror.NewInternal("boom"), false},
	} {
		f := &fakeServer{have: map[string]enums.IndexedValueType{}, addErrs: []error{tc.err}}
		_, err := EnsureSearchAttributes(context.Background(), f, "ns", wantSA)
		var refused *OperatorRefusedError
		if err == nil || errors.As(err, &refused) != tc.refused {
			t.Errorf("%v: err = %v, want refused=%v", tc.err, err, tc.refused)
		}
		if f.adds != 1 {
			t.Errorf("%v: %d adds, want no retry", tc.err, f.adds)
		}
	}
	f := &fakeServer{have: map[string]enums.IndexedValueType{"BatonKey": enums.INDEXED_VALUE_TYPE_INT}}
	if _, err := EnsureSearchAttributes(context.Background(), f, "ns", wantSA); err == nil || !strings.Contains(err.Error(), "BatonKey exists as") {
		t.Errorf("type clash: err = %v", err)
	}
}
