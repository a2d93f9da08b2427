package record

import (
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
