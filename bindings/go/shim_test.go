package brokerclient

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The generated async shim matches the header: after the C ABI gains or changes an `_async`
// function, run `go generate` here.
func TestAsyncShimIsCurrent(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("go", "run", "./internal/genshim", "../../include/brokerclient.h", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("genshim: %v\n%s", err, out)
	}
	for _, name := range []string{"asyncshim.h", "asyncshim.c"} {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate in bindings/go", name)
		}
	}
}
