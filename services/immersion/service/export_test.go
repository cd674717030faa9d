package service

// RetireReadModels runs the job deleting the read models of earlier
// versions.
var RetireReadModels = (*Service).retireReadModels
