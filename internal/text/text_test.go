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

import "testing"

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
