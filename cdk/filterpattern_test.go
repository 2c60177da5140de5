package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// This file holds a matcher for the subset of CloudWatch Logs JSON filter
// patterns that the stack's metric filters use, so tests can run each
// synthesized pattern over log lines the code really wrote. It follows
// the CloudWatch Logs user guide, "Filter pattern syntax", section
// "Matching terms in JSON log events":
//
//   - a pattern is { expression }; && binds tighter than ||; parentheses group;
//   - a selector is $.name(.name)*; it must point to a value node (string,
//     number, boolean or null): an object or an array never matches;
//   - SELECTOR = or != a string, quoted or bare, with * as a wildcard at the
//     start or the end (one in the middle is a literal *); = * matches any
//     value;
//   - SELECTOR =, !=, <, >, <=, >= a number compares numerically;
//   - SELECTOR IS NULL, IS TRUE, IS FALSE, NOT EXISTS.
//
// Where the guide is silent it fails closed, so a test passes only on lines
// CloudWatch matches too: a missing field fails every comparison, != as
// well; a string value never equals a number and a number never equals a
// string; a numeric comparison on a string fails.

// jsonFilter is a parsed JSON filter pattern.
type jsonFilter struct{ root filterNode }

// filterNode is one node of a parsed pattern.
type filterNode interface {
	match(doc map[string]any) bool
}

type (
	orNode   []filterNode
	andNode  []filterNode
	condNode struct {
		path []string
		op   string // =, !=, <, >, <=, >=, IS NULL, IS TRUE, IS FALSE, NOT EXISTS
		str  string // string operand (= and != only)
		num  float64
		kind byte // 's' string, 'n' number, 'a' any (= *), 'k' keyword
	}
)

func (n orNode) match(doc map[string]any) bool {
	for _, c := range n {
		if c.match(doc) {
			return true
		}
	}
	return false
}

func (n andNode) match(doc map[string]any) bool {
	for _, c := range n {
		if !c.match(doc) {
			return false
		}
	}
	return true
}

// lookup returns the value at path in doc, and whether it exists.
func lookup(doc map[string]any, path []string) (any, bool) {
	var cur any = doc
	for _, p := range path {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func (n condNode) match(doc map[string]any) bool {
	v, found := lookup(doc, n.path)
	switch n.op {
	case "NOT EXISTS":
		return !found
	case "IS NULL":
		return found && v == nil
	case "IS TRUE", "IS FALSE":
		b, ok := v.(bool)
		return found && ok && b == (n.op == "IS TRUE")
	}
	if !found {
		return false
	}
	switch v.(type) {
	case map[string]any, []any:
		return false // not a value node
	}
	switch n.kind {
	case 'a':
		return v != nil
	case 's':
		s, ok := v.(string)
		if !ok {
			return false
		}
		eq := wildcardMatch(n.str, s)
		if n.op == "!=" {
			return !eq
		}
		return eq
	case 'n':
		f, ok := v.(float64)
		if !ok {
			return false
		}
		switch n.op {
		case "=":
			return f == n.num
		case "!=":
			return f != n.num
		case "<":
			return f < n.num
		case ">":
			return f > n.num
		case "<=":
			return f <= n.num
		case ">=":
			return f >= n.num
		}
	}
	return false
}

// wildcardMatch reports whether s matches pattern, which may start or end
// with * (any text); a * elsewhere is literal.
func wildcardMatch(pattern, s string) bool {
	switch {
	case pattern == "*":
		return true
	case len(pattern) > 1 && strings.HasPrefix(pattern, "*") && strings.HasSuffix(pattern, "*"):
		return strings.Contains(s, pattern[1:len(pattern)-1])
	case strings.HasPrefix(pattern, "*"):
		return strings.HasSuffix(s, pattern[1:])
	case strings.HasSuffix(pattern, "*"):
		return strings.HasPrefix(s, pattern[:len(pattern)-1])
	}
	return s == pattern
}

// parseJSONFilter parses a JSON filter pattern.
func parseJSONFilter(pattern string) (jsonFilter, error) {
	p := &filterParser{toks: tokenize(pattern)}
	if !p.take("{") {
		return jsonFilter{}, fmt.Errorf("%q: a JSON pattern starts with {", pattern)
	}
	root, err := p.or()
	if err != nil {
		return jsonFilter{}, fmt.Errorf("%q: %w", pattern, err)
	}
	if !p.take("}") || p.i != len(p.toks) {
		return jsonFilter{}, fmt.Errorf("%q: want } at the end", pattern)
	}
	return jsonFilter{root: root}, nil
}

// matchLine reports whether the JSON log line matches f; a line that is
// not a JSON object never matches.
func (f jsonFilter) matchLine(line []byte) bool {
	var doc map[string]any
	if json.Unmarshal(line, &doc) != nil {
		return false
	}
	return f.root.match(doc)
}

// token is a lexical token; quoted marks a double-quoted string.
type token struct {
	text   string
	quoted bool
}

// tokenize splits a pattern into tokens.
func tokenize(s string) []token {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case strings.ContainsRune("{}()", rune(c)):
			toks = append(toks, token{text: string(c)})
			i++
		case strings.HasPrefix(s[i:], "&&") || strings.HasPrefix(s[i:], "||") ||
			strings.HasPrefix(s[i:], "!=") || strings.HasPrefix(s[i:], ">=") || strings.HasPrefix(s[i:], "<="):
			toks = append(toks, token{text: s[i : i+2]})
			i += 2
		case c == '=' || c == '<' || c == '>':
			toks = append(toks, token{text: string(c)})
			i++
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			text, err := strconv.Unquote(s[i:min(j+1, len(s))])
			if err != nil {
				text = s[i+1 : min(j, len(s))]
			}
			toks = append(toks, token{text: text, quoted: true})
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n{}()=<>!&|\"", rune(s[j])) {
				j++
			}
			if j == i { // a lone ! or & or |
				j++
			}
			toks = append(toks, token{text: s[i:j]})
			i = j
		}
	}
	return toks
}

