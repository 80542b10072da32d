package brokerclient

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSecure runs ACL signing and verified TLS through Config (the bc_config keys) against the
// broker of `scripts/security-compat.sh boot-secure VERSION`: TLS only, client certificates of
// the test CA required, every request authenticated. `scripts/security-compat.sh secure VERSION`
// runs it with its environment (the same as tests/secure_broker.rs):
//
//	BC_BROKER_ADDR                        the secure broker
//	BC_TLS_DIR                            ca.pem, client.pem, client.key, other-ca.pem
//	BC_ACL_ACCESS_KEY, BC_ACL_SECRET_KEY  its credentials
//
// It skips only when none of BC_TLS_DIR, BC_ACL_ACCESS_KEY and BC_ACL_SECRET_KEY is set (the
// plain run of scripts/go-tests.sh has no secure broker); some but not all set is a failure.
func TestSecure(t *testing.T) {
	names := []string{"BC_TLS_DIR", "BC_ACL_ACCESS_KEY", "BC_ACL_SECRET_KEY"}
	var missing []string
	for _, n := range names {
		if os.Getenv(n) == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) == len(names) {
		t.Skip("no secure broker: BC_TLS_DIR, BC_ACL_ACCESS_KEY and BC_ACL_SECRET_KEY are unset " +
			"(scripts/security-compat.sh secure VERSION sets them)")
	}
	if len(missing) > 0 {
		t.Fatalf("%s not set (the others are): the secure broker's environment is incomplete",
			strings.Join(missing, ", "))
	}
	s := newSecureEnv(t)
	// The first subtest creates the topic the others use.
	topic := uniqueName("go_sec")
	t.Run("RightKeysOverVerifiedTLSSendAndPull", func(t *testing.T) { s.sendAndPull(t, topic) })
	t.Run("WrongSecretUnknownKeyAndNoKeysAreAuthorizationErrors", func(t *testing.T) { s.aclRefusals(t, topic) })
	t.Run("NoClientCertificateIsAConnectionError", func(t *testing.T) { s.noClientCertificate(t, topic) })
	t.Run("UntrustedCAIsAConnectionError", s.untrustedCA)
	t.Run("InsecureOptOutConnects", func(t *testing.T) { s.insecure(t, topic) })
}

type secureEnv struct {
	addr                     string
	accessKey, secret, wrong string
	ca, otherCA, cert, key   string
}

func newSecureEnv(t *testing.T) *secureEnv {
	dir := mustEnv(t, "BC_TLS_DIR")
	file := func(name string) string {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("TLS test file: %v", err)
		}
		return p
	}
	secret := mustEnv(t, "BC_ACL_SECRET_KEY")
	return &secureEnv{
		addr:      brokerAddr(t),
		accessKey: mustEnv(t, "BC_ACL_ACCESS_KEY"),
		secret:    secret,
		// Shares a prefix with the right one, so a leak of either is caught.
		wrong:   secret + "-not-it",
		ca:      file("ca.pem"),
		otherCA: file("other-ca.pem"),
		cert:    file("client.pem"),
		key:     file("client.key"),
	}
}

