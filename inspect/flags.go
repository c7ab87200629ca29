package inspect

import (
	"flag"
	"fmt"
	"io"
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

// flagOutput is a flag set's output: wrote tells whether the flag package
// wrote an error line before calling Usage.
type flagOutput struct {
	w     io.Writer
	wrote bool
}

func (o *flagOutput) Write(p []byte) (int, error) {
	o.wrote = true
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
