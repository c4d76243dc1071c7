// Package textenc lets the parsers read text that Windows tools write as
// UTF-16 — Windows PowerShell's `>` and Out-File, Excel's "Unicode Text" —
// by transcoding it to the UTF-8 they expect. UTF-8 (with or without a
// byte order mark) is left to the parsers as it is.
package textenc
