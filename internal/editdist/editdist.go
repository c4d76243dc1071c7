// Package editdist measures how far apart two short strings are, for
// "did you mean" suggestions: a misspelt configuration key, an exclusion
// rule's misspelt Defender action type.
package editdist

// Distance is the optimal string alignment distance between a and b,
// compared rune by rune: the fewest insertions, deletions, substitutions
// and swaps of two adjacent runes that turn one into the other (a swap
// counts as one edit, as it is one slip of the fingers). It allocates
// three rows of len(b)+1 ints; it is meant for short strings.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// Three rows of the table: two back, one back, this one.
	prev2, prev, cur := make([]int, len(rb)+1), make([]int, len(rb)+1), make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
