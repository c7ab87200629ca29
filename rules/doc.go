// Package rules owns hooklab's config file, hooklab.yaml: parsing and
// validation (every error with file:line:col), hot reload, request matchers
// (method, path patterns, query, headers, body and JSON conditions), Liquid
// templates with context-aware escaping, and incoming webhook signature
// schemes.
//
// The package does no I/O beyond reading the config file and the body files
// it names. It holds no package-level mutable state: a *Config is built by
// Load or Parse and is read-only afterwards, so it can be shared by many
// goroutines and swapped atomically on reload.
package rules
