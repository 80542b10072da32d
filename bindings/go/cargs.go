package brokerclient

// #include "shim.h"
import "C"

import (
	"strings"
	"unsafe"
)

// cargs turns Go strings into NUL-terminated C strings in Go memory. The C API copies every
// input before returning, so Go memory (pointer-free bytes) may be passed directly — no
// C.malloc/free per string. The first invalid string is remembered in err.
type cargs struct{ err error }

func (a *cargs) str(s string) *C.char {
	if strings.IndexByte(s, 0) >= 0 {
		a.err = invalidArg("string contains a NUL byte")
		s = ""
	}
	b := make([]byte, len(s)+1)
	copy(b, s)
	return (*C.char)(unsafe.Pointer(&b[0]))
}

// optStr is str, but NULL for "" (optional arguments such as one of two groups).
func (a *cargs) optStr(s string) *C.char {
	if s == "" {
		return nil
	}
	return a.str(s)
}

// bytesPtr points at b's first byte, or is NULL for an empty slice.
func bytesPtr(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0]))
}
