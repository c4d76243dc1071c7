// Package decompress recognises gzip and zstd content by its magic bytes
// and reads it decompressed, so that archived event files and feeds need
// no zcat in front of iocwatch.
package decompress
