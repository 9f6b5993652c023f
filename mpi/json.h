/* json.h: a small typed JSON writer (RFC 8259): strings are always strings, numbers always
 * numbers, so no value that merely looks numeric (a path "0x10", "007") changes type.
 *
 * Strings: '"' and '\\' are escaped, control characters as \u00XX; valid UTF-8 passes
 * through; a byte that is not part of a valid UTF-8 sequence (a file name in Latin-1, say)
 * is written as the escape of the Unicode code point of the same value, \u0080..\u00ff (the
 * byte read as Latin-1), so the output is always valid JSON. Non-finite numbers are written
 * as null. */
#ifndef SER_DIST_JSON_H
#define SER_DIST_JSON_H

#include <stddef.h>
#include <stdio.h>

struct dist_json {
    FILE *f;
    int depth;
    int count[32]; /* values written at each open level */
    int after_key;
};

/* The shortest decimal text that reads back as v ("80", "0.001", "1e-10"; integers below
 * 1e15 without an exponent). Used wherever ser writes a double as text. */
void dist_shortest(double v, char *buf, size_t n);

void dist_json_init(struct dist_json *j, FILE *f);
void dist_json_open(struct dist_json *j, char bracket); /* '{' or '[' */
void dist_json_close(struct dist_json *j, char bracket);
void dist_json_key(struct dist_json *j, const char *key);
void dist_json_str(struct dist_json *j, const char *s);
void dist_json_num(struct dist_json *j, double v);
void dist_json_int(struct dist_json *j, long long v);
void dist_json_bool(struct dist_json *j, int v);

#endif
