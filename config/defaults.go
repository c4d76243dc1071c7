package config

import (
	"path/filepath"
	"reflect"
	"strconv"
)

// Default returns the configuration of an empty file: every default filled
// in, a file source without paths, no feeds, and one stdout sink. It does
// not pass Validate until a source path and a feed are added.
func Default() *Config {
	c := &Config{}
	applyDefaults(c)
	return c
}

// ApplyDefaults fills the defaults of keys that are zero and were not
// written in the configuration file: use it after adding feeds or sinks in
// code (a Feed{Name, Path} gets format auto, the allow minimums, …). Keys
// the file set, even to zero, keep their value. A nil Sinks becomes the
// default stdout sink. Load and Parse have already applied the defaults;
// calling it again changes nothing.
func (c *Config) ApplyDefaults() { applyDefaults(c) }

// applyDefaults fills every key that the file left out with its default.
// Keys of a block that its type does not select get no defaults.
func applyDefaults(c *Config) {
	var lines map[string]int
	if c.meta != nil {
		lines = c.meta.lines
	}
	if c.Sinks == nil {
		c.Sinks = []Sink{{Name: "stdout", Type: "stdout"}}
	}
	setDefaults(reflect.ValueOf(c).Elem(), "", lines)
}

// setDefaults fills the zero keys of struct v (at path) that were not
// written in the file.
func setDefaults(v reflect.Value, path string, lines map[string]int) {
	for _, f := range fieldsOf(v.Type()) {
		if !f.allowed(v) {
			continue
		}
		fv := v.Field(f.index)
		sub := joinPath(path, f.name)
		if f.hasDef && fv.IsZero() && lines[sub] == 0 {
			def := f.def
			if s, ok := v.Addr().Interface().(*Sink); ok && f.name == "format" && s.Type == "syslog" {
				def = "cef" // the one default that depends on the type
			}
			_ = setScalar(fv, def) // TestSchemaTags checks every default parses
		}
		switch {
		case fv.Kind() == reflect.Struct:
			setDefaults(fv, sub, lines)
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct && fv.Type().Elem() != ruleType:
			for i := range fv.Len() {
				setDefaults(fv.Index(i), sub+"["+strconv.Itoa(i)+"]", lines)
			}
		}
	}
}

// resolvePaths joins every relative path key of v with base.
func resolvePaths(v reflect.Value, base string) {
	for _, f := range fieldsOf(v.Type()) {
		fv := v.Field(f.index)
		switch {
		case f.isPath && fv.Kind() == reflect.String:
			fv.SetString(resolvePath(base, fv.String()))
		case f.isPath && fv.Kind() == reflect.Slice:
			for i := range fv.Len() {
				fv.Index(i).SetString(resolvePath(base, fv.Index(i).String()))
			}
		case fv.Kind() == reflect.Struct:
			resolvePaths(fv, base)
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct && fv.Type().Elem() != ruleType:
			for i := range fv.Len() {
				resolvePaths(fv.Index(i), base)
			}
		}
	}
}

func resolvePath(base, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(base, p)
}