// filterParser is a recursive-descent parser over tokens.
type filterParser struct {
	toks []token
	i    int
}

func (p *filterParser) peek() (token, bool) {
	if p.i >= len(p.toks) {
		return token{}, false
	}
	return p.toks[p.i], true
}

// take consumes the next token when it is the unquoted text.
func (p *filterParser) take(text string) bool {
	if t, ok := p.peek(); ok && !t.quoted && t.text == text {
		p.i++
		return true
	}
	return false
}

func (p *filterParser) or() (filterNode, error) {
	var n orNode
	for {
		a, err := p.and()
		if err != nil {
			return nil, err
		}
		n = append(n, a)
		if !p.take("||") {
			break
		}
	}
	if len(n) == 1 {
		return n[0], nil
	}
	return n, nil
}

func (p *filterParser) and() (filterNode, error) {
	var n andNode
	for {
		a, err := p.primary()
		if err != nil {
			return nil, err
		}
		n = append(n, a)
		if !p.take("&&") {
			break
		}
	}
	if len(n) == 1 {
		return n[0], nil
	}
	return n, nil
}

func (p *filterParser) primary() (filterNode, error) {
	if p.take("(") {
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.take(")") {
			return nil, fmt.Errorf("want )")
		}
		return n, nil
	}
	sel, ok := p.peek()
	if !ok || sel.quoted || !strings.HasPrefix(sel.text, "$.") || len(sel.text) < 3 {
		return nil, fmt.Errorf("want a selector $.name, got %q", sel.text)
	}
	p.i++
	cond := condNode{path: strings.Split(sel.text[2:], ".")}
	for _, part := range cond.path {
		if part == "" || strings.ContainsAny(part, "[]*") {
			return nil, fmt.Errorf("selector %q: only $.name(.name)* is supported", sel.text)
		}
	}
	switch {
	case p.take("IS"):
		switch {
		case p.take("NULL"):
			cond.op = "IS NULL"
		case p.take("TRUE"):
			cond.op = "IS TRUE"
		case p.take("FALSE"):
			cond.op = "IS FALSE"
		default:
			return nil, fmt.Errorf("want NULL, TRUE or FALSE after IS")
		}
		cond.kind = 'k'
		return cond, nil
	case p.take("NOT"):
		if !p.take("EXISTS") {
			return nil, fmt.Errorf("want EXISTS after NOT")
		}
		cond.op, cond.kind = "NOT EXISTS", 'k'
		return cond, nil
	}
	op, ok := p.peek()
	if !ok || op.quoted || !strings.Contains(" = != < > <= >= ", " "+op.text+" ") {
		return nil, fmt.Errorf("want an operator after %s", sel.text)
	}
	p.i++
	cond.op = op.text
	val, ok := p.peek()
	if !ok || (!val.quoted && strings.ContainsAny(val.text, "{}()&|")) {
		return nil, fmt.Errorf("want a value after %s %s", sel.text, op.text)
	}
	p.i++
	switch f, err := strconv.ParseFloat(val.text, 64); {
	case !val.quoted && err == nil:
		cond.kind, cond.num = 'n', f
	case cond.op != "=" && cond.op != "!=":
		return nil, fmt.Errorf("%s needs a number, got %q", cond.op, val.text)
	case !val.quoted && val.text == "*" && cond.op == "=":
		cond.kind = 'a'
	default:
		cond.kind, cond.str = 's', val.text
	}
	return cond, nil
}

