/*
 * Checking JWS signatures of signed statements with libcrypto.
 *
 * The payload is compared with the statement under the specification's
 * comparison rules (which look at durations only to hundredths of a
 * second), after removing the attachments: the signature cannot sign
 * itself.
 */
#include "xapi/signature.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "xapi/compare.h"

bool
xapi_attachment_is_signature(const json_t *attachment)
{
    const char *usage =
        json_string_value(json_object_get(attachment, "usageType"));

    return usage != NULL && strcmp(usage, XAPI_SIGNATURE_USAGE) == 0;
}

/* Decodes one base64url segment of a JWS into a new buffer. */
static unsigned char *
segment(const char *start, size_t len, size_t *out_len)
{
    return base64_decode(start, len, out_len);
}

static const EVP_MD *
digest_for(const char *alg)
{
    if (alg == NULL)
        return NULL;
    if (strcmp(alg, "RS256") == 0)
        return EVP_sha256();
    if (strcmp(alg, "RS384") == 0)
        return EVP_sha384();
    if (strcmp(alg, "RS512") == 0)
        return EVP_sha512();
    return NULL;
}

static json_t *
comparable(const json_t *stmt)
{
    json_t *copy = json_deep_copy(stmt);

    if (copy != NULL)
        json_object_del(copy, "attachments");
    return copy;
}

static bool
payload_matches(const json_t *stmt, const json_t *payload)
{
    json_t *a = comparable(stmt), *b = comparable(payload);
    bool same = a != NULL && b != NULL && xapi_statements_equal(a, b);

    json_decref(a);
    json_decref(b);
    return same;
}

/* Verifies the signature over "header.payload" with the key of the first
 * certificate in x5c. Returns 0 when it verifies, -1 otherwise. */
static int
verify_with_x5c(const json_t *x5c, const EVP_MD *md, const char *signed_part,
                size_t signed_len, const unsigned char *sig, size_t sig_len)
{
    const char *cert_b64 = json_string_value(json_array_get(x5c, 0));
    const unsigned char *p;
    unsigned char *der = NULL;
    size_t der_len;
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    EVP_MD_CTX *ctx = NULL;
    int rc = -1;

    if (cert_b64 == NULL)
        return -1;
    der = base64_decode(cert_b64, strlen(cert_b64), &der_len);
    if (der == NULL)
        goto out;
    p = der;
    cert = d2i_X509(NULL, &p, (long)der_len);
    key = cert ? X509_get_pubkey(cert) : NULL;
    ctx = EVP_MD_CTX_new();
    if (key == NULL || ctx == NULL ||
        EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) != 1)
        goto out;
    if (EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)signed_part,
                         signed_len) == 1)
        rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    X509_free(cert);
    free(der);
    return rc;
}

struct jws {
    json_t *header;     /* owned */
    json_t *payload;    /* owned */
    unsigned char *sig; /* owned */
    size_t sig_len;
    size_t signed_len; /* bytes of "header.payload" */
};

static void
jws_free(struct jws *j)
{
    json_decref(j->header);
    json_decref(j->payload);
    free(j->sig);
}

static int
jws_split(const char *text, size_t len, struct jws *out, const char *path,
          struct lrs_error *err)
{
    const char *dot1 = memchr(text, '.', len), *dot2;
    unsigned char *raw;
    size_t n;

    memset(out, 0, sizeof(*out));
    dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - text)) : NULL;
    if (dot2 == NULL)
        return lrs_error_set(err, 400, "%s: the signature is not a compact JWS",
                             path);
    raw = segment(text, (size_t)(dot1 - text), &n);
    out->header = raw ? json_loadb((char *)raw, n, 0, NULL) : NULL;
    free(raw);
    raw = segment(dot1 + 1, (size_t)(dot2 - dot1 - 1), &n);
    out->payload = raw ? json_loadb((char *)raw, n, 0, NULL) : NULL;
    free(raw);
    out->sig =
        segment(dot2 + 1, len - (size_t)(dot2 + 1 - text), &out->sig_len);
    out->signed_len = (size_t)(dot2 - text);
    if (!json_is_object(out->header))
        return lrs_error_set(err, 400,
                             "%s: the JWS header is not a JSON object", path);
    if (!json_is_object(out->payload))
        return lrs_error_set(
            err, 400, "%s: the JWS payload is not a JSON statement", path);
    if (out->sig == NULL)
        return lrs_error_set(err, 400, "%s: the JWS signature is not base64url",
                             path);
    return 0;
}

int
xapi_signature_check(const json_t *stmt, const json_t *attachment,
                     const char *text, size_t len, const char *path,
                     struct lrs_error *err)
{
    const char *ctype =
        json_string_value(json_object_get(attachment, "contentType"));
    const EVP_MD *md;
    const json_t *x5c;
    struct jws j;
    int rc = -1;

    if (ctype == NULL || strcmp(ctype, "application/octet-stream") != 0)
        return lrs_error_set(err, 400,
                             "%s.contentType: a signature must be "
                             "application/octet-stream",
                             path);
    if (jws_split(text, len, &j, path, err) < 0)
        goto out;
    md = digest_for(json_string_value(json_object_get(j.header, "alg")));
    if (md == NULL) {
        lrs_error_set(err, 400,
                      "%s: the JWS algorithm must be RS256, RS384 or RS512",
                      path);
        goto out;
    }
    if (!payload_matches(stmt, j.payload)) {
        lrs_error_set(err, 400,
                      "%s: the JWS payload differs from the statement", path);
        goto out;
    }
    x5c = json_object_get(j.header, "x5c");
    if (x5c != NULL &&
        verify_with_x5c(x5c, md, text, j.signed_len, j.sig, j.sig_len) < 0) {
        lrs_error_set(err, 400,
                      "%s: the signature does not verify with the x5c "
                      "certificate",
                      path);
        goto out;
    }
    rc = 0;
out:
    jws_free(&j);
    return rc;
}
