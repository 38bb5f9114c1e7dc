/*
 * Value formats of xAPI: UUIDs, absolute IRIs, RFC 5646 language tags,
 * mailto IRIs, SHA-1 digests, ISO 8601 timestamps and durations.
 *
 * Every check is a hand-written scanner over the NUL-terminated text; none
 * allocates, none uses locale-dependent ctype functions, so that results
 * are the same whatever the process locale is.
 */
#include "xapi/formats.h"

#include <stdio.h>
#include <string.h>

/* ---- character classes (ASCII only) ---------------------------------- */

static bool
is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool
is_alnum(char c)
{
    return is_alpha(c) || is_digit(c);
}

static bool
is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static char
to_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Reads exactly n digits at text into *out. Returns false if any of them
 * is not a digit. */
static bool
read_digits(const char *text, int n, int *out)
{
    int value = 0;

    for (int i = 0; i < n; i++) {
        if (!is_digit(text[i]))
            return false;
        value = value * 10 + (text[i] - '0');
    }
    *out = value;
    return true;
}

/* ---- UUIDs ------------------------------------------------------------ */

bool
xapi_is_uuid(const char *text)
{
    if (text == NULL || strlen(text) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = (i == 8 || i == 13 || i == 18 || i == 23);

        if (dash ? text[i] != '-' : !is_hex(text[i]))
            return false;
    }
    return true;
}

int
xapi_uuid_normalize(const char *text, char out[37])
{
    if (!xapi_is_uuid(text))
        return -1;
    for (int i = 0; i < 36; i++)
        out[i] = to_lower(text[i]);
    out[36] = '\0';
    return 0;
}

/* ---- IRIs ------------------------------------------------------------- */

/* Characters that may never appear in an IRI: ASCII controls, space, DEL
 * and the delimiters RFC 3987 leaves out of every production. */
static bool
is_iri_excluded(unsigned char c)
{
    return c <= 0x20 || c == 0x7f || strchr("\"<>\\^`{|}", c) != NULL;
}

/* True when the UTF-8 sequence at p encodes a C1 control (U+0080-U+009F),
 * which IRIs exclude like the ASCII controls. */
static bool
is_c1_control(const unsigned char *p)
{
    return p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f;
}

/* Scans the part of an IRI after the scheme's colon: no excluded
 * characters, every '%' starts a two-digit hex escape, at most one '#'. */
static bool
iri_rest_ok(const char *rest)
{
    const unsigned char *p = (const unsigned char *)rest;
    bool fragment = false;

    if (*p == '\0')
        return false;
    for (; *p != '\0'; p++) {
        if (is_iri_excluded(*p) || is_c1_control(p))
            return false;
        if (*p == '%' && (!is_hex((char)p[1]) || !is_hex((char)p[2])))
            return false;
        if (*p == '#') {
            if (fragment)
                return false;
            fragment = true;
        }
    }
    return true;
}

bool
xapi_is_iri(const char *text)
{
    const char *p = text;

    if (text == NULL || !is_alpha(*p))
        return false;
    p++;
    while (is_alnum(*p) || *p == '+' || *p == '-' || *p == '.')
        p++;
    if (*p != ':')
        return false;
    return iri_rest_ok(p + 1);
}

/* ---- mailto and SHA-1 --------------------------------------------------- */

bool
xapi_is_mailto(const char *text)
{
    const char *addr;
    const char *at;

    if (text == NULL || strncmp(text, "mailto:", 7) != 0)
        return false;
    addr = text + 7;
    at = strchr(addr, '@');
    if (at == NULL || at == addr || at[1] == '\0' || strchr(at + 1, '@'))
        return false;
    return iri_rest_ok(addr);
}

bool
xapi_is_sha1_hex(const char *text)
{
    if (text == NULL || strlen(text) != 40)
        return false;
    for (int i = 0; i < 40; i++) {
        if (!is_hex(text[i]))
            return false;
    }
    return true;
}

/* ---- RFC 5646 language tags ------------------------------------------- */

/* The grandfathered tags of RFC 5646 section 2.1, matched whole and
 * without regard to case. Some of them also match the langtag
 * production; listing them all keeps the grammar code simple. */
