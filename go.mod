module github.com/go-pboc/pboc

go 1.25.0

require (
	github.com/emmansun/gmsm v0.44.0
	github.com/moov-io/bertlv v0.1.0
	github.com/moov-io/iso8583 v0.26.1
	github.com/moov-io/iso8583-connection v0.9.0
	github.com/stretchr/testify v1.12.1
)

require (
	github.com/yerden/go-util v1.1.4 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/crypto v0.53.0 // indirect
	golang.org/x/text v0.41.0 // indirect
)
