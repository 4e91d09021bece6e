/*
 * request: FastCGI parameters -> struct request, and the request target
 * (REQUEST_URI) -> job id and token.
 *
 * Pure: takes values, returns values, makes no system calls. Everything is
 * copied into the caller's struct, because the connection's parser frees
 * its parameters once they are read (fcgi_in_kept_free). The id comes from the raw REQUEST_URI, the one parameter
 * every web server passes the same way; its strict checks matter because the
 * server chose its location (and its authentication) from the normalised
 * path, so /download/owned/.. must never reach a job.
 */
#include <stddef.h>
#include <string.h>

#include "request.h"
#include "text.h"

/* Where each parameter we use goes, and how long it may be. */
struct request_param {
	const char	*name;
	size_t		 namelen;
	size_t		 off;
	size_t		 size;
	unsigned	 flag;
};

enum {
	RP_NONE = 0,
	RP_RANGE,
	RP_IF_MATCH,
	RP_IF_NONE_MATCH,
	RP_IF_MODIFIED_SINCE,
	RP_IF_UNMODIFIED_SINCE,
	RP_IF_RANGE
};

#define RP(n, field, flag) \
	{ n, sizeof(n) - 1, offsetof(struct request, field), \
	  sizeof(((struct request *)0)->field), flag }

static const struct request_param request_params[] = {
	RP("REQUEST_URI", uri, RP_NONE),
	RP("REMOTE_USER", remote_user, RP_NONE),
	RP("REMOTE_ADDR", remote_addr, RP_NONE),
	RP("HTTP_RANGE", range, RP_RANGE),
	RP("HTTP_IF_MATCH", if_match, RP_IF_MATCH),
	RP("HTTP_IF_NONE_MATCH", if_none_match, RP_IF_NONE_MATCH),
	RP("HTTP_IF_MODIFIED_SINCE", if_modified_since, RP_IF_MODIFIED_SINCE),
	RP("HTTP_IF_UNMODIFIED_SINCE", if_unmodified_since,
	    RP_IF_UNMODIFIED_SINCE),
	RP("HTTP_IF_RANGE", if_range, RP_IF_RANGE),
};

#define NPARAMS (sizeof(request_params) / sizeof(request_params[0]))

_Static_assert(NPARAMS + 1 == REQUEST_PARAMS_KEPT, "REQUEST_PARAMS_KEPT");

static void
request_flag_set(struct request *r, unsigned flag)
{
	switch (flag) {
	case RP_RANGE:
		r->has_range = 1;
		break;
	case RP_IF_MATCH:
		r->has_if_match = 1;
		break;
	case RP_IF_NONE_MATCH:
		r->has_if_none_match = 1;
		break;
	case RP_IF_MODIFIED_SINCE:
		r->has_if_modified_since = 1;
		break;
	case RP_IF_UNMODIFIED_SINCE:
		r->has_if_unmodified_since = 1;
		break;
	case RP_IF_RANGE:
		r->has_if_range = 1;
		break;
	default:
		break;
	}
}

/*
 * Fill r from a FastCGI environment ("NAME=value" strings, NULL-terminated).
 * The first occurrence of a name wins, as with FCGX_GetParam. r is reset
 * first. The method is always set, so the caller can answer 405 before 400.
 * Returns 0, or 400 with r->why set: a value too long for its field, or no
 * REQUEST_URI. envp is only read; nothing in r points into it.
 */
int
request_read(struct request *r, char *const *envp)
{
	unsigned char	 seen[NPARAMS];
	int		 have_method = 0, have_uri = 0, rc = 0;
	size_t		 i, j;

	memset(r, 0, sizeof(*r));
	memset(seen, 0, sizeof(seen));
	r->method = REQUEST_OTHER;
	for (i = 0; envp != NULL && envp[i] != NULL; i++) {
		const char *e = envp[i];

		if (!have_method && strncmp(e, "REQUEST_METHOD=", 15) == 0) {
			have_method = 1;
			if (strcmp(e + 15, "GET") == 0)
				r->method = REQUEST_GET;
			else if (strcmp(e + 15, "HEAD") == 0)
				r->method = REQUEST_HEAD;
			continue;
		}
		for (j = 0; j < NPARAMS; j++) {
			const struct request_param *p = &request_params[j];
			size_t		 len;

			if (seen[j] || strncmp(e, p->name, p->namelen) != 0 ||
			    e[p->namelen] != '=')
				continue;
			seen[j] = 1;
			len = strlen(e + p->namelen + 1);
			/* An overlong Range is ignored (whole file), not 400. */
			if (len >= p->size && p->flag == RP_RANGE)
				break;
			if (len >= p->size) {
				if (rc == 0) {
					r->why = "header_too_long";
					rc = 400;
				}
				break;
			}
			memcpy((char *)r + p->off, e + p->namelen + 1, len + 1);
			request_flag_set(r, p->flag);
			if (j == 0)
				have_uri = 1;
			break;
		}
	}
	if (rc == 0 && !have_uri) {
		r->why = "no_request_uri";
		rc = 400;
	}
	return (rc);
}

