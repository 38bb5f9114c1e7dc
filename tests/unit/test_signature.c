/* Unit tests for xapi/signature.c: JWS checks of signed statements. */
#include <check.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "xapi/signature.h"

static EVP_PKEY *key;

static const char statement_text[] =
    "{\"id\":\"5f7e2f7a-9a7c-4b8e-8f2c-2b6d7c1e0a11\","
    "\"actor\":{\"mbox\":\"mailto:signer@example.com\"},"
    "\"verb\":{\"id\":\"http://adlnet.gov/expapi/verbs/completed\"},"
    "\"object\":{\"id\":\"http://example.com/course/1\"},"
    "\"result\":{\"duration\":\"PT1M0.1237S\"}}";

static char *
b64url_json(const json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT);
    char *out = base64_encode(text, strlen(text), true);

    free(text);
    return out;
}

static X509 *
self_signed(void)
{
    X509 *cert = X509_new();

    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN",
                               MBSTRING_ASC,
                               (const unsigned char *)"lrsd test", -1, -1,
                               0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    X509_sign(cert, key, EVP_sha256());
    return cert;
}

/* Builds a compact JWS over payload. with_x5c adds the certificate. */
static char *
make_jws(const char *alg, const char *payload_json, int with_x5c)
{
    json_t *header = json_pack("{s:s}", "alg", alg);
    char *h, *p, *signing, *sig64, *out;
    unsigned char sig[1024];
    size_t sig_len = sizeof(sig);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    if (with_x5c) {
        X509 *cert = self_signed();
        unsigned char *der = NULL;
        int der_len = i2d_X509(cert, &der);
        char *cert64 = base64_encode(der, (size_t)der_len, false);

        json_object_set_new(header, "x5c", json_pack("[s]", cert64));
        free(cert64);
        OPENSSL_free(der);
        X509_free(cert);
    }
    h = b64url_json(header);
    p = base64_encode(payload_json, strlen(payload_json), true);
    ck_assert_int_gt(asprintf(&signing, "%s.%s", h, p), 0);
    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key);
    EVP_DigestSign(ctx, sig, &sig_len, (unsigned char *)signing,
                   strlen(signing));
    sig64 = base64_encode(sig, sig_len, true);
    ck_assert_int_gt(asprintf(&out, "%s.%s", signing, sig64), 0);
    EVP_MD_CTX_free(ctx);
    json_decref(header);
    free(h);
    free(p);
    free(signing);
    free(sig64);
    return out;
}

static int
check(const char *jws, const char *content_type, struct lrs_error *err)
{
    json_t *stmt = json_loads(statement_text, 0, NULL);
    json_t *att = json_pack("{s:s,s:s}", "usageType", XAPI_SIGNATURE_USAGE,
                            "contentType", content_type);
    int rc;

    json_object_set_new(stmt, "attachments", json_pack("[O]", att));
    rc = xapi_signature_check(stmt, att, jws, strlen(jws),
                              "statement.attachments[0]", err);
    json_decref(att);
    json_decref(stmt);
    return rc;
}

START_TEST(test_signature_accepts_matching_rs256_payload)
{
    char *jws = make_jws("RS256", statement_text, 0);
    struct lrs_error err = {0};

    ck_assert_int_eq(check(jws, "application/octet-stream", &err), 0);
    free(jws);
}
END_TEST

START_TEST(test_signature_rejects_other_algorithms)
{
    char *jws = make_jws("HS256", statement_text, 0);
    struct lrs_error err = {0};

    ck_assert_int_eq(check(jws, "application/octet-stream", &err), -1);
    ck_assert_int_eq(err.status, 400);
    ck_assert_ptr_nonnull(strstr(err.message, "RS256, RS384 or RS512"));
    free(jws);
}
END_TEST

START_TEST(test_signature_rejects_payload_of_another_statement)
{
    char *other = strdup(statement_text);
    char *jws;
    struct lrs_error err = {0};

    memcpy(strstr(other, "completed"), "attempted", 9);
    jws = make_jws("RS256", other, 0);
    ck_assert_int_eq(check(jws, "application/octet-stream", &err), -1);
    ck_assert_str_eq(err.message, "statement.attachments[0]: the JWS payload "
                                  "differs from the statement");
    free(jws);
    free(other);
}
END_TEST

START_TEST(test_signature_payload_duration_may_be_truncated)
{
    char *cut = strdup(statement_text);
    char *d = strstr(cut, "0.1237S");
    char *jws;
    struct lrs_error err = {0};

    memmove(d + 4, d + 6, strlen(d + 6) + 1);
    ck_assert_ptr_nonnull(strstr(cut, "PT1M0.12S"));
    jws = make_jws("RS256", cut, 0);
    ck_assert_int_eq(check(jws, "application/octet-stream", &err), 0);
    free(jws);
    free(cut);
}
END_TEST

START_TEST(test_signature_rejects_non_json_payload_and_garbage)
{
    char *jws = make_jws("RS256", "{'id': 1}", 0);
    struct lrs_error err = {0};

    ck_assert_int_eq(check(jws, "application/octet-stream", &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "payload is not a JSON"));
    ck_assert_int_eq(check("not a jws", "application/octet-stream", &err),
                     -1);
    ck_assert_int_eq(err.status, 400);
    free(jws);
}
END_TEST

START_TEST(test_signature_requires_octet_stream)
{
    char *jws = make_jws("RS256", statement_text, 0);
    struct lrs_error err = {0};

    ck_assert_int_eq(check(jws, "text/plain; charset=ascii", &err), -1);
    ck_assert_str_eq(err.message, "statement.attachments[0].contentType: a "
                                  "signature must be "
                                  "application/octet-stream");
    free(jws);
}
END_TEST

START_TEST(test_signature_verifies_with_x5c_and_detects_tampering)
{
    char *jws = make_jws("RS256", statement_text, 1);
    struct lrs_error err = {0};
    char *last;

    ck_assert_int_eq(check(jws, "application/octet-stream", &err), 0);
    /* Flip one character of the signature. */
    last = jws + strlen(jws) - 2;
    *last = *last == 'A' ? 'B' : 'A';
    ck_assert_int_eq(check(jws, "application/octet-stream", &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "does not verify"));
    free(jws);
}
END_TEST

static void
setup(void)
{
    key = EVP_RSA_gen(2048);
    ck_assert_ptr_nonnull(key);
}

static void
teardown(void)
{
    EVP_PKEY_free(key);
}

static Suite *
signature_suite(void)
{
    Suite *s = suite_create("signature");
    TCase *tc = tcase_create("signature");

    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_signature_accepts_matching_rs256_payload);
    tcase_add_test(tc, test_signature_rejects_other_algorithms);
    tcase_add_test(tc, test_signature_rejects_payload_of_another_statement);
    tcase_add_test(tc, test_signature_payload_duration_may_be_truncated);
    tcase_add_test(tc, test_signature_rejects_non_json_payload_and_garbage);
    tcase_add_test(tc, test_signature_requires_octet_stream);
    tcase_add_test(tc, test_signature_verifies_with_x5c_and_detects_tampering);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(signature_suite());
    int failed;

    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
