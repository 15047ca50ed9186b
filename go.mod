module github.com/gofastapi/gofastapi

go 1.26.8
