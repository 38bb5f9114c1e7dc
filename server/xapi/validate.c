/*
 * Validation of xAPI statements, for xAPI 1.0.3 and xAPI 2.0.
 *
 * Each kind of object (Statement, Agent, Group, Verb, Activity, Result,
 * Context, ...) has a table of the properties it allows. A generic walker
 * refuses properties the table does not know and JSON nulls, checks that
 * the required ones are present, and calls the per-property check; the
 * rules that tie properties together (one IFI per Agent, components that
 * need a matching interactionType, min <= raw <= max, ...) run after it.
 *
 * The path of the value being checked is kept in one buffer inside the
 * walker's state: each step appends ".key" or "[i]" and truncates it back
 * when it returns, so that an error names exactly where it was found.
 * SubStatements cannot nest, so the recursion depth is bounded by the data
 * model; extension values are never descended into.
 */
#include "xapi/validate.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "xapi/formats.h"

#define PATH_CAP    320
#define VOIDED_VERB "http://adlnet.gov/expapi/verbs/voided"

/* The walker's state for one validation call. */
struct vctx {
    enum xapi_version v;     /* rules of the request's version */
    struct lrs_error *err;   /* filled on rejection; may be NULL */
    bool in_substatement;    /* inside a SubStatement (no nesting) */
    bool object_is_activity; /* the current statement's object */
    size_t len;              /* bytes used in path */
    char path[PATH_CAP];     /* "statement.context.team.member[0]" */
};

typedef int (*check_fn)(struct vctx *c, const json_t *value);

enum { PROP_REQUIRED = 1, PROP_V2 = 2 };

/* One allowed property: either a check, or the one string value it may
 * take (objectType). */
struct prop {
    const char *name;
    check_fn check;      /* NULL when literal is set */
    unsigned flags;      /* PROP_* */
    const char *literal; /* the only value allowed, or NULL */
};

#define NPROPS(table) (sizeof(table) / sizeof((table)[0]))

/* ---- paths and errors --------------------------------------------------- */

