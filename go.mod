module github.com/go-pboc/pboc

go 1.25.0

require (
	github.com/emmansun/gmsm v0.44.0
	github.com/moov-io/bertlv v0.1.0
	github.com/stretchr/testify v1.12.1
)

require (
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/crypto v0.53.0 // indirect
)
