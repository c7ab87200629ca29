package rules

import (
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Numbers in conditions compare by their exact value where float64 would
// make neighbours equal: integers beyond 2^53 (ids such as snowflakes). A
// config's integer literal too large for float64 is kept as a json.Number
// (its decimal digits); every other number is a float64, and decimals
// compare as float64 values (19.99 equals 19.99 as the body writes it).

// maxExact is the largest magnitude up to which every integer is a float64.
const maxExact = 1 << 53

// configInt returns the value of an integer literal of the config: a
// float64 when it is one exactly, else a json.Number of its digits.
func configInt(lit string, f float64) any {
	if math.Abs(f) < maxExact { // 2^53+1 reads as 2^53
		return f
	}
	if z, ok := new(big.Int).SetString(strings.ReplaceAll(lit, "_", ""), 0); ok {
		return json.Number(z.String())
	}
	return f
}

// intLiteral reports whether s is a JSON integer literal (no fraction, no
// exponent).
func intLiteral(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// exactRat is the exact value of a number: a literal's digits, or a
// float64's binary value.
func exactRat(v any) (*big.Rat, bool) {
	switch v := v.(type) {
	case string:
		return new(big.Rat).SetString(strings.TrimSpace(v))
	case json.Number:
		return new(big.Rat).SetString(string(v))
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, false
		}
		return new(big.Rat).SetFloat64(v), true
	case int64:
		return new(big.Rat).SetInt64(v), true
	case int:
		return new(big.Rat).SetInt64(int64(v)), true
	}
	return nil, false
}

// compareNumber compares a number of the request, lit (its literal, such
// as gjson's raw text or a string holding a number) whose float64 value is
// f, with want from the config (float64 or json.Number). ok is false when
// want is no number.
func compareNumber(lit string, f float64, want any) (c int, ok bool) {
	w, ok := toFloat(want)
	if !ok || math.IsNaN(w) || math.IsNaN(f) {
		return 0, false // NaN is no number to compare
	}
	switch {
	case f < w:
		return -1, true
	case f > w:
		return 1, true
	}
	// Equal as float64s: exactly equal, unless an integer beyond what a
	// float64 holds is on either side.
	_, wantBig := want.(json.Number)
	if !wantBig && !(intLiteral(strings.TrimSpace(lit)) && math.Abs(f) >= maxExact) {
		return 0, true
	}
	a, ok1 := exactRat(lit)
	b, ok2 := exactRat(want)
	if !ok1 || !ok2 {
		return 0, true
	}
	return a.Cmp(b), true
}

// numberOf returns the literal and float64 value of a decoded JSON body's
// number (int, int64, float64, or json.Number for integers beyond int64).
func numberOf(v any) (lit string, f float64, ok bool) {
	switch v := v.(type) {
	case int:
		return strconv.Itoa(v), float64(v), true
	case int64:
		return strconv.FormatInt(v, 10), float64(v), true
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), v, true
	case json.Number:
		f, err := v.Float64()
		return string(v), f, err == nil || math.IsInf(f, 0)
	}
	return "", 0, false
}
