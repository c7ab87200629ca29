package mock

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/hooklab/hooklab/inspect"
)

// The default answer's body, written out, is what encoding/json would
// write, whatever the id and bin hold.
func TestDefaultAnswerBody(t *testing.T) {
	for _, tt := range []struct{ id, bin string }{
		{"01JABCDEFGHJKMNPQRSTVWXYZ0", "default"},
		{"01JABCDEFGHJKMNPQRSTVWXYZ0", "my_bin-2"},
		{"", ""},
		{"a\"b", "<bin>"},
		{"é", "x y"},
	} {
		for _, status := range []int{200, 404} {
			var c Capture
			got := c.defaultAnswer(httptest.NewRequest("POST", "/", nil), &inspect.Exchange{ID: tt.id, Bin: tt.bin}, status)
			want, _ := json.Marshal(struct {
				OK  bool   `json:"ok"`
				ID  string `json:"id"`
				Bin string `json:"bin"`
			}{status < 400, tt.id, tt.bin})
			want = append(want, '\n')
			if string(got.Body) != string(want) || got.Size != int64(len(want)) {
				t.Errorf("id %q bin %q status %d: body %q (size %d), want %q", tt.id, tt.bin, status, got.Body, got.Size, want)
			}
		}
	}
}
