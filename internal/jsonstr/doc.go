// Package jsonstr writes JSON strings without reflection, for the code
// that assembles JSON by hand on a hot path (CSV rows turned into
// records, the load generator, the retro-hunt history's records).
package jsonstr
