package views

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"
)

// AuditField is one detail of an audit entry as a person reads it: a
// change (Old → New) or a plain value.
type AuditField struct {
	Name    string
	Old     string
	New     string
	Changed bool // Old → New; otherwise New is the value
}

// AuditFields turns an audit entry's JSON details into readable fields:
// {"before":…,"after":…} pairs become old → new, nested objects are
// flattened ("payload · amount"), amounts in paise are shown in rupees and
// times in milliseconds as dates. Details that are not a JSON object come
// back as one field, as they are.
func AuditFields(details string) []AuditField {
	details = strings.TrimSpace(details)
	if details == "" || details == "{}" || details == "null" {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(details))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return []AuditField{{Name: "details", New: details}}
	}
	var out []AuditField
	if before, after, ok := changePair(obj); ok {
		if made, isMap := after.(map[string]any); before == nil && isMap {
			flattenAudit(&out, "", made) // a record made: its values
			return out
		}
		changeFields(&out, "", "", before, after) // a record changed, field by field
		return out
	}
	flattenAudit(&out, "", obj)
	return out
}

// changeFields lists a change field by field: records (objects) before and
// after are compared key by key, so a user made reads "roles: — → maker",
// never a JSON blob.
func changeFields(out *[]AuditField, name, key string, before, after any) {
	bm, bIsMap := before.(map[string]any)
	am, aIsMap := after.(map[string]any)
	if (bIsMap || before == nil) && (aIsMap || after == nil) && (bIsMap || aIsMap) {
		keys := map[string]bool{}
		for k := range bm {
			keys[k] = true
		}
		for k := range am {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			changeFields(out, auditName(name, k), k, bm[k], am[k])
		}
		return
	}
	old, now := auditValue(key, before), auditValue(key, after)
	if old == now {
		return // unchanged: not a change to read
	}
	*out = append(*out, AuditField{Name: name, Old: old, New: now, Changed: true})
}

func flattenAudit(out *[]AuditField, prefix string, obj map[string]any) {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	// The state first: it is what a reader looks for.
	sort.Slice(keys, func(i, j int) bool {
		if (keys[i] == "state") != (keys[j] == "state") {
			return keys[i] == "state"
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		name := auditName(prefix, k)
		v := obj[k]
		if m, ok := v.(map[string]any); ok {
			if before, after, ok := changePair(m); ok {
				changeFields(out, name, k, before, after)
				continue
			}
			flattenAudit(out, name, m)
			continue
		}
		*out = append(*out, AuditField{Name: name, New: auditValue(k, v)})
	}
}

// changePair recognises db.Change's JSON: before and/or after, nothing else.
func changePair(m map[string]any) (before, after any, ok bool) {
	if len(m) == 0 || len(m) > 2 {
		return nil, nil, false
	}
	for k := range m {
		if k != "before" && k != "after" {
			return nil, nil, false
		}
	}
	return m["before"], m["after"], true
}

// auditName makes "required_approvals" read "required approvals", and an
// amount's "_paise" go (its value is shown in rupees).
func auditName(prefix, key string) string {
	key = strings.TrimSuffix(key, "_paise")
	key = strings.ReplaceAll(key, "_", " ")
	if prefix == "" {
		return key
	}
	return prefix + " · " + key
}

func auditValue(key string, v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case string:
		if x == "" {
			return "—"
		}
		return x
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case json.Number:
		n, err := x.Int64()
		if err != nil {
			return x.String()
		}
		switch {
		case strings.HasSuffix(key, "_paise"):
			return INR(n)
		case strings.HasSuffix(key, "_at") && n > 1e12:
			return WhenPrecise(time.UnixMilli(n))
		}
		return strconv.FormatInt(n, 10)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			if _, nested := e.(map[string]any); nested {
				return compactJSON(x)
			}
			parts[i] = auditValue(key, e)
		}
		if len(parts) == 0 {
			return "—"
		}
		return strings.Join(parts, ", ")
	}
	return compactJSON(v)
}

func compactJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return strings.TrimSpace(b.String())
}
