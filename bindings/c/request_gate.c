/*
 * request_gate — rate-limits requests read one per line, with liblimify.
 *
 *   request_gate CONFIG.json [REQUESTS]      (REQUESTS: a file, or stdin)
 *
 * Each line is a request:
 *
 *   [@SECONDS] METHOD PATH [USER] [plan=P] [cost=N] [org=O] [api_key=K] [ip=A]
 *
 * and is answered with the status a server would send (200 or 429) and the
 * response headers limify computes for it:
 *
 *   GET /search alice -> 200  X-RateLimit-Limit: 5; X-RateLimit-Remaining: 4; ...
 *
 * A leading @SECONDS sets the engine's manual clock (config "clock":
 * "manual"), so a timestamped access log replays to exactly the decisions
 * limify would have taken; on the system clock it is ignored. Blank lines and
 * lines starting with '#' are skipped.
 *
 * Exit status: 0 done, 1 limify error (the message names the line), 2 usage
 * or malformed input. Plain C99 against <limify/limify.h> only.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <limify/limify.h>

#define MAX_LINE 4096
#define MAX_FIELDS 16

static void usage(void) {
  fprintf(stderr, "usage: request_gate CONFIG.json [REQUESTS]\n");
}

/* Splits `line` in place at whitespace; returns the number of fields. */
static int split_fields(char* line, char* fields[], int max) {
  int n = 0;
  char* p = line;
  while (*p != '\0') {
    while (isspace((unsigned char)*p)) *p++ = '\0';
    if (*p == '\0') break;
    if (n == max) return -1;
    fields[n++] = p;
    while (*p != '\0' && !isspace((unsigned char)*p)) ++p;
  }
  return n;
}

/* "12", "1.5", "0.000250" seconds -> microseconds, exactly. 0 on error. */
static int parse_seconds(const char* text, int64_t* us) {
  int64_t whole = 0, frac = 0, scale = 1000000;
  const char* p = text;
  if (!isdigit((unsigned char)*p)) return 0;
  for (; isdigit((unsigned char)*p); ++p) {
    if (whole > INT64_C(1000000000000)) return 0; /* ~31,700 years */
    whole = whole * 10 + (*p - '0');
  }
  if (*p == '.') {
    for (++p; isdigit((unsigned char)*p); ++p) {
      if (scale == 1) return 0; /* finer than a microsecond */
      scale /= 10;
      frac += (*p - '0') * scale;
    }
  }
  if (*p != '\0') return 0;
  *us = whole * 1000000 + frac;
  return 1;
}

/* "retry=5" style option: returns the value if `field` starts with `key=`. */
static const char* option_value(const char* field, const char* key) {
  size_t n = strlen(key);
  return strncmp(field, key, n) == 0 && field[n] == '=' ? field + n + 1 : NULL;
}

/* Prints the headers text ("Name: value\r\n"...) on one line, "; "-separated. */
static void print_headers_inline(const char* headers) {
  const char* p = headers;
  int first = 1;
  while (*p != '\0') {
    const char* end = strstr(p, "\r\n");
    size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
    printf("%s%.*s", first ? "  " : "; ", (int)len, p);
    first = 0;
    p += len;
    if (end != NULL) p += 2;
  }
}

