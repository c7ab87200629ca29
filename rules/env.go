package rules

// ExpandEnv replaces ${NAME} in s with getenv(NAME), as the config loader
// does for every scalar: "$${" stands for a literal "${", and a variable
// that is unset or empty is an error naming it. It is exported for config
// sections decoded outside this package (webhooks, triggers, automations,
// subscriptions).
func ExpandEnv(s string, getenv func(string) string) (string, error) {
	return expandEnv(s, getenv)
}
