package record

import (
	"fmt"
	"maps"
	"slices"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

// Search attribute keys, written by the record and read by the starter and
// the inbox. They never hold personal data: search attributes are not
// encrypted.
var (
	SAProcessType   = temporal.NewSearchAttributeKeyKeyword("ProcessType")
	SABusinessKey   = temporal.NewSearchAttributeKeyKeyword("BusinessKey")
	SAProcessStage  = temporal.NewSearchAttributeKeyKeyword("ProcessStage")
	SAPendingRoles  = temporal.NewSearchAttributeKeyKeywordList("PendingRoles")
	SATaskDeadline  = temporal.NewSearchAttributeKeyTime("TaskDeadline")
	SAHandlingPath  = temporal.NewSearchAttributeKeyKeyword("HandlingPath")
	SAOutcome       = temporal.NewSearchAttributeKeyKeyword("Outcome")
	SAPolicyVersion = temporal.NewSearchAttributeKeyKeyword("PolicyVersion")
)

// SearchAttributes lists every custom search attribute Baton needs, with its
// type, for the worker (which ensures they exist) and the dev server scripts.
func SearchAttributes() map[string]enums.IndexedValueType {
	return map[string]enums.IndexedValueType{
		SAProcessType.GetName():   enums.INDEXED_VALUE_TYPE_KEYWORD,
		SABusinessKey.GetName():   enums.INDEXED_VALUE_TYPE_KEYWORD,
		SAProcessStage.GetName():  enums.INDEXED_VALUE_TYPE_KEYWORD,
		SAPendingRoles.GetName():  enums.INDEXED_VALUE_TYPE_KEYWORD_LIST,
		SATaskDeadline.GetName():  enums.INDEXED_VALUE_TYPE_DATETIME,
		SAHandlingPath.GetName():  enums.INDEXED_VALUE_TYPE_KEYWORD,
		SAOutcome.GetName():       enums.INDEXED_VALUE_TYPE_KEYWORD,
		SAPolicyVersion.GetName(): enums.INDEXED_VALUE_TYPE_KEYWORD,
	}
}

// StartAttributes are the search attributes known when an instance starts
// (free to set then): its process, business key and first stage.
func StartAttributes(process, key string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		SAProcessType.ValueSet(process),
		SABusinessKey.ValueSet(key),
		SAProcessStage.ValueSet(StageStarting),
	)
}

// ServerLimits are the Temporal dynamic config values every server Baton
// runs on needs (namespace settings): Temporal stores every signal and
// update before the workflow sees it, so the workflow's own bounds cannot
// keep a flood out of history. With blobs of at most 32 KiB and at most
// 1,000 signals per instance, signals can add at most about 32 MB to a
// history, under the 50 MB at which the server terminates an instance.
// Baton's own payloads (the pinned policy, inputs, results) stay far below
// the blob limit.
func ServerLimits() map[string]int {
	return map[string]int{
		"limit.blobSize.error":               32 * 1024,
		"limit.blobSize.warn":                16 * 1024,
		"history.maximumSignalsPerExecution": 1000,
	}
}

// DevServerArgs are the dev server's flags for Baton: its search
// attributes and ServerLimits.
func DevServerArgs() []string {
	var args []string
	sa := SearchAttributes()
	for _, name := range slices.Sorted(maps.Keys(sa)) {
		args = append(args, "--search-attribute", name+"="+sa[name].String())
	}
	limits := ServerLimits()
	for _, key := range slices.Sorted(maps.Keys(limits)) {
		args = append(args, "--dynamic-config-value", fmt.Sprintf("%s=%d", key, limits[key]))
	}
	return args
}
