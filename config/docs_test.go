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
