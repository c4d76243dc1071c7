package editdist

import "testing"

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"abc", "", 3},
		{"same", "same", 0},
		{"kitten", "sitting", 3},
		{"ConnectionSucess", "ConnectionSuccess", 1},  // a letter missing
		{"ConnectionSuccses", "ConnectionSuccess", 1}, // two letters swapped
		{"ca", "abc", 3},         // OSA: a swapped pair is not edited again
		{"straße", "strasse", 2}, // runes, not bytes
		{"ab", "ba", 1},
	} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := Distance(c.b, c.a); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetric)", c.b, c.a, got, c.want)
		}
	}
}
