/*
 * Output formats of GET /statements (Communication 2.1.3, "format").
 *
 * "ids" keeps only what identifies an Agent, Group, Activity or Verb: an
 * Agent or identified Group keeps objectType and its Inverse Functional
 * Identifier, an anonymous Group keeps objectType and its members (each
 * reduced the same way), an Activity keeps its id alone and a Verb its id.
 *
 * "canonical" leaves agents as they are and reduces every language map of
 * Activities and Verbs (and of attachments) to one entry, chosen per map
 * from the request's Accept-Language as RFC 2616 section 14.4 describes.
 * lrsd keeps no canonical Activity definitions of its own, so the
 * definition is the one in the statement.
 *
 * Both only delete properties, so neither can fail for lack of memory.
 */
#include "xapi/canonical.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* Caps on what is read from Accept-Language; a header beyond them is
 * honoured only as far as they reach. */
#define LANG_RANGES_MAX 32
#define LANG_RANGE_LEN 64

int
xapi_format_parse(const char *text, enum xapi_format *out)
{
    if (text == NULL || strcmp(text, "exact") == 0)
        *out = XAPI_FORMAT_EXACT;
    else if (strcmp(text, "ids") == 0)
        *out = XAPI_FORMAT_IDS;
    else if (strcmp(text, "canonical") == 0)
        *out = XAPI_FORMAT_CANONICAL;
    else
        return -1;
    return 0;
}

/* Deletes every property of obj except those named in keep (a NULL
 * terminated list). */
static void
keep_only(json_t *obj, const char *const keep[])
{
    const char *key;
    json_t *value;
    void *tmp;

    json_object_foreach_safe(obj, tmp, key, value) {
        bool kept = false;

        for (size_t i = 0; keep[i] != NULL && !kept; i++)
            kept = strcmp(key, keep[i]) == 0;
        if (!kept)
            json_object_del(obj, key);
    }
}

static const char *
object_type_of(const json_t *object)
{
    const json_t *type = json_object_get(object, "objectType");

    return json_is_string(type) ? json_string_value(type) : "Activity";
}

/* Calls fn on every Activity in a context's contextActivities, whether a
 * list arrived as an array or a single object. */
static void
each_context_activity(json_t *context, void (*fn)(json_t *, const void *),
                      const void *arg)
{
    json_t *lists = json_object_get(context, "contextActivities");
    const char *name;
    json_t *list;
    json_t *activity;
    size_t i;

    json_object_foreach(lists, name, list) {
        if (json_is_object(list))
            fn(list, arg);
        json_array_foreach(list, i, activity) {
            fn(activity, arg);
        }
    }
}

/* ------------------------------------------------------------------------
 * ids
 * ------------------------------------------------------------------------ */

static void
ids_actor(json_t *actor)
{
    static const char *const identified[] = {
        "objectType", "mbox", "mbox_sha1sum", "openid", "account", NULL,
    };
    static const char *const anonymous[] = {"objectType", "member", NULL};
    json_t *member;
    size_t i;

    if (!json_is_object(actor))
        return;
    if (json_object_get(actor, "mbox") != NULL ||
        json_object_get(actor, "mbox_sha1sum") != NULL ||
        json_object_get(actor, "openid") != NULL ||
        json_object_get(actor, "account") != NULL) {
        keep_only(actor, identified);
        return;
    }
    keep_only(actor, anonymous);
    json_array_foreach(json_object_get(actor, "member"), i, member) {
        ids_actor(member);
    }
}

/* An Activity and a Verb are both identified by their id alone. */
static void
ids_by_id(json_t *obj, const void *unused)
{
    static const char *const id_only[] = {"id", NULL};

    (void)unused;
    if (json_is_object(obj))
        keep_only(obj, id_only);
}

