/*
 * The xAPI versions lrsd speaks. One server serves both; the rules applied
 * to a request follow the X-Experience-API-Version header it carried.
 */
#ifndef LRSD_XAPI_VERSION_H
#define LRSD_XAPI_VERSION_H

enum xapi_version {
    XAPI_V1_0 = 1,  /* xAPI 1.0.x, answered as 1.0.3 */
    XAPI_V2_0 = 2,  /* xAPI 2.0.x (IEEE 9274.1.1), answered as 2.0.0 */
};

/* Parses a header value: "1.0", "1.0.0"-"1.0.3" (any 1.0.x) and "2.0",
 * "2.0.x" are accepted. Returns 0, or -1 when missing or unsupported. */
int xapi_version_parse(const char *header, enum xapi_version *out)
    __attribute__((warn_unused_result));

/* The version string lrsd answers with: "1.0.3" or "2.0.0". Static. */
const char *xapi_version_string(enum xapi_version v);

#endif
