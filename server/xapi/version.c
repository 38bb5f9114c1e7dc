/* Parsing the X-Experience-API-Version header. */
#include "xapi/version.h"

#include <ctype.h>
#include <string.h>

/* Accepts "MAJOR.MINOR" optionally followed by ".PATCH" of digits only. */
static int
matches(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);

    if (strncmp(text, prefix, n) != 0)
        return 0;
    text += n;
    if (*text == '\0')
        return 1;
    if (*text++ != '.' || !isdigit((unsigned char)*text))
        return 0;
    while (isdigit((unsigned char)*text))
        text++;
    return *text == '\0';
}

int
xapi_version_parse(const char *header, enum xapi_version *out)
{
    if (header == NULL)
        return -1;
    if (matches(header, "1.0")) {
        *out = XAPI_V1_0;
        return 0;
    }
    if (matches(header, "2.0")) {
        *out = XAPI_V2_0;
        return 0;
    }
    return -1;
}

const char *
xapi_version_string(enum xapi_version v)
{
    return v == XAPI_V2_0 ? "2.0.0" : "1.0.3";
}