static void
ids_context(json_t *context)
{
    json_t *entry;
    size_t i;

    if (!json_is_object(context))
        return;
    ids_actor(json_object_get(context, "instructor"));
    ids_actor(json_object_get(context, "team"));
    each_context_activity(context, ids_by_id, NULL);
    json_array_foreach(json_object_get(context, "contextAgents"), i, entry) {
        ids_actor(json_object_get(entry, "agent"));
    }
    json_array_foreach(json_object_get(context, "contextGroups"), i, entry) {
        ids_actor(json_object_get(entry, "group"));
    }
}

/* A statement or sub-statement. */
static void
ids_statement(json_t *stmt)
{
    json_t *object = json_object_get(stmt, "object");
    const char *type = object_type_of(object);

    ids_actor(json_object_get(stmt, "actor"));
    ids_by_id(json_object_get(stmt, "verb"), NULL);
    if (strcmp(type, "Activity") == 0)
        ids_by_id(object, NULL);
    else if (strcmp(type, "Agent") == 0 || strcmp(type, "Group") == 0)
        ids_actor(object);
    else if (strcmp(type, "SubStatement") == 0)
        ids_statement(object);
    ids_context(json_object_get(stmt, "context"));
    ids_actor(json_object_get(stmt, "authority"));
}

/* ------------------------------------------------------------------------
 * Accept-Language
 * ------------------------------------------------------------------------ */

struct lang_range {
    char tag[LANG_RANGE_LEN]; /* a language range, or "*" */
    int q;                    /* quality, in thousandths */
};

struct lang_prefs {
    struct lang_range ranges[LANG_RANGES_MAX]; /* in header order */
    size_t n;
};

static bool
is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Parses an RFC 2616 qvalue ("0", "0.5", "1.000"). Returns thousandths,
 * or -1 when malformed. */
static int
parse_qvalue(const char *s, size_t len)
{
    int q;
    int scale = 100;

    if (len == 0 || (s[0] != '0' && s[0] != '1'))
        return -1;
    q = (s[0] - '0') * 1000;
    if (len == 1)
        return q;
    if (s[1] != '.' || len > 5)
        return -1;
    for (size_t i = 2; i < len; i++, scale /= 10) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        q += (s[i] - '0') * scale;
    }
    return q <= 1000 ? q : -1;
}

/* True for "*" or alphanumeric subtags joined by hyphens. */
static bool
range_well_formed(const char *s, size_t len)
{
    if (len == 1 && s[0] == '*')
        return true;
    if (len == 0 || len >= LANG_RANGE_LEN || s[0] == '-' || s[len - 1] == '-')
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '-')
            return false;
    }
    return true;
}

/* If param (up to stop) is "q=<value>", with the white space RFC 2616
 * allows around '=', returns the start of the value; otherwise NULL. */
static const char *
q_param_value(const char *param, const char *stop)
{
    if (param == stop || (*param != 'q' && *param != 'Q'))
        return NULL;
    param++;
    while (param < stop && is_ows(*param))
        param++;
    if (param == stop || *param != '=')
        return NULL;
    param++;
    while (param < stop && is_ows(*param))
        param++;
    return param;
}

/* The quality given by the parameters of one element (";q=0.5"): 1000
 * when absent, -1 when malformed. */
static int
element_quality(const char *params, const char *end)
{
    int q = 1000;

    while (params < end) {
        const char *next = memchr(params, ';', (size_t)(end - params));
        const char *stop = next != NULL ? next : end;
        const char *value;

        while (params < stop && is_ows(*params))
            params++;
        value = q_param_value(params, stop);
        if (value != NULL) {
            const char *value_end = stop;

            while (value_end > value && is_ows(value_end[-1]))
                value_end--;
            q = parse_qvalue(value, (size_t)(value_end - value));
            if (q < 0)
                return -1;
        }
        params = next != NULL ? next + 1 : end;
    }
    return q;
}

/* Adds one comma-separated element of the header; malformed ones are
 * skipped, as a header that cannot be understood expresses no preference. */