static size_t path_append(struct vctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends to the path (truncating when full) and returns the previous
 * length, to be handed back to path_pop. */
static size_t
path_append(struct vctx *c, const char *fmt, ...)
{
    size_t old = c->len;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(c->path + c->len, PATH_CAP - c->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        c->len +=
            (size_t)n < PATH_CAP - c->len ? (size_t)n : PATH_CAP - 1 - c->len;
    return old;
}

/* Appends n bytes to the path (truncating when full) and returns the
 * previous length. The walker extends the path at every property, so
 * this is the path's hot case and takes no format string. */
static size_t
path_put(struct vctx *c, const char *bytes, size_t n)
{
    size_t old = c->len;
    size_t room = PATH_CAP - 1 - c->len;

    if (n > room)
        n = room;
    memcpy(c->path + c->len, bytes, n);
    c->len += n;
    c->path[c->len] = '\0';
    return old;
}

static size_t
path_key(struct vctx *c, const char *key)
{
    size_t old = path_put(c, ".", 1);

    path_put(c, key, strlen(key));
    return old;
}

static size_t
path_index(struct vctx *c, size_t i)
{
    char digits[24];
    size_t n = sizeof(digits);

    digits[--n] = ']';
    do {
        digits[--n] = (char)('0' + i % 10);
        i /= 10;
    } while (i > 0);
    digits[--n] = '[';
    return path_put(c, digits + n, sizeof(digits) - n);
}

static void
path_pop(struct vctx *c, size_t old)
{
    c->len = old;
    c->path[old] = '\0';
}

static int fail(struct vctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Fills the error as "<path>: <rule>" with status 400; returns -1. */
static int
fail(struct vctx *c, const char *fmt, ...)
{
    char rule[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(rule, sizeof(rule), fmt, ap);
    va_end(ap);
    return lrs_error_set(c->err, 400, "%s: %s", c->path, rule);
}

/* Fails with the rule at path.key, for a rule about a member that may be
 * missing (so there is no value to hand to a check). */
static int
fail_at(struct vctx *c, const char *key, const char *rule)
{
    path_key(c, key);
    return fail(c, "%s", rule);
}

static void
vctx_init(struct vctx *c, enum xapi_version v, const char *path,
          struct lrs_error *err)
{
    c->v = v;
    c->err = err;
    c->in_substatement = false;
    c->object_is_activity = false;
    c->len = 0;
    c->path[0] = '\0';
    path_append(c, "%s", path != NULL ? path : "");
}

/* ---- the property walker ------------------------------------------------ */

static int
expect_string(struct vctx *c, const json_t *v, const char *expected)
{
    const char *text = json_string_value(v);

    if (text == NULL || strcmp(text, expected) != 0)
        return fail(c, "must be \"%s\"", expected);
    return 0;
}

static const struct prop *
prop_find(const struct prop *props, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(props[i].name, key) == 0)
            return &props[i];
    }
    return NULL;
}

/* Refuses keys the table does not allow in this version, and nulls. */
static int
props_known(struct vctx *c, const json_t *obj, const struct prop *props,
            size_t n)
{
    const char *key;
    json_t *value;

    json_object_foreach ((json_t *)obj, key, value) {
        const struct prop *p = prop_find(props, n, key);

        if (p == NULL)
            return fail_at(c, key, "unknown property");
        if ((p->flags & PROP_V2) && c->v != XAPI_V2_0)
            return fail_at(c, key, "not allowed before xAPI 2.0");
        if (json_is_null(value))
            return fail_at(c, key, "must not be null");
    }
    return 0;
}

static int
check_prop_value(struct vctx *c, const struct prop *p, const json_t *value)
{
    if (p->literal != NULL)
        return expect_string(c, value, p->literal);
    return p->check(c, value);
}

/* Checks obj against a property table: an object, no unknown properties,
 * no nulls, required ones present, each present one valid. */
static int
check_props(struct vctx *c, const json_t *obj, const struct prop *props,
            size_t n)
{
    if (!json_is_object(obj))
        return fail(c, "must be an object");
    if (props_known(c, obj, props, n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const json_t *value = json_object_get(obj, props[i].name);
        size_t old;

        if (value == NULL) {
            if (props[i].flags & PROP_REQUIRED)
                return fail_at(c, props[i].name, "is required");
            continue;
        }
        old = path_key(c, props[i].name);
        if (check_prop_value(c, &props[i], value) != 0)
            return -1;
        path_pop(c, old);
    }
    return 0;
}

/* Runs check on every element of an array. */
static int
check_each(struct vctx *c, const json_t *array, check_fn check)
{
    size_t i;
    json_t *item;

    if (!json_is_array(array))
        return fail(c, "must be an array");
    json_array_foreach ((json_t *)array, i, item) {
        size_t old = path_index(c, i);

        if (check(c, item) != 0)
            return -1;
        path_pop(c, old);
    }
    return 0;
}

/* ---- scalar values ------------------------------------------------------ */

static int
check_string(struct vctx *c, const json_t *v)
{
    return json_is_string(v) ? 0 : fail(c, "must be a string");
}

static int
check_boolean(struct vctx *c, const json_t *v)
{
    return json_is_boolean(v) ? 0 : fail(c, "must be a boolean");
}

static int
check_number(struct vctx *c, const json_t *v)
{
    return json_is_number(v) ? 0 : fail(c, "must be a number");
}

static int
check_uuid(struct vctx *c, const json_t *v)
{
    if (!xapi_is_uuid(json_string_value(v)))
        return fail(c, "must be a UUID");
    return 0;
}

static int
check_iri(struct vctx *c, const json_t *v)
{
    if (!xapi_is_iri(json_string_value(v)))
        return fail(c, "must be an absolute IRI");
    return 0;
}

static int
check_mbox(struct vctx *c, const json_t *v)
{
    if (!xapi_is_mailto(json_string_value(v)))
        return fail(c, "must be a mailto IRI");
    return 0;
}

static int
check_sha1(struct vctx *c, const json_t *v)
{
    if (!xapi_is_sha1_hex(json_string_value(v)))
        return fail(c, "must be a hex-encoded SHA-1 digest");
    return 0;
}

static int
check_language_tag(struct vctx *c, const json_t *v)
{
    if (!xapi_is_language_tag(json_string_value(v)))
        return fail(c, "must be an RFC 5646 language tag");
    return 0;
}

static int
check_duration(struct vctx *c, const json_t *v)
{
    if (!xapi_is_duration(json_string_value(v)))
        return fail(c, "must be an ISO 8601 duration");
    return 0;
}

static int
check_timestamp(struct vctx *c, const json_t *v)
{
    const char *text = json_string_value(v);
    bool v2 = (c->v == XAPI_V2_0);
    int64_t us;

    if (xapi_timestamp_parse(text, v2, &us) == 0)
        return 0;
    if (v2 && xapi_timestamp_parse(text, false, &us) == 0)
        return fail(c, "must include a time zone offset in xAPI 2.0");
    return fail(c, "must be an ISO 8601 timestamp");
}

/* "MAJOR.MINOR" or "MAJOR.MINOR.PATCH" with a numeric patch. */
static bool
version_matches(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);

    if (strncmp(text, prefix, n) != 0)
        return false;
    text += n;
    if (*text == '\0')
        return true;
    if (*text++ != '.' || *text == '\0')
        return false;
    return strspn(text, "0123456789") == strlen(text);
}

static int
check_version(struct vctx *c, const json_t *v)
{
    const char *text = json_string_value(v);

    if (text == NULL)
        return fail(c, "must be a string");
    if (version_matches(text, "1.0"))
        return 0;
    if (c->v == XAPI_V2_0 && version_matches(text, "2.0"))
        return 0;
    if (c->v == XAPI_V2_0)
        return fail(c, "must be 1.0.x or 2.0.x");
    return fail(c, "must start with 1.0");
}

/* ---- language maps and extensions --------------------------------------- */

static int
check_language_map(struct vctx *c, const json_t *v)
{
    const char *key;
    json_t *value;

    if (!json_is_object(v))
        return fail(c, "must be a language map (an object)");
    json_object_foreach ((json_t *)v, key, value) {
        if (!xapi_is_language_tag(key))
            return fail(c, "key \"%s\" is not an RFC 5646 language tag", key);
        if (!json_is_string(value))
            return fail_at(c, key, "must be a string");
    }
    return 0;
}

/* Extension values may be any JSON value, null included (the spec forbids
 * rejecting a statement over them); only the keys are checked. */
static int
check_extensions(struct vctx *c, const json_t *v)
{
    const char *key;
    json_t *value;

    if (!json_is_object(v))
        return fail(c, "must be an object");
    json_object_foreach ((json_t *)v, key, value) {
        if (!xapi_is_iri(key))
            return fail(c, "key \"%s\" is not an absolute IRI", key);
    }
    return 0;
}

static int
check_iri_array(struct vctx *c, const json_t *v)
{
    return check_each(c, v, check_iri);
}

static int
check_string_array(struct vctx *c, const json_t *v)
{
    return check_each(c, v, check_string);
}

/* ---- Agents and Groups -------------------------------------------------- */

static const char *const ifi_names[] = {
    "mbox",
    "mbox_sha1sum",
    "openid",
    "account",
};

/* Counts the inverse functional identifiers present; *first and *second
 * receive the names of the first two found. */
static int
ifi_count(const json_t *obj, const char **first, const char **second)
{
    int n = 0;

    for (size_t i = 0; i < NPROPS(ifi_names); i++) {
        if (json_object_get(obj, ifi_names[i]) == NULL)
            continue;
        if (n == 0)
            *first = ifi_names[i];
        else if (n == 1)
            *second = ifi_names[i];
        n++;
    }
    return n;
}

static int
check_single_ifi(struct vctx *c, const json_t *obj, bool required)
{
    const char *first = NULL;
    const char *second = NULL;
    int n = ifi_count(obj, &first, &second);

    if (n > 1)
        return fail(c,
                    "must have only one inverse functional identifier "
                    "(found %s and %s)",
                    first, second);
    if (n == 0 && required)
        return fail(c, "an Agent needs one of mbox, mbox_sha1sum, openid "
                       "or account");
    return 0;
}

static const struct prop account_props[] = {
    {"homePage", check_iri, PROP_REQUIRED, NULL},
    {"name", check_string, PROP_REQUIRED, NULL},
};

static int
check_account(struct vctx *c, const json_t *v)
{
    return check_props(c, v, account_props, NPROPS(account_props));
}

static const struct prop agent_props[] = {
    {"objectType", NULL, 0, "Agent"}, {"name", check_string, 0, NULL},
    {"mbox", check_mbox, 0, NULL},    {"mbox_sha1sum", check_sha1, 0, NULL},
    {"openid", check_iri, 0, NULL},   {"account", check_account, 0, NULL},
};

/* An Agent: objectType absent or "Agent", exactly one IFI. */
static int
check_agent(struct vctx *c, const json_t *v)
{
    if (check_props(c, v, agent_props, NPROPS(agent_props)) != 0)
        return -1;
    return check_single_ifi(c, v, true);
}

/* A Group's member: an Agent; Groups cannot be members. */
static int
check_member(struct vctx *c, const json_t *v)
{
    const char *type = json_string_value(json_object_get(v, "objectType"));

    if (type != NULL && strcmp(type, "Group") == 0)
        return fail_at(c, "objectType", "a Group member must be an Agent");
    return check_agent(c, v);
}

static int
check_members(struct vctx *c, const json_t *v)
{
    return check_each(c, v, check_member);
}

static const struct prop group_props[] = {
    {"objectType", NULL, PROP_REQUIRED, "Group"},
    {"name", check_string, 0, NULL},
    {"member", check_members, 0, NULL},
    {"mbox", check_mbox, 0, NULL},
    {"mbox_sha1sum", check_sha1, 0, NULL},
    {"openid", check_iri, 0, NULL},
    {"account", check_account, 0, NULL},
};

/* A Group: identified by at most one IFI; an anonymous one lists its
 * members. */
static int
check_group(struct vctx *c, const json_t *v)
{
    const char *first = NULL;
    const char *second = NULL;
    const json_t *member;

    if (check_props(c, v, group_props, NPROPS(group_props)) != 0)
        return -1;
    if (check_single_ifi(c, v, false) != 0)
        return -1;
    if (ifi_count(v, &first, &second) > 0)
        return 0;
    member = json_object_get(v, "member");
    if (member == NULL)
        return fail_at(c, "member", "is required for an anonymous Group");
    if (json_array_size(member) == 0)
        return fail_at(c, "member",
                       "an anonymous Group must list at least one Agent");
    return 0;
}

/* An Agent or a Group, told apart by objectType. */
static int
check_actor(struct vctx *c, const json_t *v)
{
    const json_t *type_value;
    const char *type;

    if (!json_is_object(v))
        return fail(c, "must be an object");
    type_value = json_object_get(v, "objectType");
    type = json_string_value(type_value);
    if (type_value == NULL || (type != NULL && strcmp(type, "Agent") == 0))
        return check_agent(c, v);
    if (type != NULL && strcmp(type, "Group") == 0)
        return check_group(c, v);
    return fail_at(c, "objectType", "must be \"Agent\" or \"Group\"");
}

/* context.team and contextGroups[].group: a Group, objectType required. */
static int
check_group_only(struct vctx *c, const json_t *v)
{
    if (!json_is_object(v))
        return fail(c, "must be an object");
    if (!json_is_string(json_object_get(v, "objectType")))
        return fail_at(c, "objectType", "must be \"Group\"");
    return check_group(c, v);
}

/* The authority: an Agent, or for three-legged OAuth an anonymous Group
 * of exactly two Agents (the application and the user). */
static int
check_authority(struct vctx *c, const json_t *v)
{
    const char *first = NULL;
    const char *second = NULL;
    const char *type;

    if (check_actor(c, v) != 0)
        return -1;
    type = json_string_value(json_object_get(v, "objectType"));
    if (type == NULL || strcmp(type, "Group") != 0)
        return 0;
    if (ifi_count(v, &first, &second) > 0)
        return fail_at(c, first, "a Group authority must be anonymous");
    if (json_array_size(json_object_get(v, "member")) != 2)
        return fail_at(c, "member",
                       "a Group authority must have exactly "
                       "two Agents");
    return 0;
}

/* ---- Verb --------------------------------------------------------------- */

static const struct prop verb_props[] = {
    {"id", check_iri, PROP_REQUIRED, NULL},
    {"display", check_language_map, 0, NULL},
};

static int
check_verb(struct vctx *c, const json_t *v)
{
    return check_props(c, v, verb_props, NPROPS(verb_props));
}

/* ---- Activities --------------------------------------------------------- */

static const char *const interaction_types[] = {
    "true-false",  "choice",     "fill-in", "long-fill-in", "matching",
    "performance", "sequencing", "likert",  "numeric",      "other",
};

/* Which interactionType values allow each interaction component list. */
static const struct {
    const char *list;
    const char *types[2];
} component_lists[] = {
    {"choices", {"choice", "sequencing"}}, {"scale", {"likert", NULL}},
    {"source", {"matching", NULL}},        {"target", {"matching", NULL}},
    {"steps", {"performance", NULL}},
};

static int
check_interaction_type(struct vctx *c, const json_t *v)
{
    const char *text = json_string_value(v);

    for (size_t i = 0; text != NULL && i < NPROPS(interaction_types); i++) {
        if (strcmp(text, interaction_types[i]) == 0)
            return 0;
    }
    return fail(c, "must be one of true-false, choice, fill-in, "
                   "long-fill-in, matching, performance, sequencing, "
                   "likert, numeric, other");
}

static const struct prop component_props[] = {
    {"id", check_string, PROP_REQUIRED, NULL},
    {"description", check_language_map, 0, NULL},
};

static int
check_component(struct vctx *c, const json_t *v)
{
    return check_props(c, v, component_props, NPROPS(component_props));
}

/* An interaction component list: valid components with distinct ids. */
static int
check_components(struct vctx *c, const json_t *v)
{
    size_t n;

    if (check_each(c, v, check_component) != 0)
        return -1;
    n = json_array_size(v);
    for (size_t i = 1; i < n; i++) {
        const char *id =
            json_string_value(json_object_get(json_array_get(v, i), "id"));

        for (size_t j = 0; j < i; j++) {
            const json_t *other = json_array_get(v, j);

            if (strcmp(id, json_string_value(json_object_get(other, "id"))) !=
                0)
                continue;
            path_index(c, i);
            path_key(c, "id");
            return fail(c, "duplicates the id of component %zu", j);
        }
    }
    return 0;
}

static bool
component_list_allowed(size_t list, const char *type)
{
    for (size_t i = 0; i < 2; i++) {
        const char *allowed = component_lists[list].types[i];

        if (allowed != NULL && type != NULL && strcmp(allowed, type) == 0)
            return true;
    }
    return false;
}

/* The interaction properties of a definition must agree: any of them
 * needs an interactionType, and each component list belongs to specific
 * interaction types. */
static int
check_interaction(struct vctx *c, const json_t *def)
{
    const char *type =
        json_string_value(json_object_get(def, "interactionType"));
    bool interaction = json_object_get(def, "correctResponsesPattern") != NULL;

    for (size_t i = 0; i < NPROPS(component_lists); i++) {
        const char *list = component_lists[i].list;

        if (json_object_get(def, list) == NULL)
            continue;
        interaction = true;
        if (type != NULL && !component_list_allowed(i, type))
            return fail_at(c, list,
                           "is not allowed for this "
                           "interactionType");
    }
    if (interaction && type == NULL)
        return fail_at(c, "interactionType",
                       "is required with correctResponsesPattern or "
                       "interaction components");
    return 0;
}

static const struct prop definition_props[] = {
    {"name", check_language_map, 0, NULL},
    {"description", check_language_map, 0, NULL},
    {"type", check_iri, 0, NULL},
    {"moreInfo", check_iri, 0, NULL},
    {"extensions", check_extensions, 0, NULL},
    {"interactionType", check_interaction_type, 0, NULL},
    {"correctResponsesPattern", check_string_array, 0, NULL},
    {"choices", check_components, 0, NULL},
    {"scale", check_components, 0, NULL},
    {"source", check_components, 0, NULL},
    {"target", check_components, 0, NULL},
    {"steps", check_components, 0, NULL},
};

static int
check_definition(struct vctx *c, const json_t *v)
{
    if (check_props(c, v, definition_props, NPROPS(definition_props)) != 0)
        return -1;
    return check_interaction(c, v);
}

static const struct prop activity_props[] = {
    {"objectType", NULL, 0, "Activity"},
    {"id", check_iri, PROP_REQUIRED, NULL},
    {"definition", check_definition, 0, NULL},
};

static int
check_activity(struct vctx *c, const json_t *v)
{
    return check_props(c, v, activity_props, NPROPS(activity_props));
}

/* ---- StatementRef ------------------------------------------------------- */

static const struct prop statementref_props[] = {
    {"objectType", NULL, PROP_REQUIRED, "StatementRef"},
    {"id", check_uuid, PROP_REQUIRED, NULL},
};

static int
check_statementref(struct vctx *c, const json_t *v)
{
    return check_props(c, v, statementref_props, NPROPS(statementref_props));
}

/* ---- Result ------------------------------------------------------------- */

static int
check_scaled(struct vctx *c, const json_t *v)
{
    double x;

    if (check_number(c, v) != 0)
        return -1;
    x = json_number_value(v);
    if (x < -1.0 || x > 1.0)
        return fail(c, "must be between -1 and 1");
    return 0;
}

static const struct prop score_props[] = {
    {"scaled", check_scaled, 0, NULL},
    {"raw", check_number, 0, NULL},
    {"min", check_number, 0, NULL},
    {"max", check_number, 0, NULL},
};

/* min <= max, and raw within them when they are given. */
static int
check_score(struct vctx *c, const json_t *v)
{
    const json_t *raw;
    const json_t *min;
    const json_t *max;

    if (check_props(c, v, score_props, NPROPS(score_props)) != 0)
        return -1;
    raw = json_object_get(v, "raw");
    min = json_object_get(v, "min");
    max = json_object_get(v, "max");
    if (min && max && json_number_value(min) > json_number_value(max))
        return fail_at(c, "min", "must not be greater than max");
    if (raw && min && json_number_value(raw) < json_number_value(min))
        return fail_at(c, "raw", "must not be less than min");
    if (raw && max && json_number_value(raw) > json_number_value(max))
        return fail_at(c, "raw", "must not be greater than max");
    return 0;
}

static const struct prop result_props[] = {
    {"score", check_score, 0, NULL},
    {"success", check_boolean, 0, NULL},
    {"completion", check_boolean, 0, NULL},
    {"response", check_string, 0, NULL},
    {"duration", check_duration, 0, NULL},
    {"extensions", check_extensions, 0, NULL},
};

static int
check_result(struct vctx *c, const json_t *v)
{
    return check_props(c, v, result_props, NPROPS(result_props));
}

/* ---- Context ------------------------------------------------------------ */

/* A contextActivities value: one Activity or an array of them. */
static int
check_activity_or_list(struct vctx *c, const json_t *v)
{
    if (json_is_array(v))
        return check_each(c, v, check_activity);
    if (json_is_object(v))
        return check_activity(c, v);
    return fail(c, "must be an Activity or an array of Activities");
}

static const struct prop context_activities_props[] = {
    {"parent", check_activity_or_list, 0, NULL},
    {"grouping", check_activity_or_list, 0, NULL},
    {"category", check_activity_or_list, 0, NULL},
    {"other", check_activity_or_list, 0, NULL},
};

static int
check_context_activities(struct vctx *c, const json_t *v)
{
    return check_props(c, v, context_activities_props,
                       NPROPS(context_activities_props));
}

/* revision and platform describe an Activity, so only go with one. */
static int
check_activity_only_string(struct vctx *c, const json_t *v)
{
    if (check_string(c, v) != 0)
        return -1;
    if (!c->object_is_activity)
        return fail(c, "only allowed when the object is an Activity");
    return 0;
}

static int
check_relevant_types(struct vctx *c, const json_t *v)
{
    if (json_is_array(v) && json_array_size(v) == 0)
        return fail(c, "must not be empty");
    return check_iri_array(c, v);
}

static const struct prop context_agent_props[] = {
    {"objectType", NULL, PROP_REQUIRED, "contextAgent"},
    {"agent", check_agent, PROP_REQUIRED, NULL},
    {"relevantTypes", check_relevant_types, 0, NULL},
};

static const struct prop context_group_props[] = {
    {"objectType", NULL, PROP_REQUIRED, "contextGroup"},
    {"group", check_group_only, PROP_REQUIRED, NULL},
    {"relevantTypes", check_relevant_types, 0, NULL},
};

static int
check_context_agent(struct vctx *c, const json_t *v)
{
    return check_props(c, v, context_agent_props, NPROPS(context_agent_props));
}

static int
check_context_group(struct vctx *c, const json_t *v)
{
    return check_props(c, v, context_group_props, NPROPS(context_group_props));
}

static int
check_context_agents(struct vctx *c, const json_t *v)
{
    return check_each(c, v, check_context_agent);
}

static int
check_context_groups(struct vctx *c, const json_t *v)
{
    return check_each(c, v, check_context_group);
}

static const struct prop context_props[] = {
    {"registration", check_uuid, 0, NULL},
    {"instructor", check_actor, 0, NULL},
    {"team", check_group_only, 0, NULL},
    {"contextActivities", check_context_activities, 0, NULL},
    {"revision", check_activity_only_string, 0, NULL},
    {"platform", check_activity_only_string, 0, NULL},
    {"language", check_language_tag, 0, NULL},
    {"statement", check_statementref, 0, NULL},
    {"extensions", check_extensions, 0, NULL},
    {"contextAgents", check_context_agents, PROP_V2, NULL},
    {"contextGroups", check_context_groups, PROP_V2, NULL},
};

static int
check_context(struct vctx *c, const json_t *v)
{
    return check_props(c, v, context_props, NPROPS(context_props));
}

/* ---- Attachments -------------------------------------------------------- */

/* An Internet media type: type "/" subtype, both RFC 7230 tokens,
 * optionally followed by parameters after ';'. */
static bool
is_media_type(const char *text)
{
    static const char tchar[] = "!#$%&'*+-.^_`|~0123456789"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "abcdefghijklmnopqrstuvwxyz";
    size_t type_len = strspn(text, tchar);
    size_t sub_len;

    if (type_len == 0 || text[type_len] != '/')
        return false;
    text += type_len + 1;
    sub_len = strspn(text, tchar);
    if (sub_len == 0)
        return false;
    text += sub_len;
    text += strspn(text, " \t");
    return *text == '\0' || *text == ';';
}

static int
check_content_type(struct vctx *c, const json_t *v)
{
    const char *text = json_string_value(v);

    if (text == NULL)
        return fail(c, "must be a string");
    if (!is_media_type(text))
        return fail(c, "must be an Internet media type");
    return 0;
}

static int
check_length(struct vctx *c, const json_t *v)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return fail(c, "must be a non-negative integer");
    return 0;
}

/* A hex SHA-2 digest: SHA-224, -256, -384 or -512. */
static int
check_sha2(struct vctx *c, const json_t *v)
{
    const char *text = json_string_value(v);
    size_t len;

    if (text == NULL)
        return fail(c, "must be a string");
    len = strlen(text);
    if (strspn(text, "0123456789abcdefABCDEF") != len ||
        (len != 56 && len != 64 && len != 96 && len != 128))
        return fail(c, "must be a hex-encoded SHA-2 digest");
    return 0;
}

static const struct prop attachment_props[] = {
    {"usageType", check_iri, PROP_REQUIRED, NULL},
    {"display", check_language_map, PROP_REQUIRED, NULL},
    {"description", check_language_map, 0, NULL},
    {"contentType", check_content_type, PROP_REQUIRED, NULL},
    {"length", check_length, PROP_REQUIRED, NULL},
    {"sha2", check_sha2, PROP_REQUIRED, NULL},
    {"fileUrl", check_iri, 0, NULL},
};

static int
check_attachment(struct vctx *c, const json_t *v)
{
    return check_props(c, v, attachment_props, NPROPS(attachment_props));
}

static int
check_attachments(struct vctx *c, const json_t *v)
{
    return check_each(c, v, check_attachment);
}

/* ---- Statements and SubStatements --------------------------------------- */

static int check_statement_object(struct vctx *c, const json_t *v);

static const struct prop statement_props[] = {
    {"id", check_uuid, 0, NULL},
    {"actor", check_actor, PROP_REQUIRED, NULL},
    {"verb", check_verb, PROP_REQUIRED, NULL},
    {"object", check_statement_object, PROP_REQUIRED, NULL},
    {"result", check_result, 0, NULL},
    {"context", check_context, 0, NULL},
    {"timestamp", check_timestamp, 0, NULL},
    {"stored", check_timestamp, 0, NULL},
    {"authority", check_authority, 0, NULL},
    {"version", check_version, 0, NULL},
    {"attachments", check_attachments, 0, NULL},
};

static const struct prop substatement_props[] = {
    {"objectType", NULL, PROP_REQUIRED, "SubStatement"},
    {"actor", check_actor, PROP_REQUIRED, NULL},
    {"verb", check_verb, PROP_REQUIRED, NULL},
    {"object", check_statement_object, PROP_REQUIRED, NULL},
    {"result", check_result, 0, NULL},
    {"context", check_context, 0, NULL},
    {"timestamp", check_timestamp, 0, NULL},
    {"attachments", check_attachments, 0, NULL},
};

/* Properties that only the LRS-facing top-level statement may carry. */
static const char *const substatement_forbidden[] = {
    "id",
    "stored",
    "version",
    "authority",
};

static bool
is_activity_object(const json_t *object)
{
    const char *type;

    if (!json_is_object(object))
        return false;
    type = json_string_value(json_object_get(object, "objectType"));
    return json_object_get(object, "objectType") == NULL ||
           (type != NULL && strcmp(type, "Activity") == 0);
}

/* A statement whose verb is "voided" must target a StatementRef. */
static int
check_voiding(struct vctx *c, const json_t *stmt)
{
    const char *verb =
        json_string_value(json_object_get(json_object_get(stmt, "verb"), "id"));
    const json_t *object = json_object_get(stmt, "object");
    const char *type = json_string_value(json_object_get(object, "objectType"));

    if (verb == NULL || strcmp(verb, VOIDED_VERB) != 0)
        return 0;
    if (type != NULL && strcmp(type, "StatementRef") == 0)
        return 0;
    path_key(c, "object");
    return fail_at(c, "objectType",
                   "a voiding statement's object must "
                   "be a StatementRef");
}

/* What a Statement and a SubStatement share: the property table and the
 * rules across properties. object_is_activity is saved because a
 * SubStatement's context answers to its own object. */
static int
check_statement_body(struct vctx *c, const json_t *v, const struct prop *props,
                     size_t n)
{
    bool saved = c->object_is_activity;

    if (!json_is_object(v))
        return fail(c, "must be an object");
    c->object_is_activity = is_activity_object(json_object_get(v, "object"));
    if (check_props(c, v, props, n) != 0)
        return -1;
    if (check_voiding(c, v) != 0)
        return -1;
    c->object_is_activity = saved;
    return 0;
}

static int
check_substatement(struct vctx *c, const json_t *v)
{
    int rc;

    for (size_t i = 0; i < NPROPS(substatement_forbidden); i++) {
        if (json_object_get(v, substatement_forbidden[i]) != NULL)
            return fail_at(c, substatement_forbidden[i],
                           "not allowed in a SubStatement");
    }
    c->in_substatement = true;
    rc = check_statement_body(c, v, substatement_props,
                              NPROPS(substatement_props));
    c->in_substatement = false;
    return rc;
}

/* An object without objectType is an Activity, unless it carries the
 * properties of an Agent or Group: then objectType was forgotten, which
 * is worth saying instead of "id is required". */
static bool
looks_like_actor(const json_t *v)
{
    const char *first = NULL;
    const char *second = NULL;

    return ifi_count(v, &first, &second) > 0 ||
           json_object_get(v, "member") != NULL;
}

static int
check_untyped_object(struct vctx *c, const json_t *v)
{
    if (looks_like_actor(v))
        return fail_at(c, "objectType",
                       "is required when the object is "
                       "an Agent or a Group");
    return check_activity(c, v);
}

/* The object of a Statement or SubStatement, told apart by objectType. */
static int
check_statement_object(struct vctx *c, const json_t *v)
{
    const json_t *type_value;
    const char *type;

    if (!json_is_object(v))
        return fail(c, "must be an object");
    type_value = json_object_get(v, "objectType");
    if (type_value == NULL)
        return check_untyped_object(c, v);
    type = json_string_value(type_value);
    if (type == NULL)
        return fail_at(c, "objectType", "must be a string");
    if (strcmp(type, "Activity") == 0)
        return check_activity(c, v);
    if (strcmp(type, "Agent") == 0)
        return check_agent(c, v);
    if (strcmp(type, "Group") == 0)
        return check_group(c, v);
    if (strcmp(type, "StatementRef") == 0)
        return check_statementref(c, v);
    if (strcmp(type, "SubStatement") != 0)
        return fail_at(c, "objectType",
                       "must be one of Activity, Agent, "
                       "Group, StatementRef, SubStatement");
    if (c->in_substatement)
        return fail_at(c, "objectType",
                       "a SubStatement must not contain "
                       "a SubStatement");
    return check_substatement(c, v);
}

/* ---- entry points ------------------------------------------------------- */

int
xapi_validate_statement(const json_t *stmt, enum xapi_version v,
                        const char *path, struct lrs_error *err)
{
    struct vctx c;

    vctx_init(&c, v, path, err);
    return check_statement_body(&c, stmt, statement_props,
                                NPROPS(statement_props));
}

int
xapi_validate_actor(const json_t *actor, enum xapi_version v, const char *path,
                    struct lrs_error *err)
{
    struct vctx c;

    vctx_init(&c, v, path, err);
    return check_actor(&c, actor);
}

int
xapi_validate_agent(const json_t *agent, enum xapi_version v, const char *path,
                    struct lrs_error *err)
{
    struct vctx c;

    vctx_init(&c, v, path, err);
    return check_agent(&c, agent);
}
