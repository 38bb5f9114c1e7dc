/*
 * Statement comparison.
 *
 * The specification (Data 2.3.1, "Statement Comparison Requirements") says
 * that differences which could have been caused by the exceptions to
 * statement immutability MUST be ignored and that any other difference,
 * including a different serialisation, MUST NOT be. The exceptions, and
 * what each means here:
 *
 * - "id", "authority", "stored", "timestamp", "version" may be assigned by
 *   the LRS: authority, stored and version are ignored (the LRS overwrites
 *   authority and stored, and fills in version, so a stored statement's
 *   version may be the LRS's); id and timestamp are compared only when both
 *   sides carry them.
 * - Activity definitions and a Verb's display are not part of the
 *   statement: ignored wherever an Activity or Verb appears.
 * - Timestamps may be serialised in another time zone: compared as instants.
 * - The members of a Group form an unordered list: compared as multisets.
 * - Attachments are not part of statements: ignored (signed statements are
 *   signed without them).
 * - Case insensitive values: UUIDs (ids, registration, statement
 *   references), the context language tag, mbox_sha1sum, and the mailto
 *   scheme and e-mail domain compare without case.
 * - contextActivities arriving as a single object are returned as a
 *   one-element array by the LRS, so the two forms are equal.
 *
 * Result durations are strings (Data 2.3.1 says so explicitly: "PT1H" is
 * not "PT60M"), except that digits beyond 0.01 second are not compared, as
 * Data 4.6 asks ("any precision beyond 0.01 second precision SHOULD* NOT
 * be included in the comparison").
 *
 * Everything else compares exactly; JSON numbers compare by value. Nothing
 * here allocates, so the answer is always a real comparison.
 */
#include "xapi/compare.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "xapi/formats.h"

typedef bool (*equal_fn)(const json_t *a, const json_t *b);

/* How one property of an object compares. */
struct field_rule {
    const char *name;
    equal_fn equal; /* NULL: the property is ignored */
    bool optional;  /* present on one side only: no difference */
};

static bool values_equal(const json_t *a, const json_t *b);

/* ------------------------------------------------------------------------
 * Generic values
 * ------------------------------------------------------------------------ */

static bool
objects_plain_equal(const json_t *a, const json_t *b)
{
    const char *key;
    json_t *value;

    if (json_object_size(a) != json_object_size(b))
        return false;
    json_object_foreach((json_t *)a, key, value) {
        if (!values_equal(value, json_object_get(b, key)))
            return false;
    }
    return true;
}

static bool
arrays_equal_with(const json_t *a, const json_t *b, equal_fn equal)
{
    size_t n = json_array_size(a);

    if (!json_is_array(a) || !json_is_array(b) || n != json_array_size(b))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!equal(json_array_get(a, i), json_array_get(b, i)))
            return false;
    }
    return true;
}

/* Exact JSON equality, except that 1 and 1.0 are the same number. */
static bool
values_equal(const json_t *a, const json_t *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b))
            return json_integer_value(a) == json_integer_value(b);
        return json_number_value(a) == json_number_value(b);
    }
    if (json_typeof(a) != json_typeof(b))
        return false;
    switch (json_typeof(a)) {
    case JSON_OBJECT:
        return objects_plain_equal(a, b);
    case JSON_ARRAY:
        return arrays_equal_with(a, b, values_equal);
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b),
                      json_string_length(a)) == 0;
    default:
        return true; /* true, false, null: the type is the value */
    }
}

/* ------------------------------------------------------------------------
 * Objects under rules
 * ------------------------------------------------------------------------ */

static const struct field_rule *
rule_for(const struct field_rule *rules, const char *name)
{
    for (; rules->name != NULL; rules++) {
        if (strcmp(rules->name, name) == 0)
            return rules;
    }
    return NULL;
}

/* Walks the properties of a: each one the rules do not ignore must also be
 * in b, unless its rule makes it optional, and when compare is set must
 * equal b's, by its rule or else by values_equal. */
static bool
fields_match(const json_t *a, const json_t *b,
             const struct field_rule *rules, bool compare)
{
    const char *key;
    json_t *value;

    json_object_foreach((json_t *)a, key, value) {
        const struct field_rule *rule = rule_for(rules, key);
        const json_t *other = json_object_get(b, key);

        if (rule != NULL && rule->equal == NULL)
            continue;
        if (other == NULL) {
            if (rule != NULL && rule->optional)
                continue;
            return false;
        }
        if (!compare)
            continue;
        if (!(rule != NULL ? rule->equal(value, other)
                           : values_equal(value, other)))
            return false;
    }
    return true;
}

static bool
objects_equal_by(const json_t *a, const json_t *b,
                 const struct field_rule *rules)
{
    if (!json_is_object(a) || !json_is_object(b))
        return values_equal(a, b);
    /* The second walk only finds properties b has and a lacks: the pairs
     * present on both sides were compared by the first. */
    return fields_match(a, b, rules, true) && fields_match(b, a, rules, false);
}

/* ------------------------------------------------------------------------
 * Case-insensitive and typed values
 * ------------------------------------------------------------------------ */

