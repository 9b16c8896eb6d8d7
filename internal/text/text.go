/*
Copyright 2026 The mcp-registry-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package text bounds strings that come from outside (MCP servers, annotations, errors) before
// they reach the API.
package text

import "unicode/utf8"

// Truncate shortens s to at most max bytes without splitting a UTF-8 sequence.
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	// s[cut] is the first byte dropped: while it continues a rune, that rune would be split.
	for cut > 0 && cut > max-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// Ellipsize is Truncate marking the cut with "...", within max bytes.
func Ellipsize(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return Truncate(s, max-3) + "..."
}
