package config

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/iocwatch/iocwatch/internal/exampleenv"
)

// exampleFiles are the configuration examples in docs/examples, and
// exampleEnv the variables they need.
var exampleFiles = []string{"iocwatch.yaml", "eventhubs.yaml", "kafka-eventhubs-endpoint.yaml"}

var exampleEnv = exampleenv.Vars

func TestExamplesAreValid(t *testing.T) {
	for k, v := range exampleEnv {
		t.Setenv(k, v)
	}
	for _, f := range exampleFiles {
		t.Run(f, func(t *testing.T) {
			path := filepath.Join("..", "docs", "examples", f)
			c, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			// The TLS files they name are on the deployment's machine.
			if err := c.validateShape(); err != nil {
				t.Fatal(err)
			}
			if w := c.Warnings(); len(w) > 0 {
				t.Errorf("the example has warnings: %q", w)
			}
		})
	}
	// The Kafka-endpoint example keeps the literal user name.
	c, err := Load(filepath.Join("..", "docs", "examples", "kafka-eventhubs-endpoint.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Source.Kafka.SASL.Username; got != "$ConnectionString" {
		t.Errorf("username = %q, want $ConnectionString", got)
	}
	if got := c.Source.Kafka.SASL.Password.Reveal(); got != exampleEnv["EVENTHUB_CONNECTION_STRING"] {
		t.Errorf("password = %q", got)
	}
	// The complete example loads its exclusions file.
	c, err = Load(filepath.Join("..", "docs", "examples", "iocwatch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := c.AllExclusions()
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := LoadExclusions(filepath.Join("..", "docs", "examples", "exclusions.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 1+len(fromFile) || rules[0].Name != "vulnerability-scanner" || rules[1].Name != fromFile[0].Name {
		t.Errorf("AllExclusions = %d rules starting %q, want the inline rule then the %d of the file", len(rules), rules[0].Name, len(fromFile))
	}
	// Every other YAML example is an exclusions file: an example added
	// without a line in exampleFiles is not left unchecked.
	all, err := filepath.Glob(filepath.Join("..", "docs", "examples", "*.yaml"))
	if err != nil || len(all) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, path := range all {
		if slices.Contains(exampleFiles, filepath.Base(path)) {
			continue
		}
		if _, err := LoadExclusions(path); err != nil {
			t.Errorf("%s is neither in exampleFiles nor a valid exclusions file: %v", path, err)
		}
	}
}

// TestExamplesNeedTheirVariables checks that the examples really take their
// secrets from the environment.
func TestExamplesNeedTheirVariables(t *testing.T) {
	for k := range exampleEnv {
		t.Setenv(k, "") // set, then unset below
		os.Unsetenv(k)
	}
	_, err := Load(filepath.Join("..", "docs", "examples", "iocwatch.yaml"))
	if err == nil {
		t.Fatal("want errors for the unset variables")
	}
	for _, v := range []string{"KAFKA_PASSWORD", "ABUSECH_KEY", "TAXII_TOKEN", "SOAR_HMAC_KEY", "SOAR_API_KEY", "SPLUNK_HEC_TOKEN", "METRICS_PASSWORD"} {
		if !strings.Contains(err.Error(), "environment variable "+v+" is not set") {
			t.Errorf("no error names %s:\n%v", v, err)
		}
	}
}

// docRow is one row of a reference table in docs/configuration.md.
type docRow struct {
	section, key, def, meaning string
}

var codeSpan = regexp.MustCompile("^`([^`]*)`")

func docRows(t *testing.T) []docRow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []docRow
	section, inRef := "", false
	for line := range strings.SplitSeq(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "## "):
			inRef = line == "## Reference"
		case strings.HasPrefix(line, "### "):
			section = strings.TrimPrefix(line, "### ")
		case inRef && strings.HasPrefix(line, "| `"):
			cells := strings.Split(line, " | ")
			if len(cells) < 4 {
				t.Fatalf("short row: %s", line)
			}
			rows = append(rows, docRow{section, strings.Trim(strings.TrimPrefix(cells[0], "| "), "`"), cells[2], strings.Join(cells[3:], " | ")})
		}
	}
	return rows
}

// schemaRows lists the keys the reference must document, with the field
// that defines each: leaves, lists and maps, and the shared TLS and SASL
// blocks once each.
func schemaRows() map[string]field {
	out := map[string]field{}
	shared := map[reflect.Type]string{
		reflect.TypeFor[TLS]():     "TLS block (Kafka and syslog)",
		reflect.TypeFor[HTTPTLS](): "HTTPS TLS block",
		reflect.TypeFor[SASL]():    "SASL block",
	}
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for _, f := range fieldsOf(t) {
			ft := t.Field(f.index).Type
			key := joinPath(prefix, f.name)
			switch {
			case shared[ft] != "":
				out[key] = f
			case ft.Kind() == reflect.Struct:
				walk(ft, key)
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct && ft.Elem() != ruleType:
				if key == "sinks" {
					out[key] = f
				}
				walk(ft.Elem(), key+"[]")
			default:
				out[key] = f
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
	main := out
	for t, section := range shared {
		out = map[string]field{}
		walk(t, "")
		for k, f := range out {
			main[section+"/"+k] = f
		}
	}
	return main
}

// TestReferenceDocumentsEveryKey keeps docs/configuration.md in step with
// the schema: every key has a row, every row is a key, and the default
// column starts with the key's default.
func TestReferenceDocumentsEveryKey(t *testing.T) {
	want := schemaRows()
	seen := map[string]bool{}
	for _, r := range docRows(t) {
		key := r.key
		if strings.Contains(r.section, "block") {
			key = r.section + "/" + r.key
		}
		f, ok := want[key]
		if !ok {
			t.Errorf("the reference documents %q, which is not a key", key)
			continue
		}
		if seen[key] {
			t.Errorf("the reference documents %q twice", key)
		}
		seen[key] = true
		m := codeSpan.FindStringSubmatch(r.def)
		switch {
		case f.hasDef && (m == nil || m[1] != f.def):
			t.Errorf("%s: default column %q, want it to start with `%s`", key, r.def, f.def)
		case !f.hasDef && m != nil && !slices.Contains([]string{`""`, "false", "0", "0s", "[]", "{}"}, m[1]):
			t.Errorf("%s: default column %q, but the key has no default", key, r.def)
		}
		for _, v := range f.enum {
			if v == "" {
				v = `""`
			}
			if !strings.Contains(r.meaning, "`"+v+"`") {
				t.Errorf("%s: the meaning column does not list the value `%s`", key, v)
			}
		}
	}
	for key := range want {
		if !seen[key] {
			t.Errorf("the reference does not document %q", key)
		}
	}
	data, err := os.ReadFile(filepath.Join("..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range ConditionKeys() {
		if !strings.Contains(string(data), "| `"+k+"` |") {
			t.Errorf("the exclusion condition %q is not documented", k)
		}
	}
}

// TestSchemaTags checks the tags that drive decoding: every default parses
// into its field, every only:"key=…" names a sibling key, and every field
// comment states its default (matching the tag) or that it is required.
func TestSchemaTags(t *testing.T) {
	comments := fieldComments(t)
	seen := map[reflect.Type]bool{}
	var walk func(t2 reflect.Type)
	walk = func(st reflect.Type) {
		if seen[st] {
			return
		}
		seen[st] = true
		fields := fieldsOf(st)
		for _, f := range fields {
			sf := st.Field(f.index)
			name := st.Name() + "." + sf.Name
			if f.hasDef {
				if err := setScalar(reflect.New(sf.Type).Elem(), f.def); err != nil {
					t.Errorf("%s: default %q: %v", name, f.def, err)
				}
			}
			if f.onlyKey != "" && findField(fields, f.onlyKey) == nil {
				t.Errorf("%s: only:%q names no sibling key", name, f.onlyKey)
			}
			doc := comments[name]
			ft := sf.Type
			isBlock := ft.Kind() == reflect.Struct || ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct
			switch {
			case doc == "":
				t.Errorf("%s has no doc comment", name)
			case f.hasDef && !strings.Contains(doc, "Default: "+f.def) && !strings.Contains(doc, "Default: "+strconv.Quote(f.def)):
				t.Errorf("%s: the comment does not say \"Default: %s\": %q", name, f.def, doc)
			case !f.hasDef && !isBlock && !strings.Contains(doc, "Default: ") && !strings.Contains(doc, "Required"):
				t.Errorf("%s: the comment states neither a default nor Required: %q", name, doc)
			}
			switch {
			case ft.Kind() == reflect.Struct:
				walk(ft)
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct && ft.Elem() != ruleType:
				walk(ft.Elem())
			}
		}
	}
	walk(reflect.TypeFor[Config]())
}

// fieldComments maps "Type.Field" to the doc comment in config.go.
func fieldComments(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "config.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok {
			return true
		}
		st, ok := ts.Type.(*ast.StructType)
		if !ok {
			return true
		}
		for _, fl := range st.Fields.List {
			for _, nm := range fl.Names {
				out[ts.Name.Name+"."+nm.Name] = strings.Join(strings.Fields(fl.Doc.Text()), " ")
			}
		}
		return true
	})
	return out
}

// TestReferenceDefaultsAreTheLoadedValues checks the default column of
// docs/configuration.md against what Load gives, not only against the
// tags: for every key with a default written as a value, a file that
// selects the key's block (source type, feed and sink type, TLS enabled…)
// and leaves the key out must load with that value.
func TestReferenceDefaultsAreTheLoadedValues(t *testing.T) {
	// The shared blocks are checked where one of their users puts them.
	sharedAt := map[string]string{
		"TLS block (Kafka and syslog)": "source.kafka.tls",
		"HTTPS TLS block":              "sinks[].webhook.tls",
		"SASL block":                   "source.kafka.sasl",
	}
	checked := 0
	for _, r := range docRows(t) {
		key := r.key
		if at, ok := sharedAt[r.section]; ok {
			key = at + "." + r.key
		}
		m := codeSpan.FindStringSubmatch(r.def)
		if m == nil {
			continue // required, or a block: "off", "none", "system roots"
		}
		t.Run(key, func(t *testing.T) {
			doc, leaf := selectingFile(t, key)
			data, err := yaml.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Parse(data, "defaults.yaml")
			if err != nil {
				t.Fatalf("%v\n%s", err, data)
			}
			got := valueAt(t, reflect.ValueOf(c).Elem(), key)
			want := reflect.New(got.Type()).Elem()
			switch m[1] {
			case `""`, "[]", "{}":
			default:
				if err := setScalar(want, m[1]); err != nil {
					t.Fatalf("the documented default %q is not a %s: %v", m[1], got.Type(), err)
				}
			}
			if got.Kind() == reflect.Slice || got.Kind() == reflect.Map {
				if got.Len() != 0 {
					t.Errorf("loads as %v, the reference says %s", got, m[1])
				}
				return
			}
			if !reflect.DeepEqual(got.Interface(), want.Interface()) {
				t.Errorf("loads as %v (the file selected %s), the reference says %s", got, leaf, m[1])
			}
		})
		checked++
	}
	if checked < 100 {
		t.Fatalf("only %d defaults checked: is the table parsed?", checked)
	}
}

// selectingFile returns a document that reaches key — a list item for
// each [] — with every only:"k=v" on the way (and on key itself) set to
// its first value, and the text of what it set.
func selectingFile(t *testing.T, key string) (map[string]any, string) {
	t.Helper()
	root := map[string]any{}
	cur, typ := root, reflect.TypeFor[Config]()
	var set []string
	parts := strings.Split(key, ".")
	for i, part := range parts {
		name, isList := strings.CutSuffix(part, "[]")
		fields := fieldsOf(typ)
		f := findField(fields, name)
		if f == nil {
			t.Fatalf("%s: no key %s", key, name)
		}
		if f.onlyKey != "" && f.onlyVals[0] != "" {
			cur[f.onlyKey] = f.onlyVals[0]
			set = append(set, f.onlyKey+"="+f.onlyVals[0])
		}
		if i == len(parts)-1 {
			break
		}
		ft := typ.Field(f.index).Type
		next := map[string]any{}
		if isList {
			cur[name] = []any{next}
			ft = ft.Elem()
		} else {
			cur[name] = next
		}
		cur, typ = next, ft
	}
	for k, v := range cur {
		if s, ok := v.(string); ok && s == "true" {
			cur[k] = true // a bool discriminator (tls enabled)
		}
	}
	return root, strings.Join(set, ", ")
}

// valueAt walks key ("sinks[].syslog.network", the first item of each
// list) down from the Config v.
func valueAt(t *testing.T, v reflect.Value, key string) reflect.Value {
	t.Helper()
	for part := range strings.SplitSeq(key, ".") {
		name, isList := strings.CutSuffix(part, "[]")
		f := findField(fieldsOf(v.Type()), name)
		v = v.Field(f.index)
		if isList {
			if v.Len() == 0 {
				t.Fatalf("%s: the list is empty", key)
			}
			v = v.Index(0)
		}
	}
	return v
}

// yamlBlock finds the ```yaml code blocks of a Markdown page.
var yamlBlock = regexp.MustCompile("(?ms)^```yaml\n(.*?)^```")

// TestDocumentedYAMLReads reads the YAML blocks of the docs that are a
// configuration, or part of one written from its top level: each must
// read (Parse), and one that holds only exclusions must pass the checks
// of an exclusions file. Blocks that start indented (a tls or sasl block
// shown alone) or at a key that is not iocwatch's (a Kubernetes probe, a
// Prometheus rule) are fragments and left out, except in
// docs/configuration.md, where every block must read.
func TestDocumentedYAMLReads(t *testing.T) {
	top := map[string]bool{}
	for _, f := range fieldsOf(reflect.TypeFor[Config]()) {
		top[f.name] = true
	}
	// A variable the examples do not set reads as a stand-in.
	lookup := func(name string) (string, bool) {
		if v, ok := exampleEnv[name]; ok {
			return v, true
		}
		return "stand-in", true
	}
	pages, err := filepath.Glob(filepath.Join("..", "docs", "*.md"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("no docs: %v", err)
	}
	pages = append(pages, filepath.Join("..", "README.md"))
	checked := map[string]int{}
	for _, page := range pages {
		data, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(page)
		for i, m := range yamlBlock.FindAllStringSubmatch(string(data), -1) {
			block := m[1]
			if name != "configuration.md" && !startsAtTopLevelKey(block, top) {
				continue
			}
			checked[name]++
			t.Run(name+"#"+strconv.Itoa(i+1), func(t *testing.T) {
				if _, err := parse([]byte(block), name, ".", lookup); err != nil {
					t.Errorf("%v\n%s", err, block)
				}
				var root map[string]any
				if yaml.Unmarshal([]byte(block), &root) == nil && len(root) == 1 && root["exclusions"] != nil {
					if _, err := parseExclusions([]byte(block), name, lookup); err != nil {
						t.Errorf("as an exclusions file: %v\n%s", err, block)
					}
				}
			})
		}
	}
	if checked["configuration.md"] < 2 {
		t.Errorf("checked %d YAML blocks of docs/configuration.md: are they still ```yaml blocks?", checked["configuration.md"])
	}
}

// startsAtTopLevelKey reports whether the first line of block that is not
// blank or a comment is a top-level key of the configuration.
func startsAtTopLevelKey(block string, top map[string]bool) bool {
	for line := range strings.SplitSeq(block, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		key, _, ok := strings.Cut(line, ":")
		return ok && top[key]
	}
	return false
}
