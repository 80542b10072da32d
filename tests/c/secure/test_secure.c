/*
 * test_secure.c - ACL signing and verified TLS through bc_config keys only, against the broker
 * of `scripts/security-compat.sh boot-secure VERSION` (TLS only, client certificates of the
 * test CA required, every request authenticated).
 *
 * Environment (set by `scripts/security-compat.sh secure VERSION`, which builds and runs this
 * file, also under valgrind; tests/secure_broker.rs reads the same variables):
 *   BC_BROKER_ADDR                         the secure broker, host:port
 *   BC_TLS_DIR                             ca.pem, client.pem, client.key, other-ca.pem
 *                                          (cargo run --example tls_test_certs -- DIR)
 *   BC_ACL_ACCESS_KEY, BC_ACL_SECRET_KEY   the broker's credentials (<work>/acl.env)
 * Without them it fails: it is not part of scripts/c-tests.sh (which needs no broker).
 *
 * Covered: right keys over verified TLS (CA file, client certificate and key) create a topic,
 * send a message and pull it back; a wrong secret, an unknown access key and no keys at all are
 * BC_ERR_AUTHORIZATION (5.x NO_PERMISSION 16; 4.x SYSTEM_ERROR 1 with AclException), not
 * retriable, and no error text carries a secret; no client certificate is BC_ERR_CONNECTION at
 * the first request; the platform trust store (no tls.ca.file, no tls.insecure) and another CA
 * are BC_ERR_CONNECTION at connect (UnknownIssuer); tls.insecure=true connects anyway.
 *
 * A failed check ends its test (the others still run). Prints "test_secure: N passed,
 * M failed" last; exits 1 when M > 0.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "brokerclient.h"

/* ---------------------------------------------------------------------------------------- */
/* Checks */

static int passed = 0;
static int failed = 0;

/* On failure: reports file:line and the condition, counts it and jumps to the test's `out:`
 * label (its clean-up). */
#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (cond) {                                                                        \
            passed++;                                                                      \
        } else {                                                                           \
            failed++;                                                                      \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);       \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
            fflush(NULL);                                                                  \
            goto out;                                                                      \
        }                                                                                  \
    } while (0)

/* A call that must return BC_OK; on failure the message of its error is printed. */
#define CHECK_OK(err, call)                                                                \
    do {                                                                                   \
        bc_status st_ = (call);                                                            \
        CHECK(st_ == BC_OK, "%s (%s)", bc_status_name(st_), error_text(err));              \
    } while (0)

static const char *error_text(bc_error *err) {
    return err ? bc_error_message(err) : "no error object";
}

/* ---------------------------------------------------------------------------------------- */
/* Set-up */

static const char *broker_addr;
static const char *tls_dir;
static const char *access_key;
static const char *secret_key;
static char wrong_secret[512];
static char ca_file[1024], other_ca_file[1024], cert_file[1024], key_file[1024];
static char topic[128];

static const char *need_env(const char *name) {
    const char *v = getenv(name);
    if (v == NULL || *v == '\0') {
        fprintf(stderr,
                "test_secure: %s is not set: this test needs the TLS + ACL broker of "
                "`scripts/security-compat.sh boot-secure VERSION` (see its header)\n",
                name);
        return NULL;
    }
    return v;
}

static int tls_path(char *buf, size_t size, const char *file) {
    int n = snprintf(buf, size, "%s/%s", tls_dir, file);
    if (n <= 0 || (size_t)n >= size) {
        fprintf(stderr, "test_secure: BC_TLS_DIR is too long\n");
        return 0;
    }
    if (access(buf, R_OK) != 0) {
        fprintf(stderr, "test_secure: %s is missing\n", buf);
        return 0;
    }
    return 1;
}

/* Generous deadlines: the valgrind run is slow, and the TLS handshake shares the connect one. */
#define TIMEOUTS "request.timeout.ms", "15000", "connect.timeout.ms", "10000"

/* A client of the secure broker configured by `kv`, a NULL-terminated list of key, value
 * pairs: bc_config is the only way settings get in. NULL (and a failed check) on error. */
static bc_client *new_client(const char *const *kv) {
    bc_config *cfg = NULL;
    bc_client *client = NULL;
    bc_error *err = NULL;
    CHECK_OK(err, bc_config_new(&cfg, &err));
    for (size_t i = 0; kv[i] != NULL; i += 2) {
        bc_status st = bc_config_set(cfg, kv[i], kv[i + 1], &err);
        CHECK(st == BC_OK, "bc_config_set(%s): %s (%s)", kv[i], bc_status_name(st), error_text(err));
    }
    CHECK_OK(err, bc_client_new(broker_addr, cfg, NULL, &client, &err));
out:
    bc_error_free(err);
    bc_config_free(cfg);
    return client;
}