static bool
strings_equal_nocase(const json_t *a, const json_t *b)
{
    if (!json_is_string(a) || !json_is_string(b))
        return values_equal(a, b);
    return json_string_length(a) == json_string_length(b) &&
           strcasecmp(json_string_value(a), json_string_value(b)) == 0;
}

/* mailto:local@domain: the scheme and the domain without case, the local
 * part exactly. */
static bool
mboxes_equal(const json_t *a, const json_t *b)
{
    const char *sa = json_string_value(a);
    const char *sb = json_string_value(b);
    const char *at_a;
    const char *at_b;
    const char *colon_a;
    size_t scheme;

    if (sa == NULL || sb == NULL)
        return values_equal(a, b);
    at_a = strrchr(sa, '@');
    at_b = strrchr(sb, '@');
    colon_a = strchr(sa, ':');
    if (at_a == NULL || at_b == NULL || colon_a == NULL ||
        at_a - sa != at_b - sb || colon_a > at_a)
        return strcmp(sa, sb) == 0;
    scheme = (size_t)(colon_a - sa) + 1;
    return strncasecmp(sa, sb, scheme) == 0 &&
           strncmp(sa + scheme, sb + scheme, (size_t)(at_a - sa) - scheme)
               == 0 &&
           strcasecmp(at_a, at_b) == 0;
}

/* Timestamps are instants: the same moment in another zone is equal. */
static bool
timestamps_equal(const json_t *a, const json_t *b)
{
    int64_t ua;
    int64_t ub;

    if (!json_is_string(a) || !json_is_string(b))
        return values_equal(a, b);
    if (xapi_timestamp_parse(json_string_value(a), false, &ua) != 0 ||
        xapi_timestamp_parse(json_string_value(b), false, &ub) != 0)
        return values_equal(a, b);
    return ua == ub;
}

/* A duration read with the fraction digits beyond the second one cut out:
 * the text is head followed by tail. */
struct duration_text {
    const char *head;
    size_t head_len;
    const char *tail;
    size_t len; /* head_len + strlen(tail) */
};

static void
duration_split(const char *text, struct duration_text *d)
{
    const char *dot = strchr(text, '.');
    size_t digits = dot != NULL ? strspn(dot + 1, "0123456789") : 0;

    d->head = text;
    d->head_len = strlen(text);
    d->tail = "";
    if (digits > 2) {
        d->head_len = (size_t)(dot - text) + 3;
        d->tail = dot + 1 + digits;
    }
    d->len = d->head_len + strlen(d->tail);
}

static char
duration_at(const struct duration_text *d, size_t i)
{
    return i < d->head_len ? d->head[i] : d->tail[i - d->head_len];
}

static bool
durations_equal(const json_t *a, const json_t *b)
{
    struct duration_text da;
    struct duration_text db;

    if (!json_is_string(a) || !json_is_string(b))
        return values_equal(a, b);
    duration_split(json_string_value(a), &da);
    duration_split(json_string_value(b), &db);
    if (da.len != db.len)
        return false;
    for (size_t i = 0; i < da.len; i++) {
        if (duration_at(&da, i) != duration_at(&db, i))
            return false;
    }
    return true;
}

static const struct field_rule result_rules[] = {
    {"duration", durations_equal, false},
    {NULL, NULL, false},
};

static bool
results_equal(const json_t *a, const json_t *b)
{
    return objects_equal_by(a, b, result_rules);
}

/* ------------------------------------------------------------------------
 * Agents and Groups
 * ------------------------------------------------------------------------ */

static bool actors_equal(const json_t *a, const json_t *b);

static size_t
count_equal_actors(const json_t *list, const json_t *actor)
{
    size_t count = 0;
    size_t i;
    const json_t *item;

    json_array_foreach(list, i, item) {
        if (actors_equal(item, actor))
            count++;
    }
    return count;
}

/* Group members in any order: every member occurs as often on both sides.
 * Quadratic, but member lists are short and bounded by the body limit, and
 * it needs no memory. The common case, the same order, is linear. */
static bool
members_equal(const json_t *a, const json_t *b)
{
    size_t i;
    const json_t *item;

    if (!json_is_array(a) || !json_is_array(b))
        return values_equal(a, b);
    if (json_array_size(a) != json_array_size(b))
        return false;
    if (arrays_equal_with(a, b, actors_equal))
        return true;
    json_array_foreach(a, i, item) {
        if (count_equal_actors(a, item) != count_equal_actors(b, item))
            return false;
    }
    return true;
}

static const struct field_rule actor_rules[] = {
    {"mbox", mboxes_equal, false},
    {"mbox_sha1sum", strings_equal_nocase, false},
    {"member", members_equal, false},
    {NULL, NULL, false},
};

static bool
actors_equal(const json_t *a, const json_t *b)
{
    return objects_equal_by(a, b, actor_rules);
}

/* ------------------------------------------------------------------------
 * Verbs, activities, statement references
 * ------------------------------------------------------------------------ */

