/*
 * Attachment handling for the Statements resource. Content is matched to
 * statements by SHA-256 only: the declared length is informative, and
 * clients are known to declare it inaccurately.
 */
#include "http/attachments.h"

#include <openssl/sha.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uuid/uuid.h>

#include "http/multipart.h"
#include "xapi/json_parse.h"
#include "xapi/signature.h"

void
attachments_set_free(struct attachment_set *set)
{
    free(set->items);
    set->items = NULL;
    set->count = 0;
}

static void
sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char digest[SHA256_DIGEST_LENGTH];

    SHA256(data, len, digest);
    for (size_t i = 0; i < sizeof(digest); i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

static int
read_part(const struct multipart_part *part, size_t index,
          struct store_attachment *out, struct lrs_error *err)
{
    if (part->hash[0] == '\0')
        return lrs_error_set(err, 400,
                             "body: multipart part %zu has no "
                             "X-Experience-API-Hash header",
                             index);
    if (part->encoding[0] != '\0' && strcasecmp(part->encoding, "binary"))
        return lrs_error_set(err, 400,
                             "body: multipart part %zu: "
                             "Content-Transfer-Encoding must be binary",
                             index);
    sha256_hex(part->data, part->len, out->sha2);
    if (strcasecmp(out->sha2, part->hash) != 0)
        return lrs_error_set(err, 400,
                             "body: multipart part %zu: content does not "
                             "match its X-Experience-API-Hash",
                             index);
    snprintf(out->content_type, sizeof(out->content_type), "%s",
             part->content_type[0] ? part->content_type
                                   : "application/octet-stream");
    out->data = (unsigned char *)part->data;
    out->len = part->len;
    return 0;
}

static bool
is_json_part(const struct multipart_part *part)
{
    return strncasecmp(part->content_type, "application/json", 16) == 0 &&
           (part->content_type[16] == '\0' || part->content_type[16] == ';' ||
            part->content_type[16] == ' ');
}

int
attachments_read_multipart(const char *body, size_t len,
                           const char *content_type, json_t **doc,
                           struct attachment_set *set, struct lrs_error *err)
{
    struct multipart *mp = malloc(sizeof(*mp));
    char boundary[80];
    int rc = -1;

    *doc = NULL;
    memset(set, 0, sizeof(*set));
    if (mp == NULL)
        return lrs_error_set(err, 500, "out of memory");
    if (multipart_boundary(content_type, boundary, sizeof(boundary)) < 0) {
        lrs_error_set(err, 400,
                      "Content-Type: multipart/mixed needs a boundary");
        goto out;
    }
    if (multipart_parse(body, len, boundary, mp, err) < 0)
        goto out;
    if (!is_json_part(&mp->parts[0])) {
        lrs_error_set(err, 400,
                      "body: the first multipart part must be the "
                      "statements as application/json");
        goto out;
    }
    *doc = xapi_json_parse_checked(mp->parts[0].data, mp->parts[0].len, "body",
                           err);
    if (*doc == NULL)
        goto out;
    set->items = calloc(mp->count, sizeof(*set->items));
    if (set->items == NULL) {
        lrs_error_set(err, 500, "out of memory");
        goto out;
    }
    for (size_t i = 1; i < mp->count; i++) {
        if (read_part(&mp->parts[i], i, &set->items[set->count], err) < 0)
            goto out;
        set->count++;
    }
    rc = 0;
out:
    if (rc < 0) {
        json_decref(*doc);
        *doc = NULL;
        attachments_set_free(set);
    }
    free(mp);
    return rc;
}

static const struct store_attachment *
find_content(const struct attachment_set *set, const char *sha2)
{
    for (size_t i = 0; sha2 != NULL && i < set->count; i++) {
        if (strcasecmp(set->items[i].sha2, sha2) == 0)
            return &set->items[i];
    }
    return NULL;
}

/* Checks one statement's attachments and marks the contents it uses. */
static int
check_statement(const json_t *stmt, const char *path,
                const struct attachment_set *set, bool *used,
                struct lrs_error *err)
{
    const json_t *list = json_object_get(stmt, "attachments");
    const json_t *att;
    size_t i;

    json_array_foreach (list, i, att) {
        const char *sha2 = json_string_value(json_object_get(att, "sha2"));
        const struct store_attachment *content = find_content(set, sha2);
        char apath[96];

        snprintf(apath, sizeof(apath), "%s.attachments[%zu]", path, i);
        if (content == NULL) {
            if (json_object_get(att, "fileUrl") == NULL ||
                xapi_attachment_is_signature(att))
                return lrs_error_set(err, 400,
                                     "%s: no content was sent for this "
                                     "attachment and it has no fileUrl",
                                     apath);
            continue;
        }
        used[content - set->items] = true;
        if (xapi_attachment_is_signature(att) &&
            xapi_signature_check(stmt, att, (const char *)content->data,
                                 content->len, apath, err) < 0)
            return -1;
    }
    return 0;
}

int
attachments_check(const json_t *doc, const struct attachment_set *set,
                  struct lrs_error *err)
{
    bool array = json_is_array(doc);
    size_t n = array ? json_array_size(doc) : 1;
    bool *used = calloc(set->count + 1, sizeof(*used));
    char path[48];
    int rc = -1;

    if (used == NULL)
        return lrs_error_set(err, 500, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (array)
            snprintf(path, sizeof(path), "statements[%zu]", i);
        else
            snprintf(path, sizeof(path), "statement");
        if (check_statement(array ? json_array_get(doc, i) : doc, path, set,
                            used, err) < 0)
            goto out;
    }
    for (size_t i = 0; i < set->count; i++) {
        if (!used[i]) {
            lrs_error_set(err, 400,
                          "body: multipart part %zu matches no attachment "
                          "of the statements",
                          i + 1);
            goto out;
        }
    }
    rc = 0;
out:
    free(used);
    return rc;
}

static int
add_hash(char ***list, size_t *n, size_t *cap, const char *sha2)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcasecmp((*list)[i], sha2) == 0)
            return 0;
    }
    if (*n == *cap) {
        size_t grown = *cap ? *cap * 2 : 8;
        char **bigger = realloc(*list, grown * sizeof(**list));

        if (bigger == NULL)
            return -1;
        *list = bigger;
        *cap = grown;
    }
    (*list)[*n] = strdup(sha2);
    if ((*list)[*n] == NULL)
        return -1;
    for (char *p = (*list)[*n]; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'F' ? *p + 32 : *p);
    (*n)++;
    return 0;
}

