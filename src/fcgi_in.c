/*
 * fcgi_in: the FastCGI byte stream from the web server, parsed
 * incrementally (see fcgi_in.h). fcgi_in_feed takes any piece of the
 * stream and returns at the first thing the caller must act on, saying
 * how much it used; the caller feeds the rest again. Record headers and
 * the kept parameters are the only state; a record's content is never
 * buffered, except the first FCGI_IN_VALUES_MAX bytes of a GET_VALUES.
 * The answers' records are written by fcgi_out.c, the one writer of
 * record headers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi_in.h"
#include "fcgi_out.h"
#include "request.h"

_Static_assert(REQUEST_PARAMS_KEPT <= FCGI_IN_KEPT_MAX, "FCGI_IN_KEPT_MAX");

#define FCGI_VERSION_1		1
#define FCGI_BEGIN_REQUEST	1
#define FCGI_ABORT_REQUEST	2
#define FCGI_PARAMS		4
#define FCGI_STDIN		5
#define FCGI_GET_VALUES		9
#define FCGI_RESPONDER		1
#define FCGI_KEEP_CONN		1
#define FCGI_HEADER_LEN		FCGI_OUT_HEADER_LEN

/* One name-value pair's length (§3.4: 1 byte, or 4 with the top bit). */
static int
fcgi_in_pair_len(const unsigned char *p, size_t len, size_t *i, size_t *out)
{
	if (*i >= len)
		return (-1);
	if ((p[*i] & 0x80) == 0) {
		*out = p[(*i)++];
		return (0);
	}
	if (len - *i < 4)
		return (-1);
	*out = ((size_t)(p[*i] & 0x7f) << 24) | ((size_t)p[*i + 1] << 16) |
	    ((size_t)p[*i + 2] << 8) | p[*i + 3];
	*i += 4;
	return (0);
}

/*
 * The FCGI_GET_VALUES_RESULT record (§4.1) for a GET_VALUES whose content
 * is content[0..len): a pair for each variable asked for that sluice
 * knows (FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS); others are
 * left out, as the spec says. A pair cut off by the end of content ends
 * the list. Writes the whole record, padded, into dst; returns its
 * length, or 0 if dst is too small. Pure.
 */
size_t
fcgi_in_values_answer(unsigned char *dst, size_t dstsz,
    const unsigned char *content, size_t len, const struct fcgi_in_values *v)
{
	static const char *const names[] = { "FCGI_MAX_CONNS",
	    "FCGI_MAX_REQS", "FCGI_MPXS_CONNS" };
	size_t	 i = 0, o = FCGI_HEADER_LEN, nlen, vlen, k, pad;
	char	 val[24];
	int	 n;

	if (dstsz < FCGI_HEADER_LEN + 8)
		return (0);
	while (fcgi_in_pair_len(content, len, &i, &nlen) == 0 &&
	    fcgi_in_pair_len(content, len, &i, &vlen) == 0 &&
	    nlen <= len - i && vlen <= len - i - nlen) {
		for (k = 0; k < 3; k++)
			if (strlen(names[k]) == nlen &&
			    memcmp(names[k], content + i, nlen) == 0)
				break;
		i += nlen + vlen;
		if (k == 3)
			continue;
		n = snprintf(val, sizeof(val), "%ld", k == 0 ? v->max_conns :
		    k == 1 ? v->max_reqs : 0L);
		if (n < 0 || (size_t)n >= sizeof(val) ||
		    o + 2 + nlen + (size_t)n > dstsz)
			return (0);
		dst[o++] = (unsigned char)nlen;
		dst[o++] = (unsigned char)n;
		memcpy(dst + o, names[k], nlen);
		memcpy(dst + o + nlen, val, (size_t)n);
		o += nlen + (size_t)n;
	}
	pad = (8 - (o - FCGI_HEADER_LEN) % 8) % 8;
	if (o + pad > dstsz)
		return (0);
	memset(dst + o, 0, pad);
	fcgi_out_header(dst, FCGI_OUT_GET_VALUES_RESULT, 0, o - FCGI_HEADER_LEN,
	    pad);
	return (o + pad);
}

/* A new connection's parser: nothing read, no request. */
void
fcgi_in_init(struct fcgi_in *in)
{
	memset(in, 0, sizeof(*in));
}

/*
 * Forget the request (its params, its id) after it was answered, for the
 * next one on a kept connection; the record being read stays.
 */
void
fcgi_in_next(struct fcgi_in *in)
{
	fcgi_in_kept_free(in);
	in->request_id = 0;
	in->keep_conn = 0;
	in->params_done = 0;
	in->stdin_done = 0;
	in->kept_seen = 0;
	in->nkept = 0;
	in->nomem = 0;
	memset(&in->pair, 0, sizeof(in->pair));
}

/* Free the kept parameters (once request_read has copied them). */
void
fcgi_in_kept_free(struct fcgi_in *in)
{
	free(in->kept);
	in->kept = NULL;
	in->kept_len = in->kept_cap = 0;
	in->envp[0] = NULL;
}

