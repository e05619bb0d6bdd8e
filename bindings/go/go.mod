module github.com/limify/limify/bindings/go

go 1.22

require golang.org/x/time v0.9.0
