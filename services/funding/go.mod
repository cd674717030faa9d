module github.com/avenir-normandie/avenir/services/funding

go 1.26.7

require github.com/avenir-normandie/avenir/services/platform v0.0.0

require (
	github.com/avenir-normandie/avenir/proto v0.0.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/avenir-normandie/avenir/proto => ../../proto

replace github.com/avenir-normandie/avenir/services/platform => ../platform
