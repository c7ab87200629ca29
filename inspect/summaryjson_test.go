package inspect

import (
	"encoding/json"
	"testing"
)

// reflected is Summary as encoding/json writes it by reflection, the bytes
// AppendJSON must match (should Summary ever get a MarshalJSON).
type reflected Summary

func FuzzSummaryJSON(f *testing.F) {
	f.Add("01HWT0D7G0D9H7A8XFAT4RN3WD", "default", "capture", "2026-11-30T11:00:00.123456789Z", "POST", "http://127.0.0.1:8080/a?b=<c>&d", "/a", 200, 1.5, int64(1024), int64(60), false, "", "", "")
	f.Add("x", "b-1", "emit", "", "GET", "\x00\x1f\x7f\"\\\b\f\n\r\t", "/\u2028\u2029\xff\xfe", -1, 1e-7, int64(-1), int64(0), true, "rule <1>", "valid", "reset & gone")
	f.Add("", "", "", "", "", "é漢🙂", "", 0, 0.0, int64(0), int64(0), false, "r", "", "e")
	f.Add("", "", "", "", "", "", "", 0, 123456789012345678901234.0, int64(0), int64(0), false, "", "", "")
	f.Add("", "", "", "", "", "", "", 0, -0.000001, int64(0), int64(0), false, "", "", "")
	f.Fuzz(func(t *testing.T, id, bin, source, tm, method, url, path string, status int, ms float64, req, resp int64, trunc bool, rule, sig, errText string) {
		s := Summary{ID: id, Bin: bin, Source: Source(source), Time: tm, Method: method, URL: url, Path: path,
			Status: status, DurationMS: ms, RequestSize: req, ResponseSize: resp, Truncated: trunc, Rule: rule, Signature: sig, Error: errText}
		want, err := json.Marshal(reflected(s))
		if err != nil {
			return // NaN or an infinity: encoding/json refuses them, a duration is neither
		}
		if got := s.AppendJSON(nil); string(got) != string(want) {
			t.Fatalf("AppendJSON\n got %s\nwant %s", got, want)
		}
	})
}