// metricValueOf returns what a line adds to a metric whose metric value
// is value: a literal number, or "$.field" naming a number of the line.
func metricValueOf(value string, line []byte) (float64, error) {
	if !strings.HasPrefix(value, "$.") {
		return strconv.ParseFloat(value, 64)
	}
	var doc map[string]any
	if err := json.Unmarshal(line, &doc); err != nil {
		return 0, err
	}
	v, _ := lookup(doc, strings.Split(value[2:], "."))
	f, ok := v.(float64)
	if !ok {
		return 0, fmt.Errorf("%s is %v (%T) in %s, not a number", value, v, v, line)
	}
	return f, nil
}

// dimensionValueOf returns a dimension's value for a line: the string at
// the "$.field" selector.
func dimensionValueOf(selector string, line []byte) (string, error) {
	var doc map[string]any
	if err := json.Unmarshal(line, &doc); err != nil {
		return "", err
	}
	v, _ := lookup(doc, strings.Split(strings.TrimPrefix(selector, "$."), "."))
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s is %v (%T) in %s, not a string", selector, v, v, line)
	}
	return s, nil
}

// docEvent is the guide's example JSON event for single conditions.
const docEvent = `{"eventType": "UpdateTrail", "sourceIPAddress": "111.111.111.111",
	"arrayKey": ["value", "another value"],
	"objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
	"SomeObject": null, "ThisFlag": true}`

// docCompound is the guide's example JSON event for compound conditions.
const docCompound = `{"user": {"id": 1, "email": "John.Stiles@example.com"},
	"users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}],
	"actions": ["GET", "PUT", "DELETE"]}`

