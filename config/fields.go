package config

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// field is one key of a schema struct, read from its tags.
type field struct {
	name     string // the YAML key
	index    int
	def      string // default:"…"
	hasDef   bool
	onlyKey  string   // only:"key=a,b": the sibling key that decides
	onlyVals []string // and the values that allow this key
	isPath   bool     // path:""
	endpoint bool     // endpoint:"": a URL that may be the credential itself
	enum     []string // enum:"a,b"; nil: any value
	disc     int      // index of the onlyKey field; -1 when none
	discEnum []string // its enum
}

// schema holds the keys of every struct type reachable from Config and
// from an exclusions file, read once from the tags; it is never written
// after package initialisation.
var schema = buildSchema(reflect.TypeFor[Config](), reflect.TypeFor[exclusionsFile]())

func buildSchema(roots ...reflect.Type) map[reflect.Type][]field {
	m := map[reflect.Type][]field{}
	var add func(t reflect.Type)
	add = func(t reflect.Type) {
		if _, done := m[t]; done || t == ruleType {
			return
		}
		m[t] = readFields(t)
		for i := range t.NumField() {
			switch ft := t.Field(i).Type; {
			case ft.Kind() == reflect.Struct:
				add(ft)
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				add(ft.Elem())
			}
		}
	}
	for _, t := range roots {
		add(t)
	}
	return m
}

// fieldsOf lists the keys of a schema struct in declaration order.
func fieldsOf(t reflect.Type) []field {
	if f, ok := schema[t]; ok {
		return f
	}
	return readFields(t)
}

// readFields reads the keys of a struct from its tags.
func readFields(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if !sf.IsExported() || name == "" || name == "-" {
			continue
		}
		f := field{name: name, index: i}
		f.def, f.hasDef = sf.Tag.Lookup("default")
		if only, ok := sf.Tag.Lookup("only"); ok {
			key, vals, _ := strings.Cut(only, "=")
			f.onlyKey, f.onlyVals = key, strings.Split(vals, ",")
		}
		_, f.isPath = sf.Tag.Lookup("path")
		_, f.endpoint = sf.Tag.Lookup("endpoint")
		if enum, ok := sf.Tag.Lookup("enum"); ok {
			f.enum = strings.Split(enum, ",")
		}
		out = append(out, f)
	}
	for i := range out {
		out[i].disc = -1
		if d := findField(out, out[i].onlyKey); out[i].onlyKey != "" && d != nil {
			out[i].disc = d.index
			out[i].discEnum = d.enum
		}
	}
	return out
}

func findField(fields []field, name string) *field {
	for i := range fields {
		if fields[i].name == name {
			return &fields[i]
		}
	}
	return nil
}

func fieldNames(fields []field) []string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return names
}

// discriminator returns the text of the sibling key that decides whether f
// may be set, and whether that text is one of the sibling's enum values
// (true when the sibling has no enum).
func (f *field) discriminator(parent reflect.Value) (string, bool) {
	if f.disc < 0 {
		return "", false // a schema bug, caught by TestSchemaTags
	}
	dv := parent.Field(f.disc)
	v := dv.String()
	if dv.Kind() == reflect.Bool {
		v = strconv.FormatBool(dv.Bool())
	}
	return v, f.discEnum == nil || slices.Contains(f.discEnum, v)
}

// allowed reports whether f may be set in parent, given its discriminator.
func (f *field) allowed(parent reflect.Value) bool {
	if f.onlyKey == "" {
		return true
	}
	cur, _ := f.discriminator(parent)
	return slices.Contains(f.onlyVals, cur)
}

// defaultOf returns the default of a value of type t: the default tag for a
// leaf, and the defaults applied to the zero value for a struct.
func defaultOf(t reflect.Type, f *field) reflect.Value {
	v := reflect.New(t).Elem()
	switch {
	case f != nil && f.hasDef:
		_ = setScalar(v, f.def) // TestSchemaTags checks every default parses
	case t.Kind() == reflect.Struct:
		setDefaults(v, "", nil)
	}
	return v
}

// isSet reports whether a key holds something beyond its default: it was
// written in the file, or (for a Config built in code) its value is neither
// zero nor the default.
func isSet(v reflect.Value, f *field, path string, lines map[string]int) bool {
	if lines[path] > 0 {
		return true
	}
	if v.IsZero() {
		return false
	}
	return !reflect.DeepEqual(v.Interface(), defaultOf(v.Type(), f).Interface())
}
