package db

import "strings"

// Text search in lists is a prefix match on a normalised key column with an
// index of its own (or an exact match on a code), never LIKE '%…%' over a
// table: a prefix is a range of the index, so a search reads only what it
// finds, whatever the table's size.

// searchKey is how a name is kept for prefix search and how a query is
// normalised to match it: ASCII letters lower-cased (what LIKE ignores, so
// results equal a case-insensitive LIKE 'q%'), runs of white space made one
// space, and the ends trimmed. Other scripts are kept as they are.
func searchKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u00a0':
			space = true
			continue
		case r >= 'A' && r <= 'Z':
			r += 'a' - 'A'
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// prefixRange returns the bounds of every key that starts with prefix, for
// `key >= lo AND key < hi` on a BINARY-collated index. hi is prefix followed
// by the byte 0xFF, which no UTF-8 text contains, so it sorts after every
// key that continues prefix.
func prefixRange(prefix string) (lo, hi string) {
	return prefix, prefix + "\xff"
}
