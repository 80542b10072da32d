package brokerclient

import (
	"reflect"
	"strconv"
	"time"
)

// Options are the settings of the C API's key table (the bc_config comment in brokerclient.h,
// docs/c-api.md) as typed fields: durations as time.Duration, counts and sizes as int,
// switches as bool. A zero field is unset: the library's default applies. Where zero is a
// meaningful value (CompressThreshold, CompressLevel, SendRetries, SendRetryBackoff, TLSEnable) the field is a pointer, nil meaning unset; Ptr
// makes one. Options.Config gives the Config that NewClient and NewManager take:
//
//	c, err := brokerclient.NewClient(addr, brokerclient.Options{
//		RequestTimeout: 5 * time.Second,
//		MaxInFlight:    1024,
//	}.Config())
//
// Each field's bc tag is its key, and its bctype tag the key's type column in the header:
// TestOptionsMatchHeaderKeyTable fails when a key is added to, removed from or retyped in
// the header and these fields do not follow, and TestOptionsLandAsKeys checks through
// bc_config_dump that each field sets its key. Durations are sent as whole milliseconds,
// rounded up (a positive duration never becomes 0).
type Options struct {
	RequestTimeout    time.Duration    `bc:"request.timeout.ms" bctype:"ms"`                // deadline of each operation (connect + write + wait); default 3 s
	ConnectTimeout    time.Duration    `bc:"connect.timeout.ms" bctype:"ms"`                // cap on establishing a connection (and its TLS handshake); default 3 s
	MaxInFlight       int              `bc:"max.in.flight" bctype:"count"`                  // operations in flight per client (a manager: times PoolSize); default 4096
	MaxFrameBytes     int              `bc:"max.frame.bytes" bctype:"bytes"`                // largest frame accepted or sent; default 16 MiB
	MaxBodyBytes      int              `bc:"max.body.bytes" bctype:"bytes"`                 // largest message body (or batch) sent; default 4 MiB
	CompressThreshold *int             `bc:"compress.threshold.bytes" bctype:"bytes"`       // bodies at least this long are sent compressed when that makes them smaller; default 4096; Ptr(0) turns compression off
	CompressCodec     CompressCodec    `bc:"compress.codec" bctype:"zlib \\| lz4 \\| zstd"` // codec of compressed sends; default CompressZlib (lz4 and zstd need 5.x consumers)
	CompressLevel     *int             `bc:"compress.level" bctype:"level"`                 // zlib 0–9, zstd 1–22, ignored by lz4; default 5
	HeaderSerializer  HeaderSerializer `bc:"header.serializer" bctype:"json \\| rocketmq"`  // how request headers are encoded; default HeaderJSON
	Language          string           `bc:"language" bctype:"name"`                        // LanguageCode sent with each request (JAVA, RUST, GO, CPP, …); default JAVA
	ClientID          string           `bc:"client.id" bctype:"text"`                       // the client id brokers see; default ip@instance
	InstanceName      string           `bc:"instance.name" bctype:"text"`                   // the instance part of the derived client id

	PoolSize                 int            `bc:"pool.size" bctype:"count"`                   // manager: connections per broker; default 5
	MaxConsecutiveFailures   int            `bc:"max.consecutive.failures" bctype:"count"`    // manager: transport failures in a row before a broker is marked down; default 3
	ProbeBackoffInitial      time.Duration  `bc:"probe.backoff.initial.ms" bctype:"ms"`       // manager: first wait before probing a down broker; default 200 ms
	ProbeBackoffMax          time.Duration  `bc:"probe.backoff.max.ms" bctype:"ms"`           // manager: longest wait between probes; default 5 s
	ProbeTimeout             time.Duration  `bc:"probe.timeout.ms" bctype:"ms"`               // manager: deadline of one health probe; default 1 s
	RouteRefresh             time.Duration  `bc:"route.refresh.ms" bctype:"ms"`               // manager: how often routes are fetched again; default 30 s
	NameServerAttemptTimeout time.Duration  `bc:"name.server.attempt.timeout.ms" bctype:"ms"` // manager: deadline of one attempt on one name server; default 1 s
	SendRetries              *int           `bc:"send.retries" bctype:"count"`                // manager: further attempts of a route-aware send; default 2; Ptr(0) for none
	SendRetryBackoff         *time.Duration `bc:"send.retry.backoff.ms" bctype:"ms"`          // manager: wait before the first retry, doubled per retry, jittered; default 20 ms; Ptr(time.Duration(0)) retries at once
	SendRetryBackoffMax      time.Duration  `bc:"send.retry.backoff.max.ms" bctype:"ms"`      // manager: longest wait between send retries; default 1 s
	SendRetryOn              string         `bc:"send.retry.on" bctype:"list"`                // manager: failures a send is retried after, comma-separated: connection, timeout, busy, system, route; "all" (default) or "none"

	ACLAccessKey     string `bc:"acl.access.key" bctype:"text"`       // ACL: sign every request with this access key …
	ACLSecretKey     string `bc:"acl.secret.key" bctype:"secret"`     // … and this secret key (both or neither)
	ACLSecurityToken string `bc:"acl.security.token" bctype:"secret"` // ACL: SecurityToken sent and signed with each request

	TLSEnable     *bool  `bc:"tls.enable" bctype:"bool"`      // TLS with verification; any other TLS field turns it on unless this is Ptr(false)
	TLSCAFile     string `bc:"tls.ca.file" bctype:"path"`     // PEM file of the CAs trusted for brokers' certificates; default the platform store
	TLSCertFile   string `bc:"tls.cert.file" bctype:"path"`   // PEM client certificate chain (with TLSKeyFile)
	TLSKeyFile    string `bc:"tls.key.file" bctype:"path"`    // PEM key of the client certificate (with TLSCertFile)
	TLSServerName string `bc:"tls.server.name" bctype:"text"` // name the broker's certificate must carry; default the host of the address
	TLSInsecure   bool   `bc:"tls.insecure" bctype:"bool"`    // accept any certificate (logs a warning at each connect)

	TraceEnable    bool   `bc:"trace.enable" bctype:"bool"`      // message trace of sends (Java's record format) to the trace topic, for the dashboard; default off
	TraceTopic     string `bc:"trace.topic" bctype:"text"`       // the trace topic; default RMQ_SYS_TRACE_TOPIC (the broker needs it: traceTopicEnable=true)
	TraceQueueSize int    `bc:"trace.queue.size" bctype:"count"` // trace records waiting to be sent, at most; more are dropped (never messages); default 2048
	TraceBatchSize int    `bc:"trace.batch.size" bctype:"count"` // trace records per round of trace messages, at most; default 20
}