void
fcgi_in_free(struct fcgi_in *in)
{
	fcgi_in_kept_free(in);
}

/*
 * Nothing of a request has arrived since the last one ended (or the
 * connection opened): closing now loses no request.
 */
int
fcgi_in_idle(const struct fcgi_in *in)
{
	return (in->request_id == 0 && in->hdr_have == 0 &&
	    in->content_left == 0 && in->pad_left == 0);
}

/*
 * The kept parameters as an environment ("NAME=value" strings, NULL
 * ended), for request_read; valid until the parser is fed, reset or
 * freed.
 */
char **
fcgi_in_envp(struct fcgi_in *in)
{
	size_t	 i;

	for (i = 0; i < in->nkept && in->kept != NULL; i++)
		in->envp[i] = in->kept + in->kept_off[i];
	in->envp[in->kept != NULL ? in->nkept : 0] = NULL;
	return (in->envp);
}

/* Append p[0..n) to the kept parameters. Returns 0, or -1 (no memory). */
static int
fcgi_in_keep(struct fcgi_in *in, const void *p, size_t n)
{
	char	*k;
	size_t	 cap;

	if (in->kept_len + n > in->kept_cap) {
		cap = in->kept_cap * 2;
		if (cap < in->kept_len + n)
			cap = in->kept_len + n;
		if (cap < 256)
			cap = 256;
		if ((k = realloc(in->kept, cap)) == NULL) {
			in->nomem = 1;
			return (-1);
		}
		in->kept = k;
		in->kept_cap = cap;
	}
	memcpy(in->kept + in->kept_len, p, n);
	in->kept_len += n;
	return (0);
}

/* A pair's name is complete: keep its value if request_read uses it. */
static void
fcgi_in_name_done(struct fcgi_in *in)
{
	struct fcgi_in_pair *pr = &in->pair;
	size_t		 keep;
	int		 i;

	pr->kept = 0;
	if (pr->nlen > sizeof(pr->name) ||
	    (i = request_param_keep(pr->name, pr->nlen, &keep)) < 0 ||
	    (in->kept_seen & (1u << i)) != 0 || in->nomem)
		return;
	/* The first of a name wins, as with FCGX_GetParam. */
	in->kept_seen |= 1u << i;
	in->kept_off[in->nkept] = in->kept_len;
	if (fcgi_in_keep(in, pr->name, pr->nlen) == -1 ||
	    fcgi_in_keep(in, "=", 1) == -1)
		return;
	pr->keep = pr->vlen < keep ? pr->vlen : keep;
	pr->kept = 1;
}

/* A pair's value is complete: end the kept string; the next pair. */
static void
fcgi_in_value_done(struct fcgi_in *in)
{
	if (in->pair.kept && fcgi_in_keep(in, "", 1) == 0)
		in->nkept++;
	memset(&in->pair, 0, sizeof(in->pair));
}

/* One byte of a pair's length (§3.4: 1 byte, or 4 with the top bit). */
static void
fcgi_in_len_byte(struct fcgi_in_pair *pr, unsigned char b)
{
	size_t	 v;

	if (pr->len_have == 0)
		pr->len_need = (b & 0x80) ? 4 : 1;
	pr->len[pr->len_have++] = b;
	if (pr->len_have < pr->len_need)
		return;
	v = pr->len_need == 1 ? pr->len[0] :
	    ((size_t)(pr->len[0] & 0x7f) << 24) | ((size_t)pr->len[1] << 16) |
	    ((size_t)pr->len[2] << 8) | pr->len[3];
	if (pr->stage == 0)
		pr->nlen = v;
	else
		pr->vlen = v;
	pr->len_have = 0;
	pr->stage++;
}

/* PARAMS content p[0..n) of the request, all used. */
static void
fcgi_in_params(struct fcgi_in *in, const unsigned char *p, size_t n)
{
	struct fcgi_in_pair *pr = &in->pair;
	size_t		 take, k;

	for (;;) {
		if (pr->stage == 2 && pr->name_have == pr->nlen) {
			fcgi_in_name_done(in);
			pr->stage = 3;
		}
		if (pr->stage == 3 && pr->value_have == pr->vlen) {
			fcgi_in_value_done(in);
			continue;
		}
		if (n == 0)
			return;
		if (pr->stage < 2) {
			fcgi_in_len_byte(pr, *p++);
			n--;
			continue;
		}
		take = pr->stage == 2 ? pr->nlen - pr->name_have :
		    pr->vlen - pr->value_have;
		if (take > n)
			take = n;
		if (pr->stage == 2) {
			if (pr->nlen <= sizeof(pr->name))
				memcpy(pr->name + pr->name_have, p, take);
			pr->name_have += take;
		} else {
			k = pr->value_have < pr->keep ? pr->keep -
			    pr->value_have : 0;
			if (pr->kept && k > 0 && fcgi_in_keep(in, p,
			    take < k ? take : k) == -1)
				pr->kept = 0;
			pr->value_have += take;
		}
		p += take;
		n -= take;
	}
}

