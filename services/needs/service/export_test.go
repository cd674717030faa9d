package service

// What the tests of package service_test read of the analyses read model,
// to compare a live read model with a rebuilt one key by key.
const AnalysesProjection = analysesProjection

var (
	AnalysisKey       = analysisKey
	CurrentKey        = currentKey
	ErasedKey         = erasedKey
	LearnerIndex      = learnerIndex
	FrozenKey         = frozenKey
	FirstCompletedKey = firstCompletedKey
)