/* No error text may contain a secret (the library never logs or reports key values). */
static int has_secret(const char *text) {
    return strstr(text, secret_key) != NULL || strstr(text, wrong_secret) != NULL;
}

/* ACL refused the request: NO_PERMISSION (16) from 5.x (ACL 2.0); 4.x (ACL 1.0) answers
 * SYSTEM_ERROR (1) with the AclException text. Both are BC_ERR_AUTHORIZATION. */
static int acl_refusal(const bc_error *err) {
    int32_t code = bc_error_response_code(err);
    return bc_error_code(err) == BC_ERR_AUTHORIZATION &&
           (code == 16 || (code == 1 && strstr(bc_error_remark(err), "AclException") != NULL));
}

/* ---------------------------------------------------------------------------------------- */
/* Tests */

/* Right keys over verified TLS: create the topic, send, pull the message back. */
static void test_right_keys_over_verified_tls_send_and_pull(void) {
    const char *const kv[] = {TIMEOUTS,
                              "acl.access.key", access_key,
                              "acl.secret.key", secret_key,
                              "tls.enable", "true",
                              "tls.ca.file", ca_file,
                              "tls.cert.file", cert_file,
                              "tls.key.file", key_file,
                              NULL};
    bc_client *client = new_client(kv);
    bc_message *msg = NULL;
    bc_send_result *sent = NULL;
    bc_batch *batch = NULL;
    bc_error *err = NULL;
    char body[128];
    CHECK(client != NULL, "no client");

    CHECK_OK(err, bc_client_connect(client, &err));
    CHECK(bc_client_is_connected(client), "not connected after bc_client_connect");
    /* The topic is created on this broker by a signed admin request over TLS. */
    CHECK_OK(err, bc_client_create_topic(client, topic, 4, &err));

    int body_len = snprintf(body, sizeof body, "over TLS, signed, from C (%ld %ld)", (long)getpid(),
                            (long)time(NULL));
    CHECK(body_len > 0 && (size_t)body_len < sizeof body, "snprintf");
    CHECK_OK(err, bc_message_new(topic, (const uint8_t *)body, (size_t)body_len, &msg, &err));
    CHECK_OK(err, bc_message_set_tags(msg, "secure", &err));
    CHECK_OK(err, bc_message_set_property(msg, "k", "v", &err));
    CHECK_OK(err, bc_client_send(client, "bc_sec_c_producer", 1, msg, &sent, &err));
    const int64_t offset = bc_send_result_queue_offset(sent);
    CHECK(bc_send_result_queue_id(sent) == 1 && offset >= 0, "send result: queue %d offset %lld",
          (int)bc_send_result_queue_id(sent), (long long)offset);

    /* The broker makes a stored message pullable asynchronously: long polling covers the gap
     * (the broker answers as soon as it arrives); the rounds only bound the wait. */
    int found = 0;
    for (int round = 0; round < 10 && !found; round++) {
        bc_batch_free(batch);
        batch = NULL;
        CHECK_OK(err, bc_client_pull(client, "bc_sec_c_consumer", topic, 1, offset, 32, 3000, NULL, &batch,
                                     &err));
        const int32_t status = bc_batch_status(batch);
        CHECK(status == 0 || status == 1, "pull status %d at offset %lld", (int)status, (long long)offset);
        if (status != 0) continue; /* NO_NEW_MSG: not pullable yet */
        CHECK(bc_batch_len(batch) >= 1, "FOUND with no message");
        bc_message_view view;
        memset(&view, 0, sizeof view);
        view.struct_size = sizeof view;
        CHECK_OK(err, bc_batch_get(batch, 0, &view, &err));
        CHECK(view.queue_offset == offset, "first message at %lld, not %lld", (long long)view.queue_offset,
              (long long)offset);
        CHECK(view.body_len == (size_t)body_len && memcmp(view.body, body, view.body_len) == 0,
              "pulled body \"%.*s\"", (int)view.body_len, (const char *)view.body);
        CHECK(strcmp(view.topic, topic) == 0, "topic %s", view.topic);
        CHECK(strcmp(view.tags, "secure") == 0, "tags %s", view.tags);
        CHECK(strcmp(view.msg_id, bc_send_result_msg_id(sent)) == 0, "msg id %s, sent %s", view.msg_id,
              bc_send_result_msg_id(sent));
        const char *prop = bc_batch_property(batch, 0, "k");
        CHECK(prop != NULL && strcmp(prop, "v") == 0, "property k = %s", prop ? prop : "(none)");
        found = 1;
    }
    CHECK(found, "the message sent at offset %lld was never pulled", (long long)offset);

    int64_t max = -1;
    CHECK_OK(err, bc_client_get_max_offset(client, topic, 1, &max, &err));
    CHECK(max == offset + 1, "max offset %lld after the send at %lld", (long long)max, (long long)offset);
out:
    bc_error_free(err);
    bc_batch_free(batch);
    bc_send_result_free(sent);
    bc_message_free(msg);
    bc_client_free(client);
}