static const struct field_rule verb_rules[] = {
    {"display", NULL, false},
    {NULL, NULL, false},
};

static bool
verbs_equal(const json_t *a, const json_t *b)
{
    return objects_equal_by(a, b, verb_rules);
}

static const struct field_rule activity_rules[] = {
    {"definition", NULL, false},
    {NULL, NULL, false},
};

static bool
activities_equal(const json_t *a, const json_t *b)
{
    return objects_equal_by(a, b, activity_rules);
}

static const struct field_rule statement_ref_rules[] = {
    {"id", strings_equal_nocase, false},
    {NULL, NULL, false},
};

static bool
statement_refs_equal(const json_t *a, const json_t *b)
{
    return objects_equal_by(a, b, statement_ref_rules);
}

/* ------------------------------------------------------------------------
 * Context
 * ------------------------------------------------------------------------ */

/* A contextActivities value as a list: an object counts as a one-element
 * array. */
static size_t
list_size(const json_t *value)
{
    return json_is_object(value) ? 1 : json_array_size(value);
}

static const json_t *
list_get(const json_t *value, size_t i)
{
    return json_is_object(value) ? value : json_array_get(value, i);
}

static bool
activity_lists_equal(const json_t *a, const json_t *b)
{
    size_t n = list_size(a);

    if ((!json_is_object(a) && !json_is_array(a)) ||
        (!json_is_object(b) && !json_is_array(b)))
        return values_equal(a, b);
    if (n != list_size(b))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!activities_equal(list_get(a, i), list_get(b, i)))
            return false;
    }
    return true;
}

/* Compares every value of two objects with one function. */
static bool
objects_equal_each(const json_t *a, const json_t *b, equal_fn equal)
{
    const char *key;
    json_t *value;

    if (!json_is_object(a) || !json_is_object(b))
        return values_equal(a, b);
    if (json_object_size(a) != json_object_size(b))
        return false;
    json_object_foreach((json_t *)a, key, value) {
        const json_t *other = json_object_get(b, key);

        if (other == NULL || !equal(value, other))
            return false;
    }
    return true;
}

static bool
context_activities_equal(const json_t *a, const json_t *b)
{
    return objects_equal_each(a, b, activity_lists_equal);
}

static const struct field_rule context_agent_rules[] = {
    {"agent", actors_equal, false},
    {"group", actors_equal, false},
    {NULL, NULL, false},
};

static bool
context_agent_equal(const json_t *a, const json_t *b)
{
    return objects_equal_by(a, b, context_agent_rules);
}

static bool
context_agent_lists_equal(const json_t *a, const json_t *b)
{
    return arrays_equal_with(a, b, context_agent_equal);
}

static const struct field_rule context_rules[] = {
    {"registration", strings_equal_nocase, false},
    {"instructor", actors_equal, false},
    {"team", actors_equal, false},
    {"contextActivities", context_activities_equal, false},
    {"contextAgents", context_agent_lists_equal, false},
    {"contextGroups", context_agent_lists_equal, false},
    {"statement", statement_refs_equal, false},
    {"language", strings_equal_nocase, false},
    {NULL, NULL, false},
};

static bool
contexts_equal(const json_t *a, const json_t *b)
{
    return objects_equal_by(a, b, context_rules);
}

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------ */

static bool statement_objects_equal(const json_t *a, const json_t *b);

/* A SubStatement: the LRS assigns none of its properties, so its
 * timestamp, when present on one side only, is a difference. */
static const struct field_rule substatement_rules[] = {
    {"actor", actors_equal, false},
    {"verb", verbs_equal, false},
    {"object", statement_objects_equal, false},
    {"context", contexts_equal, false},
    {"result", results_equal, false},
    {"timestamp", timestamps_equal, false},
    {"attachments", NULL, false},
    {NULL, NULL, false},
};

static bool
statement_objects_equal(const json_t *a, const json_t *b)
{
    const char *type = json_string_value(json_object_get(a, "objectType"));

    if (type == NULL || strcmp(type, "Activity") == 0)
        return activities_equal(a, b);
    if (strcmp(type, "Agent") == 0 || strcmp(type, "Group") == 0)
        return actors_equal(a, b);
    if (strcmp(type, "StatementRef") == 0)
        return statement_refs_equal(a, b);
    if (strcmp(type, "SubStatement") == 0)
        return objects_equal_by(a, b, substatement_rules);
    return values_equal(a, b);
}

static const struct field_rule statement_rules[] = {
    {"id", strings_equal_nocase, true},
    {"authority", NULL, false},
    {"stored", NULL, false},
    {"version", NULL, false},
    {"attachments", NULL, false},
    {"timestamp", timestamps_equal, true},
    {"actor", actors_equal, false},
    {"verb", verbs_equal, false},
    {"object", statement_objects_equal, false},
    {"context", contexts_equal, false},
    {"result", results_equal, false},
    {NULL, NULL, false},
};

bool
xapi_statements_equal(const json_t *a, const json_t *b)
{
    if (!json_is_object(a) || !json_is_object(b))
        return false;
    return objects_equal_by(a, b, statement_rules);
}
