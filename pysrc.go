// Package gofastapi embeds the Python package `gofastapi` that every
// interpreter imports, so that the server binary is self-contained and the
// Go and Python halves of the protocol always come from the same build.
package gofastapi

import "embed"

// PythonPackage holds the files of the Python package under "gofastapi/".
//
//go:embed gofastapi/*.py gofastapi/py.typed
var PythonPackage embed.FS
