package har

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/hooklab/hooklab/inspect"
)

// FuzzImport runs what hooklab import and POST /api/replay do with a HAR
// file: parse it and turn every entry into an exchange. It must never
// panic, and an exchange made from a HAR entry survives export and import
// again (hooklab export | hooklab import).
func FuzzImport(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.har")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"log":{"version":"1.2","entries":[{"startedDateTime":"2025-01-01T00:00:00Z","time":-1,"request":{"method":"POST","url":"http://u:p@x/a?b=1","httpVersion":"HTTP/1.1","headers":[{"name":"Authorization","value":"x"}],"postData":{"mimeType":"text/plain","text":"aGk=","_encoding":"base64"}},"response":{"status":999,"content":{"size":-1,"text":"!!","encoding":"base64"}}}]}}`))
	f.Add([]byte("\xef\xbb\xbf{\"log\":{}}"))
	f.Add([]byte(`{"log":{"entries":[{"startedDateTime":"2025-01-01T00:00:00Z","request":{"method":"GET","url":"http://x/?q=caf","headers":[{"name":"X-L","value":"Y2Fm6Q==","_encoding":"base64"}]},"response":{"status":200},"_hooklab":{"url_base64":"aHR0cDovL3gvP3E9Y2Fm6Q=="}}]}}`))
	f.Add([]byte(`{"log":{"entries":[{"startedDateTime":"x","request":{"method":"GET","url":"::"}}]}}`))
	f.Add([]byte(`{"log":{"entries":[{"startedDateTime":"2025-01-01T00:00:00+25:00","time":1e308,"request":{"method":"G\nET","url":"http://[::1"},"_hooklab":{"bin":"../x"}}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		var exs []*inspect.Exchange
		for i := range file.Log.Entries {
			ex, err := file.Log.Entries[i].Exchange()
			if err != nil {
				continue
			}
			exs = append(exs, ex)
		}
		if len(exs) == 0 {
			return
		}
		var buf bytes.Buffer
		if err := Encode(&buf, New(exs, Options{KeepSecrets: true})); err != nil {
			t.Fatalf("encode what was imported: %v", err)
		}
		again, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("the export of an import does not parse: %v\n%s", err, buf.Bytes())
		}
		if len(again.Log.Entries) != len(exs) {
			t.Fatalf("%d entries exported, %d read back", len(exs), len(again.Log.Entries))
		}
		for i := range again.Log.Entries {
			if _, err := again.Log.Entries[i].Exchange(); err != nil {
				t.Fatalf("entry %d of the export does not import: %v", i, err)
			}
		}
	})
}