// client creates a client of the secure broker configured by cfg (plus generous deadlines).
func (s *secureEnv) client(t *testing.T, cfg Config) *Client {
	t.Helper()
	full := Config{"request.timeout.ms": "15000", "connect.timeout.ms": "10000"}
	for k, v := range cfg {
		full[k] = v
	}
	c, err := NewClient(s.addr, full)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// verified is TLS with the test CA and the client certificate, plus acl keys when non-empty.
func (s *secureEnv) verified(accessKey, secret string) Config {
	cfg := Config{"tls.enable": "true", "tls.ca.file": s.ca, "tls.cert.file": s.cert, "tls.key.file": s.key}
	if accessKey != "" {
		cfg["acl.access.key"] = accessKey
		cfg["acl.secret.key"] = secret
	}
	return cfg
}

func (s *secureEnv) assertNoSecret(t *testing.T, what, text string) {
	t.Helper()
	if strings.Contains(text, s.secret) || strings.Contains(text, s.wrong) {
		t.Errorf("%s carries a secret key", what)
	}
}

func (s *secureEnv) sendAndPull(t *testing.T, topic string) {
	c := s.client(t, s.verified(s.accessKey, s.secret))
	ctx := testCtx(t)
	if err := c.Connect(ctx); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	if err := c.CreateTopic(ctx, topic, 4); err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	body := "over TLS, signed, from Go " + time.Now().Format(time.RFC3339Nano)
	r, err := c.Send(ctx, "go_sec_producer", 1, &Message{Topic: topic, Body: []byte(body), Tags: "secure",
		Properties: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if r.Status != SendOK || r.QueueID != 1 || r.QueueOffset < 0 || r.MsgID == "" {
		t.Fatalf("send result %+v", r)
	}
	// Long polling: the broker answers once the message is pullable; the rounds bound the wait.
	var b *Batch
	for round := 0; round < 10; round++ {
		b, err = c.PullBatch(ctx, PullRequest{ConsumerGroup: "go_sec_consumer", Topic: topic, QueueID: 1,
			Offset: r.QueueOffset, MaxMessages: 32, Suspend: 3 * time.Second})
		if err != nil {
			t.Fatalf("PullBatch: %v", err)
		}
		if b.Status == PullFound {
			break
		}
		if b.Status != PullNoNewMsg {
			t.Fatalf("pull status %v at offset %d", b.Status, r.QueueOffset)
		}
		b.Free()
		b = nil
	}
	if b == nil {
		t.Fatalf("the message sent at offset %d was never pulled", r.QueueOffset)
	}
	defer b.Free()
	m := b.Message(0)
	if string(m.Body) != body || m.Topic != topic || m.Tags != "secure" || m.MsgID != r.MsgID ||
		m.QueueOffset != r.QueueOffset {
		t.Fatalf("pulled %+v (body %q), sent %+v", m, m.Body, r)
	}
	if v, ok := b.Property(0, "k"); !ok || v != "v" {
		t.Fatalf("property k = %q, %v", v, ok)
	}
	if next, err := c.GetMaxOffset(ctx, topic, 1); err != nil || next != r.QueueOffset+1 {
		t.Fatalf("GetMaxOffset = %d, %v; sent at %d", next, err, r.QueueOffset)
	}
}

func (s *secureEnv) aclRefusals(t *testing.T, topic string) {
	cases := []struct {
		name string
		cfg  Config
	}{
		{"wrong secret", s.verified(s.accessKey, s.wrong)},
		{"unknown access key", s.verified("bc-no-such-user", s.secret)},
		{"no keys", s.verified("", "")},
	}
	for _, tc := range cases {
		c := s.client(t, tc.cfg)
		_, err := c.Send(testCtx(t), "go_sec_producer", 0, &Message{Topic: topic, Body: []byte("refused")})
		var e *Error
		if !errors.Is(err, ErrAuthorization) || !errors.As(err, &e) {
			t.Errorf("%s: got %v, want ErrAuthorization", tc.name, err)
			continue
		}
		// 5.x (ACL 2.0): NO_PERMISSION 16; 4.x (ACL 1.0): SYSTEM_ERROR 1 with AclException.
		if e.ResponseCode != 16 && (e.ResponseCode != 1 || !strings.Contains(e.Remark, "AclException")) {
			t.Errorf("%s: response code %d, remark %q", tc.name, e.ResponseCode, e.Remark)
		}
		if e.Retriable {
			t.Errorf("%s: an ACL refusal is retriable", tc.name)
		}
		s.assertNoSecret(t, tc.name+": the error", err.Error()+" "+e.Remark)
		t.Logf("%s: %v", tc.name, err)
	}
}

// TLS 1.3: the client finishes its side of the handshake before the broker checks the client
// certificate, so the broker's refusal (an alert, then close) reaches the first request.
func (s *secureEnv) noClientCertificate(t *testing.T, topic string) {
	c := s.client(t, Config{"acl.access.key": s.accessKey, "acl.secret.key": s.secret, "tls.ca.file": s.ca})
	_, err := c.Send(testCtx(t), "go_sec_producer", 0, &Message{Topic: topic, Body: []byte("no client certificate")})
	if !errors.Is(err, ErrConnection) {
		t.Fatalf("got %v, want ErrConnection", err)
	}
	t.Logf("no client certificate: %v", err)
}

func (s *secureEnv) untrustedCA(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
	}{
		// No tls.ca.file and no tls.insecure: the platform store, which lacks the test CA.
		{"platform trust store", Config{"acl.access.key": s.accessKey, "acl.secret.key": s.secret,
			"tls.enable": "true", "tls.cert.file": s.cert, "tls.key.file": s.key}},
		{"another CA", Config{"acl.access.key": s.accessKey, "acl.secret.key": s.secret,
			"tls.ca.file": s.otherCA, "tls.cert.file": s.cert, "tls.key.file": s.key}},
	}
	for _, tc := range cases {
		c := s.client(t, tc.cfg)
		err := c.Connect(testCtx(t))
		var e *Error
		if !errors.Is(err, ErrConnection) || !errors.As(err, &e) {
			t.Errorf("%s: got %v, want ErrConnection", tc.name, err)
			continue
		}
		if !strings.Contains(e.Message, "TLS handshake failed") || !strings.Contains(e.Message, "UnknownIssuer") {
			t.Errorf("%s: message %q", tc.name, e.Message)
		}
		if c.IsConnected() {
			t.Errorf("%s: connected", tc.name)
		}
		t.Logf("%s: %v", tc.name, err)
	}
}

// tls.insecure=true: the untrusted CA is accepted (the opt-out), requests work.
func (s *secureEnv) insecure(t *testing.T, topic string) {
	cfg := s.verified(s.accessKey, s.secret)
	cfg["tls.ca.file"] = s.otherCA
	cfg["tls.insecure"] = "true"
	c := s.client(t, cfg)
	if next, err := c.GetMaxOffset(testCtx(t), topic, 0); err != nil || next < 0 {
		t.Fatalf("GetMaxOffset = %d, %v", next, err)
	}
}
