module brokerclient/bench/go

go 1.24

require github.com/libbrokerclient/libbrokerclient/bindings/go v0.0.0

require github.com/HdrHistogram/hdrhistogram-go v1.4.0

// The Go binding of this repository (issue 7), built from source.
replace github.com/libbrokerclient/libbrokerclient/bindings/go => ../../bindings/go
