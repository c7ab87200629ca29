package inspect

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the summary as encoding/json writes it, byte for
// byte, without reflection: every capture's stream message holds one, and
// reflection cost several times the rest of the message. (Summary has no
// MarshalJSON: the exchange's JSON form embeds it.)
func (s *Summary) AppendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = AppendJSONString(b, s.ID)
	b = append(b, `,"bin":`...)
	b = AppendJSONString(b, s.Bin)
	b = append(b, `,"source":`...)
	b = AppendJSONString(b, string(s.Source))
	b = append(b, `,"time":`...)
	b = AppendJSONString(b, s.Time)
	b = append(b, `,"method":`...)
	b = AppendJSONString(b, s.Method)
	b = append(b, `,"url":`...)
	b = AppendJSONString(b, s.URL)
	b = append(b, `,"path":`...)
	b = AppendJSONString(b, s.Path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(s.Status), 10)
	b = append(b, `,"duration_ms":`...)
	b = appendJSONFloat(b, s.DurationMS)
	b = append(b, `,"request_size":`...)
	b = strconv.AppendInt(b, s.RequestSize, 10)
	b = append(b, `,"response_size":`...)
	b = strconv.AppendInt(b, s.ResponseSize, 10)
	b = append(b, `,"truncated":`...)
	b = strconv.AppendBool(b, s.Truncated)
	if s.Rule != "" {
		b = append(b, `,"rule":`...)
		b = AppendJSONString(b, s.Rule)
	}
	if s.Signature != "" {
		b = append(b, `,"signature":`...)
		b = AppendJSONString(b, s.Signature)
	}
	if s.Error != "" {
		b = append(b, `,"error":`...)
		b = AppendJSONString(b, s.Error)
	}
	return append(b, '}')
}

// appendJSONFloat writes f as encoding/json does (which refuses NaN and
// infinities; a duration is neither).
func appendJSONFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, '0')
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 as 1e-7
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// AppendJSONString writes s as a JSON string as encoding/json does, with
// its HTML escaping: <, > and & as \u003c, \u003e and \u0026, U+2028 and
// U+2029 escaped, invalid UTF-8 as U+FFFD.
func AppendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