/* One request of a client with these ACL settings over verified TLS: refused by ACL. */
static void expect_acl_refusal(const char *what, const char *const *kv) {
    bc_client *client = new_client(kv);
    bc_message *msg = NULL;
    bc_send_result *sent = NULL;
    bc_error *err = NULL;
    CHECK(client != NULL, "%s: no client", what);
    CHECK_OK(err, bc_message_new(topic, (const uint8_t *)"refused", 7, &msg, &err));
    bc_status st = bc_client_send(client, "bc_sec_c_producer", 0, msg, &sent, &err);
    CHECK(st == BC_ERR_AUTHORIZATION, "%s: send returned %s (%s)", what, bc_status_name(st), error_text(err));
    CHECK(sent == NULL, "%s: a result with the error", what);
    CHECK(err != NULL && acl_refusal(err), "%s: response code %d, remark \"%s\"", what,
          (int)bc_error_response_code(err), bc_error_remark(err));
    CHECK(!bc_error_is_retriable(err), "%s: an ACL refusal is not retriable", what);
    CHECK(!has_secret(bc_error_message(err)) && !has_secret(bc_error_remark(err)),
          "%s: the error carries a secret key", what);
    printf("  %s: %s, response code %d\n", what, bc_status_name(st), (int)bc_error_response_code(err));
out:
    bc_error_free(err);
    bc_send_result_free(sent);
    bc_message_free(msg);
    bc_client_free(client);
}

static void test_wrong_secret_unknown_key_and_no_keys_are_authorization_errors(void) {
    const char *const wrong[] = {TIMEOUTS,
                                 "acl.access.key", access_key,
                                 "acl.secret.key", wrong_secret,
                                 "tls.ca.file", ca_file,
                                 "tls.cert.file", cert_file,
                                 "tls.key.file", key_file,
                                 NULL};
    expect_acl_refusal("wrong secret", wrong);
    const char *const unknown[] = {TIMEOUTS,
                                   "acl.access.key", "bc-no-such-user",
                                   "acl.secret.key", secret_key,
                                   "tls.ca.file", ca_file,
                                   "tls.cert.file", cert_file,
                                   "tls.key.file", key_file,
                                   NULL};
    expect_acl_refusal("unknown access key", unknown);
    const char *const unsigned_[] = {TIMEOUTS,
                                     "tls.ca.file", ca_file,
                                     "tls.cert.file", cert_file,
                                     "tls.key.file", key_file,
                                     NULL};
    expect_acl_refusal("no keys", unsigned_);
}

/* TLS 1.3: the client finishes its side of the handshake before the broker checks the client
 * certificate, so the broker's refusal (an alert, then close) reaches the first request. */
static void test_no_client_certificate_is_a_connection_error(void) {
    const char *const kv[] = {TIMEOUTS,
                              "acl.access.key", access_key,
                              "acl.secret.key", secret_key,
                              "tls.ca.file", ca_file,
                              NULL};
    bc_client *client = new_client(kv);
    bc_message *msg = NULL;
    bc_send_result *sent = NULL;
    bc_error *err = NULL;
    CHECK(client != NULL, "no client");
    CHECK_OK(err, bc_message_new(topic, (const uint8_t *)"no client certificate", 21, &msg, &err));
    bc_status st = bc_client_send(client, "bc_sec_c_producer", 0, msg, &sent, &err);
    CHECK(st == BC_ERR_CONNECTION, "send returned %s (%s)", bc_status_name(st), error_text(err));
    CHECK(err != NULL && bc_error_code(err) == BC_ERR_CONNECTION, "error code %s",
          bc_status_name(bc_error_code(err)));
    printf("  no client certificate: %s: %s\n", bc_status_name(st), bc_error_message(err));
out:
    bc_error_free(err);
    bc_send_result_free(sent);
    bc_message_free(msg);
    bc_client_free(client);
}

