package brokerclient

import (
	"errors"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// headerKey is one row of the key table in brokerclient.h's comment on bc_config (rendered
// from KEYS in src/ffi/config.rs; the Rust test config_key_docs_are_current keeps it current).
type headerKey struct{ name, kind string }

// headerDefaults are the default column of the same table, by key.
func headerDefaults(t *testing.T) map[string]string {
	t.Helper()
	text, err := os.ReadFile("../../include/brokerclient.h")
	if err != nil {
		t.Fatal(err)
	}
	defaults := map[string]string{}
	for _, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "*"))
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.ReplaceAll(line, `\|`, "\x00"), "|")
		if len(cells) >= 5 {
			defaults[strings.Trim(strings.TrimSpace(cells[1]), "`")] = strings.TrimSpace(cells[3])
		}
	}
	return defaults
}

// The defaults the binding relies on (the request timeout of its per-call handles; the
// default window being wide enough for them) are the header's.
func TestBindingDefaultsMatchHeader(t *testing.T) {
	d := headerDefaults(t)
	if got := d["request.timeout.ms"]; got != strconv.Itoa(defaultRequestTimeoutMs) {
		t.Errorf("request.timeout.ms defaults to %q in the header, defaultRequestTimeoutMs is %d", got, defaultRequestTimeoutMs)
	}
	if n, err := strconv.Atoi(d["max.in.flight"]); err != nil || n < minWindowForHandles {
		t.Errorf("max.in.flight defaults to %q in the header: perCallHandlesFor assumes >= %d", d["max.in.flight"], minWindowForHandles)
	}
}