/* A record's header is complete: what its content is for. */
static enum fcgi_in_event
fcgi_in_record_start(struct fcgi_in *in)
{
	const unsigned char *h = in->hdr;

	if (h[0] != FCGI_VERSION_1)
		return (FCGI_IN_BAD);
	in->type = h[1];
	in->id = (h[2] << 8) | h[3];
	in->content_left = ((size_t)h[4] << 8) | h[5];
	in->pad_left = h[6];
	if (in->type == FCGI_BEGIN_REQUEST && (in->id == 0 ||
	    in->content_left != 8))
		return (FCGI_IN_BAD);
	in->begin_have = 0;
	in->mgmt_len = 0;
	return (FCGI_IN_MORE);
}

/* A BEGIN_REQUEST's body is complete (§5.1). */
static enum fcgi_in_event
fcgi_in_begin(struct fcgi_in *in)
{
	int	 role = (in->begin[0] << 8) | in->begin[1];
	int	 keep = in->begin[2] & FCGI_KEEP_CONN;

	if (in->request_id != 0 || role != FCGI_RESPONDER) {
		in->refused = in->id;
		in->refused_keep = keep;
		in->refuse_status = in->request_id != 0 ?
		    FCGI_IN_CANT_MPX_CONN : FCGI_IN_UNKNOWN_ROLE;
		return (FCGI_IN_REFUSE);
	}
	fcgi_in_next(in);
	in->request_id = in->id;
	in->keep_conn = keep;
	return (FCGI_IN_MORE);
}

/* A whole record was read: what it asks of the caller. */
static enum fcgi_in_event
fcgi_in_record_end(struct fcgi_in *in)
{
	int	 len = (in->hdr[4] << 8) | in->hdr[5];

	in->hdr_have = 0;
	if (in->id == 0) {
		in->mgmt_type = in->type;
		return (in->type == FCGI_GET_VALUES ? FCGI_IN_VALUES :
		    FCGI_IN_UNKNOWN_TYPE);
	}
	if (in->type == FCGI_BEGIN_REQUEST)
		return (fcgi_in_begin(in));
	if (in->id != in->request_id || in->request_id == 0)
		return (FCGI_IN_MORE);	/* a refused or stray request's */
	if (in->type == FCGI_ABORT_REQUEST)
		return (FCGI_IN_ABORT);
	if (in->type == FCGI_STDIN && len == 0)
		in->stdin_done = 1;
	if (in->type == FCGI_PARAMS && len == 0 && !in->params_done) {
		in->params_done = 1;
		return (FCGI_IN_PARAMS);
	}
	return (FCGI_IN_MORE);
}

/* Content bytes p[0..n) of the current record, all used. */
static void
fcgi_in_content(struct fcgi_in *in, const unsigned char *p, size_t n)
{
	size_t	 k;

	if (in->id == 0 && in->type == FCGI_GET_VALUES) {
		k = sizeof(in->mgmt) - in->mgmt_len;
		if (k > n)
			k = n;
		memcpy(in->mgmt + in->mgmt_len, p, k);
		in->mgmt_len += k;
	} else if (in->type == FCGI_BEGIN_REQUEST) {
		memcpy(in->begin + in->begin_have, p, n);
		in->begin_have += n;
	} else if (in->type == FCGI_PARAMS && in->id == in->request_id &&
	    in->request_id != 0 && !in->params_done)
		fcgi_in_params(in, p, n);
}

/*
 * Feed p[0..len) of the stream. Returns at the first event the caller
 * must act on, with *used the bytes taken (feed the rest again), or
 * FCGI_IN_MORE with all of them taken. After FCGI_IN_BAD the stream
 * cannot be parsed on: close the connection.
 */
enum fcgi_in_event
fcgi_in_feed(struct fcgi_in *in, const unsigned char *p, size_t len,
    size_t *used)
{
	enum fcgi_in_event ev = FCGI_IN_MORE;
	size_t		 i = 0, n;

	while (i < len && ev == FCGI_IN_MORE) {
		if (in->hdr_have < FCGI_HEADER_LEN) {
			n = FCGI_HEADER_LEN - in->hdr_have;
			n = n < len - i ? n : len - i;
			memcpy(in->hdr + in->hdr_have, p + i, n);
			in->hdr_have += n;
			i += n;
			if (in->hdr_have < FCGI_HEADER_LEN)
				break;
			if ((ev = fcgi_in_record_start(in)) != FCGI_IN_MORE)
				break;
		} else if (in->content_left > 0) {
			n = in->content_left < len - i ? in->content_left :
			    len - i;
			fcgi_in_content(in, p + i, n);
			in->content_left -= n;
			i += n;
		} else {
			n = in->pad_left < len - i ? in->pad_left : len - i;
			in->pad_left -= n;
			i += n;
		}
		if (in->hdr_have == FCGI_HEADER_LEN && in->content_left == 0 &&
		    in->pad_left == 0)
			ev = fcgi_in_record_end(in);
	}
	*used = i;
	return (ev);
}
