package inspect

import (
	"crypto/rand"
	"fmt"
)

// DefaultBin is the bin of captures that name none.
const DefaultBin = "default"

// ValidBin checks a bin name: 1 to 64 characters of A-Z, a-z, 0-9, _ and -.
func ValidBin(name string) error {
	if name == "" {
		return fmt.Errorf("%w: bin name is empty (want 1-64 of A-Z a-z 0-9 _ -)", ErrInvalid)
	}
	if len(name) > 64 {
		return fmt.Errorf("%w: bin name is %d characters long; the limit is 64", ErrInvalid, len(name))
	}
	for i, c := range []rune(name) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("%w: bin name %q has %q at position %d (allowed: A-Z a-z 0-9 _ -)", ErrInvalid, name, c, i+1)
		}
	}
	return nil
}

// NewBinName returns a random bin name of 10 lower-case letters and digits.
func NewBinName() string {
	const chars = "abcdefghijkmnpqrstuvwxyz23456789"
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b)
}
