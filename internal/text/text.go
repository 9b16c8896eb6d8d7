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

import (
	"strings"
	"unicode/utf8"
)

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

// Sanitize makes s safe to show a person in one line (a condition, an Event, a log field, kubectl
// output): terminal escape sequences (CSI, OSC and the rest) are removed, Unicode bidirectional
// controls (which can make text read other than it is) are removed, and every other control
// character, newlines and tabs included, becomes a space. Invalid UTF-8 becomes U+FFFD.
func Sanitize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == 0x1b: // ESC: drop the whole sequence
			i += escapeLength(s[i:])
			continue
		case r == 0x9b: // C1 CSI
			i += size + csiLength(s[i+size:])
			continue
		case bidiControl(r):
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			b.WriteByte(' ')
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// SanitizeLines is Sanitize for text meant to be read over several lines (a server's
// instructions): newlines and tabs are kept ("\r\n" and a lone "\r" become "\n"); escape
// sequences, bidirectional controls and every other control character are treated as Sanitize
// treats them.
func SanitizeLines(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	lines := strings.Split(s, "\n")
	for i, line := range lines {
		fields := strings.Split(line, "\t")
		for j, f := range fields {
			fields[j] = Sanitize(f)
		}
		lines[i] = strings.Join(fields, "\t")
	}
	return strings.Join(lines, "\n")
}

// ForMessage is Sanitize, then Ellipsize to max bytes: how text from outside enters a condition,
// an Event or a status field.
func ForMessage(s string, max int) string {
	return Ellipsize(Sanitize(s), max)
}

// escapeLength is the length of the escape sequence at the start of s (which starts with ESC).
func escapeLength(s string) int {
	if len(s) < 2 {
		return len(s)
	}
	switch s[1] {
	case '[': // CSI: parameters and intermediates, then one final byte 0x40-0x7e
		return 2 + csiLength(s[2:])
	case ']', 'P', '^', '_', 'X': // OSC, DCS, PM, APC, SOS: up to BEL or ESC \
		for j := 2; j < len(s); j++ {
			if s[j] == 0x07 {
				return j + 1
			}
			if s[j] == 0x1b && j+1 < len(s) && s[j+1] == '\\' {
				return j + 2
			}
		}
		return len(s)
	default: // a two-byte sequence
		return 2
	}
}

// csiLength is the length of a CSI sequence's body in s, final byte included.
func csiLength(s string) int {
	for j := 0; j < len(s); j++ {
		if c := s[j]; c >= 0x40 && c <= 0x7e {
			return j + 1
		}
		if c := s[j]; c < 0x20 || c > 0x3f {
			return j // malformed: the sequence ends here
		}
	}
	return len(s)
}

// bidiControl reports the Unicode bidirectional formatting characters.
func bidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c
}
