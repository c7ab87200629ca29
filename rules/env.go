package rules

import (
	"bytes"
	"strings"
)

// ExpandEnv replaces ${NAME} in s with getenv(NAME), as the config loader
// does for every scalar: "$${" stands for a literal "${", and a variable
// that is unset or empty is an error naming it. It is exported for config
// sections decoded outside this package (webhooks, triggers, automations,
// subscriptions).
func ExpandEnv(s string, getenv func(string) string) (string, error) {
	return expandEnv(s, getenv)
}

// In a YAML flow mapping, as in {user: bot, password: ${BOT_PASSWORD}}, the
// braces of a ${NAME} reference end the mapping early. Parse therefore
// rewrites each reference to $«NAME» (the same number of characters, so
// positions in errors stay right) before decoding, and expansion turns it
// back.
const (
	envOpen  = "$\u00ab" // $«
	envClose = "\u00bb"  // »
)

// protectEnv rewrites ${NAME} references (not $${, the escape for a literal
// "${") to $«NAME».
func protectEnv(data []byte) []byte {
	if !bytes.Contains(data, []byte("${")) {
		return data
	}
	var out bytes.Buffer
	out.Grow(len(data) + 16)
	for {
		i := bytes.Index(data, []byte("${"))
		if i < 0 {
			out.Write(data)
			return out.Bytes()
		}
		j := bytes.IndexByte(data[i:], '}')
		escaped := i > 0 && data[i-1] == '$'
		if j < 0 || escaped || !validEnvName(string(data[i+2:i+j])) {
			out.Write(data[:i+2])
			data = data[i+2:]
			continue
		}
		out.Write(data[:i])
		out.WriteString(envOpen)
		out.Write(data[i+2 : i+j])
		out.WriteString(envClose)
		data = data[i+j+1:]
	}
}

// unprotectEnv turns $«NAME» back into ${NAME}.
func unprotectEnv(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, envOpen)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.Index(s[i:], envClose)
		if j < 0 || !validEnvName(s[i+len(envOpen):i+j]) {
			b.WriteString(s[:i+len(envOpen)])
			s = s[i+len(envOpen):]
			continue
		}
		b.WriteString(s[:i])
		b.WriteString("${")
		b.WriteString(s[i+len(envOpen) : i+j])
		b.WriteString("}")
		s = s[i+j+len(envClose):]
	}
}
