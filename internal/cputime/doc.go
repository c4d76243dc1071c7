// Package cputime reads the CPU time the process, or the calling thread,
// has used. On a shared machine CPU time measures the work a benchmark or
// a pacer did where wall time also measures the other tenants. Where the
// platform does not tell, the functions return 0.
package cputime