static const char *const grandfathered_tags[] = {
    "en-GB-oed", "i-ami",     "i-bnn",      "i-default",   "i-enochian",
    "i-hak",     "i-klingon", "i-lux",      "i-mingo",     "i-navajo",
    "i-pwn",     "i-tao",     "i-tay",      "i-tsu",       "sgn-BE-FR",
    "sgn-BE-NL", "sgn-CH-DE", "art-lojban", "cel-gaulish", "no-bok",
    "no-nyn",    "zh-guoyu",  "zh-hakka",   "zh-min",      "zh-min-nan",
    "zh-xiang",
};

#define LANG_MAX_SUBTAGS 64

/* A tag split into subtags: pointers into the original text and lengths. */
struct subtags {
    const char *s[LANG_MAX_SUBTAGS];
    size_t len[LANG_MAX_SUBTAGS];
    size_t n;
};

/* Splits text at '-'. Fails on empty subtags, subtags longer than eight
 * characters, non-alphanumeric characters and too many subtags. */
static bool
split_subtags(const char *text, struct subtags *t)
{
    const char *p = text;

    t->n = 0;
    for (;;) {
        const char *start = p;

        while (is_alnum(*p))
            p++;
        if (p == start || p - start > 8 || t->n == LANG_MAX_SUBTAGS)
            return false;
        t->s[t->n] = start;
        t->len[t->n++] = (size_t)(p - start);
        if (*p == '\0')
            return true;
        if (*p++ != '-')
            return false;
    }
}

static bool
all_of(const char *s, size_t len, bool (*pred)(char))
{
    for (size_t i = 0; i < len; i++) {
        if (!pred(s[i]))
            return false;
    }
    return true;
}

static bool
same_subtag(const struct subtags *t, size_t a, size_t b)
{
    return t->len[a] == t->len[b] &&
           strncasecmp(t->s[a], t->s[b], t->len[a]) == 0;
}

/* privateuse = "x" 1*("-" 1*8alphanum), starting at subtag i. */
static bool
lang_privateuse(const struct subtags *t, size_t i)
{
    return t->len[i] == 1 && to_lower(t->s[i][0]) == 'x' && i + 1 < t->n;
}

/* language = 2*3ALPHA ["-" extlang] / 4ALPHA / 5*8ALPHA, where extlang is
 * up to three 3ALPHA subtags. Returns the index after it, or 0. */
static size_t
lang_language(const struct subtags *t)
{
    size_t i = 1;

    if (!all_of(t->s[0], t->len[0], is_alpha) || t->len[0] < 2)
        return 0;
    if (t->len[0] > 3)
        return 1;
    while (i < t->n && i <= 3 && t->len[i] == 3 && all_of(t->s[i], 3, is_alpha))
        i++;
    return i;
}

static bool
is_script(const struct subtags *t, size_t i)
{
    return t->len[i] == 4 && all_of(t->s[i], 4, is_alpha);
}

static bool
is_region(const struct subtags *t, size_t i)
{
    return (t->len[i] == 2 && all_of(t->s[i], 2, is_alpha)) ||
           (t->len[i] == 3 && all_of(t->s[i], 3, is_digit));
}

/* variant = 5*8alphanum / (DIGIT 3alphanum) */
static bool
is_variant(const struct subtags *t, size_t i)
{
    return t->len[i] >= 5 || (t->len[i] == 4 && is_digit(t->s[i][0]));
}

/* Variants after language, script and region; each at most once (RFC 5646
 * section 2.2.5 rule 5). Returns the index after them. */
static size_t
lang_variants(const struct subtags *t, size_t i, bool *ok)
{
    size_t first = i;

    while (i < t->n && is_variant(t, i)) {
        for (size_t j = first; j < i; j++) {
            if (same_subtag(t, i, j))
                *ok = false;
        }
        i++;
    }
    return i;
}

/* extension = singleton 1*("-" 2*8alphanum); a singleton appears at most
 * once per tag (section 2.2.6 rule 3). Returns the index after them. */
static size_t
lang_extensions(const struct subtags *t, size_t i, bool *ok)
{
    char seen[LANG_MAX_SUBTAGS];
    size_t nseen = 0;

    while (i < t->n && t->len[i] == 1 && to_lower(t->s[i][0]) != 'x') {
        char singleton = to_lower(t->s[i][0]);
        size_t start = ++i;

        if (memchr(seen, singleton, nseen) != NULL)
            *ok = false;
        seen[nseen++] = singleton;
        while (i < t->n && t->len[i] >= 2)
            i++;
        if (i == start)
            *ok = false;
    }
    return i;
}

