// Package ghcmd escapes the parts of a GitHub Actions workflow command
// ("::error file=…,line=…::message"), as GitHub's toolkit does, for the
// outputs of validate and diff that CI turns into annotations.
package ghcmd

import "strings"

var (
	data     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	property = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// Data escapes a command's message: %, CR and LF.
func Data(s string) string { return data.Replace(s) }

// Property escapes a property value (file, title): what Data escapes, and
// the separators ':' and ','.
func Property(s string) string { return property.Replace(s) }