// HeaderSerializer is how request headers are encoded (the header.serializer key).
type HeaderSerializer string

const (
	HeaderJSON     HeaderSerializer = "json"     // RocketMQ's JSON headers (the default)
	HeaderRocketMQ HeaderSerializer = "rocketmq" // RocketMQ's binary header encoding
)

// CompressCodec is the codec of compressed sends (the compress.codec key).
type CompressCodec string

const (
	CompressZlib CompressCodec = "zlib" // read by every broker and consumer version (the default)
	CompressLZ4  CompressCodec = "lz4"  // needs 5.x consumers
	CompressZstd CompressCodec = "zstd" // needs 5.x consumers
)

// Ptr returns a pointer to v, for the pointer fields of Options: Ptr(0), Ptr(false).
func Ptr[T any](v T) *T { return &v }

// Config returns the set fields as the C API's keys and values.
func (o Options) Config() Config {
	cfg := Config{}
	v := reflect.ValueOf(o)
	t := v.Type()
	for i := range t.NumField() {
		key := t.Field(i).Tag.Get("bc")
		if s, ok := optionValue(v.Field(i)); ok {
			cfg[key] = s
		}
	}
	return cfg
}

// optionValue is a field's value as the C API's text; false when the field is unset.
func optionValue(f reflect.Value) (string, bool) {
	if f.Kind() == reflect.Pointer {
		if f.IsNil() {
			return "", false
		}
		f = f.Elem()
	} else if f.IsZero() {
		return "", false
	}
	switch {
	case f.Type() == reflect.TypeFor[time.Duration]():
		d := time.Duration(f.Int())
		ms := d / time.Millisecond
		if d%time.Millisecond > 0 {
			ms++
		}
		return strconv.FormatInt(int64(ms), 10), true
	case f.Kind() == reflect.Int:
		return strconv.FormatInt(f.Int(), 10), true
	case f.Kind() == reflect.Bool:
		return strconv.FormatBool(f.Bool()), true
	default: // strings
		return f.String(), true
	}
}
