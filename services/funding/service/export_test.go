package service

// ContractHoursLedgerID is the id of a former ledger (one contract's,
// learner's and week's), for the tests that store lines as the service
// stored them before the learners' ledgers.
var ContractHoursLedgerID = contractHoursLedgerID