// headerKeyTable reads the key table between the <!-- config keys --> markers of the header.
func headerKeyTable(t *testing.T) []headerKey {
	t.Helper()
	text, err := os.ReadFile("../../include/brokerclient.h")
	if err != nil {
		t.Fatal(err)
	}
	s := string(text)
	begin, end := strings.Index(s, "<!-- config keys -->"), strings.Index(s, "<!-- end config keys -->")
	if begin < 0 || end < begin {
		t.Fatal("no <!-- config keys --> table in include/brokerclient.h")
	}
	var keys []headerKey
	for _, line := range strings.Split(s[begin:end], "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "*"))
		if !strings.HasPrefix(line, "| `") {
			continue // the markers, the head and the rule
		}
		// "| `key` | type | default | meaning |": the type may hold an escaped \|.
		cells := strings.Split(strings.ReplaceAll(line, `\|`, "\x00"), "|")
		if len(cells) < 5 {
			t.Fatalf("key table row %q: not 4 columns", line)
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		kind := strings.ReplaceAll(strings.TrimSpace(cells[2]), "\x00", `\|`)
		keys = append(keys, headerKey{name, kind})
	}
	if len(keys) == 0 {
		t.Fatal("the key table of include/brokerclient.h has no rows")
	}
	return keys
}

// goKindFits says whether a Go field type can carry a header type. A type the table did not
// use before fails: decide how Go carries it, here and in Options.
func goKindFits(t *testing.T, kind string, ft reflect.Type) bool {
	if ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	switch {
	case kind == "ms":
		return ft == reflect.TypeFor[time.Duration]()
	case kind == "count", kind == "bytes", kind == "level":
		return ft.Kind() == reflect.Int
	case kind == "bool":
		return ft.Kind() == reflect.Bool
	case kind == "text", kind == "name", kind == "path", kind == "secret", kind == "list",
		strings.Contains(kind, `\|`): // a choice of words, e.g. json \| rocketmq
		return ft.Kind() == reflect.String
	}
	t.Errorf("the header's key table has a new type %q: map it to a Go type in goKindFits", kind)
	return false
}

// Options has exactly the header's keys, in its order, each with the header's type and a Go
// type that carries it. Adding, removing, renaming or retyping a key in src/ffi/config.rs
// (and so the header) fails this until Options follows.
func TestOptionsMatchHeaderKeyTable(t *testing.T) {
	header := headerKeyTable(t)
	ot := reflect.TypeFor[Options]()
	var fields []headerKey
	for i := range ot.NumField() {
		f := ot.Field(i)
		name, kind := f.Tag.Get("bc"), f.Tag.Get("bctype")
		if name == "" || kind == "" {
			t.Errorf("Options.%s has no bc/bctype tag", f.Name)
			continue
		}
		if !goKindFits(t, kind, f.Type) {
			t.Errorf("Options.%s (%s) cannot carry %s's type %q", f.Name, f.Type, name, kind)
		}
		fields = append(fields, headerKey{name, kind})
	}
	inHeader := map[string]string{}
	for _, k := range header {
		inHeader[k.name] = k.kind
	}
	inGo := map[string]string{}
	for _, k := range fields {
		inGo[k.name] = k.kind
	}
	for _, k := range header {
		kind, ok := inGo[k.name]
		switch {
		case !ok:
			t.Errorf("header key %q (%s) has no field in Options: add one", k.name, k.kind)
		case kind != k.kind:
			t.Errorf("header key %q is %q, the Options field says %q: update its type and bctype tag", k.name, k.kind, kind)
		}
	}
	for _, k := range fields {
		if _, ok := inHeader[k.name]; !ok {
			t.Errorf("Options has a field for %q, which the header no longer lists: remove it", k.name)
		}
	}
	if !t.Failed() && !reflect.DeepEqual(header, fields) {
		t.Errorf("Options lists the keys in another order than the header:\nheader  %v\nOptions %v", header, fields)
	}
}

// Every field, set, lands as its key with the value the library reads back (bc_config_dump
// and bc_config_get; secrets as "***"); the library accepts every value (bc_config_set).
func TestOptionsLandAsKeys(t *testing.T) {
	o := Options{
		RequestTimeout:           1500 * time.Millisecond,
		ConnectTimeout:           2 * time.Second,
		MaxInFlight:              100,
		MaxFrameBytes:            1 << 20,
		MaxBodyBytes:             1 << 19,
		CompressThreshold:        Ptr(0),
		CompressCodec:            CompressZstd,
		CompressLevel:            Ptr(0),
		HeaderSerializer:         HeaderRocketMQ,
		Language:                 "GO",
		ClientID:                 "id@go",
		InstanceName:             "go-instance",
		PoolSize:                 3,
		MaxConsecutiveFailures:   4,
		ProbeBackoffInitial:      250 * time.Microsecond, // rounded up to 1 ms
		ProbeBackoffMax:          time.Minute,
		ProbeTimeout:             time.Second + time.Nanosecond, // rounded up
		RouteRefresh:             45 * time.Second,
		NameServerAttemptTimeout: 700 * time.Millisecond,
		SendRetries:              Ptr(0),
		SendRetryBackoff:         Ptr(time.Duration(0)),
		SendRetryBackoffMax:      300 * time.Millisecond,
		SendRetryOn:              "connection,busy",
		ACLAccessKey:             "ak",
		ACLSecretKey:             "sk",
		ACLSecurityToken:         "token",
		TLSEnable:                Ptr(false),
		TLSCAFile:                "/ca.pem",
		TLSCertFile:              "/cert.pem",
		TLSKeyFile:               "/key.pem",
		TLSServerName:            "broker.example",
		TLSInsecure:              true,
		TraceEnable:              true,
		TraceTopic:               "MyTraceTopic",
		TraceQueueSize:           100,
		TraceBatchSize:           5,
	}
	want := map[string]string{
		"request.timeout.ms":             "1500",
		"connect.timeout.ms":             "2000",
		"max.in.flight":                  "100",
		"max.frame.bytes":                "1048576",
		"max.body.bytes":                 "524288",
		"compress.threshold.bytes":       "0",
		"compress.codec":                 "zstd",
		"compress.level":                 "0",
		"header.serializer":              "rocketmq",
		"language":                       "GO",
		"client.id":                      "id@go",
		"instance.name":                  "go-instance",
		"pool.size":                      "3",
		"max.consecutive.failures":       "4",
		"probe.backoff.initial.ms":       "1",
		"probe.backoff.max.ms":           "60000",
		"probe.timeout.ms":               "1001",
		"route.refresh.ms":               "45000",
		"name.server.attempt.timeout.ms": "700",
		"send.retries":                   "0",
		"send.retry.backoff.ms":          "0",
		"send.retry.backoff.max.ms":      "300",
		"send.retry.on":                  "connection,busy",
		"acl.access.key":                 "ak",
		"acl.secret.key":                 "***",
		"acl.security.token":             "***",
		"tls.enable":                     "false",
		"tls.ca.file":                    "/ca.pem",
		"tls.cert.file":                  "/cert.pem",
		"tls.key.file":                   "/key.pem",
		"tls.server.name":                "broker.example",
		"tls.insecure":                   "true",
		"trace.enable":                   "true",
		"trace.topic":                    "MyTraceTopic",
		"trace.queue.size":               "100",
		"trace.batch.size":               "5",
	}
	cfg := o.Config()
	if len(cfg) != reflect.TypeFor[Options]().NumField() {
		t.Fatalf("a fully set Options gives %d keys, it has %d fields: %v", len(cfg), reflect.TypeFor[Options]().NumField(), cfg)
	}
	dumped, got, err := cfg.dump()
	if err != nil {
		t.Fatalf("the library refused the typed options: %v", err)
	}
	if !reflect.DeepEqual(dumped, want) {
		t.Errorf("bc_config_dump:\n got %v\nwant %v", dumped, want)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("bc_config_get:\n got %v\nwant %v", got, want)
	}
	// Every field is tested above: a new field without a value here fails the count check.
	for _, k := range headerKeyTable(t) {
		if _, ok := want[k.name]; !ok {
			t.Errorf("header key %q is not covered by this test", k.name)
		}
	}
}

// Unset fields set nothing; a pointer field set to its zero value does set its key.
func TestOptionsZeroIsUnset(t *testing.T) {
	if cfg := (Options{}).Config(); len(cfg) != 0 {
		t.Fatalf("zero Options set %v", cfg)
	}
	cfg := Options{SendRetries: Ptr(0), TLSEnable: Ptr(false)}.Config()
	if !reflect.DeepEqual(cfg, Config{"send.retries": "0", "tls.enable": "false"}) {
		t.Fatalf("pointer fields at zero: %v", cfg)
	}
	// A bad value is the library's to refuse, at construction, as for a Config.
	_, err := NewClient("127.0.0.1:1", Options{RequestTimeout: -time.Second}.Config())
	if !errors.Is(err, ErrInvalidArg) {
		t.Fatalf("negative timeout: %v (want ErrInvalidArg)", err)
	}
}

// Typed options work end to end: a client built from them talks to the broker.
func TestOptionsClient(t *testing.T) {
	c, err := NewClient(brokerAddr(t), Options{RequestTimeout: 10 * time.Second, MaxInFlight: 64, Language: "GO"}.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	topic := newTopic(t, c, "go_options", 1)
	if _, err := c.GetMaxOffset(testCtx(t), topic, 0); err != nil {
		t.Fatalf("GetMaxOffset: %v", err)
	}
}
