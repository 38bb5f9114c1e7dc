/*
 * Base64 in its standard (RFC 4648 section 4) and URL-safe (section 5)
 * alphabets. Stands alone: no other lrsd module is needed.
 */
#ifndef LRSD_CORE_BASE64_H
#define LRSD_CORE_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/* Encodes len bytes. url_safe selects '-' and '_' and omits padding.
 * Returns a new NUL-terminated string the caller frees, or NULL on OOM. */
char *base64_encode(const void *data, size_t len, bool url_safe);

/* Decodes text (standard or URL-safe alphabet, padding optional) into a
 * new buffer, NUL-terminated for convenience, with its length in
 * *out_len. Returns NULL when text is not base64 or memory runs out. */
unsigned char *base64_decode(const char *text, size_t text_len,
                             size_t *out_len);

#endif