int main(int argc, char** argv) {
  limify_engine* engine = NULL;
  limify_error err;
  FILE* in = stdin;
  char line[MAX_LINE];
  long line_no = 0, allowed = 0, limited = 0;
  int warned_clock = 0, rc = 0;

  if (argc < 2 || argc > 3 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
    usage();
    return 2;
  }
  if (limify_engine_new_from_file(argv[1], &engine, &err) != LIMIFY_OK) {
    fprintf(stderr, "request_gate: %s: %s\n", argv[1], err.message);
    return 1;
  }
  if (argc == 3 && strcmp(argv[2], "-") != 0) {
    in = fopen(argv[2], "r");
    if (in == NULL) {
      perror(argv[2]);
      limify_engine_free(engine);
      return 2;
    }
  }

  while (fgets(line, sizeof line, in) != NULL) {
    char* fields[MAX_FIELDS];
    int n, i, f = 0;
    int64_t at_us = -1;
    limify_request request = LIMIFY_REQUEST_INIT;
    limify_decision decision = LIMIFY_DECISION_INIT;
    char headers[512];

    ++line_no;
    if (strchr(line, '\n') == NULL && !feof(in)) {
      fprintf(stderr, "request_gate: line %ld: longer than %d bytes\n", line_no, MAX_LINE - 1);
      rc = 2;
      break;
    }
    n = split_fields(line, fields, MAX_FIELDS);
    if (n == 0 || fields[0][0] == '#') continue;
    if (n < 0) {
      fprintf(stderr, "request_gate: line %ld: more than %d fields\n", line_no, MAX_FIELDS);
      rc = 2;
      break;
    }
    if (fields[0][0] == '@') {
      if (!parse_seconds(fields[0] + 1, &at_us)) {
        fprintf(stderr, "request_gate: line %ld: \"%s\" is not @SECONDS\n", line_no, fields[0]);
        rc = 2;
        break;
      }
      f = 1;
    }
    if (n - f < 2) {
      fprintf(stderr, "request_gate: line %ld: expected [@SECONDS] METHOD PATH [USER] ...\n",
              line_no);
      rc = 2;
      break;
    }
    request.method = fields[f];
    request.path = fields[f + 1];
    for (i = f + 2; i < n; ++i) {
      const char* v;
      if ((v = option_value(fields[i], "plan")) != NULL) {
        request.plan = v;
      } else if ((v = option_value(fields[i], "cost")) != NULL) {
        char* end = NULL;
        request.cost = strtoll(v, &end, 10);
        if (*v == '\0' || *end != '\0') {
          fprintf(stderr, "request_gate: line %ld: cost=\"%s\" is not a number\n", line_no, v);
          rc = 2;
          break;
        }
      } else if ((v = option_value(fields[i], "org")) != NULL) {
        request.org_id = v;
      } else if ((v = option_value(fields[i], "api_key")) != NULL) {
        request.api_key = v;
      } else if ((v = option_value(fields[i], "ip")) != NULL) {
        request.client_ip = v;
      } else if (i == f + 2 && strchr(fields[i], '=') == NULL) {
        request.user_id = fields[i];
      } else {
        fprintf(stderr, "request_gate: line %ld: unknown field \"%s\"\n", line_no, fields[i]);
        rc = 2;
        break;
      }
    }
    if (rc != 0) break;

    if (at_us >= 0) {
      limify_status s = limify_clock_set(engine, at_us, &err);
      if (s == LIMIFY_FAILED_PRECONDITION) {
        if (!warned_clock) {
          fprintf(stderr, "request_gate: timestamps ignored: the clock is not manual\n");
          warned_clock = 1;
        }
      } else if (s != LIMIFY_OK) {
        fprintf(stderr, "request_gate: line %ld: %s\n", line_no, err.message);
        rc = 1;
        break;
      }
    }
    /* A denied request is not an error: LIMIFY_OK with allowed = 0. */
    if (limify_check(engine, &request, &decision, &err) != LIMIFY_OK) {
      fprintf(stderr, "request_gate: line %ld: %s (%s)\n", line_no, err.message,
              limify_status_name(err.code));
      rc = err.code == LIMIFY_INVALID_ARGUMENT ? 2 : 1;
      break;
    }
    if (decision.allowed) {
      ++allowed;
    } else {
      ++limited;
    }

    if (at_us >= 0) printf("%s ", fields[0]);
    printf("%s %s %s -> %d", request.method, request.path,
           request.user_id != NULL ? request.user_id : "-", decision.allowed ? 200 : 429);
    if (!decision.matched) {
      printf("  (no rule: not limited)");
    } else if (limify_format_headers(&decision, LIMIFY_HEADERS_DEFAULT, headers,
                                     sizeof headers) < sizeof headers) {
      print_headers_inline(headers);
    }
    printf("\n");
  }
  if (rc == 0 && ferror(in)) {
    perror("request_gate: reading requests");
    rc = 2;
  }
  if (rc == 0) printf("# %ld requests: %ld allowed, %ld limited\n", allowed + limited, allowed,
                      limited);

  if (in != stdin) fclose(in);
  limify_engine_free(engine);
  return rc;
}