char **
attachments_hashes(const char *const *bodies, const size_t *lens, size_t count,
                   size_t *n)
{
    char **list = NULL;
    size_t cap = 0;

    *n = 0;
    for (size_t i = 0; i < count; i++) {
        json_t *stmt, *att;
        size_t k;

        /* Cheap test first: most statements carry no attachments. */
        if (memmem(bodies[i], lens[i], "\"attachments\"", 13) == NULL)
            continue;
        stmt = xapi_json_parse(bodies[i], lens[i], NULL);
        json_array_foreach (json_object_get(stmt, "attachments"), k, att) {
            const char *sha2 = json_string_value(json_object_get(att, "sha2"));

            if (sha2 != NULL && add_hash(&list, n, &cap, sha2) < 0)
                break;
        }
        json_decref(stmt);
    }
    return list;
}

char *
attachments_multipart(char *json, size_t json_len,
                      const struct store_attachment *items, size_t n,
                      char *boundary, size_t bsize, size_t *out_len)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    uuid_t u;
    char hex[37];

    if (f == NULL) {
        free(json);
        return NULL;
    }
    uuid_generate_random(u);
    uuid_unparse_lower(u, hex);
    snprintf(boundary, bsize, "lrsd%.8s%.4s%.4s", hex, hex + 9, hex + 14);
    fprintf(f, "--%s\r\nContent-Type: application/json\r\n\r\n", boundary);
    fwrite(json, 1, json_len, f);
    free(json);
    for (size_t i = 0; i < n; i++) {
        fprintf(f,
                "\r\n--%s\r\nContent-Type: %s\r\n"
                "Content-Transfer-Encoding: binary\r\n"
                "X-Experience-API-Hash: %s\r\n\r\n",
                boundary, items[i].content_type, items[i].sha2);
        fwrite(items[i].data, 1, items[i].len, f);
    }
    fprintf(f, "\r\n--%s--\r\n", boundary);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    *out_len = len;
    return text;
}
