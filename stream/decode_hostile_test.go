package stream

import (
	"errors"
	"strings"
	"testing"
)

// Decoder.MaxRecords: a message holding more records than the bound is cut
// there, with one error naming the first record left out, however the
// records are framed.
func TestDecodeStopsAtMaxRecordsWhateverTheFraming(t *testing.T) {
	rec := `{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"RemoteIP":"203.0.113.7"}}`
	five := strings.Repeat(rec+",", 4) + rec
	tests := []struct {
		name   string
		in     string
		max    int
		events int
		errRec int // record index of the ErrTooManyRecords error; -1: none
	}{
		{"an envelope of five records with a bound of three decodes three", `{"records":[` + five + `]}`, 3, 3, 3},
		{"a top-level array of five records with a bound of three decodes three", `[` + five + `]`, 3, 3, 3},
		{"five bare records as JSON lines with a bound of three decode three", strings.Repeat(rec+"\n", 5), 3, 3, 3},
		{"a body wrapper holding five records with a bound of two decodes two", `{"body":{"records":[` + five + `]}}`, 2, 2, 2},
		{"a body string holding five records, then more lines, stops once", `{"body":"{\"records\":[` + strings.ReplaceAll(five, `"`, `\"`) + `]}"}` + "\n" + rec + "\n" + rec, 4, 4, 4},
		{"two envelopes of five with a bound of seven decode seven", `{"records":[` + five + `]}` + "\n" + `{"records":[` + five + `]}`, 7, 7, 7},
		{"exactly the bound is not an error", `{"records":[` + five + `]}`, 5, 5, -1},
		{"a bound of zero means no bound", `{"records":[` + five + `]}`, 0, 5, -1},
		{"a negative bound means no bound", `[` + five + `]`, -1, 5, -1},
		{"records that are not objects count towards the bound", `{"records":[1,2,3,` + rec + `]}`, 3, 0, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Decoder{MaxRecords: tc.max}
			evs, errs := d.Decode([]byte(tc.in), nil)
			if len(evs) != tc.events {
				t.Errorf("%d events, want %d", len(evs), tc.events)
			}
			var limit []RecordError
			for _, e := range errs {
				if errors.Is(e, ErrTooManyRecords) {
					limit = append(limit, e)
				}
			}
			switch {
			case tc.errRec < 0 && len(limit) > 0:
				t.Errorf("unexpected limit errors %v", limit)
			case tc.errRec >= 0 && (len(limit) != 1 || limit[0].Record != tc.errRec):
				t.Errorf("limit errors %v; want exactly one, at record %d (all errors: %v)", limit, tc.errRec, errs)
			}
			if tc.errRec >= 0 && len(limit) == 1 && !strings.Contains(limit[0].Error(), "rest of message not decoded") {
				t.Errorf("error %q does not say the rest was left out", limit[0].Error())
			}
			st := d.Stats()
			var recErrs int64
			for _, e := range errs {
				if e.Record >= 0 {
					recErrs++
				}
			}
			if st.Records != st.ByTable[0]+st.ByTable[1]+st.ByTable[2]+recErrs {
				t.Errorf("stats do not add up: %+v with %d record errors", st, recErrs)
			}
		})
	}
}

// A decoder reused after a cut message decodes the next message whole.
func TestDecodeBoundIsPerMessage(t *testing.T) {
	rec := `{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"RemoteIP":"203.0.113.7"}}`
	d := Decoder{MaxRecords: 2}
	if evs, errs := d.Decode([]byte(`[`+rec+`,`+rec+`,`+rec+`]`), nil); len(evs) != 2 || len(errs) != 1 {
		t.Fatalf("first message: %d events, errors %v", len(evs), errs)
	}
	if evs, errs := d.Decode([]byte(`[`+rec+`,`+rec+`]`), nil); len(evs) != 2 || len(errs) != 0 {
		t.Fatalf("second message: %d events, errors %v; the bound must not carry over", len(evs), errs)
	}
}