static void
prefs_add(struct lang_prefs *p, const char *start, const char *end)
{
    const char *semi;
    const char *range_end;
    int q;

    while (start < end && is_ows(*start))
        start++;
    if (start >= end)
        return;
    semi = memchr(start, ';', (size_t)(end - start));
    range_end = semi != NULL ? semi : end;
    while (range_end > start && is_ows(range_end[-1]))
        range_end--;
    if (p->n == LANG_RANGES_MAX ||
        !range_well_formed(start, (size_t)(range_end - start)))
        return;
    q = semi != NULL ? element_quality(semi + 1, end) : 1000;
    if (q < 0)
        return;
    memcpy(p->ranges[p->n].tag, start, (size_t)(range_end - start));
    p->ranges[p->n].tag[range_end - start] = '\0';
    p->ranges[p->n].q = q;
    p->n++;
}

static void
prefs_parse(const char *header, struct lang_prefs *p)
{
    p->n = 0;
    while (header != NULL && *header != '\0') {
        const char *comma = strchr(header, ',');
        const char *end = comma != NULL ? comma : header + strlen(header);

        prefs_add(p, header, end);
        header = comma != NULL ? comma + 1 : NULL;
    }
}

/* How specifically a range matches a tag: its length when it equals the
 * tag or is a prefix of it ending at a hyphen, 0 for "*", -1 otherwise. */
static int
range_match(const char *range, const char *tag)
{
    size_t len = strlen(range);

    if (strcmp(range, "*") == 0)
        return 0;
    if (strncasecmp(range, tag, len) == 0 &&
        (tag[len] == '\0' || tag[len] == '-'))
        return (int)len;
    return -1;
}

/* The quality of a tag: that of the most specific range matching it,
 * -1 when none does. *index receives that range's position. */
static int
tag_quality(const struct lang_prefs *p, const char *tag, size_t *index)
{
    int best = -1;
    int q = -1;

    for (size_t i = 0; i < p->n; i++) {
        int specificity = range_match(p->ranges[i].tag, tag);

        if (specificity > best) {
            best = specificity;
            q = p->ranges[i].q;
            *index = i;
        }
    }
    return q;
}

/* The acceptable entry with the highest quality; between equals, the one
 * whose range comes first in the header, then the first in the map. */
static const char *
choose_acceptable(json_t *map, const struct lang_prefs *p)
{
    const char *best = NULL;
    int best_q = 0;
    size_t best_index = 0;
    const char *key;
    json_t *value;

    json_object_foreach(map, key, value) {
        size_t index = 0;
        int q = tag_quality(p, key, &index);

        if (q > best_q || (q == best_q && q > 0 && index < best_index)) {
            best = key;
            best_q = q;
            best_index = index;
        }
    }
    return best;
}

/* A key of map equal to tag without case and not refused with q=0. */
static const char *
find_tag(json_t *map, const struct lang_prefs *p, const char *tag)
{
    const char *key;
    json_t *value;
    size_t index;

    json_object_foreach(map, key, value) {
        if (strcasecmp(key, tag) == 0 && tag_quality(p, key, &index) != 0)
            return key;
    }
    return NULL;
}

/* Writes the positions of the ranges into order, by descending quality
 * and, between equals, in header order. */
