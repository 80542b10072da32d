module github.com/libbrokerclient/libbrokerclient/bindings/go

go 1.24
