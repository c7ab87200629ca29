package har

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"

	"github.com/hooklab/hooklab/inspect"
)

// Writer streams a HAR file entry by entry, so that an export of many
// exchanges never holds them all in memory:
//
//	hw := har.NewWriter(w, opts)
//	for … { err = hw.Write(ex) }
//	err = hw.Close()
//
// The output is the same file New and Encode would give, more compact.
type Writer struct {
	w       *bufio.Writer
	opts    Options
	n       int
	err     error
	started bool
	closed  bool
}

// NewWriter returns a writer of a HAR file to w. Nothing is written until
// the first Write or Close.
func NewWriter(w io.Writer, opts Options) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 64<<10), opts: opts}
}

func (hw *Writer) start() {
	if hw.started || hw.err != nil {
		return
	}
	hw.started = true
	head, err := json.Marshal(struct {
		Version string  `json:"version"`
		Creator Creator `json:"creator"`
	}{Version, hw.opts.creator()})
	if err != nil {
		hw.err = err
		return
	}
	// {"log":{"version":…,"creator":{…},"entries":[
	_, hw.err = hw.w.WriteString(`{"log":` + string(head[:len(head)-1]) + `,"entries":[` + "\n")
}

// Write appends the entry of ex. Errors are sticky.
func (hw *Writer) Write(ex *inspect.Exchange) error {
	if hw.closed {
		return errors.New("har: write after close")
	}
	hw.start()
	if hw.err != nil {
		return hw.err
	}
	e := NewEntry(ex, hw.opts)
	b, err := marshal(&e)
	if err != nil {
		hw.err = err
		return err
	}
	if hw.n > 0 {
		hw.w.WriteString(",\n")
	}
	hw.n++
	_, hw.err = hw.w.Write(b)
	return hw.err
}

// Count returns how many entries have been written.
func (hw *Writer) Count() int { return hw.n }

// Close ends the file and flushes it. It does not close the underlying
// writer.
func (hw *Writer) Close() error {
	if hw.closed {
		return hw.err
	}
	hw.start()
	hw.closed = true
	if hw.err != nil {
		return hw.err
	}
	if _, err := hw.w.WriteString("\n]}}\n"); err != nil {
		hw.err = err
		return err
	}
	hw.err = hw.w.Flush()
	return hw.err
}

func marshal(v any) ([]byte, error) {
	var buf jsonBuf
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.b[:len(buf.b)-1], nil // drop the newline
}

type jsonBuf struct{ b []byte }

func (j *jsonBuf) Write(p []byte) (int, error) { j.b = append(j.b, p...); return len(p), nil }
