package browsertest

import (
	"context"
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// Upload sets the files of the file input matching selector, as a person
// choosing them would (paths on the test's machine).
func Upload(t testing.TB, ctx context.Context, selector string, paths ...string) {
	t.Helper()
	do(t, ctx, fmt.Sprintf("upload %q", paths), selector, chromedp.Steps(
		chromedp.WaitReady(chromedp.CSS(selector)),
		chromedp.SetUploadFiles(chromedp.CSS(selector), paths),
	))
}

// fetched is what Fetch's script answers.
type fetched struct {
	Status int    `json:"status"`
	Body   string `json:"body"` // base64
	Type   string `json:"type"`
}

// Fetch gets url from the page in the tab, with its cookies (a download
// the page links to), and returns the status, the body's bytes and its
// Content-Type.
func Fetch(t testing.TB, ctx context.Context, url string) (int, []byte, string) {
	t.Helper()
	js := fmt.Sprintf(`(async () => {
	const res = await fetch(%s, {credentials: "same-origin"});
	const bytes = new Uint8Array(await res.arrayBuffer());
	let bin = "";
	for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
	return {status: res.status, body: btoa(bin), type: res.headers.get("Content-Type") || ""};
})()`, jsString(url))
	actx, cancel := context.WithTimeout(ctx, ActionTimeout)
	defer cancel()
	res, err := chromedp.Run(actx, chromedp.Evaluate[fetched](js, chromedp.EvalAsValue, chromedp.EvalAwaitPromise))
	if err != nil {
		fail(t, ctx, "fetch "+url, "", err)
	}
	body, err := base64.StdEncoding.DecodeString(res.Body)
	if err != nil {
		fail(t, ctx, "decode the body of "+url, "", err)
	}
	return res.Status, body, res.Type
}

// Eval evaluates a JavaScript expression in the page and returns its value
// (JSON-decoded into T).
func Eval[T any](t testing.TB, ctx context.Context, expression string) T {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, ActionTimeout)
	defer cancel()
	v, err := chromedp.Run(actx, chromedp.Evaluate[T](expression))
	if err != nil {
		fail(t, ctx, "evaluate "+expression, "", err)
	}
	return v
}
