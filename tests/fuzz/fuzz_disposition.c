/*
 * libFuzzer target: http_disposition_format().
 *
 * Input: the file name, any bytes (cut at the first NUL, as a C string
 * from the database would be).
 *
 * Properties: the call succeeds with HTTP_DISPOSITION_SIZE; the value is
 * printable ASCII only and passes http_header_value_ok(); it has the form
 *	attachment; filename="<q>"; filename*=UTF-8''<pct-encoded>
 * where <q> has no '"', '\' or '%', and the filename* part decodes to
 * valid UTF-8 of at most HTTP_NAME_MAX bytes without C0/C1 controls, DEL,
 * bidi controls or line separators; <q> never has two '_' in a row, and
 * for a name of ASCII only it is that name with '"' as '\'' and every run
 * of '\', '%' and '_' as one '_' (issue 16: the rest is libunistring's
 * NFKD, checked by test_http's rows). A printable ASCII name comes
 * through filename* unchanged; a
 * longer one is cut to HTTP_NAME_MAX bytes keeping its extension; an empty
 * name gives the fallback. One byte less room than the value needs is
 * refused with -1, without writing past the buffer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_disp.h"
#include "http_hdr.h"

#define FUZZ_MAX	4096
#define FALLBACK	"fallbackid"
#define PREFIX		"attachment; filename=\""
#define MIDDLE		"\"; filename*=UTF-8''"

static const char	*fuzz_out;

#define CHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "fuzz_disposition: property failed: "	\
		    "%s\nvalue: %s\n", #c, fuzz_out);			\
		abort();						\
	}								\
} while (0)

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
fuzz_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	return (-1);
}

/* RFC 8187 attr-char */
static int
fuzz_attr_char(char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$&+-.^_`|~", c) != NULL));
}

/*
 * Strict UTF-8 (RFC 3629): one character at s[0..len) into *cp; returns
 * its length, or 0 when invalid (overlong, surrogate, past U+10FFFF,
 * truncated, stray continuation byte).
 */
static size_t
fuzz_utf8(const unsigned char *s, size_t len, long *cp)
{
	size_t	 n, i;
	long	 v;

	if (s[0] < 0x80) {
		*cp = s[0];
		return (1);
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, v = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, v = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, v = s[0] & 0x07;
	else
		return (0);
	if (n > len)
		return (0);
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		v = v << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) ||
	    v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return (0);
	*cp = v;
	return (n);
}

/* Never in a file name shown to a user: text_char_unsafe's documented
 * set, written out again here as the oracle. */
static int
fuzz_forbidden(long cp)
{
	return (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c ||
	    cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029);
}

/* Printable ASCII other than '"', '\' and '%'. */
static int
fuzz_plain(long cp)
{
	return (cp >= 0x20 && cp < 0x7f && cp != '"' && cp != '\\' &&
	    cp != '%');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	static char	 name[FUZZ_MAX + 1];
	char		 out[HTTP_DISPOSITION_SIZE];
	unsigned char	 dec[HTTP_DISPOSITION_SIZE];
	const char	*q, *qend, *e;
	char		*tight;
	char		 want[HTTP_DISPOSITION_SIZE];
	size_t		 i, olen, qlen, dlen, nlen, k, clen, elen;
	long		 cp;
	int		 clean, ascii;

	if (n > FUZZ_MAX)
		return (0);
	memcpy(name, data, n);
	name[n] = '\0';
	nlen = strlen(name);

	memset(out, 'X', sizeof(out));
	fuzz_out = "(none)";
	CHECK(http_disposition_format(out, sizeof(out), name, FALLBACK) == 0);
	CHECK(memchr(out, '\0', sizeof(out)) != NULL);
	fuzz_out = out;
	olen = strlen(out);

	/* Printable ASCII only: no CR, LF, NUL, HTAB or 8-bit bytes. */
	for (i = 0; i < olen; i++)
		CHECK(out[i] >= 0x20 && out[i] <= 0x7e);
	CHECK(http_header_value_ok(out, olen));

	/* attachment; filename="<q>" */
	CHECK(strncmp(out, PREFIX, strlen(PREFIX)) == 0);
	q = out + strlen(PREFIX);
	qend = strchr(q, '"');
	CHECK(qend != NULL);
	qlen = (size_t)(qend - q);
	for (i = 0; i < qlen; i++)
		CHECK(q[i] != '"' && q[i] != '\\' && q[i] != '%');

	/* ; filename*=UTF-8''<pct-encoded> */
	CHECK(strncmp(qend, MIDDLE, strlen(MIDDLE)) == 0);
	e = qend + strlen(MIDDLE);
	dlen = 0;
	for (i = 0; e[i] != '\0'; ) {
		if (e[i] == '%') {
			CHECK(fuzz_hexval(e[i + 1]) >= 0 &&
			    fuzz_hexval(e[i + 2]) >= 0);
			dec[dlen++] = (unsigned char)(fuzz_hexval(e[i + 1]) << 4 |
			    fuzz_hexval(e[i + 2]));
			i += 3;
		} else {
			CHECK(fuzz_attr_char(e[i]));
			dec[dlen++] = (unsigned char)e[i];
			i++;
		}
	}
	CHECK(dlen >= 1);
	CHECK(dlen <= HTTP_NAME_MAX);

	/* Valid UTF-8, nothing forbidden; <q> as the header says. */
	ascii = 1;
	for (i = 0, k = 0; i < dlen; i += clen) {
		clen = fuzz_utf8(dec + i, dlen - i, &cp);
		CHECK(clen > 0);
		CHECK(!fuzz_forbidden(cp));
		if (cp >= 0x80)
			ascii = 0;
		else if (fuzz_plain(cp) && cp != '_')
			want[k++] = (char)cp;
		else if (cp == '"')
			want[k++] = '\'';
		else if (k == 0 || want[k - 1] != '_')
			want[k++] = '_';
	}
	for (i = 1; i < qlen; i++)
		CHECK(q[i - 1] != '_' || q[i] != '_');
	if (ascii)
		CHECK(k == qlen && memcmp(q, want, k) == 0);

	/* Clean printable ASCII: kept exactly, or cut keeping the extension. */
	clean = 1;
	for (i = 0; i < nlen; i++)
		if (!fuzz_plain((unsigned char)name[i]))
			clean = 0;
	if (nlen == 0) {
		CHECK(dlen == strlen(FALLBACK) &&
		    memcmp(dec, FALLBACK, dlen) == 0);
		CHECK(qlen == strlen(FALLBACK) &&
		    memcmp(q, FALLBACK, qlen) == 0);
	} else if (clean && nlen <= HTTP_NAME_MAX) {
		CHECK(dlen == nlen && memcmp(dec, name, nlen) == 0);
	} else if (clean) {
		const char *dot = strrchr(name, '.');

		elen = dot != NULL && nlen - (size_t)(dot - name) <=
		    HTTP_EXT_MAX ? nlen - (size_t)(dot - name) : 0;
		CHECK(dlen == HTTP_NAME_MAX);
		CHECK(memcmp(dec, name, HTTP_NAME_MAX - elen) == 0);
		CHECK(memcmp(dec + HTTP_NAME_MAX - elen, name + nlen - elen,
		    elen) == 0);
	}

	/*
	 * The exact room is enough and gives the same value; one byte less
	 * is refused. Heap buffers of that size, so ASan sees any overrun.
	 */
	tight = malloc(olen + 1);
	CHECK(tight != NULL);
	CHECK(http_disposition_format(tight, olen + 1, name, FALLBACK) == 0);
	CHECK(strcmp(tight, out) == 0);
	free(tight);
	tight = malloc(olen);
	CHECK(tight != NULL);
	CHECK(http_disposition_format(tight, olen, name, FALLBACK) == -1);
	free(tight);
	return (0);
}