/*
 * Which FastCGI parameter request_read uses, and how many bytes of its
 * value to keep so that request_read still sees what it would have seen
 * whole (a value too long for its field stays too long). For the
 * connection's parser (fcgi_in), which keeps only these. Returns the
 * parameter's index (0 <= i < REQUEST_PARAMS_KEPT) with *keep set, or -1.
 */
int
request_param_keep(const char *name, size_t len, size_t *keep)
{
	size_t	 j;

	if (len == 14 && memcmp(name, "REQUEST_METHOD", 14) == 0) {
		*keep = REQUEST_METHOD_KEEP;
		return ((int)NPARAMS);
	}
	for (j = 0; j < NPARAMS; j++)
		if (request_params[j].namelen == len &&
		    memcmp(request_params[j].name, name, len) == 0) {
			*keep = request_params[j].size;
			return ((int)j);
		}
	return (-1);
}

/* The contract's id syntax: [A-Za-z0-9_-]{1,JOB_ID_MAX}. Returns 1 or 0. */
int
request_id_valid(const char *id, size_t len)
{
	size_t	 i;

	if (len == 0 || len > JOB_ID_MAX)
		return (0);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)id[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return (0);
	}
	return (1);
}

/*
 * The cosmetic name segment may be anything a browser would send, except
 * what a web server could normalise into a different location: "." or "..",
 * once decoded, or an encoded '/' or '\'. Returns 1 if acceptable.
 */
static int
request_name_ok(const char *seg, size_t len)
{
	char	 dec[REQUEST_URI_MAX + 1];
	long	 n;

	if (len == 0)
		return (0);
	if ((n = text_pct_decode(dec, sizeof(dec), seg, len)) < 0)
		return (0);
	if (strcmp(dec, ".") == 0 || strcmp(dec, "..") == 0)
		return (0);
	if (memchr(dec, '/', (size_t)n) != NULL ||
	    memchr(dec, '\\', (size_t)n) != NULL)
		return (0);
	return (1);
}

/* Take the first token=<value> from the query string, percent-decoded. */
static void
request_token_read(struct request *r, const char *q)
{
	while (*q != '\0') {
		const char *amp = strchr(q, '&');
		size_t	 len = amp != NULL ? (size_t)(amp - q) : strlen(q);

		if (len >= 6 && strncmp(q, "token=", 6) == 0) {
			/*
			 * Too long or malformed: treated as absent, which
			 * answers the same 404 as a wrong token.
			 */
			if (text_pct_decode(r->token, sizeof(r->token),
			    q + 6, len - 6) > 0)
				r->has_token = 1;
			else
				r->token[0] = '\0';
			return;
		}
		if (amp == NULL)
			break;
		q = amp + 1;
	}
}

/*
 * Split r->uri into the job id and the token, checking the path against the
 * contract: <prefix><id> or <prefix><id>/<name>. prefixes is one prefix or
 * a comma-separated list (say a public one and one behind the web server's
 * authentication); each starts and ends with '/', and the first that
 * matches is used. Returns 0; 404 when the path is under no prefix; 400 for
 * anything else (more segments, an empty, "." or ".." segment, or a byte
 * outside the id syntax, percent-encoding included), with r->why set.
 */
int
request_parse_target(struct request *r, const char *prefixes)
{
	const char	*path = r->uri, *q, *end, *id = NULL, *slash, *p;
	size_t		 plen, idlen;

	q = strchr(path, '?');
	end = q != NULL ? q : path + strlen(path);
	for (p = prefixes; id == NULL && *p != '\0'; p += plen) {
		if (*p == ',')
			p++;
		plen = strcspn(p, ",");
		if (plen > 0 && (size_t)(end - path) >= plen &&
		    strncmp(path, p, plen) == 0)
			id = path + plen;
	}
	if (id == NULL) {
		r->why = "outside_prefix";
		return (404);
	}
	slash = memchr(id, '/', (size_t)(end - id));
	idlen = (size_t)((slash != NULL ? slash : end) - id);
	if (!request_id_valid(id, idlen)) {
		r->why = idlen == 0 ? "empty_id" : "bad_id";
		return (400);
	}
	if (slash != NULL) {
		const char *name = slash + 1;
		size_t	 nlen = (size_t)(end - name);

		if (memchr(name, '/', nlen) != NULL) {
			r->why = "extra_segment";
			return (400);
		}
		if (!request_name_ok(name, nlen)) {
			r->why = "bad_name_segment";
			return (400);
		}
	}
	memcpy(r->id, id, idlen);
	r->id[idlen] = '\0';
	if (q != NULL)
		request_token_read(r, q + 1);
	return (0);
}
