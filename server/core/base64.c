/* Base64 encoding and decoding (RFC 4648). */
#include "core/base64.h"

#include <stdint.h>
#include <stdlib.h>

static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *
base64_encode(const void *data, size_t len, bool url_safe)
{
    const unsigned char *in = data;
    const char *abc = url_safe ? url_alphabet : std_alphabet;
    char *out = malloc((len + 2) / 3 * 4 + 1);
    size_t o = 0, i;

    if (out == NULL)
        return NULL;
    for (i = 0; i + 2 < len; i += 3) {
        uint32_t v =
            (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

        out[o++] = abc[v >> 18 & 63];
        out[o++] = abc[v >> 12 & 63];
        out[o++] = abc[v >> 6 & 63];
        out[o++] = abc[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16;

        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        out[o++] = abc[v >> 18 & 63];
        out[o++] = abc[v >> 12 & 63];
        if (i + 1 < len)
            out[o++] = abc[v >> 6 & 63];
        else if (!url_safe)
            out[o++] = '=';
        if (!url_safe)
            out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

static int
sextet(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

unsigned char *
base64_decode(const char *text, size_t text_len, size_t *out_len)
{
    unsigned char *out;
    uint32_t acc = 0;
    size_t o = 0;
    int bits = 0;

    while (text_len > 0 && text[text_len - 1] == '=')
        text_len--;
    if (text_len % 4 == 1)
        return NULL;
    out = malloc(text_len / 4 * 3 + 3);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < text_len; i++) {
        int s = sextet(text[i]);

        if (s < 0) {
            free(out);
            return NULL;
        }
        acc = acc << 6 | (uint32_t)s;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits & 0xff);
        }
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}
