module github.com/gofastapi/gofastapi

go 1.26.8

require golang.org/x/net v0.63.0

require (
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	golang.org/x/text v0.44.0 // indirect
)
