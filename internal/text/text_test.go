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

package text

import (
	"strings"
	"testing"
)

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"abcdef", 3, "abc"},
		{"aé", 2, "a"},                  // é is 2 bytes: never split it
		{"a😀b", 4, "a"},                 // a 4-byte rune that does not fit
		{"a😀b", 5, "a😀"},                // it fits exactly
		{"\xff\xfeabc", 3, "\xff\xfea"}, // invalid input is cut, not dropped
	}
	for _, tt := range tests {
		if got := Truncate(tt.in, tt.max); got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestEllipsize(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"abcdefghij", 8, "abcde..."},
		{"ééééé", 8, "éé..."}, // 5 bytes of room: two 2-byte runes, never half of one
	}
	for _, tt := range tests {
		if got := Ellipsize(tt.in, tt.max); got != tt.want || len(got) > tt.max {
			t.Errorf("Ellipsize(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestSanitize(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain", "Synced 3 tools", "Synced 3 tools"},
		{"unicode kept", "outil créé ✓ 工具", "outil créé ✓ 工具"},
		{"newlines and tabs become spaces", "line one\nline two\ttab\r", "line one line two tab "},
		{"color codes", "\x1b[31mred\x1b[0m text", "red text"},
		{"cursor movement and erase", "ok\x1b[2K\x1b[1Ahidden", "okhidden"},
		{"OSC title, BEL-terminated", "\x1b]0;pwned\x07after", "after"},
		{"OSC 8 hyperlink, ST-terminated", "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "click"},
		{"C1 CSI", "a\u009b31mb", "ab"},
		{"other C1 controls", "a\u0085b", "a b"},
		{"bell and backspace", "a\a\bb", "a  b"},
		{"bidi override (trojan source)", "admin\u202e\u2066txt.exe", "admintxt.exe"},
		{"a lone ESC at the end", "end\x1b", "end"},
		{"invalid UTF-8", "a\xffb", "a\ufffdb"},
		{"DEL", "a\x7fb", "a b"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Sanitize(tc.in); got != tc.want {
				t.Errorf("Sanitize(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	if got := ForMessage("\x1b[1m"+strings.Repeat("é", 100), 21); got != strings.Repeat("é", 9)+"..." {
		t.Errorf("ForMessage = %q", got)
	}
}

func TestSanitizeLines(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain", "Use search first.", "Use search first."},
		{"newlines and tabs kept", "line one\n\tline two\n", "line one\n\tline two\n"},
		{"CR LF and a lone CR become LF", "a\r\nb\rc", "a\nb\nc"},
		{"escapes removed on every line", "\x1b[31mred\x1b[0m\n\x1b]0;pwned\x07after", "red\nafter"},
		{"other controls become spaces", "a\a\x7fb\u0085c", "a  b c"},
		{"bidi controls removed", "admin\u202e\nx\u2066y", "admin\nxy"},
		{"invalid UTF-8", "a\xffb", "a\ufffdb"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := SanitizeLines(tc.in); got != tc.want {
				t.Errorf("SanitizeLines(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
