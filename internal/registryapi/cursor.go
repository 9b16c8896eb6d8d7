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

package registryapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// cursor is where a page ends and the query it belongs to. It travels as unpadded base64url of
// its JSON: only letters, digits, '-' and '_', so a client that appends it to a URL without
// encoding it still sends it intact. The filters it carries apply to the next page even when the
// client drops them (one IDE drops search on later pages).
type cursor struct {
	// After is the name of the last entry served; the next page starts after it.
	After          string `json:"a"`
	Search         string `json:"s,omitempty"`
	UpdatedSince   string `json:"u,omitempty"`
	Version        string `json:"v,omitempty"`
	IncludeDeleted bool   `json:"d,omitempty"`
}

// maxCursor bounds a cursor: the longest name, search and timestamp fit with room to spare.
const maxCursor = 2048

func (c cursor) encode() string {
	b, _ := json.Marshal(c) // a struct of strings and a bool always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	if len(s) > maxCursor {
		return c, errors.New("cursor is too long")
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return c, errors.New("cursor is not one this registry issued")
	}
	if err := json.Unmarshal(b, &c); err != nil || c.After == "" {
		return c, errors.New("cursor is not one this registry issued")
	}
	if c.UpdatedSince != "" {
		if _, err := time.Parse(time.RFC3339Nano, c.UpdatedSince); err != nil {
			return c, errors.New("cursor is not one this registry issued")
		}
	}
	return c, nil
}
