package brokerclient

// #include "shim.h"
import "C"

import (
	"encoding/json"
	"sort"
)

// Config holds settings for NewClient and NewManager, as the C API's string keys and values
// (see bc_config in brokerclient.h), e.g.
//
//	brokerclient.Config{"request.timeout.ms": "5000", "pool.size": "2"}
//
// An unknown key or a bad value makes the constructor fail with ErrInvalidArg.
type Config map[string]string

// build returns the C config (NULL for an empty one); free it with bc_config_free.
func (c Config) build() (*C.bc_config, error) {
	if len(c) == 0 {
		return nil, nil
	}
	var cfg *C.bc_config
	var cerr *C.bc_error
	if st := C.bc_config_new(&cfg, &cerr); st != C.BC_OK {
		return nil, takeError(st, cerr)
	}
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the first bad key reported is always the same one
	for _, k := range keys {
		var a cargs
		ck, cv := a.str(k), a.str(c[k])
		if a.err != nil {
			C.bc_config_free(cfg)
			return nil, a.err
		}
		if st := C.bc_config_set(cfg, ck, cv, &cerr); st != C.BC_OK {
			C.bc_config_free(cfg)
			return nil, takeError(st, cerr)
		}
	}
	return cfg, nil
}

// dump is what the library holds after building c: bc_config_dump's JSON object (secrets as
// "***"), and bc_config_get of each key of c, which must agree with it. For the tests.
func (c Config) dump() (dumped map[string]string, got map[string]string, err error) {
	ccfg, err := c.build()
	if err != nil {
		return nil, nil, err
	}
	if ccfg == nil {
		return map[string]string{}, map[string]string{}, nil
	}
	defer C.bc_config_free(ccfg)
	var out *C.char
	var cerr *C.bc_error
	if st := C.bc_config_dump(ccfg, &out, &cerr); st != C.BC_OK {
		return nil, nil, takeError(st, cerr)
	}
	text := C.GoString(out)
	C.bc_string_free(out)
	if err := json.Unmarshal([]byte(text), &dumped); err != nil {
		return nil, nil, err
	}
	got = map[string]string{}
	for k := range c {
		var a cargs
		ck := a.str(k)
		if a.err != nil {
			return nil, nil, a.err
		}
		var v *C.char
		if st := C.bc_config_get(ccfg, ck, &v, &cerr); st != C.BC_OK {
			return nil, nil, takeError(st, cerr)
		}
		if v != nil {
			got[k] = C.GoString(v)
			C.bc_string_free(v)
		}
	}
	return dumped, got, nil
}

// Version is the library's version, e.g. "0.1.0".
func Version() string { return C.GoString(C.bc_version_str()) }

// versionNum is bc_version: the cheapest C call, for measuring the cgo overhead.
func versionNum() uint32 { return uint32(C.bc_version()) }
