package inspect

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// NewFlagSet returns the flag set of the command "hooklab NAME", which
// never exits the process: -h prints head (when empty, "Usage: hooklab
// NAME [flags]", then "Flags:") and the flags to stdout, as asked for; a bad flag prints its
// error line and where the flags are to stderr, not the flags, which
// would bury it. main's commands and replay's (replay, export, import)
// share it.
func NewFlagSet(name, head string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("hooklab "+name, flag.ContinueOnError)
	out := &flagOutput{w: stderr}
	fs.SetOutput(out)
	fs.Usage = func() {
		if out.wrote { // the flag package wrote an error line first
			if hint := flagHint(fs, out.last); hint != "" {
				fmt.Fprintln(stderr, hint)
			}
			fmt.Fprintf(stderr, "run \"%s -h\" for its flags\n", fs.Name())
			return
		}
		if head == "" {
			head = fmt.Sprintf("Usage: %s [flags]\n\nFlags:\n", fs.Name())
		}
		fmt.Fprint(stdout, head)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(out)
	}
	return fs
}

// flagHint is what to say after the flag package's error line, line, when
// it names a flag fs does not have: the flag one edit away from it (a
// letter dropped, added, changed, or two swapped: --captur, --targt; or
// the flag in other case: --Capture), or
// for a --port (or --listen, --addr...) where the flags that take an
// address are; "" for any other error.
func flagHint(fs *flag.FlagSet, line string) string {
	name, ok := strings.CutPrefix(strings.TrimSpace(line), "flag provided but not defined: ")
	if !ok {
		return ""
	}
	name = strings.TrimLeft(name, "-")
	near := ""
	fs.VisitAll(func(f *flag.Flag) {
		if near == "" && (strings.EqualFold(name, f.Name) || len(name) >= 3 && oneEdit(strings.ToLower(name), f.Name)) {
			near = f.Name
		}
	})
	switch {
	case near != "":
		return fmt.Sprintf("did you mean --%s?", near)
	case !slices.Contains([]string{"port", "p", "listen", "l", "addr", "address", "host", "bind", "http"}, strings.ToLower(name)):
		return ""
	case fs.Lookup("capture") != nil:
		return "hooklab serve listens on two addresses: --capture ADDR for the requests it records (default 127.0.0.1:8080) and --ui ADDR for the UI and API (default 127.0.0.1:4040), such as --capture 127.0.0.1:9000"
	case fs.Lookup("server") != nil:
		return "the running hooklab is given by --server, the address of its UI, such as --server :4040 (or HOOKLAB_UI)"
	}
	return ""
}

// oneEdit reports whether a becomes b by one edit: a byte inserted,
// deleted or changed, or two neighbouring bytes swapped.
func oneEdit(a, b string) bool {
	if a == b {
		return false
	}
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	switch len(a) - len(b) {
	case 0:
		return a[i+1:] == b[i+1:] || i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	case 1:
		return a[i+1:] == b[i:]
	case -1:
		return a[i:] == b[i+1:]
	}
	return false
}

// flagOutput is a flag set's output: wrote tells whether the flag package
// wrote an error line before calling Usage, and last is what it wrote.
type flagOutput struct {
	w     io.Writer
	wrote bool
	last  string
}

func (o *flagOutput) Write(p []byte) (int, error) {
	o.wrote = true
	o.last = string(p)
	return o.w.Write(p)
}

// DefaultServer is the UI's address a client command talks to when
// neither --server nor $HOOKLAB_UI says otherwise.
const DefaultServer = "http://127.0.0.1:4040"

// ServerFlag defines a client command's --server flag on fs, defaulting to
// getenv("HOOKLAB_UI"), else DefaultServer. Its value goes through
// ServerURL, which every client command uses to read it.
func ServerFlag(fs *flag.FlagSet, getenv func(string) string) *string {
	def := DefaultServer
	if getenv != nil && getenv("HOOKLAB_UI") != "" {
		def = getenv("HOOKLAB_UI")
	}
	return fs.String("server", def, "the running hooklab's UI `URL`: http://HOST:PORT, HOST:PORT, or :PORT for 127.0.0.1 (env HOOKLAB_UI)")
}