static void
ranges_by_quality(const struct lang_prefs *p, size_t order[LANG_RANGES_MAX])
{
    for (size_t i = 0; i < p->n; i++) {
        size_t j = i;

        for (; j > 0 && p->ranges[order[j - 1]].q < p->ranges[i].q; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
}

/* RFC 4647 lookup as a fallback: "en-GB" accepts "en" when no entry
 * matched outright. Ranges are tried by quality, then header order. */
static const char *
choose_by_truncation(json_t *map, const struct lang_prefs *p)
{
    size_t order[LANG_RANGES_MAX];

    ranges_by_quality(p, order);
    for (size_t i = 0; i < p->n; i++) {
        const struct lang_range *range = &p->ranges[order[i]];
        char tag[LANG_RANGE_LEN];
        char *hyphen;

        if (range->q == 0 || strcmp(range->tag, "*") == 0)
            continue;
        memcpy(tag, range->tag, sizeof(tag));
        for (hyphen = strrchr(tag, '-'); hyphen != NULL;
             hyphen = strrchr(tag, '-')) {
            const char *key;

            *hyphen = '\0';
            key = find_tag(map, p, tag);
            if (key != NULL)
                return key;
        }
    }
    return NULL;
}

/* The entry to keep when no preference decides: "und" (undetermined),
 * else the first entry not refused, else the first entry, since the
 * specification wants exactly one language returned. */
static const char *
choose_default(json_t *map, const struct lang_prefs *p)
{
    const char *key = find_tag(map, p, "und");
    json_t *value;
    size_t index;

    if (key != NULL)
        return key;
    json_object_foreach(map, key, value) {
        if (tag_quality(p, key, &index) != 0)
            return key;
    }
    return json_object_iter_key(json_object_iter(map));
}

static void
canonical_map(json_t *map, const struct lang_prefs *p)
{
    const char *chosen;
    const char *key;
    json_t *value;
    void *tmp;

    if (!json_is_object(map) || json_object_size(map) < 2)
        return;
    chosen = choose_acceptable(map, p);
    if (chosen == NULL)
        chosen = choose_by_truncation(map, p);
    if (chosen == NULL)
        chosen = choose_default(map, p);
    /* chosen points into the map, and stays valid: only the other
     * entries are deleted. */
    json_object_foreach_safe(map, tmp, key, value) {
        if (strcmp(key, chosen) != 0)
            json_object_del(map, key);
    }
}

/* ------------------------------------------------------------------------
 * canonical
 * ------------------------------------------------------------------------ */

static void
canonical_activity(json_t *activity, const void *arg)
{
    static const char *const components[] = {
        "choices", "scale", "source", "target", "steps",
    };
    const struct lang_prefs *p = arg;
    json_t *definition = json_object_get(activity, "definition");
    json_t *component;
    size_t i;

    canonical_map(json_object_get(definition, "name"), p);
    canonical_map(json_object_get(definition, "description"), p);
    for (size_t c = 0; c < sizeof(components) / sizeof(components[0]); c++) {
        json_array_foreach(json_object_get(definition, components[c]), i,
                           component) {
            canonical_map(json_object_get(component, "description"), p);
        }
    }
}

static void
canonical_attachments(json_t *attachments, const struct lang_prefs *p)
{
    json_t *attachment;
    size_t i;

    json_array_foreach(attachments, i, attachment) {
        canonical_map(json_object_get(attachment, "display"), p);
        canonical_map(json_object_get(attachment, "description"), p);
    }
}

/* A statement or sub-statement. */
static void
canonical_statement(json_t *stmt, const struct lang_prefs *p)
{
    json_t *object = json_object_get(stmt, "object");
    const char *type = object_type_of(object);

    canonical_map(json_object_get(json_object_get(stmt, "verb"), "display"),
                  p);
    if (strcmp(type, "Activity") == 0)
        canonical_activity(object, p);
    else if (strcmp(type, "SubStatement") == 0)
        canonical_statement(object, p);
    each_context_activity(json_object_get(stmt, "context"),
                          canonical_activity, p);
    canonical_attachments(json_object_get(stmt, "attachments"), p);
}

int
xapi_format_apply(json_t *stmt, enum xapi_format format,
                  const char *accept_language)
{
    struct lang_prefs prefs;

    if (!json_is_object(stmt))
        return 0;
    if (format == XAPI_FORMAT_IDS) {
        ids_statement(stmt);
    } else if (format == XAPI_FORMAT_CANONICAL) {
        prefs_parse(accept_language, &prefs);
        canonical_statement(stmt, &prefs);
    }
    return 0;
}