// TestJSONFilter holds the matcher to the guide's examples, and to lines
// of the shapes our code writes.
func TestJSONFilter(t *testing.T) {
	request := `{"time":"2026-01-01T00:00:00Z","level":"INFO","msg":"request","method":"GET","path":"/api/campaigns/1/banners","status":503,"bytes":40,"duration":1234567,"campaign_id":1,"quarter":2,"cache":"stale"}`
	tests := []struct {
		pattern, line string
		want          bool
	}{
		// The guide's examples.
		{`{ $.eventType = "UpdateTrail" }`, docEvent, true},
		{`{ $.eventType = UpdateTrail }`, docEvent, true},
		{`{ $.eventType = "Update*" }`, docEvent, true},
		{`{ $.eventType = "*Trail" }`, docEvent, true},
		{`{ $.eventType = "*dateTr*" }`, docEvent, true},
		{`{ $.eventType = "Up*ail" }`, docEvent, false}, // a * in the middle is literal
		{`{ $.eventType = "updatetrail" }`, docEvent, false},
		{`{ $.sourceIPAddress != 123.123.* }`, docEvent, true},
		{`{ $.sourceIPAddress != 111.111.* }`, docEvent, false},
		{`{ $.SomeObject IS NULL }`, docEvent, true},
		{`{ $.eventType IS NULL }`, docEvent, false},
		{`{ $.SomeOtherObject NOT EXISTS }`, docEvent, true},
		{`{ $.SomeObject NOT EXISTS }`, docEvent, false},
		{`{ $.ThisFlag IS TRUE }`, docEvent, true},
		{`{ $.ThisFlag IS FALSE }`, docEvent, false},
		{`{ $.arrayKey = "value" }`, docEvent, false}, // an array is not a value node
		{`{ $.objectList != "x" }`, docEvent, false},  // nor is it for !=
		{`{ $.missing != "x" }`, docEvent, false},     // a missing field fails
		{`{ ($.user.id = 1) && ($.users.x = "y") }`, docCompound, false},
		{`{ $.user.id = 1 && $.user.email = "John.Stiles@example.com" }`, docCompound, true},
		{`{ $.user.email = "John.Stiles@example.com" || $.user.id = 2 && $.actions = "x" }`, docCompound, true},
		{`{ ($.user.email = "John.Stiles@example.com" || $.user.id = 2) && $.actions = "x" }`, docCompound, false},
		{`{ $.user.id >= 1 }`, docCompound, true},
		{`{ $.user.id > 1 }`, docCompound, false},
		{`{ $.user.id < 10e3 }`, docCompound, true},
		{`{ $.user.id <= +1 }`, docCompound, true},
		{`{ $.user.id != 500 }`, docCompound, true},
		// Our lines: numbers, strings and the two never mixed.
		{`{ $.msg = "request" && $.status >= 500 }`, request, true},
		{`{ $.msg = "request" && $.status >= 400 && $.status < 500 }`, request, false},
		{`{ $.msg = "request" && $.cache = "stale" }`, request, true},
		{`{ $.msg = "request" && $.cache = "hit" }`, request, false},
		{`{ $.msg = "request" && $.duration >= 0 }`, request, true},
		{`{ $.msg = "cold start" }`, request, false},
		{`{ $.status = "503" }`, request, false},     // a number is not the string
		{`{ $.cache >= 0 }`, request, false},         // a string is not a number
		{`{ $.cache = * }`, request, true},           // any value
		{`{ $.banners = * }`, request, false},        // absent
		{`{ $.msg = "request" }`, `not json`, false}, // not a JSON line
		{`{ $.msg = "request" }`, `["request"]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" on "+tt.line[:min(len(tt.line), 30)], func(t *testing.T) {
			f, err := parseJSONFilter(tt.pattern)
			require.NoError(t, err)
			require.Equal(t, tt.want, f.matchLine([]byte(tt.line)))
		})
	}
}

func TestJSONFilterRejectsWhatItDoesNotKnow(t *testing.T) {
	for _, pattern := range []string{
		`$.msg = "request"`,             // not in braces
		`{ $.msg = "request"`,           // unclosed
		`{ $.msg = "request" } extra`,   // trailing text
		`{ msg = "request" }`,           // no selector
		`{ $.msg "request" }`,           // no operator
		`{ $.msg = }`,                   // no value
		`{ $.status >= "500" }`,         // a string with a numeric operator
		`{ $.users[0].id = 1 }`,         // arrays: not supported here
		`{ ($.msg = "request" }`,        // unbalanced parenthesis
		`{ $.msg IS MAYBE }`,            // unknown keyword
		`{ $.msg = "a" && }`,            // dangling operator
		`{ $.msg = "a" || || $.b = 1 }`, // doubled operator
	} {
		t.Run(pattern, func(t *testing.T) {
			_, err := parseJSONFilter(pattern)
			require.Error(t, err)
		})
	}
}

func TestMetricValueAndDimension(t *testing.T) {
	line := []byte(`{"msg":"file read","kind":"clicks","accepted":20,"rejected":2,"duration":1500000}`)
	values := []struct {
		value   string
		want    float64
		wantErr bool
	}{
		{"1", 1, false},
		{"$.accepted", 20, false},
		{"$.duration", 1.5e6, false},
		{"$.kind", 0, true},    // a string
		{"$.missing", 0, true}, // absent
	}
	for _, tt := range values {
		t.Run(tt.value, func(t *testing.T) {
			got, err := metricValueOf(tt.value, line)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	got, err := dimensionValueOf("$.kind", line)
	require.NoError(t, err)
	require.Equal(t, "clicks", got)
	_, err = dimensionValueOf("$.accepted", line)
	require.Error(t, err, "a number is no dimension value here")
}