static bool
lang_is_grandfathered(const char *text)
{
    size_t n = sizeof(grandfathered_tags) / sizeof(grandfathered_tags[0]);

    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(text, grandfathered_tags[i]) == 0)
            return true;
    }
    return false;
}

bool
xapi_is_language_tag(const char *text)
{
    struct subtags t;
    bool ok = true;
    size_t i;

    if (text == NULL)
        return false;
    if (lang_is_grandfathered(text))
        return true;
    if (!split_subtags(text, &t))
        return false;
    if (lang_privateuse(&t, 0))
        return true;
    i = lang_language(&t);
    if (i == 0)
        return false;
    if (i < t.n && is_script(&t, i))
        i++;
    if (i < t.n && is_region(&t, i))
        i++;
    i = lang_variants(&t, i, &ok);
    i = lang_extensions(&t, i, &ok);
    if (i < t.n && lang_privateuse(&t, i))
        i = t.n;
    return ok && i == t.n;
}

/* ---- timestamps --------------------------------------------------------- */

static bool
is_leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return (m == 2 && is_leap_year(y)) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to the given proleptic Gregorian date (negative
 * before the epoch); the usual era-based civil calendar arithmetic. */
static int64_t
days_from_civil(int y, int m, int d)
{
    int64_t era;
    int64_t yoe;
    int64_t doy;
    int64_t doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

struct ts_parts {
    int year, month, day, hour, minute, second;
    int64_t micros;     /* fraction of the second, truncated */
    int offset_minutes; /* east of UTC */
};

/* "YYYY-MM-DD" followed by 'T' (or 't', which RFC 3339 allows). */
static const char *
ts_date(const char *p, struct ts_parts *ts)
{
    if (!read_digits(p, 4, &ts->year) || p[4] != '-' ||
        !read_digits(p + 5, 2, &ts->month) || p[7] != '-' ||
        !read_digits(p + 8, 2, &ts->day))
        return NULL;
    if (ts->month < 1 || ts->month > 12 || ts->day < 1 ||
        ts->day > days_in_month(ts->year, ts->month))
        return NULL;
    if (p[10] != 'T' && p[10] != 't')
        return NULL;
    return p + 11;
}

/* Optional fraction after the seconds: a '.' or ',' and one or more
 * digits, of which the first six are kept. */
static const char *
ts_fraction(const char *p, struct ts_parts *ts)
{
    int64_t scale = 100000;

    ts->micros = 0;
    if (*p != '.' && *p != ',')
        return p;
    if (!is_digit(*++p))
        return NULL;
    for (; is_digit(*p); p++) {
        ts->micros += (*p - '0') * scale;
        scale /= 10;
    }
    return p;
}

/* "hh:mm" with optional ":ss" (a leap second 60 is accepted) and
 * fraction. */
static const char *
ts_time(const char *p, struct ts_parts *ts)
{
    if (!read_digits(p, 2, &ts->hour) || p[2] != ':' ||
        !read_digits(p + 3, 2, &ts->minute))
        return NULL;
    if (ts->hour > 23 || ts->minute > 59)
        return NULL;
    p += 5;
    ts->second = 0;
    ts->micros = 0;
    if (*p != ':')
        return p;
    if (!read_digits(p + 1, 2, &ts->second) || ts->second > 60)
        return NULL;
    return ts_fraction(p + 3, ts);
}

/* 'Z', or +hh:mm, +hhmm, +hh (or '-'). "-00:00" means "offset unknown"
 * in RFC 3339 and is refused; nothing at all yields *present = false. */
static bool
ts_offset(const char *p, struct ts_parts *ts, bool *present)
{
    int sign;
    int hours;
    int minutes = 0;

    ts->offset_minutes = 0;
    *present = (*p != '\0');
    if (*p == '\0')
        return true;
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
        return true;
    if (*p != '+' && *p != '-')
        return false;
    sign = (*p++ == '-') ? -1 : 1;
    if (!read_digits(p, 2, &hours))
        return false;
    p += 2;
    if (*p == ':' && p[1] == '\0')
        return false;
    if (*p == ':')
        p++;
    if (*p != '\0' && (!read_digits(p, 2, &minutes) || p[2] != '\0'))
        return false;
    if (hours > 23 || minutes > 59 || (sign < 0 && hours + minutes == 0))
        return false;
    ts->offset_minutes = sign * (hours * 60 + minutes);
    return true;
}

int
xapi_timestamp_parse(const char *text, bool require_offset, int64_t *out_us)
{
    struct ts_parts ts;
    const char *p;
    bool has_offset;
    int64_t secs;

    if (text == NULL || strlen(text) < 16)
        return -1;
    p = ts_date(text, &ts);
    if (p != NULL)
        p = ts_time(p, &ts);
    if (p == NULL || !ts_offset(p, &ts, &has_offset))
        return -1;
    if (require_offset && !has_offset)
        return -1;

    secs = days_from_civil(ts.year, ts.month, ts.day) * 86400 + ts.hour * 3600 +
           ts.minute * 60 + ts.second - (int64_t)ts.offset_minutes * 60;
    *out_us = secs * 1000000 + ts.micros;
    return 0;
}

/* Inverse of days_from_civil. */
static void
civil_from_days(int64_t z, int *y, int *m, int *d)
{
    int64_t era;
    int64_t doe;
    int64_t yoe;
    int64_t doy;
    int64_t mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* Writes v (0 <= v < 10^n) as exactly n decimal digits. */
static void
put_digits(char *out, int v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void
xapi_timestamp_format(int64_t us, char *out, size_t size)
{
    int64_t secs = us / 1000000;
    int64_t rem = us % 1000000;
    int64_t days;
    int64_t sod;
    int y, m, d;

    if (rem < 0) {
        rem += 1000000;
        secs--;
    }
    days = secs / 86400;
    sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999 || size < 25) {
        snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d,
                 (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60),
                 (int)(rem / 1000));
        return;
    }
    /* The common case without snprintf: a page of statements formats one
     * timestamp per statement. The text is the same. */
    put_digits(out, y, 4);
    out[4] = '-';
    put_digits(out + 5, m, 2);
    out[7] = '-';
    put_digits(out + 8, d, 2);
    out[10] = 'T';
    put_digits(out + 11, (int)(sod / 3600), 2);
    out[13] = ':';
    put_digits(out + 14, (int)(sod / 60 % 60), 2);
    out[16] = ':';
    put_digits(out + 17, (int)(sod % 60), 2);
    out[19] = '.';
    put_digits(out + 20, (int)(rem / 1000), 3);
    out[23] = 'Z';
    out[24] = '\0';
}

/* ---- durations ---------------------------------------------------------- */

/* One duration component: digits, an optional fraction, and a designator
 * from the allowed set, which must come after any designator seen before
 * (units appear at most once and in order). Returns the text after it. */
static const char *
dur_component(const char *p, const char **units, bool *fraction)
{
    const char *start = p;
    const char *unit;

    while (is_digit(*p))
        p++;
    if (p == start)
        return NULL;
    *fraction = (*p == '.' || *p == ',');
    if (*fraction) {
        start = ++p;
        while (is_digit(*p))
            p++;
        if (p == start)
            return NULL;
    }
    unit = (*p != '\0') ? strchr(*units, *p) : NULL;
    if (unit == NULL)
        return NULL;
    *units = unit + 1;
    return p + 1;
}

/* A run of components drawn in order from units, ending at stop ('T' or
 * NUL). A fraction is allowed only on the last component of the whole
 * duration, which the caller checks through *last_fraction. */
static const char *
dur_components(const char *p, const char *units, char stop, int *count,
               bool *last_fraction)
{
    bool fraction = false;

    while (*p != stop && *p != '\0') {
        if (fraction)
            return NULL;
        p = dur_component(p, &units, &fraction);
        if (p == NULL)
            return NULL;
        (*count)++;
    }
    *last_fraction = fraction;
    return p;
}

bool
xapi_is_duration(const char *text)
{
    const char *p;
    int date_count = 0;
    int time_count = 0;
    bool fraction = false;

    if (text == NULL || text[0] != 'P')
        return false;
    p = text + 1;
    if (strchr(p, 'W') != NULL) {
        p = dur_components(p, "W", '\0', &date_count, &fraction);
        return p != NULL && *p == '\0' && date_count == 1;
    }
    p = dur_components(p, "YMD", 'T', &date_count, &fraction);
    if (p == NULL)
        return false;
    if (*p == 'T') {
        if (fraction)
            return false;
        p = dur_components(p + 1, "HMS", '\0', &time_count, &fraction);
        if (p == NULL || time_count == 0)
            return false;
    }
    return *p == '\0' && date_count + time_count > 0;
}