/* The broker's certificate does not chain to a CA this client trusts: refused at connect. */
static void expect_untrusted(const char *what, const char *const *kv) {
    bc_client *client = new_client(kv);
    bc_error *err = NULL;
    CHECK(client != NULL, "%s: no client", what);
    bc_status st = bc_client_connect(client, &err);
    CHECK(st == BC_ERR_CONNECTION, "%s: connect returned %s (%s)", what, bc_status_name(st), error_text(err));
    CHECK(strstr(bc_error_message(err), "TLS handshake failed") != NULL &&
              strstr(bc_error_message(err), "UnknownIssuer") != NULL,
          "%s: message \"%s\"", what, bc_error_message(err));
    CHECK(!bc_client_is_connected(client), "%s: connected", what);
    printf("  %s: %s: %s\n", what, bc_status_name(st), bc_error_message(err));
out:
    bc_error_free(err);
    bc_client_free(client);
}

static void test_untrusted_ca_is_a_connection_error(void) {
    /* No tls.ca.file and no tls.insecure: the platform store, which lacks the test CA. */
    const char *const platform[] = {TIMEOUTS,
                                    "acl.access.key", access_key,
                                    "acl.secret.key", secret_key,
                                    "tls.enable", "true",
                                    "tls.cert.file", cert_file,
                                    "tls.key.file", key_file,
                                    NULL};
    expect_untrusted("platform trust store", platform);
    const char *const other[] = {TIMEOUTS,
                                 "acl.access.key", access_key,
                                 "acl.secret.key", secret_key,
                                 "tls.ca.file", other_ca_file,
                                 "tls.cert.file", cert_file,
                                 "tls.key.file", key_file,
                                 NULL};
    expect_untrusted("another CA", other);
}

/* tls.insecure=true: the same untrusted CA is accepted (the opt-out), requests work. */
static void test_insecure_opt_out_connects(void) {
    const char *const kv[] = {TIMEOUTS,
                              "acl.access.key", access_key,
                              "acl.secret.key", secret_key,
                              "tls.ca.file", other_ca_file,
                              "tls.cert.file", cert_file,
                              "tls.key.file", key_file,
                              "tls.insecure", "true",
                              NULL};
    bc_client *client = new_client(kv);
    bc_error *err = NULL;
    int64_t max = -1;
    CHECK(client != NULL, "no client");
    CHECK_OK(err, bc_client_get_max_offset(client, topic, 0, &max, &err));
    CHECK(max >= 0, "max offset %lld", (long long)max);
out:
    bc_error_free(err);
    bc_client_free(client);
}

/* ---------------------------------------------------------------------------------------- */

struct test {
    const char *name;
    void (*fn)(void);
};

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(void) {
    broker_addr = need_env("BC_BROKER_ADDR");
    tls_dir = need_env("BC_TLS_DIR");
    access_key = need_env("BC_ACL_ACCESS_KEY");
    secret_key = need_env("BC_ACL_SECRET_KEY");
    if (!broker_addr || !tls_dir || !access_key || !secret_key) goto setup_failed;
    /* A wrong secret sharing a prefix with the right one, so a leak of either is caught. */
    int n = snprintf(wrong_secret, sizeof wrong_secret, "%s-not-it", secret_key);
    if (n <= 0 || (size_t)n >= sizeof wrong_secret) goto setup_failed;
    if (!tls_path(ca_file, sizeof ca_file, "ca.pem") || !tls_path(other_ca_file, sizeof other_ca_file, "other-ca.pem") ||
        !tls_path(cert_file, sizeof cert_file, "client.pem") || !tls_path(key_file, sizeof key_file, "client.key"))
        goto setup_failed;
    snprintf(topic, sizeof topic, "bc_sec_c_%ld_%lld", (long)getpid(), (long long)time(NULL));
    printf("libbrokerclient %s, secure broker %s, topic %s\n", bc_version_str(), broker_addr, topic);

    /* The first test creates the topic the others use. */
    static const struct test tests[] = {
        {"right_keys_over_verified_tls_send_and_pull", test_right_keys_over_verified_tls_send_and_pull},
        {"wrong_secret_unknown_key_and_no_keys_are_authorization_errors",
         test_wrong_secret_unknown_key_and_no_keys_are_authorization_errors},
        {"no_client_certificate_is_a_connection_error", test_no_client_certificate_is_a_connection_error},
        {"untrusted_ca_is_a_connection_error", test_untrusted_ca_is_a_connection_error},
        {"insecure_opt_out_connects", test_insecure_opt_out_connects},
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        int before_passed = passed, before_failed = failed;
        int64_t t0 = now_ms();
        tests[i].fn();
        printf("%s %-62s %3d checks %6lld ms\n", failed == before_failed ? "ok  " : "FAIL", tests[i].name,
               passed - before_passed + failed - before_failed, (long long)(now_ms() - t0));
        fflush(stdout);
    }
    printf("test_secure: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;

setup_failed:
    printf("test_secure: %d passed, 1 failed\n", passed);
    return 1;
}
